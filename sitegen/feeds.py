"""Feeds, sitemap and robots.txt: the files other programs read.

Atom and RSS (through feedgen) for the site, each story ("follow this story": an entry
per article) and each outlet; JSON Feed 1.1 for the site. All URLs are absolute, from
the base URL; entry ids are the entries' permanent URLs. Nothing here depends on the
clock, so an unchanged site gives unchanged feeds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from feedgen.feed import FeedGenerator

from .model import Article, Page, Site, SiteInfo, StoryAnalysis

SITE_ENTRIES = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Atom needs an update time; an undated entry with nothing else to go by gets this."""


@dataclass(frozen=True, slots=True)
class Entry:
    id_url: str
    title: str
    summary: str
    published: str | None
    updated: str | None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed: where its HTML page and its files live (site-relative), and its entries."""

    page: str
    title: str
    description: str
    entries: Sequence[Entry]


def feed_paths(page: str) -> tuple[str, str]:
    """(Atom, RSS) paths of the feeds of the page at `page` (a folder, or "" for the site)."""
    return f"{page}atom.xml", f"{page}rss.xml"


def moment(value: str | None) -> datetime | None:
    if not value:
        return None
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def render_feed(info: SiteInfo, spec: FeedSpec) -> list[Page]:
    """The Atom and RSS files of one feed."""
    atom_path, rss_path = feed_paths(spec.page)
    generator = FeedGenerator()
    generator.id(info.base_url + spec.page)
    generator.title(spec.title)
    generator.subtitle(spec.description or spec.title)
    generator.link(href=info.base_url + spec.page, rel="alternate")
    generator.link(href=info.base_url + atom_path, rel="self")
    generator.language(info.language)
    generator.generator("sitegen")
    newest = max((m for e in spec.entries if (m := moment(e.updated or e.published))),
                 default=EPOCH)
    generator.updated(newest)
    generator.lastBuildDate(newest)
    for entry in spec.entries:
        item = generator.add_entry(order="append")
        item.id(entry.id_url)
        item.guid(entry.id_url, permalink=True)
        item.title(entry.title)
        item.link(href=entry.id_url)
        item.summary(entry.summary or entry.title)
        published = moment(entry.published)
        if published:
            item.published(published)
        item.updated(moment(entry.updated) or published or newest)
        if entry.author:
            item.author({"name": entry.author})
    return [Page(atom_path, generator.atom_str(pretty=True)),
            Page(rss_path, generator.rss_str(pretty=True))]


def json_feed(info: SiteInfo, entries: Sequence[Entry]) -> Page:
    """JSON Feed 1.1 for the site."""
    items = []
    for entry in entries:
        item = {"id": entry.id_url, "url": entry.id_url, "title": entry.title,
                "summary": entry.summary, "content_text": entry.summary}
        for key, value in (("date_published", entry.published), ("date_modified", entry.updated)):
            if (when := moment(value)) is not None:
                item[key] = when.isoformat()
        items.append(item)
    document = {"version": "https://jsonfeed.org/version/1.1", "title": info.title,
                "description": info.description, "home_page_url": info.base_url,
                "feed_url": info.base_url + "feed.json", "language": info.language,
                "items": items}
    return Page("feed.json", (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode())


def story_entry(info: SiteInfo, story: StoryAnalysis, path: str) -> Entry:
    count = len(story.articles)
    summary = f"{story.summary} ({count} article{'s' if count != 1 else ''}"
    summary += f" from {', '.join(story.outlets)})" if story.outlets else ")"
    return Entry(info.base_url + path, story.headline, summary, story.first_seen,
                 story.last_seen)


def article_entry(info: SiteInfo, article: Article, path: str) -> Entry:
    return Entry(info.base_url + path, article.title, article.text[:400].rsplit(" ", 1)[0],
                 article.published, article.published, article.source or article.author)


def sitemap(info: SiteInfo, pages: Iterable[tuple[str, str | None]]) -> Page:
    """Every page's absolute URL, with its last change where one is known."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for path, lastmod in pages:
        lines.append(f"  <url><loc>{escape(info.base_url + path)}</loc>"
                     + (f"<lastmod>{lastmod[:10]}</lastmod>" if lastmod else "") + "</url>")
    lines.append("</urlset>")
    return Page("sitemap.xml", ("\n".join(lines) + "\n").encode())


def robots(info: SiteInfo) -> Page:
    lines = ["User-agent: *", "Allow: /"]
    if info.base_url:
        lines.append(f"Sitemap: {info.base_url}sitemap.xml")
    return Page("robots.txt", ("\n".join(lines) + "\n").encode())


def site_entries(info: SiteInfo, site: Site, path_of: dict[str, str]) -> list[Entry]:
    """The site feed: stories by their latest coverage, newest first."""
    recent = sorted(site.stories, key=lambda s: (s.last_seen or "", s.story.id), reverse=True)
    return [story_entry(info, s, path_of[s.story.id]) for s in recent[:SITE_ENTRIES]]
