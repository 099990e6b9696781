"""Compiled loops of the cluster stage, for the three steps where scikit-learn and scipy
take many passes over memory, or a Python call per item, for what one loop does.

- Character n-gram counts: CountVectorizer(analyzer="char_wb") cuts every word of every
  article into Python strings and counts them in a dict: 14 s of a 100,000-article build
  (py-spy). Here each n-gram is a 64-bit number (its characters' ranks, 16 bits each, so
  that numbers sort as the strings do) counted in one hash table: the same matrix.
- Candidate neighbours: a sparse product of a block of rows, then a partial sort of it
  in numpy (10 s of that build). Here each row's products are summed into one array and
  its best k kept as they come.
- Similarity of candidate pairs: gathering both rows of each pair, multiplying them
  elementwise and summing is four passes over copies of the rows (17 s of that build).
  Here each pair's dot product is one loop over one of its rows.

numba compiles them on first use and keeps the result in __pycache__ beside this file.
They let go of the GIL, so threads run them side by side (see parallel.threaded).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import scipy.sparse as sp

from . import parallel

GRAM = 4
"""Characters per n-gram: four 16-bit ranks fill a 64-bit code."""
_PAIR_SLICES = 16
"""Pieces the rows (top_products) or the candidate pairs (pair_dots) are worked on in,
spread over the threads."""
_MOST_CHARACTERS = 0xFFFF
"""Distinct characters a 16-bit rank can tell apart (0 stands for none)."""


def char_ngram_counts(texts: Sequence[str], min_df: int = 1,
                      max_df: float = 1.0) -> sp.csr_matrix | None:
    """Counts of the GRAM-character n-grams within words, padded with a space each side,
    of the lower-cased texts: the matrix CountVectorizer(analyzer="char_wb", ngram_range=
    (GRAM, GRAM), min_df, max_df, dtype=float32) makes, with each row's entries in column
    order. Columns are the n-grams in at least `min_df` texts and at most the `max_df`
    share of them, in the order of the n-grams as strings. None when none is left, or
    the texts use more characters than ranks can tell apart."""
    chars, starts = _code_points(texts)
    present = np.bincount(chars, minlength=ord(" ") + 1) > 0
    present[ord(" ")] = True  # the padding
    used = np.flatnonzero(present)
    if len(used) > _MOST_CHARACTERS:
        return None
    rank = np.zeros(len(present), dtype=np.uint64)
    rank[used] = np.arange(1, len(used) + 1, dtype=np.uint64)  # in code point order
    is_space = np.zeros(len(present), dtype=np.bool_)
    is_space[[c for c in used if chr(c).isspace()]] = True
    ids, counts, rows, codes, frequency = _count_grams(chars, starts, is_space, rank,
                                                       rank[ord(" ")])
    del chars
    kept = np.flatnonzero((frequency >= min_df) & (frequency <= max_df * len(texts)))
    if not len(kept):
        return None
    column = np.full(len(codes), -1, dtype=np.int32)
    column[kept[np.argsort(codes[kept])]] = np.arange(len(kept))  # as the strings sort
    indices, data, indptr = _kept_entries(ids, counts, rows, column)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(texts), len(kept)))
    matrix.sort_indices()
    return matrix


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The lower-cased texts' characters one after another, as code points, and where
    each text begins (and the last ends). The joined text is let go of here: at 100,000
    articles, 42 million characters, up to four bytes each."""
    lowered = [text.lower() for text in texts]
    starts = np.zeros(len(lowered) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lowered), dtype=np.int64, count=len(lowered)),
              out=starts[1:])
    return np.frombuffer("".join(lowered).encode("utf-32-le"), dtype=np.uint32), starts


def top_products(matrix: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row i of `matrix`, the k other rows j with the largest positive dot product
    (ties to the lower j): (i, j) as two arrays, i ascending. The product matrix @ matrix.T
    row by row, each kept only for its best k (a sparse product of a block of rows, then
    a partial sort of it in numpy, took 10 s for 100,000 rows)."""
    matrix = matrix.tocsr()
    transposed = matrix.T.tocsr()
    n = matrix.shape[0]
    bounds = np.linspace(0, n, min(n, _PAIR_SLICES) + 1).astype(np.int64)

    def best(piece: int) -> tuple[np.ndarray, np.ndarray]:
        return _top_products(matrix.indptr, matrix.indices, matrix.data, transposed.indptr,
                             transposed.indices, transposed.data, bounds[piece],
                             bounds[piece + 1], k, np.zeros(n, np.float32),
                             np.empty(n, np.int64))

    found = parallel.threaded(best, range(len(bounds) - 1))
    return (np.concatenate([rows for rows, _ in found] or [np.zeros(0, np.int32)]),
            np.concatenate([cols for _, cols in found] or [np.zeros(0, np.int32)]))


def pair_dots(matrix: sp.csr_matrix, pairs: np.ndarray, n: int) -> np.ndarray:
    """The dot product of rows a and b of `matrix` for each pair a * n + b (ascending, so
    each a's pairs are together: its row is spread out once for all of them)."""
    matrix = matrix.tocsr()
    bounds = np.linspace(0, len(pairs), _PAIR_SLICES + 1).astype(np.int64)
    out = np.empty(len(pairs), dtype=np.float32)

    def score(piece: int) -> None:
        lo, hi = bounds[piece], bounds[piece + 1]
        _pair_dots(matrix.indptr, matrix.indices, matrix.data, pairs[lo:hi] // n,
                   pairs[lo:hi] % n, out[lo:hi], np.zeros(matrix.shape[1], np.float32))

    parallel.threaded(score, range(_PAIR_SLICES))
    return out


@numba.njit(nogil=True, cache=True)
def _count_grams(chars, starts, is_space, rank, space):
    """Number each distinct n-gram (its id) in the order first met. Returns each text's
    n-grams (ids, in the order first met in it) with their counts, where each text's
    begin in those (and where the last ends), and each id's code and texts."""
    texts = len(starts) - 1
    entry_ids = np.empty(len(chars) // 4 + 16, dtype=np.int32)  # grown as needed
    entry_counts = np.zeros(len(entry_ids), dtype=np.float32)
    rows = np.zeros(texts + 1, dtype=np.int64)
    table = np.full(1 << 16, -1, dtype=np.int64)  # slot -> id (-1: free), half full at most
    # per id: its code, the texts it is in, the last of them, its entry there
    codes = np.empty(1 << 15, dtype=np.uint64)
    frequency = np.zeros(len(codes), dtype=np.int64)
    last_text = np.full(len(codes), -1, dtype=np.int64)
    entry_of = np.empty(len(codes), dtype=np.int64)
    ids = 0
    made = 0
    for text in range(texts):
        at, end = starts[text], starts[text + 1]
        while at < end:
            if is_space[chars[at]]:
                at += 1
                continue
            word_end = at
            while word_end < end and not is_space[chars[word_end]]:
                word_end += 1
            code = space
            width = 1
            for place in range(at, word_end + 1):
                code = (code << np.uint64(16)) | \
                    (rank[chars[place]] if place < word_end else space)
                width += 1
                last = place == word_end
                if width < GRAM and not last:
                    continue
                if width < GRAM:  # a one-letter word: one short n-gram, padded with zeros
                    code = code << np.uint64(16 * (GRAM - width))
                if 2 * (ids + 1) > len(table):
                    table = _grown_table(table, codes, ids)
                if ids == len(codes):
                    codes, frequency = _grown(codes, 0), _grown(frequency, 0)
                    last_text, entry_of = _grown(last_text, -1), _grown(entry_of, 0)
                slot = _slot(table, codes, code)
                if table[slot] < 0:
                    table[slot] = ids
                    codes[ids] = code
                    ids += 1
                gram = table[slot]
                if last_text[gram] == text:
                    entry_counts[entry_of[gram]] += 1
                else:
                    if made == len(entry_ids):
                        entry_ids, entry_counts = _grown(entry_ids, 0), _grown(entry_counts, 0)
                    last_text[gram] = text
                    frequency[gram] += 1
                    entry_of[gram] = made
                    entry_ids[made] = gram
                    entry_counts[made] = 1
                    made += 1
            at = word_end
        rows[text + 1] = made
    return entry_ids[:made], entry_counts[:made], rows, codes[:ids], frequency[:ids]


@numba.njit(nogil=True, cache=True)
def _kept_entries(ids, counts, rows, column):
    """The entries of the n-grams kept (column >= 0) as a CSR matrix's arrays (indices,
    data, indptr), made at their size: no array of every entry is copied."""
    total = 0
    for gram in ids:
        if column[gram] >= 0:
            total += 1
    indices = np.empty(total, dtype=np.int32)
    data = np.empty(total, dtype=np.float32)
    indptr = np.zeros(len(rows), dtype=np.int64)
    made = 0
    for text in range(len(rows) - 1):
        for place in range(rows[text], rows[text + 1]):
            if column[ids[place]] >= 0:
                indices[made] = column[ids[place]]
                data[made] = counts[place]
                made += 1
        indptr[text + 1] = made
    return indices, data, indptr


@numba.njit(nogil=True, cache=True)
def _slot(table, codes, code):
    """Where `code` is in `table`, or the free slot where it would go."""
    mask = np.uint64(len(table) - 1)
    mixed = (code ^ (code >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    slot = (mixed ^ (mixed >> np.uint64(31))) & mask
    while table[slot] >= 0 and codes[table[slot]] != code:
        slot = (slot + np.uint64(1)) & mask
    return slot


@numba.njit(nogil=True, cache=True)
def _grown_table(table, codes, ids):
    grown = np.full(2 * len(table), -1, dtype=np.int64)
    for gram in range(ids):
        grown[_slot(grown, codes, codes[gram])] = gram
    return grown


@numba.njit(nogil=True, cache=True)
def _grown(values, fill):
    grown = np.full(2 * len(values), fill, dtype=values.dtype)
    grown[:len(values)] = values
    return grown


@numba.njit(nogil=True, cache=True)
def _top_products(indptr, indices, data, t_indptr, t_indices, t_data, first, end, k, total,
                  touched):
    """top_products of rows first..end-1; `total` (zeros, one per row) sums a row's
    products meanwhile, and is zeros again at the end. Summed in the order scipy's
    product sums them, so the values are the same to the bit."""
    out_rows = np.empty((end - first) * k, dtype=np.int32)
    out_cols = np.empty(len(out_rows), dtype=np.int32)
    best_values = np.empty(k, dtype=np.float32)
    best_rows = np.empty(k, dtype=np.int64)
    made = 0
    for row in range(first, end):
        count = 0
        for place in range(indptr[row], indptr[row + 1]):
            weight = data[place]
            for other_place in range(t_indptr[indices[place]], t_indptr[indices[place] + 1]):
                other = t_indices[other_place]
                if total[other] == 0 and other != row:
                    touched[count] = other
                    count += 1
                total[other] += weight * t_data[other_place]
        total[row] = 0
        kept = 0  # the best k so far: by value, falling, then by row
        for place in range(count):
            other = touched[place]
            value = total[other]
            total[other] = 0
            if value <= 0 or (kept == k and not _better(value, other, best_values[k - 1],
                                                        best_rows[k - 1])):
                continue
            at = min(kept, k - 1)
            while at > 0 and _better(value, other, best_values[at - 1], best_rows[at - 1]):
                best_values[at], best_rows[at] = best_values[at - 1], best_rows[at - 1]
                at -= 1
            best_values[at], best_rows[at] = value, other
            kept = min(kept + 1, k)
        out_rows[made:made + kept] = row
        out_cols[made:made + kept] = best_rows[:kept]
        made += kept
    return out_rows[:made], out_cols[:made]


@numba.njit(nogil=True, cache=True)
def _better(value, row, other_value, other_row):
    return value > other_value or (value == other_value and row < other_row)


@numba.njit(nogil=True, cache=True)
def _pair_dots(indptr, indices, data, left, right, out, spread):
    """out[p] = row left[p] . row right[p]; `spread` (zeros, one per column) holds the
    current left row meanwhile, and is zeros again at the end."""
    current = -1
    for pair in range(len(left)):
        row = left[pair]
        if row != current:
            if current >= 0:
                for place in range(indptr[current], indptr[current + 1]):
                    spread[indices[place]] = 0.0
            for place in range(indptr[row], indptr[row + 1]):
                spread[indices[place]] = data[place]
            current = row
        other = right[pair]
        total = 0.0
        for place in range(indptr[other], indptr[other + 1]):
            total += spread[indices[place]] * data[place]
        out[pair] = total
    if current >= 0:
        for place in range(indptr[current], indptr[current + 1]):
            spread[indices[place]] = 0.0
