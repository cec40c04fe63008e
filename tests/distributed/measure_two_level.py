"""Two-level communities on a 100k-node kNN graph against single-machine Leiden.

Run by hand: ``python measure_two_level.py [N] [R] [noise]`` (500 Gaussian blobs in d = 32,
``noise`` their spread). Prints modularity and the time of each level."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

K, DIM, CENTRES = 10, 32, 500


def rank_work(rank: int, world_size: int, path: str, num_parts: int) -> dict:
    from threadpoolctl import threadpool_limits

    from graphneg.distributed import coarse_parts, communities, knn_graph, load_shard
    from graphneg.distributed._group import all_sizes

    X, _ = load_shard(path)
    with threadpool_limits(1):
        t0 = time.perf_counter()
        G = knn_graph(X, K)
        t1 = time.perf_counter()
        n = int(all_sizes(X.shape[0]).sum())
        coarse_parts(X, min(n, max(8 * num_parts, min(n // 100, 1024))), seed=1)  # level 1's k-means
        t2 = time.perf_counter()
        labels = communities(X, G, num_parts=num_parts, seed=1)
        t3 = time.perf_counter()
    return {"graph": G, "labels": labels, "knn_s": t1 - t0, "level1_s": t2 - t1, "level2_s": (t3 - t2) - (t2 - t1)}


def main(n: int, world_size: int, noise: float) -> None:
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ddp_harness import run_group

    import graphneg as gn
    from graphneg.distributed import assemble_graph

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(CENTRES, DIM))
    X = (centres[rng.integers(0, CENTRES, n)] + noise * rng.normal(size=(n, DIM))).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "X.npy")
        np.save(path, X)
        out = run_group("measure_two_level.rank_work", world_size, path, world_size, timeout=3600)
    G = assemble_graph([o["graph"] for o in out])
    t = time.perf_counter()
    single = gn.communities(G, seed=0)
    single_s = time.perf_counter() - t
    g = gn.to_igraph(G)
    q_single = g.modularity(single.tolist(), weights="weight")
    q_two = g.modularity(out[0]["labels"].tolist(), weights="weight")
    print(f"N={n} d={DIM} k={K} R={world_size} noise={noise}: kNN graph {max(o['knn_s'] for o in out):.1f} s per rank")
    print(f"single-machine Leiden: modularity {q_single:.4f}, {single_s:.1f} s, {np.unique(single).size} communities")
    print(f"two-level: modularity {q_two:.4f} ({q_two / q_single:.2%}), level 1 (micro k-means) "
          f"{max(o['level1_s'] for o in out):.1f} s, grouping + level 2 (Leiden per part, slowest rank) "
          f"{max(o['level2_s'] for o in out):.1f} s, {np.unique(out[0]['labels']).size} communities")


if __name__ == "__main__":
    args = sys.argv[1:] + [None] * 3
    main(int(args[0] or 100_000), int(args[1] or 2), float(args[2] or 0.6))
