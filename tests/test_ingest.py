"""Each seed format, dates, outlets, boilerplate and ids, read through the ingest stage."""

from __future__ import annotations

import json
from pathlib import Path

from sitegen.ingest import read_articles
from sitegen.text import headline_from


def read(tmp_path: Path, files: dict[str, str | bytes]):
    seeds = tmp_path / "seeds"
    for name, content in files.items():
        path = seeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    articles, problems = read_articles(seeds)
    return {a.seed: a for a in articles}, [str(p) for p in problems]


def test_txt_header_lines_give_metadata(tmp_path):
    articles, problems = read(tmp_path, {"a.txt": (
        "title: Storm hits the coast\ndate: May 19, 2025\nsource: Coast Herald\n"
        "url: https://example.com/storm\nauthor: Ana Lima\n\nFirst paragraph.\n\nSecond one.\n")})
    article = articles["a.txt"]
    assert problems == []
    assert (article.title, article.published, article.source) == (
        "Storm hits the coast", "2025-05-19", "Coast Herald")
    assert article.original_url == "https://example.com/storm"
    assert article.author == "Ana Lima"
    assert article.text == "First paragraph.\n\nSecond one."
    assert not article.title_derived


def test_txt_inline_date_prefix_and_blank_line_paragraphs(tmp_path):
    articles, _ = read(tmp_path, {"a.txt": " date 2025-05-19 The mayor resigned on Monday. "
                                           "More follows.\n\nA second paragraph.\n"})
    article = articles["a.txt"]
    assert article.published == "2025-05-19"
    assert article.text.startswith("The mayor resigned on Monday.")
    assert article.body_html.count("<p>") == 2
    assert article.title == "The mayor resigned on Monday"
    assert article.title_derived


def test_txt_without_blank_lines_has_one_paragraph_per_line(tmp_path):
    articles, _ = read(tmp_path, {"a.txt": "Line one is a sentence.\nLine two is another.\n"
                                           "Line three ends it.\n"})
    assert articles["a.txt"].body_html.count("<p>") == 3


def test_derived_title_is_never_cut_mid_word():
    text = ("Officials in the northern province confirmed on Tuesday that the long-delayed "
            "bridge across the river will finally open to traffic next spring after years of work")
    title = headline_from(text, limit=80)
    assert len(title) <= 80
    assert title.rstrip("…") in text
    cut = title.rstrip("…")
    assert text[len(cut)] == " "  # the next character is a word boundary


def test_markdown_front_matter_and_body(tmp_path):
    articles, problems = read(tmp_path, {"post.md": (
        "---\ntitle: Rates held\ndate: 2025-03-02T10:00:00+02:00\nsource: Money Wire\n"
        "tags: [economy, banks]\n---\nThe central bank **held** rates.\n\n"
        "<script>alert(1)</script>\n\n[link](javascript:alert(1))\n")})
    article = articles["post.md"]
    assert problems == []
    assert article.title == "Rates held"
    assert article.published == "2025-03-02T08:00:00+00:00"
    assert article.tags == ("economy", "banks")
    assert "<strong>held</strong>" in article.body_html
    assert "<script" not in article.body_html
    assert "href" not in article.body_html  # the javascript: link is left as inert text
    assert "held rates" in article.text


def test_markdown_heading_becomes_title_when_front_matter_has_none(tmp_path):
    articles, _ = read(tmp_path, {"b.markdown": "# Quake shakes city\n\nBuildings swayed.\n"})
    article = articles["b.markdown"]
    assert article.title == "Quake shakes city"
    assert not article.title_derived
    assert "Quake" not in article.body_html


def test_json_object_list_and_jsonl(tmp_path):
    one = {"title": "One", "text": "Body one.", "date": "2024-01-02", "source": "A"}
    many = [{"title": "Two", "text": "Body two."}, {"title": "Three", "text": "Body three."}]
    lines = "\n".join(json.dumps({"title": f"L{i}", "text": f"Line body {i}."}) for i in range(2))
    articles, problems = read(tmp_path, {"one.json": json.dumps(one), "many.json": json.dumps(many),
                                         "feed.jsonl": lines})
    assert problems == []
    assert set(articles) == {"one.json#0", "many.json#0", "many.json#1", "feed.jsonl#0",
                             "feed.jsonl#1"}
    assert articles["one.json#0"].published == "2024-01-02"
    assert articles["many.json#1"].title == "Three"


def test_json_given_id_is_kept(tmp_path):
    record = {"id": "wire-42", "title": "T", "text": "B"}
    articles, _ = read(tmp_path, {"a.json": json.dumps(record)})
    assert articles["a.json#0"].id == "wire-42"


def test_written_dates(tmp_path):
    articles, problems = read(tmp_path, {
        "a.txt": "date: May 19, 2025\n\nBody a.", "b.txt": "date: 19 May 2025\n\nBody b.",
        "c.txt": "date: 2025-05-19T14:30:00Z\n\nBody c."})
    assert problems == []
    assert articles["a.txt"].published == articles["b.txt"].published == "2025-05-19"
    assert articles["c.txt"].published == "2025-05-19T14:30:00+00:00"


def test_iso_dates_read_like_written_ones(tmp_path):
    articles, problems = read(tmp_path, {
        "a.txt": "date: 2025-05-19 14:30\n\nBody a.",
        "b.txt": "date: 19 May 2025 2:30 PM\n\nBody b.",
        "c.txt": "date: 2025-05-19T16:30:00.5+0200\n\nBody c.",
        "d.txt": "date: 2025-02-30\n\nBody d.", "e.txt": "date: 1700-01-01\n\nBody e."})
    assert articles["a.txt"].published == articles["b.txt"].published == "2025-05-19T14:30:00"
    assert articles["c.txt"].published == "2025-05-19T14:30:00.500000+00:00"
    assert articles["d.txt"].published is None and articles["e.txt"].published is None
    assert len(problems) == 2
    assert problems[0].startswith("d.txt:1: cannot read date") and "(no such day)" in problems[0]
    assert problems[1].startswith("e.txt:1: date") and "out of range (1800-2200)" in problems[1]


def test_outlet_from_trailing_promo_line_is_removed_and_recorded(tmp_path):
    articles, _ = read(tmp_path, {"a.txt": "The talks ended.\nNo deal was reached.\n"
                                           "ALSO READ TOP STORIES FROM VERILY NEWS\n"})
    article = articles["a.txt"]
    assert article.source == "Verily News"
    assert "ALSO READ" not in article.text and "ALSO READ" not in article.body_html
    assert article.removed == ("ALSO READ TOP STORIES FROM VERILY NEWS",)


def test_metadata_source_wins_over_promo(tmp_path):
    articles, _ = read(tmp_path, {"a.txt": "source: Daily Planet\n\nText here.\n\n"
                                           "Read more top stories from Verily News"})
    assert articles["a.txt"].source == "Daily Planet"


def test_no_date_means_undated_never_mtime(tmp_path):
    articles, _ = read(tmp_path, {"a.txt": "Plain text without any date at all."})
    assert articles["a.txt"].published is None


def test_id_comes_from_content_not_path(tmp_path):
    text = "title: Same\n\nSame body text."
    first, _ = read(tmp_path / "one", {"x.txt": text})
    second, _ = read(tmp_path / "two", {"nested/renamed.txt": text})
    assert first["x.txt"].id == second["nested/renamed.txt"].id


def test_duplicate_content_is_read_once_with_a_warning(tmp_path):
    articles, problems = read(tmp_path, {"a.txt": "Same body.", "b.txt": "Same body."})
    assert list(articles) == ["a.txt"]
    assert any("b.txt" in p and "same article as a.txt" in p for p in problems)


def test_unsafe_url_metadata_is_dropped(tmp_path):
    articles, problems = read(tmp_path, {"a.txt": "url: javascript:alert(1)\n\nBody."})
    assert articles["a.txt"].original_url is None
    assert any("a.txt" in p and "not an http(s) address" in p for p in problems)


def test_hidden_and_editor_files_are_ignored(tmp_path):
    articles, problems = read(tmp_path, {".a.txt.swp": b"\x00junk", "b.txt~": "old",
                                         ".hidden/c.txt": "x", "d.txt": "Real."})
    assert list(articles) == ["d.txt"]
    assert problems == []


def test_symlink_leaving_the_seeds_folder_is_not_followed(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("Private text.")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "link.txt").symlink_to(outside)
    articles, problems = read_articles(seeds)
    assert articles == []
    assert any("link.txt" in str(p) and "not followed" in str(p) for p in problems)


def test_dates_with_zone_names_dateutil_does_not_know(tmp_path, recwarn):
    articles, problems = read(tmp_path, {"a.txt": "date: May 16, 2005, 6:03 PM ET\n\nBody."})
    assert problems == []
    assert articles["a.txt"].published == "2005-05-16T18:03:00"
    assert not [w for w in recwarn if "tz" in str(w.message).lower()]
