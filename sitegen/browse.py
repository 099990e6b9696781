"""Browsing pages: the paginated front page, date archives and recently updated.

Plain lists of stories cut into pages; the render stage gives each one a template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .model import StoryAnalysis

RECENT = 50


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a list of stories."""

    path: str
    """Site-relative folder of this page, e.g. `archive/2025/05/` or `page/2/`."""
    title: str
    stories: tuple[StoryAnalysis, ...]
    number: int
    pages: tuple[str, ...]
    """Folders of every page of this list, first page first."""
    crumbs: tuple[tuple[str, str], ...] = ()
    """(title, folder) of the pages above this one."""

    @property
    def previous(self) -> str | None:
        return self.pages[self.number - 2] if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.pages[self.number] if self.number < len(self.pages) else None


def paginate(first: str, title: str, stories: Sequence[StoryAnalysis], per_page: int,
             crumbs: tuple[tuple[str, str], ...] = ()) -> list[Listing]:
    """Pages of `per_page` stories: `first` itself, then `first` + `page/2/`, ..."""
    chunks = [tuple(stories[i:i + per_page]) for i in range(0, len(stories), per_page)] or [()]
    pages = tuple([first] + [f"{first}page/{n}/" for n in range(2, len(chunks) + 1)])
    return [Listing(pages[n], title, chunk, n + 1, pages, crumbs)
            for n, chunk in enumerate(chunks)]


@dataclass(frozen=True, slots=True)
class ArchivePeriod:
    """A year, month or day of the archive, with its stories and the periods inside it."""

    path: str
    title: str
    stories: tuple[StoryAnalysis, ...]
    children: tuple[tuple[str, str, int], ...]
    """(title, folder, stories) of each period inside this one."""
    crumbs: tuple[tuple[str, str], ...]
    lists_stories: bool
    """Days and the undated list show their stories; years and months list their parts."""


def archive(stories: Sequence[StoryAnalysis]) -> list[ArchivePeriod]:
    """Stories by the day they were first reported: `archive/` (years), `archive/YYYY/`
    (months), `archive/YYYY/MM/` (days), `archive/YYYY/MM/DD/`, and `archive/undated/`."""
    days: dict[str, list[StoryAnalysis]] = {}
    undated = []
    for story in stories:
        if story.first_seen:
            days.setdefault(story.first_seen[:10], []).append(story)
        else:
            undated.append(story)
    periods: dict[str, list[StoryAnalysis]] = {}
    for day, members in days.items():
        year, month, _ = day.split("-")
        for key in (year, f"{year}-{month}", day):
            periods.setdefault(key, []).extend(members)
    top = ("Archive", "archive/")
    result = []
    children_of: dict[str, list[str]] = {}
    for key in periods:
        parent = key.rsplit("-", 1)[0] if "-" in key else ""
        children_of.setdefault(parent, []).append(key)
    for key, members in sorted(periods.items()):
        crumbs = [top] + [(_title(p), _folder(p)) for p in _parents(key)]
        children = tuple((_title(c), _folder(c), len(periods[c]))
                         for c in sorted(children_of.get(key, []), reverse=True))
        ordered = tuple(sorted(members, key=lambda s: (s.first_seen or "", s.story.id),
                               reverse=True))
        result.append(ArchivePeriod(_folder(key), _title(key), ordered, children,
                                    tuple(crumbs), lists_stories=key.count("-") == 2))
    years = tuple((_title(y), _folder(y), len(periods[y]))
                  for y in sorted(children_of.get("", []), reverse=True))
    if undated:
        years += (("Undated", "archive/undated/", len(undated)),)
        result.append(ArchivePeriod("archive/undated/", "Undated stories", tuple(undated), (),
                                    (top,), lists_stories=True))
    result.insert(0, ArchivePeriod("archive/", "Archive", (), years, (), lists_stories=False))
    return result


def recently_updated(stories: Sequence[StoryAnalysis]) -> tuple[StoryAnalysis, ...]:
    """Stories by their latest coverage, newest first: where news is still arriving."""
    dated = [s for s in stories if s.last_seen]
    return tuple(sorted(dated, key=lambda s: (s.last_seen or "", len(s.articles)),
                        reverse=True)[:RECENT])


def _folder(key: str) -> str:
    return "archive/" + key.replace("-", "/") + "/"


def _parents(key: str) -> list[str]:
    parts = key.split("-")
    return ["-".join(parts[:n]) for n in range(1, len(parts))]


def _title(key: str) -> str:
    parts = key.split("-")
    if len(parts) == 1:
        return key
    if len(parts) == 2:
        return f"{date(int(parts[0]), int(parts[1]), 1):%B %Y}"
    return f"{date.fromisoformat(key):%-d %B %Y}"
