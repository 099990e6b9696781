"""The pipeline, in order: ingest -> cluster -> identify -> analyze -> render -> write
(with the search index made from the staged pages).

This is the one place that knows the order of the stages; each stage only sees the
plain data the previous one produced.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from . import (
    analyze,
    assign,
    buildcache,
    cluster,
    export,
    files,
    identity,
    ingest,
    memo,
    overrides,
    parallel,
    profiles,
    render,
    search,
    seedfiles,
    state,
    uptodate,
    urls,
    write,
)
from .buildcache import BuildCache
from .cluster import Clustering
from .config import Config
from .errors import MissingPage, Problem, SitegenError
from .identity import Identities
from .model import (
    BuildReport,
    Kept,
    Page,
    Progress,
    Site,
    SiteInfo,
    Story,
    StoryRecord,
    StoryState,
    WriteReport,
    no_progress,
)


@dataclass(frozen=True)
class Prepared:
    """Everything up to the pages: what `build` renders and `explain` reports on."""

    site: Site
    clustering: Clustering | None
    """The full clustering, when this build made one (see assign.needs_full_clustering)."""
    stories: tuple[Story, ...]
    """In the order of the groups (clustering.groups, when there is a clustering)."""
    identities: Identities
    previous: StoryState
    fingerprint: str
    """What the stories were grouped under (assign.fingerprint)."""
    problems: tuple[Problem, ...]


def state_file(config: Config) -> Path:
    return config.project_dir / ".sitegen" / "state.json"


def cache_dir(config: Config) -> Path:
    """Caches: safe to delete, never committed (git-ignored)."""
    return config.project_dir / ".sitegen" / "cache"


def load_cache(config: Config) -> tuple[BuildCache, tuple[Problem, ...]]:
    """The build cache kept in .sitegen/cache/ (see buildcache): builds given it save it
    there again."""
    return buildcache.load(cache_dir(config) / buildcache.FILE)


def disk_cache(config: Config) -> BuildCache:
    """The build cache kept in .sitegen/cache/, to be read by the first build given it
    that needs it (a site found up to date does not): see BuildCache.read."""
    return BuildCache(unread=cache_dir(config) / buildcache.FILE)


def _indexing_dir(config: Config) -> Path:
    return cache_dir(config) / "indexing"


PROGRESS_EVERY = 64
LOCK_WAIT = 60.0
"""Seconds a build waits for another build of the same project before refusing."""


def build_site(config: Config, *, now: Callable[[], datetime] = lambda: datetime.now(UTC),
               on_wait: Callable[[str], None] = lambda holder: None,
               lock_wait: float = LOCK_WAIT, recluster: bool = False,
               cache: BuildCache | None = None, search_later: bool = False,
               changed: Collection[str] | None = None,
               progress: Progress = no_progress) -> BuildReport:
    """Build the site described by `config` into `config.out_dir`.

    Raises SitegenError when the site cannot be built; the previous site and state are
    then untouched. Problems with single seeds are warnings in the report. Two builds of
    one project never interleave: the second waits (calling `on_wait` with the first
    one's process id) up to `lock_wait` seconds, then refuses.

    New articles join the existing stories; `recluster` groups every article afresh (old
    story ids carry over by shared articles). `cache` carries work from one build to the
    next (see BuildCache); without one, the build uses and updates the cache kept on
    disk in .sitegen/cache/, as it updates a given cache that came from there
    (load_cache, or disk_cache: read once the site is found out of date).
    `search_later` leaves the search index as it was, to be brought up to date by
    `refresh_search` (`sitegen watch` runs it when news pauses, so pages show new
    articles at once). `changed` are the paths the caller saw change
    (`sitegen watch`, by file system events) since its last build with this `cache`:
    the seeds that build listed (BuildCache.seed_listing) are then looked at again only
    there, rather than all walked (see seedfiles.relist_seeds); None when the caller
    does not follow changes. `progress` is told how each stage goes. Python's cyclic
    garbage collector is paused while it runs (see buildcache.collector_paused): a
    process that goes on after it may collect what little cyclic garbage it left.
    """
    lock = config.project_dir / ".sitegen" / "build.lock"
    try:
        # The collector is paused: most of what a build makes stays to its end. Its own
        # cyclic garbage is small (templates it compiles, the few pages it renders
        # itself); render workers, whose Jinja contexts leave ~50 cyclic objects a page,
        # collect as usual (see parallel), and `sitegen watch` collects after a build.
        with files.exclusive(lock, lock_wait, on_wait), buildcache.collector_paused():
            return _build_locked(config, now, recluster, cache, search_later, changed,
                                 progress)
    except TimeoutError as exc:
        raise SitegenError(Problem(str(lock), None,
                                   f"another build of this project is running (process "
                                   f"{exc.args[0]}) and did not finish within "
                                   f"{lock_wait:g} s; try again when it has")) from None
    except OSError as exc:  # a folder it must make or write cannot be: no room, no rights
        raise SitegenError(Problem(str(exc.filename or config.out_dir), None,
                                   f"{exc.strerror or exc} (building {config.out_dir})")
                           ) from exc


def _build_locked(config: Config, now: Callable[[], datetime], recluster: bool,
                  cache: BuildCache | None, search_later: bool,
                  changed: Collection[str] | None, progress: Progress) -> BuildReport:
    timings: dict[str, float] = {}
    record = cache_dir(config) / uptodate.RECORD
    outputs = (state_file(config), config.out_dir, config.out_dir / export.FILE)
    if cache is None:
        cache = disk_cache(config)
    cache_problems: tuple[Problem, ...] = ()
    seeds: seedfiles.SeedListing | None = None
    with _timed(timings, "check"):
        # A build that leaves the search index behind records nothing, so a watcher's
        # builds after the first find no record: no walk for them (0.7 s at 100,000)
        known = not recluster and record.exists()
        walk = known or not search_later
        # when a build is all but sure, a large cache is read while the seeds are listed
        ahead = walk and _large(cache.unread) \
            and not (known and uptodate.seeds_folder_as_recorded(record, config.seeds_dir))
        if walk and not ahead:
            seeds = seedfiles.list_seeds(config.seeds_dir)
    if ahead:
        with _timed(timings, "cache"):
            seeds, cache_problems = _listed_while_reading(config.seeds_dir, cache)
    with _timed(timings, "check"):
        inputs = uptodate.inputs(config, seeds) if seeds is not None else None
        done = uptodate.unchanged_since_last(record, inputs, outputs) \
            if known and inputs is not None else None
    if done is not None:
        return replace(done, timings=timings)
    uptodate.forget(record)
    if cache.unread is not None:
        with _timed(timings, "cache"):
            cache_problems = cache.read()
    # Taken: a build that fails before it lists the seeds leaves none, for the next to
    # walk (the changes it was told of would otherwise be lost)
    listed, cache.seed_listing = cache.seed_listing, None
    if changed is not None:
        if seeds is None:
            with _timed(timings, "check"):
                seeds = seedfiles.relist_seeds(config.seeds_dir, listed[1], changed) \
                    if listed is not None and listed[0] == config.seeds_dir else None
                seeds = seeds or seedfiles.list_seeds(config.seeds_dir)
        cache.seed_listing = (config.seeds_dir, seeds)
    report = _build_changed(config, now, recluster, cache, search_later, timings, progress,
                            seeds)
    if cache.kept_at is not None:
        with _timed(timings, "cache"):
            cache_problems += cache.save()
        report = replace(report, problems=cache_problems + report.problems)
    if inputs is not None and not search_later:  # else the search index is left behind
        uptodate.remember(record, inputs, outputs, report)
    return report


LIST_WHILE_READING = 64 << 20
"""A build cache this large (about 20,000 articles) takes long enough to read (0.5 s) to
hide the walk of the seeds behind it (see _listed_while_reading); a smaller one is read
after the walk, and no worker is forked for it."""


def _large(cache_file: Path | None) -> bool:
    try:
        return cache_file is not None and cache_file.stat().st_size >= LIST_WHILE_READING
    except OSError:
        return False


def _listed_while_reading(seeds_dir: Path, cache: BuildCache
                          ) -> tuple[seedfiles.SeedListing, tuple[Problem, ...]]:
    """The seeds listed by a worker while this process reads the build cache from disk
    (the problems reading it), for a build that will need the cache whatever the listing
    says (no record of the last build, or a seeds folder that gained or lost a file
    since): it no longer waits for the walk before it reads (at 100,000 seeds, 0.7 s of
    stat calls, and 2.5 s to read the cache)."""
    problems: list[tuple[Problem, ...]] = []
    [listing] = parallel.imap_chunked(lambda _: seedfiles.list_seeds(seeds_dir), [seeds_dir],
                                      chunk=1, serial_below=1,
                                      meanwhile=lambda: problems.append(cache.read()))
    return listing, problems[0]


def _build_changed(config: Config, now: Callable[[], datetime], recluster: bool,
                   cache: BuildCache, search_later: bool, timings: dict[str, float],
                   progress: Progress, seeds: seedfiles.SeedListing | None) -> BuildReport:
    prepared = prepare(config, timings, recluster=recluster, cache=cache, progress=progress,
                       seeds=seeds)
    if seeds is not None and cache.seed_listing is None:  # read: not to be held while
        seeds.files.clear()  # the pages are made (at 100,000 seeds, 29 MB)
    # The full clustering is for `explain`: its vectors and neighbour graph (hundreds of MB
    # at 100,000 articles) are let go before the render workers are forked
    prepared = replace(prepared, clustering=None)
    env = render.make_environment(config.template_dirs, cache_dir(config) / "templates")

    @functools.cache
    def next_state() -> StoryState:
        """The state after this build, worked out while the search index is made (which the
        build waits for: 0.3 s of a one-article build at 100,000 articles). Its file's
        text is made once the site is written: made during the wait, its strings (tens
        of MB at 100,000 articles) would add to all that the writer holds then."""
        return identity.next_state(
            prepared.previous,
            (s.story if s.story.slug == s.slug else replace(s.story, slug=s.slug)
             for s in prepared.site.stories),
            prepared.identities.retired, prepared.fingerprint)

    with _timed(timings, "write"):
        try:
            report = _render_and_write(config, prepared, env, cache, now(), search_later,
                                       timings, progress, next_state)
        except MissingPage:  # the site lost a file the memo counted on
            cache.forget_site()
            report = _render_and_write(config, prepared, env, cache, now(), search_later,
                                       timings, progress, next_state)
        if (new_state := next_state()) is not prepared.previous:
            written = state.save_state(state_file(config), new_state,
                                       cache.story_state[2] if cache.story_state else None)
            cache.story_state = (files.stamp(state_file(config)), new_state, written)
        cache.pages.commit(write.signature(config.out_dir))
        cache.site_paths = {config.out_dir: report.paths}
        cache.spare_site = report.spare
    # pages are rendered as the writer asks for them; it waits for the search index
    timings["write"] -= timings["render"] + timings.get("search", 0.0)
    templates = env.bytecode_cache
    cache_problems = tuple(templates.problems()) \
        if isinstance(templates, render.CheckedBytecodeCache) else ()
    return BuildReport(articles=len(prepared.site.articles), stories=len(prepared.stories),
                       write=report,
                       problems=prepared.problems + report.problems + cache_problems,
                       timings=timings)


def _render_and_write(config: Config, prepared: Prepared, env: jinja2.Environment,
                      cache: BuildCache, now: datetime, search_later: bool,
                      timings: dict[str, float], progress: Progress,
                      meanwhile: Callable[[], object]) -> WriteReport:
    """`meanwhile`: work done while the search index is made, before it is waited for."""
    previous_export = _read_if_exists(config.out_dir / export.FILE)
    cache.pages.start((memo.theme_signature(config.template_dirs), prepared.site.info,
                       config.out_dir), write.signature(config.out_dir))
    spare = cache_dir(config) / "spare-site"
    pages = render.render_site(prepared.site, env,
                               generated=now.isoformat(timespec="seconds"),
                               previous_export=previous_export, memo=cache.pages,
                               write_page=write.direct_writer(config.out_dir, spare))
    index_now = config.search and not search_later
    indexing: list[search.Indexing] = []

    def index_export(pages: Iterator[Page | Kept]) -> Iterator[Page | Kept]:
        """The export comes first: the search index is made from it in the background
        while the pages are rendered and written."""
        for page in pages:
            if index_now and not indexing and type(page) is Page and page.path == export.FILE \
                    and page.content:
                indexing.append(search.Indexing(page.content, config.language,
                                                config.out_dir, _indexing_dir(config)))
            yield page

    def search_pages(staged: Path) -> list[Page | Kept]:
        progress("search", 0, None)
        meanwhile()
        with _timed(timings, "search"):  # the wait for the index
            # without a new export, the live site has the very one staged
            return indexing[0].pages() if indexing else \
                search.search_index(config.out_dir, config.language, _indexing_dir(config))

    try:
        return write.write_site(
            index_export(_timed_iter(pages, timings, "render", progress)),
            config.static_dirs, config.out_dir,
            search_pages if index_now else None,
            previous_paths=cache.site_paths.get(config.out_dir),
            keep=search.BUNDLE if config.search and search_later else None,
            spare=spare, spare_site=cache.spare_site)
    except BaseException:
        cache.forget_site()  # it may be half updated: trust nothing about it
        raise
    finally:
        for started in indexing:
            started.close()


def refresh_search(config: Config, lock_wait: float = LOCK_WAIT) -> WriteReport:
    """Bring the search index of the built site up to date (after `search_later` builds).

    The pages are indexed without the build lock, since indexing takes longest and builds
    must not wait for it; only replacing the index files takes the lock. A build that ran
    meanwhile may leave the index a step behind again: the caller then refreshes again."""
    pages = search.search_index(config.out_dir, config.language, _indexing_dir(config))
    lock = config.project_dir / ".sitegen" / "build.lock"
    with files.exclusive(lock, lock_wait):
        return write.update_folder(config.out_dir, search.BUNDLE, pages)


def prepare(config: Config, timings: dict[str, float] | None = None, *,
            recluster: bool = False, cache: BuildCache | None = None,
            progress: Progress = no_progress,
            seeds: seedfiles.SeedListing | None = None) -> Prepared:
    """Run every stage before rendering: read, group, identify and analyze the stories.
    `seeds`: the seed files, as the up-to-date check just listed them."""
    timings = {} if timings is None else timings
    cache = cache or BuildCache()
    with _timed(timings, "ingest"):
        previous, state_problems = _load_state(state_file(config), cache)
        # a first build groups afresh: it imports what that takes while the seeds are read
        articles, problems = ingest.read_articles(
            config.seeds_dir, cache.seeds, progress, seeds,
            meanwhile=cluster.load_libraries if recluster or not previous.stories else None)
        fixes, fix_problems = overrides.read_overrides(
            config.project_dir / overrides.FILE_NAME, articles, previous)
        problems += state_problems + fix_problems
    by_id = {a.id: a for a in articles}
    progress("group", 0, None)
    with _timed(timings, "cluster"):
        grouped_under = assign.fingerprint(config.cluster, fixes.together, fixes.apart)
        if assign.needs_full_clustering(previous, by_id, grouped_under, recluster):
            clustering: Clustering | None = cluster.cluster_articles(
                articles, config.cluster, fixes.together, fixes.apart)
            groups = [tuple(clustering.articles[r].id for r in g) for g in clustering.groups]
            counts = clustering.vectors.counts
            if counts is not None:  # for the builds that place new articles in stories
                cache.terms = assign.TermIndex.from_counts(
                    clustering.articles, counts, clustering.vectors.vocabulary)
            identities = identity.assign_ids(groups, previous)
            centrals = profiles.central_rows(clustering.vectors, clustering.groups)
            group_terms = profiles.shared_terms(clustering.vectors, clustering.groups)
            stories = tuple(
                Story(id=story_id, article_ids=group,
                      central_id=clustering.articles[central].id, terms=shared,
                      slug=identities.slugs.get(story_id))
                for story_id, group, central, shared in zip(
                    identities.ids, groups, centrals, group_terms, strict=True))
        else:
            clustering = None
            cache.terms.sync(by_id)
            known = [kept for _, record in sorted(previous.stories.items())
                     if (kept := tuple(a for a in record.article_ids if a in by_id))]
            placed = {a for group in known for a in group}
            groups = [tuple(g) for g in assign.assign_new(
                known, [a for a in articles if a.id not in placed], cache.terms,
                fixes.together, fixes.apart)]
            identities = identity.assign_ids(groups, previous)
            stories = tuple(_online_story(story_id, group, previous, identities, cache.terms)
                            for story_id, group in zip(identities.ids, groups, strict=True))
    with _timed(timings, "analyze"):
        analyses = cache.analyze(stories, by_id, config.summary_max_chars, fixes.headlines,
                                 progress)
        info = SiteInfo(config.title, config.description, config.base_url, config.language,
                        config.per_page, config.search)
        site = analyze.assemble_site(info, analyses, by_id,
                                     _redirects(previous, identities, analyses))
    return Prepared(site, clustering, stories, identities, previous, grouped_under,
                    tuple(problems))


def _load_state(path: Path, cache: BuildCache) -> tuple[StoryState, list[Problem]]:
    """The saved state, as the last build of this cache left it while the file is the one
    it read or wrote: `sitegen watch` parsed again, on every build, the file it had just
    written (0.7 s at 100,000 articles)."""
    found = files.stamp(path)
    if cache.story_state is not None and found is not None and cache.story_state[0] == found:
        return cache.story_state[1], []
    lines: dict[str, tuple[StoryRecord, str]] = {}
    loaded, problems = state.load_state(path, lines)
    if not problems:
        cache.story_state = (found, loaded, lines)
    return loaded, problems


def _online_story(story_id: str, group: tuple[str, ...], previous: StoryState,
                  identities: Identities, terms: assign.TermIndex) -> Story:
    """A story of an incremental build: one whose articles did not change keeps the
    central article and terms it had; the others are worked out again."""
    record = previous.stories.get(story_id)
    if record is not None and record.article_ids == group and record.central_id in group:
        central, shared = record.central_id, record.terms
    else:
        central, shared = terms.central(group), terms.shared_terms(group)
    return Story(id=story_id, article_ids=group, central_id=central, terms=shared,
                 slug=identities.slugs.get(story_id))


def _redirects(previous: StoryState, identities: Identities,
               analyses: list[analyze.StoryAnalysis]) -> dict[str, str]:
    """URL of every story ever retired -> current URL of the story holding its articles
    ("" is the front page, for a story whose articles are all gone)."""
    slugs = {a.story.id: a.slug for a in analyses}
    retired = {**previous.retired, **identities.retired}
    targets = identity.redirect_targets(retired, slugs.keys())
    return {
        urls.slug_path(record.slug):
            urls.slug_path(slugs[target]) if (target := targets[story_id]) else ""
        for story_id, record in retired.items()
    }


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def _timed_iter(pages: Iterator[Page | Kept], timings: dict[str, float], stage: str,
                progress: Progress) -> Iterator[Page | Kept]:
    """Time spent producing pages, apart from the time spent writing them."""
    timings.setdefault(stage, 0.0)
    done, told = 0, -PROGRESS_EVERY
    while True:
        if done - told >= PROGRESS_EVERY:
            progress("write", done, None)
            told = done
        start = time.perf_counter()
        try:
            page = next(pages)
        except StopIteration:
            timings[stage] += time.perf_counter() - start
            return
        timings[stage] += time.perf_counter() - start
        done += len(page.paths) if type(page) is Kept else 1
        yield page


def _read_if_exists(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None

