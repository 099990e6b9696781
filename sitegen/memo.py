"""Render stage, incremental half: what each page of the last build was made from, so
that a page whose inputs are unchanged is not rendered (nor written) again.

A page's inputs are its template context, summed up as a digest of its key (key_of).
Stories and articles are compared by identity: the analyze stage hands over the very same
object for a story that did not change (see BuildCache.analyze), so comparing them is
instant. Each such object is known by a token, a number that is never given to another
object, not even by a later build: the memo can be kept on disk with the objects it
names (`sitegen build`), and a token seen again means the very same story or article.
Everything else is compared by value. The theme (every template file) and the site
settings are part of every key. A page made from stories and articles alone (a story's
or an article's) is keyed by their tokens as short bytes (identity_keys), and so is a
page listing them, with the few plain values it shows besides (listing_keys), worked
out for all such pages at once; the others by a digest of their key.

The memo changes only when a build has written its site (`commit`): a failed build must
not leave it describing pages that were never written.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

from .model import Article, Page, StoryAnalysis, pickled_compactly

_FIELDS: dict[type, tuple[str, ...]] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})
_BY_IDENTITY = frozenset({StoryAnalysis, Article})
K = TypeVar("K")
V = TypeVar("V")


class Tokens:
    """A token for each object compared by identity. Holds the objects it numbered, so
    that no other object can take their id() meanwhile."""

    def __init__(self) -> None:
        self._serial: dict[int, int] = {}
        """id(object) -> token."""
        self._held: dict[int, object] = {}
        self._used: set[int] = set()
        self._next = 0

    def of(self, objects: Sequence[object]) -> tuple[int, ...]:
        """The tokens of many objects at once (at C speed for the ones already known)."""
        ids = list(map(id, objects))
        self._used.update(ids)
        try:
            return tuple(map(self._serial.__getitem__, ids))
        except KeyError:
            return tuple(map(self.one, objects))

    def one(self, thing: object) -> int:
        key = id(thing)
        self._used.add(key)
        token = self._serial.get(key)
        if token is None:
            token = self._serial[key] = self._next
            self._held[key] = thing
            self._next += 1
        return token

    def keep_used(self) -> None:
        """Forget the objects no key of the last build named (they may be freed)."""
        self._serial = {k: v for k, v in self._serial.items() if k in self._used}
        self._held = {k: v for k, v in self._held.items() if k in self._used}
        self._used = set()

    def snapshot(self) -> TokensSnapshot:
        """What `changes` compares with."""
        return TokensSnapshot(dict(self._serial), dict(self._held))

    def changes(self, before: TokensSnapshot
                ) -> tuple[list[object], list[tuple[object, int]], int]:
        """(objects forgotten since `before`, objects numbered since, next token)."""
        held, serial = self._held, self._serial
        return ([before.held[k] for k, token in before.serial.items() if serial.get(k) != token],
                [(held[k], token) for k, token in serial.items()
                 if before.serial.get(k) != token], self._next)

    def replay(self, changes: tuple[list[object], list[tuple[object, int]], int]) -> None:
        forgotten, numbered, self._next = changes
        for thing in forgotten:
            self._serial.pop(id(thing), None)
            self._held.pop(id(thing), None)
        for thing, token in numbered:
            self._serial[id(thing)] = token
            self._held[id(thing)] = thing

    def __getstate__(self) -> dict[str, Any]:
        """Kept on disk as two lists, not a pair per object (153,000 at 100,000 articles)."""
        held = self._held
        return {"objects": [held[k] for k in self._serial], "tokens": list(self._serial.values()),
                "next": self._next}

    def __setstate__(self, state: dict[str, Any]) -> None:
        ids = list(map(id, state["objects"]))
        self._serial = dict(zip(ids, state["tokens"], strict=True))
        self._held = dict(zip(ids, state["objects"], strict=True))
        self._used = set()
        self._next = state["next"]


class Keyed:
    """A context whose key was worked out by its maker: what a page shows, when less than
    its whole context says it."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


def key_of(value: Any, tokens: Tokens) -> Any:
    """A comparable stand-in for a template context value: plain values as they are,
    containers and other dataclasses field by field, stories and articles (and anything
    else) by token.

    Runs for every page of every build, over contexts that list thousands of stories:
    plain and identity leaves are handled in the loop, without a call each."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in _BY_IDENTITY:
        return ("@", tokens.one(value))
    if kind is Keyed:
        return value.key
    if kind is tuple or kind is list:
        items = value
    elif kind is dict:
        return tuple([(k, key_of(v, tokens)) for k, v in value.items()])
    else:
        names = _FIELDS.get(kind)
        if names is None:
            names = _FIELDS[kind] = (tuple(f.name for f in fields(value))
                                     if is_dataclass(value) else ())
        if not names:  # of unknown make: equal to itself only
            return ("#", tokens.one(value))
        items = [kind.__name__, *[getattr(value, name) for name in names]]
    out = []
    for item in items:
        item_kind = type(item)
        if item_kind in _PLAIN:
            out.append(item)
        elif item_kind in _BY_IDENTITY:
            out.append(("@", tokens.one(item)))
        else:
            out.append(key_of(item, tokens))
    return tuple(out)


def theme_signature(template_dirs: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """Every template file's path, size and modification time."""
    return tuple(
        (str(path), stat.st_size, stat.st_mtime_ns)
        for folder in template_dirs if folder.is_dir()
        for path in sorted(folder.rglob("*")) if path.is_file()
        for stat in [path.stat()])


@pickled_compactly
@dataclass(frozen=True, slots=True)
class _Made:
    """What RenderMemo keeps for pages made together (see RenderMemo.pages)."""

    key: Any
    paths: tuple[str, ...]


_NOTHING = object()


class RenderMemo:
    def __init__(self) -> None:
        """What each page was made from, not its bytes (the pages of 100,000 articles
        take 3 GB): an unchanged page is the file already in the site (a Page without
        content)."""
        self._made: dict[str, Any] = {}
        """Name -> the key of its context (key_of, kept on disk as a digest of it: see
        _digest; identity_keys' bytes are kept as they are), or a _Made for pages made
        together. Not an object for each (220,000 at 100,000 articles, a tenth of the
        build cache's objects)."""
        self._by_key: dict[bytes, tuple[str, bytes]] | None = None
        """Short keys of `_made` (identity_keys) -> (name, key): see known_names."""
        self._pending: dict[str, Any] = {}
        self._context: Any = None
        self._site: Any = None
        self.tokens = Tokens()

    def start(self, context: Any, site: Any) -> None:
        """Begin a build; `context` (theme signature, site settings) keys every page.
        `site` says which site is in the output folder (write.signature): when it is not
        the one the last build wrote, nothing that build made is assumed to be there."""
        if context != self._context or site is None or site != self._site:
            self._made = {}
            self._by_key = None
        self._context = context
        self._pending = {}

    def identity_keys(self, template: str, *columns: Sequence[object]) -> list[bytes]:
        """The keys of pages made by `template` from stories or articles alone, the n-th
        page's from the n-th of each column: short bytes, compared as they are (no
        digest), worked out for 100,000 pages at once."""
        form = template.encode() + b"".join([b" %d"] * len(columns))
        return [form % row for row in zip(*map(self.tokens.of, columns), strict=True)]

    def listing_keys(self, template: str, heads: Sequence[Sequence[Any]],
                     runs: Sequence[Sequence[object]]) -> list[bytes]:
        """The keys of pages made by `template` from a run of stories or articles
        (`runs[n]`, by token, as identity_keys) and a few plain values (`heads[n]`: text,
        numbers, None and sequences of them): short bytes, compared as they are, for
        thousands of list pages at once. A key made of a tuple took a digest each to be
        compared with the one kept on disk."""
        prefix, of = template.encode() + b" ", self.tokens.of
        return [b"%s%s %s" % (prefix, orjson.dumps(head), " ".join(map(str, of(run))).encode())
                for head, run in zip(heads, runs, strict=True)]

    def key(self, context: Any) -> Any:
        return key_of(context, self.tokens)

    def known(self, name: str, key: Any) -> bool:
        """Whether the last build made `name` from a context of this key (if so, it is
        noted as made by this build too)."""
        made = self._made.get(name, _NOTHING)
        if made is _NOTHING:
            return False
        kept = made.key if type(made) is _Made else made
        if type(kept) is bytes and type(key) is not bytes:
            key = _digest(key)  # kept on disk as a digest
        if kept != key:
            return False
        self._pending[name] = made
        return True

    def known_names(self, keys: Sequence[bytes]) -> list[str | None]:
        """For keys made by identity_keys or listing_keys: the name (path) of what the
        last build made from each (noted as made by this build too), else None. Such a
        key names the very stories and articles a page was made from, so it tells which
        page it was: an unchanged page needs neither its path worked out (hashing and
        slugifying a title) nor its context built: 3.1 of the 9.2 s rendering took at
        100,000 articles when one story had changed (py-spy)."""
        if self._by_key is None:
            self._by_key = {made: (name, made) for name, made in self._made.items()
                            if type(made) is bytes}
        by_key, pending = self._by_key, self._pending
        names: list[str | None] = []
        for key in keys:
            hit = by_key.get(key)
            if hit is None:
                names.append(None)
            else:
                pending[hit[0]] = hit[1]
                names.append(hit[0])
        return names

    def note(self, name: str, key: Any) -> None:
        """Note the thing called `name` as made from a context of this key, where the
        caller keeps what was made (see `known`)."""
        self._pending[name] = key

    def page(self, path: str, context: Any, make: Callable[[], bytes]) -> Page:
        """The page at `path`, as last built when its context is unchanged."""
        key = self.key(context)
        if self.known(path, key):
            return Page(path, None, unchanged=True)
        return self.made_page(path, key, make())

    def made_page(self, path: str, key: Any, content: bytes | None) -> Page:
        """Note a page rendered from a context of this key (see `known`); `content` None:
        written where it was rendered (Page.staged)."""
        self._pending[path] = key
        return Page(path, content, staged=content is None)

    def pages(self, name: str, context: Any, make: Callable[[], Iterable[Page]]) -> list[Page]:
        """Several pages made together (a feed's Atom and RSS files)."""
        key = self.key(context)
        if self.known(name, key):
            return [Page(path, None, unchanged=True) for path in self._made[name].paths]
        pages = list(make())
        self._pending[name] = _Made(key, tuple(p.path for p in pages))
        return pages

    def commit(self, site: Any) -> None:
        """The build's pages are written (as the `site` that start will be told of next):
        they are what the next build compares with."""
        self._made, self._pending = self._pending, {}
        self._by_key = None
        self._site = site
        self.tokens.keep_used()

    def snapshot(self) -> MemoSnapshot:
        """What `changes` compares with: the memo as a cache on disk holds it."""
        return MemoSnapshot(dict(self._made), self.tokens.snapshot())

    def changes(self, before: MemoSnapshot) -> dict[str, Any]:
        """What `replay` needs to make a memo like `before` into this one: the entries
        made since, the names no longer there, the tokens given and forgotten."""
        made, gone = dict_changes(before.made, self._made)
        return {"made": {name: _on_disk(m) for name, m in made.items()}, "gone": gone,
                "tokens": self.tokens.changes(before.tokens),
                "settings": (self._context, self._site)}

    def replay(self, changes: dict[str, Any]) -> None:
        self.tokens.replay(changes["tokens"])
        for name in changes["gone"]:
            del self._made[name]
        self._made.update(changes["made"])
        self._by_key = None
        self._context, self._site = changes["settings"]

    def __getstate__(self) -> dict[str, Any]:
        """Kept on disk with digests for keys: the keys of list pages are long."""
        made = {name: _on_disk(m) for name, m in self._made.items()}
        return {**self.__dict__, "_made": made, "_by_key": None, "_pending": {}}


@dataclass(frozen=True)
class TokensSnapshot:
    serial: dict[int, int]
    held: dict[int, object]


@dataclass(frozen=True)
class MemoSnapshot:
    made: dict[str, Any]
    tokens: TokensSnapshot


def dict_changes(before: Mapping[K, V], after: Mapping[K, V]) -> tuple[dict[K, V], list[K]]:
    """(entries of `after` new or changed since `before`, keys of `before` that `after`
    lacks): deleting the second, then adding the first, makes `before` into `after`.
    Values are compared by identity, which is instant: a cache keeps the very value
    under its key while it stays as it was. Its keys are strings, whose hashes Python
    keeps: looked up by key, the page memo, seeds and analyses of a 100,000-article site
    (235,000, 100,000 and 53,000 entries) take 0.12-0.14 s, against 0.30-0.33 s for
    sets of the values' ids."""
    return ({k: v for k, v in after.items() if before.get(k, _NOTHING) is not v},
            [k for k in before if k not in after])


def _on_disk(made: Any) -> Any:
    if type(made) is _Made:
        return made if type(made.key) is bytes else replace(made, key=_digest(made.key))
    return made if type(made) is bytes else _digest(made)


def _digest(key: Any) -> bytes:
    return hashlib.blake2b(pickle.dumps(key, protocol=5), digest_size=16).digest()
