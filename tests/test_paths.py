"""Nothing in a seed's file name or metadata, or in the state file, can make the build write
outside the output folder or make two pages share one file."""

from __future__ import annotations

import json
import os
import unicodedata

import pytest

from sitegen.errors import OutputError
from sitegen.text import WINDOWS_RESERVED
from sitegen.write import direct_writer

HOSTILE_NAMES = [
    "../../escape", "/etc/passwd", "..", ".", "...", "....", "CON", "nul", "Aux.txt", "com1",
    "LPT9", "x" * 300, "é" * 200, "../" * 40, "\\..\\..\\windows", "C:\\temp\\x", "~root",
    "a/b/c", "%2e%2e%2f", "\u202egnp.exe", "Ca\u0301fe", "Café", "CAFÉ", "café",
]


def seeds_for(names):
    files = {}
    for index, name in enumerate(names):
        body = f"Report {index}: dockers at the port of Calder met on the quay again."
        files[f"seeds/t{index:02}.md"] = (
            f"---\ntitle: {json.dumps(name)}\nsource: {json.dumps(name)}\n"
            f"date: 2025-05-{1 + index % 28:02}\n---\n{body}\n")
    return files


def assert_inside(project, before: set[str]) -> None:
    out, root = project.out, project.root
    after = {p.relative_to(root).as_posix() for p in project.paths()}
    outside = {p for p in after - before
               if not (p.startswith("site/") or p == "site" or p.startswith(".sitegen"))}
    assert outside == set()
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
        for part in path.relative_to(out).parts:
            assert len(part.encode()) <= 255
            assert part.strip(".")  # never a name made only of dots
            assert part.split(".")[0].lower() not in WINDOWS_RESERVED, path


def test_hostile_titles_and_outlets_stay_inside_the_output(make_site):
    project = make_site(seeds_for(HOSTILE_NAMES))
    before = {p.relative_to(project.root).as_posix() for p in project.paths()}
    report = project.build()
    assert report.articles == len(HOSTILE_NAMES)
    assert_inside(project, before)
    # Unicode variants of one outlet name share one outlet page; case variants too
    outlets = {p.name for p in (project.out / "outlets").iterdir()}
    assert "cafe" in outlets
    assert unicodedata.normalize("NFC", "Ca\u0301fe") == "Cáfe"


def test_hostile_seed_file_names_are_only_labels(make_site):
    names = ["x..txt", "a....txt", "CON.txt", "nul.md", ("y" * 250) + ".txt",
             "Caf\u00e9.txt", "Cafe\u0301.txt", "UPPER.txt", "upper.txt", " lead.txt"]
    files = {f"seeds/{name}": f"title: Dockers vote {i}\n\nThe dockers of Calder voted {i}."
             for i, name in enumerate(names)}
    project = make_site(files)
    before = {p.relative_to(project.root).as_posix() for p in project.paths()}
    report = project.build()
    assert report.articles == len(names)
    assert {a["seed"] for s in project.stories() for a in s["articles"]} == set(names)
    assert_inside(project, before)


def test_two_files_claiming_one_path_is_an_error_and_keeps_the_site(make_site):
    project = make_site({"static/Style.css": "a{}", "static/style.css": "b{}"}, samples=True)
    os.rename(project.root / "static", project.root / "static-later")
    project.build()
    previous = {p: p.read_bytes() for p in project.out.rglob("*") if p.is_file()}
    os.rename(project.root / "static-later", project.root / "static")
    with pytest.raises(OutputError, match="two pages claim one output file"):
        project.build()
    assert {p: p.read_bytes() for p in project.out.rglob("*") if p.is_file()} == previous


def test_links_leaving_or_looping_are_not_followed(make_site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("title: Private\n\nPassword is hunter2.")
    project = make_site(samples=True)
    (project.seeds / "leak.txt").symlink_to(secret)
    (project.seeds / "dir-leak").symlink_to(tmp_path)
    (project.seeds / "loop-a.txt").symlink_to(project.seeds / "loop-b.txt")
    (project.seeds / "loop-b.txt").symlink_to(project.seeds / "loop-a.txt")
    (project.root / "static").mkdir()
    (project.root / "static" / "passwd.css").symlink_to(secret)
    report = project.build()
    messages = {p.path: p.message for p in report.problems}
    assert "outside the seeds folder" in messages["leak.txt"]
    assert "outside the seeds folder" in messages["dir-leak"]
    assert "loops" in messages["loop-a.txt"] and "loops" in messages["loop-b.txt"]
    assert "not published" in messages["static/passwd.css"]
    assert report.articles == 2
    assert not (project.out / "static" / "passwd.css").exists()
    assert not any("hunter2" in p.read_text(errors="ignore")
                   for p in project.out.rglob("*") if p.is_file())


@pytest.mark.parametrize("slug", ["../../escape", "/abs", "..", "a/b", "UPPER", "x" * 200, 7])
def test_a_tampered_state_slug_is_reported_and_never_becomes_a_path(make_site, slug):
    project = make_site(samples=True)
    project.build()
    state_path = project.root / ".sitegen" / "state.json"
    state = json.loads(state_path.read_text())
    story_id = next(iter(state["stories"]))
    state["stories"][story_id]["slug"] = slug
    state_path.write_text(json.dumps(state))
    before = {p.relative_to(project.root).as_posix() for p in project.paths()}
    report = project.build()
    assert any("corrupt state" in p.message and "bad slug" in p.message
               for p in report.problems)
    assert_inside(project, before | {".sitegen/state.json.corrupt"})


@pytest.mark.parametrize("path", ["../escape/index.html", "/abs/index.html", "a/./b.html",
                                  "a//b.html"])
def test_a_page_written_where_it_is_rendered_stays_inside_the_staging_folder(tmp_path, path):
    """A first build's workers write their pages themselves (write.direct_writer): the
    path is checked there, before anything is made."""
    out = tmp_path / "out" / "site"
    write_page = direct_writer(out, tmp_path / "spare")
    assert write_page is not None
    with pytest.raises(OutputError, match="would leave the output folder"):
        write_page(path, b"x")
    assert not any(tmp_path.rglob("*.html")) and not (tmp_path / "escape").exists()
    write_page("a/index.html", b"x")
    assert (out.with_name(".site.staging") / "a" / "index.html").read_bytes() == b"x"
    out.mkdir()
    assert direct_writer(out, tmp_path / "spare") is None
