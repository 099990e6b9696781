"""Hostile content is rendered inert: script payloads in titles, bodies, outlets, authors,
tags and URLs, in every seed format. Every generated page is parsed for anything that
could run script, and then opened in a real browser, where no payload may run."""

from __future__ import annotations

import shutil

import pytest

from tests.browser import chromium, require_browser, serve
from tests.injection import PAYLOADS, html_pages, unsafe_markup, write_hostile_seeds


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    from tests.conftest import Project

    project = Project(tmp_path_factory.mktemp("hostile") / "project")
    write_hostile_seeds(project.seeds)
    report = project.build(base_url="https://example.org/repo/")
    return project, report


def test_there_are_at_least_fifty_payloads():
    assert len(PAYLOADS) >= 50


def test_every_hostile_article_is_built(hostile_site):
    _, report = hostile_site
    assert report.articles == 3 * len(PAYLOADS)


def test_no_page_has_event_handlers_script_links_or_foreign_scripts(hostile_site):
    project, _ = hostile_site
    pages = list(html_pages(project.out))
    assert len(pages) > 3 * len(PAYLOADS)  # every article page, and the rest
    unsafe = {page.relative_to(project.out).as_posix(): found for page in pages
              if (found := unsafe_markup(page, project.out))}
    assert unsafe == {}


def test_the_check_finds_what_it_looks_for(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<a href=" JavaScript:x()">a</a><img src=x onerror=y()><p style="x">'
                    '<script>z()</script><script src="static/search.js"></script>'
                    '<meta http-equiv="refresh" content="0;url=data:text/html,x">')
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "search.js").write_text("")
    assert len(unsafe_markup(page, tmp_path)) == 5


def test_template_syntax_in_content_stays_text(hostile_site):
    project, _ = hostile_site
    article = next(a for s in project.stories() for a in s["articles"]
                   if a["title"].startswith("{{ 7*7 }}") and a["seed"].endswith(".md"))
    page = project.page(article["url"])
    assert "{{ 7*7 }}" in page.find("h1").get_text()
    assert "49" not in page.find("h1").get_text()


def test_no_payload_runs_in_a_browser(hostile_site, tmp_path):
    """Every page, and the search page with results for the payloads' words."""
    require_browser()
    project, _ = hostile_site
    www = tmp_path / "www"
    shutil.copytree(project.out, www / "repo")
    pages = [p.relative_to(project.out).as_posix() for p in html_pages(project.out)]
    (www / "canary.html").write_text("<script>alert('canary')</script>")
    ran: list[str] = []
    with serve(www) as origin, chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.on("dialog", lambda dialog: (ran.append(f"{page.url}: {dialog.message}"),
                                          dialog.dismiss()))
        page.goto(f"{origin}/canary.html", wait_until="load")
        assert ran and "canary" in ran.pop()  # a script that runs is seen
        for relative in pages:
            page.goto(f"{origin}/repo/{relative}", wait_until="load")
            page.wait_for_timeout(20)  # time for onerror/onfocus/animation handlers
        for query in ("alert", "script", "onerror", "harbour"):
            page.goto(f"{origin}/repo/search/?q={query}", wait_until="load")
            page.wait_for_function("document.querySelector('#search-status').textContent"
                                   " && !document.querySelector('#search-status').textContent"
                                   ".startsWith('Searching')")
            page.wait_for_timeout(100)
        results = page.locator("#search-results li").count()
        context.close()
    print(f"{len(pages)} pages and 4 searches opened in Chromium; {len(ran)} scripts ran")
    assert results > 0  # the searches did show hostile articles
    assert ran == []
