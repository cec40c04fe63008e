"""What Leiden's extra iterations buy: modularity, batch quality and time per ``num_iterations``.

On a continuum (``_common.continuum``: 48 latent factors, decaying spectrum, 384 dims, noise)
kNN graph (k=20), then on real all-MiniLM-L6-v2 corpora from the shared data (SciFact,
NFCorpus). For each setting: ``leiden_communities()`` wall time (CSR -> igraph conversion included),
weighted modularity, the number of communities, and the quality of one epoch of community
batches (``packed_batches``, 64 items): mean in-batch cosine (the negatives' similarity) and
the share of in-batch pairs that are graph edges. With networkit / graspologic-native
importable, their Leiden runs on the same graphs (conversion included) at the same
modularity scale.

python benchmarks/leiden_iterations.py --quick   # 20k continuum
python benchmarks/leiden_iterations.py           # 50k continuum (the issue's setting)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _common import continuum, machine, save, section, timed

import graphneg as gn
from graphneg.similarity._igraph_convert import _igraph_of

SHARED = Path(os.environ.get("GRAPHNEG_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SETTINGS = (1, 2, 5, 10, -1)


def quality(G, X, labels, g) -> dict:
    batches = gn.packed_batches(labels, 64, seed=0)
    st = gn.batch_stats(batches, embeddings=X, graph=G)
    return {"modularity": g.modularity(labels.tolist(), weights="weight"), "communities": int(labels.max() + 1),
            "mean_cosine": st["mean_cosine"], "edge_share": st["edge_share"]}


def sweep(name: str, X: np.ndarray, k: int, seeds: tuple[int, ...]) -> dict:
    import igraph  # noqa: F401  (imported here: its ~1-2 s import is not conversion time)

    G, t_knn = timed(lambda: gn.knn_graph(X, k))
    g, t_conv = timed(lambda: _igraph_of(G.tocsr(), True))
    out = {"n": X.shape[0], "k": k, "knn_seconds": t_knn, "to_igraph_seconds": t_conv, "settings": {}}
    title = f"{name}: {X.shape[0]} items, k={k}, {g.ecount()} edges (kNN {t_knn:.1f} s, to igraph {t_conv:.2f} s)"
    with section(title):
        print(f"{'num_iterations':>14}{'seconds':>9}{'modularity':>12}{'vs conv.':>9}{'comms':>7}"
              f"{'in-batch cos':>14}{'edge share':>12}")
        for it in SETTINGS:
            runs = []
            for seed in seeds:
                labels, t = timed(lambda it=it, seed=seed: gn.leiden_communities(G, num_iterations=it, seed=seed))
                runs.append({"seconds": t, **quality(G, X, labels, g)})
            out["settings"][str(it)] = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
        conv = out["settings"]["-1"]["modularity"]
        for it, m in out["settings"].items():
            print(f"{it:>14}{m['seconds']:9.2f}{m['modularity']:12.4f}{m['modularity'] / conv:9.4f}"
                  f"{m['communities']:7.0f}{m['mean_cosine']:14.4f}{m['edge_share']:12.4f}")
        out["peers"] = peers(G, g, X)
    return out


def peers(G, g, X) -> dict:
    """networkit (ParallelLeiden, PLM) and graspologic-native Leiden on the same graph, when installed."""
    from graphneg.similarity._igraph_convert import _undirected

    res = {}
    try:
        import networkit as nk
    except ImportError:
        nk = None
    if nk is not None:
        nk.setNumberOfThreads(os.cpu_count() or 1)
        for algo in ("ParallelLeiden", "PLM"):
            def run(algo=algo):
                S = _undirected(G).tocoo()
                up = S.row < S.col
                ng = nk.graph.GraphFromCoo((S.data[up].astype(np.float64), (S.row[up], S.col[up])), n=G.shape[0],
                                           weighted=True)
                alg = nk.community.ParallelLeiden(ng) if algo == "ParallelLeiden" else nk.community.PLM(ng, refine=True)
                alg.run()
                return np.asarray(alg.getPartition().getVector(), dtype=np.int64)
            labels, t = timed(run)
            res[f"networkit {algo}"] = {"seconds": t, **quality(G, X, gn.relabel(labels), g)}
    try:
        import graspologic_native as gr
    except ImportError:
        gr = None
    if gr is not None:
        for iterations in (1, 2):
            def run_gr(iterations=iterations):
                S = _undirected(G)
                _, part = gr.leiden_csr(S.indptr.astype(np.int64), S.indices.astype(np.int32),
                                        S.data.astype(np.float64), S.shape[0], seed=0, iterations=iterations)
                return np.array([part[i] for i in range(S.shape[0])], dtype=np.int64)
            labels, t = timed(run_gr)
            res[f"graspologic-native, {iterations} it."] = {"seconds": t, **quality(G, X, gn.relabel(labels), g)}
    for name, m in res.items():
        print(f"{name:>30}: {m['seconds']:6.2f} s, modularity {m['modularity']:.4f}, {m['communities']} communities, "
              f"in-batch cos {m['mean_cosine']:.4f}")
    if not res:
        print("networkit / graspologic-native not installed: no peer rows")
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--seeds", type=int, default=2, help="Leiden seeds averaged per setting")
    a = p.parse_args()
    n = a.n or (20_000 if a.quick else 50_000)
    seeds = tuple(range(a.seeds))
    result = {"machine": machine(), "settings": list(SETTINGS), "seeds": list(seeds)}
    result["continuum"] = sweep("continuum", continuum(n), a.k, seeds)
    for corpus in ("scifact", "nfcorpus"):
        path = SHARED / corpus / "corpus_minilm_l6_v2_fp16.npy"
        if path.exists():
            result[corpus] = sweep(f"{corpus} MiniLM corpus", np.load(path).astype(np.float32), a.k, seeds)
    save("leiden_iterations" + ("_quick" if a.quick else ""), result)


if __name__ == "__main__":
    main()
