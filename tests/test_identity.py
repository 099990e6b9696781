"""Story ids and URLs over time: grow, split, merge, retire, redirect, override."""

from __future__ import annotations

import json

from sitegen.identity import assign_ids, next_state, redirect_targets
from sitegen.model import RetiredStory, Story, StoryRecord, StoryState
from sitegen.state import load_state, save_state


def state(**stories: tuple[tuple[str, ...], int]) -> StoryState:
    return StoryState(5, {sid: StoryRecord(f"slug-{sid}", arts, created, arts[0])
                          for sid, (arts, created) in stories.items()}, {})


def test_a_story_that_grows_keeps_its_id_and_slug():
    previous = state(old=(("a", "b"), 1))
    result = assign_ids([("a", "b", "c")], previous)
    assert result.ids == ("old",)
    assert result.slugs == {"old": "slug-old"}
    assert result.retired == {}


def test_on_a_split_the_part_with_most_old_members_keeps_the_id():
    previous = state(old=(("a", "b", "c"), 1))
    result = assign_ids([("a",), ("b", "c")], previous)
    assert result.ids[1] == "old"
    assert result.ids[0] not in ("old",)
    assert result.retired == {}


def test_on_a_merge_the_older_story_survives_and_the_other_redirects_to_it():
    previous = state(young=(("a", "b", "c"), 4), elder=(("d",), 2))
    result = assign_ids([("a", "b", "c", "d")], previous)
    assert result.ids == ("elder",)
    assert result.retired == {"young": RetiredStory("slug-young", "elder")}


def test_a_story_whose_articles_are_all_gone_is_retired_without_successor():
    result = assign_ids([("z",)], state(old=(("a",), 1)))
    assert result.retired == {"old": RetiredStory("slug-old", None)}
    assert result.ids[0] != "old"


def test_retired_ids_are_never_reused():
    previous = StoryState(3, {}, {"dead": RetiredStory("slug-dead", None)})
    fresh = assign_ids([("a",)], previous).ids[0]
    again = assign_ids([("a",)], StoryState(3, {}, {fresh: RetiredStory("s", None)})).ids[0]
    assert fresh != "dead" and again != fresh


def test_redirects_follow_chains_of_retirements():
    retired = {"a": RetiredStory("sa", "b"), "b": RetiredStory("sb", "c"),
               "x": RetiredStory("sx", None)}
    assert redirect_targets(retired, {"c"}) == {"a": "c", "b": "c", "x": None}


def test_an_unchanged_build_keeps_the_state_object():
    previous = state(old=(("a", "b"), 1))
    unchanged = Story("old", ("a", "b"), "a", (), "slug-old")
    assert next_state(previous, [unchanged], {}, "") is previous
    grown = next_state(previous, [Story("old", ("a", "b", "c"), "a", (), "slug-old")], {}, "")
    assert grown.sequence == previous.sequence + 1
    assert grown.stories["old"].created == 1
    # a story that did not change keeps its very record beside one that did
    both = state(old=(("a", "b"), 1), other=(("x",), 1))
    after = next_state(both, [Story("old", ("a", "b"), "a", (), "slug-old"),
                              Story("other", ("x", "y"), "x", (), "slug-other")], {}, "")
    assert after.stories["old"] is both.stories["old"]
    assert after.stories["other"].article_ids == ("x", "y")


# --- through whole builds -----------------------------------------------------------------

FLOOD = "The river burst its banks and the town of Elmford was evacuated by boat. " * 3
QUAKE = "A strong earthquake shook the island of Varra, toppling the old lighthouse. " * 3


def seeds(**texts: str) -> dict[str, str]:
    return {f"seeds/{name}.txt": f"title: {text[:40]}\n\n{text}" for name, text in texts.items()}


def test_override_merge_retires_a_story_and_its_url_redirects(make_site):
    project = make_site(seeds(flood1=FLOOD, flood2=FLOOD + " More.", quake=QUAKE))
    project.build()
    flood, quake = project.story_of("flood1.txt"), project.story_of("quake.txt")
    assert flood["id"] != quake["id"]
    project.write("stories.toml", '[[together]]\narticles = ["flood1.txt", "quake.txt"]\n')
    project.build()
    merged = project.story_of("quake.txt")
    assert merged["id"] == project.story_of("flood1.txt")["id"]
    survivor, retired = (flood, quake) if merged["id"] == flood["id"] else (quake, flood)
    assert merged["url"] == survivor["url"]
    refresh = project.page(retired["url"]).find("meta", attrs={"http-equiv": "refresh"})
    assert refresh["content"] == f"0; url=../../{survivor['url']}"


def test_override_split_keeps_the_id_with_the_larger_part(make_site):
    project = make_site(seeds(a=FLOOD, b=FLOOD + " Update.", c=FLOOD + " Later."))
    project.build()
    before = project.story_of("a.txt")
    assert len(before["articles"]) == 3
    project.write("stories.toml", '[[apart]]\narticles = ["a.txt", "b.txt"]\n')
    project.build()
    ids = {seed: project.story_of(seed)["id"] for seed in ("a.txt", "b.txt", "c.txt")}
    assert ids["a.txt"] != ids["b.txt"]
    big = max(project.stories(), key=lambda s: len(s["articles"]))
    assert len(big["articles"]) == 2 and big["id"] == before["id"]
    assert big["url"] == before["url"]


def test_pinned_headline_and_unknown_override_reference(make_site):
    project = make_site({**seeds(a=FLOOD), "stories.toml":
                         '[[headline]]\narticle = "a.txt"\ntext = "Elmford under water"\n\n'
                         '[[apart]]\narticles = ["a.txt", "missing.txt"]\n'})
    report = project.build()
    story = project.story_of("a.txt")
    assert story["title"] == "Elmford under water"
    assert project.page(story["url"]).h1.get_text() == "Elmford under water"
    assert [str(p).split(": ", 1)[1] for p in report.problems] == [
        "no article 'missing.txt'; this entry is ignored"]
    assert report.problems[0].line == 6


def test_state_is_committed_next_to_the_seeds_and_a_fresh_clone_keeps_ids(make_site, tmp_path):
    project = make_site(seeds(a=FLOOD, q=QUAKE))
    project.build()
    state_file = project.root / ".sitegen" / "state.json"
    assert state_file.is_file()
    ids = {s["id"] for s in project.stories()}
    clone = make_site(name="clone")
    for path in project.paths():
        relative = path.relative_to(project.root)
        if path.is_file() and relative.parts[0] in ("seeds", ".sitegen"):
            clone.write(relative.as_posix(), path.read_bytes())
    clone.build()
    assert {s["id"] for s in clone.stories()} == ids


def test_corrupt_state_is_reported_kept_aside_and_rebuilt(make_site):
    project = make_site(seeds(a=FLOOD))
    project.write(".sitegen/state.json", "{not json")
    report = project.build()
    assert any("corrupt state" in str(p) for p in report.problems)
    assert (project.root / ".sitegen" / "state.json.corrupt").read_text() == "{not json"
    assert project.stories()


def test_state_lines_are_kept_only_from_a_file_as_save_state_writes_it(tmp_path):
    """save_state reuses the lines load_state hands over; a file in another encoding or
    layout is still read, but hands over none, and is not taken for a corrupt one."""
    saved = state(old=(("a", "b"), 1), other=(("x",), 1))
    path = tmp_path / "state.json"
    written = save_state(path, saved)
    lines: dict = {}
    assert load_state(path, lines)[1] == []
    assert {k: line for k, (_, line) in lines.items()} == \
        {k: line for k, (_, line) in written.items()}
    for other in (path.read_text(encoding="utf-8").encode("utf-16"),
                  json.dumps(json.loads(path.read_text(encoding="utf-8"))).encode()):
        path.write_bytes(other)
        lines = {}
        loaded, problems = load_state(path, lines)
        assert problems == [] and lines == {} and loaded.stories == saved.stories
