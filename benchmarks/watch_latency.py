"""Arrival latency under `sitegen watch`: with an N-article site being watched, the time
from writing one new seed file to its story page and the front page being updated (the
moment the new front page is seen; that its story page holds the article is checked
after, untimed). Prints every arrival and the median (issue target: at most 1 s for N = 10,000).

    python benchmarks/watch_latency.py [--articles 10000] [--arrivals 20] [--project DIR]

`--project` watches a project already made, such as the 100,000-article one
`build_speed.py --sizes 100000` leaves in its work folder (built already, so the watcher
starts from its build cache, as it would for a user), and leaves the arrivals in it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
from markupsafe import escape
from synthetic import generate


def site_seeds(project: Path, seed: str | None = None) -> dict[str, str]:
    """Seed -> story URL, from stories.json; empty until it names `seed`. Parsed with
    orjson, and only once it names the seed: Python's json took about 2 s for the
    160 MB of 100,000 articles, counted in every arrival's latency."""
    try:
        raw = (project / "site/stories.json").read_bytes()
        if seed is not None and json.dumps(seed).encode() not in raw:
            return {}
        data = orjson.loads(raw)
    except (OSError, ValueError):
        return {}
    return {a["seed"]: s["url"] for s in data["stories"] for a in s["articles"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--arrivals", type=int, default=20)
    parser.add_argument("--project", type=Path,
                        help="watch this project (its seeds, built or not) instead of a new "
                             "one of --articles articles; the arrivals are left in it")
    args = parser.parse_args()
    if args.project:  # the next articles of the generator: new names, later than the others
        args.articles = sum(1 for _ in (args.project / "seeds").glob("*.md"))
    articles = list(generate(args.articles + args.arrivals))
    initial = articles[: args.articles]
    # News arrives as it happens: each arrival is dated after everything in the site, so
    # it belongs on the front page (an old article may rightly leave the front unchanged)
    latest = max(a.day for a in initial)
    arriving = [replace(a, day=latest + timedelta(days=1 + n // 5))
                for n, a in enumerate(articles[args.articles:])]
    with contextlib.nullcontext(args.project) if args.project \
            else tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        if not args.project:
            (project / "seeds").mkdir()
            for article in initial:
                (project / "seeds" / f"{article.name}.md").write_text(article.markdown())
        log = (project / "watch.log").open("w")  # the watcher ignores this folder's other files
        watcher = subprocess.Popen([sys.executable, "-m", "sitegen", "watch"], cwd=project,
                                   stdout=log, stderr=subprocess.STDOUT)
        latencies = []
        try:
            start = time.monotonic()
            while "[build 1]" not in (project / "watch.log").read_text():
                if watcher.poll() is not None or time.monotonic() - start > 3600:
                    raise SystemExit("the first build did not finish")
                time.sleep(0.2)
            print(f"first build: {time.monotonic() - start:.1f}s; "
                  f"{len(site_seeds(project))} articles in the site", flush=True)
            for article in arriving:
                front = project / "site/index.html"
                before = front.stat().st_mtime_ns
                written = time.monotonic()
                (project / "seeds" / f"{article.name}.md").write_text(article.markdown())
                seed = f"{article.name}.md"
                while True:
                    time.sleep(0.02)
                    if time.monotonic() - written > 600:
                        raise SystemExit(f"{seed} did not appear within 600 s")
                    if (changed := front.stat().st_mtime_ns) == before:  # nothing new yet
                        continue
                    # The site as a reader finds it now; checked below, not timed: reading
                    # the export took 3 s of each arrival at 100,000 articles, counted
                    # in its latency, though the page was there before it began
                    seen = time.monotonic()
                    url = site_seeds(project, seed).get(seed)
                    page = project / "site" / str(url) / "index.html"
                    title = str(escape(article.title))  # as the templates write it
                    if url and page.is_file() and title in page.read_text():
                        break
                    before = changed  # the front page changed for something else
                latencies.append(seen - written)
                print(f"  {seed}: {latencies[-1]:.2f}s", flush=True)
        finally:
            watcher.terminate()
            watcher.wait(timeout=60)
            log.close()
            builds = [float(m) for m in re.findall(r"^\[build (?:\d+)\] seeds/.* in ([\d.]+)s$",
                                                  (project / "watch.log").read_text(), re.M)]
    print(f"arrival latency at {len(initial)} articles: median {statistics.median(latencies):.2f}s "
          f"over {len(latencies)} arrivals (min {min(latencies):.2f}s, max {max(latencies):.2f}s;"
          " target at most 1 s)")
    if builds:
        print(f"the watcher's own build times: median {statistics.median(builds):.2f}s over "
              f"{len(builds)} builds (from the quiet period's end to the saved state and cache, "
              "which follow the pages)")


if __name__ == "__main__":
    main()
