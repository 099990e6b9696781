"""Whether a build has nothing to do: nothing it reads changed since the last build.

The inputs are summed up as the path, size and modification time of every seed (as
ingest lists them, with the files it will not read, since the report names those), of
every file under the template and static folders, of the config and story-fixes files
and of sitegen's own code, with the settings themselves; the outputs as the state file and the
site folder the last build left. When both match what the last successful build
recorded, the site is already what a build would make, and `sitegen build` says so
after a directory walk (a fraction of a second at 100,000 seeds) instead of reading
every seed again.

Git's racy-file rule applies: a file modified within RACY_NS of the walk could change
again within the same clock tick unseen, so such a walk is never recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .errors import Problem
from .ingest import RACY_NS
from .model import BuildReport, WriteReport
from .seedfiles import SeedListing

RECORD = "last-build.json"
_CODE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Inputs:
    digest: str
    newest_ns: int
    """The latest modification time seen."""
    taken_ns: int
    seeds_folder: str
    """The seeds folder itself (size, time, inode): see seeds_folder_as_recorded."""


def inputs(config: Config, seeds: SeedListing) -> Inputs:
    """What the build is about to read, summed up (see the module's docstring): `seeds`
    lists the seed folder (seedfiles.list_seeds), for the build to read from."""
    taken = time.time_ns()
    digest = hashlib.sha256(repr(config).encode())
    digest.update(f"\0{config.seeds_dir}\0".encode())
    newest = 0
    for path, _, (size, modified, _) in seeds.files:
        digest.update(f"{path}\0{size}\0{modified}\n".encode())
        newest = max(newest, modified)
    for problem in seeds.problems:  # files that are no seeds: the report repeats them
        digest.update(f"{problem}\n".encode())
    single = (config.config_file, config.project_dir / "stories.toml")
    for root in (*config.template_dirs, *config.static_dirs, _CODE):
        digest.update(f"\0{root}\0".encode())
        for line, modified in _walk(root):
            digest.update(line)
            newest = max(newest, modified)
    for path in single:
        digest.update(f"\0{path}\0{_stat(path)}".encode())
        newest = max(newest, _modified(path))
    return Inputs(digest.hexdigest(), newest, taken, _stat(config.seeds_dir))


def unchanged_since_last(record_file: Path, now: Inputs, outputs: tuple[Path, ...]
                         ) -> BuildReport | None:
    """The last build's report, when it was made from these inputs and its outputs are
    as it left them; else None. The seeds folder's stamp is noted anew when only it
    changed, so that the next build does not take it for news (seeds_folder_as_recorded)."""
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if record["inputs"] != now.digest or record["outputs"] != _outputs(outputs):
            return None
        if record.get("seeds_folder") != now.seeds_folder:  # a file came and went
            with contextlib.suppress(OSError):  # a guess the next build plans by
                _write(record_file, {**record, "seeds_folder": now.seeds_folder})
        report = record["report"]
        problems = tuple(Problem(p["path"], p["line"], p["message"])
                         for p in report["problems"])
        return BuildReport(articles=report["articles"], stories=report["stories"],
                           write=WriteReport(0, report["files"], 0), problems=problems,
                           up_to_date=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def seeds_folder_as_recorded(record_file: Path, seeds_dir: Path) -> bool:
    """Whether the seeds folder itself is as the last build recorded it: when not, a
    file was added to it, removed or renamed since, and a build is all but sure to
    follow the walk (a guess for a build to plan its work by, never a reason to skip
    one: an editor's file made and deleted also changes the folder, and a seed changed
    in place, or in a subfolder, does not)."""
    try:
        recorded = json.loads(record_file.read_text(encoding="utf-8")).get("seeds_folder")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == _stat(seeds_dir)


def forget(record_file: Path) -> None:
    """Before a build changes anything: until it succeeds, nothing is known."""
    record_file.unlink(missing_ok=True)


def remember(record_file: Path, before: Inputs, outputs: tuple[Path, ...],
             report: BuildReport) -> None:
    """Record a successful build, unless an input was modified too recently to trust."""
    if before.taken_ns - before.newest_ns <= RACY_NS:
        return
    record = {
        "inputs": before.digest,
        "seeds_folder": before.seeds_folder,
        "outputs": _outputs(outputs),
        "report": {"articles": report.articles, "stories": report.stories,
                   "files": report.write.written + report.write.unchanged,
                   "problems": [asdict(p) for p in report.problems]},
    }
    _write(record_file, record)


def _write(record_file: Path, record: dict[str, Any]) -> None:
    record_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = record_file.with_name(f".{record_file.name}.tmp")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(temporary, record_file)


def _walk(root: Path) -> list[tuple[bytes, int]]:
    """(a line naming each file under root with its size and time, the time), sorted:
    scandir's order is the file system's, not the same from one build to the next."""
    found: list[tuple[bytes, int]] = []
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            found.append((f"{folder}\0unreadable\n".encode(), 0))
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append(entry.path)
                    continue
                if entry.is_dir():  # a linked folder: what is in it is not walked, so a
                    found.append((f"{entry.path}\0linked\n".encode(), time.time_ns()))
                    continue        # walk seeing one is never trusted
                info = entry.stat()
            except OSError:
                found.append((f"{entry.path}\0gone\n".encode(), 0))
                continue
            found.append((f"{entry.path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode(),
                          info.st_mtime_ns))
    found.sort()
    return found


def _stat(path: Path | None) -> str:
    if path is None:
        return "none"
    try:
        info = path.stat()
    except OSError:
        return "missing"
    return f"{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}"


def _modified(path: Path | None) -> int:
    try:
        return path.stat().st_mtime_ns if path is not None else 0
    except OSError:
        return 0


def _outputs(paths: tuple[Path, ...]) -> list[str]:
    return [_stat(path) for path in paths]
