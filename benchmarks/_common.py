"""Shared helpers for the benchmarks: machine facts, the sgemm peak, timing, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "load_average": os.getloadavg()[0],
    }


def sgemm_peak(n: int = 4096, repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` GFLOP/s of an n x n float32 (and bfloat16) matmul in torch and numpy."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    out = {}
    for name, fn in (
        ("torch_fp32", lambda: a @ b),
        ("torch_bf16", lambda: a.bfloat16() @ b.bfloat16()),
        ("numpy_fp32", lambda: a.numpy() @ b.numpy()),
    ):
        fn()
        best = min(timed(fn)[1] for _ in range(repeats))
        out[name] = 2 * n**3 / best / 1e9
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clustered(n: int, d: int, *, n_clusters: int = 1000, noise: float = 1.0, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors (float32), generated in chunks to keep memory O(n d)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d)).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(s + 100_000, n)
        X[s:e] = centres[rng.integers(0, n_clusters, e - s)] + noise * rng.normal(size=(e - s, d)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def continuum(n: int, d: int = 384, *, n_factors: int = 48, decay: float = 1.5, noise: float = 0.3,
              seed: int = 0) -> np.ndarray:
    """Unit vectors on a continuum, like real sentence embeddings (float32, chunked).

    ``n_factors`` Gaussian latent factors with a decaying spectrum (factor ``i`` has variance
    ``(1 + i) ** -decay``) mixed into ``d`` dimensions by a fixed random map, normalised, plus
    isotropic noise (``noise`` of the norm): no separable clusters, neighbour cosines ~0.65-0.8
    at 20k-50k items. Separable blobs (:func:`clustered`) flatter approximate search and
    community detection (recall 1.0, modularity 0.999); this does not.
    """
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(n_factors, d)).astype(np.float32) / np.sqrt(d)
    scales = ((1.0 + np.arange(n_factors)) ** (-decay / 2)).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(s + 100_000, n)
        chunk = (rng.normal(size=(e - s, n_factors)).astype(np.float32) * scales) @ mix
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        chunk += noise * rng.normal(size=(e - s, d)).astype(np.float32) / np.sqrt(d)
        X[s:e] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return X


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([np.intersect1d(a, b).size / b.size for a, b in zip(found, exact, strict=True)]))


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float))
    tmp.replace(path)
    return path


def table(rows: list[tuple[str, float, str]], reference: float) -> str:
    """Rows of (name, seconds, note) with the time ratio to ``reference``."""
    w = max([34] + [len(r[0]) + 2 for r in rows])
    lines = [f"{'':{w}}{'seconds':>10}{'ratio':>8}  note"]
    for name, sec, note in rows:
        lines.append(f"{name:{w}}{sec:>10.2f}{sec / reference:>8.2f}  {note}")
    return "\n".join(lines)


@contextmanager
def section(title: str):
    print(f"\n== {title}", flush=True)
    yield
    sys.stdout.flush()
