"""`sitegen init DIR`: a new site project that builds at once and publishes itself to
GitHub Pages with the official actions."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from .errors import Problem, SitegenError

CONFIG = '''\
# sitegen settings; every key is documented in sitegen's README ("Configuration").
title = "{title}"
description = "Every article about one event on one page."
language = "en"
# base_url is set by the GitHub Pages workflow (--base-url); set it here to build
# feeds and a sitemap locally too:
# base_url = "https://you.github.io/{name}/"

[cluster]
threshold = 0.07
'''

EXAMPLE = '''\
---
title: Harbour strike ends as dockers accept pay offer
date: {today}
source: Example Herald
tags: [example]
---
Dockers at the port of Calder voted on Monday to accept a 6 percent pay offer, ending a
strike that had halted shipping for a week.

"We won what we came for," union leader Mara Holt told reporters after the vote.

Shipping lines said the backlog of container vessels would clear within ten days.

This is an example seed: replace it with real articles (.txt, .md, .json or .jsonl).
'''

GITIGNORE = '''\
# Built site: GitHub Actions builds and publishes it.
/site/
# sitegen's caches; .sitegen/state.json keeps story ids and URLs: commit it.
/.sitegen/cache/
__pycache__/
'''

WORKFLOW = '''\
# Builds the site with sitegen and publishes it to GitHub Pages on every push to main.
# In the repository's settings, under Pages, choose "GitHub Actions" as the source.
name: Publish site

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Configure Pages
        id: pages
        uses: actions/configure-pages@v5
      - name: Install sitegen
        run: pip install "{package}"
      - name: Build
        run: sitegen build --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - name: Check
        run: sitegen check --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - uses: actions/upload-pages-artifact@v3
        with:
          path: site

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - name: Deploy
        id: deployment
        uses: actions/deploy-pages@v4
'''


def init_project(folder: Path, today: str) -> list[Path]:
    """Write a new project into `folder`; refuses to overwrite anything."""
    name = folder.resolve().name or "site"
    files = {
        "sitegen.toml": CONFIG.format(title=name.replace("-", " ").title(), name=name),
        "seeds/example.md": EXAMPLE.format(today=today),
        ".gitignore": GITIGNORE,
        ".github/workflows/pages.yml": WORKFLOW.format(package=install_spec()),
    }
    existing = [folder / relative for relative in files if (folder / relative).exists()]
    if existing:
        raise SitegenError([Problem(str(path), None, "already exists; nothing was written")
                            for path in existing])
    written = []
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def install_spec() -> str:
    """What the workflow installs: the same sitegen as this one. A copy installed from a
    git repository is pinned to its commit; otherwise the released version."""
    try:
        distribution = metadata.distribution("sitegen")
    except metadata.PackageNotFoundError:
        return "sitegen"
    origin = distribution.read_text("direct_url.json")
    if origin:
        details = json.loads(origin)
        vcs = details.get("vcs_info", {})
        if vcs.get("vcs") == "git" and details.get("url", "").startswith("https://"):
            return f"sitegen @ git+{details['url']}@{vcs.get('commit_id', 'HEAD')}"
    return f"sitegen=={distribution.version}"
