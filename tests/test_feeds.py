"""Feeds, sitemap, robots.txt and page metadata, built with a base URL."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime

import feedparser

BASE = "https://example.org/repo/"


def built(make_site):
    project = make_site({"seeds/bridge.md": "---\ntitle: Bridge opens\ndate: 2025-05-20\n"
                                            "source: City Herald\n---\nThe bridge opened."},
                        samples=True)
    project.build(base_url=BASE)
    return project


def test_every_feed_parses_and_links_absolutely_under_the_base_url(make_site):
    project = built(make_site)
    feeds = sorted(project.out.rglob("atom.xml")) + sorted(project.out.rglob("rss.xml"))
    assert len(feeds) >= 2 * (1 + len(project.stories()) + 2)  # site, stories, two outlets
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.entries, path
        for entry in parsed.entries:
            assert entry.link.startswith(BASE), (path, entry.link)
            assert entry.id.startswith(BASE)
            relative = entry.link.removeprefix(BASE)
            assert (project.out / relative / "index.html").is_file()
    # feedparser 6.0 does not read JSON Feed: check the 1.1 spec's required fields instead
    document = json.loads((project.out / "feed.json").read_bytes())
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] and document["feed_url"] == BASE + "feed.json"
    assert document["items"]
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["url"].startswith(BASE)
        assert "content_text" in item or "content_html" in item
        for key in ("date_published", "date_modified"):
            if key in item:
                datetime.fromisoformat(item[key])


def test_story_feed_has_an_entry_per_article(make_site):
    project = built(make_site)
    story = next(s for s in project.stories() if len(s["articles"]) == 2)
    parsed = feedparser.parse((project.out / story["url"] / "atom.xml").read_bytes())
    assert sorted(e.link for e in parsed.entries) == sorted(BASE + a["url"]
                                                             for a in story["articles"])


def test_sitemap_lists_every_story_and_article_and_robots_points_to_it(make_site):
    project = built(make_site)
    root = ET.fromstring((project.out / "sitemap.xml").read_bytes())
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    urls = {loc.text for loc in root.iter(f"{namespace}loc")}
    for story in project.stories():
        assert BASE + story["url"] in urls
        assert all(BASE + a["url"] in urls for a in story["articles"])
    assert BASE in urls
    assert f"Sitemap: {BASE}sitemap.xml" in (project.out / "robots.txt").read_text()


def test_pages_carry_feed_discovery_canonical_and_social_metadata(make_site):
    project = built(make_site)
    story = project.stories()[0]
    page = project.page(story["url"])
    alternates = {link["href"] for link in page.find_all("link", rel="alternate")}
    assert BASE + "atom.xml" in alternates and BASE + story["url"] + "atom.xml" in alternates
    assert page.find("meta", property="og:url")["content"] == BASE + story["url"]
    assert page.find("meta", property="og:title")["content"] == story["title"]
    assert page.find("meta", property="og:type")["content"] == "article"
    assert page.find("meta", attrs={"name": "twitter:card"})["content"] == "summary"


def test_feeds_do_not_change_when_nothing_changed(make_site):
    project = built(make_site)
    before = {p: p.read_bytes() for p in project.out.rglob("*.xml")}
    report = project.build(base_url=BASE)
    assert report.write.written == 0
    assert {p: p.read_bytes() for p in project.out.rglob("*.xml")} == before


def test_without_a_base_url_there_are_no_feeds_but_robots_txt(make_site):
    project = make_site(samples=True)
    project.build()
    assert not (project.out / "atom.xml").exists()
    assert (project.out / "robots.txt").read_text().startswith("User-agent: *")
