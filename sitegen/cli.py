"""The `sitegen` command: parse flags, call the library, print the report.

Exit codes: 0 built (warnings included), 1 could not build, 2 bad usage.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import click

from . import __version__
from .build import build_site, disk_cache
from .check import check_site
from .config import Config, load_config
from .errors import Problem, SitegenError
from .explain import Explanation, explain_article
from .model import BuildReport, Progress, no_progress
from .scaffold import init_project
from .serve import ReloadSignal, make_server
from .text import counted
from .watch import BuildOutcome, Watcher, describe

_PATH = click.Path(path_type=Path)
_CONFIG = click.option("--config", "config_file", type=_PATH,
                       help="Config file  [default: ./sitegen.toml when present]")
_POLL = click.option("--poll", is_flag=True,
                     help="Poll for changes (network and container filesystems).")


def project_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options every command that builds takes: where seeds, output and config are,
    and the URL the site is published at (whose path `serve` serves it under)."""
    for option in reversed([
        click.option("--seeds", "seeds_dir", type=_PATH, help="Seed folder  [default: ./seeds]"),
        click.option("--out", "out_dir", type=_PATH, help="Output folder  [default: ./site]"),
        _CONFIG,
        click.option("--base-url", help="Absolute URL the site is published at."),
    ]):
        command = option(command)
    return command


@click.group()
@click.version_option(__version__, prog_name="sitegen")
def cli() -> None:
    """sitegen: turn news articles in seeds/ into a static website of stories."""


@cli.command()
@project_options
@click.option("--recluster", is_flag=True,
              help="Group every article into stories afresh (story ids and URLs carry over "
                   "by shared articles), instead of placing only new articles.")
def build(seeds_dir: Path | None, out_dir: Path | None, config_file: Path | None,
          base_url: str | None, recluster: bool) -> None:
    """Build the site from the seed files."""
    _collect_less_often()
    try:
        config = load_config(config_file, seeds_dir=seeds_dir, out_dir=out_dir, base_url=base_url)
        # Held here to the exit, which frees it with the process (see main)
        cache = disk_cache(config)
        with progress_bars() as progress:
            report = build_site(config, on_wait=_say_waiting, recluster=recluster,
                                cache=cache, progress=progress)
    except SitegenError as exc:
        for problem in exc.problems:
            click.echo(f"Error: {problem}", err=True)
        click.echo("Build failed; the previous site was left as it was.", err=True)
        raise SystemExit(1) from None
    for problem in report.problems:
        click.echo(f"Warning: {problem}", err=True)
    click.echo(format_report(report, config.out_dir))
    if not config.base_url:
        click.echo("Note: no base_url, so no feeds or sitemap.xml (feeds need absolute "
                   "links): set base_url in sitegen.toml or pass --base-url.")


STAGES = {"read": "Reading seeds", "group": "Grouping stories", "analyze": "Analysing stories",
          "write": "Writing pages", "search": "Indexing for search"}


@contextmanager
def progress_bars() -> Iterator[Progress]:
    """Bars on the terminal while a build runs, gone when it ends; nothing at all when
    standard error is not a terminal (a log, CI, a pipe)."""
    if not sys.stderr.isatty():
        yield no_progress
        return
    from rich.console import Console  # only a terminal build needs it
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    tasks: dict[str, int] = {}
    with Bars("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
              TimeElapsedColumn(), console=Console(stderr=True), transient=True,
              auto_refresh=False) as bars:  # no drawing thread: builds fork workers

        def show(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                for task in tasks.values():  # stages run one after the other
                    bars.update(task, total=bars.tasks[task].completed or 1,
                                completed=bars.tasks[task].completed or 1)
                tasks[stage] = bars.add_task(STAGES.get(stage, stage), total=total)
            bars.update(tasks[stage], completed=done, total=total, refresh=True)

        yield show


def _say_waiting(holder: str) -> None:
    click.echo(f"Waiting for another build of this project (process {holder}) to finish…",
               err=True)


@cli.command()
@project_options
@_POLL
def watch(seeds_dir: Path | None, out_dir: Path | None, config_file: Path | None,
          base_url: str | None, poll: bool) -> None:
    """Rebuild the site whenever seeds, templates, static files or config change."""
    _collect_less_often()
    load = _loader(config_file, seeds_dir, out_dir, base_url)
    project = load().project_dir
    stop = threading.Event()
    click.echo("Watching for changes; press Ctrl-C to stop.")
    try:
        Watcher(load, poll=poll, on_build=lambda o: click.echo(describe(o, project))).run(stop)
    except KeyboardInterrupt:
        stop.set()


@cli.command()
@project_options
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@_POLL
def serve(seeds_dir: Path | None, out_dir: Path | None, config_file: Path | None,
          base_url: str | None, port: int, bind: str, poll: bool) -> None:
    """Build, watch and serve the site, reloading open pages after every build."""
    _collect_less_often()
    load = _loader(config_file, seeds_dir, out_dir, base_url)
    config = load()
    base_path = urlsplit(config.base_url).path or "/"
    signal = ReloadSignal()
    try:
        server = make_server(config.out_dir, base_path, signal, bind, port)
    except OSError as exc:
        _fail(SitegenError(Problem(f"{bind}:{port}", None, f"cannot listen: {exc.strerror}")))
    host, real_port = server.server_address[:2]
    click.echo(f"Serving {config.out_dir} at http://{host}:{real_port}{base_path} "
               "(Ctrl-C to stop)")

    def after(outcome: BuildOutcome) -> None:
        click.echo(describe(outcome, config.project_dir))
        if outcome.error is None and not outcome.search:
            signal.bump()  # the new site is in place: open pages may reload

    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    try:
        Watcher(load, poll=poll, on_build=after).run(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        server.shutdown()


def _collect_less_often() -> None:
    """A build allocates millions of objects and keeps most of them to its end: the cyclic
    collector, at its default pace, spent 8 s of a 38 s `sitegen build` after one new
    article at 100,000 articles going through them (2.6 s at this pace); a watcher's
    build of one new article there took 19 to 20 s at the default pace, 12 s at this
    one. What little cyclic garbage a build makes waits a little longer."""
    gc.set_threshold(100_000, 50, 100)


def _loader(config_file: Path | None, seeds_dir: Path | None, out_dir: Path | None,
            base_url: str | None) -> Callable[[], Config]:
    """Loads the config afresh for every build, so edits to sitegen.toml apply; a bad
    config at start-up ends the command with its message."""
    def load() -> Config:
        return load_config(config_file, seeds_dir=seeds_dir, out_dir=out_dir,
                           base_url=base_url)
    try:
        load()
    except SitegenError as exc:
        _fail(exc)
    return load


@cli.command()
@click.argument("seed")
@click.option("--seeds", "seeds_dir", type=_PATH, help="Seed folder  [default: ./seeds]")
@_CONFIG
def explain(seed: str, seeds_dir: Path | None, config_file: Path | None) -> None:
    """Show which story SEED joined and why: the closest stories, scores, shared terms.

    SEED is a seed path relative to the seeds folder (add #N for a record of a .json or
    .jsonl file), a path to the file, or an article id.
    """
    try:
        config = load_config(config_file, seeds_dir=seeds_dir)
        explanation = explain_article(config, seed)
    except SitegenError as exc:
        _fail(exc)
    click.echo(format_explanation(explanation))


def format_explanation(explanation: Explanation) -> str:
    article, story = explanation.article, explanation.story
    lines = [
        f"Article: {article.title}",
        f"  seed {article.seed}, id {article.id}, {article.source or 'unknown outlet'}, "
        f"{article.published or 'undated'}",
        f"Story:   {story.headline}",
        f"  id {story.story.id}, {counted(len(story.articles), 'article')}, "
        f"stories/{story.slug}/",
        f"  shared terms: {', '.join(story.story.terms) or '(none)'}",
        f"Threshold: {explanation.threshold} " + (
            "(it arrived after the stories were formed: average similarity with a "
            "story's articles needed to join it; `sitegen build --recluster` groups "
            "everything afresh)" if explanation.incremental else
            "(average similarity above the articles' background needed to join a story)"),
        "Closest stories:",
    ]
    for rank, candidate in enumerate(explanation.candidates, start=1):
        mark = "joined" if candidate.joined else ("below threshold"
                                                  if candidate.score < explanation.threshold
                                                  else "not joined")
        others = len(candidate.story.articles) - (1 if candidate.joined else 0)
        lines.append(f"  {rank}. {candidate.score:.3f}  {candidate.story.headline} "
                     f"[{candidate.story.story.id}, {others} other article(s)] ({mark})")
        lines.append(f"       shares: {', '.join(candidate.shared_terms) or '(nothing)'}")
    if all(c.joined for c in explanation.candidates):
        lines.append("  (no other story shares enough with it to be a candidate)")
    return "\n".join(lines)


@cli.command()
@click.option("--out", "out_dir", type=_PATH, help="Built site  [default: ./site]")
@_CONFIG
@click.option("--base-url", help="Absolute URL the site is published at.")
def check(out_dir: Path | None, config_file: Path | None, base_url: str | None) -> None:
    """Check a built site: links, anchors, feeds and the sitemap. Exit 1 on any problem."""
    try:
        config = load_config(config_file, out_dir=out_dir, base_url=base_url)
    except SitegenError as exc:
        _fail(exc)
    problems = check_site(config.out_dir, config.base_url)
    for problem in problems:
        click.echo(f"Problem: {problem}", err=True)
    if problems:
        click.echo(f"{len(problems)} problems in {config.out_dir}.", err=True)
        raise SystemExit(1)
    click.echo(f"{config.out_dir}: every link, anchor, feed and sitemap entry checks out.")


@cli.command()
@click.argument("folder", type=_PATH)
def init(folder: Path) -> None:
    """Create a new site project in FOLDER, ready to build and publish on GitHub Pages."""
    try:
        written = init_project(folder, date.today().isoformat())
    except SitegenError as exc:
        _fail(exc)
    for path in written:
        click.echo(f"Wrote {path}")
    click.echo(f"Next: cd {folder} && sitegen build")


def _fail(exc: SitegenError) -> NoReturn:
    for problem in exc.problems:
        click.echo(f"Error: {problem}", err=True)
    raise SystemExit(1)


def format_report(report: BuildReport, out_dir: Path) -> str:
    if report.up_to_date:
        return (f"{out_dir} is up to date: nothing changed since the last build "
                f"({_contents(report)}; checked in {sum(report.timings.values()):.2f}s).")
    lines = [
        f"Built {out_dir}: {_contents(report)}; "
        f"pages {report.write.written} written, {report.write.unchanged} unchanged, "
        f"{report.write.removed} removed; {counted(len(report.problems), 'warning')}."
    ]
    stages = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in report.timings.items())
    lines.append(f"Time: {stages} (total {sum(report.timings.values()):.2f}s)")
    return "\n".join(lines)


def _contents(report: BuildReport) -> str:
    return f"{counted(report.articles, 'article')} in {counted(report.stories, 'story', 'stories')}"


def main() -> NoReturn:
    """The program: the command, then out at once, its output flushed. What a build made
    is not taken apart object by object on the way out (0.39 s after placing one
    article among 100,000; a cold 10,000-article build's median went from 12.25 to
    11.86 s): the system frees a process's memory whole. Every file it wrote is closed
    and every worker it started is gone by then; the tests call `cli`, which returns."""
    try:
        cli()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
    os._exit(code)
