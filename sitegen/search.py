"""Static search: a Pagefind index with one record per story.

Search finds stories: by their headline, summary, outlets, the titles of their articles,
the names they mention and the quotes they carry. Indexing every page whole cost 13 s and
1.3 GB at 10,000 articles (Pagefind keeps the whole index in memory), far past the build
it belongs to; a lean record per story takes a tenth of that and grows with the stories.

The records come from the staged site's stories.json (so the index always matches the
pages beside it) as small HTML documents in a temporary folder, one at each story's
path; Pagefind (the `pagefind[bin]` package ships its binary) indexes that folder, and
its bundle comes back as Pages, so the write stage keeps the files whose bytes did not
change.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from pagefind.index import IndexConfig, PagefindIndex

from .errors import OutputError, Problem
from .model import Page

BUNDLE = "pagefind"
EXPORT = "stories.json"
QUOTES_PER_STORY = 5


def search_index(site_dir: Path, language: str) -> list[Page]:
    """The Pagefind bundle for the stories of the site in `site_dir`, as pages under
    `pagefind/`."""
    try:
        stories = json.loads((site_dir / EXPORT).read_bytes())["stories"]
    except (OSError, ValueError, KeyError) as exc:
        raise OutputError(Problem(str(site_dir / EXPORT), None,
                                  f"cannot index the stories for search: {exc}")) from exc
    with tempfile.TemporaryDirectory(prefix="sitegen-search-") as folder:
        records, output = Path(folder, "records"), Path(folder, "bundle")
        for story in stories:
            path = records / story["url"] / "index.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(story_record(story), encoding="utf-8")
        try:
            asyncio.run(_index(records, output, language))
        except Exception as exc:  # the indexer runs as a separate program
            raise OutputError(Problem(str(site_dir), None,
                                      f"search indexing failed: {exc}")) from exc
        return [Page(f"{BUNDLE}/{path.relative_to(output).as_posix()}", path.read_bytes())
                for path in sorted(output.rglob("*")) if path.is_file()] \
            if output.is_dir() else []


def story_record(story: dict[str, Any]) -> str:
    """What search reads of a story, as the HTML Pagefind indexes (the headline is the
    result's title)."""
    parts = [story["summary"], " · ".join(story["outlets"]),
             *(a["title"] for a in story["articles"]),
             " · ".join(e["name"] for e in story["entities"]),
             *(q["text"] for q in story["quotes"][:QUOTES_PER_STORY])]
    body = "".join(f"<p>{escape(part)}</p>" for part in parts if part)
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"></head><body>"
            f"<main data-pagefind-body><h1>{escape(story['title'])}</h1>{body}</main>"
            f"</body></html>")


async def _index(records: Path, output: Path, language: str) -> None:
    config = IndexConfig(output_path=str(output), force_language=language.split("-")[0])
    async with PagefindIndex(config=config) as index:
        await index.add_directory(path=str(records))
