"""`stories.toml`: a person's corrections to the clustering.

```toml
[[together]]            # these articles are one story
articles = ["wire/ap-123.txt", "verily/trump-putin.txt"]

[[apart]]               # these two are never in one story
articles = ["a.txt", "b.md"]

[[headline]]            # pin the headline of the story holding this article (or story id)
article = "wire/ap-123.txt"
text = "Trump and Putin to speak by phone"
```

Articles are named by seed path (as in stories.json's "seed") or by article id.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import Problem
from .model import Article, Overrides, StoryState

FILE_NAME = "stories.toml"


def read_overrides(path: Path, articles: Sequence[Article],
                   state: StoryState) -> tuple[Overrides, list[Problem]]:
    """Parse and resolve the overrides file; a missing file means no overrides."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Overrides(), []
    except (OSError, UnicodeDecodeError) as exc:
        return Overrides(), [Problem(str(path), None, f"cannot read: {exc}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Overrides(), [Problem(str(path), getattr(exc, "lineno", None), str(exc))]
    resolver = _Resolver(str(path), text, articles, state)
    for key in data:
        if key not in ("together", "apart", "headline"):
            resolver.problem(key, f"unknown section {key!r} (together, apart, headline)")
    together = tuple(group for entry in _entries(data, "together", resolver)
                     if len(group := resolver.articles(entry, at_least=2)) >= 2)
    apart = []
    for entry in _entries(data, "apart", resolver):
        pair = resolver.articles(entry, at_least=2)
        if len(pair) == 2:
            apart.append((pair[0], pair[1]))
        elif len(pair) > 2:
            resolver.problem(pair[2], "apart takes exactly two articles")
    headlines: dict[str, str] = {}
    for entry in _entries(data, "headline", resolver):
        headline = entry.get("text")
        if not isinstance(headline, str) or not headline.strip():
            resolver.problem("text", "headline needs text = \"...\"")
            continue
        if (anchor := resolver.anchor(entry)) is not None:
            headlines[anchor] = headline.strip()
    return Overrides(together, tuple(apart), headlines), resolver.problems


def _entries(data: Mapping[str, Any], key: str, resolver: _Resolver) -> list[dict[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        resolver.problem(key, f"write each {key} entry as [[{key}]]")
        return []
    return entries


class _Resolver:
    """Turns seed paths and ids into article ids, reporting what it cannot find."""

    def __init__(self, path: str, text: str, articles: Sequence[Article],
                 state: StoryState) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.by_name = {a.seed: a.id for a in articles} | {a.id: a.id for a in articles}
        self.state = state
        self.problems: list[Problem] = []

    def problem(self, needle: str, message: str) -> None:
        line = next((n for n, text in enumerate(self.lines, 1) if needle in text), None)
        self.problems.append(Problem(self.path, line, message))

    def articles(self, entry: Mapping[str, Any], at_least: int) -> tuple[str, ...]:
        names = entry.get("articles")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            self.problem("articles", "articles must be a list of seed paths or article ids")
            return ()
        found = []
        for name in names:
            if name in self.by_name:
                found.append(self.by_name[name])
            else:
                self.problem(name, f"no article {name!r}; this entry is ignored")
                return ()
        if len(found) < at_least:
            self.problem("articles", f"name at least {at_least} articles")
        return tuple(dict.fromkeys(found))

    def anchor(self, entry: Mapping[str, Any]) -> str | None:
        """An article id standing for the story a headline entry names."""
        if isinstance(name := entry.get("article"), str):
            if name in self.by_name:
                return self.by_name[name]
            self.problem(name, f"no article {name!r}; this headline is ignored")
            return None
        if isinstance(story := entry.get("story"), str):
            record = self.state.stories.get(story)
            if record and record.article_ids:
                return min(record.article_ids)
            self.problem(story, f"no story {story!r}; this headline is ignored")
            return None
        self.problem("[[headline]]", "headline needs article = \"...\" or story = \"...\"")
        return None
