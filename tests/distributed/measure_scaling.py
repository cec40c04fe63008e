"""Measure the sharded kNN graph on this machine (run by hand: ``python measure_scaling.py``).

Per world size R: wall time of each rank's ``graphneg.distributed.knn_graph`` call, its rows,
and the bytes it received (the other ranks' shards). One BLAS thread per rank, so R ranks use
R cores. Prints a markdown table.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

N, DIM, K = 40_000, 128, 20


def timed_rank(rank: int, world_size: int, path: str) -> dict:
    from threadpoolctl import threadpool_limits

    from graphneg._search._cpu_route import cpu_route
    from graphneg.distributed import knn_graph, load_shard

    X, start = load_shard(path)
    with threadpool_limits(1):
        cpu_route("fp32", "cosine")  # its timing probe, outside the measurement
        t, cpu = time.perf_counter(), time.process_time()
        G = knn_graph(X, K)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    return {"rank": rank, "rows": X.shape[0], "seconds": seconds, "cpu": cpu,
            "received": 4 * DIM * (N - X.shape[0]), "nnz": int(G.nnz)}


def main() -> None:
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ddp_harness import run_group

    X = np.random.default_rng(0).normal(size=(N, DIM)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "X.npy")
        np.save(path, X)
        print(f"N={N} d={DIM} k={K}\n\n| R | rank | rows | CPU s | wall s | MiB received |\n|---|---|---|---|---|---|")
        for R in (1, 2):
            for r in run_group("measure_scaling.timed_rank", R, path, timeout=1200):
                mib = r["received"] / 2**20
                cells = [R, r["rank"], r["rows"], f"{r['cpu']:.2f}", f"{r['seconds']:.2f}", f"{mib:.1f}"]
                print("| " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    main()
