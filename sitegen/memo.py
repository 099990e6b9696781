"""Render stage, incremental half: the pages of the last build, by path, with what each
was made from, so that a page whose inputs are unchanged is not rendered again.

A page's inputs are its template context. Stories and articles are compared by identity:
the analyze stage hands over the very same object for a story that did not change (see
BuildCache.analyze), so comparing them is instant; everything else by value (key_of). The theme
(every template file) and the site settings are part of every key.

The memo changes only when a build has written its site (`commit`): a failed build must
not leave it describing pages that were never written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from .model import Article, Page, StoryAnalysis

_FIELDS: dict[type, tuple[str, ...]] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})
_BY_IDENTITY = frozenset({StoryAnalysis, Article})


class Keyed:
    """A context whose key was worked out by its maker (see `identities`), cheaply."""

    __slots__ = ("keep", "key")

    def __init__(self, key: Any, keep: list[object]) -> None:
        self.key = key
        self.keep = keep


def identities(objects: Sequence[object], keep: list[object]) -> tuple[int, ...]:
    """Stand-ins for many stories or articles at once (as key_of would make, but at C speed)."""
    keep.extend(objects)
    return tuple(map(id, objects))


def key_of(value: Any, keep: list[object]) -> Any:
    """A comparable stand-in for a template context value: plain values as they are,
    containers and other dataclasses field by field, stories and articles by identity
    (their id(), with the object appended to `keep`: whoever stores the key must store
    `keep` too, so that no other object can take that id meanwhile).

    Runs for every page of every build, over contexts that list thousands of stories:
    plain and identity leaves are handled in the loop, without a call each."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in _BY_IDENTITY:
        keep.append(value)
        return id(value)
    if kind is Keyed:
        keep.extend(value.keep)
        return value.key
    if kind is tuple or kind is list:
        items = value
    elif kind is dict:
        return tuple([(k, key_of(v, keep)) for k, v in value.items()])
    else:
        names = _FIELDS.get(kind)
        if names is None:
            names = _FIELDS[kind] = (tuple(f.name for f in fields(value))
                                     if is_dataclass(value) else ())
        if not names:
            keep.append(value)
            return ("#", id(value))
        items = [kind.__name__, *[getattr(value, name) for name in names]]
    out = []
    for item in items:
        item_kind = type(item)
        if item_kind in _PLAIN:
            out.append(item)
        elif item_kind in _BY_IDENTITY:
            keep.append(item)
            out.append(id(item))
        else:
            out.append(key_of(item, keep))
    return tuple(out)


def theme_signature(template_dirs: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """Every template file's path, size and modification time."""
    return tuple(
        (str(path), stat.st_size, stat.st_mtime_ns)
        for folder in template_dirs if folder.is_dir()
        for path in sorted(folder.rglob("*")) if path.is_file()
        for stat in [path.stat()])


class RenderMemo:
    def __init__(self, remember: bool = True) -> None:
        """`remember`: False for a build with no next build to serve (`sitegen build`),
        which would otherwise hold every page of the site in memory (3 GB at 100,000
        articles) for nothing."""
        self._remember = remember
        self._made: dict[str, tuple[Any, list[object], Any]] = {}
        self._pending: dict[str, tuple[Any, list[object], Any]] = {}
        self._context: Any = None

    @property
    def remembers(self) -> bool:
        return self._remember

    def start(self, context: Any) -> None:
        """Begin a build; `context` (theme signature, site settings) keys every page."""
        if context != self._context:
            self._made = {}
        self._context = context
        self._pending = {}

    def value(self, name: str, context: Any, make: Callable[[], Any]) -> tuple[Any, bool]:
        """(what `make` gives, whether it is the last build's) for the thing called `name`
        made from `context` (see key_of)."""
        if not self._remember:
            return make(), False
        keep: list[object] = []
        key = key_of(context, keep)
        known = self._made.get(name)
        if known is not None and known[0] == key:
            self._pending[name] = known
            return known[2], True
        made = make()
        self._pending[name] = (key, keep, made)
        return made, False

    def page(self, path: str, context: Any, make: Callable[[], bytes]) -> Page:
        """The page at `path`, as last built when its context is unchanged."""
        content, unchanged = self.value(path, context, make)
        return Page(path, content, unchanged=unchanged)

    def pages(self, name: str, context: Any, make: Callable[[], list[Page]]) -> list[Page]:
        """Several pages made together (a feed's Atom and RSS files)."""
        made, unchanged = self.value(name, context, make)
        return [Page(p.path, p.content, unchanged=unchanged) for p in made]

    def commit(self) -> None:
        """The build's pages are written: they are what the next build compares with."""
        self._made, self._pending = self._pending, {}
