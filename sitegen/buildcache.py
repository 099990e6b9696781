"""What one build hands the next to save work: the seeds as read, every article's word
counts, the story analyses (and the gazetteer they looked names up in), and what each
page was rendered from (not the pages: the site holds them).

`sitegen build` keeps one on disk between runs (FILE, in .sitegen/cache/), so that adding
one article to a large archive does not read, index and analyze every article again.
`sitegen watch` starts from that one and keeps it in memory between builds, saving what
each build changed, so that its first build after a start is as quick as the others and
a `sitegen build` after it finds the cache up to date. It is only ever a shortcut: a
build with an empty cache gives the same site, so a cache that cannot be read (corrupt,
or written by other code) is set aside with a warning.

On disk, a build that changed little appends what it changed to a journal beside FILE
instead of writing the whole cache again (5 s at 100,000 articles): seed readings,
analyses and page memo entries by value, the term index as the articles it added and
removed (see cachejournal). Once the journal holds a good share of the cache's size, the
next build saves the whole cache anew.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
import pickle
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import analyze, assign, cachejournal, entities, files, ingest, memo, seedfiles
from .errors import Problem
from .model import Article, Progress, SpareSite, Story, no_progress
from .state import KeptState

FILE = "build.pickle"
JOURNAL = "build.journal"
JOURNAL_SHARE = 0.25
JOURNAL_ENTRIES = 100
"""A journal this large against the whole cache, or this long, is folded into a full
save: each entry is replayed by every load."""
_MAGIC = b"sitegen build cache "
_SAVED = {"seeds": dict, "terms": assign.TermIndex, "analyses": dict,
          "pages": memo.RenderMemo, "spare_site": (SpareSite, type(None)),
          "story_state": (tuple, type(None)), "places": (tuple, type(None))}
"""The parts of a BuildCache a full save holds, besides its name ("base") and the list
of objects journal entries name ("shared")."""
_CODE = Path(__file__).resolve().parent
Analyzed = tuple[analyze.StoryAnalysis, tuple[Article, ...], int, str | None]
"""A story's analysis, with what it was made from besides the story: its articles, the
summary length and the pinned headline."""


@dataclass
class _Loaded:
    """The cache as loaded from disk, to save only what a build changed (see the module's
    docstring)."""

    base: str
    """Names the full save the journal extends."""
    shared: list[object]
    """Articles and analyses, in the order entries name them by."""
    size: int
    """Bytes of the full save."""
    journal: int
    """Bytes of the journal extending it (0: none)."""
    entries: int
    seeds: dict[str, ingest.SeedReading]
    terms: assign.TermIndex
    analyses: dict[str, Analyzed]
    pages: memo.RenderMemo
    memo: memo.MemoSnapshot
    spare_site: SpareSite | None
    story_state: KeptState | None
    places: tuple[str, frozenset[str]] | None
    files: tuple[object, ...]
    """FILE and JOURNAL as this cache last read or wrote them (see _stamp): a process that
    holds a cache across builds (`sitegen watch`) appends to the journal only while no
    other process has changed either since."""
    torn: bool = False
    """The journal ended in a torn entry: the next save is a full one, which drops it."""


class BuildCache:
    """What one build can hand the next to save work (see the module's docstring)."""

    def __init__(self, unread: Path | None = None) -> None:
        self.seeds: dict[str, ingest.SeedReading] = {}
        self.terms = assign.TermIndex()
        self.analyses: dict[str, Analyzed] = {}
        self.pages = memo.RenderMemo()
        self.site_paths: dict[Path, frozenset[str]] = {}
        """Output folder -> the files the last build left there."""
        self.spare_site: SpareSite | None = None
        """What the last build set aside to stage the next one into (see write_site)."""
        self.story_state: KeptState | None = None
        """The state file as the last build read or wrote it (files.stamp), what it says
        and each story's line of it (state.Lines): not read again while it is that very
        file, and written again only where a story changed. Reading it took 0.7-1.2 s of
        a build placing one article among 100,000 (53,000 stories); unpickled with the
        cache, its records take a fraction of that."""
        self.places: tuple[str, frozenset[str]] | None = None
        """The gazetteer the analyses look names up in (entities.known_places), with what
        it was read from (entities.PLACES_SOURCE): reading it took 0.26 s of every build
        that analysed a story, a sixth of one placing an article among 10,000."""
        self.seed_listing: tuple[Path, seedfiles.SeedListing] | None = None
        """The seeds folder and its listing as the last build made it, when its caller
        tells each build what changed (`sitegen watch`; see build_site): in memory only,
        as a build without such news must walk the folder anyway."""
        self.kept_at: Path | None = None
        """Where the cache is kept on disk (FILE), when it is (see read and save)."""
        self.unread = unread
        """Where the cache kept on disk is, while it is still to be read (see read)."""
        self._loaded: _Loaded | None = None

    def forget_site(self) -> None:
        """After a failed write: the output may not be what the memo says."""
        self.pages = memo.RenderMemo()
        self.site_paths = {}
        self.spare_site = None

    def analyze(self, stories: Sequence[Story], articles: Mapping[str, Article],
                summary_chars: int, headlines: Mapping[str, str],
                progress: Progress = no_progress) -> list[analyze.StoryAnalysis]:
        """Analyze each story, reusing the last build's analysis of a story whose
        identity, articles (by value) and settings are all unchanged.

        Looked up by story id and compared, rather than keyed by all it depends on: the
        hash of such a key called Article.__hash__ for every article, twice (0.4 s of a
        build at 100,000 articles)."""
        work = [(story, tuple(map(articles.__getitem__, story.article_ids)),
                 _pinned(story, headlines)) for story in stories]
        found = [_reusable(self.analyses.get(story.id), story, members, summary_chars, pinned)
                 for story, members, pinned in work]
        missing = [task for task, known in zip(work, found, strict=True) if known is None]
        fresh = iter(analyze.analyze_stories(
            missing, summary_chars,
            lambda done: progress("analyze", len(stories) - len(missing) + done, len(stories)),
            self._gazetteer() if missing else None))
        kept: dict[str, Analyzed] = {}
        analyses = []
        for (story, members, pinned), known in zip(work, found, strict=True):
            if known is None:
                # As the next build will ask for it: by then a new story has its slug
                made = next(fresh)
                known = (replace(made, story=replace(story, slug=made.slug)), members,
                         summary_chars, pinned)
            analyses.append(known[0])
            kept[story.id] = known
        self.analyses = kept
        progress("analyze", len(stories), len(stories))
        return analyses

    def _gazetteer(self) -> frozenset[str]:
        """The names kept (see `places`), read again when read from another version."""
        if self.places is None or self.places[0] != entities.PLACES_SOURCE:
            self.places = (entities.PLACES_SOURCE, entities.known_places())
        return self.places[1]

    def save(self) -> tuple[Problem, ...]:
        """Keep the reusable work on disk (at `kept_at`) for the next build: what changed
        since the load or the last save, appended to the journal, or the whole cache
        (atomically: a killed build leaves the previous file). A cache that cannot be
        saved is a warning: the site is built all the same."""
        path = self.kept_at
        if path is None:
            return ()
        loaded, self._loaded = self._loaded, None
        journal = path.with_name(JOURNAL)
        try:
            changes = self._changes(loaded) \
                if loaded is not None and loaded.files == _stamp(path) else None
            if changes is not None and loaded is not None and loaded.entries < JOURNAL_ENTRIES \
                    and loaded.journal + len(changes[0]) <= JOURNAL_SHARE * loaded.size:
                entry, shared = changes
                # a journal of another full save, left by a killed build, is replaced
                added = cachejournal.append(
                    journal, None if loaded.journal else _version() + loaded.base.encode(),
                    entry)
                self._loaded = self._snapshot(
                    loaded.base, loaded.shared + shared, loaded.size,
                    loaded.journal + added, loaded.entries + 1)
                return ()
            self._save_whole(path)
        except OSError as exc:
            return (Problem(f".sitegen/cache/{path.name}", None,
                            f"build cache not saved ({exc.strerror or exc}); the next "
                            "build reads every seed again"),)
        # The journal extends the cache just replaced: no load reads it any more (its head
        # names that one), so failing to remove it costs only its space
        with contextlib.suppress(OSError):
            journal.unlink(missing_ok=True)
        if self._loaded is not None:  # the journal is gone since the snapshot was taken
            self._loaded = replace(self._loaded, files=_stamp(path))
        return ()

    def _save_whole(self, path: Path) -> None:
        saved: dict[str, Any] = {name: getattr(self, name) for name in _SAVED}
        saved["base"] = secrets.token_hex(16)
        saved["shared"] = _shared(self.seeds.values(), self.analyses.values())
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with collector_paused(), temporary.open("wb") as out:
                out.write(_version())
                pickle.dump(saved, out, protocol=pickle.HIGHEST_PROTOCOL)
                size = out.tell()
            os.replace(temporary, path)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        self.terms.record_changes()
        self._loaded = self._snapshot(saved["base"], saved["shared"], size, 0, 0)

    def _snapshot(self, base: str, shared: list[object], size: int, journal: int,
                  entries: int, torn: bool = False) -> _Loaded:
        """The cache as it is now on disk (see _Loaded), for the next save to compare with."""
        assert self.kept_at is not None
        return _Loaded(base, shared, size, journal, entries, dict(self.seeds), self.terms,
                       dict(self.analyses), self.pages, self.pages.snapshot(),
                       self.spare_site, self.story_state, self.places, _stamp(self.kept_at),
                       torn)

    def _changes(self, loaded: _Loaded) -> tuple[bytes, list[object]] | None:
        """A journal entry taking the cache as loaded to this one, and the objects it adds
        to the ones entries name; None when a full save is due (the term index or page
        memo was made anew, the gazetteer read again, or the journal was torn)."""
        terms = self.terms.take_changes()
        if loaded.torn or terms is None or self.terms is not loaded.terms \
                or self.pages is not loaded.pages or self.places is not loaded.places:
            return None
        seeds, seeds_gone = memo.dict_changes(loaded.seeds, self.seeds)
        analyses, analyses_gone = memo.dict_changes(loaded.analyses, self.analyses)
        shared = _shared(seeds.values(), analyses.values())
        entry = {"shared": shared,
                 "seeds": (seeds, seeds_gone), "analyses": (analyses, analyses_gone),
                 "terms": terms, "pages": self.pages.changes(loaded.memo),
                 "spare_site": cachejournal.spare_changes(loaded.spare_site, self.spare_site),
                 "story_state": cachejournal.state_changes(loaded.story_state,
                                                           self.story_state)}
        with collector_paused():
            return cachejournal.dump(entry, loaded.shared), shared

    def _replay(self, entry: dict[str, Any]) -> None:
        for name in ("seeds", "analyses"):
            changed, gone = entry[name]
            kept = getattr(self, name)
            for key in gone:
                del kept[key]
            kept.update(changed)
        self.terms.replay(entry["terms"])
        self.pages.replay(entry["pages"])
        self.story_state = cachejournal.state_replayed(self.story_state, entry["story_state"])

    def read(self) -> tuple[Problem, ...]:
        """Become the cache the last build saved at `unread` (and in the journal beside
        it), or an empty one (with a warning when there was a file that could not be
        used); either way kept there by `save`. Read into this very object: a caller
        that holds it (`sitegen build`, to its exit) holds all it reads, which is then
        not taken apart object by object when the build returns (0.4 s at 100,000
        articles; the process's exit frees it whole)."""
        path = self.unread
        if path is None:
            return ()
        self.unread, self.kept_at = None, path
        stamp = _stamp(path)
        try:
            data = path.read_bytes()
        except OSError:
            return ()
        version = _version()
        if not data.startswith(version):
            if not data or data.startswith(_MAGIC):  # made by other code: not an error
                return ()
            return (_corrupt(path),)
        try:
            with collector_paused():
                self._unpickle(data, version, stamp)
        except Exception:  # pickle raises anything on damaged data
            self.__init__()  # type: ignore[misc]  # empty again, but for where it is kept
            self.kept_at = path
            return (_corrupt(path),)
        return ()

    def _unpickle(self, data: bytes, version: bytes, stamp: tuple[object, ...]) -> None:
        assert self.kept_at is not None
        saved = pickle.loads(memoryview(data)[len(version):])
        if not (isinstance(saved, dict)
                and isinstance(saved.get("base"), str)
                and isinstance(saved.get("shared"), list)
                and all(isinstance(saved.get(name), kind) for name, kind in _SAVED.items())):
            raise TypeError("not a build cache")
        for name in _SAVED:
            setattr(self, name, saved[name])
        shared: list[object] = saved["shared"]
        journal, torn = cachejournal.read(self.kept_at.with_name(JOURNAL),
                                          version + saved["base"].encode())
        spare_changes = []
        for entry in journal:
            changes = cachejournal.load(entry, shared)
            self._replay(changes)
            shared.extend(changes["shared"])
            spare_changes.append(changes["spare_site"])
        self.spare_site = cachejournal.spare_replayed(self.spare_site, spare_changes)
        self.terms.record_changes()
        journal_size = sum(cachejournal.ENTRY_HEAD.size + len(e) for e in journal)
        self._loaded = self._snapshot(saved["base"], shared, len(data), journal_size,
                                      len(journal), torn)
        if self._loaded.files != stamp:  # saved again while read: not to be extended
            self._loaded = replace(self._loaded, torn=True)
        # Millions of objects, most of them kept to the end of the build: out of the
        # cyclic collector's way, which would otherwise look through all of them again
        # and again (11 s of a 46 s build at 100,000 articles), and first of all as
        # soon as it is enabled again (0.7 s). Freed by reference counting as before.
        gc.freeze()


def load(path: Path) -> tuple[BuildCache, tuple[Problem, ...]]:
    """The cache the last build saved at `path` (see BuildCache.read)."""
    cache = BuildCache(unread=path)
    return cache, cache.read()


def _stamp(path: Path) -> tuple[object, ...]:
    """Which FILE and JOURNAL are at `path` (files.stamp of each)."""
    return (files.stamp(path), files.stamp(path.with_name(JOURNAL)))


def _shared(readings: Iterable[ingest.SeedReading],
            analyses: Iterable[Analyzed]) -> list[object]:
    """The objects journal entries may name (see cachejournal)."""
    return [*(article for reading in readings for article, _ in reading.articles),
            *(entry[0] for entry in analyses)]


def _corrupt(path: Path) -> Problem:
    return Problem(f".sitegen/cache/{path.name}", None,
                   "corrupt cache file; every seed was read again")


@functools.cache
def _version() -> bytes:
    """A header naming the code that wrote a cache: sitegen's source files (path, size,
    modification time) and the Python that ran it. Another one's cache is not read.
    Worked out once per process, when its first build starts: code replaced while it
    runs (an upgrade during a watcher's session) must not pass for the code that made
    its cache."""
    digest = hashlib.sha256(sys.version.encode())
    for folder, _, names in sorted(os.walk(_CODE)):
        for name in sorted(n for n in names if n.endswith(".py")):
            stat = os.stat(os.path.join(folder, name))
            digest.update(f"{folder}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return _MAGIC + digest.hexdigest().encode() + b"\n"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off meanwhile (as it was again after). For
    work that makes millions of objects and keeps them: the collector would go through
    them again and again, and find nothing to free. Pickling the cache tripled in time;
    a build spent 1 s or more of 15 s (placing one article among 100,000) on it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _reusable(entry: Analyzed | None, story: Story, members: tuple[Article, ...],
              summary_chars: int, pinned: str | None) -> Analyzed | None:
    """The kept analysis of `story` if it was made from these very inputs."""
    if entry is None or entry[1] != members or entry[2] != summary_chars \
            or entry[3] != pinned or entry[0].story != story:
        return None
    return entry


def _pinned(story: Story, headlines: Mapping[str, str]) -> str | None:
    return next((headlines[a] for a in sorted(story.article_ids) if a in headlines), None)
