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

import functools
import itertools
import os
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from pathlib import Path, PurePosixPath

from .errors import OutputError, Problem
from .files import exchange, outside_link, relative_files, remove_files, same_bytes, write_new
from .model import Kept, Page, SpareSite, WriteReport
from .staging import Listing, StagingWriter, check_path, claim_kept, write_staged

MARKER = "stories.json"
"""A folder holding this file was written by sitegen and may be replaced by it."""

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
    staging = _staging_dir(out_dir)
    previous = out_dir.with_name(f".{out_dir.name}.previous")
    _recover_interrupted_swap(out_dir, previous)
    _check_replaceable(out_dir)
    fresh = _stages_afresh(staging, spare)
    known = _take_spare(spare, staging, spare_site, out_dir)
    kept = list(_files_under(out_dir, keep))  # may have changed in place since: checked
    writer = StagingWriter(staging, out_dir,
                            known.paths - known.differs - set(kept) if known else frozenset(),
                            empty=fresh)
    # Unless known, what the spare and the live site hold is listed meanwhile: tens of
    # thousands of folders, read while the pages are made and staged
    with Listing(staging, frozenset() if fresh else known and known.paths | known.differs
                 ) as spare_files, \
            Listing(out_dir, known and known.paths) as old_files:
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


def direct_writer(out_dir: Path, spare: Path | None) -> Callable[[str, bytes], None] | None:
    """For a build that is to stage into a fresh folder (no site yet, no spare, no staging
    folder left by a killed build: a first build), a function that writes a page
    straight to its place there, for the renderers to call where they render, on every
    core (see render.render_site). Else None: pages then come to the writer, which
    compares them with the live site and links the ones that did not change. Creating
    files is slow here (0.05 to 1.2 ms of system time a folder and its file, by the
    moment): a cold build of 10,000 articles spent 5 to 10 s of its writer's time
    making 21,700 files and 19,300 folders, one after another."""
    staging = _staging_dir(out_dir)
    if out_dir.exists() or not _stages_afresh(staging, spare):
        return None
    return functools.partial(write_staged, os.fspath(staging))


def _staging_dir(out_dir: Path) -> Path:
    return out_dir.with_name(f".{out_dir.name}.staging")


def _stages_afresh(staging: Path, spare: Path | None) -> bool:
    """Whether a write will stage into an empty folder: no staging folder left by a killed
    build, no spare to stage into (see _take_spare)."""
    return not staging.exists() and not (spare is not None and spare.is_dir())


def _take_spare(spare: Path | None, staging: Path, spare_site: SpareSite | None,
                out_dir: Path) -> SpareSite | None:
    """Stage into the site a previous build set aside, if there is one: most of its
    folders and files are already what the new site needs, so a build that changes a
    few pages makes a few files rather than the whole tree (see staging.StagingWriter). A
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
            claim_kept(page.paths, claimed)
            return all(map(previous_paths.__contains__, page.paths))
        check_path(page.path, claimed)
        known = page.unchanged and page.path in previous_paths
        if known:
            return True
        if page.content is None:
            return False
        if not same_bytes(out_dir / page.path, page.content):
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
    remove_files(out_dir, gone)
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
            claim_kept(paths, claimed)
            continue
        check_path(page.path, claimed)
        if page.content is not None and not same_bytes(out_dir / page.path, page.content):
            _replace_file(out_dir, page)
            written += 1
    gone = [p for p in before if p.casefold() not in claimed]
    remove_files(out_dir, gone)
    return WriteReport(written=written, unchanged=len(claimed) - written, removed=len(gone),
                       paths=frozenset(claimed.values()))


def _replace_file(out_dir: Path, page: Page) -> None:
    target = out_dir.joinpath(*PurePosixPath(page.path).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.sitegen-new")
    write_new(str(temporary), page.content)
    os.replace(temporary, target)


def _files_under(out_dir: Path, folder: str | None) -> Iterator[str]:
    if folder:
        yield from sorted(f"{folder}/{path}"
                          for path in relative_files(out_dir / folder, regular=True))


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
