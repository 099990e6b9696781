"""Analyze stage: a Story and its Articles -> StoryAnalysis.

Headline and summary (extractive, from the most central article), the coverage timeline
with wire credits, who rewrote whom and what changed (provenance.py), the quote ledger,
and the people, places and organisations named (entities.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import replace

from . import entities, parallel, provenance, quotes
from .model import Article, Relation, Site, SiteInfo, Story, StoryAnalysis
from .text import shorten, slugify, summary_from

_HEADLINE_CHARS = 140


def analyze_story(story: Story, articles: Mapping[str, Article], summary_chars: int,
                  pinned_headline: str | None = None, places: Set[str] | None = None
                  ) -> StoryAnalysis:
    """`places`: the gazetteer names are looked up in (see entities.story_entities)."""
    members = [articles[i] for i in story.article_ids]
    timeline = tuple(sorted(members, key=timeline_key))
    central = articles[story.central_id]
    # A title a person wrote beats one derived from an opening sentence, and a derived one
    # that ends cleanly beats one shortened with an ellipsis; the central article first.
    candidates = [central, *(a for a in timeline if a is not central)]
    headed = min(candidates, key=lambda a: (a.title_derived, a.title.endswith("…")))
    headline = pinned_headline or shorten(headed.title, _HEADLINE_CHARS)
    dates = [a.published for a in members if a.published]
    mentions = {a.id: quotes.quotes_in(a.text) for a in timeline}
    wires = {a.id: provenance.wire_credits(a.text) for a in timeline}
    relations = provenance.relations(timeline, mentions, wires)
    return StoryAnalysis(
        story=story,
        headline=headline,
        summary=summary_from(central.text, summary_chars) if central.text else headline,
        slug=story.slug or f"{slugify(headline) or 'story'}-{story.id[:8]}",
        articles=timeline,
        first_seen=min(dates) if dates else None,
        last_seen=max(dates) if dates else None,
        outlets=tuple(sorted({a.source for a in members if a.source}, key=str.casefold)),
        first_reported=_first_reported(timeline, relations),
        wire_credits=wires,
        relations=relations,
        quotes=quotes.quote_ledger(timeline, relations, mentions),
        entities=entities.story_entities(timeline, places),
    )


def analyze_stories(work: Sequence[tuple[Story, tuple[Article, ...], str | None]],
                    summary_chars: int, done: Callable[[int], None] = lambda count: None,
                    places: Set[str] | None = None) -> list[StoryAnalysis]:
    """analyze_story for each (story, its articles, pinned headline), on every core when
    there are many. The analyses hold the very Article objects given, not copies (the
    render stage compares articles by identity). `places`: as analyze_story's."""
    # the gazetteer read once here, not once in each forked worker
    found_in = entities.known_places() if work and places is None else places

    def analyze_chunk(chunk: Sequence[int]) -> list[tuple[StoryAnalysis, tuple[str, ...]]]:
        # Workers are sent numbers and send back article ids: they have the articles
        # (forked), and pickling them both ways would cost more than the analysis
        found = []
        for story, members, pinned in (work[i] for i in chunk):
            analysis = analyze_story(story, {a.id: a for a in members}, summary_chars, pinned,
                                     found_in)
            found.append((replace(analysis, articles=()), tuple(a.id for a in analysis.articles)))
        return found

    own = {a.id: a for _, members, _ in work for a in members}
    return [replace(analysis, articles=tuple(own[i] for i in ids))
            for analysis, ids in parallel.map_chunked(analyze_chunk, range(len(work)), done)]


def _first_reported(timeline: tuple[Article, ...], relations: tuple[Relation, ...]) -> str | None:
    """The earliest dated article; with no dates, the article others derive from."""
    if timeline and timeline[0].published:
        return timeline[0].id
    return next((r.article for r in relations if r.kind == "original"), None)


def timeline_key(article: Article) -> tuple[bool, str, str]:
    """Oldest first; undated articles after every dated one."""
    return (article.published is None, article.published or "", article.id)


def front_page_order(stories: Iterable[StoryAnalysis]) -> tuple[StoryAnalysis, ...]:
    """Newest day first; within a day the best covered (most outlets, then articles) first;
    undated stories last."""
    by_coverage = sorted(stories, key=lambda s: (-len(s.outlets), -len(s.articles), s.story.id))
    by_day = sorted(by_coverage, key=lambda s: (s.last_seen or "")[:10], reverse=True)
    return tuple(sorted(by_day, key=lambda s: s.last_seen is None))


def assemble_site(info: SiteInfo, analyses: Iterable[StoryAnalysis],
                  articles: Mapping[str, Article], redirects: Mapping[str, str]) -> Site:
    ordered = front_page_order(analyses)
    return Site(
        info=info,
        stories=ordered,
        articles=articles,
        story_of_article={a.id: s.story.id for s in ordered for a in s.articles},
        redirects=redirects,
    )
