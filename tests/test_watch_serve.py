"""`sitegen watch` and `sitegen serve`: debounced rebuilds that survive errors, and a
server under the base path that tells open pages to reload after each build."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest

from sitegen import build_site, ingest, load_config, render, uptodate, watch
from sitegen.build import load_cache
from sitegen.serve import RELOAD_PATH, ReloadSignal, make_server
from sitegen.watch import Watcher
from tests.conftest import spy


def seed(n: int) -> str:
    return f"title: Report number {n} about topic {n}\n\nUnique words zq{n}x and yv{n}w here."


class Running:
    """A Watcher on a project, in a thread, with its build outcomes."""

    def __init__(self, project, quiet: float = 0.3) -> None:
        self.project = project
        self.outcomes: list = []
        self.stop = threading.Event()
        self.watcher = Watcher(lambda: load_config(project_dir=project.root), quiet=quiet,
                               on_build=self.outcomes.append)
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        self.wait_for(lambda: len(self.outcomes) >= 1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def wait_for(self, condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out; builds: {self.outcomes}")

    def seeds_in_site(self) -> set[str]:
        try:
            data = json.loads((self.project.out / "stories.json").read_text())
        except (OSError, ValueError):
            return set()
        return {a["seed"] for s in data["stories"] for a in s["articles"]}


def test_a_burst_of_files_gives_few_builds_and_deletes_and_renames_are_seen(make_site):
    project = make_site({"seeds/first.txt": seed(0)})
    with Running(project) as running:
        for n in range(1, 41):
            project.write(f"seeds/burst/{n:02d}.txt", seed(n))
        expected = {"first.txt"} | {f"burst/{n:02d}.txt" for n in range(1, 41)}
        # stories.json is swapped in just before the build's outcome is reported
        running.wait_for(lambda: running.seeds_in_site() == expected
                         and len(running.outcomes) >= 2)
        time.sleep(1.0)  # any build still due would start within the quiet period
        burst_builds = len(running.outcomes) - 1
        assert 1 <= burst_builds <= 3
        (project.seeds / "burst/01.txt").unlink()
        (project.seeds / "burst/02.txt").rename(project.seeds / "renamed.txt")
        expected = (expected - {"burst/01.txt", "burst/02.txt"}) | {"renamed.txt"}
        running.wait_for(lambda: running.seeds_in_site() == expected)
    assert all(o.error is None for o in running.outcomes)
    assert any("renamed.txt" in " ".join(o.triggers) for o in running.outcomes)


def test_the_watcher_starts_from_the_build_cache_and_keeps_it(make_site, monkeypatch):
    """The first article to arrive after `sitegen watch` starts is read alone (not the
    whole archive again), and a `sitegen build` after the watcher's builds renders only
    what changed since them: the watcher saved the cache it kept."""
    project = make_site({f"seeds/{n}.txt": unrelated(n) for n in range(8)})
    an_hour_ago = time.time() - 3600  # not "racy": their readings are trusted
    for path in project.seeds.iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    project.build()
    pages = sum(1 for path in project.out.rglob("*.html"))
    read, rendered = [], []
    monkeypatch.setattr(ingest, "read_seed_articles", spy(ingest.read_seed_articles, read))
    monkeypatch.setattr(render, "_render", spy(render._render, rendered))
    with Running(project) as running:
        project.write("seeds/new.txt", unrelated(98))
        running.wait_for(lambda: "new.txt" in running.seeds_in_site())
    assert [path.name for path, *_ in read] == ["new.txt"]
    assert all(o.error is None for o in running.outcomes)
    read.clear()
    rendered.clear()
    project.write("seeds/later.txt", unrelated(99))
    project.build()
    # new.txt is read again: written within two seconds of its reading, it was "racy"
    assert sorted(path.name for path, *_ in read) == ["later.txt", "new.txt"]
    assert 0 < len(rendered) < pages / 2


def test_watched_builds_walk_the_inputs_only_for_a_record_to_compare(make_site,
                                                                     monkeypatch):
    """A build that leaves the search index behind (as a watcher's do) records nothing,
    so the watcher's builds find no record to compare a walk of every input with."""
    project = make_site({"seeds/a.txt": unrelated(1)})
    config = load_config(project_dir=project.root)
    cache = load_cache(config)[0]
    walks: list = []
    monkeypatch.setattr(uptodate, "inputs", spy(uptodate.inputs, walks))
    assert not build_site(config, cache=cache, search_later=True).up_to_date
    project.write("seeds/b.txt", unrelated(2))
    assert not build_site(config, cache=cache, search_later=True).up_to_date
    assert walks == []
    an_hour_ago = time.time() - 3600  # not "racy": a build records them
    for path in project.seeds.iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    project.build()  # `sitegen build` records its inputs: the watcher may find it is done
    assert build_site(config, cache=cache, search_later=True).up_to_date
    assert len(walks) == 2


def test_a_watched_build_looks_only_at_the_seeds_events_named(make_site, monkeypatch):
    """Told what changed, a build brings the last build's listing up to date rather than
    walking the seeds folder; not told (None, as for `sitegen build`), it walks."""
    project = make_site({f"seeds/{n}.txt": unrelated(n) for n in range(4)})
    config = load_config(project_dir=project.root)
    cache = load_cache(config)[0]
    build_site(config, cache=cache, search_later=True, changed=())
    scans: list = []
    monkeypatch.setattr(os, "scandir", spy(os.scandir, scans))
    new = project.write("seeds/new.txt", unrelated(9))
    (project.seeds / "0.txt").unlink()
    build_site(config, cache=cache, search_later=True,
               changed=[os.fspath(new), os.fspath(project.seeds / "0.txt")])
    seeds = {a["seed"] for s in project.stories() for a in s["articles"]}
    assert seeds == {"1.txt", "2.txt", "3.txt", "new.txt"}
    assert not [folder for folder, *_ in scans if os.fspath(folder) == os.fspath(project.seeds)]
    build_site(config, cache=cache, search_later=True, changed=None)
    assert [folder for folder, *_ in scans if os.fspath(folder) == os.fspath(project.seeds)]


def test_a_seed_whose_events_were_lost_is_found_once_things_are_quiet(make_site,
                                                                      monkeypatch):
    """The kernel drops events when its queue overflows: the watcher walks the seeds
    folder when idle and builds again when a build's listing from events missed one."""
    project = make_site({"seeds/a.txt": unrelated(1)})
    collect = watch._Collector.on_any_event
    monkeypatch.setattr(watch._Collector, "on_any_event", lambda self, event: None
                        if "lost" in str(event.src_path) else collect(self, event))
    with Running(project) as running:
        project.write("seeds/lost.txt", unrelated(2))
        project.write("seeds/seen.txt", unrelated(3))
        running.wait_for(lambda: "seen.txt" in running.seeds_in_site())
        running.wait_for(lambda: "lost.txt" in running.seeds_in_site(),
                         timeout=watch.SEARCH_IDLE_SECONDS + 30)
    assert all(o.error is None for o in running.outcomes)
    assert [o.triggers for o in running.outcomes if not o.search][-1] == (
        os.fspath(project.seeds),)


def unrelated(n: int) -> str:
    """A seed sharing no word with another one: a story of its own."""
    return f"title: Kx{n}a ly{n}b\n\nMz{n}c nw{n}d ov{n}e pu{n}f qt{n}g rs{n}h."


def test_editor_files_and_the_output_folder_do_not_trigger_builds(make_site):
    project = make_site({"seeds/a.txt": seed(1)})
    with Running(project, quiet=0.2) as running:
        project.write("seeds/.a.txt.swp", b"\x00swap")
        project.write("seeds/a.txt~", seed(2))
        project.write("site/extra.html", "<p>written by someone else</p>")
        project.write(".sitegen/cache/x", "cache")
        time.sleep(1.5)
        assert len(running.outcomes) == 1


def test_a_broken_template_keeps_the_last_good_site_and_the_watcher_running(make_site):
    project = make_site({"seeds/a.txt": seed(1)})
    with Running(project) as running:
        good = (project.out / "index.html").read_bytes()
        project.write("templates/index.html", "{% if %}")
        running.wait_for(lambda: len(running.outcomes) >= 2)
        assert "templates/index.html:1" in running.outcomes[-1].error
        assert (project.out / "index.html").read_bytes() == good
        project.write("templates/index.html",  # fixed: extends the built-in one again
                      "{% extends 'sitegen:index.html' %}{% block title %}Mine{% endblock %}")
        running.wait_for(lambda: len(running.outcomes) >= 3)
        assert running.outcomes[-1].error is None
        assert "<title>Mine</title>" in (project.out / "index.html").read_text()
        project.write("seeds/b.txt", seed(2))
        running.wait_for(lambda: running.seeds_in_site() == {"a.txt", "b.txt"}
                         and len(running.outcomes) >= 4)
        assert running.outcomes[-1].error is None


@pytest.fixture
def server(tmp_path):
    site = tmp_path / "site"
    (site / "stories/a").mkdir(parents=True)
    (site / "index.html").write_text("<html><body><h1>Front</h1></body></html>")
    (site / "stories/a/index.html").write_text("<html><body><h1>A</h1></body></html>")
    (site / "404.html").write_text("<html><body><h1>Not here</h1></body></html>")
    (site / "style.css").write_text("body{}")
    signal = ReloadSignal()
    httpd = make_server(site, "/repo/", signal, port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", signal
    httpd.shutdown()
    httpd.server_close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_under_the_base_path_with_the_reload_script(server):
    origin, _ = server
    status, body = get(origin + "/repo/")
    assert status == 200 and "<h1>Front</h1>" in body and RELOAD_PATH in body
    assert get(origin + "/repo/stories/a/")[0] == 200
    assert get(origin + "/repo/style.css") == (200, "body{}")
    status, body = get(origin + "/repo/nowhere/")
    assert status == 404 and "Not here" in body
    assert get(origin + "/")[1].count("Front") == 1  # redirected to /repo/


def test_reload_is_announced_only_after_a_build(server):
    origin, signal = server
    answers: list[str] = []
    waiting = threading.Thread(
        target=lambda: answers.append(get(f"{origin}{RELOAD_PATH}?since=0")[1]))
    waiting.start()
    time.sleep(0.5)
    assert answers == []  # nothing built yet: the browser keeps waiting
    signal.bump()
    waiting.join(timeout=10)
    assert answers == ["reload"]
