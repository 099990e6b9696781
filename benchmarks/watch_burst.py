"""`sitegen watch` under a burst: copy 1,000 seed files into a watched sample project at
once, then delete one and rename one; time until stories.json shows each, and count the
builds the watcher ran.

    python benchmarks/watch_burst.py [--count 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_site import REPO, load_rows


def seeds_in_site(project: Path) -> set[str]:
    try:
        data = json.loads((project / "site/stories.json").read_text())
    except (OSError, ValueError):
        return set()
    return {a["seed"] for s in data["stories"] for a in s["articles"]}


def wait_until(condition, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def markdown(row: dict) -> str:
    front = [f"title: {json.dumps(row['title'])}"]
    if row.get("date"):
        front.append(f"date: {row['date']}")
    if row.get("source"):
        front.append(f"source: {json.dumps(row['source'])}")
    return "---\n" + "\n".join(front) + "\n---\n" + row["text"] + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    rows = load_rows("allsides")[: args.count]
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "sample"
        shutil.copytree(REPO / "seeds", project / "seeds")
        log = (Path(folder) / "watch.log").open("w")
        watcher = subprocess.Popen([sys.executable, "-m", "sitegen", "watch"], cwd=project,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            if wait_until(lambda: len(seeds_in_site(project)) == 2, 120) is None:
                raise SystemExit("the first build did not finish")
            expected = seeds_in_site(project)
            start = time.monotonic()
            staging = Path(folder) / "incoming"
            staging.mkdir()
            for index, row in enumerate(rows):
                (staging / f"as-{index:04d}.md").write_text(markdown(row), encoding="utf-8")
            for path in sorted(staging.iterdir()):  # "copy in at once": one move each
                path.rename(project / "seeds" / path.name)
            expected |= {f"as-{i:04d}.md" for i in range(len(rows))}
            burst = wait_until(lambda: seeds_in_site(project) == expected, 600)
            burst_total = time.monotonic() - start
            (project / "seeds/as-0000.md").unlink()
            (project / "seeds/as-0001.md").rename(project / "seeds/renamed.md")
            expected = (expected - {"as-0000.md", "as-0001.md"}) | {"renamed.md"}
            change = wait_until(lambda: seeds_in_site(project) == expected, 120)
            time.sleep(1)
        finally:
            watcher.terminate()
            watcher.wait(timeout=30)
            log.close()
        lines = [x for x in (Path(folder) / "watch.log").read_text().splitlines()
                 if x.startswith("[build")]
    print(f"{len(rows)} seeds moved into seeds/ at once: stories.json listed all "
          f"{len(expected) + 1} articles after "
          + (f"{burst:.1f}s" if burst is not None else f"more than {burst_total:.0f}s (FAILED)"))
    print("delete one and rename one: reflected after "
          + (f"{change:.1f}s" if change is not None else "more than 120s (FAILED)"))
    print(f"builds run: {len(lines)} (the first one included)")
    for line in lines:
        print("  " + line)


if __name__ == "__main__":
    main()
