"""Worker of the sharded kNN-graph and mining tests: each rank loads its shard and computes."""

from __future__ import annotations

from typing import Any

import numpy as np


def bounds(n: int, world_size: int, rank: int, uneven: bool) -> tuple[int, int]:
    """Rows of rank ``rank``: balanced, or (``uneven``) shards of very different sizes."""
    from graphneg.distributed import shard_rows

    if not uneven:
        return shard_rows(n, world_size, rank)
    weights = np.arange(1, world_size + 1) ** 2
    edges = (np.concatenate([[0], np.cumsum(weights)]) / weights.sum() * n).astype(int)
    return int(edges[rank]), int(edges[rank + 1])


def knn_case(rank: int, world_size: int, case: dict[str, Any]) -> Any:
    """This rank's graph rows for one case (embeddings memory-mapped from ``case['path']``)."""
    from graphneg.distributed import knn_graph

    X = np.load(case["path"], mmap_mode="r")
    a, b = bounds(X.shape[0], world_size, rank, case.get("uneven", False))
    T = None
    if case.get("targets"):
        T = np.load(case["targets"], mmap_mode="r")
        c, d = bounds(T.shape[0], world_size, rank, False)
        T = T[c:d]
    return knn_graph(X[a:b], case["k"], targets_shard=T, **case.get("options", {}))


def mining_case(rank: int, world_size: int, case: dict[str, Any]) -> Any:
    """This rank's mined negatives for its query shard against the sharded corpus."""
    from graphneg.distributed import mine_hard_negatives

    Q = np.load(case["queries"], mmap_mode="r")
    C = np.load(case["corpus"], mmap_mode="r")
    a, b = bounds(Q.shape[0], world_size, rank, case.get("uneven", False))
    c, d = bounds(C.shape[0], world_size, rank, False)
    positives = case["positives"][a:b]
    options = dict(case.get("options", {}))
    for name in ("query_corpus_ids", "exclude"):  # per query: this rank's rows
        if name in options:
            options[name] = options[name][a:b]
    return mine_hard_negatives(Q[a:b], C[c:d], positives, **options)


def run_cases(rank: int, world_size: int, cases: list[dict[str, Any]]) -> list[Any]:
    """Every case on this rank, in order (each is a collective call)."""
    import warnings

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in cases:
            fn = knn_case if case["kind"] == "knn" else mining_case
            out.append(fn(rank, world_size, case))
    return out


def bad_shard(rank: int, world_size: int) -> str:
    """Rank 1 passes a NaN row: every rank must raise (none may wait in a collective)."""
    from graphneg.distributed import knn_graph

    X = np.random.default_rng(rank).normal(size=(20, 4)).astype(np.float32)
    if rank == 1:
        X[3, 0] = np.nan
    try:
        knn_graph(X, 3)
    except ValueError as err:
        return str(err)
    return "no error"


def two_level(rank: int, world_size: int, path: str, k: int, num_parts: int) -> Any:
    """Sharded kNN graph, then two-level communities: every rank returns all labels."""
    from graphneg.distributed import communities, knn_graph, load_shard

    X, _ = load_shard(path)
    G = knn_graph(X, k)
    return communities(X, G, num_parts=num_parts, seed=1)


def ivf_cases(rank: int, world_size: int, path: str, cases: list[dict[str, Any]]) -> list[Any]:
    """Each case's ``(negatives, inputs untouched)`` on this rank: queries and corpus shards of
    very different sizes, held in writable memory (so a write to them would go unnoticed)."""
    import warnings

    from graphneg.distributed import mine_hard_negatives

    data = np.load(path, allow_pickle=True).item()
    a, b = bounds(data["Q"].shape[0], world_size, rank, True)
    c, d = bounds(data["C"].shape[0], world_size, rank, world_size > 1)
    out = []
    for case in cases:
        Q, C, P = data["Q"][a:b].copy(), data["C"][c:d].copy(), [list(p) for p in data["P"][a:b]]
        before = (Q.copy(), C.copy(), [list(p) for p in P])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hn = mine_hard_negatives(Q, C, P, case["selection"], **case.get("options", {}))
        same = (Q == before[0]).all() and (C == before[1]).all() and P == before[2]
        out.append((hn, bool(same)))
    return out
