"""Static search: a Pagefind index with one record per story, in shards.

Search finds stories: by their headline, summary, outlets, the titles of their articles,
the names they mention and the quotes they carry. Indexing every page whole cost 13 s and
1.3 GB at 10,000 articles (Pagefind keeps the whole index in memory), far past the build
it belongs to; a lean record per story takes a tenth of that and grows with the stories.

The records are made from the stories.json export (so the index always matches the pages
it comes with) as small HTML documents in a folder of the project's cache, side by side
in one folder per shard, and kept from one build to the next: a build writes only the
records of the stories that changed (see indexer); each carries its story's
address as metadata (STORY_META), which the search page links to. A folder per record,
at the story's own path, made and removed a folder with each file (53,000 of each at
100,000 articles); on a file system that skips recently removed inodes when it makes new
ones (ext4 without a journal), those removals slowed the making of every file after
them.
Pagefind's program (the `pagefind[bin]` package ships it) indexes that folder in the
background, on another core, while the build renders and writes the pages; the shards
it made come back as Pages, the ones the site has already as its files, unchanged.

The index is cut into shards (each story in the one its id hashes to), each a Pagefind
bundle in `pagefind/<count>-<place>/`; `pagefind/shards.json` lists them, with a digest
of what each was made from (its stories as exported, this module, which makes their
records, and Pagefind's version), and the search page merges them (Pagefind's
mergeIndex, which loads the search program once). A build parses and indexes again
only the shards whose digest changed, and takes the others from the site as they are;
of a shard made again, only the files the site lacks are new (Pagefind names its
files by digests of what they hold): at 100,000 articles a new article's shard has
3,400 files, of which a build moved in and removed all, when the shard's folder was
named by its digest. The number of shards grows with the square root of
the stories (see indexer.shard_count): a new article costs a shard's indexing, a search a request
or three per shard, and both stay small. At 10,000 articles (2,400 stories) a new article
indexes 600 stories again rather than all; at 100,000 (53,000), 3,300 (30 s for all).

Records and bundle files are thousands of files. The indexing process lists the new
shards' files for the build, which moves them into the site (Page.source) rather than
writing each again: at 100,000 articles, 54,000 files, whose writing took 35 s of a cold
build's writer (py-spy). What is left of them is removed in the background once the
site is written (see indexer).
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
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError, Problem
from .export import FILE as EXPORT
from .files import process_folder, relative_files
from .indexer import BUNDLE, MANIFEST, NOTHING_TO_INDEX, PACKED, RECORDS, SCRATCH, SHARD_SCALE
from .model import Kept, Page

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""Where the indexing process finds sitegen, however this one found it."""


class Indexing:
    """A search index being made; `pages` waits for it. Use as a context manager, so
    that a build that fails meanwhile leaves no indexer running and no folder behind.

    A Python process of its own writes the records and runs Pagefind (see indexer.run):
    the records are thousands of small files, which the build would otherwise wait for
    before writing a page, and a thread would keep the render stage from forking."""

    def __init__(self, export: bytes, language: str, site: Path, work_dir: Path) -> None:
        """Index the stories of `export`, for the site in `site`: the shards it has
        already (in BUNDLE) are not made again. The work is done in a folder of its own
        in `work_dir` (see _work_folder)."""
        self._site = site
        self._where = str(site / EXPORT)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        try:
            self._folder = _work_folder(work_dir)
        except OSError as exc:
            raise self._failed(exc) from exc
        try:
            (self._folder / EXPORT).write_bytes(export)
            self._log = (self._folder / "log").open("wb")
            found = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                  os.environ.get("PYTHONPATH")]))
            self._process = subprocess.Popen(
                [sys.executable, "-c", "import sys; from sitegen.indexer import run; "
                 "sys.exit(run(*sys.argv[1:]))", str(self._folder), language,
                 str(os.getpid()), str(site), str(SHARD_SCALE), str(work_dir / RECORDS),
                 str(SCRATCH)],
                stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": found}, start_new_session=True)
        except OSError as exc:
            self.close()
            raise self._failed(exc) from exc

    def pages(self) -> list[Page | Kept]:
        """The Pagefind bundle, as pages under `pagefind/`: the files of the shards made
        anew that the site lacks, then the ones it has already (Kept), then the list of
        shards (last, so that a site updated in place never lists a shard it does not
        have yet). A shard keeps its folder from one build to the next, like any Pagefind
        bundle: Pagefind's script asks for the entry file afresh each time, and every
        other file is named by a digest of what it holds."""
        if self._process is None or self._process.wait() == NOTHING_TO_INDEX:
            return []
        if self._process.returncode != 0:
            log = (self._folder / "log").read_text(encoding="utf-8", errors="replace")
            raise self._failed(log.strip()[-500:])
        with (self._folder / PACKED).open("rb") as packed:
            made, same, kept, digests = pickle.load(packed)
        pages: list[Page | Kept] = [Page(f"{BUNDLE}/{path}", None, source=source)
                                    for path, source in made]
        pages.append(Kept([f"{BUNDLE}/{path}" for path in same]))
        pages += [Kept([f"{BUNDLE}/{shard}/{path}"
                        for path in sorted(relative_files(self._site / BUNDLE / shard))])
                  for shard in kept]
        manifest = {"shards": list(digests), "digests": digests}
        pages.append(Page(f"{BUNDLE}/{MANIFEST}",
                          json.dumps(manifest, indent=1).encode() + b"\n"))
        return pages

    def close(self) -> None:
        """Stop the indexing if it still runs, and have its folder removed: by the indexing
        process's remover, which waits for this (see indexer.run), or here when
        there is none."""
        running = self._process is not None and self._process.poll() is None
        if self._process is not None and running:
            with contextlib.suppress(ProcessLookupError):  # Pagefind too: the whole group
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        if self._log is not None:
            self._log.close()
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()
        if self._process is None or running:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _failed(self, why: object) -> OutputError:
        return OutputError(Problem(self._where, None, f"search indexing failed: {why}"))

    def __enter__(self) -> Indexing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _work_folder(parent: Path) -> Path:
    """A new folder in `parent`, named after this process; the folders of processes that
    are gone (a build killed before it could remove its own) are removed first. In the
    project's cache rather than the system's temporary folder, which nothing would clear
    of them, and where they hold a whole index's files (54,000 at 100,000 articles)."""
    return process_folder(parent, os.getpid())


def search_index(site_dir: Path, language: str, work_dir: Path) -> list[Page | Kept]:
    """The Pagefind bundle for the stories of the built site in `site_dir`."""
    export = site_dir / EXPORT
    try:
        content = export.read_bytes()
    except OSError as exc:
        raise OutputError(Problem(str(export), None,
                                  f"cannot index the stories for search: {exc}")) from exc
    with Indexing(content, language, site_dir, work_dir) as indexing:
        # read now: closing the indexing removes the files it made
        return [replace(page, content=Path(page.source).read_bytes(), source=None)
                if type(page) is Page and page.source else page for page in indexing.pages()]
