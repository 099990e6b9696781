"""sitegen: a static news monitor. Seeds in, a website of stories out.

The library API that the CLI and the tests use: `load_config`, then `build_site`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import Config, load_config
from .errors import ConfigError, Problem, SitegenError, TemplateError
from .model import BuildReport

if TYPE_CHECKING:
    from .build import build_site

__version__ = "0.1.0"
__all__ = ["BuildReport", "Config", "ConfigError", "Problem", "SitegenError", "TemplateError",
           "__version__", "build_site", "load_config"]


def __getattr__(name: str) -> Any:
    """`build_site` imports every stage (numpy, scipy, Jinja...): only when asked for, so
    that a process running one module of sitegen (the search indexer) starts at once."""
    if name == "build_site":
        from .build import build_site
        return build_site
    raise AttributeError(f"module 'sitegen' has no attribute {name!r}")
