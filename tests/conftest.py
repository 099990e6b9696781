"""Shared fixtures: tiny projects built in tmp_path, and helpers to read their output."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from sitegen import build_site, load_config
from sitegen.model import BuildReport

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SEEDS = REPO / "seeds"
AFP_SEED = "001_c76fe11a0031424c.txt"
VERILY_SEED = "000_5ed3aaab7790b511.txt"


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether `condition` came true within `seconds`: for work builds leave to the
    background (removing the search indexing's folder)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def spy(function: Callable[..., Any], calls: list[tuple[Any, ...]]) -> Callable[..., Any]:
    """`function`, noting the positional arguments of each call in `calls`."""
    def called(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return function(*args, **kwargs)
    return called


class Project:
    """A sitegen project folder in tmp_path, with helpers to build it and read the result."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seeds = root / "seeds"
        self.out = root / "site"
        self.seeds.mkdir(parents=True, exist_ok=True)

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def build(self, **overrides: Any) -> BuildReport:
        config_file = overrides.pop("config_file", None)
        config = load_config(config_file, project_dir=self.root, **overrides)
        return build_site(config)

    def paths(self) -> list[Path]:
        """Everything in the project but the search indexing's folders, which builds
        remove in the background after they are done."""
        found = []
        for folder, subfolders, files in os.walk(self.root):
            if Path(folder) == self.root / ".sitegen" / "cache":
                subfolders[:] = [name for name in subfolders if name != "indexing"]
            found += [Path(folder, name) for name in subfolders + files]
        return found

    def stories(self) -> list[dict[str, Any]]:
        return json.loads((self.out / "stories.json").read_text(encoding="utf-8"))["stories"]

    def page(self, url: str) -> BeautifulSoup:
        path = self.out / url
        if url.endswith("/") or not url:
            path = path / "index.html"
        return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")

    def story_of(self, seed: str) -> dict[str, Any]:
        return next(s for s in self.stories() for a in s["articles"] if a["seed"] == seed)

    def article(self, seed: str) -> dict[str, Any]:
        return next(a for s in self.stories() for a in s["articles"] if a["seed"] == seed)


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., Project]:
    """make_site({"seeds/a.txt": "..."}, samples=True) -> Project (not yet built)."""

    def make(files: Mapping[str, str | bytes] | None = None, *, samples: bool = False,
             name: str = "project") -> Project:
        project = Project(tmp_path / name)
        if samples:
            for seed in SAMPLE_SEEDS.iterdir():
                shutil.copy(seed, project.seeds / seed.name)
        for relative, content in (files or {}).items():
            project.write(relative, content)
        return project

    return make


def warnings_for(report: BuildReport, path_part: str) -> list[str]:
    return [str(p) for p in report.problems if path_part in p.path]
