"""Analyze stage: a Story and its Articles -> StoryAnalysis (headline, summary, timeline)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .model import Article, Site, SiteInfo, Story, StoryAnalysis
from .text import shorten, slugify, summary_from

_HEADLINE_CHARS = 140


def analyze_story(story: Story, articles: Mapping[str, Article], summary_chars: int,
                  pinned_headline: str | None = None) -> StoryAnalysis:
    members = [articles[i] for i in story.article_ids]
    timeline = tuple(sorted(members, key=timeline_key))
    central = articles[story.central_id]
    # A title a person wrote beats one derived from an opening sentence.
    candidates = [central, *(a for a in timeline if a is not central)]
    headed = next((a for a in candidates if not a.title_derived), central)
    headline = pinned_headline or shorten(headed.title, _HEADLINE_CHARS)
    dates = [a.published for a in members if a.published]
    return StoryAnalysis(
        story=story,
        headline=headline,
        summary=summary_from(central.text, summary_chars) if central.text else headline,
        slug=story.slug or f"{slugify(headline) or 'story'}-{story.id[:8]}",
        articles=timeline,
        first_seen=min(dates) if dates else None,
        last_seen=max(dates) if dates else None,
        outlets=tuple(sorted({a.source for a in members if a.source}, key=str.casefold)),
    )


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
