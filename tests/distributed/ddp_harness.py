"""Start ``world_size`` gloo processes on CPU, run one worker function in each, return results.

Every test of this folder runs its checks inside *one* spawn per process group (a few seconds),
and a hard timeout turns a hang (ranks disagreeing on a collective) into a failure.
"""

from __future__ import annotations

import importlib
import os
import pickle
import socket
import tempfile
import time
from datetime import timedelta
from typing import Any

#: seconds a whole group may run before the test fails as a hang
TIMEOUT = 120
#: modules the fork server imports before it forks the ranks
PRELOAD = [  # a missing optional one is skipped
    "torch", "torch.distributed", "graphneg", "graphneg.training", "graphneg.training.st", "accelerate.data_loader",
    "sentence_transformers", "datasets", "igraph", "ddp_harness", "ddp_warm",
]


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _entry(rank: int, world_size: int, port: int, target: str, args: tuple, out_dir: str) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
        timeout=timedelta(seconds=TIMEOUT // 2),
    )
    try:
        module, name = target.rsplit(".", 1)
        result = getattr(importlib.import_module(module), name)(rank, world_size, *args)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    with open(os.path.join(out_dir, f"{rank}.pkl"), "wb") as f:
        pickle.dump(result, f)


def run_group(target: str, world_size: int, *args: Any, timeout: float = TIMEOUT) -> list[Any]:
    """Run ``target(rank, world_size, *args)`` (``'module.function'``) on ``world_size`` ranks.

    Returns the ranks' return values in rank order. Raises on a worker error, and kills the
    group (its own processes, by id) when it has not finished after ``timeout`` seconds.
    """
    import multiprocessing

    import torch.multiprocessing as mp

    # a fork server imports torch and graphneg once per test session; each group forks from it
    # (a clean single-threaded process, unlike forking pytest itself)
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    with tempfile.TemporaryDirectory() as out_dir:
        ctx = mp.start_processes(
            _entry, args=(world_size, free_port(), target, args, out_dir), nprocs=world_size,
            join=False, start_method="forkserver",
        )
        deadline = time.monotonic() + timeout
        try:
            while not ctx.join(timeout=1):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{target} on {world_size} ranks did not finish in {timeout}s (a hang)")
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
                p.join()
        results = []
        for rank in range(world_size):
            with open(os.path.join(out_dir, f"{rank}.pkl"), "rb") as f:
                results.append(pickle.load(f))
    return results
