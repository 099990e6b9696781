"""Browsing: paginated front page, date archives, recently updated, navigation."""

from __future__ import annotations

from types import SimpleNamespace

from sitegen import browse
from sitegen.check import check_site

TOPICS = ["harbour strike ends dockers vote", "wildfire reaches valley village",
          "council approves tram line budget", "museum returns stolen paintings",
          "storm closes mountain pass road"]


def seeds() -> dict[str, str]:
    files = {f"seeds/{n}.md": f"---\ntitle: {topic.capitalize()}\ndate: 2025-0{n % 2 + 4}-1{n}\n"
             f"---\n{topic.capitalize()}. " + f"Details about {topic}. " * 3
             for n, topic in enumerate(TOPICS)}
    files["seeds/undated.txt"] = "title: Undated notice\n\nA note with no date about ferries."
    return files


def test_front_page_is_paginated_with_prev_and_next_links(make_site):
    project = make_site({**seeds(), "sitegen.toml": "[pagination]\nper_page = 2\n"})
    project.build()
    assert len(project.stories()) == 6
    # numbered from the oldest: page 1 holds the oldest stories, the front the newest
    first, second, third = project.page(""), project.page("page/2/"), project.page("page/1/")
    assert [len(p.select(".story-card")) for p in (first, second, third)] == [2, 2, 2]
    assert first.find("a", rel="prev") is None
    assert first.find("a", rel="next")["href"] == "page/2/"
    assert second.find("a", rel="prev")["href"] == "../../"
    assert second.find("a", rel="next")["href"] == "../../page/1/"
    assert third.find("a", rel="prev")["href"] == "../../page/2/"
    assert third.find("a", rel="next") is None
    assert "Page 1" in third.select_one(".pagination").get_text()
    titles = [a.get_text() for p in (first, second, third) for a in p.select(".story-card h2 a")]
    assert titles == [s["title"] for s in project.stories()]  # the front page's order


def test_new_stories_leave_the_numbered_pages_as_they_were(make_site):
    """Each new story changes the front page alone, until the front page holds twice
    `per_page` stories and the oldest `per_page` of them become a new numbered page: a
    link to a numbered page keeps showing the same stories, and a large site does not
    rewrite its whole list for each new story."""
    project = make_site({**seeds(), "sitegen.toml": "[pagination]\nper_page = 2\n"})
    project.build()
    numbered = {path: (project.out / path).read_bytes() for path in ("page/1/index.html",
                                                                     "page/2/index.html")}
    project.write("seeds/new1.md", "---\ntitle: Ferry strike called off\ndate: 2025-06-01\n"
                  "---\nFerry crews called off the strike. Ferry crews voted.")
    project.build()
    assert len(project.page("").select(".story-card")) == 3
    assert {path: (project.out / path).read_bytes() for path in numbered} == numbered
    assert not (project.out / "page/3").exists()
    project.write("seeds/new2.md", "---\ntitle: Lighthouse keeper retires\n"
                  "date: 2025-06-02\n---\nThe last lighthouse keeper retired today.")
    project.build()
    newest = project.page("page/3/")
    assert [a.get_text() for a in newest.select(".story-card h2 a")] == [
        s["title"] for s in project.stories()[2:4]]
    assert newest.find("a", rel="next")["href"] == "../../page/2/"
    assert (project.out / "page/1/index.html").read_bytes() == numbered["page/1/index.html"]


def test_outlet_pages_are_paginated_and_a_new_article_changes_only_the_first(make_site):
    """An outlet's articles are cut into pages as the front page's stories are: a large
    outlet is not one page listing thousands of articles, rendered again for each new one."""
    outlet = {f"seeds/{n}.md": f"---\ntitle: {topic.capitalize()}\ndate: 2025-04-1{n}\n"
              f"source: Coast Herald\n---\n{topic.capitalize()}. " + f"About {topic}. " * 3
              for n, topic in enumerate(TOPICS[:4])}
    project = make_site({**outlet, "sitegen.toml": "[pagination]\nper_page = 2\n"})
    project.build()
    first = project.page("outlets/coast-herald/")
    oldest = project.page("outlets/coast-herald/page/1/")
    newest_first = [t.capitalize() for t in reversed(TOPICS[:4])]
    assert [a.get_text() for a in first.select(".story-card h2 a")] == newest_first[:2]
    assert [a.get_text() for a in oldest.select(".story-card h2 a")] == newest_first[2:]
    assert "4 articles" in first.select_one("main .meta").get_text()
    assert first.find("a", rel="next")["href"] == "../../outlets/coast-herald/page/1/"
    assert oldest.find("a", rel="prev")["href"] == "../../../../outlets/coast-herald/"
    assert "Page 1" in oldest.select_one(".pagination").get_text()
    numbered = (project.out / "outlets/coast-herald/page/1/index.html").read_bytes()
    project.write("seeds/new.md", "---\ntitle: Ferry strike called off\ndate: 2025-06-01\n"
                  "source: Coast Herald\n---\nFerry crews called off the strike. Crews voted.")
    project.build()
    assert (project.out / "outlets/coast-herald/page/1/index.html").read_bytes() == numbered
    titles = project.page("outlets/coast-herald/").select(".story-card h2 a")
    assert [a.get_text() for a in titles] == ["Ferry strike called off", *newest_first[:2]]
    assert check_site(project.out) == []  # every link of the new pages resolves


def test_name_pages_are_paginated_like_the_front_page(make_site):
    files = {f"seeds/{n}.md": f"---\ntitle: {topic.capitalize()}\ndate: 2025-04-1{n}\n---\n"
             f"{topic.capitalize()}. Mayor Ada Brook said the town was ready, and "
             f"Mayor Ada Brook thanked the crews. "
             + f"Details about {topic}. " * 3 for n, topic in enumerate(TOPICS[:4])}
    project = make_site({**files, "sitegen.toml": "[pagination]\nper_page = 2\n"})
    project.build()
    first, oldest = project.page("names/ada-brook/"), project.page("names/ada-brook/page/1/")
    shown = [a.get_text() for p in (first, oldest) for a in p.select(".story-card h2 a")]
    assert shown == [s["title"] for s in project.stories()]  # all four, front page order
    assert [len(p.select(".story-card")) for p in (first, oldest)] == [2, 2]
    assert "named in 4 stories" in first.select_one("main .meta").get_text()
    assert "named in" not in oldest.select_one("main").get_text()  # the first page's alone
    assert oldest.find("a", rel="prev") is not None and first.find("a", rel="next") is not None
    assert check_site(project.out) == []


def test_archive_by_year_month_and_day_and_undated(make_site):
    project = make_site(seeds())
    project.build()
    top = project.page("archive/")
    assert [a.get_text() for a in top.select(".archive-periods a")] == ["2025", "Undated"]
    year = project.page("archive/2025/")
    assert [a.get_text() for a in year.select(".archive-periods a")] == ["May 2025", "April 2025"]
    day = project.page("archive/2025/04/10/")
    assert [a.get_text() for a in day.select(".story-card h2 a")] == [
        "Harbour strike ends dockers vote"]
    assert [a["href"] for a in day.select(".breadcrumbs a")] == [
        "../../../../archive/", "../../../../archive/2025/", "../../../../archive/2025/04/"]
    undated = project.page("archive/undated/")
    assert [a.get_text() for a in undated.select(".story-card h2 a")] == ["Undated notice"]


def test_recently_updated_lists_newest_coverage_first(make_site):
    project = make_site(seeds())
    project.build()
    titles = [a.get_text() for a in project.page("updated/").select(".story-card h2 a")]
    assert titles[0] == "Museum returns stolen paintings"  # 2025-05-13, the newest
    assert "Undated notice" not in titles


def test_recently_updated_takes_the_newest_in_order_ties_as_listed():
    stories = [SimpleNamespace(name=n, last_seen=f"2025-05-{n % 7 + 1:02d}" if n % 5 else None,
                               articles=[None] * (n % 3 + 1)) for n in range(300)]
    picked = browse.recently_updated(stories)
    expected = sorted([s for s in stories if s.last_seen], reverse=True,
                      key=lambda s: (s.last_seen, len(s.articles)))[:browse.RECENT]
    assert [s.name for s in picked] == [s.name for s in expected]
    assert len(picked) == browse.RECENT and picked[0].last_seen == "2025-05-07"


def test_every_page_has_the_site_navigation_and_a_skip_link(make_site):
    project = make_site(seeds())
    project.build()
    for path in project.out.rglob("*.html"):
        soup = project.page(path.relative_to(project.out).as_posix())
        if soup.find("meta", attrs={"http-equiv": "refresh"}):
            continue
        assert soup.find("a", class_="skip-link")["href"] == "#main", path
        assert soup.find("main", id="main") is not None, path
        nav = [a.get_text() for a in soup.select("header nav a")]
        assert nav[:5] == ["Stories", "Updated", "Archive", "Outlets", "Names"], path
