"""Profiles of the groups the cluster stage found: each group's most central article and
the terms its articles share (a story's representative article and its terms). Worked
out a batch of groups at a time by sparse products over the groups' rows: one dense
centroid over the whole vocabulary per group grows with the archive twice over.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

    from .cluster import Vectors


def central_rows(vectors: Vectors, groups: Sequence[Sequence[int]]) -> list[int]:
    """Each group's article closest to the group's centroid: the most representative one
    (ties to the lower row). Groups are worked on a batch at a time by sparse products:
    one dense centroid over the whole vocabulary per group grows with the archive twice
    over (8 s at 100,000 articles)."""
    central = []
    for batch in _batches(groups):
        sizes = _sizes(batch)
        rows, members = _membership(batch, 1.0 / sizes)
        matrix = vectors.combined[rows]
        group_of = np.repeat(np.arange(len(batch)), sizes)
        centroids = (members @ matrix).tocsr()[group_of]
        scores = np.asarray(matrix.multiply(centroids).sum(axis=1)).ravel()
        best = np.lexsort((rows, -scores, group_of))  # by group, best first
        central.extend(rows[best[np.cumsum(sizes) - sizes]].tolist())
    return central


def shared_terms(vectors: Vectors, groups: Sequence[Sequence[int]],
                 limit: int = 8) -> list[tuple[str, ...]]:
    """Each group's heaviest word terms that at least two of its rows contain (all terms
    of a lone article): what a group of articles has in common. Batched as central_rows,
    for the same reason (12 s at 100,000 articles, one group at a time)."""
    found = []
    for batch in _batches(groups):
        rows, members = _membership(batch, np.ones(len(batch), dtype=np.float32))
        words = vectors.words[rows]
        present = words.copy()
        present.data[:] = 1
        # the same pattern, so the same entries: weights are positive, no sum is zero
        weight, count = (members @ words).tocsr(), (members @ present).tocsr()
        weight.sort_indices()
        count.sort_indices()
        least = np.repeat(np.where(_sizes(batch) > 1, 2, 1), np.diff(count.indptr))
        kept = np.where(count.data >= least, weight.data, 0)
        for start, end in zip(weight.indptr[:-1].tolist(), weight.indptr[1:].tolist(),
                              strict=True):
            values = kept[start:end]
            best = np.argsort(-values, kind="stable")[:limit]  # ties: the lower column
            found.append(tuple(str(vectors.vocabulary[weight.indices[start + i]])
                               for i in best if values[i] > 0))
    return found


_BATCH_ROWS = 20_000
"""Rows of the groups worked on at once (each row's vector is copied once)."""


def _batches(groups: Sequence[Sequence[int]]) -> Iterator[Sequence[Sequence[int]]]:
    start = size = 0
    for end, group in enumerate(groups):
        if size >= _BATCH_ROWS:
            yield groups[start:end]
            start, size = end, 0
        size += len(group)
    if start < len(groups):
        yield groups[start:]


def _sizes(groups: Sequence[Sequence[int]]) -> np.ndarray:
    return np.array([len(g) for g in groups], dtype=np.int64)


def _membership(groups: Sequence[Sequence[int]], weights: np.ndarray
                ) -> tuple[np.ndarray, sp.csr_matrix]:
    """The groups' rows, concatenated, and a groups x those rows matrix giving each
    group's rows the group's weight: `members @ matrix[rows]` sums each group."""
    import scipy.sparse as sp  # loaded already, with the vectors this applies to

    rows = np.fromiter((r for g in groups for r in g), dtype=np.int64)
    sizes = _sizes(groups)
    members = sp.csr_matrix((np.repeat(weights, sizes).astype(np.float32),
                             np.arange(len(rows)), np.r_[0, np.cumsum(sizes)]),
                            shape=(len(groups), len(rows)))
    return rows, members
