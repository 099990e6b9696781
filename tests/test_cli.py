"""The command line: a thin layer over build_site, with exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from sitegen.cli import cli


def test_build_reports_counts_and_timings(make_site, monkeypatch):
    project = make_site(samples=True)
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["build"])
    assert result.exit_code == 0, result.output
    assert "2 articles in 1 story;" in result.output
    for stage in ("ingest", "cluster", "analyze", "render", "search", "write"):
        assert stage in result.output
    assert "Note: no base_url, so no feeds" in result.output
    assert (project.out / "stories.json").is_file()


def test_build_flags_choose_folders_and_base_url(make_site, tmp_path):
    project = make_site(samples=True)
    out = tmp_path / "public"
    result = CliRunner().invoke(cli, ["build", "--seeds", str(project.seeds), "--out", str(out),
                                      "--base-url", "https://example.org/news/"])
    assert result.exit_code == 0, result.output
    assert "https://example.org/news/" in (out / "index.html").read_text()


def test_warnings_still_exit_zero(make_site, monkeypatch):
    project = make_site({"seeds/empty.txt": "", "seeds/ok.txt": "Fine text."})
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["build"])
    assert result.exit_code == 0
    assert "Warning: empty.txt: empty file" in result.output
    assert "1 warning." in result.output


def test_bad_config_exits_one_with_every_problem(make_site, monkeypatch):
    project = make_site({"seeds/ok.txt": "Fine text.",
                         "sitegen.toml": 'titel = "x"\nlanguage = 5\n[cluster]\nthreshold = 2\n'})
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["build"])
    assert result.exit_code == 1
    assert "sitegen.toml:1: unknown setting 'titel'" in result.output
    assert "sitegen.toml:2: language must be" in result.output
    assert "sitegen.toml:4: cluster.threshold must be" in result.output
    assert not project.out.exists()


def test_template_error_exits_one_and_names_the_template(make_site, monkeypatch):
    project = make_site({"seeds/ok.txt": "Fine text.", "templates/index.html": "{% if %}"})
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["build"])
    assert result.exit_code == 1
    assert "templates/index.html:1: template syntax error" in result.output
    assert "Traceback" not in result.output


def test_bad_usage_exits_two(make_site, monkeypatch):
    monkeypatch.chdir(make_site().root)
    assert CliRunner().invoke(cli, ["build", "--no-such-flag"]).exit_code == 2
    assert CliRunner().invoke(cli, ["frobnicate"]).exit_code == 2


def test_bad_base_url_flag_exits_one(make_site, monkeypatch):
    monkeypatch.chdir(make_site(samples=True).root)
    result = CliRunner().invoke(cli, ["build", "--base-url", "not a url"])
    assert result.exit_code == 1
    assert "--base-url" in result.output


def test_python_dash_m_runs_the_cli(make_site):
    """The program leaves without tearing down (cli.main): what it printed into pipes,
    which buffer it, still arrives, and its exit codes are the command's."""
    project = make_site(samples=True)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sitegen", *args], cwd=project.root,
                              capture_output=True, text=True, timeout=120)

    done = run("build")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Built {project.out}: ")
    assert json.loads((project.out / "stories.json").read_text())["stories"]
    failed = run("build", "--seeds", "no-such-folder")
    assert failed.returncode == 1
    assert "seeds folder not found" in failed.stderr
    assert failed.stderr.endswith("the previous site was left as it was.\n")
    assert run("frobnicate").returncode == 2


def test_explain_names_the_story_and_its_shared_terms(make_site, monkeypatch):
    project = make_site(samples=True)
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["explain", "000_5ed3aaab7790b511.txt"])
    assert result.exit_code == 0, result.output
    project.build()
    story = project.stories()[0]
    assert f"Story:   {story['title']}" in result.output
    assert f"id {story['id']}" in result.output
    terms = result.output.split("shared terms: ", 1)[1].splitlines()[0].split(", ")
    assert {"putin", "trump", "ukraine"} <= set(terms)
    assert "(joined)" in result.output
    assert "Threshold: 0.07" in result.output


def test_explain_accepts_a_path_and_rejects_an_unknown_seed(make_site, monkeypatch):
    project = make_site(samples=True)
    monkeypatch.chdir(project.root)
    by_path = CliRunner().invoke(cli, ["explain", "seeds/001_c76fe11a0031424c.txt"])
    assert by_path.exit_code == 0 and "seed 001_c76fe11a0031424c.txt" in by_path.output
    missing = CliRunner().invoke(cli, ["explain", "nope.txt"])
    assert missing.exit_code == 1
    assert "nope.txt: no article read from this seed" in missing.output


def test_an_output_folder_that_cannot_be_made_exits_one_and_names_it(make_site,
                                                                     monkeypatch):
    project = make_site(samples=True)
    project.write("taken", "a file where the output's folder would go")
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["build", "--out", "taken/site"])
    assert result.exit_code == 1
    assert "Error: " in result.output and "taken" in result.output
    assert "Not a directory" in result.output
    assert "Traceback" not in result.output
    assert (project.root / "taken").read_text().startswith("a file")
