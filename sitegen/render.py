"""Render stage: Site -> Pages (HTML through Jinja2, and the stories.json export).

Templates come from the project's `templates/` first, then the built-in theme; a
template can extend the built-in one it replaces as `sitegen:<name>`. Every URL a page
contains is relative to that page, so one build works at a domain root and under a
sub-path such as `/repo/`.
"""

from __future__ import annotations

import functools
import io
import itertools
import pickle
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from . import browse, feeds, parallel
from .errors import Problem, TemplateError
from .export import FILE as EXPORT_FILE
from .export import export_json
from .memo import Keyed, RenderMemo
from .model import Kept, Page, Site, SiteInfo
from .urls import article_path, name_path, outlet_path, story_path


def make_environment(template_dirs: Sequence[Path],
                     cache_dir: Path | None = None) -> jinja2.Environment:
    """Project templates first, then the built-in theme. With `cache_dir`, compiled
    templates are kept there (Jinja checks each template's source before using one).
    An environment serves one build: templates are not looked at again once loaded
    (auto_reload off, which would stat each template file for every page)."""
    builtin = template_dirs[-1]
    bytecode_cache = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        bytecode_cache = CheckedBytecodeCache(str(cache_dir))
    loader = jinja2.ChoiceLoader([
        jinja2.PrefixLoader({"sitegen": jinja2.FileSystemLoader(builtin)}, delimiter=":"),
        jinja2.FileSystemLoader([str(d) for d in template_dirs if d.is_dir()]),
    ])
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=bytecode_cache,
        auto_reload=False,
    )
    env.filters["nice_date"] = nice_date
    return env


class CheckedBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates, which also notes the cache files it found
    corrupt (Jinja quietly recompiles them), so a build can say so."""

    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self.corrupt: list[str] = []

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = Path(self._get_cache_filename(bucket))
        try:
            super().load_bytecode(bucket)
        except Exception:  # garbage after a valid header: Jinja lets pickle's error out
            bucket.reset()
            self.corrupt.append(path.name)
            return
        if bucket.code is None and path.is_file() and _corrupt(path.read_bytes(), bucket):
            self.corrupt.append(path.name)

    def problems(self) -> list[Problem]:
        return [Problem(f".sitegen/cache/templates/{name}", None,
                        "corrupt cache file; the template was compiled again")
                for name in self.corrupt]


def _corrupt(data: bytes, bucket: jinja2.bccache.Bucket) -> bool:
    """Not merely stale (made by another Jinja or Python, or from an older template)."""
    magic = jinja2.bccache.bc_magic
    if not data.startswith(magic):
        return not data.startswith(b"j2")
    stream = io.BytesIO(data[len(magic):])
    try:
        return pickle.load(stream) == bucket.checksum  # current, yet it did not load
    except Exception:
        return True


@dataclass(frozen=True, slots=True)
class _PageSpec:
    """A page to render: its template, path, date (for the sitemap), feeds, memo key and
    template context."""

    template: str
    path: str
    lastmod: str | None
    feeds: Sequence[dict[str, str]]
    key: Any
    """Its memo key (RenderMemo.key); None for pages keyed by identity_keys."""
    context: dict[str, Any]


PAGES_PER_CHUNK = 50
LIST_PAGES_PER_CHUNK = 10
"""For the pages of lists (the front page's, the archive's, names' and outlets'): each
shows stories from all over the archive, so a worker's copy of the build grows fast (at
100,000 articles, 17 MiB per 50 archive pages), and in smaller chunks a worker tells
what it holds more often (see parallel.WORKER_COPY_MOST)."""


def render_site(site: Site, env: jinja2.Environment, *, generated: str,
                previous_export: bytes | None, memo: RenderMemo | None = None,
                write_page: Callable[[str, bytes], None] | None = None
                ) -> Iterator[Page | Kept]:
    """Every page of the site, one at a time, so memory does not grow with the archive.
    With `memo` (started for this theme and these settings), pages whose context did not
    change since the last build are taken from it instead of rendered: given without
    their bytes, and those of story and article pages, names and outlets all at once
    (Kept). With `write_page` (path, bytes), the pages rendered in bulk are written by it
    where they are rendered, on every core, and given as staged (Page.staged)."""
    info = site.info
    memo = memo or RenderMemo()
    site_feed = [_feed_link(info, info.title, "")]
    listed: list[tuple[str, str | None]] = []
    """(page URL, last change) of every page, for the sitemap."""

    def content(template: str, path: str, feeds: Sequence[dict[str, str]] = (),
                **context: Any) -> bytes:
        links = [*site_feed, *feeds] if info.base_url else []
        return _render(env, template, path, site, feeds=links, **context).content

    def page(template: str, path: str, lastmod: str | None = None,
             feeds: Sequence[dict[str, str]] = (), key: Any = None, **context: Any) -> Page:
        """`key`: what the page is made from, when less than its whole context says it
        (a story page: the story and the site settings, which the memo knows)."""
        listed.append((path.removesuffix("index.html"), lastmod))
        links = [*site_feed, *feeds] if info.base_url else []
        return memo.page(path, (template, key) if key else (template, links, context),
                         lambda: content(template, path, feeds, **context))

    def delivered(path: str, html: bytes) -> bytes | None:
        """The page's bytes for the writer, or None once `write_page` has written them."""
        if write_page is None:
            return html
        write_page(path, html)
        return None

    def many(keys: Sequence[Any], names: Sequence[str | None],
             lastmods: Sequence[str | None], spec: Callable[[int], _PageSpec],
             per_chunk: int = PAGES_PER_CHUNK) -> Iterator[Page | Kept]:
        """Pages of one kind: the n-th has key `keys[n]` and is the page `names[n]` of
        the last build, unchanged (all such given at once, as Kept), or else `spec(n)`,
        rendered (on every core, when there are many)."""
        todo = [number for number, name in enumerate(names) if name is None]
        specs = {number: spec(number) for number in todo}

        def render_chunk(chunk: Sequence[int]) -> list[bytes | None]:
            return [delivered(s.path, content(s.template, s.path, s.feeds, **s.context))
                    for s in map(specs.__getitem__, chunk)]

        paths = [specs[number].path if name is None else name
                 for number, name in enumerate(names)]
        listed.extend(zip([path.removesuffix("index.html") for path in paths], lastmods,
                          strict=True))
        # Workers are sent numbers: they have the specs (forked), whose stories would be
        # slow to pickle
        rendered = parallel.imap_chunked(render_chunk, todo, chunk=per_chunk)
        for number, html in zip(todo, itertools.chain.from_iterable(rendered), strict=True):
            yield memo.made_page(paths[number], keys[number], html)
        if len(todo) < len(paths):
            yield Kept([name for name in names if name is not None])

    def by_identity(template: str, columns: Sequence[Sequence[Any]],
                    lastmods: Sequence[str | None], spec: Callable[[int], _PageSpec]
                    ) -> Iterator[Page | Kept]:
        """Pages made from stories and articles alone: the n-th from the n-th of each
        column. Only the changed ones are worked out (see RenderMemo.known_names)."""
        keys = memo.identity_keys(template, *columns)
        return many(keys, memo.known_names(keys), lastmods, spec)

    def by_listing(template: str, heads: Sequence[Sequence[Any]],
                   runs: Sequence[Sequence[Any]], lastmods: Sequence[str | None],
                   spec: Callable[[int], _PageSpec]) -> Iterator[Page | Kept]:
        """Pages listing stories or articles: the n-th shows the run `runs[n]` and plain
        values `heads[n]` (its address, its title, its place among the pages...).
        Only the changed ones are worked out (see RenderMemo.listing_keys)."""
        keys = memo.listing_keys(template, heads, runs)
        return many(keys, memo.known_names(keys), lastmods, spec, LIST_PAGES_PER_CHUNK)

    # First, so that the search index can be made from it while the pages are written
    # (before the indexes of names and outlets: 0.7 s at 100,000 articles, which the
    # indexer's start waited for and a one-article build then waited for the indexer)
    yield Page(EXPORT_FILE, export_json(site, generated, previous_export, memo))
    names, outlets = browse.name_index(site), browse.outlet_index(site)
    newest = max((s.last_seen for s in site.stories if s.last_seen), default=None)
    listings = browse.paginate("", info.title, site.stories, info.per_page)
    yield from by_listing(
        "index.html", [(li.path, li.title, li.number, li.previous, li.next, li.crumbs)
                       for li in listings],
        [li.stories for li in listings], [newest] * len(listings),
        lambda n: _PageSpec("index.html", listings[n].path + "index.html", newest, (), None,
                            {"listing": listings[n], "stories": listings[n].stories}))
    yield page("list.html", "updated/index.html", newest, title="Recently updated",
               intro="Stories with the newest coverage first.",
               stories=browse.recently_updated(site.stories))
    periods = browse.archive(site.stories)
    yield from by_listing(
        "archive.html", [(p.path, p.title, p.children, p.crumbs, p.lists_stories)
                         for p in periods],
        [p.stories for p in periods], [None] * len(periods),
        lambda n: _PageSpec("archive.html", periods[n].path + "index.html", None, (), None,
                            {"period": periods[n]}))
    stories = site.stories
    yield from by_identity(
        "story.html", [stories], [story.last_seen for story in stories],
        lambda n: _PageSpec(
            "story.html", story_path(stories[n]) + "index.html", stories[n].last_seen,
            [_feed_link(info, f"Follow: {stories[n].headline}", story_path(stories[n]))],
            None, {"story": stories[n]}))
    covered = [(story, article) for story in stories for article in story.articles]
    yield from by_identity(
        "article.html", [[s for s, _ in covered], [a for _, a in covered]],
        [article.published for _, article in covered],
        lambda n: _PageSpec(
            "article.html", article_path(covered[n][1]) + "index.html",
            covered[n][1].published, (), None,
            {"story": covered[n][0], "article": covered[n][1]}))
    if info.search:
        yield page("search.html", "search/index.html")
    by_kind: dict[str, list[browse.NameIndex]] = {}
    for entry in names:
        by_kind.setdefault(entry.kind, []).append(entry)
    yield page("names.html", "names/index.html",
               key=Keyed(tuple((e.slug, e.name, e.kind, len(e.stories)) for e in names)),
               names=names, names_by_kind=by_kind)
    # Names' and outlets' pages are cut as the front page is (see browse.pages): a new
    # story or article changes a first page alone, which alone tells how many there are
    named = [(entry, pager, entry.stories[pager.start:pager.end]) for entry in names
             for pager in browse.pages(name_path(entry.slug), len(entry.stories),
                                       info.per_page)]
    yield from by_listing(
        "name.html", [(entry.name, entry.kind, *_place(pager, len(entry.stories)))
                      for entry, pager, _ in named],
        [shown for _, _, shown in named], [None] * len(named),
        lambda n: _PageSpec("name.html", named[n][1].path + "index.html", None, (), None,
                            {"entry": named[n][0], "stories": named[n][2],
                             "listing": named[n][1]}))
    yield page("outlets.html", "outlets/index.html",
               key=Keyed(tuple((o.name, o.path, len(o.articles)) for o in outlets)),
               outlets=outlets)
    from_outlets = [(outlet, pager, outlet.articles[pager.start:pager.end])
                    for outlet in outlets
                    for pager in browse.pages(outlet.path, len(outlet.articles), info.per_page)]
    yield from by_listing(
        "outlet.html", [(outlet.name, *_place(pager, len(outlet.articles)))
                        for outlet, pager, _ in from_outlets],
        [[item for pair in shown for item in pair] for _, _, shown in from_outlets],
        [shown[0][0].published for _, _, shown in from_outlets],
        lambda n: _PageSpec(
            "outlet.html", from_outlets[n][1].path + "index.html",
            from_outlets[n][2][0][0].published,
            [_feed_link(info, from_outlets[n][0].name, from_outlets[n][0].path)], None,
            {"outlet": from_outlets[n][0], "articles": from_outlets[n][2],
             "listing": from_outlets[n][1]}))
    for old_path, new_path in sorted(site.redirects.items()):
        path = old_path + "index.html"
        yield memo.page(path, ("redirect.html", new_path),
                        lambda p=path, t=new_path: _render(env, "redirect.html", p, site,
                                                           target=t).content)
    yield memo.page("404.html", ("404.html",), lambda: _render(
        env, "404.html", "404.html", site, absolute_root=True, feeds=[]).content)
    yield feeds.robots(info)
    if info.base_url:
        yield from _feeds(site, outlets, memo)
        yield memo.page("sitemap.xml", tuple(listed),
                        lambda: feeds.sitemap(info, listed).content)


def _place(pager: browse.Pager, total: int) -> tuple[object, ...]:
    """What a page of a paginated list shows besides its items: its place among the
    pages, and on the first page the number of items."""
    return (pager.path, pager.number, pager.previous, pager.next,
            0 if pager.number else total)


def _feed_link(info: SiteInfo, title: str, folder: str) -> dict[str, str]:
    atom, rss = feeds.feed_paths(folder)
    return {"title": title, "atom": info.base_url + atom, "rss": info.base_url + rss}


def _feeds(site: Site, outlets: Sequence[browse.OutletIndex], memo: RenderMemo) -> Iterator[Page]:
    info = site.info
    paths = {s.story.id: story_path(s) for s in site.stories}

    def feed(spec: feeds.FeedSpec) -> list[Page]:
        return memo.pages(f"{spec.page}\x00feed", spec, lambda: feeds.render_feed(info, spec))

    entries = feeds.site_entries(info, site, paths)
    yield from feed(feeds.FeedSpec("", info.title, info.description, entries))
    yield memo.page("feed.json", entries, lambda: feeds.json_feed(info, entries).content)
    for story in site.stories:
        articles = [feeds.article_entry(info, a, article_path(a))
                    for a in sorted(story.articles, key=lambda a: a.published or "",
                                    reverse=True)]
        yield from feed(feeds.FeedSpec(
            paths[story.story.id], f"{story.headline} · {info.title}",
            f"Every article about this story, as it arrives. {story.summary}", articles))
    for outlet in outlets:
        articles = [feeds.article_entry(info, a, article_path(a)) for a, _ in outlet.articles]
        yield from feed(feeds.FeedSpec(
            outlet.path, f"{outlet.name} · {info.title}", f"Articles from {outlet.name}.",
            articles))


def _render(env: jinja2.Environment, template_name: str, path: str, site: Site,
            absolute_root: bool = False, feeds: Sequence[dict[str, str]] = (),
            **context: Any) -> Page:
    depth = path.count("/")
    if absolute_root and site.info.base_url:
        root = urlsplit(site.info.base_url).path
    else:
        root = "../" * depth
    page_url = path.removesuffix("index.html")
    helpers: dict[str, Callable[..., Any]] = {
        "url": lambda target="": root + target or "./",
        "story_url": lambda story: root + story_path(story),
        "article_url": lambda article: root + article_path(article),
        "name_url": lambda slug: root + name_path(slug),
        "outlet_url": lambda outlet: root + outlet_path(outlet),
        "article_by_id": site.articles.get,
    }
    canonical_url = context.get("target", page_url)
    canonical = (site.info.base_url + canonical_url
                 if site.info.base_url and not absolute_root else None)
    try:
        template = env.get_template(template_name)
        html = template.render(site=site.info, root=root, page_url=page_url,
                               canonical=canonical, feeds=feeds, **helpers, **context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(Problem(_template_file(exc.filename, exc.name), exc.lineno,
                                    f"template syntax error: {exc.message}")) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(Problem(f"templates/{exc.name}", None,
                                    "template not found (neither in the project nor built in)")
                            ) from exc
    except Exception as exc:
        filename, line = _template_frame(exc)
        raise TemplateError(Problem(_template_file(filename, template_name), line,
                                    f"error rendering {path}: {exc}")) from exc
    return Page(path, html.encode("utf-8"))


def _template_file(filename: str | None, name: str | None) -> str:
    return filename or f"templates/{name}"


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost template line in a render traceback (Jinja rewrites frames to it)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.endswith((".html", ".xml", ".j2", ".jinja"))]
    return (frames[-1].filename, frames[-1].lineno) if frames else (None, None)


@functools.lru_cache(maxsize=4096)
def nice_date(value: str | None) -> str:
    """`2025-05-19` -> `19 May 2025`; times keep hour and minute. Remembered: a story
    page shows the same few dates many times over."""
    if not value:
        return "undated"
    if len(value) == 10:
        return f"{date.fromisoformat(value):%-d %B %Y}"
    moment = datetime.fromisoformat(value)
    zone = " UTC" if moment.utcoffset() is not None else ""
    return f"{moment:%-d %B %Y, %H:%M}{zone}"
