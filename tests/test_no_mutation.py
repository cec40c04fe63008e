"""Inputs are read-only: the cross-area half of the no-mutation tests, and their coverage check.

Each area has its own file (``tests/<area>/test_*no_mutation*.py``) for the functions it owns;
this file covers the torch-facing pieces and the false-negative tools, and checks that every
public name of ``graphneg`` that takes an array or a sparse matrix is exercised by one of them.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg as gn

HERE = Path(__file__).resolve().parent

# public names that take no array or sparse matrix (paths, scalars, records) or are not callables
NO_ARRAY_INPUT = {
    "__version__", "ngame_cluster_size", "LinkNegatives", "EdgeCounts", "LinkSplit", "CitationData",
    "ConflictReport", "read_citations", "read_edge_list", "read_s2orc", "read_s2ag_citations", "read_openalex",
    "read_planetoid", "read_ogb", "abstract_from_inverted_index", "read_sentence_transformers_jsonl",
    "read_flagembedding", "read_tevatron", "load_retrieval_corpus", "load_graph_corpus", "load_demo",
    "BackendUnavailableError", "GraphNegWarning",
    # options objects (no arrays) and a file reader
    "IVF", "HNSW", "NNDescent", "Softmax", "read_batches", "SearchReport", "record_searches",
}


def noncanonical(n: int, dtype: Any, kind: str = "csr_array", seed: int = 0) -> Any:
    """A square CSR with unsorted indices, a duplicate entry and an explicit zero in every row."""
    rng = np.random.default_rng(seed)
    cols = np.stack([rng.permutation(n)[:3] for _ in range(n)])
    cols[:, 2] = cols[:, 0]  # a duplicate of the first entry
    cols = cols[:, ::-1].copy()  # unsorted
    data = rng.uniform(0.5, 2.0, size=cols.shape)
    data[:, 1] = 0  # an explicit zero
    indptr = np.arange(0, 3 * n + 1, 3)
    cls = sp.csr_array if kind == "csr_array" else sp.csr_matrix
    M = cls((data.ravel().astype(dtype), cols.ravel(), indptr), shape=(n, n))
    assert not M.has_canonical_format
    return M


def snapshot(x: Any) -> Any:
    if sp.issparse(x):
        return ("sparse", x.data.tobytes(), x.indices.tobytes(), x.indptr.tobytes(), str(x.dtype))
    if hasattr(x, "detach"):
        return ("tensor", x.detach().clone())
    return copy.deepcopy(x)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and a and a[0] == "tensor":
        return bool((a[1] == b[1]).all())
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_untouched(call: Any, *args: Any, **kwargs: Any) -> Any:
    before = [snapshot(a) for a in args], {k: snapshot(v) for k, v in kwargs.items()}
    out = call(*args, **kwargs)
    after = [snapshot(a) for a in args], {k: snapshot(v) for k, v in kwargs.items()}
    assert all(same(x, y) for x, y in zip(before[0], after[0], strict=True)), f"{call} modified an argument"
    assert all(same(before[1][k], after[1][k]) for k in kwargs), f"{call} modified a keyword argument"
    return out


DTYPES = [np.float64, np.float32, np.int64, bool]
KINDS = ["csr_array", "csr_matrix"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_walk_batches_and_sampler(dtype: Any, kind: str) -> None:
    G = noncanonical(40, dtype, kind)
    assert_untouched(gn.walk_batches, G, 8, seed=0)
    sampler = assert_untouched(gn.RandomWalkBatchSampler, G, 8, seed=0)
    before = snapshot(G)
    list(sampler)
    sampler.set_epoch(1)
    list(sampler)
    assert same(before, snapshot(G))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_conflicts(dtype: Any, kind: str) -> None:
    rng = np.random.default_rng(1)
    known = noncanonical(40, dtype, kind, seed=2)
    graph = noncanonical(40, dtype, kind, seed=3)
    q, p = rng.integers(0, 40, 32), rng.integers(0, 40, 32)
    batches = [np.arange(i, i + 8) for i in range(0, 32, 8)]
    with _maybe_warns():
        assert_untouched(gn.conflict_free_batches, batches, q, p, known, graph=graph)
    assert_untouched(gn.batch_conflicts, batches, q, p, known, graph=graph)


class _maybe_warns:
    """Unresolvable conflicts warn (documented); the warning is not what this file tests."""

    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", gn.GraphNegWarning)

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_false_negative_masks(dtype: Any, kind: str) -> None:
    rng = np.random.default_rng(4)
    known = noncanonical(40, dtype, kind, seed=5)
    graph = noncanonical(40, dtype, kind, seed=6)
    q, c = np.arange(6), rng.integers(0, 40, 12)
    c[:6] = rng.integers(0, 40, 6)
    assert_untouched(gn.known_positive_mask, q, c, known)
    assert_untouched(gn.khop_mask, q, c, graph, hops=2)
    assert_untouched(gn.cluster_mask, rng.integers(0, 3, 6), rng.integers(0, 3, 12))
    scores = rng.normal(size=(6, 12))
    assert_untouched(gn.score_threshold_mask, scores, margin=0.1, fraction=0.95)


@pytest.mark.parametrize("dtype", DTYPES)
def test_samplers_and_collator(dtype: Any) -> None:
    import torch

    labels = np.repeat(np.arange(6), 10)
    for cls in (gn.CommunityBatchSampler, gn.TopicBatchSampler):
        s = assert_untouched(cls, labels, 10, seed=0)
        list(s)
        s.refresh(labels[::-1].copy())
    list(assert_untouched(gn.RandomBatchSampler, np.arange(60), 10))
    spec = {"query_items": np.arange(60) % 40, "positive_items": (np.arange(60) * 7) % 40,
            "known_positives": noncanonical(40, dtype, seed=8), "graph": noncanonical(40, dtype, seed=9)}
    kept_spec = {k: snapshot(v) for k, v in spec.items()}
    for cls in (gn.CommunityBatchSampler, gn.TopicBatchSampler):
        with _maybe_warns():
            s = assert_untouched(lambda lab, size, c=cls: c(lab, size, seed=0, conflicts=spec), labels, 10)
            list(s)
            s.set_epoch(1)
            list(s)
    assert all(same(kept_spec[k], snapshot(v)) for k, v in spec.items()), "conflicts= was modified"
    known = noncanonical(40, dtype)
    rank_graph = noncanonical(40, dtype, seed=7)
    coll = assert_untouched(gn.FalseNegativeCollator, ("q", "p", "n"), known_positives=known,
                            rank_graph=rank_graph, top_p=2)
    items = [{"q": i, "p": 10 + i, "n": np.array([20 + i])} for i in range(4)]
    kept = copy.deepcopy(items)
    coll(items)
    assert all(same(a["n"], b["n"]) and a["q"] == b["q"] for a, b in zip(items, kept, strict=True))
    g = torch.Generator().manual_seed(0)
    qe, ce = torch.randn(4, 8, generator=g), torch.randn(8, 8, generator=g)
    mask = torch.zeros(4, 8, dtype=torch.bool)
    assert_untouched(gn.masked_info_nce, qe, ce, mask)
    assert_untouched(gn.guide_mask, qe, ce, margin=0.1)


def test_every_public_array_function_is_covered() -> None:
    sources = "\n".join(p.read_text() for p in HERE.rglob("test_*no_mutation*.py"))
    missing = [n for n in gn.__all__ if n not in NO_ARRAY_INPUT and not re.search(rf"\b{n}\b", sources)]
    assert not missing, f"public functions without a no-mutation test: {missing}"
