"""sitegen.toml: every setting documented, every problem reported at once with its line."""

from __future__ import annotations

import re

import pytest

from sitegen import ConfigError, load_config
from sitegen.config import SETTINGS
from tests.conftest import REPO


def test_defaults_without_a_config_file(tmp_path):
    config = load_config(project_dir=tmp_path)
    assert config.config_file is None
    assert config.seeds_dir == tmp_path / "seeds"
    assert config.out_dir == tmp_path / "site"
    assert config.language == "en"


def test_values_are_read_and_base_url_gets_a_trailing_slash(tmp_path):
    (tmp_path / "sitegen.toml").write_text(
        'title = "Harbour Watch"\nbase_url = "https://u.github.io/repo"\n'
        '[cluster]\nthreshold = 0.3\n')
    config = load_config(project_dir=tmp_path)
    assert config.title == "Harbour Watch"
    assert config.base_url == "https://u.github.io/repo/"
    assert config.cluster.threshold == 0.3


def test_all_problems_are_reported_at_once_with_lines(tmp_path):
    (tmp_path / "sitegen.toml").write_text(
        'title = 3\nbase_url = "ftp://x"\n\n[cluster]\nneighbors = 0\ncolour = "red"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(project_dir=tmp_path)
    found = {(p.line, p.message.split()[0]) for p in caught.value.problems}
    assert found == {(1, "title"), (2, "base_url"), (5, "cluster.neighbors"), (6, "unknown")}
    assert all(p.path.endswith("sitegen.toml") for p in caught.value.problems)


def test_toml_syntax_error_names_the_line(tmp_path):
    (tmp_path / "sitegen.toml").write_text('title = "ok"\nthis is not toml\n')
    with pytest.raises(ConfigError) as caught:
        load_config(project_dir=tmp_path)
    assert caught.value.problems[0].line == 2


def test_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("nope.toml", project_dir=tmp_path)


def test_readme_documents_every_setting_with_its_default():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| `([^`]*)` \|", section, re.MULTILINE))
    docs = dict(re.findall(r"^\| `([a-z_.]+)` \| `[^`]*` \| (.*) \|$", section, re.MULTILINE))
    assert sorted(rows) == sorted(s.key for s in SETTINGS)
    for setting in SETTINGS:
        shown = (f'"{setting.default}"' if isinstance(setting.default, str)
                 else str(setting.default).lower() if isinstance(setting.default, bool)
                 else str(setting.default))
        assert rows[setting.key] == shown, setting.key
        assert docs[setting.key] == setting.doc, setting.key
