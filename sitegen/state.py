"""`.sitegen/state.json`: story ids and URLs that must outlive any single build.

Meant to be committed next to the seeds, so a fresh clone (a CI runner publishing to
GitHub Pages) keeps every id. Written atomically: a temporary file, fsync, rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import Problem
from .model import RetiredStory, StoryRecord, StoryState

FORMAT = 1


def load_state(path: Path) -> tuple[StoryState, list[Problem]]:
    """The saved state, or an empty one. A corrupt file is kept aside and reported."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return StoryState(), []
    except OSError as exc:
        return StoryState(), [Problem(str(path), None, f"cannot read: {exc.strerror}")]
    try:
        return _decode(json.loads(raw)), []
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        backup = path.with_name(path.name + ".corrupt")
        os.replace(path, backup)
        return StoryState(), [Problem(str(path), None,
                                      f"corrupt state ({exc}); moved to {backup.name}, "
                                      "story ids start afresh")]


def save_state(path: Path, state: StoryState) -> None:
    data = {
        "format": FORMAT,
        "sequence": state.sequence,
        "stories": {
            story_id: {"slug": r.slug, "created": r.created, "articles": list(r.article_ids)}
            for story_id, r in sorted(state.stories.items())
        },
        "retired": {
            story_id: {"slug": r.slug, "successor": r.successor}
            for story_id, r in sorted(state.retired.items())
        },
    }
    atomic_write(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode())


def atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; this file is meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _decode(data: Any) -> StoryState:
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown format {data.get('format')!r}")
    return StoryState(
        sequence=int(data["sequence"]),
        stories={
            str(k): StoryRecord(str(v["slug"]), tuple(map(str, v["articles"])), int(v["created"]))
            for k, v in data["stories"].items()
        },
        retired={
            str(k): RetiredStory(str(v["slug"]), None if v["successor"] is None
                                 else str(v["successor"]))
            for k, v in data["retired"].items()
        },
    )
