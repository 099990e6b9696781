"""The search indexing process, started by search.Indexing beside a build: it cuts the
stories of a stories.json export into shards, keeps one small HTML record per story in
the project's cache (writing only the changed ones), runs Pagefind's program over each
shard the site does not have already and tells the build which of the files it made
are new to the site. A process of its own, which imports this module alone: the
records are thousands of small files, which the build would otherwise wait for, and a
thread would keep the render stage from forking. See search for the whole design.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import orjson

from .export import FILE as EXPORT
from .export import scan_stories
from .files import atomic_write, exclusive, process_folder

BUNDLE = "pagefind"
MANIFEST = "shards.json"
"""In BUNDLE: {"shards": [the folder of each shard], "digests": {folder: the digest of
what it was made from (_Shard.digest)}}."""
SHARD_SCALE = 12.0
"""See shard_count."""
_ENTRY = "pagefind-entry.json"
QUOTES_PER_STORY = 5
STORY_META = "story"
"""The metadata of a search result that holds its story's address, relative to the site
(a record's own address is only its file's name: see run)."""
RECORDS = "records"
"""In the indexing folder: the records, kept from one build to the next."""
RECORDS_WAIT = 600.0
"""Seconds an indexer waits for another to be done with the records."""
NOTHING_TO_INDEX = 3
"""run's exit status for an export without stories (Pagefind refuses an empty folder)."""
PACKED = "bundle.pickle"
"""What the indexing process hands back: (the files of the shards it made that the site
lacks, as (path in the bundle, where the file is); the ones the site has already, the
very bytes at that path; the shards the site has already; every shard, in order, with
its digest)."""
SCRATCH = Path("/dev/shm")
"""Where a shard the site has already is indexed again: a folder in memory (tmpfs)."""
SCRATCH_ROOM = 256 << 20
"""The free room `SCRATCH` must have to be used (a shard of 3,300 stories takes 15 MB)."""


def run(folder: str, language: str, build: str, site: str, shard_scale: str,
           records: str = "", scratch: str = "") -> int:
    """In the indexing process, started by the process `build` (a pid): Pagefind's index
    of each shard (shard_count, by `shard_scale`) of the stories in `folder`/stories.json
    that the `site` folder does not have already, in `folder`/bundle, listed in
    `folder`/bundle.pickle, from the records kept in `records` (see _update_records; by
    default made in `folder`, for this index alone). A shard the site has already is
    indexed again into a folder of `scratch` (see _scratch_folder). Returns the exit
    status; a process forked at the end removes `folder` and that one."""
    work = Path(folder) / "work"
    export = Path(folder) / EXPORT
    kept_records = Path(records) if records else work / RECORDS
    memory: Path | None = None
    try:
        shards = _shards(export, float(shard_scale), language)
        if not shards:
            return NOTHING_TO_INDEX
        from pagefind.service import get_executable  # asyncio and all: not for the build

        program = get_executable()
        if program is None:
            raise FileNotFoundError("the pagefind program is not installed")
        live = Path(site) / BUNDLE
        made_from = _made_from(live)
        kept = [shard.name for shard in shards if made_from.get(shard.name) == shard.digest
                and (live / shard.name / _ENTRY).is_file()]
        to_make = [shard for shard in shards if shard.name not in kept]
        made: list[tuple[str, str]] = []
        same: list[str] = []
        # one indexer at a time may change the records: a build's, and the one `sitegen
        # watch` runs when news pauses (without the build lock)
        with exclusive(kept_records / ".lock", RECORDS_WAIT):
            _update_records(kept_records, to_make, export, shards[0].count)
            _one_core()
            again = {shard.name for shard in to_make if (live / shard.name).is_dir()}
            memory = _scratch_folder(Path(scratch), int(build)) \
                if again and scratch else None
            for shard in to_make:
                on_disk = Path(folder) / "bundle" / shard.name
                bundle = memory / shard.name if memory and shard.name in again else on_disk
                status = _pagefind(program, kept_records / shard.name, bundle, language)
                if status != 0 and bundle != on_disk:  # out of room, say: on disk, then
                    shutil.rmtree(bundle, ignore_errors=True)
                    bundle = on_disk
                    status = _pagefind(program, kept_records / shard.name, bundle, language)
                if status != 0:
                    return status
                # the entry last: a site updated in place has the whole shard once it has that
                files = sorted((path for path in bundle.rglob("*") if path.is_file()),
                               key=lambda path: (path.name == _ENTRY, path))
                for path in files:
                    name = f"{shard.name}/{path.relative_to(bundle).as_posix()}"
                    if _same_file(path, live / name):
                        same.append(name)
                    else:
                        made.append((name, str(path)))
        with (Path(folder) / PACKED).open("wb") as out:
            pickle.dump((made, same, kept, {shard.name: shard.digest for shard in shards}),
                        out, protocol=5)
        return 0
    except (OSError, ValueError, KeyError, TypeError, TimeoutError) as exc:
        print(exc)
        return 2
    finally:
        _remove_when_done([Path(folder), *([memory] if memory else [])],
                          orphaned=os.getppid() != int(build))


def _pagefind(program: Path, records: Path, bundle: Path, language: str) -> int:
    return subprocess.run(
        [str(program), "--site", str(records), "--output-path", str(bundle),
         "--force-language", language.split("-")[0], "--quiet"],
        stdin=subprocess.DEVNULL, check=False).returncode


def _scratch_folder(scratch: Path, build: int) -> Path | None:
    """A new folder in `scratch`, for Pagefind's output of a shard indexed again, or None
    where there is no such folder, or too little room in it (a container's /dev/shm may
    have 64 MB). Nearly every file of it is the site's as it is, read and compared, then
    dropped: at 100,000 articles, making them on this machine's disk (ext4) set back a
    one-article build by 1.2 s (12.8 against 11.6 s, medians of 4, alternated; system
    time 4.4 against 3.2 s). Folders in it left by builds that are gone are removed."""
    try:
        if not scratch.is_dir() or shutil.disk_usage(scratch).free < SCRATCH_ROOM:
            return None
        return process_folder(scratch, build, prefix="sitegen-")
    except OSError:
        return None


def _update_records(root: Path, shards: list[_Shard], export: Path, count: int) -> None:
    """Make the folder of each of `shards` in `root` hold exactly the records of its
    stories, writing only the ones whose story changed since they were written (the
    manifest beside each folder names its records with their stories' digests, and the
    code that wrote them: other code may write other records). A new
    article changes a record or two, not the 3,300 of its shard (at 100,000 articles),
    which took 1.8 s to write right after the last build's were removed (see the note on
    ext4 above): the records stay from one build to the next. A folder without its
    manifest (a build killed while changing it) is written anew; folders of another
    number of shards go."""
    root.mkdir(parents=True, exist_ok=True)
    code = _code_digest().hex()
    for left in root.iterdir():  # another number of shards', or a manifest's leftover
        if left.name != ".lock" and not left.name.startswith(f"{count}-"):
            if left.is_dir():
                shutil.rmtree(left)
            else:
                left.unlink()
    to_write: list[tuple[int, int, Path]] = []
    """(where the story starts in the export, its length, its record)"""
    manifests: dict[Path, dict[str, str]] = {}
    for shard in shards:
        folder, manifest = root / shard.name, root / f"{shard.name}.json"
        try:
            kept = json.loads(manifest.read_bytes())
            written = kept["records"] if kept["code"] == code else {}
        except (OSError, ValueError, KeyError, TypeError):
            written = {}
            shutil.rmtree(folder, ignore_errors=True)  # what it holds is not known
        manifest.unlink(missing_ok=True)  # until the folder is as the new one will say
        folder.mkdir(exist_ok=True)
        present = {entry.name for entry in os.scandir(folder)}
        wanted = {_record_name(story_id): (digest.hex(), start, length)
                  for story_id, digest, start, length in shard.members}
        for name in present - wanted.keys():
            (folder / name).unlink()
        for name, (digest, start, length) in wanted.items():
            if name not in present or written.get(name) != digest:
                to_write.append((start, length, folder / name))
        manifests[manifest] = {name: digest for name, (digest, _, _) in wanted.items()}
    # the stories' texts read from where _shards found them, in the order of the file: a
    # new article changes a record or two, and the export was read through once already
    with export.open("rb") as stream:
        for start, length, path in sorted(to_write):
            stream.seek(start)
            path.write_text(story_record(orjson.loads(stream.read(length))), encoding="utf-8")
    for manifest, names in manifests.items():
        atomic_write(manifest, orjson.dumps({"code": code, "records": names}))


def _record_name(story_id: bytes) -> str:
    """A record's file (its address in the index: the story's is its STORY_META)."""
    return hashlib.blake2b(story_id, digest_size=8).hexdigest() + ".html"


def _one_core() -> None:
    """Run Pagefind (a child of this process) on one core. Its threads, spread over two,
    spent half as much system time again (perf: spinning on the lock of the folder they
    all write to): 3.4-3.6 s against 2.2-2.3 s for a shard of 3,300 stories, on a disk
    slowed by recent removals, for 0.1-0.3 s more wall time, in the background of a
    build whose other processes want the cores."""
    with contextlib.suppress(AttributeError, OSError):  # not on Linux: as it comes
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})


def _remove_when_done(folders: list[Path], orphaned: bool) -> None:
    """Remove `folders` (what is left of the bundle, and the records when they are not
    kept) from a forked process once the build is done with them: when the
    build closes its end of this process's standard input (Indexing.close, after the site
    is written), or dies. Not before: files removed while the build made others slowed
    the making of those (see the module's note on ext4). An orphan (its build killed)
    removes it at once."""
    sys.stdout.flush()
    if os.fork() == 0:
        try:
            if not orphaned:
                sys.stdin.buffer.read()
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
        finally:
            os._exit(0)


def shard_count(stories: int, scale: float = SHARD_SCALE) -> int:
    """The largest power of two `count` with (count * scale)^2 <= stories: 1 up to 575
    stories, 4 at 2,400 (600 stories a shard), 16 at 53,000 (3,300). A power of two, so
    that the shards, and with them every story's, change only when the number doubles."""
    count = 1
    while (2 * count * scale) ** 2 <= stories:
        count *= 2
    return count


@dataclass(frozen=True)
class _Shard:
    digest: str
    """Of all that makes the bundle (its stories as exported, the code that makes their
    records, the language, Pagefind's version): a bundle in the site made from this
    digest (see MANIFEST) is this one."""
    count: int
    """How many shards the stories are cut into (see shard_count)."""
    place: int
    members: list[tuple[bytes, bytes, int, int]]
    """(story id as JSON, digest of the story as exported, where it starts in the export
    and its length) of each of its stories."""

    @property
    def name(self) -> str:
        """Its bundle's folder in the site, and its folder of records (_update_records):
        the same from one build to the next while the number of shards stays."""
        return f"{self.count}-{self.place}"


def _shards(export: Path, scale: float, language: str) -> list[_Shard]:
    """Each shard that has stories (shard_count of them, by `scale`), from the export at
    `export` (read a block at a time)."""
    stories = [(story_id, len(text), hashlib.blake2b(text, digest_size=16).digest(), start)
               for story_id, text, start in scan_stories(_blocks(export))]
    count = shard_count(len(stories), scale)
    made_by = _code_digest() + f"{_pagefind_version()}\0{language}\0".encode()
    members: list[list[tuple[bytes, int, bytes, int]]] = [[] for _ in range(count)]
    for story in stories:
        number = int.from_bytes(hashlib.blake2b(orjson.loads(story[0]).encode(),
                                                digest_size=8).digest())
        members[number % count].append(story)
    shards = []
    for place, shard in enumerate(members):
        if not shard:
            continue
        shard.sort()
        digest = hashlib.blake2b(made_by, digest_size=10)
        for _, length, text_digest, _ in shard:
            digest.update(b"%d\0%s" % (length, text_digest))
        shards.append(_Shard(digest.hexdigest(), count, place,
                             [(story_id, text_digest, start, length)
                              for story_id, length, text_digest, start in shard]))
    return shards


def _made_from(bundle: Path) -> dict[str, str]:
    """Each shard of the site's search index -> the digest it was made from, as its
    MANIFEST says (none: every shard is made again)."""
    try:
        digests = json.loads((bundle / MANIFEST).read_bytes())["digests"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return digests if isinstance(digests, dict) else {}


def _same_file(made: Path, live: Path) -> bool:
    """Whether the site has the very bytes Pagefind just made at that path: all the files
    of a shard but its entry, its metadata and the few that hold a changed story, whose
    names are digests of what they hold (3,300 files at 100,000 articles, read in this
    process rather than moved in and the old ones removed by the build)."""
    try:
        return live.stat().st_size == made.stat().st_size and \
            live.read_bytes() == made.read_bytes()
    except OSError:
        return False


def _code_digest() -> bytes:
    """This module's source: what makes the records (and with them the bundles)."""
    return hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16).digest()


def _blocks(path: Path, size: int = 1 << 22) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while block := stream.read(size):
            yield block


def _pagefind_version() -> str:
    try:
        return importlib.metadata.version("pagefind")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def story_record(story: dict[str, Any]) -> str:
    """What search reads of a story, as the HTML Pagefind indexes (the headline is the
    result's title, the story's address its STORY_META)."""
    parts = [story["summary"], " · ".join(story["outlets"]),
             *(a["title"] for a in story["articles"]),
             " · ".join(e["name"] for e in story["entities"]),
             *(q["text"] for q in story["quotes"][:QUOTES_PER_STORY])]
    body = "".join(f"<p>{escape(part)}</p>" for part in parts if part)
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"></head><body>"
            f"<main data-pagefind-body><h1>{escape(story['title'])}</h1>{body}"
            f"<meta data-pagefind-meta=\"{STORY_META}[content]\" "
            f"content=\"{escape(story['url'])}\"></main></body></html>")
