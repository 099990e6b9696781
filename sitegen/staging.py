"""Filling the staging folder a build assembles the new site in (see write): from the
spare site a previous build set aside, keeping what it shares with the live site and
making only what changed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

from .errors import MissingPage, OutputError, Problem
from .files import relative_files, remove_files, same_bytes, write_new
from .model import Kept, Page


def check_inside(path: str) -> None:
    """Check that a page path stays inside the output (no empty, `.` or `..` part: an
    absolute path starts with an empty one). Runs for every file of every build:
    membership tests of the parts' list, at C speed."""
    parts = path.split("/")
    if "" in parts or "." in parts or ".." in parts:
        raise OutputError(Problem(path, None, "page path would leave the output folder"))


def check_path(path: str, claimed: dict[str, str]) -> None:
    """check_inside, and check that no other page has the path."""
    check_inside(path)
    key = path.casefold()
    if key in claimed:
        raise OutputError(Problem(path, None, f"two pages claim one output file ({claimed[key]})"))
    claimed[key] = path


def claim_kept(paths: Sequence[str], claimed: dict[str, str]) -> None:
    """check_path for the paths of Kept pages, at C speed: they were checked when the
    pages were first written, but may still collide with the others of this build."""
    folded = list(map(str.casefold, paths))
    if not claimed.keys().isdisjoint(folded) or len(set(folded)) < len(folded):
        for path in paths:  # the one claimed twice, named as check_path names it
            check_path(path, claimed)
    claimed.update(zip(folded, paths, strict=True))


class StagingWriter:
    """Fills the staging folder, which may already hold an older site (the spare, see
    write.write_site): a file there is kept when it is the very file (same inode) the new
    site takes over from the current one, and replaced otherwise. Staged files may be
    hard links to the live site's, so one is never written to: it is unlinked and made
    anew.

    `shared` are the files the staging folder is known to share with the live site (see
    SpareSite): one of them that the new site keeps as it is needs nothing at all.
    `empty`: the staging folder held nothing when the build began (no spare, as after a
    first build), so every file goes where none is, into a folder made here (or by a
    render worker, see write_staged): each costs its folder's making and its own, and
    nothing is looked at first."""

    def __init__(self, staging: Path, out_dir: Path, shared: AbstractSet[str],
                 empty: bool = False) -> None:
        self.staging = staging
        self.out_dir = out_dir
        self._staging, self._out_dir = os.fspath(staging), os.fspath(out_dir)
        self._shared = shared
        self._empty = empty
        self._live = out_dir.is_dir()
        """Whether there is a live site to compare pages with: a first build (or one
        after the site was deleted) looks for none of its 220,000 files there (5 s at
        100,000 articles, py-spy)."""
        self.claimed: dict[str, str] = {}
        """Case-folded path -> path as given: two pages may not share one file."""
        self.written = 0
        self.unchanged = 0
        self.made: list[str] = []
        """The files written anew."""
        self._checked: set[str] = set()
        """Folders of the staging folder seen to be folders (no link, no file) by
        _make_room, or made here."""
        self._fresh: set[str] = set()
        """Folders made here, empty when made; in an empty staging folder, every folder
        made so far (see _folder)."""

    def add(self, page: Page | Kept) -> None:
        if type(page) is Kept:
            self.add_kept(page.paths)
        elif page.staged:  # written in place already (see write_staged)
            check_path(page.path, self.claimed)
            self.written += 1
            self.made.append(page.path)
        else:
            self.add_bytes(page.path, page.content, page.unchanged, page.source)

    def add_bytes(self, path: str, content: bytes | None, unchanged: bool = False,
                  source: str | None = None) -> None:
        """`unchanged`: the caller knows the previous site has these very bytes at `path`
        (a memoized page), so they are not read back; `content` None: the file in the
        previous site, as it is (a page whose bytes were not kept, a kept file), or the
        file `source`, moved here (a new file of the search index).

        Runs for each file not given as Kept (each of the 220,000 of a cold build of
        100,000 articles): paths are joined as strings (checked first), each file is
        stat()ed once, unless shared."""
        check_path(path, self.claimed)
        target, old = f"{self._staging}/{path}", f"{self._out_dir}/{path}"
        if source is not None:
            self._make(target, lambda: move(source, target))
            self.written += 1
            self.made.append(path)
        elif path in self._shared and (content is None or unchanged
                                     or same_bytes(Path(old), content)):
            self.unchanged += 1
        elif content is None:
            self._keep_live(path)
        elif self._live and same_bytes(Path(old), content, read=not unchanged):
            self._reuse(old, os.stat(old), target)
        else:
            self._make(target, lambda: write_new(target, content))
            self.written += 1
            self.made.append(path)

    def add_kept(self, paths: Sequence[str]) -> None:
        """Kept pages: add_bytes(path, None, unchanged=True) for each path, with the
        ones the staging folder is known to share (nearly all, see SpareSite) counted
        at C speed."""
        claim_kept(paths, self.claimed)
        unknown = [path for path in paths if path not in self._shared]
        self.unchanged += len(paths) - len(unknown)
        for path in unknown:
            self._keep_live(path)

    def _keep_live(self, path: str) -> None:
        """The live site's file at `path`, as it is (one that is missing: MissingPage)."""
        old = f"{self._out_dir}/{path}"
        try:
            old_stat = os.stat(old)
        except OSError:
            old_stat = None
        if old_stat is None or not stat.S_ISREG(old_stat.st_mode):
            raise MissingPage(path)
        self._reuse(old, old_stat, f"{self._staging}/{path}")

    def remove_unclaimed(self, spare_files: Iterable[str]) -> None:
        """Remove what the spare held (`spare_files`, listed while staging) that the
        new site does not have, and the folders that leaves empty. A listed file may be
        gone since, or be a folder of the new site now."""
        remove_files(self.staging, [
            path for path in set(spare_files).difference(self.claimed.values())
            if (target := self.staging / path).is_file() or target.is_symlink()])

    def _reuse(self, old: str, old_stat: os.stat_result, target: str) -> None:
        """Keep the live file `old` at `target`: it is there already when the spare
        holds the very file (same inode), else it is linked (or copied) there."""
        try:
            there = not self._empty and \
                os.path.samestat(old_stat, os.stat(target, follow_symlinks=False))
        except OSError:
            there = False
        if not there:
            self._make(target, lambda: _link_or_copy(Path(old), Path(target)))
        self.unchanged += 1

    def _make(self, target: str, make: Callable[[], object]) -> None:
        """Run `make` to create `target`, first removing whatever the spare has there and
        making its folder (most folders of the spare are there already). A new folder in
        a folder known to be one (each story and article page has a folder of its own)
        takes one call, and a file in it needs nothing removed."""
        parent = os.path.dirname(target)
        if self._empty:
            self._folder(parent)
            make()
            return
        if parent not in self._checked and os.path.dirname(parent) in self._checked:
            try:
                os.mkdir(parent)
                self._checked.add(parent)
                self._fresh.add(parent)
            except OSError:  # the spare has it, most likely
                pass
        if parent in self._fresh:  # holds only what this writer put there
            make()
            return
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        except OSError:
            _make_room(self.staging, Path(target))
        try:
            make()
        except (FileNotFoundError, NotADirectoryError):
            _make_room(self.staging, Path(target))
            self._checked.update(_folders_above(target, self._staging))
            make()

    def _folder(self, folder: str) -> None:
        """Make a folder of an empty staging folder, and the ones above it, once. Render
        workers may be making the same ones meanwhile (see write_staged)."""
        if folder in self._fresh:
            return
        try:
            os.mkdir(folder)
        except FileNotFoundError:  # the one above it is not made yet
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:
            pass
        self._fresh.add(folder)


def write_staged(staging: str, path: str, content: bytes) -> None:
    """Write a page into a staging folder that holds nothing but the pages of this build
    (see write.direct_writer): nothing there to be replaced, folders made as needed,
    possibly by several processes at once."""
    check_inside(path)
    target = f"{staging}/{path}"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    write_new(target, content)


def move(source: str, target: str) -> None:
    """Move a file made elsewhere into place: a rename, unless on another file system.
    Renaming 20,000 small files took 0.38 s on the test machine, creating and writing
    them 4.78 s; writing Pagefind's 54,000 files again took 35 s of a cold
    100,000-article build's writer (py-spy)."""
    try:
        os.rename(source, target)
    except OSError:
        shutil.copyfile(source, target)


class Listing:
    """The files under a folder, listed by find(1) in a process of its own while the
    build goes on (a thread would keep the render stage from forking its workers).
    Where there is no find, or it meets a folder removed meanwhile, in this process.
    Not at all when the caller knows them (`known`)."""

    def __init__(self, root: Path, known: Collection[str] | None = None) -> None:
        self._root = root
        self._known = known
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
        program = shutil.which("find")
        self._process = None if program is None or not root.is_dir() or known is not None \
            else subprocess.Popen(
                [program, ".", "(", "-type", "f", "-o", "-type", "l", ")", "-print0"],
                cwd=root, stdin=subprocess.DEVNULL, stdout=self._output,
                stderr=subprocess.DEVNULL)

    def files(self) -> Collection[str]:
        """Relative POSIX paths, in no particular order."""
        if self._known is not None:
            return self._known
        if self._process is None or self._process.wait() != 0:
            return list(relative_files(self._root))
        self._output.seek(0)
        return [os.fsdecode(path[2:]) for path in self._output.read().split(b"\0") if path]

    def __enter__(self) -> Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._output.close()


def _folders_above(path: str, root: str) -> Iterator[str]:
    """The folders between `root` and `path`, `path`'s own first."""
    folder = os.path.dirname(path)
    while len(folder) > len(root):
        yield folder
        folder = os.path.dirname(folder)


def _link_or_copy(old: Path, target: Path) -> None:
    try:
        os.link(old, target)
    except OSError:
        shutil.copy2(old, target)


def _make_room(root: Path, target: Path) -> None:
    """Clear the way for a new file at `target`: files standing where its folders must
    be, a folder or link standing where it must be."""
    folder = root
    for part in target.relative_to(root).parts[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
