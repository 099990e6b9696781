"""Independent work spread over the machine's cores: reading seeds, analysing stories.

Workers are forked from the build, so they start at once with sitegen already imported
(a fork server or fresh interpreters re-run the caller's main script, which a script
calling build_site without a `__main__` guard does not survive). Forking a process that
runs other threads can deadlock the child on a lock one of them held, so a process with
threads (`sitegen watch`, whose builds are incremental anyway) works alone, as does any
small batch (starting workers costs more than it saves) and a one-core machine.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

SERIAL_BELOW = 500
"""Fewer items than this are worked on in this process."""
CHUNK = 100
"""Items sent to a worker at once: few round trips, yet an even spread."""


def workers() -> int:
    """The cores this process may use (its affinity, under a container's limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_chunked(function: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item],
                done: Callable[[int], None] = lambda count: None) -> list[Result]:
    """`function` (which takes a chunk of items and returns one result per item, and is
    defined at a module's top level) over `items`, on every core when worth it; the
    results in the order of the items. `done` is told how many are done, chunk by chunk."""
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    count = workers()
    results: list[Result] = []
    if count < 2 or len(items) < SERIAL_BELOW or threading.active_count() > 1:
        for chunk in chunks:
            results.extend(function(chunk))
            done(len(results))
        return results
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(count, mp_context=context) as pool:
        for finished in pool.map(function, chunks):
            results.extend(finished)
            done(len(results))
    return results
