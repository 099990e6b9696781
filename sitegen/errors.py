"""Errors and warnings that users see.

Every message names the file first (and the line where there is one), so a person can go
straight to the cause. The core raises these plain exceptions; only the CLI turns them
into exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """A non-fatal warning: the build goes on without the thing it names."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class SitegenError(Exception):
    """A problem that stops the build; the previous site is left as it was."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[object, ...]:
        """Rebuilt from its problems when it comes from a worker process (a template
        failing there): pickled by its message alone, as exceptions are, it came back as
        one problem per character."""
        return _restore, (type(self), self.problems)


def _restore(kind: type[SitegenError], problems: list[Problem]) -> SitegenError:
    error = kind.__new__(kind)
    SitegenError.__init__(error, problems)
    return error


class ConfigError(SitegenError):
    """The configuration file (or a command-line override) is invalid."""


class TemplateError(SitegenError):
    """A template could not be loaded or rendered."""


class OutputError(SitegenError):
    """The output folder cannot be written safely."""


class MissingPage(OutputError):
    """A page said to be unchanged (and given without its bytes) is not in the site:
    something else removed it since the last build. The caller renders it again."""

    def __init__(self, path: str) -> None:
        super().__init__(Problem(path, None, "vanished from the site while it was built"))
