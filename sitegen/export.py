"""The stories.json export: the site's stories as data, a contract other tools read
(and the source of the search index)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from .memo import RenderMemo
from .model import Site, StoryAnalysis
from .urls import article_path, name_path, story_path

FILE = "stories.json"
"""The export's name in the site (and the search index's source)."""


def _export_story(s: StoryAnalysis) -> dict[str, Any]:
    return {
        "id": s.story.id,
        "url": story_path(s),
        "title": s.headline,
        "summary": s.summary,
        "first_seen": s.first_seen,
        "last_seen": s.last_seen,
        "outlets": list(s.outlets),
        "terms": list(s.story.terms),
        "articles": [
            {
                "id": a.id,
                "seed": a.seed,
                "title": a.title,
                "source": a.source,
                "date": a.published,
                "url": article_path(a),
                "original_url": a.original_url,
            }
            for a in s.articles
        ],
        "first_reported": s.first_reported,
        "timeline": [
            {"article": a.id, "date": a.published, "source": a.source,
             "wire": list(s.wire_credits.get(a.id, ()))}
            for a in s.articles
        ],
        "relations": [
            {"article": r.article, "kind": r.kind, "derived_from": r.derived_from,
             "evidence": {"aligned_share": r.aligned_share, "ngram_share": r.ngram_share,
                          "shared_quotes": r.shared_quotes, "direction": r.reason,
                          "added": list(r.added), "dropped": list(r.dropped)}}
            for r in s.relations
        ],
        "quotes": [
            {"text": q.text, "speaker": q.speaker, "carried_by": list(q.carried_by),
             "altered_in": list(q.altered_in), "dropped_by": list(q.dropped_by)}
            for q in s.quotes
        ],
        "entities": [
            {"name": e.name, "kind": e.kind, "mentions": e.mentions, "url": name_path(e.slug)}
            for e in s.entities
        ],
    }


_EXPORT_HEAD = b'{\n "generated": '


def export_json(site: Site, generated: str, previous: bytes | None,
                memo: RenderMemo | None = None) -> bytes:
    """The stories.json contract. `generated` keeps its old value when nothing else changed,
    so a rebuild with no change rewrites no file.

    Written as json.dumps(..., indent=1) would write it, one story at a time, so that with
    `memo` an unchanged story is not serialized again."""
    memo = memo or RenderMemo(keep_pages=False)
    parts = [memo.value(f"{s.story.id}\x00json", s, lambda s=s: json.dumps(
        _export_story(s), ensure_ascii=False, indent=1).replace("\n", "\n  "))[0]
        for s in site.stories]
    body = (',\n "stories": [\n  ' + ",\n  ".join(parts) + "\n ]\n}\n" if parts
            else ',\n "stories": []\n}\n').encode("utf-8")
    if previous and previous.startswith(_EXPORT_HEAD) and previous.endswith(body):
        with contextlib.suppress(ValueError):
            kept = json.loads(previous[len(_EXPORT_HEAD):len(previous) - len(body)])
            generated = kept if isinstance(kept, str) else generated
    return _EXPORT_HEAD + json.dumps(generated, ensure_ascii=False).encode("utf-8") + body
