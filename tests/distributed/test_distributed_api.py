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
    gd.mine_hard_negatives(Q, X, positives, graphneg.NegativeSelection(num_negatives=2, sampling="random"),
                           block_rows=16)
    gd.communities(X, G, num_parts=2)
    gd.coarse_parts(X, 3)
    assert np.array_equal(X, before[0]) and np.array_equal(Q, before[1])
    assert (sp.csr_array(G) != before[2]).nnz == 0


# -- issue 23: clear errors and a canonical graph ----------------------------------------------------
@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((-5, 2, 0), ValueError, "`n` must be >= 0, got -5"),
        ((10.7, 2, 0), TypeError, "`n` must be an int, got 10.7"),
        ((10, 0, 0), ValueError, "`world_size` must be >= 1, got 0"),
        ((10, 2, 2), ValueError, r"`rank` must be in \[0, 1\], got 2"),
        ((10, 2, -1), ValueError, "`rank` must be >= 0"),
    ],
)
def test_shard_rows_names_the_bad_argument(args, error, match):
    with pytest.raises(error, match=match):
        gd.shard_rows(*args)


def test_assemble_graph_of_non_canonical_shards_is_canonical():
    import numpy as np
    import scipy.sparse as sp

    # row 0: columns 2, 1, 2 (unsorted, a duplicate); row 1 is canonical
    a = sp.csr_array((np.array([1.0, 2.0, 3.0]), np.array([2, 1, 2]), np.array([0, 3])), shape=(1, 3))
    b = sp.csr_array(np.array([[0.0, 5.0, 0.0]]))
    G = gd.assemble_graph([a, b])
    assert G.has_canonical_format and G.nnz == 3
    assert G.indices.tolist() == [1, 2, 1] and G.data.tolist() == [2.0, 4.0, 5.0]
    assert a.indices.tolist() == [2, 1, 2]  # the shard is not modified
