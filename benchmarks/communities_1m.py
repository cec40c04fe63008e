"""Communities on a saved 1M-node kNN graph: igraph's Leiden against networkit's PLM, one run.

python benchmarks/pipeline.py --backend ivf --data continuum --nprobe 20 --save-graph /tmp/g1m.npz
python benchmarks/communities_1m.py /tmp/g1m.npz [--all]
(or: python benchmarks/knn_auto.py --save-graph /tmp/g1m.npz)

Every row goes through ``graphneg.communities`` (CSR -> library graph conversion included) except
the last, networkit's PLM on all cores, which graphneg does not offer: parallel PLM races on node
moves (two runs, two partitions), kept here to show what determinism costs. Modularity of every
partition is igraph's, on the same weighted undirected graph.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _common import machine, peak_rss_mb, save, section, timed

import graphneg as gn
from graphneg.similarity._igraph_convert import _igraph_of, _upper_edges


def parallel_plm(G) -> np.ndarray:
    import networkit as nk

    threads = nk.getMaxNumberOfThreads()
    nk.setNumberOfThreads(os.cpu_count() or 1)
    try:
        rows, cols, w = _upper_edges(G)
        g = nk.graph.GraphFromCoo((w.astype(np.float64), (rows, cols)), n=G.shape[0], weighted=True)
        plm = nk.community.PLM(g, refine=True)
        plm.run()
        return np.asarray(plm.getPartition().getVector(), dtype=np.int64)
    finally:
        nk.setNumberOfThreads(threads)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", help="a graph file written by graphneg.io.save_graph (e.g. pipeline.py --save-graph)")
    p.add_argument("--all", action="store_true", help="also igraph Leiden 1 iteration, igraph Louvain, parallel PLM")
    a = p.parse_args()
    G = gn.io.load_graph(a.graph).graph.tocsr()
    info = machine()
    ig_graph = _igraph_of(G, True)  # for the modularity of every partition (not timed)
    arms = {
        "graphneg default (>= 100k nodes: networkit PLM, 1 thread, maxIter 8)": lambda: gn.communities(G, seed=0),
        "igraph Leiden, 2 iterations (leiden_communities; the default below 100k nodes)":
            lambda: gn.leiden_communities(G, seed=0),
        "networkit PLM, 1 thread, maxIter 32 (plm_communities)": lambda: gn.plm_communities(G, seed=0),
    }
    if a.all:
        arms.update({
            "igraph Leiden, 1 iteration": lambda: gn.leiden_communities(G, seed=0, num_iterations=1),
            "igraph Louvain (multilevel)": lambda: gn.louvain_communities(G, seed=0),
            "networkit PLM, all cores (not reproducible; not offered)": lambda: parallel_plm(G),
        })
    rows = []
    with section(f"communities on {a.graph}: {G.shape[0]} nodes, {G.nnz} stored edges"):
        _, t_conv = timed(lambda: _igraph_of(G, True))
        print(f"  CSR -> igraph alone: {t_conv:.1f} s", flush=True)
        for name, run in arms.items():
            labels, sec = timed(run)
            q = ig_graph.modularity(labels.tolist(), weights="weight")
            rows.append({"method": name, "seconds": sec, "modularity": q, "communities": int(labels.max()) + 1})
            print(f"  {name:58} {sec:7.1f} s  modularity {q:.4f}  {labels.max() + 1} communities", flush=True)
    ref = rows[1]  # igraph's Leiden: the reference
    print(f"\n{'method':58}{'seconds':>9}{'modularity':>12}{'time / Leiden':>16}{'Q / Leiden':>13}")
    for r in rows:
        print(f"{r['method']:58}{r['seconds']:9.1f}{r['modularity']:12.4f}{r['seconds'] / ref['seconds']:16.2f}"
              f"{r['modularity'] / ref['modularity']:13.4f}")
    path = save("communities_1m", {"machine": info, "graph": a.graph, "nodes": G.shape[0], "stored_edges": G.nnz,
                                   "conversion_seconds": t_conv, "results": rows, "peak_rss_mb": peak_rss_mb(),
                                   "load_average_end": os.getloadavg()[0]})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
