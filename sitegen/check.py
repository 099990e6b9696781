"""`sitegen check`: is a built site whole?

Every internal link, asset and anchor of every page resolves (root-absolute and absolute
links under the base URL count as internal), every feed parses, and the sitemap lists
every page. Reads the output folder only; changes nothing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from .errors import Problem

_LINK_ATTRIBUTES = {"a": "href", "link": "href", "script": "src", "img": "src",
                    "form": "action", "source": "src", "iframe": "src"}
_ATOM = "{http://www.w3.org/2005/Atom}"
_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class _PageScan(HTMLParser):
    """The links (with their lines) and element ids of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, int]] = []
        self.ids: set[str] = set()
        self.redirect = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.ids.add(values["name"])
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.redirect = True
            self.links.append((values.get("content", "").partition("url=")[2],
                               self.getpos()[0]))
        attribute = _LINK_ATTRIBUTES.get(tag)
        if attribute and values.get(attribute):
            rel = values.get("rel", "").split()
            if tag == "link" and ("canonical" in rel or "alternate" in rel):
                return  # absolute by design; feeds are checked as files below
            self.links.append((values[attribute], self.getpos()[0]))


def check_site(out_dir: Path, base_url: str = "") -> list[Problem]:
    """Every problem found in the built site at `out_dir`, page by page."""
    if not (out_dir / "index.html").is_file():
        return [Problem(str(out_dir), None, "no index.html: not a built site")]
    base_path = urlsplit(base_url).path or "/"
    pages = sorted(out_dir.rglob("*.html"))
    scans = {p.relative_to(out_dir).as_posix(): _scan(p) for p in pages}
    problems: list[Problem] = []
    for page, scan in scans.items():
        page_url = "/" + page.removesuffix("index.html")
        if page == "404.html":
            page_url = "/"  # served at any address, so its links are from the site root
        for link, line in scan.links:
            if link.startswith("#"):
                if link[1:] and link[1:] not in scan.ids:
                    problems.append(Problem(page, line, f"missing anchor: {link}"))
                continue
            target, anchor = _internal_target(link, page_url, base_url, base_path)
            if target is None:
                continue
            file = _resolve(out_dir, target)
            if file is None:
                problems.append(Problem(page, line, f"broken link: {link}"))
            elif anchor and file.suffix == ".html":
                ids = scans.get(file.relative_to(out_dir).as_posix())
                if ids is not None and anchor not in ids.ids:
                    problems.append(Problem(page, line, f"missing anchor: {link}"))
    problems += _check_feeds(out_dir)
    problems += _check_sitemap(out_dir, base_url, scans)
    return problems


def _scan(path: Path) -> _PageScan:
    scan = _PageScan()
    scan.feed(path.read_text(encoding="utf-8", errors="replace"))
    return scan


def _internal_target(link: str, page_url: str, base_url: str,
                     base_path: str) -> tuple[str | None, str]:
    """(site-relative path, anchor) of an internal link; (None, "") for an external one."""
    if link.startswith(("mailto:", "javascript:", "data:", "tel:")):
        return None, ""
    if base_url and link.startswith(base_url):
        link = "/" + link[len(base_url):]
        base_path = "/"
    elif urlsplit(link).scheme or link.startswith("//"):
        return None, ""
    url, anchor = urldefrag(link)
    absolute = urljoin("http://site" + base_path + page_url.lstrip("/"), url)
    path = unquote(urlsplit(absolute).path)
    if not path.startswith(base_path):
        return path, anchor  # leaves the base path: resolved below, and reported
    return path[len(base_path):], anchor


def _resolve(out_dir: Path, target: str) -> Path | None:
    relative = PurePosixPath(target.lstrip("/"))
    if ".." in relative.parts:
        return None
    candidate = out_dir.joinpath(*relative.parts)
    if target.endswith("/") or target == "" or candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def _check_feeds(out_dir: Path) -> list[Problem]:
    problems = []
    for path in sorted(out_dir.rglob("*.xml")):
        relative = path.relative_to(out_dir).as_posix()
        if path.name not in ("atom.xml", "rss.xml"):
            continue
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            problems.append(Problem(relative, exc.position[0], f"feed does not parse: {exc}"))
            continue
        entries = (root.findall(f"{_ATOM}entry") if root.tag == f"{_ATOM}feed"
                   else root.findall("channel/item") if root.tag == "rss" else None)
        if entries is None:
            problems.append(Problem(relative, None, f"not an Atom or RSS feed ({root.tag})"))
    feed_json = out_dir / "feed.json"
    if feed_json.is_file():
        try:
            document = json.loads(feed_json.read_text(encoding="utf-8"))
            if not str(document.get("version", "")).startswith("https://jsonfeed.org/"):
                problems.append(Problem("feed.json", None, "not a JSON Feed (no version)"))
        except ValueError as exc:
            problems.append(Problem("feed.json", None, f"feed does not parse: {exc}"))
    return problems


def _check_sitemap(out_dir: Path, base_url: str, scans: dict[str, _PageScan]) -> list[Problem]:
    sitemap = out_dir / "sitemap.xml"
    if not sitemap.is_file():
        return []
    try:
        root = ET.parse(sitemap).getroot()
    except ET.ParseError as exc:
        return [Problem("sitemap.xml", exc.position[0], f"sitemap does not parse: {exc}")]
    listed = {loc.text or "" for loc in root.iter(f"{_SITEMAP}loc")}
    prefix = base_url or min(listed, key=len, default="")  # the shortest URL is the root
    problems = []
    for page, scan in scans.items():
        if scan.redirect or page == "404.html":
            continue
        url = prefix + page.removesuffix("index.html")
        if url not in listed:
            problems.append(Problem(page, None, "page is missing from sitemap.xml"))
    return problems
