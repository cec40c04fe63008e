"""The whole pipeline at scale with its peak memory: approximate kNN -> Leiden -> an epoch.

python benchmarks/pipeline.py --quick   # 100k items
python benchmarks/pipeline.py           # 1M items, d=384, k=20
python benchmarks/pipeline.py --backend ivf --data continuum --nprobe 20   # issue #15: continuum, IVF graph
                                                                           # at recall@20 >= 0.95

Peak RSS is recorded after every stage (``ru_maxrss``: the high-water mark so far).
"""

from __future__ import annotations

import argparse

from _common import clustered, continuum, machine, peak_rss_mb, save, section, timed

import graphneg as gn
from graphneg.similarity._backends import AUTO_EXACT_MAX


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-d", type=int, default=384)
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--backend", default="auto")
    p.add_argument("--data", choices=["blobs", "continuum"], default="blobs",
                   help="separable blobs (flatter every method) or a continuum like real embeddings")
    p.add_argument("--nprobe", type=int, default=None, help="backend='ivf': lists probed (default: graphneg's)")
    p.add_argument("--save-graph", default=None, help="also save the kNN graph (.npz) for later experiments")
    p.add_argument("--communities", choices=["leiden", "networkit"], default="leiden",
                   help="graphneg.communities (igraph Leiden; networkit's PLM from 100k nodes) or plm_communities")
    a = p.parse_args()
    n = a.n or (100_000 if a.quick else 1_000_000)
    info = machine()
    steps, rss = {}, {}
    with section(f"pipeline, {n} items, d={a.d}, k={a.k}, backend={a.backend}, data={a.data}"):
        make = (lambda: continuum(n, a.d)) if a.data == "continuum" else (
            lambda: clustered(n, a.d, n_clusters=max(n // 200, 10)))
        X, steps["data"] = timed(make)
        rss["data"] = rss_data = peak_rss_mb()
        backend = a.backend if a.backend != "auto" or n > AUTO_EXACT_MAX else "exact"
        extra = {"nprobe": a.nprobe} if a.nprobe and backend == "ivf" else {}
        G, steps["knn_graph"] = timed(lambda: gn.knn_graph(X, a.k, backend=backend, show_progress=True, **extra))
        rss["knn_graph"] = peak_rss_mb()
        if a.save_graph:
            gn.io.save_graph(a.save_graph, G)
        rec, steps["recall_check"] = timed(lambda: gn.knn_recall(X, G, sample=500))
        find = gn.plm_communities if a.communities == "networkit" else gn.communities
        labels, steps["leiden"] = timed(lambda: find(G, seed=0))
        rss["leiden"] = peak_rss_mb()
        sampler, steps["sampler_init"] = timed(lambda: gn.CommunityBatchSampler(labels, 64, packing="fill"))
        _, steps["epoch"] = timed(sampler.batches)
        rss["epoch"] = peak_rss_mb()
        print("peak RSS by stage (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()))
        for name, sec in steps.items():
            print(f"{name:14} {sec:8.1f} s")
        print(f"kNN recall@{a.k} (500 rows) {rec:.4f}; {labels.max() + 1} communities")
        print(f"peak RSS {peak_rss_mb():.0f} MB (embeddings alone: {X.nbytes / 2**20:.0f} MB, "
              f"RSS after data {rss_data:.0f} MB)")
    name = "pipeline" + ("_quick" if a.quick else "") + ("" if a.data == "blobs" else f"_{a.data}_{a.backend}") + (
        "_networkit" if a.communities == "networkit" else "")
    save(name, {"machine": info, "n": n, "d": a.d, "k": a.k, "data": a.data, "backend": backend, "nprobe": a.nprobe,
                "communities": a.communities,
                "steps": steps,
                "recall": rec, "peak_rss_mb": peak_rss_mb(), "peak_rss_mb_by_stage": rss,
                "num_communities": int(labels.max()) + 1})


if __name__ == "__main__":
    main()
