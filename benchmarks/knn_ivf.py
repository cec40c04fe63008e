"""graphneg's IVF backend against faiss IndexIVFFlat, hnswlib and pynndescent at the same recall.

python benchmarks/knn_ivf.py --quick     # N=20k continuum, no pynndescent (its numba JIT alone is ~30 s)
python benchmarks/knn_ivf.py             # N=100k continuum, k=20, all peers (+ faiss-hnsw, pynndescent), MiniLM corpora
python benchmarks/knn_ivf.py -n 1000000 --peers faiss --no-real --peer-queries 20000 --nprobes 16,20,24
    # 1M: faiss's full search timed on 20k sampled queries and scaled (all 1M would take ~30 min)

Data: `_common.continuum` (48 latent factors, decaying spectrum, 384 dims, noise), not blobs.
Recall@k is measured on the same 1,000 sampled rows against the exact search for every method.
The IVF methods (graphneg, faiss) share nlist and the training-sample size; for each, nprobe is
swept on the sampled rows (cheap) and the smallest one reaching --target is then timed on all
rows; hnswlib's ef is chosen the same way. Every time includes the index build.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _common import continuum, machine, peak_rss_mb, save, section, timed

import graphneg as gn
from graphneg._search._ivf import _LIST_SIZE, _TRAIN_MIN, _TRAIN_PER_LIST, default_nlist

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def exact_sample(X: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    idx, _ = gn.knn_search(X[rows], k + 1, targets=X)
    return np.array([r[r != i][:k] for i, r in zip(rows, idx, strict=True)])


def recall_of(found: np.ndarray, truth: np.ndarray, rows: np.ndarray) -> float:
    """Recall@k of self-search results (the item itself dropped) on the sampled rows."""
    k = truth.shape[1]
    f = [r[r != i][:k] for i, r in zip(rows, found, strict=True)]
    return float(np.mean([np.intersect1d(a, b).size / k for a, b in zip(f, truth, strict=True)]))


def sweep(name: str, search_rows, values: list[int], truth: np.ndarray, rows: np.ndarray, target: float) -> tuple:
    """Smallest setting whose recall on the sampled rows reaches target (else the largest)."""
    curve = []
    for v in values:
        rec = recall_of(search_rows(v), truth, rows)
        curve.append((v, rec))
        print(f"  {name} {v:5d}: recall {rec:.4f} (sampled rows)", flush=True)
        if rec >= target:
            break
    return curve[-1][0], curve


def run_graphneg(X, k, nlist, nprobes, truth, rows, target) -> dict:
    def on_rows(nprobe: int) -> np.ndarray:
        idx, _ = gn.knn_search(X[rows], k + 1, targets=X, backend=gn.IVF(nlist=nlist, nprobe=nprobe), recall_sample=0)
        return idx

    nprobe, curve = sweep("graphneg nprobe", on_rows, nprobes, truth, rows, target)
    (idx, _), sec = timed(lambda: gn.knn_search(X, k, backend=gn.IVF(nlist=nlist, nprobe=nprobe), recall_sample=0))
    rec = recall_of(np.concatenate([rows[:, None], idx[rows]], axis=1), truth, rows)
    print(f"  graphneg ivf nprobe={nprobe}: {sec:.1f} s, recall {rec:.4f} (all rows searched)", flush=True)
    return {"method": "graphneg ivf", "setting": f"nlist={nlist} nprobe={nprobe}", "seconds": sec, "recall": rec,
            "curve": curve}


def run_faiss(X, k, nlist, nprobes, truth, rows, target, peer_queries=None) -> dict:
    import faiss

    def build():
        train = X[np.random.default_rng(0).choice(len(X), min(len(X), max(_TRAIN_PER_LIST * nlist, _TRAIN_MIN)),
                                                  replace=False)]
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(X.shape[1]), X.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(train)
        index.add(X)
        return index

    index, t_build = timed(build)

    def on_rows(nprobe: int) -> np.ndarray:
        index.nprobe = nprobe
        return index.search(X[rows], k + 1)[1]

    nprobe, curve = sweep("faiss nprobe", on_rows, nprobes, truth, rows, target)
    index.nprobe = nprobe
    if peer_queries and peer_queries < len(X):
        # a search costs the same per query: time a seeded sample of queries, scale to all rows
        some = np.random.default_rng(1).choice(len(X), peer_queries, replace=False)
        _, t_some = timed(lambda: index.search(X[some], k + 1))
        t_search, rec = t_some * len(X) / peer_queries, recall_of(on_rows(nprobe), truth, rows)
        print(f"  faiss: {peer_queries} queries in {t_some:.1f} s -> {t_search:.0f} s for all {len(X)}", flush=True)
    else:
        (_, idx), t_search = timed(lambda: index.search(X, k + 1))
        rec = recall_of(idx[rows], truth, rows)
    return {"method": "faiss IndexIVFFlat", "setting": f"nlist={nlist} nprobe={nprobe}", "seconds": t_build + t_search,
            "build_seconds": t_build, "recall": rec, "curve": curve,
            "search_extrapolated_from_queries": peer_queries if peer_queries and peer_queries < len(X) else None}


def run_hnswlib(X, k, efs, truth, rows, target, M=16, ef_construction=100) -> dict:
    import hnswlib

    def build():
        index = hnswlib.Index(space="ip", dim=X.shape[1])
        index.init_index(max_elements=len(X), M=M, ef_construction=ef_construction, random_seed=0)
        index.add_items(X, np.arange(len(X)))
        return index

    index, t_build = timed(build)

    def on_rows(ef: int) -> np.ndarray:
        index.set_ef(ef)
        return index.knn_query(X[rows], k + 1)[0].astype(np.int64)

    ef, curve = sweep("hnswlib ef", on_rows, efs, truth, rows, target)
    index.set_ef(ef)
    (idx, _), t_query = timed(lambda: index.knn_query(X, k + 1))
    return {"method": "hnswlib HNSW", "setting": f"M={M} efC={ef_construction} ef={ef}", "seconds": t_build + t_query,
            "build_seconds": t_build, "recall": recall_of(idx[rows].astype(np.int64), truth, rows), "curve": curve}


def run_faiss_hnsw(X, k, truth, rows) -> dict:
    """graphneg's own backend='faiss-hnsw' at its defaults (M=32, efSearch=max(64, 2 want))."""
    (idx, _), sec = timed(lambda: gn.knn_search(X, k, backend="faiss-hnsw", recall_sample=0))
    rec = recall_of(np.concatenate([rows[:, None], idx[rows]], axis=1), truth, rows)
    return {"method": "faiss HNSW (backend)", "setting": "M=32 efC=80 efS=64", "seconds": sec, "recall": rec}


def run_pynndescent(X, k, truth, rows) -> dict:
    # compile numba's functions on a small input first; the JIT is reported apart
    _, t_jit = timed(lambda: gn.knn_search(X[:2000], k, backend="pynndescent", recall_sample=0))
    (idx, _), sec = timed(lambda: gn.knn_search(X, k, backend="pynndescent", recall_sample=0))
    rec = recall_of(np.concatenate([rows[:, None], idx[rows]], axis=1), truth, rows)
    return {"method": "pynndescent", "setting": "n_neighbors=30 (graphneg defaults)", "seconds": sec,
            "jit_seconds": t_jit, "recall": rec}


def real_corpora(k: int, target: float) -> list[dict]:
    """Recall of graphneg ivf on the MiniLM corpora at the defaults and at 100k's probed share."""
    out = []
    for name in ("scifact", "nfcorpus"):
        path = DATA / name / "corpus_minilm_l6_v2_fp16.npy"
        if not path.exists():
            print(f"{name}: {path} missing, skipped")
            continue
        X = np.load(path).astype(np.float32)
        rows = np.random.default_rng(0).choice(len(X), min(1000, len(X)), replace=False)
        truth = exact_sample(X, k, rows)
        nlist_small = max(2, len(X) // 100)  # lists of ~100, so that 8 % can be probed
        for nlist, nprobe in ((None, None), (nlist_small, max(1, round(0.08 * nlist_small))),
                              (nlist_small, max(1, round(0.16 * nlist_small)))):
            (idx, _), sec = timed(lambda X=X, nl=nlist, npb=nprobe: gn.knn_search(
                X, k, backend=gn.IVF(nlist=nl, nprobe=npb), recall_sample=0))
            rec = recall_of(np.concatenate([rows[:, None], idx[rows]], axis=1), truth, rows)
            out.append({"corpus": name, "n": len(X), "nlist": nlist or default_nlist(len(X)), "nprobe": nprobe,
                        "seconds": sec, "recall": rec})
            print(f"  {name} (n={len(X)}) nlist={out[-1]['nlist']} nprobe={nprobe or 'default'}: "
                  f"recall {rec:.4f}, {sec:.2f} s", flush=True)
    return out


def gemm_rate(d: int = 384) -> float:
    """Best-of-3 GFLOP/s of numpy's fp32 GEMM at a list-scan shape (8192 x d x 1024, all threads)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((8192, d), dtype=np.float32), rng.random((1024, d), dtype=np.float32)
    a @ b.T
    return 2 * 8192 * 1024 * d / min(timed(lambda: a @ b.T)[1] for _ in range(3)) / 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--target", type=float, default=0.95, help="recall@k every method must reach")
    p.add_argument("--nlist", type=int, default=None, help=f"default: lists of ~{_LIST_SIZE} (graphneg's default)")
    p.add_argument("--peers", default=None, help="comma list of faiss,hnswlib,faiss-hnsw,pynndescent")
    p.add_argument("--no-real", action="store_true", help="skip the MiniLM corpora")
    p.add_argument("--peer-queries", type=int, default=None,
                   help="time faiss's full search on this many sampled queries and scale linearly (1M: hours)")
    p.add_argument("--nprobes", default=None, help="comma list of nprobe values to sweep")
    a = p.parse_args()
    n = a.n or (20_000 if a.quick else 100_000)
    peers = (a.peers or ("faiss,hnswlib" if a.quick else "faiss,hnswlib,faiss-hnsw,pynndescent")).split(",")
    nlist = a.nlist or default_nlist(n)
    grid = [int(v) for v in a.nprobes.split(",")] if a.nprobes else (2, 4, 6, 7, 8, 10, 12, 16, 24, 32, 48, 64)
    nprobes = [v for v in grid if v <= nlist] or [nlist]
    info = machine()
    X = continuum(n)
    rows = np.random.default_rng(0).choice(n, 1000, replace=False)
    with section(f"exact neighbours of 1,000 sampled rows (N={n}, k={a.k})"):
        truth, t_exact = timed(lambda: exact_sample(X, a.k, rows))
        print(f"  {t_exact:.1f} s; full exact search extrapolated: ~{t_exact * n / len(rows):.0f} s")
    results = []
    with section(f"approximate kNN at recall@{a.k} >= {a.target}"):
        results.append(run_graphneg(X, a.k, nlist, nprobes, truth, rows, a.target))
        if "faiss" in peers:
            results.append(run_faiss(X, a.k, nlist, nprobes, truth, rows, a.target, a.peer_queries))
        if "hnswlib" in peers:
            results.append(run_hnswlib(X, a.k, [32, 48, 64, 96, 128, 192, 256], truth, rows, a.target))
        if "faiss-hnsw" in peers:
            results.append(run_faiss_hnsw(X, a.k, truth, rows))
        if "pynndescent" in peers:
            results.append(run_pynndescent(X, a.k, truth, rows))
    ours = results[0]["seconds"]
    rate = gemm_rate(X.shape[1])
    nprobe = int(results[0]["setting"].split("nprobe=")[1])
    floor = 2 * n * (nprobe * n / nlist + nlist) * X.shape[1] / rate / 1e9
    print(f"\nGEMM floor of graphneg's setting (list scan + probes, {rate:.0f} GFLOP/s): {floor:.1f} s; "
          f"graphneg at {ours / floor:.2f}x it")
    print(f"\n{'method':22}{'setting':34}{'seconds':>9}{'recall':>8}{'peer / graphneg':>17}")
    for r in results:
        print(f"{r['method']:22}{r['setting']:34}{r['seconds']:9.1f}{r['recall']:8.4f}{r['seconds'] / ours:17.2f}")
    real = [] if a.no_real else real_corpora(a.k, a.target)
    name = "knn_ivf" + ("_quick" if a.quick else "" if n == 100_000 else f"_{n}")
    path = save(name, {"machine": info, "n": n, "d": X.shape[1], "k": a.k, "target": a.target,
                       "exact_sample_seconds": t_exact, "gemm_gflops": rate, "gemm_floor_seconds": floor,
                       "results": results, "real": real,
                       "peak_rss_mb": peak_rss_mb(), "load_average_end": os.getloadavg()[0]})
    print(f"peak RSS {peak_rss_mb():.0f} MB; load average at the end {os.getloadavg()[0]:.2f}; wrote {path}")


if __name__ == "__main__":
    main()
