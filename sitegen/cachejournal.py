"""The build cache's journal (see buildcache): a build that changed little appends what
it changed, as one entry, after the full save the journal extends.

An entry is a pickle of the parts that changed, headed by its length and a digest of it,
so that a torn last entry (a build killed while appending it) is told from a whole one.
The objects an entry shares with the cache it extends (articles, analyses) are named by
their place in a list the cache keeps of them (pickle's persistent ids), so that loading
gives back one object for each, as a single pickle would. Parts that are large and change
little (the spare site's paths, the story state) are recorded as what they gained and
lost.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import memo
from .model import SpareSite, StoryState
from .state import KeptState

ENTRY_HEAD = struct.Struct("<Q16s")
"""An entry's head: the length of its pickle and a digest of it."""


def append(path: Path, head: bytes | None, entry: bytes) -> int:
    """Add `entry` to the journal at `path`; with `head` (the full save it extends), the
    journal is started anew. Returns the bytes added."""
    with path.open("wb" if head is not None else "ab") as out:
        if head is not None:
            out.write(head + b"\n")
        out.write(ENTRY_HEAD.pack(len(entry), _digest(entry)) + entry)
    return ENTRY_HEAD.size + len(entry)


def dump(entry: dict[str, Any], shared: Sequence[object]) -> bytes:
    out = io.BytesIO()
    _EntryPickler(out, shared).dump(entry)
    return out.getvalue()


def load(entry: memoryview, shared: Sequence[object]) -> Any:
    return _EntryUnpickler(io.BytesIO(entry), shared).load()


def read(path: Path, head: bytes) -> tuple[list[memoryview], bool]:
    """The whole entries of the journal extending the full save `head` names, and whether
    a torn one followed them. A journal of another full save is not read."""
    try:
        data = memoryview(path.read_bytes())
    except OSError:
        return [], False
    if data[:len(head) + 1] != head + b"\n":
        return [], False
    entries, at = [], len(head) + 1
    while at < len(data):
        if at + ENTRY_HEAD.size > len(data):
            return entries, True
        size, digest = ENTRY_HEAD.unpack_from(data, at)
        entry = data[at + ENTRY_HEAD.size:at + ENTRY_HEAD.size + size]
        if len(entry) != size or _digest(entry) != digest:
            return entries, True
        entries.append(entry)
        at += ENTRY_HEAD.size + size
    return entries, False


def spare_changes(before: SpareSite | None, spare: SpareSite | None) -> object:
    """The spare site, its 220,000 paths (at 100,000 articles) as the few it gained and
    lost since the cache was loaded."""
    if before is None or spare is None:
        return spare
    return (spare.live, spare.spare, spare.paths - before.paths, before.paths - spare.paths,
            spare.differs)


def spare_replayed(spare: SpareSite | None, changes: Iterable[object]) -> SpareSite | None:
    """The spare site after the journal's changes to it (see spare_changes): its paths
    patched in one set, not copied for each entry."""
    paths: set[str] | None = None
    for change in changes:
        if isinstance(change, tuple) and spare is not None:
            live, aside, gained, lost, differs = change
            paths = set(spare.paths) if paths is None else paths
            paths -= lost
            paths |= gained
            spare = SpareSite(live, aside, spare.paths, differs)
        elif isinstance(change, (SpareSite, type(None))):
            spare, paths = change, None
        else:
            raise TypeError("not a spare site")
    return spare if spare is None or paths is None else replace(spare, paths=frozenset(paths))


def state_changes(before: KeptState | None, kept: KeptState | None) -> object:
    """The kept story state (see BuildCache.story_state) as the records, retired stories
    and lines it gained, changed and lost since the cache was loaded: a new article
    changes one story's."""
    if before is None or kept is None:
        return kept
    stamp, now, lines = kept
    return (stamp, now.sequence, now.fingerprint,
            memo.dict_changes(before[1].stories, now.stories),
            memo.dict_changes(before[1].retired, now.retired),
            memo.dict_changes(before[2], lines))


def state_replayed(kept: KeptState | None, change: Any) -> KeptState | None:
    """The kept story state after a journal entry's change to it (see state_changes),
    made in place: the state being loaded is this load's own."""
    if change is None or (isinstance(change, tuple) and len(change) == 3):
        return change  # the state given whole
    if kept is None or not isinstance(change, tuple) or len(change) != 6:
        raise TypeError("not a story state change")
    stamp, sequence, fingerprint, *changes = change
    stories, retired, lines = (_patched(whole, *changed) for whole, changed in
                               zip((kept[1].stories, kept[1].retired, kept[2]), changes,
                                   strict=True))
    return (stamp, StoryState(sequence, stories, retired, fingerprint), lines)


def _patched(whole: Mapping[str, Any], changed: dict[str, Any],
             gone: Iterable[str]) -> dict[str, Any]:
    if not isinstance(whole, dict):
        raise TypeError("not a story state")
    for key in gone:
        del whole[key]
    whole.update(changed)
    return whole


class _EntryPickler(pickle.Pickler):
    """Pickles a journal entry, naming the objects the cache already holds by their place
    in `shared` rather than copying them."""

    def __init__(self, out: io.BytesIO, shared: Sequence[object]) -> None:
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self._places = {id(thing): place for place, thing in enumerate(shared)}

    def persistent_id(self, obj: Any) -> int | None:
        return self._places.get(id(obj))


class _EntryUnpickler(pickle.Unpickler):
    def __init__(self, data: io.BytesIO, shared: Sequence[object]) -> None:
        super().__init__(data)
        self._shared = shared

    def persistent_load(self, pid: Any) -> object:
        return self._shared[pid]


def _digest(data: bytes | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _digest(data: bytes | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
