"""`sitegen explain SEED`: which story an article joined, and why.

Runs the stages up to analysis (nothing is written) and reports, for the article, the
stories it is closest to with their linkage scores and the terms they share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import assign, cluster
from .build import Prepared, prepare
from .buildcache import BuildCache
from .config import Config
from .errors import Problem, SitegenError
from .model import Article, StoryAnalysis


@dataclass(frozen=True, slots=True)
class CandidateStory:
    story: StoryAnalysis
    score: float
    """Average scaled similarity of the article with the story's other articles."""
    shared_terms: tuple[str, ...]
    joined: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    article: Article
    story: StoryAnalysis
    threshold: float
    candidates: tuple[CandidateStory, ...]
    incremental: bool = False
    """True when the article was placed in an existing site (assign.py), not clustered
    with every other article (cluster.py): the scores are then plain similarities."""


def explain_article(config: Config, seed: str) -> Explanation:
    cache = BuildCache()
    prepared = prepare(config, cache=cache)
    article = _find(prepared.site.articles.values(), seed, config.seeds_dir)
    by_id = {s.story.id: s for s in prepared.site.stories}
    own = by_id[prepared.site.story_of_article[article.id]]
    clustering = prepared.clustering
    if clustering is None:
        return _explain_placed(article, own, prepared, cache.terms)
    story_of_group = {g: by_id[s.id] for g, s in zip(clustering.groups, prepared.stories,
                                                     strict=True)}
    found = tuple(
        CandidateStory(story_of_group[c.group], c.score, c.shared_terms,
                       story_of_group[c.group] is own)
        for c in cluster.candidates(clustering, clustering.row_of(article.id))
    )
    return Explanation(article, own, config.cluster.threshold, found)


def _explain_placed(article: Article, own: StoryAnalysis, prepared: Prepared,
                    terms: assign.TermIndex, limit: int = 5) -> Explanation:
    stories = prepared.site.stories
    group_of = {a.id: index for index, s in enumerate(stories) for a in s.articles
                if a.id != article.id}
    sizes = [len(s.articles) - (s is own) for s in stories]
    scores = {c.group: c.score for c in assign.story_scores(terms, article.id, group_of, sizes)}
    scores.setdefault(stories.index(own), 0.0)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
    found = tuple(
        CandidateStory(stories[g], score,
                       terms.shared_terms([article.id, *(a.id for a in stories[g].articles
                                                         if a.id != article.id)]),
                       stories[g] is own)
        for g, score in ranked)
    return Explanation(article, own, assign.ONLINE_THRESHOLD, found, incremental=True)


def _find(pool: Iterable[Article], seed: str, seeds_dir: Path) -> Article:
    """An article by seed label (`a.txt`, `feed.jsonl#3`), by a path to its file, or by id."""
    pool = list(pool)
    wanted = {seed}
    path = Path(seed.split("#", 1)[0])
    try:
        relative = path.resolve().relative_to(seeds_dir.resolve()).as_posix()
        wanted.add(relative + (seed[len(str(path)):] if "#" in seed else ""))
    except ValueError:
        pass
    matches = [a for a in pool if a.seed in wanted or a.id in wanted]
    if not matches:
        matches = [a for a in pool if a.seed.split("#", 1)[0] in wanted]
    if not matches:
        raise SitegenError(Problem(seed, None, "no article read from this seed "
                                               "(check the path, relative to the seeds folder)"))
    return sorted(matches, key=lambda a: a.seed)[0]
