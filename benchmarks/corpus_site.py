"""Build a labeled corpus (../shared/data/<name>/dev.jsonl) as a sitegen site, for the
benchmarks: every article becomes a seed file, the site is built with default settings,
and stories.json is read back with each row's story and relations."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


@dataclass
class BuiltCorpus:
    rows: list[dict[str, Any]]
    stories: list[dict[str, Any]]
    story_of_row: list[str]
    """Story id of each row (a duplicate row gets the story of the copy that was read)."""
    article_of_row: list[str | None]
    """Article id of each row (None for a duplicate that was read once, as another row)."""
    seconds: float
    timings: dict[str, float]


def load_rows(corpus: str, data: Path = DATA) -> list[dict[str, Any]]:
    text = (data / corpus / "dev.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def build_corpus(rows: list[dict[str, Any]]) -> BuiltCorpus:
    from sitegen import build_site, load_config

    first_with: dict[str, int] = {}
    twin = []
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        seeds = project / "seeds"
        seeds.mkdir()
        for index, row in enumerate(rows):
            seed = {k: row[k] for k in ("title", "text", "date", "source", "url") if row.get(k)}
            content = json.dumps(seed)
            (seeds / f"{index:05d}.json").write_text(content, encoding="utf-8")
            twin.append(first_with.setdefault(content, index))
        start = time.perf_counter()
        report = build_site(load_config(project_dir=project))
        seconds = time.perf_counter() - start
        stories = json.loads((project / "site" / "stories.json").read_text())["stories"]
    by_row = {int(a["seed"][:5]): (s["id"], a["id"]) for s in stories for a in s["articles"]}
    return BuiltCorpus(
        rows=rows, stories=stories,
        story_of_row=[by_row[twin[i]][0] for i in range(len(rows))],
        article_of_row=[by_row[i][1] if i in by_row else None for i in range(len(rows))],
        seconds=seconds, timings=dict(report.timings))
