"""Cluster stage, incremental half: new articles join the stories they belong to.

Once a site has stories (the state file), a build keeps every known article in its story
and places only the articles that are new since, one at a time and oldest first: each
joins the story whose articles it is most similar to on average, or starts a new story.
Nothing is re-clustered, which is what lets a watched site show a new article within a
second. cluster.py's full clustering runs instead for the first build, when many articles
arrive at once, when the clustering settings or stories.toml change, and on
`sitegen build --recluster` (see `needs_full_clustering`).

Everything here is a function of the articles and the state alone. The TermIndex only
saves work: `sitegen watch` keeps it between builds instead of reading every article again.
Its word numbering depends on the order articles arrived, so sums run through math.fsum
(exact, hence independent of order): a watched site and a clean build agree to the bit.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import ClusterSettings
from .model import Article, StoryState
from .text import tokens

if TYPE_CHECKING:
    import scipy.sparse as sp

ONLINE_THRESHOLD = 0.10
"""Least average similarity (word TF-IDF cosine, faded by days apart) with a story's
articles for a new article to join it. Chosen on the labeled corpora: with the oldest
90% placed in their true stories, 78% (AllSides) and 96% (ECB+) of the newest 10% joined
the right story or rightly started a new one (best of 0.06-0.22 on both)."""
RARE_DF = 200
"""Words in at most this many articles propose candidate stories (as in cluster.py)."""
CANDIDATES = 90
SAME_DAYS, FADE_DAYS = 2, 3.0
"""Dated articles this many days apart count as simultaneous; beyond, similarity falls by
a factor e every FADE_DAYS (as in cluster.py)."""
MOST_NEW = 50
"""More new articles than this (and than a tenth of the known ones) are clustered afresh:
a burst is better grouped together than one at a time."""


def fingerprint(settings: ClusterSettings, together: Iterable[Sequence[str]],
                apart: Iterable[tuple[str, str]]) -> str:
    """What the stories were grouped under: when it changes, the site is re-clustered."""
    data = [settings.threshold, settings.neighbors, ONLINE_THRESHOLD,
            sorted(sorted(g) for g in together), sorted(sorted(p) for p in apart)]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def needs_full_clustering(previous: StoryState, articles: Mapping[str, Article],
                          current_fingerprint: str, recluster: bool) -> bool:
    known = {a for record in previous.stories.values() for a in record.article_ids}
    new = sum(1 for a in articles if a not in known)
    kept = len(articles) - new
    return (recluster or not kept or previous.fingerprint != current_fingerprint
            or new > max(MOST_NEW, kept // 10))


class TermIndex:
    """Word counts of every article, document frequencies and postings: enough to find a
    new article's most similar articles without vectorizing the archive. `sync` brings it
    up to date with a set of articles, touching only the ones added or removed."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.words: list[str] = []
        self.df = np.zeros(1024, dtype=np.int64)
        self.postings: dict[int, list[str]] = {}
        """Word id -> the articles having it, for the rare words alone (in at most
        RARE_DF articles): the only ones `candidates` looks up. The others' lists held
        four fifths of the index's 4.9 million entries at 100,000 articles (0.4 s of
        each load of the build cache) and were never read."""
        self.docs = PackedDocs([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        """Article id -> (sorted word ids, 1 + log(count))."""
        self.days: dict[str, int | None] = {}
        self.indexed: dict[str, Article] = {}
        """Article id -> the article as indexed (an article with its own id may change)."""
        self._changes: list[tuple[Article | None, str]] | None = None
        """Since `record_changes`: (article added, or None for removed, its id), in order."""

    def record_changes(self) -> None:
        """Keep a list of what `sync` adds and removes from now on (see take_changes): a
        cache kept on disk saves those instead of the whole index."""
        self._changes = []

    def take_changes(self) -> list[tuple[Article | None, str]] | None:
        """What `sync` did since `record_changes` or the last call; None if not recorded."""
        changes, self._changes = self._changes, None if self._changes is None else []
        return changes

    def replay(self, changes: Iterable[tuple[Article | None, str]]) -> None:
        """Do again what `take_changes` listed: the same index, word numbers included."""
        for article, article_id in changes:
            if article is None:
                self._remove(article_id)
            else:
                self._add(article)

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "docs": self.docs.packed(), "_changes": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        docs = PackedDocs(*state.pop("docs"))
        self.__dict__.update(state)
        self.docs = docs

    @classmethod
    def from_counts(cls, articles: Sequence[Article], counts: sp.csr_matrix,
                    vocabulary: Sequence[str]) -> TermIndex:
        """The index of `articles` from their word counts, as the full clustering made them
        (rows in the order of `articles`, sorted columns numbered as `vocabulary`, the same
        analyzer as `_tokens`): what `sync` would make of the articles, in a fraction of
        its time (14 s at 100,000 articles)."""
        index = cls()
        index.words = [str(word) for word in vocabulary]
        index.vocabulary = {word: number for number, word in enumerate(index.words)}
        by_column = counts.tocsc()
        index.df = np.diff(by_column.indptr).astype(np.int64)
        ids = np.array([a.id for a in articles], dtype=object)
        index.postings = {word: ids[by_column.indices[start:end]].tolist()
                          for word, (start, end) in enumerate(
                              zip(by_column.indptr[:-1].tolist(),
                                  by_column.indptr[1:].tolist(), strict=True))
                          if end - start <= RARE_DF}
        # 1 + log(count) as _add works it out (math.log), looked up by count
        most = int(counts.data.max()) if counts.nnz else 0
        weight_of = np.array([0.0, *(1 + math.log(c) for c in range(1, most + 1))])
        weights = weight_of[counts.data.astype(np.int64)]
        index.docs = PackedDocs([a.id for a in articles], np.diff(counts.indptr),
                                counts.indices.astype(np.int64), weights)
        for article in articles:
            index.indexed[article.id] = article
            index.days[article.id] = (date.fromisoformat(article.day).toordinal()
                                      if article.day else None)
        return index

    def sync(self, articles: Mapping[str, Article]) -> None:
        for gone in [a for a, known in self.indexed.items()
                     if (now := articles.get(a)) is not known and now != known]:
            self._remove(gone)
        for article_id in sorted(articles.keys() - self.indexed.keys()):
            self._add(articles[article_id])

    def _remove(self, article_id: str) -> None:
        ids, _ = self.docs.pop(article_id)
        self.days.pop(article_id)
        self.indexed.pop(article_id)
        self.df[ids] -= 1
        for word in ids.tolist():
            posting = self.postings.get(word)
            if posting is not None:
                posting.remove(article_id)
        rare_again = [word for word in ids[self.df[ids] == RARE_DF].tolist()
                      if word not in self.postings]
        if rare_again:
            self.postings.update(self.docs.holders(rare_again))
        if self._changes is not None:
            self._changes.append((None, article_id))

    def _add(self, article: Article) -> None:
        counts: dict[int, int] = {}
        for token in self._tokens(article):
            word = self.vocabulary.get(token)
            if word is None:
                word = self.vocabulary[token] = len(self.words)
                self.words.append(token)
            counts[word] = counts.get(word, 0) + 1
        ids = np.array(sorted(counts), dtype=np.int64)
        weights = np.array([1 + math.log(counts[i]) for i in ids.tolist()], dtype=np.float64)
        if len(self.words) > len(self.df):
            self.df = np.concatenate([self.df, np.zeros(len(self.df) * 2, dtype=np.int64)])
        self.df[ids] += 1
        frequency = self.df[ids]
        for word in ids[frequency <= RARE_DF].tolist():
            self.postings.setdefault(word, []).append(article.id)
        for word in ids[frequency == RARE_DF + 1].tolist():  # no longer rare
            self.postings.pop(word, None)
        self.docs[article.id] = (ids, weights)
        self.indexed[article.id] = article
        self.days[article.id] = (date.fromisoformat(article.day).toordinal()
                                 if article.day else None)
        if self._changes is not None:
            self._changes.append((article, article.id))

    def _tokens(self, article: Article) -> list[str]:
        title = "" if article.title_derived else article.title  # a derived title is no signal
        return tokens(f"{title}\n{title}\n{article.text}")

    def vector(self, article_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(word ids, L2-normalized TF-IDF weights) under today's document frequencies."""
        ids, weights = self.docs[article_id]
        n = len(self.docs)
        values = weights * (np.log((1 + n) / (1 + self.df[ids])) + 1)
        norm = math.sqrt(math.fsum((values * values).tolist()))
        return ids, values / norm if norm else values

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity, faded by days apart when both are dated."""
        ids_a, values_a = self.vector(a)
        ids_b, values_b = self.vector(b)
        _, in_a, in_b = np.intersect1d(ids_a, ids_b, assume_unique=True, return_indices=True)
        sim = math.fsum((values_a[in_a] * values_b[in_b]).tolist())
        day_a, day_b = self.days[a], self.days[b]
        if day_a is not None and day_b is not None and abs(day_a - day_b) > SAME_DAYS:
            sim *= math.exp(-(abs(day_a - day_b) - SAME_DAYS) / FADE_DAYS)
        return sim

    def candidates(self, article_id: str, among: Mapping[str, object]) -> list[str]:
        """The articles of `among` sharing the most rare words with this one."""
        shared: dict[str, int] = {}
        ids, _ = self.docs[article_id]
        for word in ids[self.df[ids] <= RARE_DF].tolist():
            for other in self.postings[word]:
                if other != article_id and other in among:
                    shared[other] = shared.get(other, 0) + 1
        return sorted(shared, key=lambda o: (-shared[o], o))[:CANDIDATES]

    def central(self, members: Sequence[str]) -> str:
        """The member closest to the members' centroid."""
        vectors = [self.vector(m) for m in members]
        centroid: dict[int, float] = {}
        for ids, values in vectors:
            for word, value in zip(ids.tolist(), values.tolist(), strict=True):
                centroid[word] = centroid.get(word, 0.0) + value
        scores = [math.fsum(centroid[w] * v for w, v in zip(ids.tolist(), values.tolist(),
                                                             strict=True))
                  for ids, values in vectors]
        best = max(range(len(members)), key=lambda i: (scores[i], -i))
        return members[best]

    def shared_terms(self, members: Sequence[str], limit: int = 8) -> tuple[str, ...]:
        """The heaviest words at least two members share (all words of a lone article)."""
        weight: dict[int, float] = {}
        holders: dict[int, int] = {}
        for member in members:
            ids, values = self.vector(member)
            for word, value in zip(ids.tolist(), values.tolist(), strict=True):
                weight[word] = weight.get(word, 0.0) + value
                holders[word] = holders.get(word, 0) + 1
        least = 2 if len(members) > 1 else 1
        ranked = sorted((w for w in weight if holders[w] >= least),
                        key=lambda w: (-weight[w], self.words[w]))
        return tuple(self.words[w] for w in ranked[:limit])


@dataclass(frozen=True, slots=True)
class StoryScore:
    group: int
    score: float
    """Average similarity of the article with the group's articles."""


def story_scores(index: TermIndex, article_id: str, group_of: Mapping[str, int],
                 sizes: Sequence[int]) -> list[StoryScore]:
    """The groups closest to an article, best first (average linkage over candidates)."""
    totals: dict[int, float] = {}
    for other in index.candidates(article_id, group_of):
        sim = index.similarity(article_id, other)
        if sim > 0:
            group = group_of[other]
            totals[group] = totals.get(group, 0.0) + sim
    scores = [StoryScore(g, total / sizes[g]) for g, total in totals.items()]
    return sorted(scores, key=lambda s: (-s.score, s.group))


def assign_new(groups: Sequence[Sequence[str]], new: Iterable[Article], index: TermIndex,
               together: Iterable[Sequence[str]] = (),
               apart: Iterable[tuple[str, str]] = ()) -> list[list[str]]:
    """Known groups, with each new article added to one of them or to a group of its own."""
    result = [list(g) for g in groups]
    group_of = {a: g for g, members in enumerate(result) for a in members}
    partners: dict[str, set[str]] = {}
    for group in together:
        for member in group:
            partners.setdefault(member, set()).update(m for m in group if m != member)
    blocked: dict[str, set[str]] = {}
    for a, b in apart:
        blocked.setdefault(a, set()).add(b)
        blocked.setdefault(b, set()).add(a)
    oldest_first = sorted(new, key=lambda a: (a.published is None, a.published or "", a.id))
    for article in oldest_first:
        placed = sorted(group_of[p] for p in partners.get(article.id, ()) if p in group_of)
        target = placed[0] if placed else None
        if target is None:
            for candidate in story_scores(index, article.id, group_of,
                                          [len(g) for g in result]):
                if candidate.score < ONLINE_THRESHOLD:
                    break
                if not blocked.get(article.id, set()) & set(result[candidate.group]):
                    target = candidate.group
                    break
        if target is None:
            target = len(result)
            result.append([])
        result[target].append(article.id)
        group_of[article.id] = target
    return [sorted(g) for g in result]


class PackedDocs(MutableMapping[str, tuple[np.ndarray, np.ndarray]]):
    """A TermIndex's word ids and weights by article: the ones it was made or loaded with
    as spans of two flat arrays, sliced when asked for, and the ones added since. Split
    into 100,000 pairs of small arrays, they took 0.4 s of every load of the build cache,
    and joined again, 0.8 s of each full save."""

    def __init__(self, order: Sequence[str], lengths: np.ndarray, ids: np.ndarray,
                 weights: np.ndarray) -> None:
        ends = np.cumsum(lengths)
        self._spans = dict(zip(order, zip((ends - lengths).tolist(), ends.tolist(), strict=True),
                               strict=True))
        self._ids, self._weights = ids, weights
        self._whole = len(self._spans)
        """How many spans the arrays held: while all are there, they are saved as they are."""
        self._added: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __getitem__(self, article_id: str) -> tuple[np.ndarray, np.ndarray]:
        pair = self._added.get(article_id)
        if pair is not None:
            return pair
        start, end = self._spans[article_id]
        return self._ids[start:end], self._weights[start:end]

    def __setitem__(self, article_id: str, pair: tuple[np.ndarray, np.ndarray]) -> None:
        self._spans.pop(article_id, None)
        self._added[article_id] = pair

    def __delitem__(self, article_id: str) -> None:
        if self._added.pop(article_id, None) is None:
            del self._spans[article_id]

    def __iter__(self) -> Iterator[str]:
        yield from self._spans
        yield from self._added

    def __len__(self) -> int:
        return len(self._spans) + len(self._added)

    def holders(self, words: Sequence[int]) -> dict[int, list[str]]:
        """Word id -> the articles having it, for each of `words` (a scan of every
        article: for the few words that become rare again when an article goes)."""
        found: dict[int, list[str]] = {word: [] for word in words}
        wanted = np.array(words, dtype=np.int64)
        if self._spans:
            names = list(self._spans)
            starts, ends = (np.array(column, dtype=np.int64)
                            for column in zip(*self._spans.values(), strict=True))
            at = np.flatnonzero(np.isin(self._ids, wanted))
            owner = np.searchsorted(starts, at, side="right") - 1
            inside = (owner >= 0) & (at < ends[np.maximum(owner, 0)])  # not a removed one's
            for place, row in zip(at[inside].tolist(), owner[inside].tolist(), strict=True):
                found[int(self._ids[place])].append(names[row])
        for article_id, (ids, _) in self._added.items():
            for word in ids[np.isin(ids, wanted)].tolist():
                found[word].append(article_id)
        return found

    def packed(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """(article ids, number of words of each, word ids, weights), all in one."""
        if not self._added and len(self._spans) == self._whole:
            spans = list(self._spans.values())
            return (list(self._spans), np.array([end - start for start, end in spans],
                                                dtype=np.int64), self._ids, self._weights)
        pairs = [self[article_id] for article_id in self]
        return (list(self), np.array([len(ids) for ids, _ in pairs], dtype=np.int64),
                np.concatenate([ids for ids, _ in pairs] or [np.zeros(0, np.int64)]),
                np.concatenate([weights for _, weights in pairs] or [np.zeros(0)]))
