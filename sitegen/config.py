"""Configuration: `sitegen.toml`, command-line overrides, and where the theme lives.

Every setting is declared once in SETTINGS, with its documentation; the README's
configuration table is checked against it by a test, so the two cannot drift apart.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, Problem

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    """Dotted key as written in sitegen.toml, e.g. `cluster.threshold`."""
    default: Any
    doc: str
    check: Callable[[Any], str | None]
    """Returns why a value is bad, or None when it is fine."""


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _base_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http(s) URL such as https://user.github.io/repo/"
    return None


def _language(value: Any) -> str | None:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", value):
        return None
    return "must be a language tag such as en or pt-BR"


def _fraction(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        return "must be a number between 0 and 1 (exclusive)"
    return None


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a whole number of at least 1"
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting("title", "News stories", "Site title, shown in the header and the browser tab.", _text),
    Setting("description", "Every article about one event on one page.",
            "One-line description, shown on the front page and in page metadata.", _text),
    Setting("base_url", "",
            "Absolute URL the site is published at, e.g. `https://user.github.io/repo/`. "
            "Used for canonical links and the 404 page; internal links stay relative.",
            _base_url),
    Setting("language", "en", "Language tag of the site (`<html lang>`).", _language),
    Setting("cluster.threshold", 0.07,
            "How much more similar than usual (average cosine similarity above the articles' "
            "background) two groups of articles must be to become one story. Higher gives "
            "smaller, stricter stories.", _fraction),
    Setting("cluster.neighbors", 30,
            "How many nearest articles each article is compared with when clustering.",
            _positive_int),
    Setting("pagination.per_page", 20,
            "Stories per page of the front page's older stories (page/<n>/), and of a "
            "name's; articles per page of an outlet's. The first page itself holds up to "
            "twice as many less one.", _positive_int),
    Setting("search.enabled", True,
            "Build the static search index (Pagefind) and the search page.", lambda v: None
            if isinstance(v, bool) else "must be true or false"),
    Setting("summary.max_chars", 320,
            "Longest story summary, in characters; summaries end at a sentence or word.",
            _positive_int),
)
_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    threshold: float
    neighbors: int


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a build needs to know, resolved to absolute paths."""

    project_dir: Path
    seeds_dir: Path
    out_dir: Path
    config_file: Path | None
    title: str
    description: str
    base_url: str
    language: str
    cluster: ClusterSettings
    summary_max_chars: int
    per_page: int
    search: bool

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        """Project templates first, so a file there overrides the built-in one of that name."""
        return (self.project_dir / "templates", builtin_theme_dir("templates"))

    @property
    def static_dirs(self) -> tuple[Path, ...]:
        return (self.project_dir / "static", builtin_theme_dir("static"))


def builtin_theme_dir(name: str) -> Path:
    """The built-in theme folder: inside the package when installed from a wheel,
    at the repository top level in an editable install."""
    packaged = PACKAGE_DIR / "_theme" / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


def load_config(
    config_file: Path | str | None = None,
    *,
    project_dir: Path | str | None = None,
    seeds_dir: Path | str | None = None,
    out_dir: Path | str | None = None,
    base_url: str | None = None,
) -> Config:
    """Read `sitegen.toml` (when given or present) and apply overrides.

    Every unknown key and bad value is collected, then reported at once with its line.
    """
    project = Path(project_dir or ".").resolve()
    path: Path | None
    if config_file is not None:
        path = Path(config_file)
        if not path.is_absolute():
            path = (Path.cwd() / path) if project_dir is None else (project / path)
        if not path.is_file():
            raise ConfigError(Problem(str(config_file), None, "config file not found"))
    else:
        default = project / "sitegen.toml"
        path = default if default.is_file() else None

    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    problems: list[Problem] = []
    if path is not None:
        values.update(_read_toml(path, problems))
    if base_url is not None:
        values["base_url"] = base_url
        if reason := _base_url(base_url):
            problems.append(Problem("--base-url", None, f"{base_url!r} {reason}"))
    if problems:
        raise ConfigError(problems)

    url = values["base_url"]
    return Config(
        project_dir=project,
        seeds_dir=_resolve(project, seeds_dir, "seeds"),
        out_dir=_resolve(project, out_dir, "site"),
        config_file=path,
        title=values["title"],
        description=values["description"],
        base_url=url if not url or url.endswith("/") else url + "/",
        language=values["language"],
        cluster=ClusterSettings(float(values["cluster.threshold"]), values["cluster.neighbors"]),
        summary_max_chars=values["summary.max_chars"],
        per_page=values["pagination.per_page"],
        search=values["search.enabled"],
    )


def _resolve(project: Path, given: Path | str | None, default: str) -> Path:
    if given is None:
        return project / default
    return Path(given).resolve()


def _read_toml(path: Path, problems: list[Problem]) -> dict[str, Any]:
    display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        problems.append(Problem(display, None, f"not valid UTF-8 ({exc.reason})"))
        return {}
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        problems.append(Problem(display, int(line.group(1)) if line else None, f"{exc}"))
        return {}
    except OSError as exc:
        problems.append(Problem(display, None, f"cannot read: {exc.strerror}"))
        return {}

    lines = _key_lines(text)
    found: dict[str, Any] = {}
    for key, value in _flatten(data):
        line = lines.get(key)
        setting = _BY_KEY.get(key)
        if setting is None:
            problems.append(Problem(display, line, f"unknown setting {key!r}"))
        elif reason := setting.check(value):
            problems.append(Problem(display, line, f"{key} {reason} (got {value!r})"))
        else:
            found[key] = value
    return found


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and any(s.key.startswith(dotted + ".") for s in SETTINGS):
            items.extend(_flatten(value, dotted + "."))
        else:
            items.append((dotted, value))
    return items


_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def _key_lines(text: str) -> dict[str, int]:
    """Line number of each dotted key; tomllib does not keep positions."""
    lines: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _TABLE.match(line):
            table = header.group(1).strip().replace(" ", "") + "."
            lines.setdefault(table[:-1], number)
        elif key := _KEY.match(line):
            name = key.group(1).replace('"', "").replace("'", "").replace(" ", "")
            lines.setdefault(table + name, number)
    return lines
