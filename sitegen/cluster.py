"""Cluster stage: Articles -> groups of articles, one per story.

1. Vectors: word TF-IDF (title counted twice) and character n-gram TF-IDF, which catches
   paraphrase ("sanctions"/"sanctioned", "Kyiv"/"Kyiv's"), weighted equally.
2. Each article's nearest neighbours by cosine similarity: a sparse graph, computed a
   block of rows at a time, never an n x n matrix.
3. Local scaling: from each similarity, subtract how similar the two articles are to
   their usual neighbours. Generic articles (another story on a busy topic) are close
   to everything; what marks one event is being closer than usual. It also adapts the
   threshold to text length: short leads have low similarities all round.
4. Time: when both articles are dated, similarity fades for days apart.
5. Average linkage over the graph, with overrides (keep together, keep apart).
6. Then each group's central article and shared terms, which describe its story: see
   profiles.py (the build asks for them once the groups are known).

The same articles give the same groups in any order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from . import parallel
from .config import ClusterSettings
from .model import Article
from .profiles import shared_terms
from .text import tokens

if TYPE_CHECKING:
    import scipy.sparse as sp

FORK_FROM = 2000
"""Articles from which the character n-grams and the neighbours are worked out in forked
workers: their compiled loops (kernels.py) bring numba's compiler into the process that
runs them, 100 MB that would otherwise stay in the build's memory to its end and, at
100,000 articles, take its peak past 2 GB. The n-grams and the word counts are made side
by side, one in each worker; the neighbours' loops run on two threads in theirs."""
LEAD_CHARS = 300
"""Character n-grams read the title and this much of the text."""
RARE_DF = 200
"""Words in at most this many articles propose candidate neighbours."""
CANDIDATES_PER_K = 3
"""Candidates scored in full per neighbour kept."""
BACKGROUND_RANKS = (10, 25)
"""Neighbours at these ranks are an article's background: past any likely story size."""
BACKGROUND_FLOOR = 0.1
"""Least background: in a small site every article has few neighbours to measure."""
SAME_DAYS = 2
"""Dated articles this many days apart count as simultaneous."""
FADE_DAYS = 3.0
"""Beyond that, similarity falls by a factor e every this many days."""


@dataclass(frozen=True)
class Clustering:
    """The groups found, and what explains them (kept for `sitegen explain`)."""

    articles: tuple[Article, ...]
    """In id order; the row order of `vectors`."""
    groups: tuple[tuple[int, ...], ...]
    """Row indices of each story's articles, each group sorted."""
    vectors: Vectors
    edges: dict[tuple[int, int], float]
    """Scaled similarity of each neighbour pair (lower index first)."""

    def row_of(self, article_id: str) -> int:
        return next(i for i, a in enumerate(self.articles) if a.id == article_id)


def cluster_articles(articles: Sequence[Article], settings: ClusterSettings,
                     together: Iterable[Sequence[str]] = (),
                     apart: Iterable[tuple[str, str]] = ()) -> Clustering:
    ordered = tuple(sorted(articles, key=lambda a: a.id))
    index = {a.id: i for i, a in enumerate(ordered)}
    vectors = vectorize(ordered)
    pairs, similarity = neighbour_edges(vectors, settings.neighbors)
    edges = scale_edges(pairs, similarity, len(ordered), [_day(a) for a in ordered])
    groups = average_linkage(
        len(ordered), edges, settings.threshold,
        together=[[index[i] for i in group if i in index] for group in together],
        apart=[(index[a], index[b]) for a, b in apart if a in index and b in index],
    )
    return Clustering(ordered, groups, vectors, edges)


@dataclass(frozen=True)
class Vectors:
    combined: sp.csr_matrix
    """L2-normalized rows: word TF-IDF and character n-gram TF-IDF, weighted equally."""
    words: sp.csr_matrix
    """The word TF-IDF part alone (normalized), for finding candidate neighbours."""
    vocabulary: np.ndarray
    counts: sp.csr_matrix | None = None
    """Each article's word counts (columns as `vocabulary`): they fill the TermIndex that
    later builds place new articles with (assign.TermIndex.from_counts)."""


def load_libraries() -> None:
    """Import what grouping afresh needs: scikit-learn with scipy (0.85 s) and the numba
    kernels (0.2 s, which each worker forked before this process has them imports again).
    A build that is to group afresh calls it while workers read the seeds, as this
    process would otherwise wait for them and then import with a core idle."""
    import sklearn.feature_extraction.text
    import sklearn.preprocessing  # noqa: F401

    from . import kernels  # noqa: F401


def vectorize(articles: Sequence[Article]) -> Vectors:
    """Word TF-IDF over title (twice) and text; character n-grams over title and lead,
    where paraphrase shows and which keeps the character vocabulary small. The two are
    made side by side, in forked workers on a large archive (see FORK_FROM)."""
    # scikit-learn (and scipy) take a second to import: only builds that cluster afresh
    # pay for it (once, here, and not again in each worker)
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import normalize

    titles = ["" if a.title_derived else a.title for a in articles]  # a derived title is
    documents = [f"{t}\n{t}\n{a.text}" for t, a in zip(titles, articles, strict=True)]  # no signal
    leads = [f"{t}\n{t}\n{a.text[:LEAD_CHARS]}" for t, a in zip(titles, articles, strict=True)]

    words, char_matrix = parallel.side_by_side(
        [lambda: _word_counts(documents), lambda: _char_tfidf(leads)],
        fork=len(articles) >= FORK_FROM)
    if words is None:  # nothing but stop words anywhere: every article stands alone
        empty = sp.csr_matrix((len(articles), 1), dtype=np.float32)
        return Vectors(empty, empty, np.array([""]))
    counts, vocabulary = words
    word_matrix = normalize(TfidfTransformer(sublinear_tf=True).fit_transform(counts)).tocsr()
    if char_matrix is None:
        return Vectors(word_matrix, word_matrix, vocabulary, counts)
    combined = normalize(sp.hstack([word_matrix * math.sqrt(0.5),
                                    char_matrix * math.sqrt(0.5)]).tocsr())
    combined.sort_indices()  # canonical, as scipy's products and slices prefer
    return Vectors(combined, word_matrix, vocabulary, counts)


def _word_counts(documents: Sequence[str]) -> tuple[sp.csr_matrix, np.ndarray] | None:
    """Each document's word counts (sorted columns) and the words, or None when there are
    no words but stop words. The very words assign.TermIndex finds in the articles
    placed later."""
    from sklearn.feature_extraction.text import CountVectorizer
    words = CountVectorizer(analyzer=tokens, dtype=np.float32)
    try:
        counts = words.fit_transform(documents).tocsr()
    except ValueError:
        return None
    counts.sort_indices()
    return counts, words.get_feature_names_out()


def _char_tfidf(leads: Sequence[str]) -> sp.csr_matrix | None:
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import normalize

    from . import kernels  # numba: only builds that cluster afresh import it
    many = len(leads) >= 10
    counts = kernels.char_ngram_counts(leads, min_df=2 if many else 1,
                                       max_df=0.5 if many else 1.0)
    if counts is None:
        return None
    return normalize(TfidfTransformer(sublinear_tf=True).fit_transform(counts))


def neighbour_edges(vectors: Vectors, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each article's k nearest others: the pairs (lower index a, higher b, as a * n + b,
    ascending) and their cosine similarity. Arrays, not a dict: a million edges at
    100,000 articles, sorted and looked up in Python, took 7 s.

    Not an all-pairs product: candidates are the articles sharing the most *rare* words
    (document frequency at most RARE_DF, so each word links a bounded number of pairs and
    the work grows linearly with the archive); only those pairs are scored in full, each
    once, though most are candidates both ways.
    """
    n = vectors.words.shape[0]
    df = np.bincount(vectors.words.indices, minlength=vectors.words.shape[1])
    rare = vectors.words[:, np.flatnonzero(df <= RARE_DF)].tocsr()

    def candidates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's candidates (rows, columns) and their cosine similarity."""
        from . import kernels  # numba: only builds that cluster afresh import it
        rows, cols = kernels.top_products(rare, CANDIDATES_PER_K * k)
        pairs, pair_of = np.unique(np.minimum(rows, cols).astype(np.int64) * n
                                   + np.maximum(rows, cols), return_inverse=True)
        return rows, cols, kernels.pair_dots(vectors.combined, pairs, n)[pair_of]

    [(rows, cols, sims)] = parallel.side_by_side([candidates], fork=n >= FORK_FROM)
    if not len(rows):
        return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
    best = _top_per_row(rows, cols, sims, k)
    # a pair among both articles' nearest is found twice, with the one similarity
    kept, first = np.unique(np.minimum(rows[best], cols[best]).astype(np.int64) * n
                            + np.maximum(rows[best], cols[best]), return_index=True)
    return kept, sims[best][first]


def _top_per_row(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                 k: int) -> np.ndarray:
    """Positions of the k largest positive values of each row (`rows` ascending),
    off-diagonal; ties go to the smaller column so the result does not depend on order.

    Rows hold a thousand candidates and more: each row's k-th value is found by a
    partial sort, and only the values above it are sorted."""
    keep = np.flatnonzero((values > 0) & (rows != cols))
    if not len(keep):
        return keep
    kept_rows = rows[keep]
    starts = np.flatnonzero(np.r_[True, kept_rows[1:] != kept_rows[:-1]])
    row_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(keep)]))
    place = np.arange(len(keep)) - starts[row_of]
    if place.max() >= k:
        table = np.full((len(starts), place.max() + 1), -np.inf, dtype=np.float32)
        table[row_of, place] = values[keep]
        kth = -np.partition(-table, k - 1, axis=1)[:, k - 1]
        keep = keep[values[keep] >= kth[row_of]]
    keep = keep[np.argsort(cols[keep], kind="stable")]
    # one sort by (row, value descending): a positive float32's bits order as its value
    falling = np.uint32(0xFFFFFFFF) - values[keep].astype(np.float32).view(np.uint32)
    order = keep[np.argsort((rows[keep].astype(np.int64) << 32) | falling, kind="stable")]
    ranked = rows[order]
    firsts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    rank = np.arange(len(order)) - np.repeat(firsts, np.diff(np.r_[firsts, len(order)]))
    return order[rank < k]


def scale_edges(pairs: np.ndarray, similarity: np.ndarray, n: int,
                days: Sequence[int | None]) -> dict[tuple[int, int], float]:
    """Similarity minus the pair's mean background, faded by days apart; pairs left at or
    below zero are dropped. `pairs` as neighbour_edges gives them."""
    first, last = BACKGROUND_RANKS
    a, b = pairs // n, pairs % n
    similarity = similarity.astype(np.float64)
    # each article's similarities, highest first: the background is the mean of a window
    ends = np.concatenate([a, b])
    both = np.concatenate([similarity, similarity])
    order = np.lexsort((-both, ends))
    ranked = ends[order]
    rank = np.arange(len(order)) - np.searchsorted(ranked, ranked)
    window = (rank >= first) & (rank < last)
    level = np.bincount(ranked[window], weights=both[order][window], minlength=n)
    background = np.maximum(BACKGROUND_FLOOR, level / (last - first))
    day = np.array([np.nan if d is None else d for d in days], dtype=np.float64)
    gap = np.abs(day[a] - day[b])  # NaN unless both are dated
    fade = np.exp(-(np.fmax(gap, SAME_DAYS) - SAME_DAYS) / FADE_DAYS)  # 1 when NaN (fmax)
    value = similarity * fade - (background[a] + background[b]) / 2
    kept = np.flatnonzero(value > 0)
    return dict(zip(zip(a[kept].tolist(), b[kept].tolist(), strict=True),
                    value[kept].tolist(), strict=True))


def _day(article: Article) -> int | None:
    return date.fromisoformat(article.day).toordinal() if article.day else None


def average_linkage(n: int, edges: dict[tuple[int, int], float], threshold: float, *,
                    together: Iterable[Sequence[int]] = (),
                    apart: Iterable[tuple[int, int]] = ()) -> tuple[tuple[int, ...], ...]:
    """Merge the two groups with the highest average similarity until none reaches
    `threshold` (pairs without an edge count as 0). `together` groups start merged;
    `apart` pairs never end up in one group. Ties break on the smaller index, so the
    result never depends on input order."""
    members: list[list[int]] = [[i] for i in range(n)]
    links: list[dict[int, float]] = [{} for _ in range(n)]
    for (a, b), sim in edges.items():
        links[a][b] = sim
        links[b][a] = sim
    blocked: list[set[int]] = [set() for _ in range(n)]
    for a, b in apart:
        blocked[a].add(b)
        blocked[b].add(a)
    version = [0] * n
    parent = list(range(n))
    heap: list[tuple[float, int, int, int, int]] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def can_merge(a: int, b: int) -> bool:
        return not (blocked[a] and any(m in blocked[a] for m in members[b]))

    def merge(a: int, b: int) -> int:
        keep, gone = (a, b) if len(members[a]) >= len(members[b]) else (b, a)
        parent[gone] = keep
        members[keep].extend(members[gone])
        blocked[keep] |= blocked[gone]
        version[keep] += 1
        links[keep].pop(gone, None)
        for other, total in links[gone].items():
            if other != keep:
                merged = links[keep].get(other, 0.0) + total
                links[keep][other] = merged
                links[other][keep] = merged
                del links[other][gone]
        members[gone], links[gone], blocked[gone] = [], {}, set()
        return keep

    def push(a: int, b: int) -> None:
        average = links[a][b] / (len(members[a]) * len(members[b]))
        if average >= threshold:
            lo, hi = min(a, b), max(a, b)
            heapq.heappush(heap, (-average, lo, hi, version[lo], version[hi]))

    for group in together:
        roots = sorted({root(i) for i in group})
        for other in roots[1:]:
            first = root(roots[0])
            if can_merge(first, other):
                merge(first, other)
    for a in range(n):
        if parent[a] == a:
            for b in sorted(links[a]):
                if a < b:
                    push(a, b)
    while heap:
        _, a, b, version_a, version_b = heapq.heappop(heap)
        if parent[a] != a or parent[b] != b or version[a] != version_a or version[b] != version_b:
            continue
        if not can_merge(a, b):
            continue
        keep = merge(a, b)
        for other in sorted(links[keep]):
            push(keep, other)
    groups = [tuple(sorted(members[i])) for i in range(n) if parent[i] == i]
    return tuple(sorted(groups))


# --- explaining -------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A story an article could have joined, and how strongly."""

    group: tuple[int, ...]
    score: float
    """Average scaled similarity of the article with the group's articles."""
    shared_terms: tuple[str, ...]


def candidates(clustering: Clustering, row: int, limit: int = 5) -> list[Candidate]:
    """The stories closest to one article, best first, by the linkage score."""
    group_of = {r: g for g in clustering.groups for r in g}
    totals: dict[tuple[int, ...], float] = {}
    for (a, b), value in clustering.edges.items():
        if row in (a, b):
            other = b if a == row else a
            group = group_of[other]
            totals[group] = totals.get(group, 0.0) + value
    own = group_of[row]
    totals.setdefault(own, 0.0)
    found = []
    for group, total in totals.items():
        others = [r for r in group if r != row]
        score = total / len(others) if others else 0.0
        found.append(Candidate(group, score,
                               shared_terms(clustering.vectors, [[row, *others]])[0]))
    found.sort(key=lambda c: (-c.score, c.group))
    return found[:limit]
