"""Parsers for the seed formats: plain text, Markdown with front matter, JSON and JSON Lines.

Each parser turns decoded text into SeedRecords (metadata + body, not yet an Article) and
reports what it could not use as Problems, so one bad field never loses the rest.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from dateutil import parser as dateparser

from .errors import Problem

METADATA_KEYS = ("title", "date", "source", "url", "author")


@dataclass
class SeedRecord:
    """One article's raw fields as found in a seed, before it becomes an Article."""

    label: str
    """The seed path relative to the seeds folder, plus `#index` for JSON records."""
    body: str
    markdown: bool = False
    title: str | None = None
    date: str | None = None
    date_line: int | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    given_id: str | None = None
    line: int | None = None
    """Line of the record in its file, where that means something (JSON Lines)."""
    problems: list[Problem] = field(default_factory=list)


# --- plain text --------------------------------------------------------------------------

_HEADER_LINE = re.compile(r"^\s*(title|date|source|url|author)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_INLINE_DATE = re.compile(r"^\s*date:?\s+(\d{4}-\d{1,2}-\d{1,2})\b\s*(.*)$", re.IGNORECASE | re.S)


def parse_text(label: str, text: str) -> SeedRecord:
    """A `.txt` seed: an optional `key: value` header ended by a blank line, or an inline
    `date YYYY-MM-DD` prefix before the body on the first line."""
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    record = SeedRecord(label=label, body="")
    header_end = 0
    for index, line in enumerate(lines):
        if not line.strip():
            header_end = index
            break
        if not _HEADER_LINE.match(line):
            break
    else:
        header_end = len(lines) if all(_HEADER_LINE.match(x) for x in lines) else 0
    if header_end:
        for number, line in enumerate(lines[:header_end], start=1):
            match = _HEADER_LINE.match(line)
            assert match is not None
            _set_field(record, match.group(1).lower(), match.group(2), number)
        record.body = "\n".join(lines[header_end:])
        return record
    if lines and (inline := _INLINE_DATE.match(lines[0])):
        record.date, record.date_line = inline.group(1), 1
        lines[0] = inline.group(2)
    record.body = "\n".join(lines)
    return record


def _set_field(record: SeedRecord, key: str, value: str, line: int | None) -> None:
    value = value.strip()
    if not value:
        return
    if key == "date":
        record.date, record.date_line = value, line
    else:
        setattr(record, key, value)


# --- Markdown with YAML front matter -------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_NULLS = {"", "~", "null", "Null", "NULL"}
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_markdown(label: str, text: str) -> SeedRecord:
    """A `.md` seed: YAML front matter between `---` lines, then a Markdown body.

    The front matter is composed, not constructed: values stay the strings that were
    written (so a bad date is reported, not raised) and each key keeps its line number.
    """
    text = text.lstrip("\ufeff")
    match = _FRONT_MATTER.match(text)
    record = SeedRecord(label=label, body=text[match.end():] if match else text, markdown=True)
    if not match:
        return record
    try:
        node = yaml.compose(match.group(1), Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        record.problems.append(Problem(label, line, f"front matter is not valid YAML: {reason}"))
        return record
    if node is None:
        return record
    if not isinstance(node, yaml.MappingNode):
        record.problems.append(
            Problem(label, 2, "front matter must be a mapping of keys to values; ignored")
        )
        return record
    for key_node, value_node in node.value:
        key = str(key_node.value).lower()
        line = key_node.start_mark.line + 2
        if key == "tags":
            record.tags = _yaml_tags(value_node, record, line)
        elif key in METADATA_KEYS:
            if isinstance(value_node, yaml.ScalarNode):
                if value_node.style is None and value_node.value in _NULLS:
                    continue
                _set_field(record, key, str(value_node.value), line)
            else:
                record.problems.append(Problem(label, line, f"{key} must be a single value"))
    return record


def _yaml_tags(node: Any, record: SeedRecord, line: int) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode):
        return _split_tags(str(node.value))
    if isinstance(node, yaml.SequenceNode):
        tags = [str(item.value) for item in node.value if isinstance(item, yaml.ScalarNode)]
        return tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))
    record.problems.append(Problem(record.label, line, "tags must be a list of words"))
    return ()


def _split_tags(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip() for t in value.split(",") if t.strip()))


# --- JSON and JSON Lines -------------------------------------------------------------------


def parse_json(label: str, text: str) -> Iterator[SeedRecord]:
    """A `.json` seed: one article object, or a list of them."""
    data, error_line, error = _load_json(text)
    if error is not None:
        yield _broken(label, error_line, error)
        return
    items = data if isinstance(data, list) else [data]
    if not items:
        yield _broken(label, None, "an empty list: no articles")
    for index, item in enumerate(items):
        yield _json_record(f"{label}#{index}", item, None)


def parse_json_lines(label: str, text: str) -> Iterator[SeedRecord]:
    """A `.jsonl` seed: one article object per line; a bad line costs only itself."""
    index = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item, _, error = _load_json(line)
        if error is not None:
            yield _broken(label, number, error)
        else:
            yield _json_record(f"{label}#{index}", item, number)
        index += 1


def _load_json(text: str) -> tuple[Any, int | None, str | None]:
    """Strict JSON -> (value, None, None), or (None, line, why not).

    Numbers stay the digits written (a 5,000-digit number would exceed Python's int
    conversion limit); NaN and Infinity, which JSON does not have, are errors."""
    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not a JSON value")

    try:
        return json.loads(text, parse_int=str, parse_float=str, parse_constant=no_constant), \
            None, None
    except json.JSONDecodeError as exc:
        return None, exc.lineno, f"not valid JSON: {exc.msg}"
    except RecursionError:
        return None, None, "not valid JSON: nested too deep"
    except ValueError as exc:
        return None, None, f"not valid JSON: {exc}"


def _broken(label: str, line: int | None, message: str) -> SeedRecord:
    record = SeedRecord(label=label, body="", line=line)
    record.problems.append(Problem(label, line, message))
    return record


def _json_record(label: str, item: Any, line: int | None) -> SeedRecord:
    record = SeedRecord(label=label, body="", line=line)
    if not isinstance(item, dict):
        record.problems.append(Problem(label, line, "an article must be a JSON object"))
        return record
    for key in (*METADATA_KEYS, "text", "id"):
        value = item.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            record.problems.append(Problem(label, line, f"{key} must be a string; ignored"))
            continue
        if key == "text":
            record.body = str(value)
        elif key == "id":
            record.given_id = str(value)
        else:
            _set_field(record, key, str(value), line)
    tags = item.get("tags")
    if isinstance(tags, str):
        record.tags = _split_tags(tags)
    elif isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        record.tags = tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))
    elif tags is not None:
        record.problems.append(Problem(label, line, "tags must be a list of strings; ignored"))
    return record


# --- dates ---------------------------------------------------------------------------------

_DEFAULTS = (datetime(2001, 1, 1, 0, 0, 0), datetime(2002, 2, 2, 1, 1, 1))
_EARLIEST_YEAR, _LATEST_YEAR = 1800, 2200
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
                  r"(?:Z|[+-]\d{2}:?\d{2})?)?")
"""The dates most seeds carry, which the standard library reads in a tenth of the time."""


PARSERS: dict[str, Callable[[str, str], Iterable[SeedRecord]]] = {
    ".txt": lambda label, text: [parse_text(label, text)],
    ".md": lambda label, text: [parse_markdown(label, text)],
    ".markdown": lambda label, text: [parse_markdown(label, text)],
    ".json": parse_json,
    ".jsonl": parse_json_lines,
}
"""Each seed format's parser, by the file name's suffix: what makes a file a seed."""


def parse_date(raw: str) -> tuple[str | None, str | None]:
    """Parse an ISO or common written date ("May 19, 2025").

    Returns (ISO string, None), or (None, why not). A date without a time stays a date;
    a time with a zone is converted to UTC.
    """
    raw = raw.strip()
    if _ISO.fullmatch(raw):
        try:
            return _checked(datetime.fromisoformat(raw), raw, has_time=len(raw) > 10)
        except ValueError:  # no such day: dateutil gives the reason
            pass
    try:
        with warnings.catch_warnings():
            # A zone name dateutil does not know ("ET", "CST") means local time to it;
            # it warns, and may raise in future versions. Either way the time is naive.
            warnings.simplefilter("error", dateparser.UnknownTimezoneWarning)
            try:
                parsed = [dateparser.parse(raw, default=d) for d in _DEFAULTS]
            except dateparser.UnknownTimezoneWarning:
                parsed = [dateparser.parse(raw, default=d, ignoretz=True) for d in _DEFAULTS]
    except (ValueError, OverflowError) as exc:
        return None, f"cannot read date {raw!r} ({_date_reason(exc)})"
    first, second = parsed
    if first.year != second.year or first.day != second.day:
        return None, f"cannot read date {raw!r} (no year or no day)"
    return _checked(first, raw, has_time=(first.hour, first.minute) == (second.hour,
                                                                         second.minute))


def _checked(parsed: datetime, raw: str, has_time: bool) -> tuple[str | None, str | None]:
    if not _EARLIEST_YEAR <= parsed.year <= _LATEST_YEAR:
        return None, f"date {raw!r} is out of range ({_EARLIEST_YEAR}-{_LATEST_YEAR})"
    if not has_time:
        return parsed.date().isoformat(), None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.isoformat(), None


def _date_reason(exc: Exception) -> str:
    text = str(exc)
    if "out of range" in text or "must be in" in text:
        return "no such day"
    return "unknown format"
