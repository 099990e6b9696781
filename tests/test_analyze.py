"""The analyze stage: provenance (who rewrote whom), quotes, what changed, names."""

from __future__ import annotations

import pytest

from sitegen import provenance
from sitegen.entities import story_entities
from sitegen.model import Article
from sitegen.provenance import align, relations, wire_credits
from sitegen.quotes import quote_ledger, quotes_in
from tests.conftest import AFP_SEED, VERILY_SEED


def article(key: str, text: str, *, published: str | None = None, source: str | None = None,
            title: str = "") -> Article:
    return Article(id=key, seed=f"{key}.txt", title=title or key, title_derived=False,
                   text=text, body_html="", published=published, source=source,
                   original_url=None)


# --- the sample seeds: AFP and Verily News' rewrite of it -----------------------------------


def sample_story(make_site):
    project = make_site(samples=True)
    project.build()
    return project, project.stories()[0], project.article(AFP_SEED)["id"], \
        project.article(VERILY_SEED)["id"]


def test_sample_rewrite_is_detected_with_direction_and_evidence(make_site):
    project, story, afp, verily = sample_story(make_site)
    relation = {r["article"]: r for r in story["relations"]}
    assert relation[verily]["kind"] == "rewrite"
    assert relation[verily]["derived_from"] == afp
    assert relation[afp]["kind"] == "original" and relation[afp]["derived_from"] is None
    evidence = relation[verily]["evidence"]
    assert evidence["aligned_share"] >= 0.7
    assert evidence["ngram_share"] < 0.3  # n-grams alone would miss this rewrite
    assert evidence["shared_quotes"] >= 5
    page = project.page(story["url"])
    label = page.select_one(f"#a-{verily} .relation")
    assert "Rewrite" in label.get_text() and "sentences align in order" in label.get_text()
    assert label.find("a")["href"] == "../../" + project.article(AFP_SEED)["url"]


def test_sample_quote_ledger_matches_curly_and_straight_quotes(make_site):
    _, story, afp, verily = sample_story(make_site)
    ledger = {q["text"]: q for q in story["quotes"]}
    assert sorted(ledger["bloodbath"]["carried_by"]) == sorted([afp, verily])
    kremlin = next(q for text, q in ledger.items() if text.startswith("We consider it possible"))
    assert kremlin["carried_by"] == [afp]
    assert kremlin["dropped_by"] == [verily]
    assert kremlin["speaker"] == "the Kremlin's spokesperson"


def test_sample_what_changed_shows_the_recap_added_and_the_kremlin_passage_dropped(make_site):
    project, story, _, verily = sample_story(make_site)
    evidence = next(r for r in story["relations"] if r["article"] == verily)["evidence"]
    assert any(p.startswith("What you should know") for p in evidence["added"])
    assert any("We consider it possible" in p for p in evidence["dropped"])
    rows = project.page(story["url"]).select("table.side-by-side tr.added td:first-child")
    assert any("What you should know" in row.get_text() for row in rows)


def test_sample_timeline_first_report_wire_credit_and_names(make_site):
    project, story, afp, verily = sample_story(make_site)
    assert story["first_reported"] == afp
    assert [t["article"] for t in story["timeline"]] == [afp, verily]  # undated last
    assert all(t["wire"] == ["AFP"] for t in story["timeline"])
    names = {e["name"]: e for e in story["entities"]}
    assert names["Vladimir Putin"]["kind"] == "person"
    assert names["Istanbul"]["kind"] == "place"
    assert "Putin" not in names  # merged into the full name
    putin = project.page(names["Vladimir Putin"]["url"])
    assert putin.find("a", string=story["title"]) is not None
    outlet = project.page("outlets/verily-news/")
    assert outlet.h1.get_text() == "Verily News"


# --- hand-made cases --------------------------------------------------------------------------

WIRE = ("The port of Calder reopened on Monday after a week of strikes. Dockers accepted a pay "
        "offer of 6 percent, union leader Mara Holt said. \"We won what we came for,\" Holt "
        "told reporters. Shipping lines said backlogs would clear within ten days. Officials "
        "expect exports to recover by March. \"It was costly for everyone,\" said port chief "
        "Ivo Marsh.")


def test_near_verbatim_reprint_is_a_copy_of_the_earlier_article():
    original = article("wire", WIRE, published="2025-02-03", source="Calder Wire")
    reprint = article("reprint", WIRE.replace("on Monday", "Monday") + " Subscribe for more.",
                      published="2025-02-04", source="Town Daily")
    found = {r.article: r for r in relations([original, reprint])}
    assert (found["reprint"].kind, found["reprint"].derived_from) == ("copy", "wire")
    assert found["reprint"].reason == "dates"
    assert found["wire"].kind == "original"


@pytest.mark.parametrize("dense_cells", [0, provenance._DENSE_CELLS],
                         ids=["large story, sparse sentences", "dense sentences"])
def test_a_rewrite_is_found_whether_sentences_are_dense_or_sparse(monkeypatch, dense_cells):
    monkeypatch.setattr(provenance, "_DENSE_CELLS", dense_cells)
    source = article("a", WIRE, published="2025-02-03")
    rewrite = article("b", WIRE.replace("on Monday", "early on Monday").replace(
        "said", "told reporters") + " More to follow.", published="2025-02-04")
    other = article("c", "A pay deal brought a dispute elsewhere to a close.",
                    published="2025-02-05")
    found = {r.article: r for r in relations([source, rewrite, other])}
    assert found["b"].derived_from == "a" and found["b"].kind in ("copy", "rewrite")
    assert (found["a"].kind, found["c"].kind) == ("original", "independent")


def test_independent_reports_sharing_a_quote_are_not_rewrites():
    first = article("a", "Dockers in Calder ended their strike after a vote at dawn. "
                         "\"We won what we came for,\" Holt told reporters. Ships queued "
                         "outside the harbour for a third day. The council praised both sides.",
                    source="A")
    second = article("b", "A pay deal brought the Calder dispute to a close. Exporters had "
                          "lost millions during the stoppage. \"We won what we came for,\" "
                          "Holt told reporters. Analysts doubt the deal will last.", source="B")
    found = {r.article: r.kind for r in relations([first, second])}
    assert found == {"a": "independent", "b": "independent"}


def test_alignment_is_in_order_and_reports_added_and_dropped_passages():
    source = ["Rain fell all day.", "The river rose fast.", "Police closed the bridge.",
              "Schools will stay shut."]
    derived = ["Heavy rain fell all day long.", "A reporter was there.",
               "The river rose very fast.", "Schools will stay shut on Monday."]
    alignment = align(derived, source)
    assert alignment.pairs == ((0, 0), (2, 1), (3, 3))
    assert alignment.unaligned("a") == ("A reporter was there.",)
    assert alignment.unaligned("b") == ("Police closed the bridge.",)


def test_quotes_speakers_and_altered_quotes():
    text = ('"We will rebuild," said Mayor Ana Ruiz. Officials said the cost was high. '
            'Ruiz said: "Every street will be cleared by spring." According to the '
            'ministry, "aid is on its way."')
    found = {q.text: q.speaker for q in quotes_in(text)}
    assert found == {"We will rebuild,": "Mayor Ana Ruiz",
                     "Every street will be cleared by spring.": "Ruiz",
                     "aid is on its way.": "the ministry"}
    a = article("a", "“Every street will be cleared by spring,” Ruiz said.")
    b = article("b", '"Every single street will be cleared by the spring," Ruiz said.')
    ledger = quote_ledger([a, b], [])
    assert len(ledger) == 1
    assert ledger[0].carried_by == ("a",) and ledger[0].altered_in == ("b",)


def test_wire_credits():
    assert wire_credits("LONDON (Reuters) - Markets fell.") == ("Reuters",)
    assert wire_credits("an official told AFP on Sunday") == ("AFP",)
    assert wire_credits("according to the Associated Press, ...") == ("AP",)
    assert wire_credits("He said apples are fine.") == ()


def test_entities_titles_places_organisations_and_surnames():
    text = ("Prime Minister Keir Starmer met officials in Berlin on Monday. Starmer said the "
            "Bank of England would act. The Bank of England declined to comment. "
            "Later Starmer flew to Berlin.")
    found = {e.name: e.kind for e in story_entities([article("a", text)])}
    assert found == {"Keir Starmer": "person", "Berlin": "place",
                     "Bank of England": "organisation"}


def test_a_one_sentence_reprint_is_a_copy_but_one_loose_sentence_is_no_rewrite():
    lead = ("A bomb exploded Friday at a bank branch in Woodburn, killing a police officer "
            "and a bomb squad technician.")
    long_report = article("long", lead + " " + WIRE)
    reprint = article("short", lead)
    loose = article("loose", "A bomb exploded at a bank in another town, nobody was hurt.")
    found = {r.article: r for r in relations([long_report, reprint, loose])}
    assert (found["short"].kind, found["short"].derived_from) == ("copy", "long")
    assert found["loose"].kind == "independent"
