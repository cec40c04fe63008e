"""The torch device path: same results on CUDA as on the CPU (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

import graphneg as gn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    C = rng.normal(size=(3000, 64)).astype(np.float32)
    Q = C[:500] + 0.3 * rng.normal(size=(500, 64)).astype(np.float32)
    return Q, C


@pytest.mark.parametrize("metric", ["cosine", "ip", "euclidean"])
def test_knn_on_cuda_matches_cpu(data, metric):
    _, C = data
    cpu, s_cpu = gn.knn_search(C, 16, skip=2, metric=metric)
    gpu, s_gpu = gn.knn_search(C, 16, skip=2, metric=metric, device="cuda")
    assert np.mean(cpu == gpu) > 0.999  # ties may break differently across devices
    np.testing.assert_allclose(s_gpu, s_cpu, atol=1e-4)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_knn_reduced_precision_on_cuda(data, precision):
    _, C = data
    exact, _ = gn.knn_search(C, 32)
    idx, _ = gn.knn_search(C, 32, precision=precision, device="cuda")
    assert gn.knn_recall(C, idx, sample=3000) >= 0.999
    assert np.mean([np.intersect1d(a, b).size for a, b in zip(idx, exact, strict=True)]) / 32 >= 0.999


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_mining_on_cuda_matches_cpu(data, precision):
    Q, C = data
    sel = gn.NegativeSelection(num_negatives=5, range_min=2, range_max=40, relative_margin=0.05)
    cpu = gn.mine_hard_negatives(Q, C, np.arange(500), sel)
    gpu = gn.mine_hard_negatives(Q, C, np.arange(500), sel, device="cuda", precision=precision)
    assert np.mean(cpu.indices == gpu.indices) > 0.999


def test_sharded_knn_and_mining_on_cuda_equal_cpu():
    """``graphneg.distributed`` with ``device='cuda'`` (a world of one): bit-identical to the
    single-process CPU results, also with 100 copies of one row (the uncertain-row path)."""
    import warnings

    import graphneg.distributed as gd

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 48)).astype(np.float32)
    X = np.concatenate([X, np.repeat(X[:1], 100, axis=0)])
    Q = np.concatenate([X[:1].repeat(5, 0), X[5:300] + 0.3 * rng.normal(size=(295, 48)).astype(np.float32)])
    for device in ("cuda", "auto"):
        for kw in (dict(k=10, skip=2), dict(k=5, metric="ip", block_rows=333)):
            G = gd.knn_graph(X, device=device, **kw)
            kw.pop("block_rows", None)
            E = gn.knn_graph(X, **kw)
            np.testing.assert_array_equal(G.indices, E.indices)
            np.testing.assert_array_equal(G.data, E.data)
        sel = gn.NegativeSelection(num_negatives=4, range_min=1, relative_margin=0.05)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gn.GraphNegWarning)
            got = gd.mine_hard_negatives(Q, X, np.arange(300), sel, device=device, block_rows=700)
            want = gn.mine_hard_negatives(Q, X, np.arange(300), sel)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_array_equal(got.scores, want.scores)
        np.testing.assert_array_equal(got.positive_scores, want.positive_scores)
