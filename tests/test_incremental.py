"""Property: building after every change gives, byte for byte, what a clean build of the
same seeds and state gives, whether the builds share a cache in memory, on disk
(`sitegen build`) or both (`sitegen watch`). Random sequences of adding, modifying, deleting and
renaming seeds (hypothesis); every file of the site and the state file are compared."""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen import build_site, buildcache, load_config
from sitegen.build import load_cache, refresh_search
from sitegen.buildcache import BuildCache

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ["a.txt", "b.md", "c.txt", "d.json", "e.txt"]
TEXTS = [
    "title: River floods Elmford\ndate: 2025-03-01\n\nThe river burst its banks in Elmford "
    "and residents were evacuated by boat on Monday.",
    "title: Elmford flood waters recede\ndate: 2025-03-02\n\nFlood waters in Elmford receded "
    "as the river fell; residents evacuated by boat returned home.",
    "title: Cup final won on penalties\ndate: 2025-03-01\n\nThe club won the cup final on "
    "penalties after a goalless draw in the stadium.",
    "title: Strike ends at Calder port\n\nDockers voted to accept a pay offer, \"We won what "
    "we came for,\" Mara Holt said.",
    "No header at all: a short note about the harbour strike and the dockers' vote in Calder.",
]
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["add", "modify", "delete", "rename"]),
              st.sampled_from(NAMES), st.sampled_from(NAMES),
              st.integers(0, len(TEXTS) - 1)),
    min_size=1, max_size=4)


def write_seed(seeds: Path, name: str, text: str) -> None:
    if name.endswith(".json"):
        title, _, body = text.partition("\n\n")
        text = json.dumps({"title": title.removeprefix("title: ").split("\n")[0],
                           "text": body})
    elif name.endswith(".md"):
        header, _, body = text.partition("\n\n")
        text = f"---\n{header.replace('title: ', 'title: ')}\n---\n{body}" if header.startswith(
            "title") else text
    (seeds / name).write_text(text, encoding="utf-8")


TICKS = itertools.count(time.time_ns() - 3600 * 10**9, 10**6)


def apply(seeds: Path, operation: tuple[str, str, str, int]) -> list[str]:
    """Carry out the operation; the paths it touched, as a watcher's events name them."""
    kind, name, other, text = operation
    path = seeds / name
    if kind in ("add", "modify") or not path.exists():
        write_seed(seeds, name, TEXTS[text] + ("" if kind == "add" else f" Update {text}."))
        # As if written a while ago (each write a tick later): the watcher then trusts
        # its cached reading of an unchanged file instead of reading it again
        tick = next(TICKS)
        os.utime(path, ns=(tick, tick))
    elif kind == "delete":
        path.unlink()
    elif kind == "rename" and not (seeds / other).exists():
        path.rename(seeds / other)
        return [os.fspath(path), os.fspath(seeds / other)]
    return [os.fspath(path)]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@functools.cache
def compiled_templates() -> Path:
    """A project's compiled-template cache, built once: copied into each new project so
    the hundreds of throwaway projects here do not each compile the theme again."""
    folder = Path(tempfile.mkdtemp(prefix="sitegen-warm-"))
    (folder / "seeds").mkdir()
    write_seed(folder / "seeds", "a.txt", TEXTS[0])
    build_site(load_config(project_dir=folder), now=lambda: NOW)
    return folder / ".sitegen" / "cache" / "templates"


def build(project: Path, search: bool, cache: BuildCache | None = None,
          search_later: bool = False, changed: list[str] | None = None) -> None:
    (project / "sitegen.toml").write_text(f"[search]\nenabled = {str(search).lower()}\n")
    if not (project / ".sitegen" / "cache").exists():
        shutil.copytree(compiled_templates(), project / ".sitegen" / "cache" / "templates")
    build_site(load_config(project_dir=project), now=lambda: NOW, cache=cache,
               search_later=search_later, changed=changed)


def check_incremental_equals_clean(operations: list[tuple[str, str, str, int]],
                                   search: bool, cache_kept: str = "in memory") -> None:
    """`cache_kept` "in memory": the builds share a BuildCache; "on disk": each build
    starts from the cache the last one left on disk; "both": as `sitegen watch` makes
    them, a BuildCache loaded from disk and saved after each build, the last build
    starting from what they saved. Builds sharing a cache are told what changed, as the
    watcher tells its builds."""
    with tempfile.TemporaryDirectory() as folder:
        live = Path(folder) / "live"
        (live / "seeds").mkdir(parents=True)
        write_seed(live / "seeds", "a.txt", TEXTS[0])
        cache = BuildCache() if cache_kept == "in memory" else None
        watched = cache_kept != "on disk"
        build(live, search, cache, search_later=search, changed=[] if watched else None)
        if cache_kept == "both":
            cache = load_cache(load_config(project_dir=live))[0]
        for number, operation in enumerate(operations):
            state_before = (live / ".sitegen/state.json").read_bytes()
            touched = apply(live / "seeds", operation)
            last = number == len(operations) - 1
            from_disk = cache_kept == "both" and last
            build(live, search, None if from_disk else cache, search_later=search,
                  changed=touched if watched and not from_disk else None)
            if search and number % 2:  # the watcher catches the index up when news pauses
                refresh_search(load_config(project_dir=live))
        if search:
            refresh_search(load_config(project_dir=live))
        clean = Path(folder) / "clean"
        shutil.copytree(live / "seeds", clean / "seeds")
        (clean / ".sitegen").mkdir()
        (clean / ".sitegen/state.json").write_bytes(state_before)
        build(clean, search)
        assert snapshot(live / "site") == snapshot(clean / "site")
        assert (live / ".sitegen/state.json").read_bytes() == \
            (clean / ".sitegen/state.json").read_bytes()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(OPERATIONS)
def test_incremental_builds_equal_a_clean_build(operations):
    check_incremental_equals_clean(operations, search=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, st.sampled_from([0.0, 10.0]))
def test_builds_from_the_cache_on_disk_equal_a_clean_build(operations, journal_share):
    """Each build saving the cache whole, or its changes to the journal (a small site
    changes by a good share of its cache with every article: past the default share)."""
    with mock.patch.object(buildcache, "JOURNAL_SHARE", journal_share):
        check_incremental_equals_clean(operations, search=False, cache_kept="on disk")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, st.sampled_from([0.0, 10.0]))
def test_builds_keeping_the_cache_in_memory_and_on_disk_equal_a_clean_build(
        operations, journal_share):
    """As `sitegen watch` keeps it: the journal appended to build after build by one
    process, then read by the next `sitegen build`."""
    with mock.patch.object(buildcache, "JOURNAL_SHARE", journal_share):
        check_incremental_equals_clean(operations, search=False, cache_kept="both")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_incremental_builds_equal_a_clean_build_search_index_included(operations):
    """As `sitegen watch` builds: the search index left behind, then caught up."""
    check_incremental_equals_clean(operations, search=True)
