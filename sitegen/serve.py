"""`sitegen serve`: build, watch, and serve the site under its base path, as on GitHub
Pages (`/repo/` for https://user.github.io/repo/), reloading open pages after each build.

Reloading is announced only once a build has finished and swapped the new site in, so a
browser never sees a half-written site. The reload script is added to HTML responses by
the server; the files on disk are the same as `sitegen build` writes.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

RELOAD_PATH = "/__sitegen/reload"
_SCRIPT = """<script>
(() => {{
  const wait = () => fetch("{endpoint}?since={generation}", {{cache: "no-store"}})
    .then((r) => r.ok ? r.text() : Promise.reject(r.status))
    .then((t) => t === "reload" ? location.reload() : wait())
    .catch(() => setTimeout(wait, 2000));
  wait();
}})();
</script>"""


class ReloadSignal:
    """Counts finished builds; browsers wait on it to know when to reload."""

    def __init__(self) -> None:
        self.generation = 0
        self._changed = threading.Condition()

    def bump(self) -> None:
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def wait_past(self, seen: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.generation > seen, timeout=timeout)


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves `site_dir` at `base_path`, with live reload added to HTML pages."""

    def __init__(self, *args: object, site_dir: Path, base_path: str, signal: ReloadSignal,
                 **kwargs: object) -> None:
        self.site_dir = site_dir
        self.base_path = base_path
        self.signal = signal
        super().__init__(*args, directory=str(site_dir), **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == RELOAD_PATH:
            self._answer_reload(url.query)
            return
        if not url.path.startswith(self.base_path):
            if url.path in ("/", ""):
                self.send_response(302)
                self.send_header("Location", self.base_path)
                self.end_headers()
            else:
                self._not_found()
            return
        inner = "/" + url.path[len(self.base_path):]
        file = Path(self.translate_path(inner))
        if file.is_dir():
            if not url.path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", url.path + "/")
                self.end_headers()
                return
            file = file / "index.html"
        if not file.is_file():
            self._not_found()
            return
        if file.suffix == ".html":
            self._send_html(file.read_bytes(), 200)
        else:
            self.path = inner + (f"?{url.query}" if url.query else "")
            super().do_GET()

    def _answer_reload(self, query: str) -> None:
        seen = int(parse_qs(query).get("since", ["0"])[0] or 0)
        changed = self.signal.wait_past(seen, timeout=25)
        body = b"reload" if changed else b"wait"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_html(self, content: bytes, status: int) -> None:
        script = _SCRIPT.format(endpoint=RELOAD_PATH, generation=self.signal.generation)
        if b"</body>" in content:
            content = content.replace(b"</body>", script.encode() + b"</body>", 1)
        else:
            content += script.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _not_found(self) -> None:
        page = self.site_dir / "404.html"
        if page.is_file():
            self._send_html(page.read_bytes(), 404)
        else:
            self.send_error(404)


def make_server(site_dir: Path, base_path: str, signal: ReloadSignal, bind: str = "127.0.0.1",
                port: int = 8000) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(SiteHandler, site_dir=site_dir, base_path=base_path,
                                signal=signal)
    server = http.server.ThreadingHTTPServer((bind, port), handler)
    server.daemon_threads = True
    return server
