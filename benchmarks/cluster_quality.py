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
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
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
    from corpus_site import build_corpus

    rows = [json.loads(line) for line in corpus_file.read_text(encoding="utf-8").splitlines()]
    built = build_corpus(rows)
    gold = {str(i): row["story"] for i, row in enumerate(rows)}
    predicted = {str(i): story for i, story in enumerate(built.story_of_row)}
    precision, recall, f1 = bcubed(gold, predicted)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"articles": len(rows), "stories": len(built.stories),
            "gold_stories": len(set(gold.values())), "precision": precision, "recall": recall,
            "f1": f1, "seconds": built.seconds, "peak_mb": peak_mb,
            "cluster_seconds": built.timings["cluster"]}


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
