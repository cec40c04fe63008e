"""Step 1 of :func:`~graphneg.mine_hard_negatives`: the retrieval, on the private search kernels.

Each route yields the same blocks (:data:`graphneg.negatives._mining.BlockRows`: a block of
queries, their top ``depth`` corpus rows by canonical fp32 score, and their positives' scores),
which the selection (:func:`graphneg.negatives._mining.mine_blocks`) filters alike:

- CPU: cache-resident GEMM tiles (:func:`graphneg._search._blocks.tiled_blocks`), fp32 or
  certified bf16 (:func:`tiled_route_blocks`);
- torch blocks on a GPU, or the CPU where torch multiplies faster (:func:`torch_route_blocks`);
- an inverted file over the corpus, its recall measured on sampled queries (:func:`ivf_route_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from .._search._blocks import Tiles, on_cpu, read_only_tensor, tiled_blocks
from .._search._canonical import canonical_slack
from .._search._cpu_route import cpu_route
from .._search._ivf import IVFIndex, start_nprobe
from .._search._query import default_block_size
from .._search._recall import RecallSample, scan_to_recall
from .._search._reports import SearchReport
from .._search._torch_blocks import block_starts, finish_candidates, topk
from .._validation import check_bool, check_choice, check_int, row_norms, safe_normalize
from ..similarity._backends import IVF

if TYPE_CHECKING:
    from ._mining import BlockRows, MiningPlan

# queries whose retrieval is checked against the exact one, and the recall the adaptive nprobe keeps:
# a candidate missed above the rank window shifts the window, so the negatives agree with the exact
# route's less than the retrieval does; a high target keeps nearly all of them at little extra time
# (benchmarks/mining_ivf.py)
MINING_RECALL_SAMPLE = 1000
MINING_MIN_RECALL = 0.99
_IVF_ROWS = 4096  # queries per filtering block of the IVF route


def check_ip_range(Q: np.ndarray, C: np.ndarray) -> None:
    """Under ``metric='ip'`` a score beyond float32 would turn the ranking into inf ties.

    >>> check_ip_range(np.ones((2, 3), np.float32), np.ones((4, 3), np.float32))
    """
    q, c = float(row_norms(Q).max()), float(row_norms(C).max())  # chunked, float64
    if q * c > float(np.finfo(np.float32).max) / 4:
        raise ValueError(
            f"`queries` and `corpus` inner products can overflow float32 (largest norms {q:.3g} and {c:.3g}); "
            "rescale them or use metric='cosine'."
        )


def unit_or_checked(Q: np.ndarray, C: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The arrays mining ranks by inner product: unit rows for cosine (new arrays, exact at any
    float32 magnitude), the checked rows themselves for ``'ip'`` (only read from here on)."""
    if metric == "cosine":
        return safe_normalize(Q, "queries"), safe_normalize(C, "corpus")
    check_ip_range(Q, C)
    return Q, C


@dataclass
class BlockSearch:
    """Normalised embeddings (numpy: the torch route moves them to ``device`` itself) and the
    block-scoring settings of the exact routes."""

    Q: np.ndarray
    C: np.ndarray
    device: Any
    precision: str
    depth: int
    margin: int  # extra candidates kept for the fp32 re-scoring of reduced precision
    block_size: int
    route: str
    show_progress: bool


def block_search(Q: np.ndarray, C: np.ndarray, metric: str, depth: int, precision: Any, block_size: Any,
                 device: Any, show_progress: Any) -> BlockSearch:
    """The exact routes' settings, checked; the CPU route chosen once, for this size."""
    show_progress = check_bool(show_progress, "show_progress")
    block_size = check_int(default_block_size(C.shape[0]) if block_size is None else block_size, "block_size")
    precision = check_choice(precision, "precision", ("fp32", "bf16", "fp16"))
    Q, C = unit_or_checked(Q, C, metric)
    margin = 0 if precision == "fp32" else max(32, depth // 4)
    route = cpu_route(precision, "ip", (Q.shape[0], C.shape[0], Q.shape[1])) if on_cpu(device) else "torch"
    return BlockSearch(Q, C, device, precision, depth, margin, block_size, route, show_progress)


def positive_index(P: sp.csr_array, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, sp.csr_array]:
    """Local row and corpus column of every positive of queries ``start:stop``.

    >>> P = sp.csr_array(np.array([[0, 1, 1], [1, 0, 0]], dtype=bool))
    >>> [a.tolist() for a in positive_index(P, 0, 2)[:2]]
    [[0, 0, 1], [1, 2, 0]]
    """
    Pb = P[start:stop]
    return np.repeat(np.arange(stop - start), np.diff(Pb.indptr)), Pb.indices.astype(np.int64), Pb


def positive_scores(Q: np.ndarray, C: np.ndarray, qrows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float32 scores of the (query, positive) pairs, computed per pair as the candidates'
    canonical scores are (:func:`graphneg._search._canonical.rescore_top`), whatever the route."""
    if not qrows.size:
        return np.empty(0, np.float32)
    return np.einsum("nd,nd->n", Q[qrows], C[cols]).astype(np.float32, copy=False)


def tiled_route_blocks(s: BlockSearch, P: sp.csr_array) -> Iterator[BlockRows]:
    """CPU: cache-resident GEMM tiles with a running threshold (``graphneg._search._tiled``), exact fp32."""
    Qn, Cn = s.Q, s.C
    tiles = tiled_blocks(Qn, Cn, s.depth, False, None, scoring=s.route, margin=s.margin,
                         tiles=Tiles(show_progress=s.show_progress, desc="Mining hard negatives"))
    for start, stop, vals, idx in tiles:
        prow, pcol, Pb = positive_index(P, start, stop)
        yield start, stop, vals, idx, positive_scores(Qn, Cn, start + prow, pcol), Pb


def torch_route_blocks(s: BlockSearch, P: sp.csr_array) -> Iterator[BlockRows]:
    """Torch (GPU, or CPU without tiles): one GEMM and a top-k per block of queries."""
    import torch

    dev = torch.device(s.device) if s.device is not None else torch.device("cpu")
    Qt, Ct = read_only_tensor(s.Q).to(dev), read_only_tensor(s.C).to(dev)
    low = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[s.precision]
    n_q, n_docs = Qt.shape[0], Ct.shape[0]
    Ql, Cl = (Qt, Ct) if low is None else (Qt.to(low), Ct.to(low))
    # fp32 on the CPU ends in the tile routes' canonical order: every CPU route mines alike
    canonical = dev.type == "cpu" and low is None
    margin = max(8, s.depth // 4) if canonical else s.margin
    slack = canonical_slack(s.Q, s.C, False, "fp32") if canonical else None
    for start in block_starts(n_q, s.block_size, s.show_progress, "Mining hard negatives"):
        stop = min(start + s.block_size, n_q)
        S = Ql[start:stop] @ Cl.T
        vals_t, idx_t = topk(S, min(s.depth + margin, n_docs))
        prow_np, pcol_np, Pb = positive_index(P, start, stop)
        if canonical:
            v, i = finish_candidates(s.Q, s.C, start, idx_t.numpy(), vals_t.numpy(), s.depth, None, False, slack)
            yield start, stop, v, i, positive_scores(s.Q, s.C, start + prow_np, pcol_np), Pb
            continue
        prow, pcol = torch.from_numpy(prow_np).to(dev), torch.from_numpy(pcol_np).to(dev)
        if low is None:  # positive scores straight from this block's score matrix
            ps = S[prow, pcol]
        else:  # exact fp32 re-scoring of the wide candidate set and of the positives
            qb = Qt[start:stop]
            vals_t = torch.einsum("bwd,bd->bw", Ct[idx_t], qb)
            vals_t, order = torch.sort(vals_t, dim=1, descending=True, stable=True)
            idx_t = torch.gather(idx_t, 1, order)
            vals_t, idx_t = vals_t[:, : s.depth], idx_t[:, : s.depth]
            ps = (qb[prow] * Ct[pcol]).sum(1)
        yield start, stop, vals_t.float().cpu().numpy(), idx_t.cpu().numpy(), ps.float().cpu().numpy(), Pb


def ivf_options(backend: Any, precision: Any, device: Any) -> IVF | None:
    """The :class:`~graphneg.IVF` options of ``backend`` (``None`` for ``'exact'``).

    >>> ivf_options("exact", "fp32", None) is None, ivf_options("ivf", "fp32", None).nprobe
    (True, None)
    """
    if isinstance(backend, IVF):
        options = backend
    else:
        name = check_choice(backend, "backend", ("exact", "ivf"))
        if name == "exact":
            return None
        options = IVF()
    if precision != "fp32" or device is not None:
        raise ValueError(f"backend='ivf' mines in fp32 on the CPU; got precision={precision!r}, device={device!r}.")
    return options


def ivf_route_blocks(Q: np.ndarray, C: np.ndarray, metric: str, plan: MiningPlan, options: IVF,
                     show_progress: bool) -> tuple[Iterator[BlockRows], SearchReport]:
    """Step 1 through an inverted file over the corpus (:class:`graphneg._search._ivf.IVFIndex`),
    its recall@depth measured on sampled queries (the ``nprobe`` raised to
    :data:`MINING_MIN_RECALL` when adaptive): the blocks of the candidates' canonical fp32
    scores, and what the retrieval took."""
    Q, C = unit_or_checked(Q, C, metric)
    index = IVFIndex(Q, C, plan.depth, "ip", nlist=options.nlist, seed=options.seed,
                     kmeans_iterations=options.kmeans_iterations, train_size=options.train_size,
                     show_progress=show_progress)
    check = RecallSample(Q, C, plan.depth, 0, "ip", MINING_RECALL_SAMPLE, 0)
    adaptive = options.nprobe is None if options.adaptive is None else options.adaptive
    nprobe = start_nprobe(options.nprobe, options.nlist, C.shape[0], adaptive)
    report = scan_to_recall(index, check, lambda ids: ids, nprobe, MINING_MIN_RECALL,
                            "mine_hard_negatives (ivf)", "mine_hard_negatives", adaptive)
    vals, idx = index.top()

    def blocks() -> Iterator[BlockRows]:
        for start in range(0, plan.n_queries, _IVF_ROWS):
            stop = min(start + _IVF_ROWS, plan.n_queries)
            prow, pcol, Pb = positive_index(plan.positives, start, stop)
            yield start, stop, vals[start:stop], idx[start:stop], positive_scores(Q, C, start + prow, pcol), Pb

    return blocks(), report
