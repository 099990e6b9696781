"""News arriving in batches: published story URLs keep working, unchanged stories keep ids,
and the partition does not depend on the order seeds were written."""

from __future__ import annotations

import random
from datetime import date, timedelta

from bs4 import BeautifulSoup

FILLER = ["officials", "said", "on", "the", "day", "that", "situation", "remained", "under",
          "review", "while", "residents", "waited", "for", "more", "information", "from",
          "authorities", "in", "region", "week"]


def synthetic_corpus(stories: int = 14, seed: int = 11) -> list[dict[str, str]]:
    """Deterministic news: each story has its own names and places; pairs of stories share
    a topic word, so near misses exist. Dates run over a few weeks."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vo", "del", "pra", "nik", "zo", "ber"]

    def name() -> str:
        return "".join(rng.choice(syllables) for _ in range(3)).capitalize()

    articles = []
    start = date(2025, 3, 1)
    for story in range(stories):
        keys = [name() for _ in range(6)]
        topic = ["flood", "election", "strike", "wildfire", "merger", "trial", "summit"][story // 2]
        day = start + timedelta(days=story * 5)
        for k in range(rng.randint(2, 5)):
            sentences = []
            for _ in range(5):
                words = [*rng.sample(keys, 3), topic, *rng.sample(FILLER, 6)]
                rng.shuffle(words)
                sentences.append(" ".join(words).capitalize() + ".")
            articles.append({"name": f"s{story:02d}-{k}", "date": str(day + timedelta(days=k % 3)),
                             "title": f"{keys[0]} {topic} {keys[1]} {keys[2]}",
                             "text": " ".join(sentences)})
    return articles


def seed_text(article: dict[str, str]) -> str:
    return f"title: {article['title']}\ndate: {article['date']}\n\n{article['text']}\n"


def resolve(project, url: str, hops: int = 5) -> str:
    """Follow redirect pages from `url` to the story page it ends on."""
    for _ in range(hops):
        page = project.out / url / "index.html"
        assert page.is_file(), url
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        refresh = soup.find("meta", attrs={"http-equiv": "refresh"})
        if refresh is None:
            return url
        target = refresh["content"].split("url=", 1)[1]
        assert target.startswith("../../")
        url = target.removeprefix("../../")
        if url == "":
            return url
    raise AssertionError(f"redirect loop from {url}")


def test_ten_batches_in_date_order_keep_every_url_and_unchanged_ids(make_site):
    corpus = sorted(synthetic_corpus(), key=lambda a: (a["date"], a["name"]))
    project = make_site()
    published: set[str] = set()
    previous: dict[frozenset[str], str] = {}
    batches = [corpus[len(corpus) * i // 10: len(corpus) * (i + 1) // 10] for i in range(10)]
    for number, batch in enumerate(batches):
        for article in batch:
            project.write(f"seeds/{article['name']}.txt", seed_text(article))
        if number == 4:  # an editor merges two stories for a while, then undoes it
            project.write("stories.toml", '[[together]]\narticles = ["s00-0.txt", "s02-0.txt"]\n')
        if number == 7:
            (project.root / "stories.toml").unlink()
        project.build()
        current = {frozenset(a["id"] for a in s["articles"]): s["id"] for s in project.stories()}
        for members, story_id in previous.items():
            if members in current:
                assert current[members] == story_id
        previous = current
        published |= {s["url"] for s in project.stories()}
    live = {s["url"] for s in project.stories()}
    assert len(published) > len(live)  # the merge retired a story, whose URL must still work
    for url in published:
        assert resolve(project, url) in live | {""}


def test_shuffled_seeds_from_scratch_give_the_same_partition(make_site):
    corpus = synthetic_corpus()
    partitions = []
    for run in range(3):
        order = corpus[:]
        random.Random(run).shuffle(order)
        project = make_site(name=f"run{run}")
        for position, article in enumerate(order):
            project.write(f"seeds/{position:03d}-{run}.txt", seed_text(article))
        project.build()
        partitions.append(sorted(sorted(a["title"] + a["date"] for a in s["articles"])
                                 for s in project.stories()))
    assert partitions[0] == partitions[1] == partitions[2]
    assert 10 <= len(partitions[0]) <= 20
