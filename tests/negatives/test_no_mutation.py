"""Inputs are read-only: no public function of graphneg.negatives (nor link_split) modifies one.

scipy shares index arrays between a matrix and ``csr_array(matrix)``, and ``sum_duplicates`` /
``sort_indices`` work in place, so a non-canonical sparse input (unsorted indices, duplicates,
explicit zeros) is the case that catches an in-place canonicalisation. Every sparse argument is
given in that form, in several dtypes and both scipy classes, and compared byte for byte.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import (
    GraphNegWarning,
    NegativeSelection,
    SimANS,
    bica_link_negatives,
    degree_link_negatives,
    khop_link_negatives,
    ppr_link_negatives,
    scincl_link_negatives,
    specter_link_negatives,
    uniform_link_negatives,
)
from graphneg.links import LinkGraph, link_split
from graphneg.negatives import (
    balanced_margin_pairs,
    cluster_hard_negatives,
    cluster_negatives,
    false_negative_mask,
    mine_hard_negatives,
    pair_margins,
)

DTYPES = [np.float64, np.float32, np.int64, np.bool_]
CLASSES = [sp.csr_matrix, sp.csr_array]


def noncanonical(n_rows: int, n_cols: int, dtype, cls, seed: int = 0, per_row: int = 3):
    """Every row: ``per_row`` distinct columns in decreasing order, one of them twice, and an
    explicitly stored zero (in a column of its own, so that the row keeps non-zero entries)."""
    rng = np.random.default_rng(seed)
    indptr, indices, data = [0], [], []
    for _ in range(n_rows):
        cols = np.sort(rng.choice(n_cols, per_row + 1, replace=False))[::-1]
        row_cols = np.r_[cols[:per_row], cols[0], cols[per_row]]  # unsorted, duplicate, zero slot
        row_data = np.r_[rng.integers(1, 5, per_row), 1, 0]
        indices.extend(row_cols.tolist())
        data.extend(row_data.tolist())
        indptr.append(len(indices))
    M = cls((np.array(data).astype(dtype), np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int32)),
            shape=(n_rows, n_cols))
    assert not M.has_canonical_format
    return M


def snapshot(*objs):
    out = []
    for obj in objs:
        if sp.issparse(obj):
            out.append(("sparse", obj.dtype.str, obj.data.tobytes(), obj.indices.tobytes(), obj.indptr.tobytes(),
                        obj.indices.dtype.str, obj.indptr.dtype.str, obj.shape))
        elif isinstance(obj, np.ndarray):
            out.append(("dense", obj.dtype.str, obj.shape, obj.tobytes()))
        elif isinstance(obj, list):
            out.append(("list", repr(obj)))
        else:
            out.append(("other", repr(obj)))
    return out


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def embeddings():
    rng = np.random.default_rng(0)
    C = rng.normal(size=(40, 6)).astype(np.float32)
    Q = C[:8] + 0.1 * rng.normal(size=(8, 6)).astype(np.float32)
    return Q, C


def test_repro_positives_grade_stays_at_its_column(embeddings):
    # the bug of issue #11.1: a grade-2 positive at column 5 ended up at column 3
    Q, C = embeddings
    P = sp.csr_array(([2.0, 1.0], [5, 3], [0, 2]), shape=(1, 40))
    quiet(mine_hard_negatives, Q[:1], C, P, NegativeSelection(num_negatives=2))
    assert P.indices.tolist() == [5, 3] and P.data.tolist() == [2.0, 1.0]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_mine_hard_negatives(embeddings, dtype, cls):
    Q, C = embeddings
    P = noncanonical(8, 40, dtype, cls, seed=1)
    X = noncanonical(8, 40, dtype, cls, seed=2)
    ids = np.arange(8) + 20
    before = snapshot(P, X, Q, C, ids)
    for sampling in ("top", SimANS()):
        quiet(mine_hard_negatives, Q, C, P, NegativeSelection(num_negatives=2, sampling=sampling), exclude=X,
              query_corpus_ids=ids)
    quiet(mine_hard_negatives, Q, C, P, NegativeSelection(num_negatives=2), exclude=X, precision="bf16", block_size=3)
    assert snapshot(P, X, Q, C, ids) == before


def test_mine_hard_negatives_plain_arrays(embeddings):
    Q, C = embeddings
    pos = np.arange(8)
    lists = [[i, i + 10] for i in range(8)]
    padded = np.array([[i, -1] for i in range(8)])
    before = snapshot(Q, C, pos, lists, padded)
    quiet(mine_hard_negatives, Q, C, pos, NegativeSelection(num_negatives=2), exclude=lists)
    quiet(mine_hard_negatives, Q, C, padded, NegativeSelection(num_negatives=2), metric="ip")
    assert snapshot(Q, C, pos, lists, padded) == before


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_link_negatives(dtype, cls):
    g = LinkGraph.from_index_edges([[i, (i + 1) % 30] for i in range(30)] + [[0, 15]], 30)
    A_before = snapshot(g.adjacency)
    X = noncanonical(6, 30, dtype, cls, seed=3, per_row=2)
    E = np.random.default_rng(0).normal(size=(30, 4))
    before = snapshot(X, E)
    for fn, kw in [(uniform_link_negatives, {}), (degree_link_negatives, {}), (khop_link_negatives, {"hops": 3}),
                   (ppr_link_negatives, {"window": (0, 10)}), (specter_link_negatives, {}),
                   (bica_link_negatives, {"embeddings": E}),
                   (scincl_link_negatives, {"embeddings": E, "positive_window": (1, 3), "hard_window": (5, 8),
                                            "num_positives": 1})]:
        quiet(fn, g, sources=np.arange(6), num_negatives=3, exclude=X, **kw)
    assert snapshot(X, E) == before
    assert snapshot(g.adjacency) == A_before


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_false_negative_mask(dtype, cls):
    known = noncanonical(10, 12, dtype, cls, seed=4)
    rank = noncanonical(10, 12, dtype, cls, seed=5)
    q, p, neg = np.array([0, 3, 7]), np.array([1, 2, 3]), np.array([[4, -1], [5, 6], [7, 8]])
    keys = np.arange(12) % 5
    before = snapshot(known, rank, q, p, neg, keys)
    false_negative_mask(q, p, neg, known_positives=known, rank_graph=rank, target_keys=keys)
    false_negative_mask(q, p, neg, known_positives=known, rank_graph=rank, top_p=2)
    dense = rank.toarray().astype(np.float64)
    order = np.argsort(-dense, axis=1, kind="stable")[:, :3]
    false_negative_mask(q, p, neg, rank_graph=(order, np.take_along_axis(dense, order, 1)), top_p=2)
    assert snapshot(known, rank, q, p, neg, keys) == before


def test_false_negative_mask_plain_arrays():
    q, p = [0, 1], [10, 11]
    known = [[10, 12], [11]]
    rank = np.array([[12, 11, 10], [10, 12, 11]])
    before = snapshot(known, rank)
    false_negative_mask(q, p, [[11], [12]], known_positives=known, rank_graph=rank, top_p=2)
    assert snapshot(known, rank) == before


def test_batch_negatives_inputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)).astype(np.float32)
    T = rng.normal(size=(30, 4))
    groups = np.repeat(np.arange(3), 10)
    margins = [rng.normal(size=8), rng.normal(size=3).astype(np.float32)]
    pos, negs = [rng.normal(size=2)], [rng.normal(size=4)]
    before = snapshot(X, T, groups, *margins, *pos, *negs)
    cluster_negatives(X, groups, targets=T, skip=2, window=5, num_negatives=2)
    cluster_negatives(X, groups, skip=2, window=5, num_negatives=2)
    balanced_margin_pairs(margins, num_samples=3)
    pair_margins(pos, negs)
    assert snapshot(X, T, groups, *margins, *pos, *negs) == before


def test_cluster_hard_negatives_inputs():
    # float32 C-contiguous inputs are validated without a copy: the case that catches a write
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4)).astype(np.float32)
    T = rng.normal(size=(30, 4)).astype(np.float32)
    labels = np.repeat(np.arange(3), 10)
    str_labels = [f"c{x}" for x in labels]
    before = snapshot(X, T, labels, str_labels)
    cluster_hard_negatives(X, labels, 3, targets=T, seed=0)
    quiet(cluster_hard_negatives, X, str_labels, 12, seed=1)  # short rows: padded, warned
    assert snapshot(X, T, labels, str_labels) == before


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_link_split(dtype, cls):
    A = noncanonical(40, 40, dtype, cls, seed=6)
    years = np.random.default_rng(1).integers(2000, 2010, 40)
    before = snapshot(A, years)
    quiet(link_split, A, val=0.1, test=0.2, num_negatives=3)
    quiet(link_split, A, val=0.1, test=0.2, num_negatives=2, undirected=True, years=years, time_respecting=True)
    assert snapshot(A, years) == before
