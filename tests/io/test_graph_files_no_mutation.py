"""Graph files and ``graphneg.inspect`` never modify what they are given (#11.1).

The graph is deliberately non-canonical (unsorted indices, duplicates, explicit zeros) and the
labels, ids and embeddings are compared byte for byte before and after.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg as gn
from graphneg.inspection import BatchOptions

DTYPES = [np.float64, np.float32, np.int64, bool]
KINDS = [sp.csr_array, sp.csr_matrix]


def noncanonical(n: int, dtype: type, cls: type = sp.csr_array) -> sp.csr_array:
    """Every row: unsorted columns, a duplicate entry and an explicit zero."""
    rng = np.random.default_rng(0)
    cols = np.stack([rng.permutation(n)[:3] for _ in range(n)])
    cols[:, 2] = cols[:, 0]
    data = rng.uniform(0.5, 2.0, size=cols.shape)
    data[:, 1] = 0
    M = cls((data.ravel().astype(dtype), cols[:, ::-1].ravel(), np.arange(0, 3 * n + 1, 3)), shape=(n, n))
    assert not M.has_canonical_format
    return M


def assert_untouched(call, *args, **kwargs):
    """Call and check that no array, sparse matrix or list argument changed, byte for byte."""

    def snap(x):
        if sp.issparse(x):
            return [x.data.tobytes(), x.indices.tobytes(), x.indptr.tobytes(), str(x.dtype)]
        return x.tobytes() if isinstance(x, np.ndarray) else repr(x)

    before = [snap(a) for a in args], {k: snap(v) for k, v in kwargs.items()}
    out = call(*args, **kwargs)
    assert before == ([snap(a) for a in args], {k: snap(v) for k, v in kwargs.items()}), f"{call} modified an argument"
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_save_graph_cached_graph_and_content_hash(tmp_path, dtype, kind):
    G = noncanonical(30, dtype, kind)
    labels, ids = np.arange(30) % 3, [f"n{i}" for i in range(30)]
    assert_untouched(gn.save_graph, tmp_path / "g.npz", G, labels=labels, ids=ids, params={"k": 3})
    saved = gn.load_graph(tmp_path / "g.npz")
    assert isinstance(saved, gn.SavedGraph) and saved.graph.has_canonical_format
    assert_untouched(gn.content_hash, labels)
    assert_untouched(gn.cached_graph, tmp_path / "c", "h", {"k": 3}, lambda: (G, labels))
    assert not sp.csr_array(G).has_canonical_format  # the caller's graph is still as it was


def test_inspect_leaves_embeddings_and_labels_alone(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 8)).astype(np.float32)
    X[5] *= 1e-3  # a row that a normalisation in place would change
    labels = np.repeat(np.arange(4), 30)
    gn.save_graph(tmp_path / "g.npz", gn.knn_graph(X, 5), labels=labels)
    assert_untouched(gn.inspect, tmp_path / "g.npz", embeddings=X, labels=labels,
                     batch_options=BatchOptions(batch_size=20), map_method="pca")


def test_params_with_numpy_values_are_left_alone(tmp_path):
    # save_graph and cached_graph convert numpy scalars and arrays to plain JSON on a copy
    params = {"k": np.int64(3), "dims": np.array([2, 3]), "nested": {"w": [np.float32(0.5)]}, "t": (1, 2)}
    G, labels = noncanonical(10, np.float64), np.arange(10) % 2
    assert_untouched(gn.save_graph, tmp_path / "g.npz", G, labels=labels, params=params)
    assert_untouched(gn.cached_graph, tmp_path / "c", "h", params, lambda: (G, labels))
    assert_untouched(gn.cached_graph, tmp_path / "c", "h", params, lambda: (G, labels))  # the hit
    from graphneg.io._graph_files import plain_params

    assert_untouched(plain_params, params)
    assert isinstance(params["k"], np.int64) and isinstance(params["dims"], np.ndarray) and params["t"] == (1, 2)


def test_float_labels_are_converted_on_a_copy(tmp_path):
    labels = np.array([0.0, 1.0, 1.0])
    assert_untouched(gn.save_graph, tmp_path / "g.npz", sp.csr_array(np.eye(3)), labels=labels)
    assert labels.dtype == np.float64 and gn.load_graph(tmp_path / "g.npz").labels.dtype == np.int64
