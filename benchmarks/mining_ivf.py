"""Mining at corpus scale: graphneg's IVF route against sentence-transformers with faiss (issue 24).

python benchmarks/mining_ivf.py --quick        # 10k queries x 200k documents
python benchmarks/mining_ivf.py                # 100k x 2M (the issue's setting; hours on 2 cores)
python benchmarks/mining_ivf.py -q 20000 -n 500000
python benchmarks/mining_ivf.py --quick --sharded --arms gn-exact,gn-ivf   # + the IVF route on 2 gloo ranks

Continuum corpus (``_common.continuum``, d = 384); each query is a corpus row plus noise, that row
its positive; 5 negatives from ranks 10-60, relative margin 0.05 (benchmarks/mining.py's setting).
Every arm runs in a fresh process that loads the same vectors from disk: its time is the mining
call's, its memory the peak RSS beyond the RSS after loading (``ru_maxrss``). Arms:

* sentence-transformers ``mine_hard_negatives(use_faiss=True)`` (faiss ``IndexFlatIP``: exact,
  fed through a stub encoder over the precomputed vectors);
* graphneg ``mine_hard_negatives`` exact (the default route);
* graphneg ``backend="ivf"`` (adaptive ``nprobe``: recall@depth >= 0.99 on 1,000 sampled queries);
* ``--sharded``: ``graphneg.distributed.mine_hard_negatives(..., backend=IVF())`` on 2 gloo ranks
  (one BLAS thread each; each rank memory-maps its query and corpus shards); its time is the
  slowest rank's, its memory the larger rank's peak beyond its loaded shards.

Agreement: the share of queries whose 5 negatives are the peer's, in order (queries where the
peer returns all 5), and the share of negatives in common.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
KW = dict(num_negatives=5, range_min=10, range_max=60, relative_margin=0.05)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sharded_rank(rank: int, world_size: int, port: int, data: Path) -> None:
    """One rank of the sharded arm: mines its query shard, writes its negatives and a JSON record."""
    import torch.distributed as dist

    import graphneg as gn
    import graphneg.distributed as gd

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    Q, q0 = gd.load_shard(str(data / "Q.npy"))
    C, _ = gd.load_shard(str(data / "C.npy"))
    pos = np.load(data / "pos.npy")[q0 : q0 + Q.shape[0]]
    base = rss_mb()
    dist.barrier()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        hn = gd.mine_hard_negatives(Q, C, pos, gn.NegativeSelection(**KW), backend=gn.IVF())
    sec = time.perf_counter() - t
    dist.destroy_process_group()
    np.save(data / f"sharded.{rank}.npy", hn.indices)
    (data / f"sharded.{rank}.json").write_text(json.dumps({"seconds": sec, "peak_beyond_mb": rss_mb() - base,
                                                          "search": vars(hn.search)}))


def sharded_arm(data: Path, world_size: int = 2) -> tuple[np.ndarray, dict]:
    """The sharded IVF route on ``world_size`` gloo ranks (fresh processes): negatives, record."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ["OMP_NUM_THREADS"] = "1"  # one BLAS thread per rank
    mp.start_processes(sharded_rank, args=(world_size, port, data), nprocs=world_size, start_method="spawn")
    ranks = [json.loads((data / f"sharded.{r}.json").read_text()) for r in range(world_size)]
    negs = np.concatenate([np.load(data / f"sharded.{r}.npy") for r in range(world_size)])
    return negs, {"seconds": max(r["seconds"] for r in ranks), "rss_base_mb": 0.0,
                  "peak_beyond_mb": max(r["peak_beyond_mb"] for r in ranks), "search": ranks[0]["search"],
                  "rank_seconds": [r["seconds"] for r in ranks]}


def arm(name: str, data: Path) -> None:
    """One arm in this (fresh) process: writes ``<data>/<name>.npy`` and prints a JSON line."""
    if name == "gn-ivf-sharded":
        negs, record = sharded_arm(data)
        np.save(data / f"{name}.npy", negs)
        print(json.dumps({"arm": name, **record}), flush=True)
        return
    Q, C, pos = np.load(data / "Q.npy"), np.load(data / "C.npy"), np.load(data / "pos.npy")
    base = rss_mb()
    info = {}
    if name == "st-faiss":
        from _cold_child import Stub
        from sentence_transformers.util import mine_hard_negatives as st_mine

        import datasets

        q_txt = [f"q{i}" for i in range(len(Q))]
        d_txt = [f"d{i}" for i in range(len(C))]
        vectors = {**dict(zip(q_txt, Q, strict=True)), **dict(zip(d_txt, C, strict=True))}
        ds = datasets.Dataset.from_dict({"anchor": q_txt, "positive": [d_txt[p] for p in pos]})
        base = rss_mb()
        t = time.perf_counter()
        out = st_mine(ds, Stub(vectors), corpus=d_txt, output_format="n-tuple", verbose=False, use_faiss=True, **KW)
        sec = time.perf_counter() - t
        row_of = {t: i for i, t in enumerate(q_txt)}
        negs = np.full((len(Q), 5), -1, dtype=np.int64)
        for rec in out:
            negs[row_of[rec["anchor"]]] = [int(rec[f"negative_{j}"][1:]) for j in range(1, 6)]
    else:
        import graphneg as gn

        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gn.GraphNegWarning)
            hn = gn.mine_hard_negatives(Q, C, pos, gn.NegativeSelection(**KW),
                                        backend="ivf" if name == "gn-ivf" else "exact")
        sec = time.perf_counter() - t
        negs = hn.indices
        if hn.search is not None:
            info = {k: v for k, v in vars(hn.search).items()}
    np.save(data / f"{name}.npy", negs)
    print(json.dumps({"arm": name, "seconds": sec, "rss_base_mb": base, "peak_beyond_mb": rss_mb() - base,
                      "search": info}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-q", type=int, default=None, help="queries")
    p.add_argument("-n", type=int, default=None, help="documents")
    p.add_argument("--arms", default="st-faiss,gn-exact,gn-ivf")
    p.add_argument("--sharded", action="store_true", help="also the IVF route on 2 gloo ranks (gn-ivf-sharded)")
    p.add_argument("--arm", default=None, help=argparse.SUPPRESS)
    p.add_argument("--data", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.arm:
        return arm(a.arm, Path(a.data))
    sys.path.insert(0, str(HERE))
    from _common import continuum, machine, save

    n_q = a.q or (10_000 if a.quick else 100_000)
    n_d = a.n or (200_000 if a.quick else 2_000_000)
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        data = Path(tmp)
        C = continuum(n_d)
        rng = np.random.default_rng(1)
        pos = rng.choice(n_d, n_q, replace=False)
        Q = C[pos] + 0.3 * rng.normal(size=(n_q, 384)).astype(np.float32) / np.sqrt(384)
        np.save(data / "Q.npy", (Q / np.linalg.norm(Q, axis=1, keepdims=True)).astype(np.float32))
        np.save(data / "C.npy", C)
        np.save(data / "pos.npy", pos)
        del C, Q
        results = {}
        print(f"mining {n_q} queries x {n_d} documents, d=384, load average {os.getloadavg()[0]:.1f}", flush=True)
        for name in a.arms.split(",") + (["gn-ivf-sharded"] if a.sharded else []):
            out = subprocess.run([sys.executable, __file__, "--arm", name, "--data", str(data)], cwd=HERE,
                                 capture_output=True, text=True)
            if out.returncode:
                print(f"  {name} failed:\n{out.stderr[-2000:]}", flush=True)
                continue
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
            r = results[name]
            print(f"  {name:9} {r['seconds']:8.1f} s   peak +{r['peak_beyond_mb']:7.0f} MB  {r['search'] or ''}",
                  flush=True)
        negs = {name: np.load(data / f"{name}.npy") for name in results}
    agreement = {}
    for x, y in (("gn-exact", "st-faiss"), ("gn-ivf", "st-faiss"), ("gn-ivf", "gn-exact"),
                 ("gn-ivf-sharded", "gn-ivf"), ("gn-ivf-sharded", "gn-exact")):
        if x in negs and y in negs:
            full = (negs[y] >= 0).all(axis=1)
            same = (negs[x][full] == negs[y][full]).all(axis=1).mean()
            pairs = zip(negs[x][full], negs[y][full], strict=True)
            common = np.mean([np.intersect1d(u, v).size / 5 for u, v in pairs])
            agreement[f"{x} vs {y}"] = {"identical_rows": float(same), "common_negatives": float(common),
                                        "rows_compared": int(full.sum())}
            print(f"  {x} vs {y}: identical rows {same:.4f}, negatives in common {common:.4f} "
                  f"({full.sum()} rows)", flush=True)
    if "st-faiss" in results:
        for name in ("gn-exact", "gn-ivf"):
            if name in results:
                st, ours = results["st-faiss"], results[name]
                print(f"  {name}: {st['seconds'] / ours['seconds']:.2f}x faster than st-faiss, memory "
                      f"{ours['peak_beyond_mb'] / max(st['peak_beyond_mb'], 1):.2f}x", flush=True)
    if "gn-ivf-sharded" in results:
        for name in ("gn-ivf", "gn-exact"):
            if name in results:
                ratio = results[name]["seconds"] / results["gn-ivf-sharded"]["seconds"]
                print(f"  gn-ivf-sharded (2 ranks): {ratio:.2f}x the speed of {name}", flush=True)
    path = save(f"mining_ivf_{n_q}x{n_d}", {"machine": machine(), "n_queries": n_q, "n_docs": n_d, "settings": KW,
                                            "results": results, "agreement": agreement,
                                            "load_average_end": os.getloadavg()[0]})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
