"""The quote ledger: every quotation in a story, who carries it, who dropped it.

Curly and straight quote marks are one; a quotation carried by an article's source
that the derived article leaves out is "dropped" by it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .model import Article, Quote, Relation
from .text import normalize_quotes

_QUOTE = re.compile(r'"([^"\n]{2,600}?)"')
_SPEECH = r"(?:said|says|added|told|wrote|stated|declared|insisted|warned|explained)"
_NAME = r"(?:[A-Z][\w.'-]*(?:\s+(?:of\s+)?[A-Z][\w.'-]*){0,4})"
_DESCRIBED = r"(?:an?|the)\s[^,.;\"]{3,80}?"
"""A speaker described rather than named: "a spokesman for the ministry"."""
_AFTER = [
    # ," said Mayor Ana Ruiz.  /  ," said a spokesman for the Kremlin on Sunday.
    re.compile(rf"^[,.]?\s*{_SPEECH}\s+(?P<who>{_DESCRIBED}|{_NAME})"
               r"(?=[,.;]|\s+(?:on|in|at|to|after|following|when)\b|$)"),
    # ," Zelensky wrote.  /  ," the spokesman said.
    re.compile(rf"^[,.]?\s*(?P<who>{_NAME}|(?:the|a|an)\s[\w' -]{{3,60}}?)\s+{_SPEECH}\b"),
]
_BEFORE = re.compile(rf"(?P<who>{_NAME})\s+{_SPEECH}(?:\s+that)?[:,]?\s*[^\"]{{0,120}}$")
_ACCORDING = re.compile(
    rf"(?i:according) to (?P<who>(?:the\s)?(?:{_NAME}|[a-z][\w' -]{{2,40}}?))(?=[,.;:]|$)")


@dataclass(frozen=True, slots=True)
class QuoteMention:
    text: str
    key: str
    speaker: str | None


def quotes_in(text: str) -> list[QuoteMention]:
    """Every double-quoted passage, with its speaker where a simple pattern finds one."""
    found = []
    for paragraph in normalize_quotes(text).split("\n"):
        for match in _QUOTE.finditer(paragraph):
            quoted = match.group(1).strip()
            key = quote_key(quoted)
            if key:
                found.append(QuoteMention(quoted, key, _speaker(paragraph, match)))
    return found


def quote_key(quoted: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", quoted.lower()))


def _speaker(paragraph: str, match: re.Match[str]) -> str | None:
    after = paragraph[match.end():]
    for pattern in _AFTER:
        if found := pattern.match(after):
            return _clean_speaker(found.group("who"))
    before = paragraph[:match.start()]
    sentence_start = max(before.rfind(". "), before.rfind('" '), 0)
    if found := _BEFORE.search(before[sentence_start:]):
        return _clean_speaker(found.group("who"))
    if found := _ACCORDING.search(before[sentence_start:]):
        return _clean_speaker(found.group("who"))
    return None


def _clean_speaker(who: str) -> str | None:
    who = who.strip(" ,.;")
    if not who or who.lower() in {"he", "she", "they", "it", "we", "i", "the", "a", "an"}:
        return None
    return who


@functools.lru_cache(maxsize=1 << 16)
def same_quote(key: str, other: str) -> str | None:
    """'verbatim' when one quote contains the other, 'altered' when most words are shared.

    Remembered: a story's quotes are compared again for every pair of its articles that
    carry them, both ways (who rewrote whom) and for the quote ledger."""
    if key == other or f" {key} " in f" {other} " or f" {other} " in f" {key} ":
        return "verbatim"
    words, others = set(key.split()), set(other.split())
    if min(len(words), len(others)) >= 4 and len(words & others) / len(words | others) >= 0.6:
        return "altered"
    return None


@dataclass
class _LedgerEntry:
    text: str
    key: str
    speaker: str | None
    carried: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)

    def add(self, article_id: str, mention: QuoteMention, kind: str) -> None:
        if article_id not in self.carried and article_id not in self.altered:
            (self.carried if kind == "verbatim" else self.altered).append(article_id)
        self.speaker = self.speaker or mention.speaker


def quote_ledger(timeline: Sequence[Article], relations: Sequence[Relation],
                 mentions: Mapping[str, Sequence[QuoteMention]] | None = None
                 ) -> tuple[Quote, ...]:
    """Each quotation once, with the articles carrying it verbatim or altered, and the
    derived articles that dropped it from their source."""
    entries: list[_LedgerEntry] = []
    for article in timeline:
        found = quotes_in(article.text) if mentions is None else mentions[article.id]
        for mention in found:
            match = next(((e, kind) for e in entries
                          if (kind := same_quote(mention.key, e.key))), None)
            if match is None:
                entry = _LedgerEntry(mention.text, mention.key, mention.speaker)
                entries.append(entry)
                entry.add(article.id, mention, "verbatim")
            else:
                match[0].add(article.id, mention, match[1])
    ledger = []
    for entry in entries:
        carriers = {*entry.carried, *entry.altered}
        dropped = tuple(r.article for r in relations
                        if r.derived_from in carriers and r.article not in carriers)
        ledger.append(Quote(text=entry.text, speaker=entry.speaker,
                            carried_by=tuple(entry.carried), altered_in=tuple(entry.altered),
                            dropped_by=dropped))
    return tuple(ledger)
