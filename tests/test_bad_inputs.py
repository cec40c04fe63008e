"""A catalogue of bad and edge-case inputs across the API and the CLI.

Each API case names the call, the exception type and a pattern its one-line message must match
(the parameter, file or position it names). Each CLI case names the arguments and checks a
non-zero exit, one error line on stderr and no traceback. Documented degradations (warnings
with counts) are listed with the warning they give. Behavioural cases (an input that used to be
misread: CSV edge lists, header lines, 1 vs "1", huge or tiny norms) assert the right result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg as gn
from graphneg.exceptions import GraphNegWarning

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 8)).astype(np.float32)
Q = RNG.normal(size=(5, 8)).astype(np.float32)
G = gn.knn_graph(X, 5)
LABELS = np.repeat(np.arange(6), 10)
POS = np.arange(5)


def _lg() -> gn.LinkGraph:
    names = [f"p{i}" for i in range(30)]  # a ring with chords: enough candidates for any strategy
    return gn.LinkGraph.from_edges(names + names[:10], names[1:] + names[:1] + names[15:25])


def _write(tmp: Path, name: str, data: bytes | str) -> Path:
    p = tmp / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


# (id, call, exception type, message pattern)
API_CASES: list[tuple[str, Callable[[], Any], type[BaseException], str]] = [
    # -- kNN graph -----------------------------------------------------------------------------
    ("knn-1d", lambda: gn.knn_graph(X[0], 3), ValueError, "X"),
    ("knn-k-too-large", lambda: gn.knn_graph(X, 60), ValueError, "k"),
    ("knn-k-zero", lambda: gn.knn_graph(X, 0), ValueError, "k"),
    ("knn-k-str", lambda: gn.knn_graph(X, "3"), TypeError, "k"),
    ("knn-nan", lambda: gn.knn_graph(np.where(np.eye(60, 8) > 0, np.nan, X), 3), ValueError, "X"),
    ("knn-metric", lambda: gn.knn_graph(X, 3, metric="manhattan"), ValueError, "metric"),
    ("knn-backend", lambda: gn.knn_graph(X, 3, backend="annoy"), ValueError, "backend"),
    ("knn-skip-negative", lambda: gn.knn_graph(X, 3, skip=-1), ValueError, "skip"),
    ("knn-targets-dim", lambda: gn.knn_search(Q, 3, targets=X[:, :4]), ValueError, "targets|dim"),
    ("knn-zero-row-cosine", lambda: gn.knn_graph(np.vstack([X, np.zeros((1, 8), np.float32)]), 3),
     ValueError, "zero"),
    ("knn-empty", lambda: gn.knn_graph(np.zeros((0, 8), np.float32), 3), ValueError, "X"),
    ("symmetrize-mode", lambda: gn.symmetrize(G, "both"), ValueError, "mode"),
    ("symmetrize-not-square", lambda: gn.symmetrize(sp.csr_array((3, 4))), ValueError, "square"),
    ("symmetrize-dense-list", lambda: gn.symmetrize([[0, 1], [1, 0]]), TypeError, "sparse"),
    # -- communities -------------------------------------------------------------------------------
    ("communities-no-method-argument", lambda: gn.communities(G, "spectral"), TypeError, "positional"),
    ("communities-resolution", lambda: gn.leiden_communities(G, resolution=-1.0), ValueError, "resolution"),
    ("communities-inf-weight", lambda: gn.communities(sp.csr_array(np.array([[0, np.inf], [np.inf, 0]]))),
     ValueError, "non-finite"),
    ("communities-metis-option-on-leiden", lambda: gn.leiden_communities(G, num_parts=3), TypeError,
     "num_parts"),
    ("communities-cluster-size-zero", lambda: gn.communities(G, cluster_size=0), ValueError, "cluster_size"),
    ("exact-size-labels-length", lambda: gn.exact_size(G, LABELS[:10], 5), ValueError, "labels"),
    # -- labels --------------------------------------------------------------------------------------
    ("labels-mixed-1-and-str-1", lambda: gn.packed_batches(np.array([1, "1", 2, 2], dtype=object), 2),
     (TypeError, ValueError), "labels"),
    ("labels-none", lambda: gn.packed_batches(np.array([1, None, 2, 2], dtype=object), 2),
     (TypeError, ValueError), "labels"),
    ("labels-nan", lambda: gn.packed_batches(np.array([0.0, np.nan, 1.0]), 2), ValueError, "labels"),
    ("labels-2d", lambda: gn.packed_batches(LABELS.reshape(6, 10), 4), ValueError, "labels"),
    ("labels-negative", lambda: gn.packed_batches(LABELS - 1, 4), ValueError, "labels"),
    # -- batches -------------------------------------------------------------------------------------
    ("cluster-batches-not-multiple", lambda: gn.cluster_batches(LABELS, 15), ValueError, "batch_size"),
    ("batches-size-zero", lambda: gn.random_batches(10, 0), ValueError, "batch_size"),
    ("batches-mix-random", lambda: gn.packed_batches(LABELS, 8, mix_random=1.5), ValueError, "mix_random"),
    ("batches-seed-float", lambda: gn.random_batches(10, 2, seed=0.5), TypeError, "seed"),
    ("batch-stats-embeddings-rows", lambda: gn.batch_stats([np.arange(2)], embeddings=X[:3], labels=LABELS),
     ValueError, "labels|embeddings"),
    ("batch-stats-out-of-range", lambda: gn.batch_stats([np.array([0, 99])], embeddings=X), ValueError,
     "batch|99"),
    # -- samplers ------------------------------------------------------------------------------------
    ("sampler-rank", lambda: gn.CommunityBatchSampler(LABELS, 10, num_replicas=2, rank=2), ValueError, "rank"),
    ("sampler-empty-epoch", lambda: len(gn.CommunityBatchSampler(LABELS[:10], 30, drop_last=True)),
     ValueError, "batch|drop_last"),
    ("sampler-packing", lambda: gn.CommunityBatchSampler(LABELS, 10, packing="greedy"), ValueError, "packing"),
    ("topic-sampler-empty-epoch", lambda: len(gn.TopicBatchSampler(LABELS[:10], 30, drop_last=True)),
     ValueError, "batch|drop_last"),
    # -- mined negatives -----------------------------------------------------------------------------
    ("mine-positives-length", lambda: gn.mine_hard_negatives(Q, X, POS[:3]), ValueError, "positives"),
    ("mine-positives-range", lambda: gn.mine_hard_negatives(Q, X, POS + 100), ValueError, "positives|index"),
    ("mine-positives-shape", lambda: gn.mine_hard_negatives(Q, X, sp.csr_array((5, 10))), ValueError,
     "positives"),
    ("mine-range", lambda: gn.NegativeSelection(range_min=10, range_max=5), ValueError, "range"),
    ("mine-sampling", lambda: gn.NegativeSelection(sampling="best"), ValueError, "sampling"),
    ("mine-num-negatives", lambda: gn.NegativeSelection(num_negatives=0), ValueError,
     "num_negatives"),
    ("mine-dims", lambda: gn.mine_hard_negatives(Q[:, :4], X, POS), ValueError, "dim|queries|corpus"),
    ("mine-nan", lambda: gn.mine_hard_negatives(np.full((5, 8), np.nan, np.float32), X, POS), ValueError,
     "queries"),
    # -- link data -----------------------------------------------------------------------------------
    ("link-negatives-ppr-alpha", lambda: gn.ppr_link_negatives(_lg(), alpha=-1.0), ValueError, "alpha"),
    ("link-negatives-sources", lambda: gn.uniform_link_negatives(_lg(), [0, 99]), ValueError, "sources"),
    ("linkgraph-none-id", lambda: gn.LinkGraph.from_edges(["a"], [None]), (TypeError, ValueError), "id"),
    ("linkgraph-nan-id", lambda: gn.LinkGraph.from_edges(np.array(["a", "b"], dtype=object), np.array([1.0, np.nan])),
     (TypeError, ValueError), "id"),
    ("linkgraph-bool-id", lambda: gn.LinkGraph.from_edges(["a"], [True]), (TypeError, ValueError), "id"),
    ("linkgraph-not-square", lambda: gn.LinkGraph(sp.csr_array((3, 4))), ValueError, "square"),
    ("link-split-fractions", lambda: gn.link_split(_lg(), val=0.6, test=0.5), ValueError, "val|test"),
    ("graph-embedding-dim", lambda: gn.graph_embedding(_lg(), 40), ValueError, "dim"),
    # -- masks and loss ------------------------------------------------------------------------------
    ("mask-top-p-without-graph", lambda: gn.false_negative_mask([0, 1], [2, 3], top_p=2), ValueError,
     "rank_graph"),
    ("loss-dims", lambda: gn.masked_info_nce(_t(2, 4), _t(2, 3)), ValueError, "dimension"),
    ("loss-mask-dtype", lambda: gn.masked_info_nce(_t(2, 4), _t(2, 4), np.zeros((2, 2), np.int64)), TypeError,
     "mask"),
    # -- files ---------------------------------------------------------------------------------------
    ("read-missing-file", lambda: gn.read_edge_list("/nonexistent/edges.tsv"), FileNotFoundError, "edges.tsv"),
    ("read-format", lambda: gn.read_citations("x.tsv", format="graphml"), ValueError, "format"),
    ("load-graph-corpus-missing", lambda: gn.load_graph_corpus("/nonexistent/corpus"), FileNotFoundError,
     "corpus"),
]


def _t(b: int, d: int) -> Any:
    import torch

    return torch.ones(b, d)


@pytest.mark.parametrize(("call", "exc", "pattern"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_api_rejects(call: Callable[[], Any], exc: Any, pattern: str) -> None:
    with pytest.raises(exc, match=pattern) as info:
        call()
    message = str(info.value)
    assert "\n" not in message.strip(), f"error message is not one line: {message!r}"


# -- files that must fail with a message naming the file (and line in strict mode) ----------------
FILE_CASES = [
    ("empty", "edges.tsv", b"", "edges.tsv"),
    ("only-comments", "edges.tsv", b"# nothing here\n", "edges.tsv"),
    ("binary", "edges.tsv", bytes(range(256)) * 4, "edges.tsv"),
    ("one-column", "edges.csv", b"1\n2\n3\n", "edges.csv"),
]


@pytest.mark.parametrize(("name", "data", "pattern"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_edge_list_without_records_is_an_error(tmp_path: Path, name: str, data: bytes, pattern: str) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(ValueError, match=pattern), _ignore_skip_warnings():
        gn.read_edge_list(path)


def test_strict_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "edges.tsv", "1\t2\n2\t3\nonly-one-field\n")
    with pytest.raises(ValueError, match=r"edges\.tsv:3"):
        gn.read_edge_list(path, strict=True)


class _ignore_skip_warnings:
    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", GraphNegWarning)

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


# -- inputs that used to be misread: the right result now ----------------------------------------
def _edges(data: Any) -> set[tuple[str, str]]:
    g = data.graph
    ids = np.asarray(g.ids, dtype=object)
    src, dst = g.adjacency.nonzero()
    return {(str(ids[s]), str(ids[t])) for s, t in zip(src, dst, strict=True)}


def test_csv_edge_list_reads_its_edges(tmp_path: Path) -> None:
    path = _write(tmp_path, "edges.csv", "1,2\n2,3\n3,1\n")
    assert _edges(gn.read_edge_list(path)) == {("1", "2"), ("2", "3"), ("3", "1")}


def test_tsv_header_line_is_not_an_edge(tmp_path: Path) -> None:
    path = _write(tmp_path, "cites.tsv", "citing\tcited\n10\t20\n20\t30\n")
    data = gn.read_edge_list(path, header="auto")
    assert _edges(data) == {("10", "20"), ("20", "30")}
    assert "citing" not in set(map(str, data.graph.ids))


def test_read_citations_auto_detects_header_and_comma(tmp_path: Path) -> None:
    path = _write(tmp_path, "edges.csv", "source,target\na,b\nb,c\n")
    assert _edges(gn.read_citations(path)) == {("a", "b"), ("b", "c")}


def test_int_and_str_ids_are_one_node() -> None:
    g = gn.LinkGraph.from_edges([1, "1"], [2, "3"])
    assert g.num_nodes == 3 and sorted(map(str, g.ids)) == ["1", "2", "3"]


def test_huge_norms_rank_like_scaled_rows() -> None:
    big = X.astype(np.float64) * 1e25
    idx_big, sim_big = gn.knn_search(big, 5)
    idx, sim = gn.knn_search(X, 5)
    assert np.array_equal(idx_big, idx)
    assert np.allclose(sim_big, sim, atol=1e-4)


def test_tiny_norms_rank_by_cosine() -> None:
    tiny = X.astype(np.float64) * 1e-30
    idx_tiny, sim_tiny = gn.knn_search(tiny, 5)
    idx, _ = gn.knn_search(X, 5)
    assert np.array_equal(idx_tiny, idx)
    assert np.all(np.abs(sim_tiny) <= 1.0 + 1e-5)


def test_batch_stats_huge_norms_finite() -> None:
    batches = gn.random_batches(60, 10)
    ref = gn.batch_stats(batches, embeddings=X)
    big = gn.batch_stats(batches, embeddings=X.astype(np.float64) * 1e25)
    assert np.isclose(big["mean_cosine"], ref["mean_cosine"], atol=1e-4) if "mean_cosine" in ref else True
    assert all(np.isfinite(v) for v in big.values() if isinstance(v, float))


def test_mining_huge_norms_like_scaled() -> None:
    a = gn.mine_hard_negatives(Q, X, POS, gn.NegativeSelection(num_negatives=3))
    b = gn.mine_hard_negatives(Q * 1e25, X * 1e25, POS, gn.NegativeSelection(num_negatives=3))
    assert np.array_equal(a.indices, b.indices)


def test_sampler_drop_last_never_empties_with_auto_packing() -> None:
    labels = np.repeat(np.arange(8), 16)  # clusters of 16, batch 30: bfd would leave 16-item batches
    sampler = gn.CommunityBatchSampler(labels, 30, drop_last=True)
    batches = list(sampler)
    assert len(sampler) == len(batches) > 0
    assert sum(len(b) for b in batches) >= 0.9 * labels.size


def test_sampler_warns_when_dropping_many_items() -> None:
    # ten clusters of 16 and two of 14, batches of 30, best-fit packing: two full batches (16 + 14),
    # eight lone clusters of 16 dropped: an avoidable loss of 128 of 188 items must warn
    labels = np.repeat(np.arange(12), [16] * 10 + [14] * 2)
    with pytest.warns(GraphNegWarning, match="drop"):
        sampler = gn.CommunityBatchSampler(labels, 30, packing="bfd", drop_last=True)
        assert len(list(sampler)) == len(sampler) == 2


# -- CLI ------------------------------------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphneg", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _edges_file(tmp: Path, name: str = "in.tsv") -> Path:
    return _write(tmp, name, "".join(f"{i}\t{(i * 7 + 1) % 40}\n{i}\t{(i * 3 + 2) % 40}\n" for i in range(40)))


CLI_CASES: list[tuple[str, Callable[[Path], list[str]]]] = [
    ("batches-1d-npy", lambda t: ["batches", "--embeddings", str(_npy(t, np.ones(5))), "-o", str(t / "b.jsonl")]),
    ("batches-missing-npy", lambda t: ["batches", "--embeddings", str(t / "nope.npy"), "-o", str(t / "b.jsonl")]),
    ("batches-output-dir-missing", lambda t: ["batches", "-o", str(t / "no" / "such" / "b.jsonl")]),
    ("batches-output-is-dir", lambda t: ["batches", "-o", str(t)]),
    ("batches-drop-last-empties", lambda t: ["batches", "--embeddings", str(_npy(t, X[:8])), "-k", "3",
                                             "--batch-size", "64", "--drop-last", "-o", str(t / "b.jsonl")]),
    ("citations-output-is-input", lambda t: ["citations", str(_edges_file(t)), "-o", str(t / "in.tsv")]),
    ("citations-output-is-dir", lambda t: ["citations", str(_edges_file(t)), "-o", str(t)]),
    ("citations-output-parent-missing", lambda t: ["citations", str(_edges_file(t)), "-o", str(t / "x" / "o.jsonl")]),
    ("citations-empty-input", lambda t: ["citations", str(_write(t, "e.tsv", b"")), "-o", str(t / "o.jsonl")]),
    ("citations-binary-input", lambda t: ["citations", str(_write(t, "e.tsv", bytes(range(256)) * 8)), "-o",
                                          str(t / "o.jsonl")]),
    ("citations-missing-input", lambda t: ["citations", str(t / "nope.tsv"), "-o", str(t / "o.jsonl")]),
    ("stats-missing-file", lambda t: ["stats", str(t / "nope.jsonl")]),
    ("unknown-command", lambda t: ["frobnicate"]),
]


def _npy(tmp: Path, arr: np.ndarray) -> Path:
    path = tmp / f"x{arr.ndim}_{arr.shape[0]}.npy"
    np.save(path, arr)
    return path


@pytest.mark.parametrize("make_args", [c[1] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_fails_cleanly(tmp_path: Path, make_args: Callable[[Path], list[str]]) -> None:
    args = make_args(tmp_path)  # writes the inputs
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    proc = _cli(*args, cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert errors, proc.stderr
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert {p: m for p, m in after.items() if p in before} == before, "an existing file was modified"
    assert not [p for p in after if p not in before], f"files left behind: {set(after) - set(before)}"


def test_cli_csv_edge_list_gives_records(tmp_path: Path) -> None:
    src = _write(tmp_path, "e.csv", "".join(f"{i},{(i * 7 + 1) % 30}\n{i},{(i * 3 + 2) % 30}\n" for i in range(30)))
    proc = _cli("citations", str(src), "-o", str(tmp_path / "o.jsonl"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sum(1 for _ in open(tmp_path / "o.jsonl")) > 0


# -- issue 23: complex input is refused with a clear error, not numpy's ComplexWarning ------------
def test_complex_input_is_refused_in_the_public_checks():
    import warnings

    import numpy as np
    import scipy.sparse as sp

    import graphneg as gn

    X = np.ones((20, 4), dtype=complex)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would fail here
        for call, name in [
            (lambda: gn.knn_graph(X, 3), "`X`"),
            (lambda: gn.batch_stats([[0, 1]], embeddings=X[:2]), "`embeddings`"),
            (lambda: gn.communities(sp.csr_array(np.eye(3, k=1) * (1 + 1j))), "`graph`"),
            (lambda: gn.batch_stats([[0, 1]], labels=np.array([1 + 0j, 2 + 0j])), "`labels`"),
        ]:
            with pytest.raises(TypeError, match=f"{name} must hold real numbers, got complex dtype"):
                call()
