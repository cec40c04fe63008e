"""Imported by the fork server (ddp_harness.PRELOAD): the CPU route probe of the kNN kernel
runs once there, and every forked rank inherits its cached answer instead of timing the CPU.

The probe runs on one thread (as the ranks do), so the fork server never starts an OpenMP or
BLAS thread pool that its forked children would inherit half-alive.
"""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_limits

from graphneg._search._cpu_route import cpu_route

torch.set_num_threads(1)
with threadpool_limits(1):
    cpu_route("fp32", "cosine")
    cpu_route("fp32", "ip")
