"""graphneg.distributed documents itself like the rest of the public API (tests/test_docstrings.py)."""

from __future__ import annotations

import inspect

import pytest

import graphneg
import graphneg.distributed as gd


@pytest.mark.parametrize("name", gd.__all__)
def test_public_function_has_numpy_docstring_with_example(name):
    doc = inspect.getdoc(getattr(gd, name))
    assert doc and "Examples\n" in doc, name
    assert "Parameters\n" in doc or "Returns\n" in doc, name


def test_subpackage_is_reachable_without_torch():
    assert graphneg.distributed is gd
    assert "distributed" in dir(graphneg)


def test_inputs_are_read_only():
    """Every function runs on read-only inputs (an in-place write would raise)."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6)).astype(np.float32)
    Q = rng.normal(size=(10, 6)).astype(np.float32)
    positives = np.arange(10)
    G = graphneg.knn_graph(X, 5)
    for a in (X, Q, positives, G.data, G.indices, G.indptr):
        a.flags.writeable = False
    before = (X.copy(), Q.copy(), G.copy())
    gd.knn_graph(X, 5, block_rows=16)
    gd.knn_graph(Q, 3, targets_shard=X, metric="ip")
    gd.mine_hard_negatives(Q, X, positives, num_negatives=2, sampling="random", block_rows=16)
    gd.communities(X, G, num_parts=2)
    gd.coarse_parts(X, 3)
    assert np.array_equal(X, before[0]) and np.array_equal(Q, before[1])
    assert (sp.csr_array(G) != before[2]).nnz == 0
