"""Who rewrote whom inside a story: sentence alignment, shared n-grams and quotes.

N-gram overlap alone misses paraphrase (the sample rewrite shares only ~19% of its word
5-grams with its source), and independent reports of one event can share long quotes.
The signal is structure: sentence after sentence of a rewrite aligns, in order, with a
sentence of its source. Used by the analyze stage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .model import Article, Relation
from .quotes import QuoteMention, quotes_in, same_quote
from .text import normalize_quotes, split_sentences

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
    "AFP": r"AFP|Agence France[- ]Presse", "Reuters": r"Reuters",
    "AP": r"AP|Associated Press", "Bloomberg": r"Bloomberg", "dpa": r"dpa",
    "EFE": r"EFE", "ANSA": r"ANSA", "Xinhua": r"Xinhua", "TASS": r"TASS",
    "Kyodo": r"Kyodo", "PTI": r"PTI|Press Trust of India", "UPI": r"UPI",
    "Anadolu": r"Anadolu(?: Agency)?", "ANI": r"ANI",
}
_WIRE_NAME = "|".join(f"(?P<w{i}>{pattern})" for i, pattern in enumerate(WIRES.values()))
_WIRE_PATTERNS = [
    re.compile(rf"\btold (?:the )?(?:{_WIRE_NAME})\b"),
    re.compile(rf"\((?:{_WIRE_NAME})\)"),
    re.compile(rf"\baccording to (?:the )?(?:{_WIRE_NAME})\b"),
    re.compile(rf"\b(?:{_WIRE_NAME}) (?:reported|contributed|said)\b"),
    re.compile(rf"[—–-] ?(?:{_WIRE_NAME})\s*$", re.MULTILINE),
]


def wire_credits(text: str) -> tuple[str, ...]:
    """Wire agencies the text credits ("told AFP", "(Reuters)", "according to AP")."""
    found = []
    names = list(WIRES)
    for pattern in _WIRE_PATTERNS:
        for match in pattern.finditer(text):
            index = next(int(k[1:]) for k, v in match.groupdict().items() if v)
            found.append(names[index])
    return tuple(dict.fromkeys(found))


# --- sentences and alignment ------------------------------------------------------------


def _stems(sentence: str) -> frozenset[str]:
    words = re.findall(r"[a-z0-9]+", normalize_quotes(sentence).lower())
    return frozenset(w[:STEM] for w in words if len(w) > 1 and w not in ENGLISH_STOP_WORDS)


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
    stems_a, stems_b = [_stems(s) for s in a], [_stems(s) for s in b]
    score = _dice_matrix(stems_a, stems_b)
    m, n = score.shape
    best = np.zeros((m + 1, n + 1))
    for i in range(1, m + 1):
        row, above, here = score[i - 1], best[i - 1], best[i]
        for j in range(1, n + 1):
            value = max(above[j], here[j - 1])
            if row[j - 1] >= SENTENCE_MATCH:
                value = max(value, above[j - 1] + row[j - 1])
            here[j] = value
    pairs = []
    i, j = m, n
    while i and j:
        if score[i - 1, j - 1] >= SENTENCE_MATCH and \
                best[i, j] == best[i - 1, j - 1] + score[i - 1, j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif best[i, j] == best[i - 1, j]:
            i -= 1
        else:
            j -= 1
    return Alignment(tuple(a), tuple(b), tuple(reversed(pairs)))


def _dice_matrix(a: list[frozenset[str]], b: list[frozenset[str]]) -> np.ndarray:
    vocabulary = {w: k for k, w in enumerate(set().union(*a, *b))}

    def matrix(sets: list[frozenset[str]]) -> sp.csr_matrix:
        """Sparse: a sentence has a dozen words of a vocabulary of thousands."""
        columns = [vocabulary[w] for words in sets for w in words]
        pointers = np.cumsum([0, *(len(words) for words in sets)])
        return sp.csr_matrix((np.ones(len(columns), dtype=np.float32), columns, pointers),
                             shape=(len(sets), max(1, len(vocabulary))))

    ma, mb = matrix(a), matrix(b)
    shared = (ma @ mb.T).toarray()
    sizes = np.array([len(s) for s in a], dtype=np.float32)[:, None] + \
        np.array([len(s) for s in b], dtype=np.float32)[None, :]
    return np.divide(2 * shared, sizes, out=np.zeros_like(shared), where=sizes > 0)


def ngram_share(a: str, b: str, n: int = 5) -> float:
    """Share of a's word n-grams that also occur in b."""
    grams_a, grams_b = _ngrams(a, n), set(_ngrams(b, n))
    return sum(g in grams_b for g in grams_a) / len(grams_a) if grams_a else 0.0


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", normalize_quotes(text).lower())
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


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
    sentences = {a.id: split_sentences(a.text)[:_MAX_SENTENCES] for a in timeline}
    if mentions is None:
        mentions = {a.id: quotes_in(a.text) for a in timeline}
    if wires is None:
        wires = {a.id: wire_credits(a.text) for a in timeline}
    quotes = {a.id: {m.key for m in mentions[a.id]} for a in timeline}
    pairs: list[_Pair] = []
    for index, first in enumerate(timeline):
        for second in timeline[index + 1:]:
            pair = _compare(first, second, sentences, quotes, wires)
            if pair is not None:
                pairs.append(pair)
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


def _compare(a: Article, b: Article, sentences: dict[str, list[str]],
             quotes: dict[str, set[str]], wires: Mapping[str, tuple[str, ...]]) -> _Pair | None:
    alignment = align(sentences[a.id], sentences[b.id])
    shortest = min(len(sentences[a.id]), len(sentences[b.id]))
    if not alignment.pairs or len(alignment.pairs) < min(MIN_ALIGNED, shortest):
        return None
    shares = {a.id: ngram_share(a.text, b.text), b.id: ngram_share(b.text, a.text)}
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
    wire_outlets = {name.casefold() for name in WIRES}
    for first, second in ((a, b), (b, a)):
        if (first.source or "").casefold() in wire_outlets and \
                (second.source or "").casefold() not in wire_outlets:
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
