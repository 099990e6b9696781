"""Fuzzing: whatever the seeds hold, ingest and the whole build finish quickly, without a
traceback, naming every rejected seed in a warning, and every valid article is built.

Hypothesis writes the hostile seeds; `deadline` turns a hang (or a quadratic blow-up) into
a failure. The example counts are the figures reported for the issue.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen import build_site, load_config
from sitegen.ingest import INTERNAL_ERROR, MAX_BODY_CHARS, read_articles

NO_SEARCH = "[search]\nenabled = false\n"
SUFFIXES = [".txt", ".md", ".json", ".jsonl", ".markdown"]
VALID = ("title: Harbour strike ends in Calder\ndate: 2025-03-01\n\nDockers in Calder voted "
         "to accept the pay offer on Monday, ending the strike at the harbour.")

# Every kind of character: controls and NUL, surrogate-free astral emoji, bidirectional
# overrides, combining marks, private use; plus the ones that mean something in our formats.
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=400)
HOSTILE_PIECES = st.sampled_from([
    "\x00", "\u202e", "\u2066", "\u200b", "\ufeff", "\r", "\r\n", "\x1b[31m", "😀", "e\u0301",
    "---\n", "...\n", "&a", "*a", "!!python/object:os.system", "{", "[", "]", "}", '"',
    "title:", "date:", "tags:", "<script>", "]]>", "`", "> ", "- ", "1. ", "#", "|", "\\",
    "9" * 5000, "1e999", "NaN", "-0", "0000-00-00", "99999-12-31", "\t", " " * 50,
])
HOSTILE_TEXT = st.lists(st.one_of(ANY_TEXT, HOSTILE_PIECES), max_size=12).map("".join)
YAML_VALUES = st.sampled_from([
    "[1, 2]", "{a: 1}", "&x [*x]", "!!binary aGVsbG8=", "!!float .nan", "~", "''", "|\n  a",
    "2025-02-30", "1e400", "-99999-01-01", "*undefined", "!!python/name:os.system", "yes",
    "2025-03-01T25:61:00", "[[[[[[[[[[]]]]]]]]]]", "'" + "a" * 3000 + "'",
])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["title", "text", "date", "tags", "url", "id",
                                       "source", "x"]), children, max_size=4),
    max_leaves=12)


@st.composite
def front_matter_seeds(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from(["title", "date", "tags", "url", "source", "author",
                                          "other", "a", "b"]), max_size=6))
    lines = [f"{key}: {draw(st.one_of(YAML_VALUES, HOSTILE_TEXT.map(json.dumps)))}"
             for key in keys]
    if draw(st.booleans()):  # an alias bomb: each level repeats the one below nine times
        lines[:0] = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
                     *(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)),
                     "tags: *l8", "title: *l8"]
    return "---\n" + "\n".join(lines) + "\n---\n" + draw(HOSTILE_TEXT)


SEED_CONTENT = st.one_of(
    st.binary(max_size=600),
    HOSTILE_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
    front_matter_seeds().map(str.encode),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.lists(JSON_VALUES.map(json.dumps), max_size=4).map(lambda rows: "\n".join(rows).encode()),
    st.sampled_from([b"[" * 20_000, b"> " * 20_000 + b"x", b"![" * 20_000, b"*" * 30_000,
                     b"".join(b"  " * i + b"- a\n" for i in range(400)),
                     b"[" * 9_000 + b"a" + b"]" * 9_000 + b"(x)", b"<div>" * 10_000]),
)
SEEDS = st.lists(st.tuples(st.sampled_from(SUFFIXES), SEED_CONTENT), min_size=1, max_size=5)


def write_seeds(folder: Path, seeds: list[tuple[str, bytes]]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for index, (suffix, content) in enumerate(seeds):
        name = f"seed{index}{suffix}"
        (folder / name).write_bytes(content)
        names.append(name)
    return names


def assert_named_and_no_internal_error(problems: list, names: list[str]) -> None:
    for problem in problems:
        assert problem.path.split("#")[0] in names, problem
        assert INTERNAL_ERROR not in problem.message, problem


@settings(max_examples=1000, deadline=20_000, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.data_too_large])
@given(seeds=SEEDS)
def test_ingest_never_raises_and_names_every_rejected_seed(seeds):
    with tempfile.TemporaryDirectory() as tmp:
        names = write_seeds(Path(tmp) / "seeds", seeds)
        articles, problems = read_articles(Path(tmp) / "seeds")
        assert_named_and_no_internal_error(problems, names)
        read = {a.seed.split("#")[0] for a in articles}
        for name in names:  # each seed gave an article or a reason
            assert name in read or any(p.path.split("#")[0] == name for p in problems), name


@settings(max_examples=100, deadline=60_000, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(seeds=SEEDS)
def test_whole_build_survives_hostile_seeds_and_keeps_every_valid_article(seeds):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = write_seeds(root / "seeds", seeds)
        (root / "seeds" / "valid.txt").write_text(VALID, encoding="utf-8")
        (root / "sitegen.toml").write_text(NO_SEARCH, encoding="utf-8")
        report = build_site(load_config(None, project_dir=root))
        assert_named_and_no_internal_error(list(report.problems), [*names, "valid.txt"])
        exported = json.loads((root / "site" / "stories.json").read_text(encoding="utf-8"))
        seeds_built = {a["seed"] for s in exported["stories"] for a in s["articles"]}
        assert "valid.txt" in seeds_built
        assert report.articles == len(seeds_built)


def test_fifty_megabyte_seeds_are_refused_quickly_and_the_rest_builds(make_site):
    project = make_site({"seeds/ok.txt": VALID, "sitegen.toml": NO_SEARCH}, samples=True)
    line = "The minister said on Monday that the budget would pass. "
    (project.seeds / "huge.txt").write_text("title: Huge\n\n" + line * (50_000_000 // len(line)),
                                            encoding="utf-8")
    (project.seeds / "one-line.md").write_bytes(b"x" * 50_000_000)
    report = project.build()
    refused = [p for p in report.problems if "over the limit" in p.message]
    assert {p.path for p in refused} == {"huge.txt", "one-line.md"}
    assert all(f"{MAX_BODY_CHARS:,}" in p.message for p in refused)
    assert report.articles == 3


def test_thousands_of_tiny_files(make_site):
    files = {f"seeds/tiny{i:04}.txt": "" if i % 3 == 0 else f"Note {i}: harbour news {i % 7}."
             for i in range(3000)}
    project = make_site({**files, "sitegen.toml": NO_SEARCH})
    report = project.build()
    empty = [p for p in report.problems if p.message == "empty file; skipped"]
    assert len(empty) == 1000
    assert report.articles == 2000
