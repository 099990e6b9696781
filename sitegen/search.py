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

At 100,000 articles the records and the bundle are 50,000 files each. The indexing
process hands the bundle back packed in one file and removes both folders itself, after
the build has what it needs: removing them took the build 13 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from html import escape
from pathlib import Path
from typing import Any, BinaryIO

from pagefind.service import get_executable

from .errors import OutputError, Problem
from .export import FILE as EXPORT
from .model import Page

BUNDLE = "pagefind"
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""Where the indexing process finds sitegen, however this one found it."""
QUOTES_PER_STORY = 5


class Indexing:
    """A search index being made; `pages` waits for it. Use as a context manager, so
    that a build that fails meanwhile leaves no indexer running and no folder behind.

    A Python process of its own writes the records and runs Pagefind (see `_index`):
    the records are thousands of small files, which the build would otherwise wait for
    before writing a page, and a thread would keep the render stage from forking."""

    def __init__(self, export: bytes, language: str, where: str) -> None:
        self._where = where
        self._folder = Path(tempfile.mkdtemp(prefix="sitegen-search-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        try:
            (self._folder / EXPORT).write_bytes(export)
            self._log = (self._folder / "log").open("wb")
            found = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                  os.environ.get("PYTHONPATH")]))
            self._process = subprocess.Popen(
                [sys.executable, "-c", "import sys; from sitegen.search import _index; "
                 "sys.exit(_index(*sys.argv[1:]))", str(self._folder), language,
                 str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": found}, start_new_session=True)
        except OSError as exc:
            self.close()
            raise OutputError(Problem(where, None, f"search indexing failed: {exc}")) from exc

    def pages(self) -> list[Page]:
        """The Pagefind bundle, as pages under `pagefind/`."""
        if self._process is None or self._process.wait() == NOTHING_TO_INDEX:
            return []
        if self._process.returncode != 0:
            log = (self._folder / "log").read_text(encoding="utf-8", errors="replace")
            raise OutputError(Problem(self._where, None,
                                      f"search indexing failed: {log.strip()[-500:]}"))
        with (self._folder / _PACKED).open("rb") as packed:
            return [Page(f"{BUNDLE}/{path}", content) for path, content in pickle.load(packed)]

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # Pagefind too: the whole group
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Indexing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NOTHING_TO_INDEX = 3
"""_index's exit status for an export without stories (Pagefind refuses an empty folder)."""
_PACKED = "bundle.pickle"
"""The bundle as one file: a list of (path in the bundle, bytes), sorted by path."""


def _index(folder: str, language: str, build: str) -> int:
    """In the indexing process, started by the process `build` (a pid): the records of the
    stories in `folder`/stories.json, then Pagefind's index of them packed in
    `folder`/bundle.pickle. Returns the exit status; a process forked at the end removes
    the records and the bundle's files."""
    work = Path(folder) / "work"
    try:
        stories = json.loads((Path(folder) / EXPORT).read_bytes())["stories"]
        records = work / "records"
        for story in stories:
            path = records / story["url"] / "index.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(story_record(story), encoding="utf-8")
        if not stories:
            return NOTHING_TO_INDEX
        program = get_executable()
        if program is None:
            raise FileNotFoundError("the pagefind program is not installed")
        bundle = work / "bundle"
        status = subprocess.run(
            [str(program), "--site", str(records), "--output-path", str(bundle),
             "--force-language", language.split("-")[0], "--quiet"],
            stdin=subprocess.DEVNULL, check=False).returncode
        if status == 0:
            packed = [(path.relative_to(bundle).as_posix(), path.read_bytes())
                      for path in sorted(bundle.rglob("*")) if path.is_file()]
            with (Path(folder) / _PACKED).open("wb") as out:
                pickle.dump(packed, out, protocol=5)
        return status
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(exc)
        return 2
    finally:  # a killed build (this process an orphan now) leaves the whole folder
        _remove_in_background(work if os.getppid() == int(build) else Path(folder),
                              Path(f"{folder}.done"))


def _remove_in_background(folder: Path, trash: Path) -> None:
    """Remove `folder` from a forked process, after moving it to `trash` (out of the way
    of the build, which removes the folder holding the work folder when done). If the
    move fails, the build removes it."""
    try:
        os.rename(folder, trash)
    except OSError:
        return
    sys.stdout.flush()
    if os.fork() == 0:
        try:
            shutil.rmtree(trash, ignore_errors=True)
        finally:
            os._exit(0)


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
