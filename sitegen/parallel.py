"""Independent work spread over the machine's cores: reading seeds, analysing stories,
finding neighbours, rendering pages.

Workers are forked from the build, so they start at once with sitegen imported and with
everything the build holds (the function to run may be any closure: the workers inherit
it rather than receive it, and only the items and results travel). A fork server or
fresh interpreters would re-run the caller's main script, which a script calling
build_site without a `__main__` guard does not survive. Forking a process that runs
other threads can deadlock the child on a lock one of them held, so a process with
threads (`sitegen watch`, whose builds are incremental anyway) works alone, as does any
small batch (starting workers costs more than it saves) and a one-core machine.
"""

from __future__ import annotations

import collections
import gc
import itertools
import mmap
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

SERIAL_BELOW = 500
"""Fewer items than this are worked on in this process."""
CHUNK = 100
"""Items sent to a worker at once: few round trips, yet an even spread."""
AHEAD = 4
"""Chunks per worker sent ahead of the one the consumer waits for."""
WORKER_COPY_MOST = 192 << 20
"""Bytes a worker may come to hold of its own before the next chunks go to fresh ones.
A forked worker shares the build's memory until it touches it: each object it reads gets
its page copied (reference counts are written to), so a worker rendering page after
page comes to hold a copy of much of the site; fresh workers start from nothing again,
but replacing them costs (the pool's last chunks wait for one another, the build is
forked again, 25 ms a worker at 100,000 articles, and the new workers copy again what
every page reads). How fast a worker's copy grows depends on its work: at 100,000
articles a worker came to hold (in the pages it faulted in) 6 MiB per 50 outlet pages,
each listing articles from all over the archive, and 1.2 MiB per 50 article pages.
Replacing workers after a fixed 50 chunks, whatever they did, let outlet-page workers
grow to 310 MiB each (the build's peak, 1,894 MiB, all its processes) and replaced
article-page workers at 60 MiB, 41 times. 192 rather than 128 MiB, once the pages of
lists came in chunks of 10 (render.LIST_PAGES_PER_CHUNK: less to overshoot by, with
chunks sent ahead): a build placing one article among 100,000 renders some 1,400 pages
of the front page's list, which then no longer take a second pool of workers (10.43
against 10.45 s at the code before workers were replaced by what they hold, medians of
5 alternated, against 11.22 against 10.54 s at 128 MiB in chunks of 50), and a cold build
took 128.3 against 131.7 s, its peak 1,755 against 1,773 MiB (one each, alternated)."""

_inherited: list[Callable[[Any], Any]] = []
"""The function of the running map, set just before its workers are forked."""


def workers() -> int:
    """The cores this process may use (its affinity, under a container's limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_chunked(function: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item],
                done: Callable[[int], None] = lambda count: None,
                meanwhile: Callable[[], object] | None = None) -> list[Result]:
    """`function` (which takes a chunk of items and returns one result per item) over
    `items`, on every core when worth it; the results in the order of the items. `done`
    is told how many are done, chunk by chunk. `meanwhile` is work for this process
    while the workers start (see imap_chunked)."""
    results: list[Result] = []
    for finished in imap_chunked(function, items, meanwhile=meanwhile):
        results.extend(finished)
        done(len(results))
    return results


def imap_chunked(function: Callable[[Sequence[Item]], Result], items: Sequence[Item],
                 chunk: int | None = None, serial_below: int | None = None,
                 meanwhile: Callable[[], object] | None = None) -> Iterator[Result]:
    """`function` of each chunk of `items`, in order, as they come: a consumer (the
    writer of pages) works while the workers go on. Items are sent `chunk` at a time;
    fewer than `serial_below` are worked on here (by default CHUNK and SERIAL_BELOW).
    `meanwhile` runs here once the workers are forked, before the first result is
    awaited (first of all, when there are no workers): work of this process's own that
    would otherwise wait for the results with a core idle."""
    size = chunk or CHUNK
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    least = SERIAL_BELOW if serial_below is None else serial_below
    count = workers()
    if count < 2 or len(items) < least or threading.active_count() > 1 or _inherited:
        if meanwhile is not None:
            meanwhile()
        yield from map(function, chunks)
        return
    _inherited.append(function)
    import threadpoolctl  # noqa: F401  (here, once, for every worker forked: see below)
    try:
        context = multiprocessing.get_context("fork")
        waiting, left = iter(chunks), len(chunks)
        while left:
            with ProcessPoolExecutor(min(count, left), mp_context=context,
                                     initializer=_start_worker) as pool:
                # A few chunks ahead of the consumer, not all: results it has not taken
                # yet (pages the writer has not written) would pile up in memory. All of
                # them while this process is busy with work of its own: the workers
                # would otherwise do a few chunks and wait for it (reading 10,000 seeds,
                # they read 800, then waited about a second for scikit-learn's import)
                ahead = collections.deque(
                    pool.submit(_run_inherited, chunk)  # the first forks the workers
                    for chunk in itertools.islice(
                        waiting, AHEAD * count if meanwhile is None else None))
                if meanwhile is not None:
                    meanwhile()
                    meanwhile = None
                held = 0
                while ahead:
                    result, faults = ahead.popleft().result()
                    left -= 1
                    held = max(held, faults * mmap.PAGESIZE)
                    if held < WORKER_COPY_MOST:  # else the chunks left go to fresh workers
                        ahead.extend(pool.submit(_run_inherited, chunk)
                                     for chunk in itertools.islice(waiting, 1))
                    if len(ahead) == left:
                        _inherited.clear()  # the last workers have it: no need to hold it here
                    yield result
    finally:
        _inherited.clear()


def side_by_side(tasks: Sequence[Callable[[], Result]], fork: bool) -> list[Result]:
    """The result of each task (a function of nothing), in order: with `fork`, each in a
    worker forked for it, side by side on the cores (work that also should not leave
    what it loads in this process's memory), else here, one after the other."""
    # workers are sent numbers (they have the tasks, forked): closures do not pickle
    results = imap_chunked(lambda chunk: [tasks[chunk[0]]()], range(len(tasks)), chunk=1,
                           serial_below=1 if fork else len(tasks) + 1)
    return [result for [result] in results]


def threaded(function: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """`function` of each item, in order, on a thread per core: for compiled code that lets
    go of the GIL (kernels.py), which threads run side by side without copying anything.
    The threads are gone when it returns, so workers forked later have none to inherit."""
    count = workers()
    if count < 2 or len(items) < 2:
        return list(map(function, items))
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(function, items))


def _run_inherited(chunk: Sequence[Any]) -> tuple[Any, int]:
    """The result of a chunk, and the pages this worker has faulted in so far: what it
    copied of the build and what it allocated (see WORKER_COPY_MOST)."""
    import resource  # on the systems that fork

    result = _inherited[0](chunk)
    return result, resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _start_worker() -> None:
    """Each worker's matrix products on one thread: the workers already fill the cores,
    and OpenBLAS threads of two workers spinning for a core made the analysis of 10,000
    articles take 4.7 s instead of 2.7 s. Its cyclic garbage collected (a build pauses
    the collector, see build_site; Jinja leaves ~50 cyclic objects a page), but never
    in what it inherited: frozen first, the build's objects are not gone through (nor
    their memory pages copied, as writing to their headers would)."""
    import threadpoolctl  # imported before the fork
    threadpoolctl.threadpool_limits(1, user_api="blas")
    gc.freeze()
    gc.enable()
