"""Hostile content for the injection tests: script payloads, and a site made of them.

Every payload that ran would open an alert; the tests check the generated pages both by
parsing them and in a real browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from bs4 import BeautifulSoup

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "[a link](javascript:alert(1))",
    "[a link](data:text/html,<script>alert(1)</script>)",
    "[a link](<javascript:alert(1)>)",
    "![an image](javascript:alert(1))",
    '<img src="javascript:alert(1)">',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>"
    "</table></mtext></math>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<style>@import 'javascript:alert(1)';</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<link rel=stylesheet href="javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>alert(1);//<</script>",
    '<img """><script>alert(1)</script>">',
    "<IMG SRC=`javascript:alert(1)`>",
    '<a href="https://example.org/" onclick="alert(1)">x</a>',
    '<base href="javascript:alert(1)//">',
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<template><script>alert(1)</script></template>",
    "<img src=x:alert(1) onerror=eval(src)>",
    "<xss id=x tabindex=1 autofocus onfocus=alert(1)></xss>",
    "]]><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "{{ 7*7 }}<script>alert(1)</script>{% raw %}",
    "`<script>alert(1)</script>`",
    "\u202e<script>alert(1)</script>",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
]
ALLOWED_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "background",
                  "xlink:href", "srcset", "cite", "longdesc", "manifest", "codebase", "ping"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")


def write_hostile_seeds(seeds: Path) -> None:
    """Each payload as a title, body, outlet, author, tag and URL, in each seed format."""
    records = []
    for index, payload in enumerate(PAYLOADS):
        body = (f"Harbour report number {index} from the port of Calder.\n\n{payload}\n\n"
                f"Dockers met on the quay. [More]({payload}) and {payload}")
        front = {"title": payload, "source": payload, "author": payload, "url": payload,
                 "tags": [payload, "harbour"], "date": "2025-05-20"}
        yaml_front = "\n".join(f"{k}: {json.dumps(v)}" for k, v in front.items())
        (seeds / f"md{index:02}.md").write_text(f"---\n{yaml_front}\n---\n{body}\n",
                                                encoding="utf-8")
        flat = payload.replace("\n", " ")
        (seeds / f"txt{index:02}.txt").write_text(
            f"title: {flat} (plain)\nsource: {flat}\nurl: {flat}\n\n{body}\n", encoding="utf-8")
        records.append({"title": f"{payload} (json)", "text": body, "source": payload,
                        "url": payload, "author": payload, "tags": [payload]})
    (seeds / "all.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n",
                                     encoding="utf-8")


def html_pages(site: Path) -> Iterator[Path]:
    return (p for p in sorted(site.rglob("*.html")) if "pagefind" not in p.parts)


def unsafe_markup(page: Path, site: Path) -> list[str]:
    """Everything in a page that could run script: event handlers, script-bearing URLs,
    scripts other than the theme's own, embedded documents and styles from content."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    found = []
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            values = value if isinstance(value, list) else [value]
            if name.lower().startswith("on"):
                found.append(f"<{tag.name} {name}>")
            if name.lower() in URL_ATTRIBUTES:
                for item in values:
                    scheme = _scheme(item)
                    if scheme and scheme not in ALLOWED_SCHEMES:
                        found.append(f"<{tag.name} {name}={item!r}>")
            if name.lower() in ("style", "srcdoc"):
                found.append(f"<{tag.name} {name}>")
        if tag.name in ("iframe", "object", "embed", "base", "style", "frame", "applet"):
            found.append(f"<{tag.name}>")
        if tag.name == "script" and not _theme_script(tag.get("src"), page, site):
            found.append(f"<script> {tag.get('src')!r}")
        if tag.name == "meta" and str(tag.get("http-equiv", "")).lower() == "refresh":
            target = str(tag.get("content", "")).split("url=", 1)[-1]
            if _scheme(target):
                found.append(f"<meta refresh {target!r}>")
    return found


def _scheme(url: str) -> str | None:
    """The scheme a browser would see: it ignores control characters and whitespace."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", str(url)).lower()
    match = _SCHEME.match(cleaned)
    return match.group(1) if match else None


def _theme_script(src: str | None, page: Path, site: Path) -> bool:
    if not src or _scheme(src):
        return False
    return (page.parent / src).resolve() == (site / "static" / "search.js").resolve()
