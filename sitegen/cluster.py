"""Cluster stage: Articles -> Stories.

TF-IDF vectors (title counted twice, so headlines weigh more), each article's nearest
neighbours by cosine similarity, then average-linkage merging over that sparse
neighbour graph: pairs that are not neighbours count as similarity 0. Memory stays
proportional to articles x neighbours, never articles squared.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from .config import ClusterSettings
from .model import Article, Story

_ROWS_PER_CHUNK = 1024
_TERMS_PER_STORY = 8


def assign_stories(articles: Sequence[Article], settings: ClusterSettings) -> list[Story]:
    """Group articles into stories. The same articles in any order give the same stories."""
    ordered = sorted(articles, key=lambda a: a.id)
    if not ordered:
        return []
    vectors, vocabulary = vectorize(ordered)
    edges = neighbour_edges(vectors, settings.neighbors, floor=settings.threshold / 4)
    labels = average_linkage(len(ordered), edges, settings.threshold)
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    return [_story(ordered, vectors, vocabulary, rows) for rows in members.values()]


def vectorize(articles: Sequence[Article]) -> tuple[sp.csr_matrix, np.ndarray]:
    """L2-normalized TF-IDF rows, one per article, and the vocabulary."""
    documents = [f"{a.title}\n{a.title}\n{a.text}" for a in articles]
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float32)
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # nothing but stop words anywhere: every article stands alone
        return sp.csr_matrix((len(articles), 1), dtype=np.float32), np.array([""])
    return matrix.tocsr(), vectorizer.get_feature_names_out()


def neighbour_edges(vectors: sp.csr_matrix, k: int, floor: float) -> dict[tuple[int, int], float]:
    """Cosine similarity of each article with its k nearest others, at least `floor`.

    Computed a chunk of rows at a time so memory stays bounded.
    """
    edges: dict[tuple[int, int], float] = {}
    transposed = vectors.T.tocsc()
    for start in range(0, vectors.shape[0], _ROWS_PER_CHUNK):
        block = (vectors[start:start + _ROWS_PER_CHUNK] @ transposed).tocsr()
        for offset in range(block.shape[0]):
            row = start + offset
            lo, hi = block.indptr[offset], block.indptr[offset + 1]
            cols, sims = block.indices[lo:hi], block.data[lo:hi]
            keep = (sims >= floor) & (cols != row)
            cols, sims = cols[keep], sims[keep]
            if len(cols) > k:
                top = np.lexsort((cols, -sims))[:k]
                cols, sims = cols[top], sims[top]
            for col, sim in zip(cols.tolist(), sims.tolist(), strict=True):
                edges[(row, col) if row < col else (col, row)] = sim
    return edges


def average_linkage(n: int, edges: dict[tuple[int, int], float], threshold: float) -> list[int]:
    """Merge the two groups with the highest average similarity until none reaches
    `threshold`. Ties break on the smaller index, so the result never depends on order."""
    size = [1] * n
    links: list[dict[int, float]] = [{} for _ in range(n)]
    for (a, b), sim in edges.items():
        links[a][b] = sim
        links[b][a] = sim
    version = [0] * n
    heap: list[tuple[float, int, int, int, int]] = []

    def push(a: int, b: int) -> None:
        average = links[a][b] / (size[a] * size[b])
        if average >= threshold:
            lo, hi = min(a, b), max(a, b)
            heapq.heappush(heap, (-average, lo, hi, version[lo], version[hi]))

    for (a, b) in sorted(edges):
        push(a, b)
    parent = list(range(n))
    while heap:
        _, a, b, version_a, version_b = heapq.heappop(heap)
        if parent[a] != a or parent[b] != b or version[a] != version_a or version[b] != version_b:
            continue
        keep, gone = (a, b) if size[a] >= size[b] else (b, a)
        parent[gone] = keep
        size[keep] += size[gone]
        version[keep] += 1
        del links[keep][gone]
        for other, total in links[gone].items():
            if other == keep:
                continue
            merged = links[keep].get(other, 0.0) + total
            links[keep][other] = merged
            links[other][keep] = merged
            del links[other][gone]
        links[gone] = {}
        for other in sorted(links[keep]):
            push(keep, other)
    return [_root(parent, i) for i in range(n)]


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _story(articles: Sequence[Article], vectors: sp.csr_matrix, vocabulary: np.ndarray,
           rows: list[int]) -> Story:
    centroid = np.asarray(vectors[rows].mean(axis=0)).ravel()
    closeness = vectors[rows] @ centroid
    central = rows[int(np.argmax(closeness))]
    top_terms = [vocabulary[i] for i in np.argsort(-centroid, kind="stable")[:_TERMS_PER_STORY]
                 if centroid[i] > 0]
    founder = articles[rows[0]].id  # rows are in id order: the smallest id founds the story
    return Story(
        id=hashlib.sha256(f"story\x1f{founder}".encode()).hexdigest()[:12],
        article_ids=tuple(articles[r].id for r in rows),
        central_id=articles[central].id,
        terms=tuple(str(t) for t in top_terms),
    )
