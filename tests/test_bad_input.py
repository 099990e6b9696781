"""Bad seeds get one warning naming the file (and line), and everything else still builds."""

from __future__ import annotations

import pickle

import pytest

from sitegen import TemplateError
from sitegen.errors import ConfigError, MissingPage, Problem
from tests.conftest import warnings_for

GOOD = {"seeds/good.txt": "title: Good article\n\nA perfectly normal article body."}


@pytest.mark.parametrize(
    ("name", "content", "expected", "line"),
    [
        ("empty.txt", b"", "empty file", None),
        ("blank.md", b"  \n\n", "empty file", None),
        ("binary.txt", bytes(range(256)) * 4, "binary file", None),
        ("broken.json", b'{"title": "x",\n "text": }', "not valid JSON", 2),
        ("bad-date.md", b"---\ntitle: Leap\ndate: 2025-02-30\n---\nBody.", "no such day", 3),
        ("bad-yaml.md", b"---\ntitle: [unclosed\n---\nBody.", "not valid YAML", None),
        ("list-fm.md", b"---\n- a\n- b\n---\nBody.", "must be a mapping", 2),
        ("notes.docx", b"PK\x03\x04", "not a seed format", None),
    ],
)
def test_bad_seed_warns_with_file_and_line_and_the_rest_builds(make_site, name, content,
                                                                expected, line):
    project = make_site({**GOOD, f"seeds/{name}": content})
    report = project.build()
    messages = warnings_for(report, name)
    assert len(messages) == 1, messages
    assert expected in messages[0]
    if line is not None:
        assert messages[0].startswith(f"{name}:{line}:")
    assert any(a["seed"] == "good.txt" for s in project.stories() for a in s["articles"])


def test_impossible_date_keeps_the_article_undated(make_site):
    project = make_site({"seeds/leap.md": "---\ntitle: Leap\ndate: 2025-02-30\n---\nBody."})
    project.build()
    assert project.article("leap.md")["date"] is None


def test_jsonl_bad_line_costs_only_that_line(make_site):
    project = make_site({"seeds/feed.jsonl": '{"title": "A", "text": "Alpha."}\n{oops\n'
                                             '{"title": "B", "text": "Beta."}\n'})
    report = project.build()
    assert [str(p) for p in report.problems] == [
        "feed.jsonl:2: not valid JSON: Expecting property name enclosed in double quotes"]
    assert len([a for s in project.stories() for a in s["articles"]]) == 2


def test_json_wrong_types_are_reported_and_ignored(make_site):
    project = make_site({"seeds/a.json": '[{"title": ["x"], "text": "Body text."}, 7]'})
    report = project.build()
    messages = warnings_for(report, "a.json")
    assert any("title must be a string" in m for m in messages)
    assert any("a.json#1" in m and "must be a JSON object" in m for m in messages)
    assert project.article("a.json#0")["title"] == "Body text"


def test_cp1252_text_is_decoded_right(make_site):
    text = ("title: Café owners protest\n\nThe café owners of Zürich said the new “tax” is "
            "unfair – and promised to keep protesting until the council changes its mind. "
            "Their spokesperson, Renée Müller, called it “a disgrace”.\n")
    project = make_site({"seeds/legacy.txt": text.encode("cp1252")})
    report = project.build()
    messages = warnings_for(report, "legacy.txt")
    assert len(messages) == 1 and "not valid UTF-8" in messages[0]
    article = project.article("legacy.txt")
    assert article["title"] == "Café owners protest"
    body = project.page(article["url"]).select_one(".body").get_text()
    assert "“tax”" in body and "Renée Müller" in body and "–" in body


def test_template_syntax_error_names_file_and_line_and_keeps_previous_site(make_site):
    project = make_site(GOOD)
    project.build()
    before = {p: p.read_bytes() for p in project.out.rglob("*") if p.is_file()}
    project.write("templates/story.html", "{% extends 'base.html' %}\n{% block main %}\n"
                                          "{{ story.headline \n{% endblock %}\n")
    with pytest.raises(TemplateError) as caught:
        project.build()
    problem = caught.value.problems[0]
    assert problem.path.endswith("templates/story.html")
    assert problem.line is not None and problem.line >= 3
    after = {p: p.read_bytes() for p in project.out.rglob("*") if p.is_file()}
    assert after == before


def test_missing_seeds_folder_is_an_error(make_site, tmp_path):
    project = make_site()
    with pytest.raises(Exception, match="seeds folder not found"):
        project.build(seeds_dir=tmp_path / "nowhere")


def test_output_folder_that_is_not_a_site_is_left_alone(make_site):
    project = make_site(GOOD)
    project.write("site/precious.txt", "do not delete")
    with pytest.raises(Exception, match="does not look like a sitegen site"):
        project.build()
    assert (project.out / "precious.txt").read_text() == "do not delete"


@pytest.mark.parametrize("error", [
    TemplateError(Problem("templates/story.html", 3, "error rendering stories/a/index.html")),
    ConfigError([Problem("sitegen.toml", 2, "unknown key"), Problem("sitegen.toml", 5, "bad")]),
    MissingPage("stories/a/index.html")])
def test_an_error_raised_in_a_worker_reaches_the_build_whole(error):
    """Pages are rendered in worker processes: what fails there comes back pickled."""
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert again.problems == error.problems and str(again) == str(error)
