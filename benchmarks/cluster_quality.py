"""Story clustering quality on the labeled dev corpora, through the real pipeline.

For each corpus in ../shared/data/, writes every article as a seed file in a temporary
project, runs `build_site` with the default settings (the same for every corpus), reads
`site/stories.json`, and prints BCubed precision, recall and F1 against the human labels,
with the build's wall time and peak memory.

    python benchmarks/cluster_quality.py [--data ../shared/data] [corpus ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPORA = ("allsides", "ecbplus", "basil")


def bcubed(gold: dict[str, str], predicted: dict[str, str]) -> tuple[float, float, float]:
    """Item-averaged BCubed precision, recall and F1 (singletons count)."""
    gold_members: dict[str, set[str]] = defaultdict(set)
    predicted_members: dict[str, set[str]] = defaultdict(set)
    for item, label in gold.items():
        gold_members[label].add(item)
    for item, label in predicted.items():
        predicted_members[label].add(item)
    precision = recall = 0.0
    for item in gold:
        mine, truth = predicted_members[predicted[item]], gold_members[gold[item]]
        shared = len(mine & truth)
        precision += shared / len(mine)
        recall += shared / len(truth)
    precision, recall = precision / len(gold), recall / len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def measure(corpus_file: Path) -> dict[str, float]:
    """Build one corpus as a site and score its stories (run in a fresh process)."""
    sys.path.insert(0, str(REPO))
    from sitegen import build_site, load_config

    rows = [json.loads(line) for line in corpus_file.read_text(encoding="utf-8").splitlines()]
    gold = {}
    twin: dict[str, str] = {}
    """A seed with the same content as an earlier one is read once (with a warning);
    it is scored with the story of the copy that was read."""
    first_with: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        seeds = project / "seeds"
        seeds.mkdir()
        for index, row in enumerate(rows):
            seed = {k: row[k] for k in ("title", "text", "date", "source", "url") if row.get(k)}
            content = json.dumps(seed)
            (seeds / f"{index:05d}.json").write_text(content, encoding="utf-8")
            label = f"{index:05d}.json#0"
            gold[label] = row["story"]
            twin[label] = first_with.setdefault(content, label)
        start = time.perf_counter()
        report = build_site(load_config(project_dir=project))
        seconds = time.perf_counter() - start
        stories = json.loads((project / "site" / "stories.json").read_text())["stories"]
    read = {a["seed"]: s["id"] for s in stories for a in s["articles"]}
    predicted = {label: read[twin[label]] for label in gold if twin[label] in read}
    missing = set(gold) - set(predicted)
    if missing:
        raise SystemExit(f"{len(missing)} articles missing from stories.json")
    precision, recall, f1 = bcubed(gold, predicted)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"articles": len(rows), "stories": len(stories), "gold_stories": len(set(gold.values())),
            "precision": precision, "recall": recall, "f1": f1, "seconds": seconds,
            "peak_mb": peak_mb, "cluster_seconds": report.timings["cluster"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="*", default=CORPORA)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print(f"{'corpus':10} {'articles':>8} {'stories':>8} {'gold':>6} {'P':>6} {'R':>6} "
          f"{'F1':>6} {'build s':>8} {'cluster s':>9} {'peak MB':>8}")
    for corpus in args.corpora:
        done = subprocess.run([sys.executable, __file__, "--one", str(args.data / corpus /
                                                                      "dev.jsonl")],
                              capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{corpus:10} {r['articles']:8d} {r['stories']:8d} {r['gold_stories']:6d} "
              f"{r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} {r['seconds']:8.1f} "
              f"{r['cluster_seconds']:9.1f} {r['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
