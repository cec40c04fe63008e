"""One epoch of batches for 10M items, per sampler (the grouping is computed once per sampler).

python benchmarks/sampler_epoch.py --quick   # 1M items
python benchmarks/sampler_epoch.py           # 10M items
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import machine, peak_rss_mb, save, section, timed

import graphneg as gn


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=64)
    a = p.parse_args()
    n = a.n or (1_000_000 if a.quick else 10_000_000)
    info = machine()
    rng = np.random.default_rng(0)
    variable = rng.integers(0, n // 40, n)  # Leiden-like communities of ~40
    exact = rng.permutation(np.repeat(np.arange(-(-n // 32)), 32)[:n])  # B3 clusters of K=32
    rows = []
    with section(f"sampler epoch, {n} items, batch {a.batch_size}"):
        for name, make in (
            ("RandomBatchSampler", lambda: gn.RandomBatchSampler(n, a.batch_size)),
            ("CommunityBatchSampler b3", lambda: gn.CommunityBatchSampler(exact, a.batch_size)),
            ("CommunityBatchSampler fill", lambda: gn.CommunityBatchSampler(variable, a.batch_size, packing="fill")),
            ("CommunityBatchSampler bfd", lambda: gn.CommunityBatchSampler(variable, a.batch_size, packing="bfd")),
            ("TopicBatchSampler n=2", lambda: gn.TopicBatchSampler(variable, a.batch_size, clusters_per_batch=2)),
        ):
            sampler, t_init = timed(make)
            sampler.set_epoch(1)
            batches, t_epoch = timed(sampler.batches)
            rows.append({"sampler": name, "init_seconds": t_init, "epoch_seconds": t_epoch, "batches": len(batches)})
            print(f"{name:28} init {t_init:6.2f} s   epoch {t_epoch:6.2f} s   {len(batches)} batches")
    print(f"peak RSS {peak_rss_mb():.0f} MB ({n * 8 / 2**20:.0f} MB per int64 array of n)")
    save("sampler_epoch" + ("_quick" if a.quick else ""), {"machine": info, "n": n, "rows": rows,
                                                           "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
