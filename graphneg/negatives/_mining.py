"""Hard negatives mined from embedding similarity (sentence-transformers semantics, faster).

:func:`mine_hard_negatives` scores every query against the corpus in blocks (one GEMM per
block, a top-k selection, never the full ``Q x N`` matrix), removes positives and the
query itself, applies the positive-aware filters of NV-Retriever, and selects negatives by
one of four strategies.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike, check_rng
from .._validation import check_bool, check_choice, check_embeddings, check_float, check_int
from ..exceptions import GraphNegWarning

__all__ = ["HardNegatives", "mine_hard_negatives", "as_pairs_matrix"]

Sampling = Literal["top", "random", "simans", "softmax"]
SAMPLINGS = ("top", "random", "simans", "softmax")


@dataclass
class HardNegatives:
    """Mined negatives, one row per query.

    Attributes
    ----------
    indices : ndarray of shape (n_queries, num_negatives), int64
        Corpus rows of the negatives, best score first; ``-1`` where fewer survived.
    scores : ndarray of shape (n_queries, num_negatives), float32
        Their similarity to the query; ``nan`` where ``indices == -1``.
    positive_scores : ndarray of shape (n_queries,), float32
        The reference positive score of each query: the lowest score among its positives.
    n_short : int
        Number of queries with fewer than ``num_negatives`` negatives.
    skipped : dict
        How many retrieved candidates each filter removed (``positives``, ``self``,
        ``excluded``, ``absolute_margin``, ``relative_margin``, ``max_score``, ``min_score``).
    """

    indices: np.ndarray
    scores: np.ndarray
    positive_scores: np.ndarray
    n_short: int
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> np.ndarray:
        """Negatives found per query."""
        return (self.indices >= 0).sum(axis=1)


def as_pairs_matrix(pairs: Any, n_rows: int, n_cols: int, name: str) -> sp.csr_array:
    """Normalise "items per row" input to a boolean ``(n_rows, n_cols)`` CSR pattern.

    Accepts a sparse matrix, a 1-D int array (one column per row), or a sequence of int
    sequences (several per row). Raises on out-of-range ids.
    """
    if sp.issparse(pairs):
        M = sp.csr_array(pairs)
        if M.shape != (n_rows, n_cols):
            raise ValueError(f"`{name}` must have shape ({n_rows}, {n_cols}), got {M.shape}.")
        M = sp.csr_array((np.ones(M.nnz, bool), M.indices, M.indptr), shape=M.shape)
        M.sum_duplicates()
        return M
    if isinstance(pairs, np.ndarray) and pairs.ndim == 1 and np.issubdtype(pairs.dtype, np.integer):
        lists: list[Any] = [[int(v)] for v in pairs]
    elif isinstance(pairs, np.ndarray) and pairs.ndim == 2 and np.issubdtype(pairs.dtype, np.integer):
        lists = [row[row >= 0] for row in pairs]  # -1 padded rows
    else:
        try:
            lists = [np.atleast_1d(np.asarray(p)) for p in pairs]
        except TypeError as err:
            raise TypeError(f"`{name}` must be a sequence of index lists or a sparse matrix.") from err
    if len(lists) != n_rows:
        raise ValueError(f"`{name}` must have one entry per query ({n_rows}), got {len(lists)}.")
    lengths = np.fromiter((len(p) for p in lists), dtype=np.int64, count=n_rows)
    cols = np.concatenate([np.asarray(p).ravel() for p in lists]) if n_rows else np.empty(0)
    if cols.size and not np.issubdtype(cols.dtype, np.integer):
        if not np.all(np.mod(cols, 1) == 0):
            raise TypeError(f"`{name}` must hold integer corpus indices.")
    cols = cols.astype(np.int64)
    if cols.size and (cols.min() < 0 or cols.max() >= n_cols):
        bad = cols[(cols < 0) | (cols >= n_cols)][0]
        raise ValueError(f"`{name}` holds index {int(bad)}, outside the corpus [0, {n_cols}).")
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    M = sp.csr_array((np.ones(cols.size, bool), cols, indptr), shape=(n_rows, n_cols))
    M.sum_duplicates()
    return M


def _member(P: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Boolean array: is ``(rows[i], cols[i])`` a stored entry of ``P``? (vectorised)."""
    if P.nnz == 0:
        return np.zeros(rows.shape, dtype=bool)
    n = P.shape[1]
    r = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    keys = r * n + P.indices  # sorted: canonical CSR is row-major with sorted columns
    q = rows.astype(np.int64) * n + np.maximum(cols, 0)
    pos = np.minimum(np.searchsorted(keys, q.ravel()), keys.size - 1)
    return (keys[pos] == q.ravel()).reshape(rows.shape) & (cols >= 0)


def mine_hard_negatives(
    queries: Any,
    corpus: Any,
    positives: Any,
    *,
    num_negatives: int = 3,
    range_min: int = 0,
    range_max: int | None = None,
    max_score: float | None = None,
    min_score: float | None = None,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
    sampling: Sampling = "top",
    seed: SeedLike = 0,
    query_corpus_ids: Any = None,
    exclude: Any = None,
    metric: Literal["cosine", "ip"] = "cosine",
    temperature: float = 0.05,
    simans_a: float = 0.5,
    simans_b: float = 0.0,
    precision: Literal["fp32", "bf16", "fp16"] = "fp32",
    block_size: int | None = None,
    device: Any = None,
    show_progress: bool = False,
) -> HardNegatives:
    r"""Mine hard negatives for each query from precomputed embeddings.

    Semantics of the shared options are those of sentence-transformers'
    ``mine_hard_negatives`` (v5/v6), so the same settings give the same negatives:

    1. Retrieve the top ``range_max + max_positives`` corpus rows per query by similarity.
    2. Remove the query's positives (and, here, the query itself when
       ``query_corpus_ids`` says which corpus row it is, and anything in ``exclude``).
    3. Remove candidates by the filters, in this order: ``absolute_margin``,
       ``relative_margin``, ``max_score``, ``min_score``. The margins compare with the
       query's *lowest* positive score :math:`s^+`.
    4. Sort the survivors, keep the first ``range_max``, drop the first ``range_min``
       (``range_min`` counts *surviving* candidates, not raw ranks), then select
       ``num_negatives`` by ``sampling``.

    Parameters
    ----------
    queries : array-like of shape (n_queries, dim)
    corpus : array-like of shape (n_docs, dim)
    positives : sequence of int sequences, 1-D int array, or sparse (n_queries, n_docs)
        Corpus rows that are positives of each query (several allowed, none is an error).
    num_negatives : int, default=3
    range_min : int, default=0
        Survivors skipped first (NV-Retriever's "top-k shifted by N").
    range_max : int, default=None
        Survivors considered. ``None``: ``range_min + num_negatives + max_positives``, or
        ``range_min + 10 * num_negatives + max_positives`` when a margin or ``max_score``
        is set (sentence-transformers' rule).
    max_score, min_score : float, default=None
        Drop candidates scoring above / below (NV-Retriever TopK-Abs is ``max_score``).
    absolute_margin : float, default=None
        Keep a candidate only if :math:`s \le s^+ - m` (NV-Retriever *TopK-MarginPos*).
    relative_margin : float, default=None
        Keep a candidate only if :math:`s \le s^+ - |s^+| m`; ``0.05`` is NV-Retriever's
        best setting *TopK-PercPos 95%* (negatives at most 95 % of the positive score).
    sampling : {'top', 'random', 'simans', 'softmax'}, default='top'
        - ``'top'``: the best ``num_negatives`` survivors.
        - ``'random'``: uniform without replacement among the survivors (seeded, unlike
          sentence-transformers), returned sorted by score.
        - ``'simans'``: SimANS ambiguous negatives, without replacement with
          :math:`p_i \propto \exp(-a (s_i - s^+ - b)^2)` (the paper's sign: the mode is at
          :math:`s^+ + b`), ``a = simans_a``, ``b = simans_b``.
        - ``'softmax'``: NV-Retriever's sampled top-k, :math:`p_i \propto \exp(s_i / T)`
          with ``T = temperature``, without replacement.
    seed : int or Generator, default=0
        For the sampled strategies; same seed, same negatives.
    query_corpus_ids : array-like of shape (n_queries,), default=None
        Corpus row of each query (``-1`` for none), never returned as its negative.
    exclude : same forms as ``positives``, default=None
        Further corpus rows never returned per query (known links, duplicates); unlike
        positives they do not set :math:`s^+`.
    metric : {'cosine', 'ip'}, default='cosine'
    temperature, simans_a, simans_b : float
        Parameters of ``'softmax'`` and ``'simans'``.
    precision : {'fp32', 'bf16', 'fp16'}, default='fp32'
        ``'fp32'``: fp32 scores. On the CPU they come from the certified bf16 pass of
        :func:`graphneg.knn_search` (bounded bf16 error, every candidate that could be in the
        top ``depth`` re-scored in fp32) when the CPU has fast bf16, else from fp32 GEMM
        tiles. ``'bf16'``/``'fp16'``: score blocks (CPU: bf16 tiles) in reduced precision,
        keep ``max(32, depth / 4)`` extra candidates and re-score them (and the positives)
        exactly in fp32, so the filters and the ranking see fp32 scores; results equal fp32's
        unless a candidate falls outside that margin.
    block_size : int, default=None
        Queries per block; ``None`` keeps a block's score matrix near 32M floats.
        Memory is ``O(block_size * n_docs + n_queries * range_max)``.
    device : str or torch.device, default=None
        Torch device for the block products.
    show_progress : bool, default=False

    Returns
    -------
    HardNegatives
        ``indices``/``scores`` of shape ``(n_queries, num_negatives)``, ``-1``/``nan``
        padded; never a positive, the query itself or a duplicate.

    Raises
    ------
    ValueError
        Positives out of range or empty for a query, ``range_max <= range_min``,
        ``num_negatives > range_max - range_min``, negative margins, ``num_negatives < 1``,
        mismatched dimensions.

    Warns
    -----
    GraphNegWarning
        When some queries got fewer than ``num_negatives`` negatives (``n_short``).

    Notes
    -----
    Deliberate differences from sentence-transformers:

    - Inputs are embeddings and row indices, not texts: identical texts are not merged
      (pass them in ``exclude`` or ``positives``), and the result has one row per query,
      not per (query, positive) pair (:func:`graphneg.formats.to_sentence_transformers`
      expands it).
    - ``'random'`` is seeded and draws among the valid survivors only (sentence-transformers
      uses the unseeded global ``random`` and, when fewer than ``num_negatives`` survive,
      may draw disqualified slots, which it then drops).
    - ``query_corpus_ids``, ``exclude`` and the ``'simans'``/``'softmax'`` strategies have no
      counterpart there; the retrieval depth grows by the largest number of excluded rows
      per query so that excluded rows do not eat into ``range_max``.

    With ``sampling='top'`` and no graphneg-only option the negatives are identical to
    sentence-transformers' on the same embeddings (tested on SciFact).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> corpus = rng.normal(size=(100, 8)).astype(np.float32)
    >>> queries = corpus[:5] + 0.1 * rng.normal(size=(5, 8)).astype(np.float32)
    >>> hn = mine_hard_negatives(queries, corpus, np.arange(5), num_negatives=2, relative_margin=0.05)
    >>> hn.indices.shape, bool((hn.indices != np.arange(5)[:, None]).all())
    ((5, 2), True)
    """
    import torch

    metric = check_choice(metric, "metric", ("cosine", "ip"))
    Q = check_embeddings(queries, "queries", metric=metric)
    C = check_embeddings(corpus, "corpus", metric=metric)
    if Q.shape[1] != C.shape[1]:
        raise ValueError(
            f"`queries` and `corpus` must have the same dimension, got {Q.shape[1]} and {C.shape[1]}."
        )
    n_q, n_docs = Q.shape[0], C.shape[0]
    num_negatives = check_int(num_negatives, "num_negatives")
    range_min = check_int(range_min, "range_min", min_value=0)
    sampling = check_choice(sampling, "sampling", SAMPLINGS)
    margins = {}
    for name, value in (("absolute_margin", absolute_margin), ("relative_margin", relative_margin)):
        if value is not None:
            margins[name] = check_float(value, name, min_value=0.0)
    if max_score is not None:
        max_score = check_float(max_score, "max_score")
    if min_score is not None:
        min_score = check_float(min_score, "min_score")
    temperature = check_float(temperature, "temperature", min_value=0.0, min_inclusive=False)
    simans_a = check_float(simans_a, "simans_a", min_value=0.0, min_inclusive=False)
    simans_b = check_float(simans_b, "simans_b")
    show_progress = check_bool(show_progress, "show_progress")
    rng = check_rng(seed)

    P = as_pairs_matrix(positives, n_q, n_docs, "positives")
    n_pos = np.diff(P.indptr)
    if (n_pos == 0).any():
        bad = np.flatnonzero(n_pos == 0)
        raise ValueError(
            f"`positives` is empty for {bad.size} quer{'y' if bad.size == 1 else 'ies'} "
            f"(first: {bad[:5].tolist()}); every query needs at least one positive."
        )
    max_positives = int(n_pos.max())
    X = as_pairs_matrix(exclude, n_q, n_docs, "exclude") if exclude is not None else None
    self_ids = None
    if query_corpus_ids is not None:
        self_ids = np.asarray(query_corpus_ids, dtype=np.int64).ravel()
        if self_ids.size != n_q:
            raise ValueError(f"`query_corpus_ids` must have length {n_q}, got {self_ids.size}.")
        if self_ids.size and (self_ids.max() >= n_docs or self_ids.min() < -1):
            raise ValueError(f"`query_corpus_ids` must be in [-1, {n_docs}), got {self_ids.min()}..{self_ids.max()}.")

    if range_max is None:
        factor = 10 if (margins or max_score is not None) else 1
        range_max = range_min + factor * num_negatives + max_positives
    range_max = check_int(range_max, "range_max")
    if range_max <= range_min:
        raise ValueError(f"`range_max` ({range_max}) must be > `range_min` ({range_min}).")
    if num_negatives > range_max - range_min:
        raise ValueError(
            f"`num_negatives` ({num_negatives}) must be <= range_max - range_min ({range_max - range_min})."
        )
    extra = (int(np.diff(X.indptr).max()) if X is not None and X.nnz else 0) + (self_ids is not None)
    depth = min(range_max + max_positives + extra, n_docs)

    if block_size is None:
        block_size = int(min(max(2**25 // max(n_docs, 1), 64), 8192))
    block_size = check_int(block_size, "block_size")
    precision = check_choice(precision, "precision", ("fp32", "bf16", "fp16"))
    dev = torch.device(device) if device is not None else torch.device("cpu")
    Qt, Ct = torch.from_numpy(Q).to(dev), torch.from_numpy(C).to(dev)
    if metric == "cosine":
        Qt = torch.nn.functional.normalize(Qt, dim=1)
        Ct = torch.nn.functional.normalize(Ct, dim=1)
    low = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    Ql, Cl = (Qt, Ct) if low is None else (Qt.to(low), Ct.to(low))
    margin = 0 if low is None else max(32, depth // 4)
    wide = min(depth + margin, n_docs)
    from ..similarity._knn import _block_starts, _cpu_route, _tiled_blocks, _topk

    def pos_index(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, sp.csr_array]:
        Pb = P[start:stop]
        return np.repeat(np.arange(stop - start), np.diff(Pb.indptr)), Pb.indices.astype(np.int64), Pb

    def blocks_tiled(scoring: str) -> Any:
        # CPU: cache-resident GEMM tiles with a running threshold (graphneg._tiled), exact fp32
        Qn, Cn = Qt.numpy(), Ct.numpy()
        want = min(depth, n_docs)
        tiles = _tiled_blocks(Qn, Cn, want, False, None, show_progress, "Mining hard negatives",
                              scoring=scoring, margin=margin)
        for start, stop, vals, idx in tiles:
            prow, pcol, Pb = pos_index(start, stop)
            ps = np.einsum("nd,nd->n", Qn[start + prow], Cn[pcol]) if prow.size else np.empty(0, np.float32)
            yield start, stop, vals, idx, ps, Pb

    def blocks_torch() -> Any:
        for start in _block_starts(n_q, block_size, show_progress, "Mining hard negatives"):
            stop = min(start + block_size, n_q)
            S = Ql[start:stop] @ Cl.T
            vals_t, idx_t = _topk(S, wide)
            prow, pcol_np, Pb = pos_index(start, stop)
            pcol = torch.from_numpy(pcol_np).to(dev)
            if low is None:  # positive scores straight from this block's score matrix
                ps = S[torch.from_numpy(prow).to(dev), pcol]
            else:
                # exact fp32 re-scoring of the wide candidate set and of the positives
                qb = Qt[start:stop]
                vals_t = torch.einsum("bwd,bd->bw", Ct[idx_t], qb)
                vals_t, order = torch.sort(vals_t, dim=1, descending=True, stable=True)
                idx_t = torch.gather(idx_t, 1, order)
                vals_t, idx_t = vals_t[:, :depth], idx_t[:, :depth]
                ps = (qb[torch.from_numpy(prow).to(dev)] * Ct[pcol]).sum(1)
            yield start, stop, vals_t.float().cpu().numpy(), idx_t.cpu().numpy(), ps.float().cpu().numpy(), Pb

    route = _cpu_route(precision, "ip") if dev.type == "cpu" else "torch"

    out_idx = np.full((n_q, num_negatives), -1, dtype=np.int64)
    out_sc = np.full((n_q, num_negatives), np.nan, dtype=np.float32)
    pos_ref = np.empty(n_q, dtype=np.float32)
    skipped = dict.fromkeys(
        ("positives", "self", "excluded", "absolute_margin", "relative_margin", "max_score", "min_score"), 0
    )
    with torch.inference_mode():
        blocks = blocks_torch() if route == "torch" else blocks_tiled(route)
        for start, stop, vals, idx, ps, Pb in blocks:
            ref = np.minimum.reduceat(ps, Pb.indptr[:-1]) if ps.size else ps
            pos_ref[start:stop] = ref
            rows = np.broadcast_to(np.arange(start, stop)[:, None], idx.shape)
            dead = np.zeros(idx.shape, dtype=bool)

            def drop(mask: np.ndarray, name: str, dead: np.ndarray = dead) -> None:
                new = mask & ~dead
                skipped[name] += int(new.sum())
                dead[new] = True

            drop(_member(P, rows, idx), "positives")
            if self_ids is not None:
                drop(idx == self_ids[start:stop, None], "self")
            if X is not None:
                drop(_member(X, rows, idx), "excluded")
            r = ref[:, None]
            if "absolute_margin" in margins:
                drop(vals + margins["absolute_margin"] > r, "absolute_margin")
            if "relative_margin" in margins:
                drop(vals > r - np.abs(r) * margins["relative_margin"], "relative_margin")
            if max_score is not None:
                drop(vals > max_score, "max_score")
            if min_score is not None:
                drop(vals < min_score, "min_score")
            # survivors keep their score order; rank among survivors decides the window
            surv_rank = np.cumsum(~dead, axis=1) - 1
            window = ~dead & (surv_rank >= range_min) & (surv_rank < range_max)
            chosen = _select(window, vals, ref, num_negatives, sampling, rng, temperature, simans_a, simans_b)
            n_chosen = chosen.sum(axis=1)
            # chosen entries in descending score order: positions are already sorted
            col = np.cumsum(chosen, axis=1) - 1
            rr, cc = np.nonzero(chosen)
            out_idx[start + rr, col[rr, cc]] = idx[rr, cc]
            out_sc[start + rr, col[rr, cc]] = vals[rr, cc]
            del n_chosen
    n_short = int(((out_idx >= 0).sum(axis=1) < num_negatives).sum())
    if n_short:
        warnings.warn(
            f"{n_short} of {n_q} queries got fewer than {num_negatives} negatives; consider "
            "raising range_max or loosening range_min, max_score and the margins.",
            GraphNegWarning,
            stacklevel=2,
        )
    return HardNegatives(out_idx, out_sc, pos_ref, n_short, skipped)


def _select(
    window: np.ndarray,
    vals: np.ndarray,
    ref: np.ndarray,
    n: int,
    sampling: str,
    rng: np.random.Generator,
    temperature: float,
    a: float,
    b: float,
) -> np.ndarray:
    """Boolean mask of the chosen candidates (at most ``n`` per row) inside ``window``."""
    if sampling == "top":
        return window & (np.cumsum(window, axis=1) <= n)
    # weighted sampling without replacement by the Gumbel-top-k trick: the n largest
    # log(w) + Gumbel keys are a draw of n items without replacement with p ~ w
    if sampling == "random":
        logw = np.zeros(vals.shape)
    elif sampling == "simans":
        logw = -a * (vals.astype(np.float64) - ref[:, None] - b) ** 2
    else:
        logw = vals.astype(np.float64) / temperature
    keys = np.where(window, logw + rng.gumbel(size=vals.shape), -np.inf)
    kth = min(n, keys.shape[1])
    top = np.argpartition(-keys, kth - 1, axis=1)[:, :kth]
    chosen = np.zeros(window.shape, dtype=bool)
    np.put_along_axis(chosen, top, True, axis=1)
    return chosen & window
