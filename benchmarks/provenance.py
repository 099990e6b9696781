"""Rewrite detection on the labeled corpora, through the real pipeline.

- BASIL: three independent outlets per story, so few articles should be labeled `copy` or
  `rewrite`; prints the share that are.
- ECB+: some articles are near-verbatim reprints of one article on several sites. A pair
  in one gold story counts as a reprint when at least 80% of the shorter article's word
  5-grams occur in the longer one (measured here, independently of sitegen's labeler);
  prints the share of reprint pairs that sitegen links as copies (one derived from the
  other, or both copies of one source).

    python benchmarks/provenance.py
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_site import build_corpus, load_rows

REPRINT = 0.8


def grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}


def root(relation: dict[str, dict[str, object]], article: str) -> str:
    """The article at the top of the derived-from chain."""
    seen = set()
    while relation[article]["derived_from"] and article not in seen:
        seen.add(article)
        article = str(relation[article]["derived_from"])
    return article


def basil() -> None:
    built = build_corpus(load_rows("basil"))
    kinds = Counter(r["kind"] for s in built.stories for r in s["relations"])
    derived = kinds["copy"] + kinds["rewrite"]
    total = sum(kinds.values())
    print(f"BASIL: {total} articles; labels {dict(sorted(kinds.items()))}; "
          f"copy or rewrite {derived} = {derived / total:.1%} (target at most 10%); "
          f"build {built.seconds:.1f}s, analyze {built.timings['analyze']:.1f}s")


def ecbplus() -> None:
    rows = load_rows("ecbplus")
    built = build_corpus(rows)
    relation = {r["article"]: r for s in built.stories for r in s["relations"]}
    by_story: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_story.setdefault(row["story"], []).append(index)
    pairs = linked = related = 0
    missed = []
    for members in by_story.values():
        for a, b in combinations(members, 2):
            ga, gb = grams(rows[a]["text"]), grams(rows[b]["text"])
            if not ga or not gb or len(ga & gb) / min(len(ga), len(gb)) < REPRINT:
                continue
            pairs += 1
            ia, ib = built.article_of_row[a], built.article_of_row[b]
            if ia is None or ib is None:  # an exact duplicate, read once: linked by identity
                linked += 1
                continue
            ra, rb = relation[ia], relation[ib]
            if ra["derived_from"] == ib or rb["derived_from"] == ia or (
                    ra["kind"] == rb["kind"] == "copy"
                    and ra["derived_from"] == rb["derived_from"]):
                linked += 1
            elif root(relation, ia) == root(relation, ib):
                related += 1
            else:
                missed.append((rows[a]["id"], ra["kind"], rows[b]["id"], rb["kind"]))
    kinds = Counter(r["kind"] for r in relation.values())
    print(f"ECB+: {pairs} near-verbatim reprint pairs in gold stories; linked as copies "
          f"{linked} = {linked / pairs:.1%}, in one derivation tree otherwise {related}; "
          f"labels {dict(sorted(kinds.items()))}; "
          f"build {built.seconds:.1f}s, analyze {built.timings['analyze']:.1f}s")
    for miss in missed[:10]:
        print("  not linked:", *miss)


if __name__ == "__main__":
    basil()
    ecbplus()
