"""The seed listing: the walk of the seeds folder, and the same listing brought up to date
from the paths a watcher saw change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sitegen.seedfiles import list_seeds, relist_seeds


def write(seeds: Path, files: dict[str, str]) -> list[str]:
    for name, content in files.items():
        path = seeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return [os.fspath(seeds / name) for name in files]


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    write(folder, {"b.txt": "title: B\n\nb", "a.md": "# A\n\na", "notes.docx": "x",
                   "a/inner.txt": "title: Inner\n\ni", "z/deep/c.json": '{"title": "C"}'})
    return folder


def test_relisting_the_changed_paths_gives_what_a_walk_gives(seeds):
    before = list_seeds(seeds)
    changed = write(seeds, {"a.txt": "title: New\n\nn", "a/0.md": "# Zero\n\nz",
                            "z/deep/b.jsonl": "{}", "a.md": "# A again\n\nlonger now",
                            "report.pdf": "%PDF", ".hidden.txt": "h", "b.txt~": "backup"})
    (seeds / "b.txt").unlink()
    (seeds / "notes.docx").unlink()
    changed += [os.fspath(seeds / "b.txt"), os.fspath(seeds / "notes.docx"),
                os.fspath(seeds.parent / "templates" / "page.html")]  # not a seed: no concern
    after = relist_seeds(seeds, before, changed)
    walked = list_seeds(seeds)
    assert after is not None
    assert after.files == walked.files
    assert after.problems == walked.problems
    assert [label for _, label, _ in after.files] == [
        "a/0.md", "a/inner.txt", "a.md", "a.txt", "z/deep/b.jsonl", "z/deep/c.json"]
    assert [p.path for p in after.problems] == ["report.pdf"]
    assert [label for _, label, _ in before.files] == [
        "a/inner.txt", "a.md", "b.txt", "z/deep/c.json"]  # the listing given is kept as it was


def test_folders_links_and_the_seeds_folder_itself_call_for_a_walk(seeds, tmp_path):
    before = list_seeds(seeds)
    write(seeds, {"new/x.txt": "title: X\n\nx"})
    assert relist_seeds(seeds, before, [os.fspath(seeds / "new")]) is None
    for gone in sorted((seeds / "z").rglob("*"), reverse=True):
        gone.unlink() if gone.is_file() else gone.rmdir()
    (seeds / "z").rmdir()
    assert relist_seeds(seeds, before, [os.fspath(seeds / "z")]) is None  # was a folder
    (seeds / "link.txt").symlink_to(seeds / "b.txt")
    assert relist_seeds(seeds, before, [os.fspath(seeds / "link.txt")]) is None
    assert relist_seeds(seeds, before, [os.fspath(seeds)]) is None
    assert relist_seeds(seeds, before, [os.fspath(tmp_path)]) is None


def test_a_seed_named_through_a_link_to_the_folder_is_relisted(seeds, tmp_path):
    """Events may name the seeds folder by its real path (macOS reports /private/tmp for
    /tmp): the listing keeps naming files as the walk does."""
    (tmp_path / "alias").symlink_to(seeds)
    before = list_seeds(tmp_path / "alias")
    write(seeds, {"new.txt": "title: New\n\nn"})
    after = relist_seeds(tmp_path / "alias", before, [os.fspath(seeds / "new.txt")])
    assert after is not None
    assert after.files == list_seeds(tmp_path / "alias").files
    assert os.fspath(tmp_path / "alias" / "new.txt") in [path for path, _, _ in after.files]



def test_a_pipe_or_a_link_to_nothing_named_like_a_seed_is_told_of_not_read(seeds):
    """Skipped (reading a pipe would hang the build), but never silently: the person
    who put it there learns why its article is missing."""
    before = list_seeds(seeds)
    os.mkfifo(seeds / "pipe.md")
    (seeds / "a" / "dangling.txt").symlink_to(seeds / "a" / "nowhere.txt")
    os.mkfifo(seeds / "pipe.log")  # not named like a seed: not a seed's business
    walked = list_seeds(seeds)
    told = {p.path: p.message for p in walked.problems}
    assert told["pipe.md"] == told["a/dangling.txt"] == \
        "not a regular file (a link to nothing, a pipe, a socket or a device); skipped"
    assert "pipe.log" not in told
    assert [label for _, label, _ in walked.files] == [label for _, label, _ in before.files]
    relisted = relist_seeds(seeds, before, [os.fspath(seeds / "pipe.md")])
    assert relisted is not None
    assert [p.path for p in relisted.problems] == ["notes.docx", "pipe.md"]
    assert relisted.files == before.files
