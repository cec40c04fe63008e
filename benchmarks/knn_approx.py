"""Approximate kNN for millions of items: pynndescent and faiss HNSW, recall against exact.

python benchmarks/knn_approx.py --quick    # N=100k
python benchmarks/knn_approx.py            # N=1M, d=384, k=32
"""

from __future__ import annotations

import argparse

from _common import clustered, machine, peak_rss_mb, save, section, timed

import graphneg as gn


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-d", type=int, default=384)
    p.add_argument("-k", type=int, default=32)
    p.add_argument("--backends", default="faiss-hnsw,pynndescent")
    a = p.parse_args()
    n = a.n or (100_000 if a.quick else 1_000_000)
    info = machine()
    X = clustered(n, a.d, n_clusters=max(n // 100, 10))
    rows = []
    with section(f"approximate kNN, N={n}, d={a.d}, k={a.k}"):
        for backend in a.backends.split(","):
            try:
                # recall_sample=0: time the index alone; the recall is measured below
                (idx, _), sec = timed(lambda b=backend: gn.knn_search(X, a.k, backend=b, recall_sample=0))
            except ImportError as err:
                print(f"{backend}: skipped ({err})")
                continue
            rec, t_rec = timed(lambda i=idx: gn.knn_recall(X, i, sample=1000))
            rows.append({"backend": backend, "seconds": sec, "recall@k (1000 rows)": rec})
            print(f"{backend:12} {sec:8.1f} s   recall {rec:.4f}   (recall check {t_rec:.1f} s)")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    name = "knn_approx" + ("_quick" if a.quick else "") + ("" if a.backends == "faiss-hnsw,pynndescent" else
                                                          "_" + a.backends.replace(",", "_"))
    save(name, {"machine": info, "n": n, "d": a.d, "k": a.k, "rows": rows,
                                                        "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
