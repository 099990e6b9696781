"""Static search: a Pagefind index of the story and article pages.

Pagefind (the `pagefind[bin]` package ships its binary) reads the staged site and writes
its bundle to a temporary folder; the bundle comes back as Pages, so the write stage
keeps the files whose bytes did not change. Only elements marked `data-pagefind-body`
(story and article pages) are indexed.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from pagefind.index import IndexConfig, PagefindIndex

from .errors import OutputError, Problem
from .model import Page

BUNDLE = "pagefind"


def search_index(site_dir: Path, language: str) -> list[Page]:
    """The Pagefind bundle for the HTML under `site_dir`, as pages under `pagefind/`."""
    with tempfile.TemporaryDirectory(prefix="sitegen-search-") as folder:
        try:
            asyncio.run(_index(site_dir, Path(folder), language))
        except Exception as exc:  # the indexer runs as a separate program
            raise OutputError(Problem(str(site_dir), None,
                                      f"search indexing failed: {exc}")) from exc
        return [Page(f"{BUNDLE}/{path.relative_to(folder).as_posix()}", path.read_bytes())
                for path in sorted(Path(folder).rglob("*")) if path.is_file()]


async def _index(site_dir: Path, output: Path, language: str) -> None:
    config = IndexConfig(output_path=str(output), force_language=language.split("-")[0])
    async with PagefindIndex(config=config) as index:
        await index.add_directory(path=str(site_dir))
