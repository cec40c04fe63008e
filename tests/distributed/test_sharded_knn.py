"""The sharded kNN graph over 2 and 3 processes equals the single-process graph exactly.

Data without ties (Gaussian float32); shards are memory-mapped slices of one ``.npy`` file.
Neighbours are identical; similarities agree to the float32 rounding of the GEMM.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from ddp_harness import run_group  # noqa: E402

import graphneg as gn  # noqa: E402
from graphneg.distributed import assemble_graph  # noqa: E402

CASES = [
    ("cosine", dict(k=7)),
    ("cosine-skip-blocks", dict(k=5, options=dict(skip=3, block_rows=37))),
    ("cosine-uneven", dict(k=6, uneven=True, options=dict(block_rows=50))),
    ("ip", dict(k=4, options=dict(metric="ip", skip=1, block_rows=64))),
    ("targets", dict(k=9, targets=True, options=dict(block_rows=41))),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp("sharded_knn")
    X = rng.normal(size=(301, 16)).astype(np.float32)
    T = rng.normal(size=(157, 16)).astype(np.float32)
    np.save(root / "X.npy", X)
    np.save(root / "T.npy", T)
    cases = []
    for _, spec in CASES:
        case = {"kind": "knn", "path": str(root / "X.npy"), **spec}
        if spec.get("targets"):
            case["targets"] = str(root / "T.npy")
        cases.append(case)
    return X, T, cases


@pytest.fixture(scope="module", params=[2, 3], ids=lambda r: f"{r}ranks")
def sharded(request, data):
    X, T, cases = data
    return request.param, run_group("ddp_sharded.run_cases", request.param, cases)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[name for name, _ in CASES])
def test_sharded_knn_graph_equals_single_process(sharded, data, index):
    world_size, results = sharded
    X, T, cases = data
    case = cases[index]
    shards = [results[r][index] for r in range(world_size)]
    options = dict(case.get("options", {}))
    options.pop("block_rows", None)
    expected = gn.knn_graph(X, case["k"], targets=T if case.get("targets") else None, **options)
    G = assemble_graph(shards)
    assert G.shape == expected.shape
    np.testing.assert_array_equal(G.indptr, expected.indptr)
    np.testing.assert_array_equal(G.indices, expected.indices)
    # similarities: the same fp32 GEMM, whose last bit depends on the tile a pair falls in (the
    # single-process search of rows 0..149 alone differs from that of all rows by as much)
    np.testing.assert_allclose(G.data, expected.data, rtol=2e-6, atol=1e-6)
    assert sum(s.shape[0] for s in shards) == X.shape[0]


def test_assemble_graph_reads_npz_files(tmp_path):
    X = np.random.default_rng(1).normal(size=(40, 5)).astype(np.float32)
    G = gn.knn_graph(X, 4)
    paths = []
    for i, (a, b) in enumerate([(0, 13), (13, 40)]):
        paths.append(tmp_path / f"shard{i}.npz")
        import scipy.sparse as sp

        sp.save_npz(paths[-1], G[a:b])
    assert (assemble_graph(paths) != G).nnz == 0


def test_world_of_one_without_process_group():
    from graphneg.distributed import knn_graph

    X = np.random.default_rng(2).normal(size=(60, 6)).astype(np.float32)
    assert (knn_graph(X, 5, skip=2, block_rows=7) != gn.knn_graph(X, 5, skip=2)).nnz == 0
    with pytest.raises(ValueError, match="k"):
        knn_graph(X, 60)


def test_bad_shard_on_one_rank_raises_on_every_rank():
    messages = run_group("ddp_sharded.bad_shard", 2, timeout=60)
    assert "NaN" in messages[1]
    assert messages[0].startswith("rank 1 rejected its input") and "NaN" in messages[0]
