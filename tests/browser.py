"""Shared set-up for the browser tests: Debian's Chromium through Playwright, axe-core
from npm, and a built site served under /repo/ as on GitHub Pages.

Where Chromium or axe-core is missing the browser tests are skipped, except under CI
(`CI` set), where `.ci/run` installs both and a missing one is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("SITEGEN_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(os.environ.get("SITEGEN_AXE", REPO / ".browser/node_modules/axe-core/axe.min.js"))
ARTIFACTS = Path(os.environ.get("SITEGEN_ARTIFACTS", REPO / "test-artifacts"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]


def require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, AXE) if not p.is_file()]
    if missing:
        message = f"browser tests need {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on localhost; yields its origin."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium(**launch: object) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_FLAGS, **launch)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: object, levels: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core in the page; the serious and critical violations, one line each."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    result = page.evaluate("async () => await axe.run(document)")  # type: ignore[attr-defined]
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(n["target"][0] for n in v["nodes"][:3])
            for v in result["violations"] if v["impact"] in levels]
