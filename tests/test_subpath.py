"""Served under /repo/ (as on GitHub Pages), every internal link and asset of every page
resolves."""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.error
import urllib.request
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup


@pytest.fixture
def serve_under_repo(tmp_path):
    """Serve `<tmp>/www/` on localhost, with the site copied in as `/repo/`."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(QuietHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


def crawl(start: str) -> tuple[set[str], list[str]]:
    """Follow every internal link and asset from `start`; return pages seen and failures."""
    origin = urlsplit(start).netloc
    seen: set[str] = set()
    queue = [start]
    broken: list[str] = []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        status, body, kind = fetch(url)
        if status != 200:
            broken.append(f"{url} -> {status}")
            continue
        if kind != "text/html":
            continue
        soup = BeautifulSoup(body, "html.parser")
        for tag in soup.find_all(["a", "link", "script", "img", "form"]):
            target = tag.get("href") or tag.get("src") or tag.get("action")
            if not target or "canonical" in (tag.get("rel") or []):
                continue
            absolute = urldefrag(urljoin(url, target)).url
            if urlsplit(absolute).netloc == origin:
                queue.append(absolute)
    return seen, broken


@pytest.mark.parametrize("base_url", [None, "https://user.github.io/repo/"])
def test_every_internal_link_resolves_under_a_sub_path(make_site, serve_under_repo, base_url):
    project = make_site({"seeds/extra.md": "---\ntitle: Bridge opens\n---\nThe bridge opened."},
                        samples=True)
    project.build(base_url=base_url)
    www, origin = serve_under_repo
    project.out.rename(www / "repo")
    seen, broken = crawl(f"{origin}/repo/")
    seen_404, broken_404 = crawl(f"{origin}/repo/404.html")
    assert broken == [] and broken_404 == []
    html_files = {p.relative_to(www).as_posix() for p in (www / "repo").rglob("*.html")}
    reached = {urlsplit(u).path.lstrip("/") for u in seen | seen_404}
    reached |= {u + "index.html" for u in reached if u.endswith("/")}
    assert html_files <= reached, html_files - reached
    assert any("/static/style.css" in u for u in seen)
