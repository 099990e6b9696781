"""`.sitegen/state.json`: story ids and URLs that must outlive any single build.

Meant to be committed next to the seeds, so a fresh clone (a CI runner publishing to
GitHub Pages) keeps every id. Written atomically: a temporary file, fsync, rename.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import Problem
from .files import atomic_write
from .model import RetiredStory, StoryRecord, StoryState

FORMAT = 1


def load_state(path: Path, lines: dict[str, tuple[StoryRecord, str]] | None = None
               ) -> tuple[StoryState, list[Problem]]:
    """The saved state, or an empty one. A corrupt file is kept aside and reported.
    `lines`, if given, gets each story's line of the file with the record read from it,
    for save_state to keep (see _lines_of)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return StoryState(), []
    except OSError as exc:
        return StoryState(), [Problem(str(path), None, f"cannot read: {exc.strerror}")]
    try:
        loaded = _decode(json.loads(raw))
        if lines is not None:
            lines.update(_lines_of(raw, loaded))
        return loaded, []
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        backup = path.with_name(path.name + ".corrupt")
        os.replace(path, backup)
        return StoryState(), [Problem(str(path), None,
                                      f"corrupt state ({exc}); moved to {backup.name}, "
                                      "story ids start afresh")]


Lines = Mapping[str, tuple[StoryRecord, str]]
"""Each story's line in a state file, with the very record it was written from."""
KeptState = tuple[tuple[int, int, int] | None, StoryState, Lines]
"""A state file as a build read or wrote it: its stamp (files.stamp), what it says, and
each story's line of it (kept by the build cache)."""


def save_state(path: Path, state: StoryState, lines: Lines | None = None
               ) -> dict[str, tuple[StoryRecord, str]]:
    """One story per line: a change to a story is a one-line diff in git, and the file is
    written by the C JSON encoder (the indenting one is pure Python: 0.1 s at 10,000
    articles, on every build of a watched site). A story whose record is the very one
    `lines` (what the last save returned) wrote keeps its line: encoding the 53,000 lines
    of a 100,000-article site took 0.5 to 0.7 s a build. Returns the lines written."""
    known = lines or {}
    written: dict[str, tuple[StoryRecord, str]] = {}
    for story_id, r in sorted(state.stories.items()):
        kept = known.get(story_id)
        written[story_id] = kept if kept is not None and kept[0] is r else (
            r, f"  {json.dumps(story_id)}: " + _compact(
                {"slug": r.slug, "created": r.created, "articles": list(r.article_ids),
                 "central": r.central_id, "terms": list(r.terms)}))
    lines_out = [f' "format": {FORMAT},', f' "sequence": {state.sequence},',
                 f' "fingerprint": {json.dumps(state.fingerprint)},']
    stories = [line for _, line in written.values()]
    retired = [f"  {json.dumps(story_id)}: " + _compact({"slug": r.slug, "successor": r.successor})
               for story_id, r in sorted(state.retired.items())]
    lines_out.append(' "stories": {' + ("\n" + ",\n".join(stories) + "\n }," if stories else "},"))
    lines_out.append(' "retired": {' + ("\n" + ",\n".join(retired) + "\n }" if retired else "}"))
    atomic_write(path, ("{\n" + "\n".join(lines_out) + "\n}\n").encode())
    return written


_STORIES, _END_OF_STORIES = '\n "stories": {\n', '\n },\n "retired": '


def _lines_of(raw: bytes, loaded: StoryState) -> dict[str, tuple[StoryRecord, str]]:
    """Each story's line of a file as save_state writes it, one story per line, with the
    record read from it (so the line says exactly what the record does); none from a
    file in another layout or encoding (edited by hand), which is written anew."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # JSON in UTF-16, say: parsed, but not to be copied
        return {}
    start, end = text.find(_STORIES), text.find(_END_OF_STORIES)
    if start < 0 or end < start:
        return {}
    found: dict[str, tuple[StoryRecord, str]] = {}
    for line in text[start + len(_STORIES):end].split("\n"):
        line = line.removesuffix(",")
        story_id = line[3:line.find('"', 3)]
        record = loaded.stories.get(story_id)
        if record is None or story_id in found or not line.startswith('  "') \
                or not line.endswith("}"):
            return {}
        found[story_id] = (record, line)
    return found if len(found) == len(loaded.stories) else {}


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
"""Made once: json.dumps with any option makes an encoder per call, the better part of
the time taken by the 50,000 lines of a 100,000-article site's state."""


def _compact(value: Any) -> str:
    return _ENCODER.encode(value)


_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")


def _decode(data: Any) -> StoryState:
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown format {data.get('format')!r}")
    return StoryState(
        sequence=int(data["sequence"]),
        fingerprint=str(data.get("fingerprint", "")),
        stories={
            str(k): StoryRecord(_slug(v["slug"]), tuple(map(str, v["articles"])),
                                int(v["created"]),
                                None if v.get("central") is None else str(v["central"]),
                                tuple(map(str, v.get("terms", ()))))
            for k, v in data["stories"].items()
        },
        retired={
            str(k): RetiredStory(_slug(v["slug"]), None if v["successor"] is None
                                 else str(v["successor"]))
            for k, v in data["retired"].items()
        },
    )


def _slug(value: Any) -> str:
    """Slugs become folder names: anything sitegen would not have made is corruption."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValueError(f"bad slug {value!r}")
    return value
