"""The device path of the sharded kNN graph and mining (``device=``) equals the single process.

There is no GPU here, so the torch device path runs on ``torch.device("cpu")``: the private
switch ``graphneg.distributed._circulate._TORCH_ON_CPU`` makes a CPU device take it (the public
default sends CPU devices to the faster CPU tiles). Everything else is the GPU path: query
rows moved once, one torch matmul per row chunk, the self-exclusion set to ``-inf`` on the
device scores, ``topk`` with a margin, the canonical finish on the CPU. Results must equal
``graphneg.knn_graph`` / ``graphneg.mine_hard_negatives`` exactly (indices and values), also
on data with 100 copies of one row, where the uncertain-row path (re-search on the CPU tiles)
runs. The same on CUDA: ``tests/test_gpu.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ddp_harness import run_group  # noqa: E402

import graphneg as gn  # noqa: E402
from graphneg._search import _torch_blocks  # noqa: E402
from graphneg.distributed import _circulate, assemble_graph, assemble_negatives  # noqa: E402
from graphneg.distributed import knn_graph as sharded_knn  # noqa: E402
from graphneg.distributed import mine_hard_negatives as sharded_mining  # noqa: E402

N_QUERIES = 60

KNN_CASES = [
    ("cosine", dict(k=7)),
    ("cosine-skip-blocks", dict(k=5, options=dict(skip=3, block_rows=37))),
    ("ip-uneven", dict(k=4, uneven=True, options=dict(metric="ip", skip=1, block_rows=64))),
    ("targets", dict(k=9, targets=True, options=dict(block_rows=41))),
]
MINING_CASES = [
    ("top", dict(selection=gn.NegativeSelection(num_negatives=4))),
    ("margin-window-blocks", dict(selection=gn.NegativeSelection(num_negatives=3, range_min=2, relative_margin=0.05),
                                  block_rows=29)),
    ("random", dict(selection=gn.NegativeSelection(num_negatives=3, sampling="random", seed=5, range_max=20),
                    block_rows=50)),
]


def with_duplicates(rng: np.random.Generator, n: int, copies: int, dim: int) -> np.ndarray:
    """Gaussian rows plus ``copies`` exact copies of the first, shuffled (exact ties at the cuts)."""
    X = rng.normal(size=(n, dim)).astype(np.float32)
    X = np.concatenate([X, np.repeat(X[:1], copies, axis=0)])
    return np.concatenate([X[:1], X[1 + rng.permutation(X.shape[0] - 1)]])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(3)
    root = tmp_path_factory.mktemp("sharded_device")
    X = with_duplicates(rng, 150, 100, 16)  # 250 items, 101 of them identical
    T = with_duplicates(rng, 60, 40, 16)
    Q = (X[:N_QUERIES] + 0.3 * rng.normal(size=(N_QUERIES, 16))).astype(np.float32)
    Q[:10] = X[0]  # queries equal to 101 corpus items
    positives = [sorted({i, *rng.choice(X.shape[0], i % 3, replace=False).tolist()}) for i in range(N_QUERIES)]
    for name, array in (("X", X), ("T", T), ("Q", Q)):
        np.save(root / f"{name}.npy", array)
    cases = []
    for _, spec in KNN_CASES:
        case = {"kind": "knn", "path": str(root / "X.npy"), **spec}
        case["options"] = {**spec.get("options", {}), "device": "cpu"}
        if spec.get("targets"):
            case["targets"] = str(root / "T.npy")
        cases.append(case)
    for _, options in MINING_CASES:
        cases.append({"kind": "mining", "queries": str(root / "Q.npy"), "corpus": str(root / "X.npy"),
                      "positives": positives, "options": {**options, "device": "cpu"}})
    return X, T, Q, positives, cases


def expected_knn(X, T, case):
    options = {k: v for k, v in case.get("options", {}).items() if k not in ("block_rows", "device")}
    return gn.knn_graph(X, case["k"], targets=T if case.get("targets") else None, **options)


def expected_mining(Q, X, positives, options):
    options = {k: v for k, v in options.items() if k not in ("block_rows", "device")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        return gn.mine_hard_negatives(Q, X, positives, **options)


def assert_same_graph(G, expected):
    assert G.shape == expected.shape
    np.testing.assert_array_equal(G.indptr, expected.indptr)
    np.testing.assert_array_equal(G.indices, expected.indices)
    np.testing.assert_array_equal(G.data, expected.data)  # bit for bit


def assert_same_negatives(got, expected):
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.scores, expected.scores)
    np.testing.assert_array_equal(got.positive_scores, expected.positive_scores)
    assert got.num_short == expected.num_short and got.skipped == expected.skipped


def run_device_cases(rank: int, world_size: int, cases: list) -> tuple[list, str, int]:
    """Worker: the cases on the torch path on the CPU (counting its block scorings), then an
    invalid device on rank 1 only."""
    import ddp_sharded

    _circulate._TORCH_ON_CPU = True  # this rank's process only
    score, calls = _circulate.DeviceScorer.__call__, []

    def counting_score(self, *args, **kwargs):
        calls.append(1)
        return score(self, *args, **kwargs)

    _circulate.DeviceScorer.__call__ = counting_score
    results = ddp_sharded.run_cases(rank, world_size, cases)
    X = np.random.default_rng(rank).normal(size=(20, 4)).astype(np.float32)
    try:
        sharded_knn(X, 3, device="gpu0" if rank == 1 else None)
    except ValueError as err:
        return results, str(err), len(calls)
    return results, "no error", len(calls)


@pytest.fixture
def torch_on_cpu(monkeypatch):
    """The device path on ``torch.device('cpu')``, counting its scorer calls and re-searched rows."""
    monkeypatch.setattr(_circulate, "_TORCH_ON_CPU", True)
    counts = {"blocks": 0, "unsure_rows": 0}
    score, exact_rows = _circulate.DeviceScorer.__call__, _torch_blocks.exact_rows

    def counting_score(self, *args, **kwargs):
        counts["blocks"] += 1
        return score(self, *args, **kwargs)

    def counting_exact_rows(X, T, rows, *args, **kwargs):
        counts["unsure_rows"] += len(rows)
        return exact_rows(X, T, rows, *args, **kwargs)

    monkeypatch.setattr(_circulate.DeviceScorer, "__call__", counting_score)
    monkeypatch.setattr(_torch_blocks, "exact_rows", counting_exact_rows)
    return counts


@pytest.mark.parametrize("index", range(len(KNN_CASES)), ids=[name for name, _ in KNN_CASES])
def test_world_of_one_knn_on_device_path(data, torch_on_cpu, index):
    X, T, _, _, cases = data
    case = cases[index]
    G = sharded_knn(X, case["k"], targets_shard=T if case.get("targets") else None, **case["options"])
    assert_same_graph(G, expected_knn(X, T, case))
    assert torch_on_cpu["blocks"] > 0
    if not case.get("targets"):  # the own shard whole: the copies tie at the cut, re-searched
        assert torch_on_cpu["unsure_rows"] > 0


@pytest.mark.parametrize("index", range(len(MINING_CASES)), ids=[name for name, _ in MINING_CASES])
def test_world_of_one_mining_on_device_path(data, torch_on_cpu, index):
    X, _, Q, positives, cases = data
    options = cases[len(KNN_CASES) + index]["options"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        got = sharded_mining(Q, X, positives, **options)
    assert_same_negatives(got, expected_mining(Q, X, positives, options))
    assert torch_on_cpu["blocks"] > 0
    if "block_rows" not in options:  # all 101 copies in one block: ties at the cut, re-searched
        assert torch_on_cpu["unsure_rows"] > 0


def test_device_path_chunks_rows(data, torch_on_cpu, monkeypatch):
    """Several row chunks per block (a 4 KiB score budget: 4 rows per chunk of 250 targets)."""
    X, T, _, _, cases = data
    monkeypatch.setattr(_circulate, "SCORE_BYTES", 4 * 4 * X.shape[0])
    assert_same_graph(sharded_knn(X, 7, device="cpu"), expected_knn(X, T, cases[0]))
    assert torch_on_cpu["blocks"] == 1


def test_two_ranks_on_device_path_equal_single_process(data):
    X, T, Q, positives, cases = data
    results = run_group("test_sharded_device.run_device_cases", 2, cases)
    for index, case in enumerate(cases[: len(KNN_CASES)]):
        assert_same_graph(assemble_graph([r[0][index] for r in results]), expected_knn(X, T, case))
    for index, case in enumerate(cases[len(KNN_CASES) :], start=len(KNN_CASES)):
        got = assemble_negatives([r[0][index] for r in results])
        assert_same_negatives(got, expected_mining(Q, X, positives, case["options"]))
    assert all(r[2] >= len(cases) for r in results)  # every case scored on the device path
    messages = [r[1] for r in results]  # an invalid device on rank 1 raises on both ranks
    assert "'gpu0'" in messages[1] and "`device`" in messages[1]
    assert messages[0].startswith("rank 1 rejected its input") and "'gpu0'" in messages[0]


@pytest.mark.parametrize("device", ["gpu0", "cuda:x", "", 3.5, "auto:1"])
def test_invalid_device_is_one_clear_error(device):
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"`device` must be None, 'auto' or a torch device") as info:
        sharded_knn(X, 3, device=device)
    assert repr(device) in str(info.value)
    with pytest.raises(ValueError, match=r"`device` must be None"):
        sharded_mining(X[:5], X, np.arange(5), device=device)


def test_cpu_and_auto_without_cuda_take_the_tiles(data, monkeypatch):
    X, T, _, _, cases = data
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def no_device_path(*args, **kwargs):
        raise AssertionError("the device path ran")

    monkeypatch.setattr(_circulate.DeviceScorer, "__init__", no_device_path)
    for device in ("auto", "AUTO", "cpu", torch.device("cpu"), None):
        assert _circulate.resolve_device(device) is None
        assert_same_graph(sharded_knn(X, 7, device=device), expected_knn(X, T, cases[0]))


def test_auto_with_cuda_is_the_local_rank_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    try:  # no second GPU here: the error names the device 'auto' stood for
        assert _circulate.resolve_device("auto") == torch.device("cuda:1")
    except ValueError as err:
        assert "'auto'" in str(err) and "'cuda:1'" in str(err)
    monkeypatch.setenv("LOCAL_RANK", "x")
    with pytest.raises(ValueError, match="LOCAL_RANK='x'"):
        _circulate.resolve_device("auto")
