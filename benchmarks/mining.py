"""Hard-negative mining: graphneg vs sentence-transformers' mine_hard_negatives on the same vectors.

Both get the same precomputed embeddings (sentence-transformers through a stub encoder), so
only mining is timed. Setting of the issue: 10k queries x 100k documents, d=384, 5 negatives
from ranks 10-60, relative margin 0.05.

python benchmarks/mining.py --quick   # 2k x 20k
python benchmarks/mining.py
python benchmarks/mining.py --cold    # first call in fresh processes, SciFact size, and the CLI demo

``--cold`` runs every measurement in a fresh interpreter (rounds alternate graphneg,
sentence-transformers and ``graphneg batches``): the import, the first and a second call of
mining on SciFact's MiniLM vectors (809 train queries x 5,183 documents, positives from
qrels/train.tsv; wall seconds, and the call's CPU seconds over all threads, which other load
on the machine inflates less), plus ``graphneg batches`` on the built-in demo data (its CPU seconds
after imports, and the whole process). ``GRAPHNEG_CPU_ROUTE=measure`` with an empty cache
reproduces the old behaviour (the route timed on the first call of every process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _cold_child import Stub as StubEncoder  # sentence-transformers' interface over given vectors
from _common import clustered, machine, save, section, timed

import graphneg as gn

CHILD = Path(__file__).resolve().parent / "_cold_child.py"


def cold(rounds: int) -> None:
    """Alternating fresh processes: graphneg, graphneg with the old per-process timing, the peer, the CLI."""
    info = machine()
    kinds = {
        "graphneg": ("gn", {}),
        "graphneg, route timed per process (old)": ("gn", {"GRAPHNEG_CPU_ROUTE": "measure"}),
        "sentence-transformers": ("st", {}),
        "graphneg batches (demo, 3,000 items)": ("cli", {}),
        "graphneg batches, matplotlib hidden": ("cli", {"HIDE_MATPLOTLIB": "1"}),
    }
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for _ in range(rounds):
        for name, (who, extra) in kinds.items():
            with tempfile.TemporaryDirectory() as cache:  # 'measure' finds no cache: it times
                env = {**os.environ, "GRAPHNEG_CACHE_DIR": cache, **extra}
                if not extra:
                    env.pop("GRAPHNEG_CPU_ROUTE", None)
                t = time.perf_counter()
                out = subprocess.run([sys.executable, str(CHILD), who], env=env, capture_output=True,
                                     text=True, check=True)
                rec = json.loads(out.stdout.strip().splitlines()[-1])
                rec["process"] = time.perf_counter() - t
            runs[name].append(rec)
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], float)}
           for n, rs in runs.items()}
    peer = med["sentence-transformers"]
    with section(f"cold start, SciFact train (809 x 5,183), median of {rounds} fresh processes each"):
        print(f"{'':42}{'import':>8}{'1st call':>10}{'2nd call':>10}{'process':>9}  1st/peer  (import+1st)/peer"
              "  1st CPU-s  1st CPU/peer")
        for name, m in med.items():
            if "first" not in m:
                continue
            r1, r2 = m["first"] / peer["first"], (m["import"] + m["first"]) / (peer["import"] + peer["first"])
            print(f"{name:42}{m['import']:8.2f}{m['first']:10.3f}{m['second']:10.3f}{m['process']:9.2f}"
                  f"  {r1:8.2f}  {r2:8.2f}          {m['first_cpu']:9.3f}  {m['first_cpu'] / peer['first_cpu']:8.2f}")
        for name in ("graphneg batches (demo, 3,000 items)", "graphneg batches, matplotlib hidden"):
            c = med[name]
            print(f"{name}: import {c['import']:.2f} s, run {c['run']:.2f} s wall / {c['run_cpu']:.2f} CPU-s, "
                  f"whole process {c['process']:.2f} s")
        print(f"load average {os.getloadavg()[0]:.1f}")
    settings = "SciFact train, 5 negatives from ranks 10-60, relative margin 0.05"
    save("mining_cold", {"machine": info, "rounds": rounds, "settings": settings, "median": med, "runs": runs})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--cold", action="store_true", help="fresh-process first calls (SciFact size) and the CLI demo")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    if a.cold:
        return cold(a.rounds)
    n_q, n_d = (2_000, 20_000) if a.quick else (10_000, 100_000)
    info = machine()
    C = clustered(n_d, 384, n_clusters=n_d // 50)
    rng = np.random.default_rng(1)
    pos = rng.choice(n_d, n_q, replace=False)
    Q = C[pos] + 0.3 * rng.normal(size=(n_q, 384)).astype(np.float32) / np.sqrt(384)
    Q = (Q / np.linalg.norm(Q, axis=1, keepdims=True)).astype(np.float32)
    kw = dict(num_negatives=5, range_min=10, range_max=60, relative_margin=0.05)
    rows = []
    with section(f"mining, {n_q} queries x {n_d} documents"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gn.GraphNegWarning)
            selection = gn.NegativeSelection(**kw)
            ours, t32 = timed(lambda: gn.mine_hard_negatives(Q, C, pos, selection))
            low, t16 = timed(lambda: gn.mine_hard_negatives(Q, C, pos, selection, precision="bf16"))
        same_low = bool(np.array_equal(ours.indices, low.indices))
        try:
            from sentence_transformers.util import mine_hard_negatives as st_mine

            import datasets
        except ImportError:
            st_mine = None
        if st_mine is not None:
            q_txt = [f"q{i}" for i in range(n_q)]
            d_txt = [f"d{i}" for i in range(n_d)]
            vectors = {**dict(zip(q_txt, Q, strict=True)), **dict(zip(d_txt, C, strict=True))}
            ds = datasets.Dataset.from_dict({"anchor": q_txt, "positive": [d_txt[p] for p in pos]})
            stub = StubEncoder(vectors)
            theirs, t_st = timed(lambda: st_mine(ds, stub, corpus=d_txt, output_format="n-tuple", verbose=False, **kw))
            # n-tuple rows exist for queries with all 5 negatives: compare those
            row_of = {t: i for i, t in enumerate(q_txt)}
            doc_of = {t: i for i, t in enumerate(d_txt)}
            agree = total = 0
            for rec in theirs:
                q = row_of[rec["anchor"]]
                negs = [doc_of[rec[f"negative_{j}"]] for j in range(1, 6)]
                agree += negs == ours.indices[q].tolist()
                total += 1
            rows.append(("sentence-transformers", t_st, f"{total} full rows"))
            print(f"sentence-transformers      {t_st:8.2f} s")
            print(f"graphneg fp32              {t32:8.2f} s   {t_st / t32:5.1f}x faster, identical {agree}/{total}")
            print(f"graphneg bf16              {t16:8.2f} s   {t_st / t16:5.1f}x faster, same as fp32: {same_low}")
        else:
            print(f"graphneg fp32 {t32:.2f} s, bf16 {t16:.2f} s (sentence-transformers not installed)")
        rows += [("graphneg fp32", t32, ""), ("graphneg bf16", t16, f"identical to fp32: {same_low}")]
    save("mining" + ("_quick" if a.quick else ""), {"machine": info, "n_queries": n_q, "n_docs": n_d, "rows": rows})


if __name__ == "__main__":
    main()
