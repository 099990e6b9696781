"""The plain data passed from one pipeline stage to the next. No I/O here."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from .errors import Problem

_Class = TypeVar("_Class", bound=type)


def pickled_compactly(cls: _Class) -> _Class:
    """Pickle a frozen dataclass with slots as the tuple of its fields, by functions made
    once for the class. The build cache holds about a million such objects at 100,000
    articles; the functions dataclasses give frozen classes look the fields up on every
    call, and took 1.7 s of the 6.7 s the cache took to save. Loading sets each slot
    through its descriptor, in a function written out for the class (as dataclasses
    writes its own): a loop over the fields calling object.__setattr__ took twice as
    long, 1.3 s of the 3.6 s the cache took to load."""
    names = tuple(f.name for f in fields(cls))
    get = operator.attrgetter(*names)
    setters = {f"_set_{number}": getattr(cls, name).__set__
               for number, name in enumerate(names)}
    source = "def __setstate__(self, state):\n" + "".join(
        f"    _set_{number}(self, state[{number}])\n" for number in range(len(names)))
    exec(source, setters)  # made above from field numbers alone

    def __getstate__(self: Any) -> tuple[Any, ...]:
        return get(self) if len(names) > 1 else (get(self),)

    __setstate__ = setters["__setstate__"]
    __setstate__.__qualname__ = f"{cls.__qualname__}.__setstate__"

    cls.__getstate__ = __getstate__  # type: ignore[attr-defined]
    cls.__setstate__ = __setstate__  # type: ignore[attr-defined]
    return cls


@pickled_compactly
@dataclass(frozen=True, slots=True)
class Article:
    """One news article, as read from a seed file."""

    id: str
    """Hash of the normalized content and metadata: renaming a seed file keeps it."""
    seed: str
    """Seed path relative to the seeds folder; `#<index>` is added for .json/.jsonl records."""
    title: str
    title_derived: bool
    """True when the seed had no title and one was taken from the opening sentence."""
    text: str
    """Plain body text, paragraphs separated by blank lines; what clustering and analysis read."""
    body_html: str
    """Sanitized HTML of the body, ready to insert into a page."""
    published: str | None
    """ISO date (`2025-05-19`) or datetime; None when the seed gives no date."""
    source: str | None
    """The outlet, from metadata or a trailing promo line; None when unknown."""
    original_url: str | None
    author: str | None = None
    tags: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    """Boilerplate lines stripped from the body, kept so pages can disclose them."""

    @property
    def day(self) -> str | None:
        return self.published[:10] if self.published else None

    def __hash__(self) -> int:
        """By id alone (equal articles have equal ids): the build cache's analyses are
        keyed by their stories and articles, and the generated hash reads every field."""
        return hash(self.id)


@pickled_compactly
@dataclass(frozen=True, slots=True)
class Story:
    """A group of articles about one event, with its lasting identity."""

    id: str
    """Kept across builds by member overlap (see identity.py); never reused once retired."""
    article_ids: tuple[str, ...]
    central_id: str
    """The article closest to the story's centroid: the most representative one."""
    terms: tuple[str, ...]
    """Heaviest terms its articles share: why they were grouped."""
    slug: str | None = None
    """The URL slug it was first published under; None for a story new in this build."""

    def __hash__(self) -> int:
        """By id alone, as an Article's."""
        return hash(self.id)


@pickled_compactly
@dataclass(frozen=True, slots=True)
class StoryRecord:
    """What the state file remembers of a live story."""

    slug: str
    article_ids: tuple[str, ...]
    created: int
    """Sequence number of the build that created it: lower is older."""
    central_id: str | None = None
    terms: tuple[str, ...] = ()
    """As last computed: a story whose articles did not change keeps them."""


@dataclass(frozen=True, slots=True)
class RetiredStory:
    """A story id that no longer exists, and the story that took its articles."""

    slug: str
    successor: str | None


@dataclass(frozen=True, slots=True)
class StoryState:
    """Story identity across builds, kept in `.sitegen/state.json` and committed."""

    sequence: int = 0
    """How many builds have saved this state."""
    stories: Mapping[str, StoryRecord] = field(default_factory=dict)
    retired: Mapping[str, RetiredStory] = field(default_factory=dict)
    fingerprint: str = ""
    """The clustering settings and overrides the stories were grouped under."""


@dataclass(frozen=True, slots=True)
class Overrides:
    """A person's corrections to the clustering, from `stories.toml` (article ids)."""

    together: tuple[tuple[str, ...], ...] = ()
    apart: tuple[tuple[str, str], ...] = ()
    headlines: Mapping[str, str] = field(default_factory=dict)
    """Article id -> headline pinned for the story that contains it."""


@pickled_compactly
@dataclass(frozen=True, slots=True)
class Relation:
    """How one article of a story relates to the others."""

    article: str
    kind: str
    """`original` (another article derives from it), `copy` (near-verbatim reprint),
    `rewrite` (paraphrase of another article of the story) or `independent`."""
    derived_from: str | None
    aligned_share: float
    """Share of its sentences aligned, in order, with its source (or closest article)."""
    ngram_share: float
    """Share of its word 5-grams found in its source (or closest article)."""
    shared_quotes: int
    reason: str | None = None
    """How the direction was decided: dates, wire outlet or credit, quotes, containment."""
    added: tuple[str, ...] = ()
    """Passages it has that its source does not."""
    dropped: tuple[str, ...] = ()
    """Passages of its source it does not carry."""
    comparison: tuple[tuple[str | None, str | None], ...] = ()
    """Side by side with its source: (its sentence, the source's sentence), in order."""


@pickled_compactly
@dataclass(frozen=True, slots=True)
class Quote:
    """A quotation as carried (or not) by the articles of a story."""

    text: str
    speaker: str | None
    carried_by: tuple[str, ...]
    """Articles carrying it verbatim (curly and straight quote marks are the same)."""
    altered_in: tuple[str, ...]
    """Articles carrying a reworded version of it."""
    dropped_by: tuple[str, ...]
    """Articles derived from a carrier that left it out."""


@pickled_compactly
@dataclass(frozen=True, slots=True)
class Entity:
    """A person, place or organisation named in a story."""

    name: str
    kind: str
    """`person`, `place`, `organisation` or `name` when the kind is unclear."""
    mentions: int
    slug: str


@pickled_compactly
@dataclass(frozen=True, slots=True)
class StoryAnalysis:
    """A story with what the analyze stage found out about it."""

    story: Story
    headline: str
    summary: str
    slug: str
    articles: tuple[Article, ...]
    """Coverage in time order; undated articles last."""
    first_seen: str | None
    last_seen: str | None
    outlets: tuple[str, ...]
    first_reported: str | None = None
    """Id of the article that reported the story first (earliest dated, else the original)."""
    wire_credits: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Article id -> wire agencies its text credits."""
    relations: tuple[Relation, ...] = ()
    quotes: tuple[Quote, ...] = ()
    entities: tuple[Entity, ...] = ()

    def relation_of(self, article_id: str) -> Relation | None:
        return next((r for r in self.relations if r.article == article_id), None)


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What templates need to know about the site as a whole."""

    title: str
    description: str
    base_url: str
    language: str
    per_page: int = 20
    search: bool = True


@dataclass(frozen=True, slots=True)
class Site:
    """Everything the render stage needs."""

    info: SiteInfo
    stories: tuple[StoryAnalysis, ...]
    """Front-page order: newest day first, best covered first within a day."""
    articles: Mapping[str, Article]
    story_of_article: Mapping[str, str]
    """Article id -> story id."""
    redirects: Mapping[str, str] = field(default_factory=dict)
    """URL of every retired story -> URL of the story that took its articles ("" = front)."""


@dataclass(frozen=True, slots=True)
class Page:
    """One output file: a path relative to the site root, and its bytes."""

    path: str
    content: bytes | None
    """None for an unchanged page whose bytes were not kept: the file in the site."""
    unchanged: bool = False
    """Known to be byte for byte the page the last build wrote at this path."""
    source: str | None = None
    """With no content: a file made elsewhere (by Pagefind) that the writer moves into
    place, rather than creating a file and writing the bytes again."""
    staged: bool = False
    """With no content: written into the staging folder already, where the page was
    rendered (see write.direct_writer); the writer only counts it."""


@dataclass(frozen=True, slots=True)
class Kept:
    """Files of the live site that the new one keeps as they are, many at once and by
    path alone: the pages the memo knows to be unchanged, the search shards the site has
    already. Nearly all of the 220,000 files of a 100,000-article site when one story
    changes, which each cost a Page and a round through the writer otherwise."""

    paths: Sequence[str]


@dataclass(frozen=True, slots=True)
class SpareSite:
    """How the site a staged build set aside (the spare, staged into by the next build)
    differs from the site it put in place: every other file of the two is one file,
    hard-linked into both. So the next build brings the spare up to date by touching
    only the files that changed, not each of the site's 220,000 (at 100,000 articles)."""

    live: tuple[int, ...]
    """The live site's signature (write.signature) when the spare was set aside."""
    spare: tuple[int, ...]
    """The spare's."""
    paths: frozenset[str] = field(repr=False)
    """Every file of the live site."""
    differs: frozenset[str] = field(repr=False)
    """The files the two do not share: written anew, or in one of them only."""


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: int
    unchanged: int
    removed: int
    problems: tuple[Problem, ...] = ()
    paths: frozenset[str] = field(default=frozenset(), repr=False)
    """Every file of the site as written."""
    spare: SpareSite | None = field(default=None, repr=False)
    """What the site set aside holds, when this write set one aside."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    articles: int
    stories: int
    write: WriteReport
    problems: tuple[Problem, ...]
    timings: Mapping[str, float] = field(default_factory=dict)
    up_to_date: bool = False
    """Nothing the build reads had changed since the last one: nothing was done."""


Progress = Callable[[str, int, "int | None"], None]
"""Told (stage, items done, items in all or None when not known) as a build goes: how
`sitegen build` draws its progress bars. Called every few dozen items, not for each."""


def no_progress(stage: str, done: int, total: int | None) -> None:
    """A Progress that shows nothing."""
