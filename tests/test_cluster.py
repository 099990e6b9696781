"""The cluster stage: similar articles together, different ones apart, in any order."""

from __future__ import annotations

import random

from sitegen.cluster import average_linkage, candidates, cluster_articles
from sitegen.config import ClusterSettings
from sitegen.model import Article

SETTINGS = ClusterSettings(threshold=0.07, neighbors=30)


def article(key: str, title: str, text: str, published: str | None = None) -> Article:
    return Article(id=key, seed=f"{key}.txt", title=title, title_derived=False, text=text,
                   body_html="", published=published, source=None, original_url=None)


FLOOD = [article(f"flood{i}", f"River floods town {i}",
                 "Heavy rain made the river burst its banks; residents of the town were "
                 f"evacuated by boat and the mayor declared an emergency. Report {i}.")
         for i in range(3)]
MATCH = [article(f"match{i}", f"Cup final won on penalties {i}",
                 "The striker scored the decisive penalty as the club won the cup final "
                 f"after a goalless draw in the stadium. Report {i}.") for i in range(3)]


def groups(clustering) -> list[list[str]]:
    return sorted(sorted(clustering.articles[r].id for r in g) for g in clustering.groups)


def test_articles_of_one_event_form_one_story_and_others_stay_apart():
    found = groups(cluster_articles(FLOOD + MATCH, SETTINGS))
    assert found == [["flood0", "flood1", "flood2"], ["match0", "match1", "match2"]]


def test_order_does_not_change_the_partition():
    shuffled = FLOOD + MATCH
    random.Random(3).shuffle(shuffled)
    assert groups(cluster_articles(shuffled, SETTINGS)) == groups(
        cluster_articles(FLOOD + MATCH, SETTINGS))


def test_a_lone_article_is_a_group_of_one():
    found = groups(cluster_articles([article("solo", "Solo", "Nothing like the others.")],
                                    SETTINGS))
    assert found == [["solo"]]


def test_stop_words_only_do_not_crash():
    found = groups(cluster_articles([article("a", "the", "and the of"),
                                     article("b", "it", "is it")], SETTINGS))
    assert found == [["a"], ["b"]]


def test_same_words_far_apart_in_time_are_different_stories():
    text = "The storm flooded the harbour and closed the coastal road for the day."
    near = [article("a", "Storm floods harbour", text, "2024-01-01"),
            article("b", "Harbour flooded by storm", text, "2024-01-02")]
    far = [*near, article("c", "Storm floods harbour", text, "2024-09-01")]
    assert groups(cluster_articles(near, SETTINGS)) == [["a", "b"]]
    assert groups(cluster_articles(far, SETTINGS)) == [["a", "b"], ["c"]]


def test_overrides_keep_together_and_apart():
    together = groups(cluster_articles(FLOOD + MATCH, SETTINGS,
                                       together=[("flood0", "match0")]))
    assert ["flood0", "flood1", "flood2", "match0", "match1", "match2"] in together
    apart = groups(cluster_articles(FLOOD, SETTINGS, apart=[("flood0", "flood1")]))
    assert not any({"flood0", "flood1"} <= set(g) for g in apart)


def test_candidates_rank_the_joined_story_first_with_shared_terms():
    clustering = cluster_articles(FLOOD + MATCH, SETTINGS)
    best, *rest = candidates(clustering, clustering.row_of("flood0"))
    assert {clustering.articles[r].id for r in best.group} == {"flood0", "flood1", "flood2"}
    assert best.score > SETTINGS.threshold
    assert "river" in best.shared_terms
    assert all(c.score < best.score for c in rest)


def test_average_linkage_uses_the_average_not_the_best_pair():
    # 0-1 very close, 2 close to 1 only: the average of 2 with {0, 1} is 0.25.
    edges = {(0, 1): 0.9, (1, 2): 0.5}
    assert len(average_linkage(3, edges, threshold=0.3)) == 2
    assert len(average_linkage(3, edges, threshold=0.2)) == 1
