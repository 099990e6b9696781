"""Atomic and durable: a build killed with SIGKILL at any moment leaves the whole previous
site or the whole new one, and a readable state file; two builds of one project never
interleave."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2.bccache import bc_magic

from sitegen import build_site, buildcache, load_config, search
from sitegen.errors import MissingPage, OutputError, SitegenError
from sitegen.model import Kept, Page
from sitegen.state import load_state
from sitegen.write import update_folder, write_site
from tests.conftest import wait_until

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KILLS = 50
TOPICS = ["harbour strike", "river flood", "cup final", "bridge opening", "bank rates",
          "heat wave", "school strike", "rail fares"]


def snapshot(site: Path) -> dict[str, str]:
    if not site.is_dir():
        return {}
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


def seed(project: Path, number: int) -> None:
    topic = TOPICS[number % len(TOPICS)]
    (project / "seeds" / f"s{number:03}.txt").write_text(
        f"title: News about the {topic}, part {number}\ndate: 2025-05-{1 + number % 28:02}\n\n"
        f"Officials said the {topic} continued on day {number}. Residents spoke of the "
        f"{topic} at length; \"We have seen nothing like it,\" one said.", encoding="utf-8")


def copy_keeping_links(source: Path, copy: Path) -> None:
    """A copy that makes the same file operations when built: the site set aside for the
    next build shares files with the live one (hard links), as it must in the copy. Not
    the indexing folders, which a killed build's indexer may be removing meanwhile."""
    packed = subprocess.run(["tar", "-C", str(source), "--exclude=./.sitegen/cache/indexing",
                             "-cf", "-", "."], check=True, capture_output=True).stdout
    copy.mkdir()
    subprocess.run(["tar", "-C", str(copy), "-xf", "-"], input=packed, check=True)


def build(project: Path) -> None:
    build_site(load_config(None, project_dir=project), now=lambda: NOW)


def expected_state(project: Path) -> tuple[dict[str, str], bytes]:
    """What a complete build of the project gives (build it first)."""
    return snapshot(project / "site"), (project / ".sitegen" / "state.json").read_bytes()


FILE_OPERATIONS = [(os, "rename"), (os, "replace"), (os, "link"), (os, "unlink"),
                   (os, "rmdir"), (os, "mkdir"), (os, "fsync"), (Path, "write_bytes")]


def die_before_operation(number: int) -> list[int]:
    """In this (child) process: SIGKILL itself just before its `number`th file operation.
    Returns the running count."""
    count = [0]

    def wrap(function):
        def operation(*args, **kwargs):
            count[0] += 1
            if count[0] == number:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(*args, **kwargs)
        return operation

    for owner, name in FILE_OPERATIONS:
        setattr(owner, name, wrap(getattr(owner, name)))
    return count


def killed_build(project: Path, *, delay: float = 0.0, operation: int = 0,
                 report: Path | None = None) -> bool:
    """Build in a forked child, SIGKILLed after `delay` seconds, or else just before its
    `operation`th file operation; True if it was killed before finishing. The child writes
    its count of file operations to `report` if it finishes."""
    with os.fdopen(os.open(report or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                   "w") as out:
        pid = os.fork()
        if pid == 0:  # the child: build, then leave at once, whatever happened
            try:
                count = die_before_operation(operation)
                build(project)
                out.write(str(count[0]))
                out.flush()
            finally:
                os._exit(0)
    if delay:
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def test_sigkill_at_random_points_leaves_a_whole_site_and_a_readable_state(tmp_path):
    """Kill points: before a random file operation of the build (every rename, link,
    write, fsync and removal can be hit), or at a random moment (also mid-operation).
    Each run first builds a copy of the project in full, to know the new site and state
    and how many file operations the build makes."""
    project, scratch = tmp_path / "project", tmp_path / "scratch"
    (project / "seeds").mkdir(parents=True)
    (project / "sitegen.toml").write_text("[search]\nenabled = false\n")
    for number in range(12):
        seed(project, number)
    build(project)
    rng = random.Random(20261122)
    killed = swapped = 0
    for run in range(KILLS):
        previous = expected_state(project)
        if run % 3 == 2:
            (project / "seeds" / f"s{rng.randrange(12 + run):03}.txt").unlink(missing_ok=True)
        seed(project, 12 + run)
        search = "true" if run % 5 == 0 else "false"  # the index is slow; a fifth have one
        (project / "sitegen.toml").write_text(f"[search]\nenabled = {search}\n")
        shutil.rmtree(scratch, ignore_errors=True)
        copy_keeping_links(project, scratch)
        start = time.perf_counter()
        killed_build(scratch, report=tmp_path / "operations")
        duration = time.perf_counter() - start
        operations = int((tmp_path / "operations").read_text())
        new = expected_state(scratch)
        if run % 5 == 4:
            killed += killed_build(project, delay=rng.uniform(0, duration))
        else:
            killed += killed_build(project, operation=rng.randint(1, operations))
        after = expected_state(project)
        assert after[0] in (previous[0], new[0]), f"run {run}: a mixed or missing site"
        # the site is swapped in before the state is saved: a kill in between leaves the
        # new site with the old state, which rebuilds to the same site
        assert after[1] in (previous[1], new[1]), f"run {run}: a torn state file"
        assert after[0] == new[0] or after[1] == previous[1], f"run {run}: state without site"
        swapped += after[0] == new[0]
        state, problems = load_state(project / ".sitegen" / "state.json")
        assert problems == [] and state.stories
    print(f"{KILLS} kill points: {killed} builds killed, {swapped} of them after the new site "
          "was swapped in; 0 incomplete sites, 0 corrupt state files")
    assert killed >= KILLS * 0.8 and 0 < swapped < KILLS
    build(project)  # and the next build cleans up after the killed ones
    assert not list(project.glob(".site.*"))
    shutil.rmtree(scratch)
    shutil.copytree(project, scratch)
    build(scratch)
    assert expected_state(project) == expected_state(scratch)


def test_a_second_build_waits_for_the_first(tmp_path):
    from tests.conftest import SAMPLE_SEEDS

    project = tmp_path / "project"
    shutil.copytree(SAMPLE_SEEDS, project / "seeds")
    config = load_config(None, project_dir=project)
    holder = threading.Event()
    release = threading.Event()
    from sitegen.files import exclusive

    def first() -> None:
        with exclusive(project / ".sitegen" / "build.lock", 5):
            holder.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    holder.wait(5)
    waited: list[str] = []
    with pytest.raises(SitegenError, match=f"another build of this project is running "
                                           f"\\(process {os.getpid()}\\)"):
        build_site(config, on_wait=waited.append, lock_wait=0.3)
    assert waited == [str(os.getpid())]
    assert not (project / "site").exists()  # refused before touching anything
    threading.Timer(0.3, release.set).start()
    report = build_site(config, on_wait=waited.append, lock_wait=10)
    thread.join()
    assert report.articles == 2
    assert json.loads((project / "site" / "stories.json").read_text())["stories"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "valid header", "empty"])
def test_a_corrupt_cache_is_detected_rebuilt_and_reported(make_site, damage):
    project = make_site(samples=True)
    project.build()
    built = snapshot(project.out)
    cached = sorted((project.root / ".sitegen" / "cache" / "templates").iterdir())
    assert cached
    for path in cached:
        data = path.read_bytes()
        path.write_bytes({"garbage": os.urandom(300), "truncated": data[:len(data) // 2],
                          "valid header": bc_magic + b"\x80\x04garbage" + data[60:],
                          "empty": b""}[damage])
    # without the last build's page memo, every page is rendered: every template loaded
    (project.root / ".sitegen" / "cache" / buildcache.FILE).unlink()
    report = project.build()
    assert snapshot(project.out) == built
    reported = {p.path for p in report.problems if "corrupt cache file" in p.message}
    if damage != "empty":  # an empty file is what an interrupted first write leaves
        assert reported == {f".sitegen/cache/templates/{p.name}" for p in cached}
    assert project.build().problems == ()  # compiled again and stored


@pytest.mark.parametrize("damage", ["garbage", "truncated", "not a cache"])
def test_a_corrupt_build_cache_is_reported_and_the_site_built_all_the_same(make_site,
                                                                           damage):
    project = make_site(samples=True)
    config = load_config(None, project_dir=project.root)
    build_site(config, now=lambda: NOW)
    built = snapshot(project.out)
    stored = project.root / ".sitegen" / "cache" / buildcache.FILE
    header, _, pickled = stored.read_bytes().partition(b"\n")
    stored.write_bytes({"garbage": os.urandom(300),
                        "truncated": header + b"\n" + pickled[:len(pickled) // 2],
                        "not a cache": header + b"\n" + pickle.dumps(["seeds"])}[damage])
    report = build_site(config, now=lambda: NOW, recluster=True)  # not up to date: a build
    assert snapshot(project.out) == built
    assert [p.path for p in report.problems if "corrupt cache file" in p.message] == \
        [".sitegen/cache/build.pickle"]
    again = build_site(config, now=lambda: NOW, recluster=True)
    assert again.problems == ()  # saved anew by the build that found it corrupt


def test_a_failed_search_index_fails_the_build_and_keeps_the_site(make_site, monkeypatch):
    project = make_site(samples=True)
    project.build()
    built, state = snapshot(project.out), (project.root / ".sitegen" / "state.json").read_bytes()
    project.write("seeds/new.txt", "title: Bridge closed\n\nEngineers closed the bridge.")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(project.root / "no-such-program"))
    with pytest.raises(SitegenError) as failed:
        build_site(load_config(None, project_dir=project.root), now=lambda: NOW)
    assert "search indexing failed" in str(failed.value)
    assert "no-such-program" in str(failed.value)
    assert snapshot(project.out) == built
    # the new state is worked out while the index is made, and saved only with the site
    assert (project.root / ".sitegen" / "state.json").read_bytes() == state


def test_the_indexing_folder_of_a_killed_build_goes_with_the_next_build(make_site):
    """Indexing works in the project's cache; what a killed build left there (its
    bundle) the next build that indexes removes. The records stay, for the next build."""
    project = make_site(samples=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    work = project.root / ".sitegen" / "cache" / "indexing"
    left = work / f"{gone.pid}-killed"
    left.mkdir(parents=True)
    (left / "bundle.pickle").write_bytes(b"left behind")
    project.build()
    assert (project.out / "pagefind" / "shards.json").is_file()
    # the build's own folder goes in the background
    assert wait_until(lambda: [path.name for path in work.iterdir()] == [search.RECORDS]), \
        list(work.iterdir())


def test_a_site_set_aside_by_a_failed_write_is_not_taken_for_the_one_it_was(tmp_path):
    """The next build stages into the site the last one set aside, and where the write
    said what that site shares with the live one, looks at nothing else. A write that
    fails halfway has staged some of its files into it: the one after must not trust
    what was said of it."""
    out, spare = tmp_path / "site", tmp_path / "spare"

    def pages(a: bytes | None, b: bytes | None) -> list[Page]:
        return [Page("stories.json", b"{}"), Page("a.html", a, unchanged=a is None),
                Page("b.html", b, unchanged=b is None)]

    def failing() -> Iterator[Page]:
        yield from pages(b"a3", b"b3 of a build that failed")
        raise RuntimeError("template error")

    write_site(pages(b"a1", b"b1"), [], out, spare=spare)
    report = write_site(pages(b"a2", None), [], out, spare=spare)
    assert report.spare is not None and "b.html" not in report.spare.differs
    with pytest.raises(RuntimeError):
        write_site(failing(), [], out, spare=spare, spare_site=report.spare)
    assert (out / "b.html").read_bytes() == b"b1"
    write_site(pages(None, None), [], out, spare=spare, spare_site=report.spare)
    assert (out / "a.html").read_bytes() == b"a2"
    assert (out / "b.html").read_bytes() == b"b1"


def test_files_no_longer_made_go_with_the_folders_they_leave_empty(tmp_path):
    """Staged (into the spare, which has them) or in place."""
    out, spare = tmp_path / "site", tmp_path / "spare"
    marker, kept = Page("stories.json", b"{}"), Page("a/kept.html", b"k")
    every = [marker, kept, *(Page(f"a/b/{n}/{m}.html", b"x") for n in range(3) for m in range(3))]
    write_site(every, [], out, spare=spare)
    report = write_site(every, [], out, spare=spare)
    for _ in range(2):
        report = write_site([marker, kept], [], out, spare=spare, spare_site=report.spare)
        assert report.spare is not None
        assert not (out / "a" / "b").exists()
        assert (out / "a" / "kept.html").read_bytes() == b"k"
    update_folder(out, "a", [])
    assert not (out / "a").exists() and (out / "stories.json").is_file()


@pytest.mark.parametrize("in_place", [False, True])
def test_kept_pages_are_the_live_files_and_may_not_share_a_path(tmp_path, in_place):
    """Pages the memo knows unchanged come by path alone (Kept), staged into the spare or
    left in place; a kept path is claimed like any other."""
    out, spare = tmp_path / "site", tmp_path / "spare"
    marker = Page("stories.json", b"{}")
    first = write_site([marker, Page("a/index.html", b"a"), Page("b/index.html", b"b")], [],
                       out, spare=spare)
    since = {"previous_paths": first.paths} if in_place else {"spare": spare,
                                                              "spare_site": first.spare}
    report = write_site([Page("stories.json", b'{"a": 1}'), Kept(["a/index.html"])], [], out,
                        **since)
    assert (out / "a" / "index.html").read_bytes() == b"a"
    assert not (out / "b").exists() and report.removed == 1 and report.written == 1
    assert "a/index.html" in report.paths and report.unchanged >= 1
    live = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(OutputError, match="two pages claim one output file"):
        write_site([marker, Page("A/index.html", b"new"), Kept(["a/index.html"])], [], out,
                   **({"previous_paths": report.paths} if in_place else {"spare": spare}))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == live


def test_a_kept_page_missing_from_the_live_site_is_said_to_be(tmp_path):
    out, spare = tmp_path / "site", tmp_path / "spare"
    write_site([Page("stories.json", b"{}"), Page("a/index.html", b"a")], [], out, spare=spare)
    (out / "a" / "index.html").unlink()
    with pytest.raises(MissingPage):
        write_site([Page("stories.json", b"{}"), Kept(["a/index.html"])], [], out,
                   spare=spare)


def test_a_folder_updated_in_place_keeps_its_kept_files_and_drops_the_others(tmp_path):
    out = tmp_path / "site"
    write_site([Page("stories.json", b"{}"), Page("f/a.js", b"a"), Page("f/b.js", b"b"),
                Page("f/c.js", b"c")], [], out)
    report = update_folder(out, "f", [Kept(["f/a.js", "f/b.js"]), Page("f/d.js", b"d")])
    assert sorted(p.name for p in (out / "f").iterdir()) == ["a.js", "b.js", "d.js"]
    assert (report.written, report.unchanged, report.removed) == (1, 2, 1)
    with pytest.raises(OutputError, match="not under f/"):
        update_folder(out, "f", [Kept(["f/a.js", "g/b.js"])])
    assert (out / "f" / "b.js").read_bytes() == b"b"
