"""Who rewrote whom inside a story: sentence alignment, shared n-grams and quotes.

N-gram overlap alone misses paraphrase (the sample rewrite shares only ~19% of its word
5-grams with its source), and independent reports of one event can share long quotes.
The signal is structure: sentence after sentence of a rewrite aligns, in order, with a
sentence of its source. Used by the analyze stage.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .model import Article, Relation
from .quotes import QuoteMention, quotes_in, same_quote
from .text import english_stop_words, normalize_quotes, split_sentences

if TYPE_CHECKING:
    import scipy.sparse as sp

SENTENCE_MATCH = 0.3
"""Dice overlap of content-word stems at which two sentences count as the same sentence."""
REWRITE_SHARE = 0.5
"""Share of an article's sentences aligned, in order, with another's to make it a rewrite."""
COPY_NGRAMS = 0.6
"""Share of its word 5-grams found in another article to make an article a near copy."""
MIN_ALIGNED = 3
"""Fewest aligned sentences for a rewrite; a shorter article can only be a near copy."""
STEM = 5
"""Content words are compared by their first letters, so "criticised" meets "criticising"."""

WIRES = {
    "AFP": ("AFP", "Agence France-Presse", "Agence France Presse"), "Reuters": ("Reuters",),
    "AP": ("AP", "Associated Press"), "Bloomberg": ("Bloomberg",), "dpa": ("dpa",),
    "EFE": ("EFE",), "ANSA": ("ANSA",), "Xinhua": ("Xinhua",), "TASS": ("TASS",),
    "Kyodo": ("Kyodo",), "PTI": ("PTI", "Press Trust of India"), "UPI": ("UPI",),
    "Anadolu": ("Anadolu Agency", "Anadolu"), "ANI": ("ANI",),
}
"""Each wire agency's spellings (the longer first, where one begins the other)."""
_WIRE_NAME = "|".join(f"(?P<w{i}>{'|'.join(map(re.escape, spellings))})"
                      for i, spellings in enumerate(WIRES.values()))
_WIRE_PATTERNS = [
    re.compile(rf"\btold (?:the )?(?:{_WIRE_NAME})\b"),
    re.compile(rf"\((?:{_WIRE_NAME})\)"),
    re.compile(rf"\baccording to (?:the )?(?:{_WIRE_NAME})\b"),
    re.compile(rf"\b(?:{_WIRE_NAME}) (?:reported|contributed|said)\b"),
    re.compile(rf"[—–-] ?(?:{_WIRE_NAME})\s*$", re.MULTILINE),
]
_SPELLINGS = tuple(spelling for spellings in WIRES.values() for spelling in spellings)
_WIRE_OUTLETS = frozenset(name.casefold() for name in WIRES)


def wire_credits(text: str) -> tuple[str, ...]:
    """Wire agencies the text credits ("told AFP", "(Reuters)", "according to AP")."""
    if not any(spelling in text for spelling in _SPELLINGS):  # most texts: 20 times
        return ()                                                # faster than a regex
    found = []
    names = list(WIRES)
    for pattern in _WIRE_PATTERNS:
        for match in pattern.finditer(text):
            index = next(int(k[1:]) for k, v in match.groupdict().items() if v)
            found.append(names[index])
    return tuple(dict.fromkeys(found))


# --- sentences and alignment ------------------------------------------------------------


def _stems(sentence: str) -> frozenset[str]:
    # No normalize_quotes: quote marks, curly or straight, separate words all the same
    words = re.findall(r"[a-z0-9]+", sentence.lower())
    stop_words = english_stop_words()
    return frozenset(w[:STEM] for w in words if len(w) > 1 and w not in stop_words)


@dataclass(frozen=True, slots=True)
class Alignment:
    """In-order sentence alignment of article `a` against article `b`."""

    a_sentences: tuple[str, ...]
    b_sentences: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]

    @property
    def a_share(self) -> float:
        return len(self.pairs) / len(self.a_sentences) if self.a_sentences else 0.0

    @property
    def b_share(self) -> float:
        return len(self.pairs) / len(self.b_sentences) if self.b_sentences else 0.0

    def rows(self) -> tuple[tuple[str | None, str | None], ...]:
        """Side by side: (a sentence or None, b sentence or None), both in order."""
        rows: list[tuple[str | None, str | None]] = []
        i = j = 0
        for pi, pj in (*self.pairs, (len(self.a_sentences), len(self.b_sentences))):
            rows.extend((self.a_sentences[k], None) for k in range(i, pi))
            rows.extend((None, self.b_sentences[k]) for k in range(j, pj))
            if pi < len(self.a_sentences):
                rows.append((self.a_sentences[pi], self.b_sentences[pj]))
            i, j = pi + 1, pj + 1
        return tuple(rows)

    def unaligned(self, side: str) -> tuple[str, ...]:
        """Runs of unaligned sentences of one side, each run joined into a passage."""
        sentences = self.a_sentences if side == "a" else self.b_sentences
        aligned = {p[0] if side == "a" else p[1] for p in self.pairs}
        passages: list[list[str]] = []
        previous = -2
        for index, sentence in enumerate(sentences):
            if index in aligned:
                continue
            if index == previous + 1:
                passages[-1].append(sentence)
            else:
                passages.append([sentence])
            previous = index
        return tuple(" ".join(p) for p in passages)


def align(a: Sequence[str], b: Sequence[str]) -> Alignment:
    """The in-order pairing of sentences that maximizes total overlap (dynamic programming,
    like a diff of sentences that tolerates rewording)."""
    first, second = _Text.of_sentences(a), _Text.of_sentences(b)
    scores = _SentenceScores([first, second])
    return _align(first, second, scores.against_later(0))


@dataclass(frozen=True, slots=True)
class _Text:
    """What comparisons need of one article: worked out once per article of a story, not
    once per pair of articles."""

    sentences: tuple[str, ...]
    stems: tuple[frozenset[str], ...]
    gram_count: int
    """Word 5-grams of the text, each time it has one."""
    gram_set: frozenset[tuple[str, ...]]
    repeats: Mapping[tuple[str, ...], int]
    """The 5-grams it has more than once, with how many times more."""

    @classmethod
    def of_sentences(cls, sentences: Sequence[str], text: str = "") -> _Text:
        grams = _ngrams(text, 5)
        gram_set = frozenset(grams)
        repeats = {gram: count - 1 for gram, count in Counter(grams).items() if count > 1} \
            if len(gram_set) < len(grams) else {}
        return cls(tuple(sentences), tuple(_stems(s) for s in sentences), len(grams),
                   gram_set, repeats)

    def share_of(self, common: frozenset[tuple[str, ...]]) -> float:
        """Share of its 5-grams (counted each time they occur) found in the other text of
        a pair, given the 5-grams they have in `common`: one set intersection serves both
        texts, where a loop over each one's 5-grams took a tenth of the analysis."""
        if not self.gram_count:
            return 0.0
        extra = sum(more for gram, more in self.repeats.items() if gram in common)
        return (len(common) + extra) / self.gram_count


_DENSE_CELLS = 4_000_000
"""Sentences x distinct words up to which a story's sentences are a dense matrix (16 MB)."""


class _SentenceScores:
    """Dice overlap of every sentence of a story's articles with every sentence of the
    articles after it: one product per article rather than one per pair. The sentences'
    words are a dense matrix unless the story is large (most have a few hundred
    sentences): a sparse product's set-up costs far more than the arithmetic of a few
    dozen sentences."""

    def __init__(self, texts: Sequence[_Text]) -> None:
        vocabulary: dict[str, int] = {}
        stems = [words for t in texts for words in t.stems]
        columns = [vocabulary.setdefault(w, len(vocabulary)) for words in stems for w in words]
        counts = [len(words) for words in stems]
        shape = (len(stems), max(1, len(vocabulary)))
        self.matrix: np.ndarray | sp.csr_matrix
        if shape[0] * shape[1] <= _DENSE_CELLS:
            self.matrix = np.zeros(shape, dtype=np.float32)
            self.matrix[np.repeat(np.arange(len(stems)), counts), columns] = 1
        else:
            import scipy.sparse as sp  # here: 0.15 s to import, for the few large stories
            self.matrix = sp.csr_matrix(
                (np.ones(len(columns), dtype=np.float32), columns, np.cumsum([0, *counts])),
                shape=shape)
        self.sizes = np.array(counts, dtype=np.float32)
        self.starts = np.cumsum([0, *(len(t.stems) for t in texts)])

    def against_later(self, index: int) -> np.ndarray:
        """Text `index`'s sentences (rows) against the sentences of every later text."""
        low, high = self.starts[index], self.starts[index + 1]
        shared = self.matrix[low:high] @ self.matrix[high:].T
        if not isinstance(shared, np.ndarray):  # a large story's product is sparse
            shared = shared.toarray()
        sizes = self.sizes[low:high, None] + self.sizes[None, high:]
        return np.divide(2 * shared, sizes, out=np.zeros_like(shared), where=sizes > 0)

    def columns(self, index: int, later: int) -> slice:
        """Where text `later`'s sentences are in `against_later(index)`."""
        base = self.starts[index + 1]
        return slice(self.starts[later] - base, self.starts[later + 1] - base)


def _align(a: _Text, b: _Text, score: np.ndarray) -> Alignment:
    matches = score >= SENTENCE_MATCH
    m, n = score.shape
    best = np.zeros((m + 1, n + 1))
    for i in range(1, m + 1):
        above = best[i - 1]
        if not matches[i - 1].any():  # nothing to add: the row stays as the one above
            best[i] = above
            continue
        # here[j] = max(above[j], here[j - 1], above[j - 1] + score when the sentences
        # match): a running maximum, so one row at a time at numpy speed
        candidates = np.maximum(above[1:], np.where(matches[i - 1],
                                                    above[:-1] + score[i - 1], 0.0))
        best[i, 1:] = np.maximum.accumulate(candidates)
    pairs = []
    i, j = m, n
    while i and j:
        if matches[i - 1, j - 1] and best[i, j] == best[i - 1, j - 1] + score[i - 1, j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif best[i, j] == best[i - 1, j]:
            i -= 1
        else:
            j -= 1
    return Alignment(a.sentences, b.sentences, tuple(reversed(pairs)))


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", normalize_quotes(text).lower())
    return list(zip(*(words[i:] for i in range(n)), strict=False))  # n-grams: ragged ends


# --- relations ------------------------------------------------------------------------------

_MAX_SENTENCES = 400
"""Longer articles are not aligned (the alignment is quadratic in sentences)."""


@dataclass(frozen=True, slots=True)
class _Pair:
    derived: Article
    source: Article
    kind: str | None
    reason: str
    alignment: Alignment
    """Aligned with the derived article as side a."""
    ngrams: float
    shared_quotes: int

    @property
    def strength(self) -> tuple[int, float]:
        return (self.kind == "copy", max(self.alignment.a_share, self.ngrams))


def relations(timeline: Sequence[Article],
              mentions: Mapping[str, Sequence[QuoteMention]] | None = None,
              wires: Mapping[str, tuple[str, ...]] | None = None) -> tuple[Relation, ...]:
    """One Relation per article: `copy` or `rewrite` of another article of the story,
    `original` when another derives from it, else `independent`. `mentions` and `wires`
    (each article's quotes and wire credits) are found here unless the caller has them."""
    pairs = _pairs(timeline, mentions, wires) if len(timeline) > 1 else []
    source_of: dict[str, _Pair] = {}
    for pair in sorted(pairs, key=lambda p: (p.strength, p.derived.id, p.source.id),
                       reverse=True):
        if pair.kind is None or pair.derived.id in source_of:
            continue
        if not _leads_to(source_of, pair.source.id, pair.derived.id):
            source_of[pair.derived.id] = pair
    closest: dict[str, _Pair] = {}
    for pair in pairs:
        for article_id in (pair.derived.id, pair.source.id):
            if article_id not in closest or pair.strength > closest[article_id].strength:
                closest[article_id] = pair
    sources = {p.source.id for p in source_of.values()}
    return tuple(_relation(a, source_of.get(a.id), closest.get(a.id), a.id in sources)
                 for a in timeline)


def _leads_to(source_of: dict[str, _Pair], start: str, target: str) -> bool:
    """Whether following derived-from links from `start` reaches `target` (a cycle)."""
    seen = set()
    while start in source_of and start not in seen:
        seen.add(start)
        start = source_of[start].source.id
        if start == target:
            return True
    return start == target


def _compare(a: Article, b: Article, texts: dict[str, _Text], score: np.ndarray,
             quotes: dict[str, set[str]], wires: Mapping[str, tuple[str, ...]]
             ) -> _Pair | None:
    text_a, text_b = texts[a.id], texts[b.id]
    least = max(1, min(MIN_ALIGNED, len(text_a.sentences), len(text_b.sentences)))
    if np.count_nonzero((score >= SENTENCE_MATCH).any(axis=1)) < least:
        return None  # too few sentences with any match to align enough of them
    alignment = _align(text_a, text_b, score)
    if len(alignment.pairs) < least:
        return None
    common = text_a.gram_set & text_b.gram_set
    shares = {a.id: text_a.share_of(common), b.id: text_b.share_of(common)}
    derived, source, reason = _direction(a, b, alignment, shares, quotes, wires)
    if derived is b:
        alignment = Alignment(alignment.b_sentences, alignment.a_sentences,
                              tuple((j, i) for i, j in alignment.pairs))
    ngrams = shares[derived.id]
    kind = ("copy" if ngrams >= COPY_NGRAMS else
            "rewrite" if alignment.a_share >= REWRITE_SHARE
            and len(alignment.pairs) >= MIN_ALIGNED else None)
    shared = sum(any(same_quote(q, other) for other in quotes[source.id])
                 for q in quotes[derived.id])
    return _Pair(derived, source, kind, reason, alignment, ngrams, shared)


def _direction(a: Article, b: Article, alignment: Alignment, shares: dict[str, float],
               quotes: dict[str, set[str]], wires: Mapping[str, tuple[str, ...]]
               ) -> tuple[Article, Article, str]:
    """(derived, source, why): dates first, then wire attribution, then which article's
    words, quotes or sentences the other contains, then length."""
    if a.day and b.day and a.day != b.day:
        return (b, a, "dates") if a.day < b.day else (a, b, "dates")
    for first, second in ((a, b), (b, a)):
        if (first.source or "").casefold() in _WIRE_OUTLETS and \
                (second.source or "").casefold() not in _WIRE_OUTLETS:
            return second, first, "wire outlet"
    credited = set(wires[a.id]) & set(wires[b.id])
    for first, second in ((a, b), (b, a)):
        if credited and second.source and second.source not in credited and \
                (first.source is None or first.source in credited):
            return second, first, f"{second.source} credits {', '.join(sorted(credited))}"
    if max(shares.values()) >= COPY_NGRAMS and abs(shares[a.id] - shares[b.id]) >= 0.05:
        return (a, b, "containment") if shares[a.id] > shares[b.id] else (b, a, "containment")
    qa, qb = quotes[a.id], quotes[b.id]
    contained_a = all(any(same_quote(q, o) for o in qb) for q in qa)
    contained_b = all(any(same_quote(q, o) for o in qa) for q in qb)
    if qa and qb and contained_a != contained_b:
        return (a, b, "quotes") if contained_a else (b, a, "quotes")
    if abs(alignment.a_share - alignment.b_share) >= 0.1:
        return (a, b, "containment") if alignment.a_share > alignment.b_share else \
            (b, a, "containment")
    return (a, b, "length") if len(a.text) < len(b.text) else (b, a, "length")


def _pairs(timeline: Sequence[Article], mentions: Mapping[str, Sequence[QuoteMention]] | None,
           wires: Mapping[str, tuple[str, ...]] | None) -> list[_Pair]:
    """The related pairs of articles, each article compared with every later one."""
    texts = {a.id: _Text.of_sentences(split_sentences(a.text)[:_MAX_SENTENCES], a.text)
             for a in timeline}
    scores = _SentenceScores(list(texts.values()))
    if mentions is None:
        mentions = {a.id: quotes_in(a.text) for a in timeline}
    if wires is None:
        wires = {a.id: wire_credits(a.text) for a in timeline}
    quotes = {a.id: {m.key for m in mentions[a.id]} for a in timeline}
    pairs = []
    for index, first in enumerate(timeline[:-1]):
        later = scores.against_later(index)
        for other, second in enumerate(timeline[index + 1:], start=index + 1):
            score = later[:, scores.columns(index, other)]
            pair = _compare(first, second, texts, score, quotes, wires)
            if pair is not None:
                pairs.append(pair)
    return pairs


def _relation(article: Article, derivation: _Pair | None, closest: _Pair | None,
              is_source: bool) -> Relation:
    if derivation is not None:
        alignment = derivation.alignment
        return Relation(
            article=article.id, kind=str(derivation.kind), derived_from=derivation.source.id,
            aligned_share=round(alignment.a_share, 3), ngram_share=round(derivation.ngrams, 3),
            shared_quotes=derivation.shared_quotes, reason=derivation.reason,
            added=alignment.unaligned("a"), dropped=alignment.unaligned("b"),
            comparison=alignment.rows())
    kind = "original" if is_source else "independent"
    if closest is None:
        return Relation(article.id, kind, None, 0.0, 0.0, 0, None)
    share = closest.alignment.a_share if closest.derived is article else \
        closest.alignment.b_share
    return Relation(article.id, kind, None, round(share, 3), round(closest.ngrams, 3),
                    closest.shared_quotes, None)
