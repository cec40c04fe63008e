"""Which kernel an exact CPU search runs: the CPU-route policy of the search kernels.

:func:`cpu_route` chooses between certified bf16 tiles, fp32 tiles, bf16 tiles and full-width
torch blocks from the CPU's feature flags (``/proc/cpuinfo``) and the problem size, or from
``$GRAPHNEG_CPU_ROUTE``; with ``GRAPHNEG_CPU_ROUTE=measure``, from one-off micro-benchmarks
cached on disk (:func:`measured_route`). The route changes the speed, never the result.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import platform
import sys
from typing import Any

import numpy as np

from ._blocks import TILE_COLS, blas_pools, torch_threads

logger = logging.getLogger(__name__)


def best_time(fn: Any, repeats: int = 3) -> float:
    """Best of ``repeats`` timed calls after a warm-up call (a noisy machine only adds time)."""
    import time

    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


@functools.lru_cache(maxsize=1)
def bf16_speedup() -> float:
    """How much faster one core multiplies a kNN tile in bf16 (torch) than in fp32 (numpy BLAS)."""

    import torch
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.random((512, 384), dtype=np.float32)
    b = rng.random((2048, 384), dtype=np.float32)
    al, bl = torch.from_numpy(a).bfloat16(), torch.from_numpy(b).bfloat16()
    out = np.empty((512, 2048), dtype=np.float32)

    with threadpool_limits(1, user_api="blas"), torch_threads(1), torch.inference_mode():
        t32 = best_time(lambda: np.matmul(a, b.T, out=out))
        t16 = best_time(lambda: al @ bl.T)
    logger.debug("one-core GEMM: fp32 numpy %.4fs, bf16 torch %.4fs", t32, t16)
    return t32 / t16


ROUTE_ENV = "GRAPHNEG_CPU_ROUTE"
ENV_ROUTES = ("auto", "certified", "fp32", "torch", "measure")
# The certified route saves at most half of the GEMM (a native bf16 GEMM does about twice the
# multiply-adds of an fp32 one per cycle) and pays fixed costs: bf16 copies of both matrices,
# per-row error bounds, a wider candidate window re-scored in fp32, and a running threshold that
# only tightens after a few column tiles. Below ~2^33 multiply-adds (a fraction of a second of
# fp32 GEMM; a SciFact-sized mining run is 1.6e9) or 4 column tiles those costs eat the saving,
# so small problems take plain fp32; the thresholds are estimates, chosen to err on fp32's side.
CERTIFIED_MIN_MACS = 2**33
CERTIFIED_MIN_COLS = 4 * TILE_COLS


def cpu_route(precision: str, metric: str, size: tuple[int, int, int] | None = None) -> str:
    """How an exact CPU search of ``size = (rows, targets, dim)`` runs (``None``: a large one).

    'certified' (bf16 tiles, every possible neighbour re-scored in fp32: exact), 'fp32' (fp32
    numpy GEMM tiles), 'bf16' (bf16 tiles with a fixed margin re-scored in fp32: approximate,
    only for ``precision='bf16'``) or 'torch' (full-width torch blocks). Chosen from what the
    CPU supports and the size, without timing anything, so the same call runs the same kernel
    on a busy machine; ``$GRAPHNEG_CPU_ROUTE`` overrides the exact fp32 route (see
    :func:`env_route`). The route changes the speed, never the result: every exact CPU route
    ends in one canonical order (:func:`rescore_top`: scores computed from the two vectors
    alone, ties by ascending index), so graphs and mined negatives are bit-identical across
    routes and CPUs (tested, near-ties and runs of identical rows included).

    >>> cpu_route("fp32", "cosine", (809, 5183, 384))  # small: the bf16 pass cannot pay off
    'fp32'
    >>> cpu_route("bf16", "cosine")
    'bf16'
    """
    forced = env_route()
    measured = measured_route() if forced == "measure" else None
    plain = forced if forced in ("fp32", "torch") else (measured or {}).get("plain") or plain_cpu_route()
    if metric == "euclidean" or precision == "fp16":  # no certified euclidean; fp16 is torch's
        return plain if precision == "fp32" else "torch"
    if precision == "bf16":
        return "bf16"
    if forced in ("fp32", "torch", "certified"):
        return forced
    n, m, d = size or (2**20, 2**20, 384)
    if n * m * d < CERTIFIED_MIN_MACS or m < CERTIFIED_MIN_COLS:
        return plain
    fast = measured["bf16"] if measured else has_fast_bf16()
    return "certified" if fast else plain


def env_route() -> str:
    """``$GRAPHNEG_CPU_ROUTE``: 'auto' (default: from the CPU and the size), 'certified',
    'fp32' or 'torch' (forced for exact fp32 searches), or 'measure' (an opt-in one-off
    timing, cached on disk: :func:`measured_route`).

    >>> env_route() in ENV_ROUTES
    True
    """
    value = os.environ.get(ROUTE_ENV, "").strip().lower() or "auto"
    if value not in ENV_ROUTES:
        raise ValueError(f"{ROUTE_ENV}={value!r} is not one of {', '.join(ENV_ROUTES)}.")
    return value


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (Linux; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):  # x86, arm
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def has_fast_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (x86 AVX-512 BF16 or AMX-BF16).

    Elsewhere torch converts bf16 to fp32 around an fp32 kernel, several times slower than
    numpy's fp32 GEMM, so the certified route would lose.
    """
    flags = cpu_flags()
    if flags:
        return bool(flags & {"avx512_bf16", "amx_bf16"})
    try:  # no /proc/cpuinfo (macOS, Windows): torch's cpuinfo, only asked for large problems
        import torch.cpu as tc
    except ImportError:  # pragma: no cover - a declared dependency
        return False
    probes = (getattr(tc, "_is_avx512_bf16_supported", None), getattr(tc, "_is_amx_tile_supported", None))
    return any(bool(probe()) for probe in probes if probe is not None)


# optimised BLAS libraries numpy's build configuration may name ('scipy-openblas' in PyPI wheels);
# a build naming another one (Debian's 'blas': whatever the system's alternative points to) is
# settled by threadpoolctl's scan of the loaded libraries instead
FAST_BLAS = ("openblas", "mkl", "accelerate", "blis", "armpl", "nvpl", "aocl")


def numpy_blas_name() -> str:
    """The BLAS numpy's build configuration names, lower case (``''`` when it does not say).

    >>> isinstance(numpy_blas_name(), str)
    True
    """
    try:
        return str(np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]).lower()
    except (AttributeError, KeyError, TypeError):
        return ""


@functools.lru_cache(maxsize=1)
def plain_cpu_route() -> str:
    """'fp32' (numpy GEMM tiles) when numpy links an optimised BLAS, else 'torch' (MKL/oneDNN).

    Read from numpy's build configuration where it names an optimised library (microseconds),
    else from the loaded libraries (:func:`._blocks.blas_pools`, milliseconds: a first small
    search would spend more time on it than on its GEMM).
    """
    if any(name in numpy_blas_name() for name in FAST_BLAS):
        return "fp32"
    apis = {i.get("internal_api") for i in blas_pools()}
    # a reference BLAS (e.g. Debian's libblas3) is invisible to threadpoolctl and ~10x slower;
    # macOS wheels use Accelerate, also invisible but fast
    return "fp32" if apis or sys.platform == "darwin" else "torch"


def measured_route() -> dict[str, Any]:
    """``{'bf16': whether bf16 tiles beat fp32 ones, 'plain': 'fp32' or 'torch'}`` from a one-off
    timing, cached in ``$GRAPHNEG_CACHE_DIR`` (default ``~/.cache/graphneg``) per CPU and
    library versions: opt in with ``GRAPHNEG_CPU_ROUTE=measure`` (it replaces the CPU flags;
    the size rule of :func:`cpu_route` still applies).

    Only the first call on a machine times anything (~1 s of micro-benchmarks on an idle
    machine); later processes read the file.
    """
    import json
    from pathlib import Path

    import torch

    key = f"{platform.machine()}|{hash_flags()}|numpy {np.__version__}|torch {torch.__version__}"
    path = Path(os.environ.get("GRAPHNEG_CACHE_DIR") or Path.home() / ".cache" / "graphneg") / "cpu_route.json"
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        cache = {}
    if not isinstance(cache.get(key), dict):
        cache[key] = {"bf16": bf16_speedup() >= 1.25, "plain": "fp32" if fastest_cpu_gemm() == "numpy" else "torch"}
        with contextlib.suppress(OSError):  # a read-only home only costs the next process a timing
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache, indent=1))
            tmp.replace(path)
    return dict(cache[key])


def hash_flags() -> str:
    """A short stable digest of the CPU flags (the cache key of :func:`measured_route`)."""
    import hashlib

    return hashlib.sha1(" ".join(sorted(cpu_flags())).encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def fastest_cpu_gemm() -> str:
    """'numpy' or 'torch': whichever multiplies a kNN-shaped fp32 block faster here."""

    import torch

    rng = np.random.default_rng(0)
    a = rng.random((1024, 384), dtype=np.float32)
    b = rng.random((16384, 384), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    out = np.empty((1024, 16384), dtype=np.float32)

    t_np = best_time(lambda: np.matmul(a, b.T, out=out))
    with torch.inference_mode():
        t_torch = best_time(lambda: ta @ tb.T)
    # numpy unless torch is clearly faster: a noisy draw must not flip a 1.5x win
    choice = "torch" if t_torch < 0.8 * t_np else "numpy"
    logger.debug("CPU GEMM: numpy %.4fs, torch %.4fs -> %s", t_np, t_torch, choice)
    return choice
