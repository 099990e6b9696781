"""The compiled loops of the cluster stage give what the library code they replace gives."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer

from sitegen import kernels

# Whitespace of every kind, one-letter words, letters whose lower case is two characters
# (İ), characters past 16 bits, and control characters str.split() takes for spaces
AWKWARD = ["a b  c\u00a0d Ünïcödé 𝔘nicode x", "", "   ", "I", "ab", "\x1cq\x1fr\u2028s",
           "İstanbul ΣΑΣ", "word\tword\nword", "Kyiv's sanctions sanctioned"]


def sklearn_counts(texts: list[str], min_df: int, max_df: float) -> sp.csr_matrix:
    matrix = CountVectorizer(analyzer="char_wb", ngram_range=(kernels.GRAM, kernels.GRAM),
                             dtype=np.float32, min_df=min_df,
                             max_df=max_df).fit_transform(texts).tocsr()
    matrix.sort_indices()
    return matrix


def assert_same(mine: sp.csr_matrix | None, theirs: sp.csr_matrix) -> None:
    assert mine is not None
    assert mine.shape == theirs.shape
    assert np.array_equal(mine.indptr, theirs.indptr)
    assert np.array_equal(mine.indices, theirs.indices)
    assert np.array_equal(mine.data, theirs.data)


def test_char_ngram_counts_are_scikit_learns_on_awkward_text() -> None:
    texts = AWKWARD * 3
    assert_same(kernels.char_ngram_counts(texts), sklearn_counts(texts, 1, 1.0))


def test_char_ngram_counts_prune_rare_and_common_ngrams_as_scikit_learn_does() -> None:
    words = ["sanction", "inquiry", "minister", "harbour", "floods", "vote", "a", "of"]
    texts = [" ".join(words[(i * j) % len(words)] for j in range(1, 7)) for i in range(40)]
    assert_same(kernels.char_ngram_counts(texts, min_df=2, max_df=0.5),
                sklearn_counts(texts, 2, 0.5))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab cİ\u00a0\n𝔘Σ"), max_size=30),
                min_size=1, max_size=12))
def test_char_ngram_counts_match_on_any_text(texts: list[str]) -> None:
    try:
        theirs = sklearn_counts(texts, 1, 1.0)
    except ValueError:  # no n-gram at all
        assert kernels.char_ngram_counts(texts) is None
        return
    assert_same(kernels.char_ngram_counts(texts), theirs)


def test_top_products_are_the_best_k_of_the_full_product() -> None:
    rng = np.random.default_rng(7)
    matrix = sp.random(300, 60, density=0.05, format="csr", dtype=np.float32,
                       random_state=rng)
    matrix.data = np.round(matrix.data * 4) / 4 + 0.25  # many ties
    k = 5
    rows, cols = kernels.top_products(matrix, k)
    full = (matrix @ matrix.T).toarray()
    assert np.all(np.diff(rows) >= 0)
    for row in range(300):
        found = sorted(cols[rows == row].tolist())
        ranked = sorted((-full[row, j], j) for j in range(300) if j != row and full[row, j] > 0)
        assert found == sorted(j for _, j in ranked[:k])


def test_pair_dots_are_the_dot_products_of_the_pairs() -> None:
    matrix = sp.random(120, 40, density=0.2, format="csr", dtype=np.float32, random_state=3)
    n = matrix.shape[0]
    a, b = np.triu_indices(n, 1)
    pairs = a.astype(np.int64) * n + b
    dense = matrix.toarray().astype(np.float64)
    expected = np.einsum("ij,ij->i", dense[a], dense[b])
    assert np.allclose(kernels.pair_dots(matrix, pairs, n), expected, atol=1e-6)
