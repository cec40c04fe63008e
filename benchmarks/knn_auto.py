"""``knn_graph(X, k=20, backend="auto")`` with its defaults on a continuum, as a user calls it (issue 24).

python benchmarks/knn_auto.py --quick          # 300k items
python benchmarks/knn_auto.py                  # 1M x 384 (the issue's setting)
python benchmarks/knn_auto.py --save-graph /tmp/g1m.npz   # keep the graph for communities_1m.py

Prints what ``auto`` took to reach its recall target (the recorded :class:`graphneg.SearchReport`:
nprobe per round and the sampled recall after each), the time, the peak RSS, and the recall on a
second sample of 500 rows (seed 1) that the search did not tune on.
"""

from __future__ import annotations

import argparse
import logging
import os

from _common import continuum, machine, peak_rss_mb, save, section, timed

import graphneg as gn


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--save-graph", default=None)
    a = p.parse_args()
    n = a.n or (300_000 if a.quick else 1_000_000)
    logging.basicConfig(level=logging.INFO, format="  %(name)s: %(message)s")
    info = machine()
    with section(f"knn_graph(X, k={a.k}, backend='auto'), {n} x 384 continuum"):
        X, t_data = timed(lambda: continuum(n))
        rss_data = peak_rss_mb()
        print(f"  data {t_data:.1f} s, peak RSS {rss_data:.0f} MB", flush=True)
        with gn.record_searches() as reports:
            G, t_graph = timed(lambda: gn.knn_graph(X, a.k, backend="auto"))
        rep = reports[0] if reports else None
        rss_graph = peak_rss_mb()
        print(f"  knn_graph {t_graph:.1f} s, peak RSS {rss_graph:.0f} MB; {rep}", flush=True)
        idx = G.indices.reshape(n, a.k)
        holdout, t_check = timed(lambda: gn.knn_recall(X, idx, sample=500, seed=1))
        print(f"  recall@{a.k} on 500 other rows (seed 1): {holdout:.4f} ({t_check:.1f} s)", flush=True)
        if a.save_graph:
            gn.io.save_graph(a.save_graph, G)
    path = save(f"knn_auto_{n}", {
        "machine": info, "n": n, "k": a.k, "data_seconds": t_data, "graph_seconds": t_graph,
        "report": None if rep is None else vars(rep), "holdout_recall_seed1_500": holdout,
        "peak_rss_mb": {"data": rss_data, "graph": rss_graph}, "load_average_end": os.getloadavg()[0]})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
