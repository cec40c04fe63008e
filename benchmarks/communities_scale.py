"""Communities at scale: CSR -> igraph, igraph's C Leiden vs leidenalg, on a kNN-like graph.

python benchmarks/communities_scale.py --quick   # 100k nodes, ~2M edges
python benchmarks/communities_scale.py           # 1M nodes, ~20M edges
python benchmarks/communities_scale.py --conversion -n 200000   # CSR -> igraph, before/after
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp
from _common import machine, peak_rss_mb, save, section, timed

import graphneg as gn
from graphneg import to_igraph


def knn_like_graph(n: int, k: int, seed: int = 0) -> sp.csr_array:
    """k out-links per node, 90 % inside a planted topic of ~200 nodes: a kNN graph's shape."""
    rng = np.random.default_rng(seed)
    topic = np.sort(rng.integers(0, n // 200, n))
    start = np.searchsorted(topic, np.arange(n // 200))
    size = np.bincount(topic, minlength=n // 200)
    src = np.repeat(np.arange(n), k)
    inside = rng.random(src.size) < 0.9
    t = topic[src]
    dst = np.where(inside, start[t] + (rng.random(src.size) * np.maximum(size[t], 1)).astype(np.int64),
                   rng.integers(0, n, src.size))
    keep = dst != src
    G = sp.csr_array((rng.random(keep.sum()).astype(np.float32) * 0.5 + 0.5, (src[keep], dst[keep])), shape=(n, n))
    G.sum_duplicates()
    return G


def old_to_igraph(G: sp.csr_array):
    """CSR -> igraph as graphneg built it before issue 15: symmetric CSR, its upper triangle, a numpy edge array."""
    import igraph as ig

    from graphneg._validation import check_graph
    from graphneg.similarity._igraph_convert import _undirected

    S = _undirected(check_graph(G))
    upper = sp.triu(S, k=1, format="coo")
    g = ig.Graph(n=S.shape[0], edges=np.column_stack([upper.row, upper.col]).astype(np.int64), directed=False)
    g.es["weight"] = upper.data.astype(np.float64)
    return g


def conversion(n: int, k: int) -> None:
    """Before/after of CSR -> igraph on one graph, same run, same edges."""
    import igraph  # noqa: F401  (its import is not conversion time)

    G = knn_like_graph(n, k)
    new, t_new = timed(lambda: to_igraph(G))
    old, t_old = timed(lambda: old_to_igraph(G))
    new2, t_new2 = timed(lambda: to_igraph(G))
    same = old.get_edgelist() == new.get_edgelist() and old.es["weight"] == new.es["weight"]
    with section(f"CSR -> igraph, {n} nodes, k={k}, {new.ecount()} undirected edges"):
        print(f"before (symmetric CSR + triu + numpy edge array)  {t_old:6.2f} s")
        print(f"after  (one sort + chunked int pairs)              {min(t_new, t_new2):6.2f} s   "
              f"{t_old / min(t_new, t_new2):.1f}x faster; identical graph: {same}")
    save(f"to_igraph_{n}", {"machine": machine(), "n": n, "k": k, "edges": new.ecount(), "before_seconds": t_old,
                            "after_seconds": [t_new, t_new2], "identical": same})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--skip-leidenalg", action="store_true")
    p.add_argument("--conversion", action="store_true", help="only CSR -> igraph, before/after")
    a = p.parse_args()
    if a.conversion:
        return conversion(a.n or 200_000, a.k)
    n = a.n or (100_000 if a.quick else 1_000_000)
    info = machine()
    G, t_graph = timed(lambda: knn_like_graph(n, a.k))
    rows = {"graph_seconds": t_graph, "edges": int(G.nnz)}
    with section(f"communities, {n} nodes, {G.nnz} directed edges"):
        g, t_ig = timed(lambda: to_igraph(G))
        rows["csr_to_igraph_seconds"] = t_ig
        print(f"CSR -> igraph            {t_ig:8.1f} s ({g.ecount()} undirected edges)")
        labels, t = timed(lambda: gn.leiden_communities(G, implementation="igraph", seed=0))
        rows["leiden_igraph_seconds"] = t
        again = gn.leiden_communities(G, implementation="igraph", seed=0)
        rows["leiden_igraph_deterministic"] = bool(np.array_equal(labels, again))
        print(f"Leiden (igraph C)        {t:8.1f} s, {labels.max() + 1} communities, "
              f"same seed same labels: {rows['leiden_igraph_deterministic']}")
        if not a.skip_leidenalg:
            labels2, t2 = timed(lambda: gn.leiden_communities(G, implementation="leidenalg", seed=0))
            rows["leiden_leidenalg_seconds"] = t2
            print(f"Leiden (leidenalg)       {t2:8.1f} s, {labels2.max() + 1} communities   ratio {t2 / t:.1f}x")
        ex, t3 = timed(lambda: gn.exact_size(G, labels, 32, seed=0))
        rows["exact_size_32_seconds"] = t3
        print(f"exact_size(K=32)         {t3:8.1f} s")
    rows["peak_rss_mb"] = peak_rss_mb()
    print(f"peak RSS {rows['peak_rss_mb']:.0f} MB")
    save("communities" + ("_quick" if a.quick else ""), {"machine": info, "n": n, **rows})


if __name__ == "__main__":
    main()
