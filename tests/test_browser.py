"""In a real browser (Debian's Chromium through Playwright), on the sample site served
under /repo/: navigation, search, dark mode, JavaScript off, and axe-core accessibility."""

from __future__ import annotations

import json
import shutil

import pytest

from sitegen import search
from tests.browser import ARTIFACTS, axe_violations, chromium, require_browser, serve

EXTRA = {
    "seeds/harbour.md": "---\ntitle: Harbour strike ends after dockers vote\ndate: 2025-05-20\n"
                        "source: Coast Herald\n---\nDockers at the port of Calder voted to "
                        "accept a pay offer, ending a week-long strike. Shipping lines said "
                        "the backlog of container vessels would clear within ten days.\n",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The sample site built for https://example.org/repo/ and served under /repo/."""
    require_browser()
    from tests.conftest import SAMPLE_SEEDS, Project

    root = tmp_path_factory.mktemp("browser")
    project = Project(root / "project")
    for seed in SAMPLE_SEEDS.iterdir():
        shutil.copy(seed, project.seeds / seed.name)
    for relative, content in EXTRA.items():
        project.write(relative, content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_SCALE", 0.5)  # an index in shards, as a large site's
        project.build(base_url="https://example.org/repo/")
    assert len(json.loads((project.out / "pagefind" / "shards.json").read_bytes())["shards"]) > 1
    www = root / "www"
    www.mkdir()
    shutil.copytree(project.out, www / "repo")
    with serve(www) as origin, chromium() as browser:
        yield project, f"{origin}/repo/", browser


def new_page(browser, **options):
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, errors


def test_front_page_to_story_to_article_and_back(site):
    project, base, browser = site
    context, page, errors = new_page(browser)
    page.goto(base)
    story = next(s for s in project.stories() if len(s["articles"]) == 2)
    page.get_by_role("link", name=story["title"]).first.click()
    page.wait_for_url(base + story["url"])
    assert page.locator("h1").inner_text() == story["title"]
    assert "Rewrite" in page.locator(".timeline .relation").nth(1).text_content()
    article = story["articles"][0]
    page.locator(".timeline h3 a").first.click()
    page.wait_for_url(base + article["url"])
    assert page.locator("h1").inner_text() == article["title"]
    page.get_by_role("link", name="All 2 articles about this story").click()
    page.wait_for_url(base + story["url"])
    assert errors == []
    context.close()


def test_search_for_a_word_reaches_its_story(site):
    project, base, browser = site
    context, page, errors = new_page(browser)
    page.goto(base)
    page.get_by_role("searchbox", name="Search stories").fill("dockers")
    page.get_by_role("button", name="Search").first.click()
    page.wait_for_url(lambda url: "/repo/search/" in url and "q=dockers" in url)
    first = page.locator("#search-results a").first
    first.wait_for(timeout=15_000)
    assert "Harbour strike" in first.inner_text()
    first.click()
    story = next(s for s in project.stories() if s["title"].startswith("Harbour strike"))
    page.wait_for_url(lambda url: url.startswith(base) and "/search/" not in url)
    assert "Harbour strike" in page.locator("h1").inner_text()
    assert page.url in (base + story["url"], base + story["articles"][0]["url"])
    assert errors == []
    context.close()


def test_dark_mode_follows_the_system_setting(site):
    _, base, browser = site
    colours = {}
    for scheme in ("light", "dark"):
        context, page, _ = new_page(browser, color_scheme=scheme)
        page.goto(base)
        colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        context.close()
    assert colours["light"] == "rgb(255, 255, 255)"
    red, green, blue = (int(x) for x in colours["dark"][4:-1].split(","))
    assert max(red, green, blue) < 60


def test_pages_work_with_javascript_off(site):
    project, base, browser = site
    context, page, _ = new_page(browser, java_script_enabled=False)
    story = project.stories()[0]
    page.goto(base)
    page.get_by_role("link", name=story["title"]).first.click()
    page.wait_for_url(base + story["url"])
    page.goto(base + "search/")
    assert "needs JavaScript" in page.locator("main").inner_text()
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(site, scheme):
    project, base, browser = site
    story = next(s for s in project.stories() if len(s["articles"]) == 2)
    day = next(p for p in (project.out / "archive").rglob("index.html")
               if len(p.relative_to(project.out).parts) == 5)
    pages = {"front": "", "story": story["url"], "article": story["articles"][1]["url"],
             "archive": "archive/", "archive day": day.parent.relative_to(project.out)
             .as_posix() + "/", "outlet": "outlets/verily-news/", "names": "names/",
             "search": "search/?q=putin", "updated": "updated/"}
    context, page, _ = new_page(browser, color_scheme=scheme)
    found = {}
    for name, path in pages.items():
        page.goto(base + path)
        if name == "search":
            page.locator("#search-results a").first.wait_for(timeout=15_000)
        found[name] = axe_violations(page)
    context.close()
    assert found == {name: [] for name in pages}


def test_screenshots_desktop_and_phone(site):
    project, base, browser = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    story = next(s for s in project.stories() if len(s["articles"]) == 2)
    sizes = {"desktop": {"viewport": {"width": 1280, "height": 1400}},
             "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                       "device_scale_factor": 2}}
    for name, options in sizes.items():
        context, page, _ = new_page(browser, **options)
        page.goto(base + story["url"])
        path = ARTIFACTS / f"story-{name}.png"
        page.screenshot(path=str(path), full_page=False)
        assert path.stat().st_size > 10_000
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= options["viewport"]["width"], f"{name}: horizontal scroll ({width}px)"
        context.close()


def test_serve_reloads_the_open_front_page_when_a_seed_arrives(site, tmp_path):
    _, _, browser = site
    import socket
    import subprocess
    import sys
    import time

    from tests.conftest import SAMPLE_SEEDS

    project = tmp_path / "live"
    shutil.copytree(SAMPLE_SEEDS, project / "seeds")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "serve", "--port", str(port),
         "--base-url", "https://example.org/repo/"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (project / "site/index.html").is_file():
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
            time.sleep(0.1)
        context, page, _ = new_page(browser)
        page.goto(f"http://127.0.0.1:{port}/repo/")
        assert "Harbour" not in page.locator("main").inner_text()
        (project / "seeds/harbour.md").write_text(EXTRA["seeds/harbour.md"])
        page.get_by_role("link", name="Harbour strike ends after dockers vote").wait_for(
            timeout=30_000)
        assert page.url == f"http://127.0.0.1:{port}/repo/"
        context.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
