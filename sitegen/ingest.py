"""Ingest stage: seed files -> Articles.

Reads every seed, decodes it (detecting the encoding when it is not UTF-8), parses its
format, strips outlet boilerplate (keeping it on record), and gives each article an id
computed from its content, so renaming a file changes nothing.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import nh3
from markdown_it import MarkdownIt

from . import formats, parallel, seedfiles
from .errors import Problem, SitegenError
from .formats import SeedRecord
from .model import Article, Progress, no_progress, pickled_compactly
from .text import headline_from, normalize_space

MAX_BODY_CHARS = 2_000_000
"""Longer than any news article by far (the longest features run to ~100,000 characters):
past this, a seed is a dump or an attack, and analysis time would grow without use."""
MAX_MARKDOWN_BRACKETS = 10_000
"""Link syntax is where Markdown parsing turns superlinear (100,000 `![` take 5 s, and
a million would take minutes); no article has this many links."""


@pickled_compactly
@dataclass(frozen=True, slots=True)
class SeedReading:
    """What one seed file gave, kept by `sitegen watch` so unchanged seeds are not read
    again (see read_articles)."""

    signature: seedfiles.Signature
    """When read."""
    trusted: bool
    """Read well after its last modification: a later change cannot share its timestamp."""
    articles: tuple[tuple[Article, int | None], ...]
    problems: tuple[Problem, ...]


RACY_NS = 2_000_000_000
"""A file modified this recently may be modified again within one timestamp tick (git's
"racy" files): its reading is not trusted until it is read again later."""


def read_articles(seeds_dir: Path, memo: dict[str, SeedReading] | None = None,
                  progress: Progress = no_progress, listing: seedfiles.SeedListing | None = None,
                  meanwhile: Callable[[], object] | None = None
                  ) -> tuple[list[Article], list[Problem]]:
    """Read every seed under `seeds_dir`; what cannot be read becomes a Problem, not an error.

    With `memo` (seed label -> reading, from the previous call), a seed whose size,
    modification time and inode are unchanged is not read again; `memo` is updated.
    `listing`: the seeds as the caller listed them a moment ago (list_seeds).
    `meanwhile`: the caller's own work, done while workers read (parallel.imap_chunked).
    """
    if not seeds_dir.is_dir():
        raise SitegenError(Problem(str(seeds_dir), None, "seeds folder not found"))
    listing = listing if listing is not None else seedfiles.list_seeds(seeds_dir)
    problems = list(listing.problems)
    articles: dict[str, Article] = {}
    readings: dict[str, SeedReading] = {}
    last = memo or {}
    known = {label: reading if (reading := last.get(label)) is not None and reading.trusted
             and reading.signature == signature else None
             for _, label, signature in listing.files}
    unread = [(path, label) for path, label, _ in listing.files if known[label] is None]
    total = len(listing.files)
    progress("read", total - len(unread), total)
    fresh = dict(zip((label for _, label in unread), parallel.map_chunked(
        _read_chunk, unread, lambda done: progress("read", total - len(unread) + done, total),
        meanwhile), strict=True))
    for _, label, _ in listing.files:
        reading = known[label] or fresh[label]
        readings[label] = reading
        problems.extend(reading.problems)
        for article, line in reading.articles:
            if article.id in articles:
                kept = articles[article.id].seed
                problems.append(Problem(label, line, f"same article as {kept}; skipped"))
                continue
            articles[article.id] = article
    if memo is not None:
        memo.clear()
        memo.update(readings)
    return list(articles.values()), problems


def _read_chunk(seeds: Sequence[tuple[str, str]]) -> list[SeedReading]:
    """Read seeds (path, label), perhaps in a worker process (see parallel.py)."""
    renderer = MarkdownRenderer()
    return [_reading(path, label, renderer) for path, label in seeds]


def _reading(path: str, label: str, renderer: MarkdownRenderer) -> SeedReading:
    signature = seedfiles.signature(path)
    trusted = signature[1] >= 0 and time.time_ns() - signature[1] > RACY_NS
    problems: list[Problem] = []
    try:
        found = tuple(read_seed_articles(Path(path), label, renderer, problems))
    except Exception as exc:  # a bug costs one seed, never the site
        found = ()
        problems.append(Problem(label, None, f"{INTERNAL_ERROR} ({type(exc).__name__}: "
                                             f"{exc}); skipped, please report it"))
    return SeedReading(signature, trusted, found, tuple(problems))


INTERNAL_ERROR = "sitegen failed to read this seed"


def read_seed_articles(path: Path, label: str, renderer: MarkdownRenderer,
                       problems: list[Problem]) -> Iterator[tuple[Article, int | None]]:
    """The articles of one seed file, with the line each starts on (JSON Lines)."""
    for record in read_seed(path, label, problems):
        article = to_article(record, renderer, problems)
        if article is not None:
            yield article, record.line


def read_seed(path: Path, label: str, problems: list[Problem]) -> Iterable[SeedRecord]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(label, None, f"cannot read: {exc.strerror}"))
        return []
    text, note = decode(data)
    if text is None:
        problems.append(Problem(label, None, note or "cannot decode"))
        return []
    if note:
        problems.append(Problem(label, None, note))
    if not text.strip():
        problems.append(Problem(label, None, "empty file; skipped"))
        return []
    return formats.PARSERS[path.suffix.lower()](label, text)


def decode(data: bytes) -> tuple[str | None, str | None]:
    """Bytes -> text. Returns (text, note about the encoding) or (None, why not)."""
    boms = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
    for bom, codec in boms:
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff"), None
            except UnicodeDecodeError:
                break
    if b"\x00" in data:
        return None, "binary file (contains NUL bytes); skipped"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.encoding is None:
        return None, "not text in any known encoding; skipped"
    return str(best), f"not valid UTF-8; read as {best.encoding}"


# --- records -> articles ------------------------------------------------------------------


def to_article(record: SeedRecord, renderer: MarkdownRenderer,
               problems: list[Problem]) -> Article | None:
    problems.extend(record.problems)
    if record.problems and not record.body and record.title is None:
        return None
    if len(record.body) > MAX_BODY_CHARS:
        problems.append(Problem(record.label, record.line,
                                f"article text is {len(record.body):,} characters, over the "
                                f"limit of {MAX_BODY_CHARS:,}; skipped"))
        return None
    body, removed, promo_outlet = strip_boilerplate(record.body)
    markdown = record.markdown
    if markdown and body.count("[") > MAX_MARKDOWN_BRACKETS:
        problems.append(Problem(record.label, record.line,
                                f"more than {MAX_MARKDOWN_BRACKETS:,} '[' characters: read as "
                                "plain text, not Markdown"))
        markdown = False
    if markdown:
        title_heading, body = _leading_heading(body) if record.title is None else (None, body)
        body_html, text = renderer.render(body)
        title = record.title or title_heading
    else:
        body_html, text = plain_body(body)
        title = record.title
    if not text and not title:
        problems.append(Problem(record.label, record.line, "no title and no text; skipped"))
        return None

    published = None
    if record.date is not None:
        published, reason = formats.parse_date(record.date)
        if reason:
            problems.append(Problem(record.label, record.date_line or record.line,
                                    f"{reason}; article kept undated"))
    url = safe_url(record.url)
    if record.url and url is None:
        problems.append(Problem(record.label, record.line,
                                f"url {record.url!r} is not an http(s) address; ignored"))
    derived = not title
    title = normalize_space(title) if title else headline_from(text)
    source = normalize_space(record.source) if record.source else promo_outlet
    fields = (title, text, published or "", source or "", url or "",
              record.author or "", ",".join(record.tags))
    return Article(
        id=_article_id(fields, record.given_id),
        seed=record.label,
        title=title,
        title_derived=derived,
        text=text,
        body_html=body_html,
        published=published,
        source=source,
        original_url=url,
        author=normalize_space(record.author) if record.author else None,
        tags=record.tags,
        removed=tuple(removed),
    )


_GIVEN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _article_id(fields: tuple[str, ...], given: str | None) -> str:
    """A seed's own id when it is URL-safe; otherwise a hash of the normalized content."""
    if given and _GIVEN_ID.fullmatch(given) and not given.strip(".").isdigit():
        return given
    digest = hashlib.sha256("\x1f".join(normalize_space(f) for f in fields).encode())
    return digest.hexdigest()[:16]


def safe_url(url: str | None) -> str | None:
    """Only http(s) links leave the site; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    url = url.strip()
    return url if re.match(r"https?://[^\s<>\"']+$", url, re.IGNORECASE) else None


# --- boilerplate ------------------------------------------------------------------------------

_PROMO = re.compile(
    r"^\W*(?:also read|read more|read also|more (?:top )?stories|top stories|for more news)\b"
    r".*?\bfrom\s+(?P<outlet>[\w&.' -]{2,60}?)\W*$",
    re.IGNORECASE,
)
_SMALL_WORDS = {"of", "and", "the", "for", "on", "in", "at", "to", "a"}


def strip_boilerplate(body: str) -> tuple[str, list[str], str | None]:
    """Remove trailing outlet promo lines ("ALSO READ TOP STORIES FROM VERILY NEWS").

    Returns the body without them, the removed lines (to disclose, not hide), and the
    outlet the promo names.
    """
    lines = body.rstrip().splitlines()
    removed: list[str] = []
    outlet = None
    while lines:
        last = lines[-1].strip()
        match = _PROMO.match(last)
        if not match:
            break
        removed.insert(0, last)
        outlet = outlet or _outlet_name(match.group("outlet"))
        lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()
    return "\n".join(lines), removed, outlet


def _outlet_name(name: str) -> str:
    """Shouted promo names read better in title case; short acronyms (AFP, BBC) stay."""
    name = normalize_space(name).strip(" .-")
    if not name.isupper():
        return name
    words = name.split()
    return " ".join(
        w if len(w) <= 3 and w.lower() not in _SMALL_WORDS
        else (w.lower() if i and w.lower() in _SMALL_WORDS else w.capitalize())
        for i, w in enumerate(words)
    )


# --- bodies ---------------------------------------------------------------------------------

_SUBHEAD_END = re.compile(r"[.!?:;,\"”’'…)]$")


def plain_body(body: str) -> tuple[str, str]:
    """Plain text -> (HTML, text). Paragraphs are blank-line separated, or one per line when
    the text has no blank lines; short unpunctuated lines between paragraphs are subheads."""
    if re.search(r"\n\s*\n", body):
        blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", body)]
    else:
        blocks = [" ".join(line.split()) for line in body.splitlines()]
    blocks = [b for b in blocks if b]
    parts = []
    for index, block in enumerate(blocks):
        is_subhead = (0 < index < len(blocks) - 1 and len(block) <= 80
                      and not _SUBHEAD_END.search(block))
        if is_subhead:
            heading = block.strip(" -–—")
            blocks[index] = heading
            parts.append(f"<h2>{html.escape(heading, quote=False)}</h2>")
        else:
            parts.append(f"<p>{html.escape(block, quote=False)}</p>")
    return "\n".join(parts), "\n\n".join(blocks)


_HEADING = re.compile(r"\A\s*#\s+(.+?)\s*#*\s*(?:\n|\Z)")
_ALLOWED_SCHEMES = {"http", "https", "mailto"}
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|blockquote|pre|tr|div|dd|dt)>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def _leading_heading(body: str) -> tuple[str | None, str]:
    match = _HEADING.match(body)
    return (match.group(1), body[match.end():]) if match else (None, body)


class MarkdownRenderer:
    """Markdown -> sanitized HTML and plain text. One parser is reused across articles.

    markdown-it-py rather than Python-Markdown: it parses in linear time with a nesting
    limit (Python-Markdown took 40 s on a line of 20,000 brackets and overflowed the stack
    on a deeply nested list) and is 5.6x faster on real articles.
    """

    def __init__(self) -> None:
        self._md = MarkdownIt("commonmark", {"maxNesting": 20}).enable(["table", "strikethrough"])

    def render(self, source: str) -> tuple[str, str]:
        raw = self._md.render(source)
        clean = nh3.clean(raw, url_schemes=_ALLOWED_SCHEMES,
                          link_rel="noopener noreferrer nofollow")
        # The page title is the only h1; body headings move one level down.
        clean = re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m[1]}h{int(m[2]) + 1}", clean)
        blocks = _TAG.sub("", _BLOCK_END.sub("\n\n", clean))
        paragraphs = [" ".join(html.unescape(b).split()) for b in re.split(r"\n\s*\n", blocks)]
        return clean, "\n\n".join(p for p in paragraphs if p)
