"""Static search: a Pagefind index with one record per story.

Search finds stories: by their headline, summary, outlets, the titles of their articles,
the names they mention and the quotes they carry. Indexing every page whole cost 13 s and
1.3 GB at 10,000 articles (Pagefind keeps the whole index in memory), far past the build
it belongs to; a lean record per story takes a tenth of that and grows with the stories.

The records are made from the stories.json export (so the index always matches the pages
it comes with) as small HTML documents in a temporary folder, one at each story's path.
Pagefind's program (the `pagefind[bin]` package ships it) indexes that folder in the
background, on another core, while the build renders and writes the pages; its bundle
comes back as Pages, so the write stage keeps the files whose bytes did not change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path
from typing import Any, BinaryIO

from pagefind.service import get_executable

from .errors import OutputError, Problem
from .export import FILE as EXPORT
from .model import Page

BUNDLE = "pagefind"
QUOTES_PER_STORY = 5


class Indexing:
    """A search index being made; `pages` waits for it. Use as a context manager, so
    that a build that fails meanwhile leaves no indexer running and no folder behind."""

    def __init__(self, export: bytes, language: str, where: str) -> None:
        self._where = where
        self._folder = Path(tempfile.mkdtemp(prefix="sitegen-search-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        try:
            stories = json.loads(export)["stories"]
            records = self._folder / "records"
            for story in stories:
                path = records / story["url"] / "index.html"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(story_record(story), encoding="utf-8")
            if not stories:  # nothing to search (Pagefind refuses an empty folder)
                return
            program = get_executable()
            if program is None:
                raise FileNotFoundError("the pagefind program is not installed")
            self._log = (self._folder / "log").open("wb")
            self._process = subprocess.Popen(
                [str(program), "--site", str(records), "--output-path",
                 str(self._folder / "bundle"), "--force-language", language.split("-")[0],
                 "--quiet"],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.close()
            raise OutputError(Problem(where, None, f"search indexing failed: {exc}")) from exc

    def pages(self) -> list[Page]:
        """The Pagefind bundle, as pages under `pagefind/`."""
        if self._process is None:
            return []
        if self._process.wait() != 0:
            log = (self._folder / "log").read_text(encoding="utf-8", errors="replace")
            raise OutputError(Problem(self._where, None,
                                      f"search indexing failed: {log.strip()[-500:]}"))
        bundle = self._folder / "bundle"
        return [Page(f"{BUNDLE}/{path.relative_to(bundle).as_posix()}", path.read_bytes())
                for path in sorted(bundle.rglob("*")) if path.is_file()]

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Indexing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def search_index(site_dir: Path, language: str) -> list[Page]:
    """The Pagefind bundle for the stories of the built site in `site_dir`."""
    export = site_dir / EXPORT
    try:
        content = export.read_bytes()
    except OSError as exc:
        raise OutputError(Problem(str(export), None,
                                  f"cannot index the stories for search: {exc}")) from exc
    with Indexing(content, language, str(export)) as indexing:
        return indexing.pages()


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
