"""The whole pipeline on small sites: the sample seeds, the stories.json contract,
determinism, unchanged files, and theme overrides."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sitegen import build_site, load_config, staging
from tests.conftest import AFP_SEED, SAMPLE_SEEDS, VERILY_SEED

STORY_FIELDS = {"id", "url", "title", "summary", "first_seen", "last_seen", "articles"}
ARTICLE_FIELDS = {"id", "seed", "title", "source", "date", "url", "original_url"}


def test_sample_seeds_make_one_story_with_both_articles(make_site):
    project = make_site(samples=True)
    report = project.build()
    assert report.problems == ()
    stories = project.stories()
    assert len(stories) == 1
    assert {a["seed"] for a in stories[0]["articles"]} == {AFP_SEED, VERILY_SEED}
    afp, verily = project.article(AFP_SEED), project.article(VERILY_SEED)
    assert afp["date"] == "2025-05-19"
    assert verily["date"] is None
    assert verily["source"] == "Verily News"
    body = project.page(verily["url"]).select_one(".body").get_text()
    assert "ALSO READ TOP STORIES FROM VERILY NEWS" not in body
    assert "Istanbul" in body


def test_sample_pages_link_story_and_articles_both_ways(make_site):
    project = make_site(samples=True)
    project.build()
    story = project.stories()[0]
    front = project.page("")
    assert front.find("a", string=story["title"])["href"] == story["url"]
    story_page = project.page(story["url"])
    assert story_page.h1.get_text() == story["title"]
    for article in story["articles"]:
        link = story_page.find("a", string=article["title"])
        assert link["href"] == "../../" + article["url"]
        page = project.page(article["url"])
        assert page.find("a", href="../../" + story["url"]) is not None
    verily_page = project.page(project.article(VERILY_SEED)["url"])
    removed = verily_page.select_one(".removed").get_text()
    assert "ALSO READ TOP STORIES FROM VERILY NEWS" in removed


def test_stories_json_follows_the_contract(make_site):
    project = make_site({"seeds/a.txt": "url: https://example.com/a\n\nBody a.",
                         "seeds/b.jsonl": '{"title": "B", "text": "Body b."}\n'})
    project.build()
    stories = project.stories()
    for story in stories:
        assert set(story) >= STORY_FIELDS
        for article in story["articles"]:
            assert set(article) >= ARTICLE_FIELDS
            assert (project.out / article["url"] / "index.html").is_file()
        assert (project.out / story["url"] / "index.html").is_file()
    seeds = sorted(a["seed"] for s in stories for a in s["articles"])
    assert seeds == ["a.txt", "b.jsonl#0"]
    assert project.article("a.txt")["original_url"] == "https://example.com/a"


def _story_sets(project):
    return sorted((s["id"], s["url"], sorted(a["id"] for a in s["articles"]))
                  for s in project.stories())


def test_shuffled_or_renamed_seeds_give_identical_stories(make_site):
    topics = ["flood river town evacuated rain", "election vote count parliament",
              "football cup final goal", "vaccine trial results health"]
    files = {}
    for t, topic in enumerate(topics):
        for k in range(3):
            files[f"seeds/{t}_{k}.txt"] = f"title: {topic} report {k}\n\n{topic} " * 3
    original = make_site(files, samples=True, name="original")
    original.build()
    rng = random.Random(7)
    names = list(files)
    rng.shuffle(names)
    renamed = make_site({f"seeds/x{i:02d}_{rng.randrange(999)}.txt": files[n]
                         for i, n in enumerate(names)}, name="renamed")
    for seed in SAMPLE_SEEDS.iterdir():
        shutil.copy(seed, renamed.seeds / f"zz-{seed.name}")
    renamed.build()
    assert _story_sets(original) == _story_sets(renamed)
    assert len(original.stories()) == 5


def test_rebuild_without_changes_rewrites_nothing(make_site):
    project = make_site(samples=True)
    first = project.build()
    mtimes = {p: p.stat().st_mtime_ns for p in project.out.rglob("*") if p.is_file()}
    second = project.build()
    assert first.write.written > 0
    assert second.write.written == 0
    assert second.write.unchanged == first.write.written
    assert {p: p.stat().st_mtime_ns for p in project.out.rglob("*") if p.is_file()} == mtimes


def test_removed_seed_removes_its_pages(make_site):
    project = make_site({"seeds/a.txt": "title: Alpha\n\nAbout apples.",
                         "seeds/b.txt": "title: Beta\n\nAbout bridges."})
    project.build()
    article_url = project.article("b.txt")["url"]
    story_url = project.story_of("b.txt")["url"]
    (project.seeds / "b.txt").unlink()
    report = project.build()
    assert report.write.removed >= 1  # its page, and its entries in the search index
    assert not (project.out / article_url).exists()
    refresh = project.page(story_url).find("meta", attrs={"http-equiv": "refresh"})
    assert refresh["content"] == "0; url=../../"  # its story is gone: to the front page


def test_project_template_overrides_and_extends_the_builtin(make_site):
    project = make_site({
        "seeds/a.txt": "title: Alpha\n\nAbout apples.",
        "templates/story.html": "{% extends 'sitegen:story.html' %}"
                                "{% block title %}CUSTOM {{ story.headline }}{% endblock %}",
        "static/style.css": "body { color: red; }",
    })
    project.build()
    story = project.stories()[0]
    page = project.page(story["url"])
    assert page.title.get_text() == "CUSTOM Alpha"
    assert page.h1.get_text() == "Alpha"  # the rest of the built-in template still renders
    assert (project.out / "static/style.css").read_text() == "body { color: red; }"
    assert (project.out / "static/favicon.svg").is_file()


def test_site_has_nojekyll_404_and_relative_links(make_site):
    project = make_site(samples=True)
    project.build()
    assert (project.out / ".nojekyll").is_file()
    assert project.page("404.html").h1.get_text() == "Page not found"
    for page in project.out.rglob("*.html"):
        soup = project.page(page.relative_to(project.out).as_posix())
        for tag in soup.find_all(["a", "link", "script", "img"]):
            target = tag.get("href") or tag.get("src") or ""
            if tag.get("rel") == ["canonical"] or target.startswith(("http://", "https://")):
                continue
            assert not target.startswith("/"), (page, target)


def test_base_url_gives_canonical_links_and_an_absolute_404(make_site):
    project = make_site(samples=True)
    project.build(base_url="https://user.github.io/repo")
    story = project.stories()[0]
    canonical = project.page(story["url"]).find("link", rel="canonical")["href"]
    assert canonical == "https://user.github.io/repo/" + story["url"]
    css = project.page("404.html").find("link", rel="stylesheet")["href"]
    assert css == "/repo/static/style.css"


def test_story_page_says_why_its_articles_were_grouped(make_site):
    project = make_site(samples=True)
    project.build()
    story = project.stories()[0]
    terms = project.page(story["url"]).select_one(".terms")
    assert "Grouped because these articles share" in terms.get_text()
    assert [t.get_text() for t in terms.select(".term")] == story["terms"]


@pytest.mark.parametrize("met_as", ["left by a killed build", "with no cache"])
def test_a_build_stages_into_a_site_it_does_not_know_whatever_it_holds(make_site, met_as):
    """Each build sets the site it replaces aside and stages the next one into it. A
    folder it has no record of (a killed build's staging folder; a spare when the build
    cache is gone) may hold anything: files changed, added, or standing where folders
    must be. None of that reaches the new site: it is the site of a twin project whose
    spare was untouched."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    projects = [make_site(samples=True, name=name) for name in ("damaged", "twin")]
    for text in ("title: Gamma\ndate: 2025-01-03\n\nAbout goats and geese.",
                 "title: Delta\ndate: 2025-01-04\n\nAbout ducks and docks."):
        for project in projects:
            build_site(load_config(None, project_dir=project.root), now=lambda: now)
            project.write(f"seeds/{text[7:12]}.txt", text)
    damaged = projects[0]
    spare = damaged.root / ".sitegen" / "cache" / "spare-site"
    story = damaged.story_of(AFP_SEED)["url"]
    assert (spare / story / "index.html").is_file()
    (spare / "index.html").unlink()  # a hard link to the live page: never written to
    (spare / "index.html").write_text("stale front page")
    (spare / story / "index.html").unlink()
    (spare / story / "index.html" / "deeper").mkdir(parents=True)
    shutil.rmtree(spare / "static")
    (spare / "static").write_text("a file where a folder belongs")
    (spare / "junk" / "old.html").parent.mkdir()
    (spare / "junk" / "old.html").write_text("no longer part of the site")
    if met_as == "with no cache":
        (damaged.root / ".sitegen" / "cache" / "build.pickle").unlink()
    else:
        spare.rename(damaged.root / f".{damaged.out.name}.staging")
    for project in projects:
        build_site(load_config(None, project_dir=project.root), now=lambda: now)
    assert files_of(damaged.out) == files_of(projects[1].out)
    assert "junk/old.html" not in files_of(damaged.out)


def files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes()
            for p in site.rglob("*") if p.is_file()}


def test_a_build_makes_again_what_left_the_site_since_the_last_one(make_site):
    """Unchanged pages are not rendered again: the site has them. Unless it no longer
    does: a page deleted from it, or the whole site, is made again."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    projects = [make_site(samples=True, name=name) for name in ("damaged", "twin")]
    for project in projects:
        build_site(load_config(None, project_dir=project.root), now=lambda: now)
    damaged = projects[0]
    story = damaged.story_of(AFP_SEED)["url"]
    for deletion, text in [(lambda: (damaged.out / story / "index.html").unlink(),
                            "title: Gamma\ndate: 2025-01-03\n\nAbout goats and geese."),
                           (lambda: shutil.rmtree(damaged.out),
                            "title: Delta\ndate: 2025-01-04\n\nAbout ducks and docks.")]:
        deletion()
        for project in projects:
            project.write(f"seeds/{text[7:12]}.txt", text)
            report = build_site(load_config(None, project_dir=project.root), now=lambda: now)
        assert report.write.written < len(files_of(projects[1].out)) / 2  # the twin's
        assert files_of(damaged.out) == files_of(projects[1].out)


def test_a_site_is_listed_alike_by_find_and_without_it(make_site, monkeypatch):
    project = make_site(samples=True)
    project.build()
    (project.out / "dangling").symlink_to("nowhere")  # a link is listed by both, as is
    with staging.Listing(project.out) as listing:
        by_find = sorted(listing.files())
    monkeypatch.setattr(staging.shutil, "which", lambda name: None)
    with staging.Listing(project.out) as listing:
        by_python = sorted(listing.files())
    assert by_find == by_python == sorted([*files_of(project.out), "dangling"])
    assert "index.html" in by_find
