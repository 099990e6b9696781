"""`sitegen watch`: rebuild the site when seeds, templates, static files or config change.

Events are collected until the files have been quiet for a moment (a burst of a thousand
new seeds gives a few builds, not a thousand); editor swap and backup files, hidden
files and the output folder are ignored. A failed build is reported and the watcher
keeps going; the site stays the last good one, since a failed build changes nothing.
A build looks again only at the seeds the events named (see seedfiles.relist_seeds);
once things are quiet, the seeds folder is walked to make sure no event was lost (the
kernel drops events when its queue overflows) and built again if one was.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .build import build_site, load_cache, refresh_search
from .buildcache import BuildCache
from .config import Config
from .errors import Problem, SitegenError
from .model import BuildReport
from .seedfiles import is_editor_leftover, list_seeds
from .text import counted

QUIET_SECONDS = 0.2
"""How long the files must stay unchanged before a build starts: long enough for an
editor's save (a few file operations within milliseconds) to count once."""
SEARCH_IDLE_SECONDS = 2.0
"""Builds leave the search index behind (it takes longest: ~25 s at 10,000 articles);
it is brought up to date once nothing has changed for this long, and the seeds listed
by events are checked against a walk of the folder."""
PROJECT_FILES = ("sitegen.toml", "stories.toml")


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    number: int
    triggers: tuple[str, ...]
    """Paths whose changes started this build (empty for the first build)."""
    report: BuildReport | None
    error: str | None
    seconds: float
    search: bool = False
    """This was the search index catching up, not a build."""


class Watcher:
    """Watches a project and rebuilds it; `run` blocks until `stop` is set."""

    def __init__(self, load: Callable[[], Config], *, poll: bool = False,
                 quiet: float = QUIET_SECONDS,
                 on_build: Callable[[BuildOutcome], None] = lambda outcome: None) -> None:
        self._load = load
        self._poll = poll
        self._quiet = quiet
        self._on_build = on_build
        self._changed: set[str] = set()
        self._last_event = 0.0
        self._wake = threading.Condition()
        self._cache = BuildCache()
        """Replaced by the one on disk at the first build (see _build)."""
        self._cached_for: Config | None = None
        self._search_behind = False
        self._seeds_unchecked = False
        """A build listed the seeds from events since the folder was last walked."""
        self._search_thread: threading.Thread | None = None
        self.builds = 0

    def run(self, stop: threading.Event) -> None:
        config = self._load()
        observer = PollingObserver(timeout=0.5) if self._poll else Observer()
        handler = _Collector(self._accept_for(config), self._note)
        scheduled: set[Path] = set()
        observer.start()
        try:
            self._watch_new_folders(observer, handler, config, scheduled)
            self._build(())
            while not stop.is_set():
                triggers = self._wait_for_quiet(stop)
                if triggers:
                    # templates/ or static/ may have just been created: watch them too
                    self._watch_new_folders(observer, handler, config, scheduled)
                    self._build(triggers)
                    continue
                if self._seeds_unchecked and not stop.is_set():
                    self._check_seeds()
                if self._search_due() and not stop.is_set():
                    # in the background: a seed arriving meanwhile is built at once
                    self._search_thread = threading.Thread(target=self._refresh_search,
                                                           daemon=True)
                    self._search_thread.start()
        finally:
            observer.stop()
            observer.join()
            if self._search_thread is not None:
                self._search_thread.join(timeout=120)

    def _check_seeds(self) -> None:
        """Walk the seeds folder, and build again from that walk if a build's listing
        from events differs from it."""
        kept = self._cache.seed_listing
        if kept is not None:
            folder, listing = kept
            walked = list_seeds(folder)
            if (walked.files, walked.problems) != (listing.files, listing.problems):
                self._cache.seed_listing = None  # the build walks the folder again
                self._build((str(folder),))
        self._seeds_unchecked = False

    def _search_due(self) -> bool:
        running = self._search_thread is not None and self._search_thread.is_alive()
        return self._search_behind and not running

    @staticmethod
    def _watch_new_folders(observer: Any, handler: FileSystemEventHandler, config: Config,
                           scheduled: set[Path]) -> None:
        for folder, recursive in watched_folders(config):
            if folder not in scheduled:
                observer.schedule(handler, str(folder), recursive=recursive)
                scheduled.add(folder)

    def _note(self, path: str) -> None:
        with self._wake:
            self._changed.add(path)
            self._last_event = time.monotonic()
            self._wake.notify_all()

    def _wait_for_quiet(self, stop: threading.Event) -> tuple[str, ...]:
        """The paths changed, once they have been quiet a moment; () when stopped, or when
        nothing changed for SEARCH_IDLE_SECONDS while the search index is behind or the
        seeds are unchecked."""
        idle_until = time.monotonic() + SEARCH_IDLE_SECONDS
        with self._wake:
            while not self._changed and not stop.is_set():
                if (self._search_due() or self._seeds_unchecked) \
                        and time.monotonic() >= idle_until:
                    return ()
                self._wake.wait(timeout=0.2)
            while not stop.is_set():
                remaining = self._last_event + self._quiet - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(timeout=remaining)
            triggers = tuple(sorted(self._changed))
            self._changed.clear()
            return triggers

    def _build(self, triggers: tuple[str, ...]) -> None:
        self.builds += 1
        start = time.perf_counter()
        report, error = None, None
        try:
            config = self._load()
            cache_problems: tuple[Problem, ...] = ()
            if config != self._cached_for:
                # From what the last build left on disk, saved again after each build: a
                # fresh cache would redo the whole site at the first new article (112 s
                # instead of 17 s at 100,000 articles), and a `sitegen build` after the
                # watcher's builds would render every page again
                self._cache, cache_problems = load_cache(config)
                self._cached_for = config
            report = build_site(config, cache=self._cache, search_later=True,
                                changed=triggers)
            self._seeds_unchecked = bool(triggers)
            report = replace(report, problems=cache_problems + report.problems)
            self._search_behind = config.search
            # What the cache holds lives as long as the watcher: keep the cyclic garbage
            # collector from walking it again and again (a pass over a 10,000-article
            # cache costs a tenth of a second, several times a build). The build paused
            # the collector: its cyclic garbage goes first, or it would be kept for good.
            gc.collect()
            gc.freeze()
        except SitegenError as exc:
            error = str(exc)
        except Exception as exc:  # keep watching whatever went wrong; say what it was
            error = f"unexpected {type(exc).__name__}: {exc}"
        self._on_build(BuildOutcome(self.builds, triggers, report, error,
                                    time.perf_counter() - start))

    def _refresh_search(self) -> None:
        start = time.perf_counter()
        self._search_behind = False
        error = None
        try:
            refresh_search(self._load())
        except (SitegenError, TimeoutError) as exc:
            error = str(exc)
        except Exception as exc:  # keep watching whatever went wrong; say what it was
            error = f"unexpected {type(exc).__name__}: {exc}"
        self._on_build(BuildOutcome(self.builds, (), None, error,
                                    time.perf_counter() - start, search=True))

    @staticmethod
    def _accept_for(config: Config) -> Callable[[str], bool]:
        out_dir = config.out_dir.resolve()
        project = config.project_dir.resolve()
        roots = [p.resolve() for p in (config.seeds_dir, project / "templates",
                                       project / "static")]

        def accept(raw: str) -> bool:
            path = Path(raw).resolve()
            if path == out_dir or out_dir in path.parents:
                return False
            if path.parent == project and path not in roots:
                return path.name in PROJECT_FILES
            for root in roots:
                if path == root or root in path.parents:
                    parts = path.relative_to(root).parts
                    return not (any(p.startswith(".") or p == "__pycache__" for p in parts)
                                or is_editor_leftover(path.name))
            return False

        return accept


def watched_folders(config: Config) -> list[tuple[Path, bool]]:
    """(folder, recursive): the seeds, the project's templates and static files, and the
    project folder itself (not recursive) for its config files."""
    folders = [(config.project_dir, False)]
    for folder in (config.seeds_dir, config.project_dir / "templates",
                   config.project_dir / "static"):
        if folder.is_dir():
            folders.append((folder, True))
    return folders


class _Collector(FileSystemEventHandler):
    def __init__(self, accept: Callable[[str], bool], note: Callable[[str], None]) -> None:
        self._accept = accept
        self._note = note

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write") or (
                event.is_directory and event.event_type == "modified"):
            return  # a folder's "modified" only echoes the events of the files inside it
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = raw.decode() if isinstance(raw, bytes) else raw
            if path and self._accept(path):
                self._note(path)


def describe(outcome: BuildOutcome, project: Path) -> str:
    """One log line for a build: what triggered it, and what it did or why it failed."""
    if outcome.search:
        return (f"[search] index brought up to date in {outcome.seconds:.2f}s"
                if outcome.error is None else f"[search] FAILED: {outcome.error}")
    shown = [_relative(p, project) for p in outcome.triggers[:3]]
    more = len(outcome.triggers) - len(shown)
    cause = (", ".join(shown) + (f" and {more} more" if more > 0 else "")) \
        if outcome.triggers else "start"
    if outcome.error is not None:
        return (f"[build {outcome.number}] {cause}: FAILED, the site stays as it was\n"
                f"{outcome.error}")
    report = outcome.report
    assert report is not None
    warnings = f", {counted(len(report.problems), 'warning')}" if report.problems else ""
    return (f"[build {outcome.number}] {cause}: {counted(report.articles, 'article')}, "
            f"{counted(report.stories, 'story', 'stories')}, "
            f"{counted(report.write.written, 'file')} written{warnings} "
            f"in {outcome.seconds:.2f}s")


def _relative(raw: str, project: Path) -> str:
    path = Path(raw)
    try:
        return path.resolve().relative_to(project.resolve()).as_posix()
    except ValueError:
        return str(path)
