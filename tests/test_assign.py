"""Incremental grouping: once a site has stories, new articles join them (or start their
own) without the archive being clustered again; a burst, a settings or stories.toml
change, or --recluster groups everything afresh."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

from click.testing import CliRunner

from sitegen import assign, cluster
from sitegen.build import prepare
from sitegen.buildcache import BuildCache
from sitegen.cli import cli
from sitegen.config import load_config
from sitegen.model import Article
from sitegen.text import english_stop_words
from sitegen.text import tokens as text_tokens

FLOOD = ("title: {title}\ndate: 2025-03-0{day}\n\nThe river Elm burst its banks in Elmford on "
         "Monday; residents of Elmford were evacuated by boat as flood water rose. {extra}")
FINAL = ("title: Calder wins the cup final\ndate: 2025-03-02\n\nCalder Rovers won the cup final "
         "on penalties after a goalless draw at the national stadium.")


def flood(title: str, day: int, extra: str = "") -> str:
    return FLOOD.format(title=title, day=day, extra=extra)


def test_a_new_article_joins_its_story_without_reclustering(make_site):
    project = make_site({"seeds/a.txt": flood("River floods Elmford", 1),
                         "seeds/b.txt": flood("Elmford evacuated as river rises", 1),
                         "seeds/c.txt": FINAL})
    project.build()
    project.write("seeds/d.txt", flood("Elmford flood: boats rescue residents", 2,
                                       "Boats rescued more residents."))
    project.write("seeds/e.txt", "title: Village bakery given bread award\n\nA village "
                                 "bakery was given the sourdough prize for its rye loaf.")
    prepared = prepare(load_config(project_dir=project.root))
    assert prepared.clustering is None  # placed, not clustered
    story_of = prepared.site.story_of_article
    ids = {a.seed: a.id for a in prepared.site.articles.values()}
    assert story_of[ids["d.txt"]] == story_of[ids["a.txt"]] == story_of[ids["b.txt"]]
    assert story_of[ids["e.txt"]] not in {story_of[ids["a.txt"]], story_of[ids["c.txt"]]}
    before = {s["id"] for s in project.stories()}
    project.build()
    assert before <= {s["id"] for s in project.stories()}  # every story kept its id


def test_bursts_settings_changes_and_recluster_group_afresh(make_site):
    project = make_site({"seeds/a.txt": flood("River floods Elmford", 1), "seeds/c.txt": FINAL})
    project.build()
    config = load_config(project_dir=project.root)
    assert prepare(config).clustering is None
    assert prepare(config, recluster=True).clustering is not None
    for number in range(assign.MOST_NEW + 1):
        project.write(f"seeds/n{number}.txt", f"Note {number} on the harbour at Calder.")
    assert prepare(config).clustering is not None  # a burst
    project.build()
    project.write("sitegen.toml", "[cluster]\nthreshold = 0.09\n")
    assert prepare(load_config(project_dir=project.root)).clustering is not None
    project.build()
    project.write("stories.toml", '[[apart]]\narticles = ["a.txt", "c.txt"]\n')
    assert prepare(load_config(project_dir=project.root)).clustering is not None


def test_recluster_flag_and_explain_of_a_placed_article(make_site, monkeypatch):
    project = make_site({"seeds/a.txt": flood("River floods Elmford", 1), "seeds/c.txt": FINAL})
    project.build()
    monkeypatch.chdir(project.root)
    project.write("seeds/d.txt", flood("Elmford flood: boats rescue residents", 2))
    runner = CliRunner()
    result = runner.invoke(cli, ["explain", "d.txt"], catch_exceptions=False)
    assert "arrived after the stories were formed" in result.output
    assert "(joined)" in result.output
    result = runner.invoke(cli, ["build", "--recluster"], catch_exceptions=False)
    assert result.exit_code == 0
    state = json.loads((project.root / ".sitegen" / "state.json").read_text())
    assert len(state["stories"]) == 2


def article(name: str, text: str, published: str | None = "2025-03-01") -> Article:
    return Article(id=name, seed=name, title=name, title_derived=False, text=text,
                   body_html="", published=published, source=None, original_url=None)


POOL = {n: article(n, t) for n, t in [
    ("a", "flood waters rose in Elmford and residents fled by boat"),
    ("b", "Elmford residents fled flood waters by boat on Monday"),
    ("c", "the cup final ended in penalties at the stadium"),
    ("d", "penalties decided the cup final after a goalless draw"),
]}


def test_term_index_gives_the_same_numbers_in_any_order():
    pool = POOL
    forward, backward = assign.TermIndex(), assign.TermIndex()
    forward.sync(pool)
    for name in ["d", "c", "b", "a"]:
        backward.sync({k: v for k, v in pool.items() if k >= name})
    for x in pool:
        for y in pool:
            assert forward.similarity(x, y) == backward.similarity(x, y)
    assert forward.similarity("a", "b") > 0.1 > forward.similarity("a", "c")
    assert forward.shared_terms(["a", "b"]) == backward.shared_terms(["a", "b"])
    assert forward.central(["c", "d"]) == backward.central(["c", "d"])
    backward.sync({k: v for k, v in pool.items() if k != "a"})
    assert "a" not in backward.docs and all("a" not in p for p in backward.postings.values())
    # an article with its own id may change under it: indexed again, as kept on disk
    changed = {**pool, "c": article("c", "flood waters and boats in Elmford")}
    kept = pickle.loads(pickle.dumps(forward))  # word ids and weights packed on disk
    assert {k: (ids.tolist(), w.tolist()) for k, (ids, w) in kept.docs.items()} == \
        {k: (ids.tolist(), w.tolist()) for k, (ids, w) in forward.docs.items()}
    assert pickle.loads(pickle.dumps(assign.TermIndex())).docs == {}
    kept.sync(changed)
    fresh = assign.TermIndex()
    fresh.sync(changed)
    assert kept.similarity("a", "c") == fresh.similarity("a", "c") > 0.1
    cache = BuildCache()
    assert isinstance(cache.terms, assign.TermIndex)


def test_a_term_index_from_the_clusterings_counts_is_the_one_sync_makes():
    pool = {**POOL, "e": article("e", "Boat boat boat: flood flood in Elmford", None)}
    ordered = sorted(pool.values(), key=lambda a: a.id)
    vectors = cluster.vectorize(ordered)
    made = assign.TermIndex.from_counts(ordered, vectors.counts, vectors.vocabulary)
    synced = assign.TermIndex()
    synced.sync(pool)
    assert made.days == synced.days and made.indexed == synced.indexed
    for x in pool:
        assert {synced.words[w]: c for w, c in zip(*synced.docs[x], strict=True)} == \
            {made.words[w]: c for w, c in zip(*made.docs[x], strict=True)}
        for y in pool:
            assert made.similarity(x, y) == synced.similarity(x, y)
        assert made.candidates(x, pool) == synced.candidates(x, pool)
    assert {made.words[w]: p for w, p in made.postings.items()} == \
        {synced.words[w]: p for w, p in synced.postings.items()}
    assert made.shared_terms(["a", "b", "e"]) == synced.shared_terms(["a", "b", "e"])
    as_saved = pickle.loads(pickle.dumps(made))  # its flat arrays kept as they are
    assert all(as_saved.similarity(x, y) == made.similarity(x, y) for x in pool for y in pool)
    made.sync({k: v for k, v in pool.items() if k != "a"})  # and it goes on as synced
    synced.sync({k: v for k, v in pool.items() if k != "a"})
    assert made.similarity("b", "e") == synced.similarity("b", "e")
    again = pickle.loads(pickle.dumps(made))  # with an article gone: packed anew
    assert sorted(again.docs) == sorted(synced.docs) == ["b", "c", "d", "e"]
    assert again.similarity("b", "e") == synced.similarity("b", "e")


def test_only_rare_words_have_postings_and_a_word_rare_again_gets_them_back(monkeypatch):
    monkeypatch.setattr(assign, "RARE_DF", 2)
    pool = {**POOL, "e": article("e", "Boat rescue in Elmford as flood waters rise", None)}

    def postings(index: assign.TermIndex) -> dict[str, list[str]]:
        return {index.words[w]: sorted(p) for w, p in index.postings.items() if p}

    def fresh(articles: dict[str, Article]) -> assign.TermIndex:
        index = assign.TermIndex()
        index.sync(articles)
        return index

    whole = fresh(pool)
    assert "elmford" not in postings(whole)  # in more than RARE_DF articles
    assert all(whole.df[w] <= 2 for w in whole.postings)
    for gone in pool:  # from the packed arrays a saved index is loaded with, and not
        rest = {k: v for k, v in pool.items() if k != gone}
        for kept in (pickle.loads(pickle.dumps(whole)), fresh(pool)):
            kept.sync(rest)
            assert postings(kept) == postings(fresh(rest))
            assert all(kept.candidates(x, rest) == fresh(rest).candidates(x, rest)
                       for x in rest)


def test_words_are_those_of_scikit_learns_english_analyzer_without_importing_it():
    """Placing a new article tokenizes it as the full clustering did (scikit-learn's
    analyzer with its English stop words), and does not import scikit-learn for that."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
    analyzer = TfidfVectorizer(stop_words="english").build_analyzer()
    for text in ["The Mayor of Zürich didn't attend; she was at the U.N. in New York.",
                 "COVID-19 cases rose 12% to 3,400 on 2025-03-01 — officials_said so.",
                 "a I an the of x y éé 42 ΑΘΗΝΑ Athens’ «quoted» words"]:
        assert text_tokens(text) == analyzer(text)
    assert english_stop_words() == ENGLISH_STOP_WORDS
    found = subprocess.run(
        [sys.executable, "-c", "import sys; from sitegen.text import tokens; "
         "tokens('The river Elm burst its banks'); print('sklearn' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
