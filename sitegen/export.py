"""The stories.json export: the site's stories as data, a contract other tools read
(and the source of the search index)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import orjson

from .memo import RenderMemo
from .model import Site, StoryAnalysis
from .urls import article_path, name_path, story_path

FILE = "stories.json"
"""The export's name in the site (and the search index's source)."""


def _export_story(s: StoryAnalysis) -> dict[str, Any]:
    return {
        "id": s.story.id,
        "url": story_path(s),
        "title": s.headline,
        "summary": s.summary,
        "first_seen": s.first_seen,
        "last_seen": s.last_seen,
        "outlets": list(s.outlets),
        "terms": list(s.story.terms),
        "articles": [
            {
                "id": a.id,
                "seed": a.seed,
                "title": a.title,
                "source": a.source,
                "date": a.published,
                "url": article_path(a),
                "original_url": a.original_url,
            }
            for a in s.articles
        ],
        "first_reported": s.first_reported,
        "timeline": [
            {"article": a.id, "date": a.published, "source": a.source,
             "wire": list(s.wire_credits.get(a.id, ()))}
            for a in s.articles
        ],
        "relations": [
            {"article": r.article, "kind": r.kind, "derived_from": r.derived_from,
             "evidence": {"aligned_share": r.aligned_share, "ngram_share": r.ngram_share,
                          "shared_quotes": r.shared_quotes, "direction": r.reason,
                          "added": list(r.added), "dropped": list(r.dropped)}}
            for r in s.relations
        ],
        "quotes": [
            {"text": q.text, "speaker": q.speaker, "carried_by": list(q.carried_by),
             "altered_in": list(q.altered_in), "dropped_by": list(q.dropped_by)}
            for q in s.quotes
        ],
        "entities": [
            {"name": e.name, "kind": e.kind, "mentions": e.mentions, "url": name_path(e.slug)}
            for e in s.entities
        ],
    }


_EXPORT_HEAD = b'{\n  "generated": '
_STORIES = b',\n  "stories": [\n    '
_BETWEEN = b",\n    "
_IN_LIST = b"\n    "
"""A story's lines stand this far in, in the list of stories."""
_NEXT_STORY = _BETWEEN + b"{"
"""Where one story ends and the next begins: JSON escapes line breaks within strings, and
only a story's own braces stand four spaces in."""
_ID_AT = len(b'{\n      "id": ')
_END = b"\n  ]\n}\n"


def export_json(site: Site, generated: str, previous: bytes | None,
                memo: RenderMemo | None = None) -> bytes:
    """The stories.json contract. `generated` keeps its old value when nothing else changed,
    so a rebuild with no change rewrites no file.

    Written as orjson.dumps(..., option=OPT_INDENT_2) would write it, one story at a
    time, so that with `memo` an unchanged story is not serialized again: its text is
    taken from `previous`, the export the last build wrote (the memo trusts it: see
    RenderMemo.start). orjson, not json: json's encoder in C cannot indent, and its
    Python one took 6.8 s for the 160 MB export of 100,000 articles."""
    memo = memo or RenderMemo()
    keys = memo.identity_keys("json", site.stories)
    known = memo.known_names(keys)  # the very story: no name to work out, no call each
    kept = story_texts(previous) if previous and any(known) else {}
    parts: list[bytes | memoryview] = [_STORIES]
    for story, key, name in zip(site.stories, keys, known, strict=True):
        part = None if name is None else kept.get(_json(story.story.id))
        if part is None:
            part = _json(_export_story(story), indent=True).replace(b"\n", _IN_LIST)
            memo.note(f"{story.story.id}\x00json", key)
        parts += (part, _BETWEEN)
    parts[-1] = _END
    # Joined once (160 MB at 100,000 articles): each `+` copied it all again, a quarter
    # of the export's time with every story unchanged
    body = b"".join(parts) if len(parts) > 1 else b',\n  "stories": []\n}\n'
    if previous and previous.startswith(_EXPORT_HEAD) and previous.endswith(body):
        with contextlib.suppress(ValueError):
            stamp = orjson.loads(previous[len(_EXPORT_HEAD):len(previous) - len(body)])
            generated = stamp if isinstance(stamp, str) else generated
    return b"".join((_EXPORT_HEAD, _json(generated), body))


def story_texts(export: bytes) -> dict[bytes, memoryview]:
    """Each story's text in an export export_json wrote, by its id as JSON: what the next
    build keeps of an unchanged story. Views into `export`, not copies (splitting it
    copied it three times over)."""
    return {story_id: text for story_id, text, _ in scan_stories(iter([export]))}


def scan_stories(blocks: Iterator[bytes]) -> Iterator[tuple[bytes, memoryview, int]]:
    """(id as JSON, text, where the text starts in the export) of each story of an export
    export_json wrote, given as consecutive blocks of bytes: a story is told apart by
    where the next begins (see _NEXT_STORY), without parsing 160 MB of JSON (at 100,000
    articles). A text is a view into the block that holds it; reading a file a block at
    a time, the search indexer never holds the whole export, and reads again from the
    file, by where they start, only the stories it needs whole."""
    buffer, at, base = b"", -1, 0  # base: where buffer starts in the export
    while at < 0:
        more = next(blocks, None)
        if more is None:
            return
        buffer += more
        at = buffer.find(_STORIES)
    at += len(_STORIES)
    while True:
        following = buffer.find(_NEXT_STORY, at)
        if following < 0:
            more = next(blocks, None)
            if more is not None:
                buffer, at, base = buffer[at:] + more, 0, base + at
                continue
            end = buffer.rfind(_END, at)
            if end >= 0:  # else cut short: no export this module wrote
                yield _story_at(buffer, at, end, base)
            return
        yield _story_at(buffer, at, following, base)
        at = following + len(_BETWEEN)


def _story_at(buffer: bytes, start: int, end: int, base: int
              ) -> tuple[bytes, memoryview, int]:
    return (buffer[start + _ID_AT:buffer.find(b",\n", start + _ID_AT, end)],
            memoryview(buffer)[start:end], base + start)


def _json(value: Any, indent: bool = False) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
