"""Where each page of the site lives: one place for the paths that pages, feeds and the
stories.json export all link to."""

from __future__ import annotations

import functools
import hashlib

from .model import Article, StoryAnalysis
from .text import slugify


def story_path(story: StoryAnalysis) -> str:
    return slug_path(story.slug)


def slug_path(slug: str) -> str:
    return f"stories/{slug}/"


def article_path(article: Article) -> str:
    return _article_path(article.id, article.title)


@functools.lru_cache(maxsize=1 << 17)
def _article_path(article_id: str, title: str) -> str:
    """Asked for several times per article and build (its page, its story, feeds, export)."""
    token = hashlib.sha256(article_id.encode()).hexdigest()[:10]
    return f"articles/{slugify(title, 50) or 'article'}-{token}/"


def name_path(slug: str) -> str:
    return f"names/{slug}/"


@functools.lru_cache(maxsize=1 << 12)
def outlet_path(outlet: str) -> str:
    return f"outlets/{slugify(outlet) or 'outlet'}/"
