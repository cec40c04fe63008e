"""How the exact CPU search picks its kernel: from the CPU's flags, the size and $GRAPHNEG_CPU_ROUTE,
never by timing (unless opted in), and every route returns the same neighbours."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import graphneg as gn
import graphneg._search._blocks as S_
import graphneg._search._cpu_route as R_
import graphneg._search._torch_blocks as TB

_REAL_PLAIN = R_.plain_cpu_route
LARGE = (100_000, 100_000, 384)
SCIFACT = (809, 5_183, 384)


@pytest.fixture(autouse=True)
def _no_env_route(monkeypatch):
    monkeypatch.delenv(R_.ROUTE_ENV, raising=False)
    monkeypatch.setattr(R_, "plain_cpu_route", lambda: "fp32")


def _flags(monkeypatch, *flags: str) -> None:
    monkeypatch.setattr(R_, "cpu_flags", lambda: frozenset(flags))


def _no_timing(monkeypatch) -> None:
    def fail():
        raise AssertionError("a route was chosen by timing")

    monkeypatch.setattr(R_, "bf16_speedup", fail)
    monkeypatch.setattr(R_, "fastest_cpu_gemm", fail)


@pytest.mark.parametrize("flags, route", [
    (("avx2", "fma"), "fp32"),  # bf16 emulated: certified would lose
    (("avx512f", "avx512_bf16"), "certified"),
    (("avx512f", "amx_tile", "amx_bf16"), "certified"),
    (("fp", "asimd", "bf16"), "fp32"),  # arm bf16: not measured, not assumed
])
def test_large_fp32_route_follows_cpu_flags_without_timing(monkeypatch, flags, route):
    _flags(monkeypatch, *flags)
    _no_timing(monkeypatch)
    assert R_.cpu_route("fp32", "cosine", LARGE) == route
    assert R_.cpu_route("fp32", "ip", LARGE) == route
    assert R_.cpu_route("fp32", "euclidean", LARGE) == "fp32"  # no certified euclidean


@pytest.mark.parametrize("size", [SCIFACT, (300_000, 8_000, 384), (1_000, 40_000, 64)])
def test_small_problems_take_plain_fp32_even_with_bf16(monkeypatch, size):
    _flags(monkeypatch, "avx512_bf16")
    _no_timing(monkeypatch)
    assert R_.cpu_route("fp32", "cosine", size) == "fp32"


@pytest.fixture
def fresh_plain_route():
    """The real plain route with its caches cleared before and after (they hold one answer)."""
    _REAL_PLAIN.cache_clear()
    S_.blas_pools.cache_clear()
    yield _REAL_PLAIN
    _REAL_PLAIN.cache_clear()
    S_.blas_pools.cache_clear()


def test_plain_route_is_torch_without_an_optimised_numpy_blas(monkeypatch, fresh_plain_route):
    import threadpoolctl

    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [])  # e.g. Debian's reference BLAS
    monkeypatch.setattr(R_, "numpy_blas_name", lambda: "blas")  # what such a build names
    monkeypatch.setattr(sys, "platform", "linux")
    assert fresh_plain_route() == "torch"


def test_plain_route_reads_a_named_blas_without_scanning_the_libraries(monkeypatch, fresh_plain_route):
    import threadpoolctl

    def scan():
        raise AssertionError("the library scan ran")

    monkeypatch.setattr(threadpoolctl, "threadpool_info", scan)
    monkeypatch.setattr(R_, "numpy_blas_name", lambda: "scipy-openblas")
    assert fresh_plain_route() == "fp32"


@pytest.mark.parametrize("env, flags, route", [
    ("fp32", ("avx512_bf16",), "fp32"),
    ("certified", ("avx2",), "certified"),
    ("torch", ("avx512_bf16",), "torch"),
    ("auto", ("avx512_bf16",), "certified"),
    (" Certified ", ("avx2",), "certified"),  # case and spaces are forgiven
    ("", ("avx512_bf16",), "certified"),  # empty = unset
])
def test_env_var_overrides_the_exact_fp32_route(monkeypatch, env, flags, route):
    _flags(monkeypatch, *flags)
    _no_timing(monkeypatch)
    monkeypatch.setenv(R_.ROUTE_ENV, env)
    assert R_.cpu_route("fp32", "cosine", LARGE) == route
    if env.strip().lower() == "certified":  # also for small problems: an override is an override
        assert R_.cpu_route("fp32", "cosine", SCIFACT) == "certified"


@pytest.mark.parametrize("env", ["fp32", "certified", "torch"])
def test_env_var_leaves_explicit_precisions_and_euclidean_alone(monkeypatch, env):
    monkeypatch.setenv(R_.ROUTE_ENV, env)
    assert R_.cpu_route("bf16", "cosine", LARGE) == "bf16"
    assert R_.cpu_route("fp16", "cosine", LARGE) == "torch"
    assert R_.cpu_route("fp32", "euclidean", LARGE) == ("torch" if env == "torch" else "fp32")


def test_invalid_env_value_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(R_.ROUTE_ENV, "fastest")
    with pytest.raises(ValueError, match=r"GRAPHNEG_CPU_ROUTE='fastest' is not one of auto, certified"):
        R_.cpu_route("fp32", "cosine", LARGE)
    X = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    with pytest.raises(ValueError, match="GRAPHNEG_CPU_ROUTE"):
        gn.knn_search(X, 3)
    with pytest.raises(ValueError, match="GRAPHNEG_CPU_ROUTE"):
        gn.mine_hard_negatives(X[:5], X, np.arange(5))


def test_measure_times_once_and_caches_on_disk(monkeypatch, tmp_path):
    monkeypatch.setenv(R_.ROUTE_ENV, "measure")
    monkeypatch.setenv("GRAPHNEG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(R_, "bf16_speedup", lambda: 1.9)
    monkeypatch.setattr(R_, "fastest_cpu_gemm", lambda: "numpy")
    _flags(monkeypatch, "avx2")  # the measurement, not the flags, decides
    assert R_.cpu_route("fp32", "cosine", LARGE) == "certified"
    cache = json.loads((tmp_path / "cpu_route.json").read_text())
    assert list(cache.values()) == [{"bf16": True, "plain": "fp32"}]
    _no_timing(monkeypatch)  # a later process reads the file
    assert R_.cpu_route("fp32", "cosine", LARGE) == "certified"
    assert R_.cpu_route("fp32", "cosine", SCIFACT) == "fp32"  # the size rule still applies
    assert R_.cpu_route("fp32", "euclidean", LARGE) == "fp32"


def test_measure_without_a_writable_cache_still_answers(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(R_.ROUTE_ENV, "measure")
    monkeypatch.setenv("GRAPHNEG_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    monkeypatch.setattr(R_, "bf16_speedup", lambda: 0.2)
    monkeypatch.setattr(R_, "fastest_cpu_gemm", lambda: "torch")
    assert R_.cpu_route("fp32", "cosine", LARGE) == "torch"


def _tiny_tiles(monkeypatch) -> None:
    monkeypatch.setattr(S_, "TILE_ROWS", 64)
    monkeypatch.setattr(S_, "TILE_COLS", 256)


def _tied_data(seed: int, n: int = 900, d: int = 24) -> np.ndarray:
    """Near-ties (pairs 1e-3 apart) and exact ties (runs of identical rows, as a query
    repeated once per positive in B3's pair graph) straddling every rank cut."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[n // 2 :] = X[: n // 2] + 1e-3 * rng.normal(size=(n - n // 2, d)).astype(np.float32)
    X[rng.choice(n, 120, replace=False)] = X[3]
    X[rng.choice(n, 40, replace=False)] = X[10]
    return X


@pytest.mark.parametrize("metric", ["cosine", "ip", "euclidean"])
@pytest.mark.parametrize("skip", [0, 5])
def test_knn_results_do_not_depend_on_the_route(monkeypatch, metric, skip):
    _tiny_tiles(monkeypatch)
    X = _tied_data(7)
    out = {}
    for route in ("fp32", "certified", "torch"):
        monkeypatch.setenv(R_.ROUTE_ENV, route)
        out[route] = (
            gn.knn_search(X, 9, skip=skip, metric=metric),
            gn.knn_search(X[:300], 7, targets=X[::2], metric=metric),
        )
    S = X.astype(np.float64) @ X.astype(np.float64).T
    if metric == "cosine":
        norms = np.linalg.norm(X.astype(np.float64), axis=1)
        S /= np.outer(norms, norms)
    elif metric == "euclidean":
        sq = (X.astype(np.float64) ** 2).sum(1)
        S = -np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * S, 0))
    np.fill_diagonal(S, -np.inf)
    best = -np.sort(-S, axis=1)[:, skip : skip + 9]
    (idx, _), _ = out["fp32"]
    # the exact ranks skip..skip+8, up to float32 rounding of near-tied scores
    assert np.allclose(np.take_along_axis(S, idx, 1), best, atol=1e-5)
    # one canonical order: every route returns the same ids and the same bits
    for route in ("certified", "torch"):
        for got, ref in zip(out[route], out["fp32"], strict=True):
            assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1]), route


def test_identical_targets_come_out_in_index_order(monkeypatch):
    _tiny_tiles(monkeypatch)
    X = _tied_data(3)
    twins = np.flatnonzero((X == X[3]).all(axis=1))
    for route in ("fp32", "certified", "torch"):
        monkeypatch.setenv(R_.ROUTE_ENV, route)
        idx, sims = gn.knn_search(X[[3]], 9, targets=X)
        assert idx[0].tolist() == twins[:9].tolist(), route
        assert (sims == sims[0, 0]).all()


def test_mining_results_do_not_depend_on_the_route(monkeypatch):
    _tiny_tiles(monkeypatch)
    rng = np.random.default_rng(8)
    C = _tied_data(8, 2500, 32)
    pos = rng.choice(2500, 200, replace=False)
    Q = C[pos] + 0.4 * rng.normal(size=(200, 32)).astype(np.float32)
    sel = gn.NegativeSelection(num_negatives=4, range_min=2, range_max=200, relative_margin=0.05)
    got = {}
    for route in ("fp32", "certified", "torch"):
        monkeypatch.setenv(R_.ROUTE_ENV, route)
        got[route] = gn.mine_hard_negatives(Q, C, pos, sel)
    for route in ("certified", "torch"):
        assert np.array_equal(got["fp32"].indices, got[route].indices), route
        assert np.array_equal(got["fp32"].scores, got[route].scores, equal_nan=True), route
        assert np.array_equal(got["fp32"].positive_scores, got[route].positive_scores), route


def test_torch_route_searches_uncertain_rows_again(monkeypatch):
    # 120 identical targets: the fixed candidate margin of the torch blocks cannot hold the run,
    # so those rows go back to the fp32 tiles, which keep every possible candidate
    X = _tied_data(5)
    calls = []
    real = TB.exact_rows
    monkeypatch.setattr(TB, "exact_rows", lambda *a: calls.append(a[2].size) or real(*a))
    monkeypatch.setenv(R_.ROUTE_ENV, "torch")
    idx, _ = gn.knn_search(X[[3, 4]], 30, targets=X)
    assert calls and sum(calls) >= 1
    twins = np.flatnonzero((X == X[3]).all(axis=1))
    assert idx[0].tolist() == twins[:30].tolist()


def test_cpu_fp32_route_does_not_import_torch():
    if _REAL_PLAIN() != "fp32":
        pytest.skip("numpy has no optimised BLAS here: the plain route is torch's")
    code = (
        "import sys, numpy as np, graphneg as gn\n"
        "X = np.random.default_rng(0).normal(size=(400, 16)).astype(np.float32)\n"
        "gn.knn_graph(X, 5); gn.mine_hard_negatives(X[:20], X, np.arange(20), gn.NegativeSelection(num_negatives=2))\n"
        "print('torch' in sys.modules)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != R_.ROUTE_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_on_cpu_reads_devices_without_torch():
    import torch

    assert S_.on_cpu(None) and S_.on_cpu("cpu") and S_.on_cpu("cpu:0") and S_.on_cpu(torch.device("cpu"))
    assert not S_.on_cpu("cuda") and not S_.on_cpu(0) and not S_.on_cpu(torch.device("meta"))
