"""`sitegen check` on built sites, and `sitegen init` for new projects."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from sitegen import build_site, load_config
from sitegen.check import check_site
from sitegen.cli import cli

BASE = "https://example.org/repo/"


def test_check_passes_on_the_built_sample_site_with_and_without_base_url(make_site):
    project = make_site(samples=True)
    project.build()
    assert check_site(project.out) == []
    project.build(base_url=BASE)
    assert check_site(project.out, BASE) == []


def test_check_names_the_page_and_line_of_a_broken_link(make_site, monkeypatch):
    project = make_site(samples=True)
    project.build()
    story = project.stories()[0]
    page = project.out / story["url"] / "index.html"
    html = page.read_text().replace("<main id=\"main\" class=\"wrap\">",
                                    "<main id=\"main\" class=\"wrap\">\n"
                                    "<a href=\"../no-such-story/\">gone</a>"
                                    "<a href=\"../../index.html#nowhere\">anchor</a>")
    page.write_text(html)
    problems = [str(p) for p in check_site(project.out)]
    line = html.splitlines().index(next(x for x in html.splitlines() if "no-such" in x)) + 1
    assert f"{story['url']}index.html:{line}: broken link: ../no-such-story/" in problems
    assert f"{story['url']}index.html:{line}: missing anchor: ../../index.html#nowhere" in problems
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "broken link: ../no-such-story/" in result.output


def test_check_finds_bad_feeds_missing_sitemap_entries_and_links_leaving_the_base(make_site):
    project = make_site(samples=True)
    project.build(base_url=BASE)
    (project.out / "atom.xml").write_text("<feed><entry>")
    sitemap = project.out / "sitemap.xml"
    story = project.stories()[0]
    sitemap.write_text(sitemap.read_text().replace(f"<loc>{BASE}{story['url']}</loc>", ""))
    index = project.out / "index.html"
    index.write_text(index.read_text().replace("</main>", '<a href="/elsewhere/">x</a></main>'))
    problems = [str(p) for p in check_site(project.out, BASE)]
    assert any(p.startswith("atom.xml") and "does not parse" in p for p in problems)
    assert f"{story['url']}index.html: page is missing from sitemap.xml" in problems
    assert any(p.startswith("index.html:") and "/elsewhere/" in p for p in problems)


def test_init_writes_a_project_that_builds_and_publishes_with_the_official_actions(tmp_path):
    folder = tmp_path / "harbour-watch"
    result = CliRunner().invoke(cli, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load((folder / ".github/workflows/pages.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"] + workflow["jobs"]["deploy"]["steps"]
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert {"actions/configure-pages", "actions/upload-pages-artifact",
            "actions/deploy-pages"} <= set(uses)
    build = next(s["run"] for s in steps if s.get("run", "").startswith("sitegen build"))
    assert "steps.pages.outputs.base_url" in build
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert "/site/" in (folder / ".gitignore").read_text()
    report = build_site(load_config(project_dir=folder))
    assert report.articles == 1 and report.problems == ()
    assert check_site(folder / "site") == []


def test_init_refuses_to_overwrite(tmp_path):
    folder = tmp_path / "site-project"
    (folder / "seeds").mkdir(parents=True)
    (folder / "sitegen.toml").write_text('title = "mine"\n')
    result = CliRunner().invoke(cli, ["init", str(folder)])
    assert result.exit_code == 1
    assert "sitegen.toml: already exists" in result.output
    assert (folder / "sitegen.toml").read_text() == 'title = "mine"\n'
