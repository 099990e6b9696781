"""What one build hands the next to save work: the seeds as read, every article's word
counts, the story analyses, and what each page was rendered from (the pages themselves
in memory only: on disk, the site holds them).

`sitegen watch` keeps a BuildCache in memory between builds. `sitegen build` keeps one on
disk between runs (FILE, in .sitegen/cache/), so that adding one article to a large
archive does not read, index and analyze every article again. It is only ever a
shortcut: a build with an empty cache gives the same site, so a cache that cannot be
read (corrupt, or written by other code) is set aside with a warning.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from . import analyze, assign, ingest, memo
from .errors import Problem
from .model import Article, Progress, SpareSite, Story, no_progress

FILE = "build.pickle"
_MAGIC = b"sitegen build cache "
_SAVED = {"seeds": dict, "terms": assign.TermIndex, "analyses": dict,
          "pages": memo.RenderMemo, "spare_site": (SpareSite, type(None))}
_CODE = Path(__file__).resolve().parent


class BuildCache:
    """What one build can hand the next to save work (see the module's docstring)."""

    def __init__(self, remember_pages: bool = True) -> None:
        self.seeds: dict[str, ingest.SeedReading] = {}
        self.terms = assign.TermIndex()
        self.analyses: dict[tuple[object, ...], analyze.StoryAnalysis] = {}
        self.remember_pages = remember_pages
        self.pages = memo.RenderMemo(keep_pages=remember_pages)
        self.site_paths: dict[Path, frozenset[str]] = {}
        """Output folder -> the files the last build left there."""
        self.spare_site: SpareSite | None = None
        """What the last build set aside to stage the next one into (see write_site)."""

    def forget_site(self) -> None:
        """After a failed write: the output may not be what the memo says."""
        self.pages = memo.RenderMemo(keep_pages=self.remember_pages)
        self.site_paths = {}
        self.spare_site = None

    def analyze(self, stories: Sequence[Story], articles: Mapping[str, Article],
                summary_chars: int, headlines: Mapping[str, str],
                progress: Progress = no_progress) -> list[analyze.StoryAnalysis]:
        """Analyze each story, reusing the last build's analysis of a story whose
        identity, articles (by value) and settings are all unchanged."""
        work = [(story, tuple(articles[a] for a in story.article_ids),
                 _pinned(story, headlines)) for story in stories]
        found = [self.analyses.get((story, members, summary_chars, pinned))
                 for story, members, pinned in work]
        missing = [task for task, known in zip(work, found, strict=True) if known is None]
        fresh = iter(analyze.analyze_stories(
            missing, summary_chars,
            lambda done: progress("analyze", len(stories) - len(missing) + done, len(stories))))
        kept: dict[tuple[object, ...], analyze.StoryAnalysis] = {}
        analyses = []
        for (story, members, pinned), known in zip(work, found, strict=True):
            if known is None:
                # As the next build will ask for it: by then a new story has its slug
                made = next(fresh)
                known = replace(made, story=replace(story, slug=made.slug))
            analyses.append(known)
            kept[(known.story, members, summary_chars, pinned)] = known
        self.analyses = kept
        progress("analyze", len(stories), len(stories))
        return analyses

    def save(self, path: Path) -> tuple[Problem, ...]:
        """Keep the reusable work on disk for the next `sitegen build` (atomically: a
        killed build leaves the previous file). A cache that cannot be saved is a
        warning: the site is built all the same."""
        saved = {name: getattr(self, name) for name in _SAVED}
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _no_gc(), temporary.open("wb") as out:
                out.write(_version())
                pickle.dump(saved, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            return (Problem(f".sitegen/cache/{path.name}", None,
                            f"build cache not saved ({exc.strerror or exc}); the next "
                            "build reads every seed again"),)
        return ()


def load(path: Path) -> tuple[BuildCache, tuple[Problem, ...]]:
    """The cache the last `sitegen build` saved at `path`, or an empty one (with a
    warning when there was a file that could not be used)."""
    cache = BuildCache(remember_pages=False)
    try:
        data = path.read_bytes()
    except OSError:
        return cache, ()
    version = _version()
    if not data.startswith(version):
        if not data or data.startswith(_MAGIC):  # made by other code: not an error
            return cache, ()
        return cache, (_corrupt(path),)
    try:
        with _no_gc():
            saved = pickle.loads(memoryview(data)[len(version):])
        if not (isinstance(saved, dict)
                and all(isinstance(saved.get(name), kind) for name, kind in _SAVED.items())):
            raise TypeError("not a build cache")
    except Exception:  # pickle raises anything on damaged data
        return cache, (_corrupt(path),)
    for name in _SAVED:
        setattr(cache, name, saved[name])
    # Millions of objects, most of them kept to the end of the build: out of the cyclic
    # collector's way, which would otherwise look through all of them again and again
    # (11 s of a 46 s build at 100,000 articles). Freed by reference counting as before.
    gc.freeze()
    return cache, ()


def _corrupt(path: Path) -> Problem:
    return Problem(f".sitegen/cache/{path.name}", None,
                   "corrupt cache file; every seed was read again")


def _version() -> bytes:
    """A header naming the code that wrote a cache: sitegen's source files (path, size,
    modification time) and the Python that ran it. Another one's cache is not read."""
    digest = hashlib.sha256(sys.version.encode())
    for folder, _, names in sorted(os.walk(_CODE)):
        for name in sorted(n for n in names if n.endswith(".py")):
            stat = os.stat(os.path.join(folder, name))
            digest.update(f"{folder}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return _MAGIC + digest.hexdigest().encode() + b"\n"


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pickling a graph of millions of small objects: the collector, run every few
    hundred allocations, would find nothing to free and triple the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _pinned(story: Story, headlines: Mapping[str, str]) -> str | None:
    return next((headlines[a] for a in sorted(story.article_ids) if a in headlines), None)
