"""The pipeline, in order: ingest -> cluster -> analyze -> render -> write.

This is the one place that knows the order of the stages; each stage only sees the
plain data the previous one produced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from . import analyze, cluster, ingest, render, write
from .config import Config
from .model import BuildReport, Page, SiteInfo


def build_site(config: Config, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
               ) -> BuildReport:
    """Build the site described by `config` into `config.out_dir`.

    Raises SitegenError when the site cannot be built; the previous site is then untouched.
    Problems with single seeds are warnings in the report, and the rest still builds.
    """
    timings: dict[str, float] = {}
    with _timed(timings, "ingest"):
        articles, problems = ingest.read_articles(config.seeds_dir)
    by_id = {a.id: a for a in articles}
    with _timed(timings, "cluster"):
        stories = cluster.assign_stories(articles, config.cluster)
    with _timed(timings, "analyze"):
        analyses = [analyze.analyze_story(s, by_id, config.summary_max_chars) for s in stories]
        info = SiteInfo(config.title, config.description, config.base_url, config.language)
        site = analyze.assemble_site(info, analyses, by_id)
    env = render.make_environment(config.template_dirs)
    previous_export = _read_if_exists(config.out_dir / "stories.json")
    pages = render.render_site(site, env, generated=now().isoformat(timespec="seconds"),
                               previous_export=previous_export)
    with _timed(timings, "write"):
        report = write.write_site(_timed_iter(pages, timings, "render"),
                                  config.static_dirs, config.out_dir)
    timings["write"] -= timings["render"]  # pages are rendered as the writer asks for them
    return BuildReport(articles=len(articles), stories=len(stories), write=report,
                       problems=tuple(problems), timings=timings)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def _timed_iter(pages: Iterator[Page], timings: dict[str, float], stage: str) -> Iterator[Page]:
    """Time spent producing pages, apart from the time spent writing them."""
    timings.setdefault(stage, 0.0)
    while True:
        start = time.perf_counter()
        try:
            page = next(pages)
        except StopIteration:
            timings[stage] += time.perf_counter() - start
            return
        timings[stage] += time.perf_counter() - start
        yield page


def _read_if_exists(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
