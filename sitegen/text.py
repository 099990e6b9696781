"""Small text helpers shared by the stages: normalizing, sentences, shortening, slugs,
the words TF-IDF counts.

Pure functions on strings, no state (but for the stop-word list, read once), so any
stage may use them.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from pathlib import Path

_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"""[.!?…]["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Col|Lt|Sgt|St|Jr|Sr|Inc|Corp|Ltd|Co|No|vs|etc|"
    r"Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)|\b[A-Z]|\b(?:[A-Z]\.){1,3}[A-Z])\.$"
)


_WORD = re.compile(r"(?u)\b\w\w+\b")
"""scikit-learn's default token pattern."""


def tokens(text: str) -> list[str]:
    """The words that TF-IDF counts, as scikit-learn's analyzer finds them (lower case,
    its default pattern, its English stop words out) but without importing scikit-learn,
    which takes a second: a build placing one new article would pay that for this alone."""
    stop_words = english_stop_words()
    return [word for word in _WORD.findall(text.lower()) if word not in stop_words]


@functools.cache
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, read from the module that holds them without
    running scikit-learn's own import (see `tokens`)."""
    try:
        package = importlib.util.find_spec("sklearn")  # finds it, imports nothing
        assert package is not None and package.origin is not None
        path = Path(package.origin).parent / "feature_extraction" / "_stop_words.py"
        spec = importlib.util.spec_from_file_location("sitegen._english_stop_words", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return frozenset(module.ENGLISH_STOP_WORDS)
    except (AssertionError, ImportError, OSError, AttributeError):  # laid out otherwise
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
        return frozenset(ENGLISH_STOP_WORDS)


def normalize_space(text: str) -> str:
    """NFC and single spaces: the form ids and comparisons are computed on."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


@functools.lru_cache(maxsize=256)
def split_sentences(text: str) -> tuple[str, ...]:
    """Split prose into sentences, keeping abbreviations such as "U.S." and "Mr." whole.

    Remembered for the last texts: analysing a story splits each article's text for its
    provenance, its names and its summary (a tenth of the analysis's time)."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        start = 0
        merged: list[str] = []
        ends = [m.end() for m in _SENTENCE_END.finditer(paragraph)] + [len(paragraph)]
        for end in ends:
            piece = paragraph[start:end].strip()
            start = end
            if not piece:
                continue
            if merged and _ABBREVIATION.search(merged[-1]):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        sentences.extend(merged)
    return tuple(sentences)


def shorten(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Cut text to at most `limit` characters at a word boundary, never mid-word."""
    text = normalize_space(text)
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    cut = text[: room + 1]
    space = cut.rfind(" ")
    if space <= 0:
        return text[:room].rstrip() + ellipsis
    return cut[:space].rstrip(" ,;:-–—") + ellipsis


def headline_from(text: str, limit: int = 110) -> str:
    """A title for an untitled article: its opening sentence, shortened at a clause or word."""
    sentences = split_sentences(text)
    first = sentences[0] if sentences else normalize_space(text)
    first = first.rstrip(".")
    if len(first) <= limit:
        return first
    clause = first.rfind(",", 0, limit)
    if clause >= 40:
        return first[:clause].rstrip()
    return shorten(first, limit)


def summary_from(text: str, limit: int) -> str:
    """The opening sentences that fit in `limit` characters (at least one, shortened)."""
    summary = ""
    for sentence in split_sentences(text):
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > limit:
            break
        summary = candidate
    return summary or shorten(text, limit)


def slugify(text: str, limit: int = 60) -> str:
    """ASCII, lowercase, hyphenated, cut at a word: safe in a URL and on any filesystem."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    slug = slug or (words[0][:limit] if words else "")
    return f"{slug}-1" if slug in WINDOWS_RESERVED else slug


WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
     *(f"lpt{i}" for i in range(10))])
"""Names Windows cannot create as files or folders: a site cloned there must still check out."""


def normalize_quotes(text: str) -> str:
    """Curly, low and prime quote marks -> straight ones; apostrophes -> '.

    One str.replace per mark present: 28 times faster than str.translate, which looks
    up every character of the text in a dict (6 s of a cold build at 100,000 articles)."""
    for mark, plain in _QUOTES:
        if mark in text:
            text = text.replace(mark, plain)
    return text


_QUOTES = (("“", '"'), ("”", '"'), ("„", '"'), ("‟", '"'), ("″", '"'), ("«", '"'), ("»", '"'),
           ("‘", "'"), ("’", "'"), ("‚", "'"), ("‛", "'"), ("…", "..."))


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """"1 story", "2 stories": messages people read say it as they would."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
