"""``knn_graph(X, k, backend="auto")`` with its defaults against faiss IVFFlat, faiss HNSW and
pynndescent at equal recall, one run, on the continuum (issue 24).

python benchmarks/knn_auto_peers.py --quick      # 100k items
python benchmarks/knn_auto_peers.py              # 1M x 384, the issue's setting (~40 min on 2 cores)

graphneg runs first, as a user calls it (no setting given); its recall@k on 1,000 sampled rows
(seed 0, exact neighbours by brute force, the item itself dropped) is the bar. Every peer then
sweeps its one search knob on the same 1,000 rows, cheapest first, and stops at the first setting
whose recall reaches graphneg's; that setting is timed:

- faiss ``IndexIVFFlat`` with graphneg's list count (``nprobe`` swept), inner product;
- faiss ``IndexHNSWFlat`` (M 32, efConstruction 40, faiss's defaults; ``efSearch`` swept);
- pynndescent ``NNDescent`` (``n_neighbors`` swept: each setting is a full build; numba's JIT is
  compiled on a small input first and reported apart).

A peer whose search over all rows would take long has it timed on ``--peer-queries`` seeded
queries and scaled linearly (a search costs the same per query); builds are always timed whole.
Every time includes the index build. Threads: every library uses all cores.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _common import continuum, machine, peak_rss_mb, save, section, timed

import graphneg as gn


def exact_rows(X: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    idx, _ = gn.knn_search(X[rows], k + 1, targets=X, backend="exact")
    return np.array([r[r != i][:k] for i, r in zip(rows, idx, strict=True)])


def recall(found: np.ndarray, truth: np.ndarray, rows: np.ndarray) -> float:
    """Recall@k of the sampled rows' results, the item itself dropped (found: one row per sample)."""
    k = truth.shape[1]
    kept = [r[(r != i) & (r >= 0)][:k] for i, r in zip(rows, found, strict=True)]
    return float(np.mean([np.intersect1d(a, b).size / k for a, b in zip(kept, truth, strict=True)]))


def first_reaching(name: str, search_rows, values, truth, rows, bar: float) -> tuple[int, list]:
    curve = []
    for v in values:
        rec = recall(search_rows(v), truth, rows)
        curve.append((v, rec))
        print(f"  {name} {v}: recall {rec:.4f} (sampled rows)", flush=True)
        if rec >= bar:
            break
    return curve[-1][0], curve


def scaled_search(search, X: np.ndarray, peer_queries: int | None) -> tuple[float, int | None]:
    if peer_queries and peer_queries < len(X):
        some = np.random.default_rng(1).choice(len(X), peer_queries, replace=False)
        _, t = timed(lambda: search(X[some]))
        return t * len(X) / peer_queries, peer_queries
    return timed(lambda: search(X))[1], None


def run_faiss_ivf(X, k, nlist, truth, rows, bar, peer_queries) -> dict:
    import faiss

    def build():
        rng = np.random.default_rng(0)
        train = X[rng.choice(len(X), min(len(X), 256 * nlist), replace=False)]
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(X.shape[1]), X.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(train)
        index.add(X)
        return index

    index, t_build = timed(build)

    def on_rows(nprobe: int) -> np.ndarray:
        index.nprobe = nprobe
        return index.search(X[rows], k + 1)[1]

    grid = [v for v in (8, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 192, 256) if v <= nlist]
    nprobe, curve = first_reaching("faiss IVFFlat nprobe", on_rows, grid, truth, rows, bar)
    index.nprobe = nprobe
    t_search, sampled = scaled_search(lambda Q: index.search(Q, k + 1), X, peer_queries)
    return {"method": "faiss IndexIVFFlat", "setting": f"nlist={nlist} nprobe={nprobe}",
            "seconds": t_build + t_search, "build_seconds": t_build, "recall": curve[-1][1], "curve": curve,
            "search_scaled_from_queries": sampled}


def run_faiss_hnsw(X, k, truth, rows, bar, peer_queries) -> dict:
    import faiss

    def build():
        index = faiss.IndexHNSWFlat(X.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.add(X)
        return index

    index, t_build = timed(build)
    print(f"  faiss HNSW build {t_build:.1f} s", flush=True)

    def on_rows(ef: int) -> np.ndarray:
        index.hnsw.efSearch = ef
        return index.search(X[rows], k + 1)[1]

    ef, curve = first_reaching("faiss HNSW efSearch", on_rows, (32, 48, 64, 96, 128, 192, 256, 384, 512),
                               truth, rows, bar)
    index.hnsw.efSearch = ef
    t_search, sampled = scaled_search(lambda Q: index.search(Q, k + 1), X, peer_queries)
    return {"method": "faiss IndexHNSWFlat", "setting": f"M=32 efC=40 efS={ef}", "seconds": t_build + t_search,
            "build_seconds": t_build, "recall": curve[-1][1], "curve": curve, "search_scaled_from_queries": sampled}


def run_pynndescent(X, k, truth, rows, bar, n_neighbors: list[int]) -> dict:
    from pynndescent import NNDescent

    _, t_jit = timed(lambda: NNDescent(X[:5000], metric="cosine", n_neighbors=30, random_state=0).neighbor_graph)
    best = None
    for nn in n_neighbors:
        (graph, sec) = timed(lambda nn=nn: NNDescent(X, metric="cosine", n_neighbors=nn, random_state=0,
                                                      n_jobs=-1, compressed=True).neighbor_graph[0])
        rec = recall(graph[rows], truth, rows)
        print(f"  pynndescent n_neighbors={nn}: {sec:.1f} s, recall {rec:.4f} (sampled rows)", flush=True)
        best = {"method": "pynndescent", "setting": f"n_neighbors={nn}", "seconds": sec, "recall": rec,
                "jit_seconds": t_jit}
        if rec >= bar:
            break
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--peers", default="faiss-ivf,faiss-hnsw,pynndescent")
    p.add_argument("--peer-queries", type=int, default=50_000,
                   help="time a peer's search on this many seeded queries and scale to all rows")
    p.add_argument("--nndescent", default="30,60", help="pynndescent n_neighbors values to try, in order")
    a = p.parse_args()
    n = a.n or (100_000 if a.quick else 1_000_000)
    info = machine()
    X, t_data = timed(lambda: continuum(n))
    rss_input = peak_rss_mb()
    rows = np.random.default_rng(0).choice(n, 1000, replace=False)
    with section(f"graphneg knn_graph(X, k={a.k}, backend='auto'), defaults, {n} x {X.shape[1]}"):
        with gn.record_searches() as reports:
            G, t_ours = timed(lambda: gn.knn_graph(X, a.k, backend="auto"))
        rep = reports[0] if reports else None
        print(f"  {t_ours:.1f} s; {rep}", flush=True)
        rss_ours = peak_rss_mb()
        truth, t_exact = timed(lambda: exact_rows(X, a.k, rows))
        ours_recall = recall(G.indices.reshape(n, a.k)[rows], truth, rows)
        print(f"  recall@{a.k} on 1,000 sampled rows: {ours_recall:.4f} (exact truth {t_exact:.1f} s)", flush=True)
    nlist = getattr(rep, "nlist", None) or max(1, n // 1000)
    results = [{"method": "graphneg auto", "setting": f"defaults ({rep})", "seconds": t_ours, "recall": ours_recall}]
    del G
    peers = a.peers.split(",") if a.peers else []
    with section(f"peers, each at the first setting reaching recall {ours_recall:.4f}"):
        if "faiss-ivf" in peers:
            results.append(run_faiss_ivf(X, a.k, nlist, truth, rows, ours_recall, a.peer_queries))
        if "faiss-hnsw" in peers:
            results.append(run_faiss_hnsw(X, a.k, truth, rows, ours_recall, a.peer_queries))
        if "pynndescent" in peers:
            results.append(run_pynndescent(X, a.k, truth, rows, ours_recall,
                                           [int(v) for v in a.nndescent.split(",")]))
    print(f"\n{'method':22}{'setting':28}{'seconds':>9}{'recall':>8}{'peer / graphneg':>17}")
    for r in results:
        setting = r["setting"] if r["method"] != "graphneg auto" else "defaults"
        print(f"{r['method']:22}{setting:28}{r['seconds']:9.1f}{r['recall']:8.4f}{r['seconds'] / t_ours:17.2f}")
    path = save(f"knn_auto_peers_{n}", {
        "machine": info, "n": n, "k": a.k, "data_seconds": t_data, "report": None if rep is None else vars(rep),
        "results": results, "peak_rss_mb": {"input": rss_input, "graphneg": rss_ours, "end": peak_rss_mb()},
        "load_average_end": os.getloadavg()[0]})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
