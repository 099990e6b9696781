"""Write stage: Pages and static files -> the output folder.

The new site is assembled in a staging folder beside the output and swapped in at the
end, so a failed build leaves the previous site as it was. A file whose bytes did not
change is hard-linked from the previous site rather than rewritten, so it keeps its
modification time and nothing needs uploading again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath

from .errors import OutputError, Problem
from .files import exchange, outside_link
from .model import Page, WriteReport

MARKER = "stories.json"
"""A folder holding this file was written by sitegen and may be replaced by it."""


def write_site(pages: Iterable[Page], static_dirs: Sequence[Path], out_dir: Path,
               derived: Callable[[Path], Iterable[Page]] | None = None) -> WriteReport:
    """Write pages and static files, then the pages `derived` makes from the staged site
    (the search index), and swap the result in."""
    staging = out_dir.with_name(f".{out_dir.name}.staging")
    previous = out_dir.with_name(f".{out_dir.name}.previous")
    _recover_interrupted_swap(out_dir, previous)
    _check_replaceable(out_dir)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    writer = _StagingWriter(staging, out_dir)
    problems: list[Problem] = []
    try:
        for page in pages:
            writer.add_bytes(page.path, page.content)
        for relative, source in static_files(static_dirs, problems):
            writer.add_bytes(f"static/{relative}", source.read_bytes())
        writer.add_bytes(".nojekyll", b"")
        for page in derived(staging) if derived else ():
            writer.add_bytes(page.path, page.content)
        removed = _count_removed(out_dir, writer.claimed)
        _swap(staging, out_dir, previous)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteReport(written=writer.written, unchanged=writer.unchanged, removed=removed,
                       problems=tuple(problems))


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


class _StagingWriter:
    def __init__(self, staging: Path, out_dir: Path) -> None:
        self.staging = staging
        self.out_dir = out_dir
        self.claimed: dict[str, str] = {}
        """Case-folded path -> path as given: two pages may not share one file."""
        self.written = 0
        self.unchanged = 0
        self._made_dirs: set[Path] = set()

    def add_bytes(self, path: str, content: bytes) -> None:
        target = self._claim(path)
        old = self.out_dir / path
        if _same_bytes(old, content):
            self._reuse(old, target)
        else:
            target.write_bytes(content)
            self.written += 1

    def _claim(self, path: str) -> Path:
        pure = PurePosixPath(path)
        if pure.is_absolute() or not pure.parts or any(p in ("", ".", "..") for p in pure.parts):
            raise OutputError(Problem(path, None, "page path would leave the output folder"))
        key = path.casefold()
        if key in self.claimed:
            other = self.claimed[key]
            raise OutputError(Problem(path, None, f"two pages claim one output file ({other})"))
        self.claimed[key] = path
        target = self.staging.joinpath(*pure.parts)
        if target.parent not in self._made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(target.parent)
        return target

    def _reuse(self, old: Path, target: Path) -> None:
        try:
            os.link(old, target)
        except OSError:
            shutil.copy2(old, target)
        self.unchanged += 1


def _same_bytes(old: Path, content: bytes) -> bool:
    try:
        if old.stat().st_size != len(content):
            return False
        return old.read_bytes() == content
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


def _count_removed(out_dir: Path, claimed: dict[str, str]) -> int:
    if not out_dir.is_dir():
        return 0
    return sum(
        1 for path in out_dir.rglob("*")
        if path.is_file() and path.relative_to(out_dir).as_posix().casefold() not in claimed
    )


def _swap(staging: Path, out_dir: Path, previous: Path) -> None:
    """Put the staged site in place. Where the system can exchange two folders atomically,
    the output folder is the whole old site or the whole new one at every instant, even if
    the build is killed; elsewhere it is missing for the moment between two renames (and
    the next build restores it, see _recover_interrupted_swap)."""
    if previous.exists():
        shutil.rmtree(previous)
    if not out_dir.exists():
        os.rename(staging, out_dir)
    elif exchange(staging, out_dir):
        os.rename(staging, previous)
    else:
        os.rename(out_dir, previous)
        os.rename(staging, out_dir)
    shutil.rmtree(previous, ignore_errors=True)


def _recover_interrupted_swap(out_dir: Path, previous: Path) -> None:
    """A build killed between the two renames of a swap leaves only the previous site."""
    if not out_dir.exists() and previous.is_dir():
        os.rename(previous, out_dir)
