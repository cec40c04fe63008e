"""Exact kNN graph: graphneg vs the bare GEMM it performs, faiss IndexFlatIP, torch and numpy.

python benchmarks/knn_exact.py --quick     # N=20k (about a minute)
python benchmarks/knn_exact.py             # N=100k, d=384, k=32 (the issue's setting)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
import torch
from _common import clustered, machine, recall, save, section, sgemm_peak, table, timed

import graphneg as gn
import graphneg._search._cpu_route as search


def bare_gemm(X: np.ndarray, block: int) -> None:
    Xt = torch.from_numpy(X)
    with torch.inference_mode():
        for s in range(0, X.shape[0], block):
            Xt[s : s + block] @ Xt.T


def bare_gemm_bf16(X: np.ndarray, block: int) -> None:
    Xt = torch.from_numpy(X).bfloat16()
    with torch.inference_mode():
        for s in range(0, X.shape[0], block):
            Xt[s : s + block] @ Xt.T


def bare_gemm_numpy(X: np.ndarray, block: int) -> None:
    out = np.empty((block, X.shape[0]), dtype=np.float32)
    for s in range(0, X.shape[0], block):
        np.matmul(X[s : s + block], X.T, out=out[: min(block, X.shape[0] - s)])


def torch_naive(X: np.ndarray, k: int, block: int) -> np.ndarray:
    Xt = torch.from_numpy(X)
    out = []
    with torch.inference_mode():
        for s in range(0, X.shape[0], block):
            S = Xt[s : s + block] @ Xt.T
            out.append(torch.topk(S, k + 1, dim=1).indices[:, 1:])
    return torch.cat(out).numpy()


def numpy_argpartition(X: np.ndarray, k: int, block: int) -> np.ndarray:
    out = []
    for s in range(0, X.shape[0], block):
        S = X[s : s + block] @ X.T
        part = np.argpartition(-S, k + 1, axis=1)[:, : k + 1]
        order = np.take_along_axis(S, part, 1).argsort(axis=1)[:, ::-1]
        out.append(np.take_along_axis(part, order, 1)[:, 1:])
    return np.concatenate(out)


FAISS_CODE = """
import sys, time, numpy as np, faiss
X = np.load(sys.argv[1]); k = int(sys.argv[2])
index = faiss.IndexFlatIP(X.shape[1]); index.add(X)
t = time.perf_counter(); _, I = index.search(X, k + 1); dt = time.perf_counter() - t
np.save(sys.argv[3], I[:, 1:]); print(dt)
"""


def faiss_flat(X: np.ndarray, k: int, env: dict[str, str], tmp: str) -> tuple[float, np.ndarray] | None:
    """faiss in a subprocess, so OPENBLAS_CORETYPE can be set before its OpenBLAS loads."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return None
    np.save(f"{tmp}/X.npy", X)
    r = subprocess.run([sys.executable, "-c", FAISS_CODE, f"{tmp}/X.npy", str(k), f"{tmp}/I.npy"],
                       capture_output=True, text=True, env={**os.environ, **env})
    if r.returncode:
        print(r.stderr)
        return None
    return float(r.stdout.strip().splitlines()[-1]), np.load(f"{tmp}/I.npy")


def main() -> None:
    import tempfile

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", type=int, default=None)
    p.add_argument("-d", type=int, default=384)
    p.add_argument("-k", type=int, default=32)
    a = p.parse_args()
    n = a.n or (20_000 if a.quick else 100_000)
    info = machine()
    with section("machine"):
        print(info)
        peak = sgemm_peak()
        print({k: round(v, 1) for k, v in peak.items()}, "GFLOP/s (4096^2 matmul)")
    X = clustered(n, a.d)
    flop = 2.0 * n * n * a.d
    block = 1024
    with section(f"exact kNN, N={n}, d={a.d}, k={a.k}"):
        _, t_gemm_torch = timed(lambda: bare_gemm(X, block))
        _, t_gemm_np = timed(lambda: bare_gemm_numpy(X, block))
        _, t_gemm_bf16 = timed(lambda: bare_gemm_bf16(X, block))
        route = search.cpu_route("fp32", "cosine", X.shape[:1] * 2 + X.shape[1:])
        (idx, _), t_ours = timed(lambda: gn.knn_search(X, a.k))
        _, t_graph = timed(lambda: gn.knn_graph(X, a.k))
        saved = os.environ.get(search.ROUTE_ENV)
        os.environ[search.ROUTE_ENV] = "fp32"  # the plain fp32-GEMM route, for comparison
        try:
            (idx_tiled, _), t_tiled = timed(lambda: gn.knn_search(X, a.k))
        finally:
            os.environ.pop(search.ROUTE_ENV)
            if saved is not None:
                os.environ[search.ROUTE_ENV] = saved
        (idx_bf, _), t_bf16 = timed(lambda: gn.knn_search(X, a.k, precision="bf16"))
        naive, t_naive = timed(lambda: torch_naive(X, a.k, block))
        _, t_gemm_np2 = timed(lambda: bare_gemm_numpy(X, block))  # again: how much the machine drifted
        print(f"fp32 route on this CPU: {route}; bare numpy GEMM {t_gemm_np:.1f} s before, {t_gemm_np2:.1f} s after")
        t_gemm_np = (t_gemm_np + t_gemm_np2) / 2
        t_gemm = min(t_gemm_torch, t_gemm_np)
        rows = [
            ("bare GEMM torch (MKL)", t_gemm_torch, f"{flop / t_gemm_torch / 1e9:.0f} GFLOP/s"),
            ("bare GEMM numpy (OpenBLAS)", t_gemm_np, f"{flop / t_gemm_np / 1e9:.0f} GFLOP/s (mean of 2)"),
            ("bare GEMM torch bf16", t_gemm_bf16, f"{flop / t_gemm_bf16 / 1e9:.0f} GFLOP/s"),
            (f"graphneg knn_search fp32 ({route})", t_ours, "exact (the reference)"),
            (f"graphneg knn_graph fp32 ({route}, CSR)", t_graph, "exact, incl. CSR"),
            ("graphneg knn_search fp32 (fp32 GEMM tiles)", t_tiled, f"recall {recall(idx_tiled, idx):.4f}"),
            ("graphneg knn_search bf16", t_bf16, f"recall {recall(idx_bf, idx):.4f}"),
            ("torch mm + topk (naive)", t_naive, f"recall {recall(naive, idx):.4f}"),
        ]
        if n <= 30_000:
            nump, t_np = timed(lambda: numpy_argpartition(X, a.k, block))
            rows.append(("numpy matmul + argpartition", t_np, f"recall {recall(nump, idx):.4f}"))
        with tempfile.TemporaryDirectory() as tmp:
            variants = (("faiss IndexFlatIP", {}), ("faiss IndexFlatIP (SkylakeX)", {"OPENBLAS_CORETYPE": "SkylakeX"}))
            for label, env in variants:
                res = faiss_flat(X, a.k, env, tmp)
                if res is not None:
                    rows.append((label, res[0], f"recall {recall(res[1], idx):.4f}"))
        print(f"ratios are to the faster bare GEMM ({t_gemm:.2f} s)")
        print(table(rows, t_gemm))
    save("knn_exact" + ("_quick" if a.quick else ""), {"machine": info, "sgemm_peak": peak, "n": n, "d": a.d,
                                                       "k": a.k, "rows": rows})


if __name__ == "__main__":
    main()
