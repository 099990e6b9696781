"""The `sitegen` command: parse flags, call the library, print the report.

Exit codes: 0 built (warnings included), 1 could not build, 2 bad usage.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NoReturn

import click

from . import __version__
from .build import build_site
from .check import check_site
from .config import load_config
from .errors import SitegenError
from .explain import Explanation, explain_article
from .model import BuildReport
from .scaffold import init_project

_PATH = click.Path(path_type=Path)


@click.group()
@click.version_option(__version__, prog_name="sitegen")
def cli() -> None:
    """sitegen: turn news articles in seeds/ into a static website of stories."""


@cli.command()
@click.option("--seeds", "seeds_dir", type=_PATH, help="Seed folder  [default: ./seeds]")
@click.option("--out", "out_dir", type=_PATH, help="Output folder  [default: ./site]")
@click.option("--config", "config_file", type=_PATH,
              help="Config file  [default: ./sitegen.toml when present]")
@click.option("--base-url", help="Absolute URL the site is published at.")
def build(seeds_dir: Path | None, out_dir: Path | None, config_file: Path | None,
          base_url: str | None) -> None:
    """Build the site from the seed files."""
    try:
        config = load_config(config_file, seeds_dir=seeds_dir, out_dir=out_dir, base_url=base_url)
        report = build_site(config)
    except SitegenError as exc:
        for problem in exc.problems:
            click.echo(f"Error: {problem}", err=True)
        click.echo("Build failed; the previous site was left as it was.", err=True)
        raise SystemExit(1) from None
    for problem in report.problems:
        click.echo(f"Warning: {problem}", err=True)
    click.echo(format_report(report, config.out_dir))


@cli.command()
@click.argument("seed")
@click.option("--seeds", "seeds_dir", type=_PATH, help="Seed folder  [default: ./seeds]")
@click.option("--config", "config_file", type=_PATH,
              help="Config file  [default: ./sitegen.toml when present]")
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
        f"  id {story.story.id}, {len(story.articles)} articles, stories/{story.slug}/",
        f"  shared terms: {', '.join(story.story.terms) or '(none)'}",
        f"Threshold: {explanation.threshold} (average similarity above the articles' "
        "background needed to join a story)",
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
@click.option("--config", "config_file", type=_PATH,
              help="Config file  [default: ./sitegen.toml when present]")
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
    lines = [
        f"Built {out_dir}: {report.articles} articles in {report.stories} stories; "
        f"pages {report.write.written} written, {report.write.unchanged} unchanged, "
        f"{report.write.removed} removed; {len(report.problems)} warnings."
    ]
    stages = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in report.timings.items())
    lines.append(f"Time: {stages} (total {sum(report.timings.values()):.2f}s)")
    return "\n".join(lines)


def main() -> None:
    cli()
