"""sitegen: a static news monitor. Seeds in, a website of stories out.

The library API that the CLI and the tests use: `load_config`, then `build_site`.
"""

from .build import build_site
from .config import Config, load_config
from .errors import ConfigError, Problem, SitegenError, TemplateError
from .model import BuildReport

__version__ = "0.1.0"
__all__ = ["BuildReport", "Config", "ConfigError", "Problem", "SitegenError", "TemplateError",
           "__version__", "build_site", "load_config"]
