"""Filesystem rules every stage that reads or writes files must follow alike."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def outside_link(path: Path, root: Path) -> str | None:
    """Why the symbolic link `path` may not be followed (it leaves `root`, or loops), or
    None: a link in a project must not publish or read files from elsewhere."""
    try:
        target = path.resolve()
    except (RuntimeError, OSError):  # RuntimeError: a symlink loop (Python 3.11)
        return "symbolic link that loops"
    if not target.is_relative_to(root.resolve()):
        return f"symbolic link to outside the {root.name} folder"
    return None


def atomic_write(path: Path, content: bytes) -> None:
    """Readers see the old file or the new one, never a part: a temporary file, fsync,
    rename, and fsync of the folder so the rename itself survives a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; this file is meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
