"""The cluster stage: similar articles together, different ones apart, in any order."""

from __future__ import annotations

import random

from sitegen.cluster import assign_stories, average_linkage
from sitegen.config import ClusterSettings
from sitegen.model import Article

SETTINGS = ClusterSettings(threshold=0.2, neighbors=30)


def article(key: str, title: str, text: str) -> Article:
    return Article(id=key, seed=f"{key}.txt", title=title, title_derived=False, text=text,
                   body_html="", published=None, source=None, original_url=None)


FLOOD = [article(f"flood{i}", f"River floods town {i}",
                 "Heavy rain made the river burst its banks; residents of the town were "
                 f"evacuated by boat and the mayor declared an emergency. Report {i}.")
         for i in range(3)]
MATCH = [article(f"match{i}", f"Cup final won on penalties {i}",
                 "The striker scored the decisive penalty as the club won the cup final "
                 f"after a goalless draw in the stadium. Report {i}.") for i in range(3)]


def groups(stories):
    return sorted(sorted(s.article_ids) for s in stories)


def test_articles_of_one_event_form_one_story_and_others_stay_apart():
    stories = assign_stories(FLOOD + MATCH, SETTINGS)
    assert groups(stories) == [["flood0", "flood1", "flood2"], ["match0", "match1", "match2"]]


def test_order_does_not_change_stories_or_ids():
    first = assign_stories(FLOOD + MATCH, SETTINGS)
    shuffled = FLOOD + MATCH
    random.Random(3).shuffle(shuffled)
    second = assign_stories(shuffled, SETTINGS)
    assert {(s.id, s.article_ids) for s in first} == {(s.id, s.article_ids) for s in second}


def test_a_lone_article_is_a_story_of_one():
    stories = assign_stories([article("solo", "Solo", "Nothing like the others at all.")],
                             SETTINGS)
    assert [s.article_ids for s in stories] == [("solo",)]
    assert stories[0].central_id == "solo"


def test_story_id_survives_a_new_member():
    before = {s.id for s in assign_stories(FLOOD[:2], SETTINGS)}
    after = {s.id for s in assign_stories(FLOOD, SETTINGS)}
    assert before == after


def test_stop_words_only_do_not_crash():
    stories = assign_stories([article("a", "the", "and the of"), article("b", "it", "is it")],
                             SETTINGS)
    assert groups(stories) == [["a"], ["b"]]


def test_average_linkage_uses_the_average_not_the_best_pair():
    # 0-1 very close, 2 close to 1 only: the average of 2 with {0, 1} is 0.25.
    edges = {(0, 1): 0.9, (1, 2): 0.5}
    assert len(set(average_linkage(3, edges, threshold=0.3))) == 2
    assert len(set(average_linkage(3, edges, threshold=0.2))) == 1
