"""Write stage: Pages and static files -> the output folder.

The new site is assembled in a staging folder beside the output and swapped in at the
end, so a failed build leaves the previous site as it was. A file whose bytes did not
change is hard-linked from the previous site rather than rewritten, so it keeps its
modification time and nothing needs uploading again. The replaced site is set aside and
staged into next time: all but the files that changed are hard links to the very files
of the live site, so a build that changes few pages touches few files, however large
the site (see SpareSite).
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from pathlib import Path, PurePosixPath

from .errors import OutputError, Problem
from .files import exchange, outside_link, relative_files, write_new
from .model import Kept, Page, SpareSite, WriteReport

MARKER = "stories.json"
"""A folder holding this file was written by sitegen and may be replaced by it."""


class MissingPage(OutputError):
    """A page said to be unchanged (and given without its bytes) is not in the site:
    something else removed it since the last build. The caller renders it again."""

    def __init__(self, path: str) -> None:
        super().__init__(Problem(path, None, "vanished from the site while it was built"))


IN_PLACE_MOST = 2000
"""More changed files than this, and the site is staged and swapped whole instead."""


def write_site(pages: Iterable[Page | Kept], static_dirs: Sequence[Path], out_dir: Path,
               derived: Callable[[Path], Iterable[Page | Kept]] | None = None, *,
               previous_paths: AbstractSet[str] | None = None,
               keep: str | None = None, spare: Path | None = None,
               spare_site: SpareSite | None = None) -> WriteReport:
    """Write pages and static files, then the pages `derived` makes from the staged site
    (the search index), and swap the result in. Kept pages are the live site's files.

    `previous_paths` are the files the caller's last build left in `out_dir`, given when
    nothing else has touched them since (`sitegen watch`). Then, if few files changed,
    they are updated in place, each atomically (a temporary file renamed over it), and
    the files no longer produced removed: a watched site follows a new article in a
    fraction of a second instead of restaging every file. `keep` is a folder of the
    previous site carried over as it is (a search index to be brought up to date later).
    `spare` is where the replaced site is set aside, to be staged into by the next build
    (on the same file system as `out_dir`, else it is of no use); `spare_site` is what
    the last write said of it (WriteReport.spare), trusted while both sites are the ones
    it names: then only the files it lists as differing are looked at, besides the
    changed pages.
    """
    problems: list[Problem] = []
    extra = [Page(f"static/{relative}", source.read_bytes())
             for relative, source in static_files(static_dirs, problems)]
    extra.append(Page(".nojekyll", b""))
    stream: Iterable[Page | Kept] = pages
    if previous_paths is not None and derived is None and (out_dir / MARKER).is_file():
        report, stream = _write_in_place(iter(pages), extra, out_dir, previous_paths, keep)
        if report is not None:
            return replace(report, problems=tuple(problems))
    report = _write_staged(stream, extra, out_dir, derived, keep, spare, spare_site)
    return replace(report, problems=tuple(problems))


def _write_staged(pages: Iterable[Page | Kept], extra: list[Page], out_dir: Path,
                  derived: Callable[[Path], Iterable[Page | Kept]] | None,
                  keep: str | None, spare: Path | None,
                  spare_site: SpareSite | None) -> WriteReport:
    staging = out_dir.with_name(f".{out_dir.name}.staging")
    previous = out_dir.with_name(f".{out_dir.name}.previous")
    _recover_interrupted_swap(out_dir, previous)
    _check_replaceable(out_dir)
    known = _take_spare(spare, staging, spare_site, out_dir)
    kept = list(_files_under(out_dir, keep))  # may have changed in place since: checked
    writer = _StagingWriter(staging, out_dir,
                            known.paths - known.differs - set(kept) if known else frozenset())
    # Unless known, what the spare and the live site hold is listed meanwhile: tens of
    # thousands of folders, read while the pages are made and staged
    with _Listing(staging, known and known.paths | known.differs) as spare_files, \
            _Listing(out_dir, known and known.paths) as old_files:
        try:
            for page in itertools.chain(pages, extra):
                writer.add(page)
            for page in derived(staging) if derived else ():
                writer.add(page)
            writer.add_kept(kept)
            writer.remove_unclaimed(spare_files.files())
            old_paths = frozenset(old_files.files())
            removed = sum(1 for path in old_paths.difference(writer.claimed.values())
                          if path.casefold() not in writer.claimed)
            _swap(staging, out_dir, previous, spare)
        except BaseException:
            # Half staged: no SpareSite may describe it (the signature takes the marker)
            (staging / MARKER).unlink(missing_ok=True)
            _set_aside(staging, spare)
            raise
    paths = frozenset(writer.claimed.values())
    return WriteReport(written=writer.written, unchanged=writer.unchanged, removed=removed,
                       paths=paths, spare=_spare_site(out_dir, spare, paths, old_paths,
                                                      writer.made))


def _take_spare(spare: Path | None, staging: Path, spare_site: SpareSite | None,
                out_dir: Path) -> SpareSite | None:
    """Stage into the site a previous build set aside, if there is one: most of its
    folders and files are already what the new site needs, so a build that changes a
    few pages makes a few files rather than the whole tree (see _StagingWriter). A
    staging folder left by a killed build serves as well, though what it holds is not
    known. Returns `spare_site` when it tells what the staging folder holds."""
    known = None
    if spare is not None and spare.is_dir():
        if staging.exists():
            shutil.rmtree(spare, ignore_errors=True)
        else:
            trusted = spare_site is not None and spare_site.spare == signature(spare) \
                and spare_site.live == signature(out_dir)
            try:
                os.rename(spare, staging)
                known = spare_site if trusted else None
            except OSError:  # on another file system: of no use
                shutil.rmtree(spare, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    return known


def _spare_site(out_dir: Path, spare: Path | None, paths: frozenset[str],
                old_paths: frozenset[str], made: Collection[str]) -> SpareSite | None:
    """What the swap set aside as `spare` (the old site, `old_paths`) shares with the
    site now in place (`paths`): every file but the ones made anew and the ones only
    one of them has (the others were linked from the old site, or are its very files)."""
    live, aside = signature(out_dir), spare and signature(spare)
    if live is None or aside is None:
        return None
    return SpareSite(live, aside, paths, frozenset(made) | (paths ^ old_paths))


def _set_aside(old_site: Path, spare: Path | None) -> None:
    """Keep a replaced (or unfinished) site as the next build's spare, else delete it."""
    if spare is not None:
        try:
            spare.parent.mkdir(parents=True, exist_ok=True)
            if spare.exists():
                shutil.rmtree(spare)
            os.rename(old_site, spare)
            return
        except OSError:
            pass
    shutil.rmtree(old_site, ignore_errors=True)


def _write_in_place(pages: Iterator[Page | Kept], extra: list[Page], out_dir: Path,
                    previous_paths: AbstractSet[str], keep: str | None
                    ) -> tuple[WriteReport | None, Iterable[Page | Kept]]:
    """(report, ()) when done in place; (None, every page) when too much changed, or a
    page given without its bytes is not known to be in place."""
    claimed: dict[str, str] = {}
    seen: list[Page | Kept] = []
    changed: list[Page] = []

    def check(page: Page | Kept) -> bool:
        """Whether the page can be written in place (else the site is staged)."""
        if type(page) is Kept:
            _claim_kept(page.paths, claimed)
            return all(map(previous_paths.__contains__, page.paths))
        _check_path(page.path, claimed)
        known = page.unchanged and page.path in previous_paths
        if known:
            return True
        if page.content is None:
            return False
        if not _same_bytes(out_dir / page.path, page.content):
            changed.append(page)
        return len(changed) <= IN_PLACE_MOST

    for page in pages:
        seen.append(page)
        if not check(page):
            return None, itertools.chain(seen, pages)
    if not all(map(check, extra)):
        return None, seen
    kept = set(_files_under(out_dir, keep))
    gone = [p for p in previous_paths - set(claimed.values()) - kept
            if p.casefold() not in claimed]
    # The front page last: what it links to is in place before it is
    for page in sorted(changed, key=lambda p: p.path == "index.html"):
        _replace_file(out_dir, page)
    _remove_files(out_dir, gone)
    paths = frozenset(claimed.values()) | kept
    return WriteReport(written=len(changed), unchanged=len(claimed) - len(changed),
                       removed=len(gone), paths=paths), ()


def signature(out_dir: Path) -> tuple[int, ...] | None:
    """Which site is in `out_dir`: each staged build swaps in another folder, and every
    build that changes anything replaces stories.json (MARKER)."""
    try:
        folder, marker = os.stat(out_dir), os.stat(out_dir / MARKER)
    except OSError:
        return None
    return (folder.st_dev, folder.st_ino, marker.st_ino, marker.st_size, marker.st_mtime_ns)


def update_folder(out_dir: Path, folder: str, pages: Iterable[Page | Kept]) -> WriteReport:
    """Make `folder` of the site hold exactly `pages` (under it), updating in place: each
    changed file replaced atomically, then the files no longer produced removed. A page
    without content, or a Kept one, is the file there, as it is."""
    before = set(_files_under(out_dir, folder))
    claimed: dict[str, str] = {}
    written = 0
    for page in pages:
        paths = page.paths if type(page) is Kept else [page.path]
        outside = next((path for path in paths if path.partition("/")[0] != folder), None)
        if outside is not None:
            raise OutputError(Problem(outside, None, f"not under {folder}/"))
        if type(page) is Kept:
            _claim_kept(paths, claimed)
            continue
        _check_path(page.path, claimed)
        if page.content is not None and not _same_bytes(out_dir / page.path, page.content):
            _replace_file(out_dir, page)
            written += 1
    gone = [p for p in before if p.casefold() not in claimed]
    _remove_files(out_dir, gone)
    return WriteReport(written=written, unchanged=len(claimed) - written, removed=len(gone),
                       paths=frozenset(claimed.values()))


def _replace_file(out_dir: Path, page: Page) -> None:
    target = out_dir.joinpath(*PurePosixPath(page.path).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.sitegen-new")
    write_new(str(temporary), page.content)
    os.replace(temporary, target)


def _move(source: str, target: str) -> None:
    """Move a file made elsewhere into place: a rename, unless on another file system.
    Renaming 20,000 small files took 0.38 s on the test machine, creating and writing
    them 4.78 s; writing Pagefind's 54,000 files again took 35 s of a cold
    100,000-article build's writer (py-spy)."""
    try:
        os.rename(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _files_under(out_dir: Path, folder: str | None) -> Iterator[str]:
    if folder:
        yield from sorted(f"{folder}/{path}"
                          for path in relative_files(out_dir / folder, regular=True))


class _Listing:
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

    def __enter__(self) -> _Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._output.close()


def _remove_files(root: Path, paths: Iterable[str]) -> None:
    """Remove these files under `root`, then the folders that leaves empty. The folders
    once, after the files: a search shard replaced takes thousands of files out of one
    folder, and looking into it after each would be quadratic."""
    folders: set[str] = set()
    for path in paths:
        (root / path).unlink(missing_ok=True)
        folders.add(path.rpartition("/")[0])
    for folder in sorted(folders, key=lambda f: f.count("/"), reverse=True):
        while folder:
            try:
                os.rmdir(root / folder)
            except OSError:  # not empty (or gone already)
                break
            folder = folder.rpartition("/")[0]


def static_files(static_dirs: Sequence[Path],
                 problems: list[Problem]) -> Iterator[tuple[str, Path]]:
    """(relative path, source) for every static file; the first folder that has a name wins.
    Links out of a static folder are not followed (they would publish files from elsewhere)."""
    taken: set[str] = set()
    for folder in static_dirs:
        if not folder.is_dir():
            continue
        for source in sorted(folder.rglob("*")):
            relative = source.relative_to(folder).as_posix()
            if source.is_symlink() and (reason := outside_link(source, folder)):
                problems.append(Problem(f"{folder.name}/{relative}", None,
                                        f"{reason}; not published"))
                continue
            if source.is_file() and relative not in taken and not source.name.startswith("."):
                taken.add(relative)
                yield relative, source


def _check_path(path: str, claimed: dict[str, str]) -> None:
    """Check that a page path stays inside the output (no empty, `.` or `..` part: an
    absolute path starts with an empty one) and that no other page has it. Runs for every
    file of every build: membership tests of the parts' list, at C speed."""
    parts = path.split("/")
    if "" in parts or "." in parts or ".." in parts:
        raise OutputError(Problem(path, None, "page path would leave the output folder"))
    key = path.casefold()
    if key in claimed:
        raise OutputError(Problem(path, None, f"two pages claim one output file ({claimed[key]})"))
    claimed[key] = path


def _claim_kept(paths: Sequence[str], claimed: dict[str, str]) -> None:
    """_check_path for the paths of Kept pages, at C speed: they were checked when the
    pages were first written, but may still collide with the others of this build."""
    folded = list(map(str.casefold, paths))
    if not claimed.keys().isdisjoint(folded) or len(set(folded)) < len(folded):
        for path in paths:  # the one claimed twice, named as _check_path names it
            _check_path(path, claimed)
    claimed.update(zip(folded, paths, strict=True))


class _StagingWriter:
    """Fills the staging folder, which may already hold an older site (the spare, see
    write_site): a file there is kept when it is the very file (same inode) the new site
    takes over from the current one, and replaced otherwise. Staged files may be hard
    links to the live site's, so one is never written to: it is unlinked and made anew.

    `shared` are the files the staging folder is known to share with the live site (see
    SpareSite): one of them that the new site keeps as it is needs nothing at all."""

    def __init__(self, staging: Path, out_dir: Path, shared: AbstractSet[str]) -> None:
        self.staging = staging
        self.out_dir = out_dir
        self._staging, self._out_dir = os.fspath(staging), os.fspath(out_dir)
        self._shared = shared
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
        """Folders made here, empty when made."""

    def add(self, page: Page | Kept) -> None:
        if type(page) is Kept:
            self.add_kept(page.paths)
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
        _check_path(path, self.claimed)
        target, old = f"{self._staging}/{path}", f"{self._out_dir}/{path}"
        if source is not None:
            self._make(target, lambda: _move(source, target))
            self.written += 1
            self.made.append(path)
        elif path in self._shared and (content is None or unchanged
                                     or _same_bytes(Path(old), content)):
            self.unchanged += 1
        elif content is None:
            self._keep_live(path)
        elif self._live and _same_bytes(Path(old), content, read=not unchanged):
            self._reuse(old, os.stat(old), target)
        else:
            self._make(target, lambda: write_new(target, content))
            self.written += 1
            self.made.append(path)

    def add_kept(self, paths: Sequence[str]) -> None:
        """Kept pages: add_bytes(path, None, unchanged=True) for each path, with the
        ones the staging folder is known to share (nearly all, see SpareSite) counted
        at C speed."""
        _claim_kept(paths, self.claimed)
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
        _remove_files(self.staging, [
            path for path in set(spare_files).difference(self.claimed.values())
            if (target := self.staging / path).is_file() or target.is_symlink()])

    def _reuse(self, old: str, old_stat: os.stat_result, target: str) -> None:
        """Keep the live file `old` at `target`: it is there already when the spare
        holds the very file (same inode), else it is linked (or copied) there."""
        try:
            there = os.path.samestat(old_stat, os.stat(target, follow_symlinks=False))
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


def _same_bytes(old: Path, content: bytes, read: bool = True) -> bool:
    try:
        if old.stat().st_size != len(content):
            return False
        return not read or old.read_bytes() == content
    except OSError:
        return False


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder that sitegen did not write (e.g. `--out .` by mistake)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(Problem(str(out_dir), None, "output path exists and is not a folder"))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise OutputError(Problem(str(out_dir), None,
                                  f"output folder is not empty and has no {MARKER}: it does not "
                                  "look like a sitegen site, so it is left alone"))


def _swap(staging: Path, out_dir: Path, previous: Path, spare: Path | None) -> None:
    """Put the staged site in place, and the old one aside as `spare`. Where the system
    can exchange two folders atomically, the output folder is the whole old site or the
    whole new one at every instant, even if the build is killed; elsewhere it is missing
    for the moment between two renames (and the next build restores it, see
    _recover_interrupted_swap)."""
    if previous.exists():
        shutil.rmtree(previous)
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if exchange(staging, out_dir):
        _set_aside(staging, spare)
    else:
        os.rename(out_dir, previous)
        os.rename(staging, out_dir)
        _set_aside(previous, spare)


def _recover_interrupted_swap(out_dir: Path, previous: Path) -> None:
    """A build killed between the two renames of a swap leaves only the previous site."""
    if not out_dir.exists() and previous.is_dir():
        os.rename(previous, out_dir)
