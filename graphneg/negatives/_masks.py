r"""Per-batch false-negative masks for InfoNCE with in-batch and hard negatives.

Layout (sentence-transformers MNRL / B3 with one hard negative; see ``negatives_layout`` for
more): a batch holds :math:`B` queries; its :math:`C = B(1+n)` candidates are the :math:`B`
positives followed by the :math:`Bn` hard negatives, query by query. Candidate column
``j < B`` is the positive of query ``j``, column ``B + i*n + t`` is the ``t``-th hard negative
of query ``i``, and the target of query ``i`` is column ``i``.

A mask is a boolean ``(B, C)`` array, ``True`` = "must not count as a negative". It is never
``True`` at a target column ``(i, i)``. :func:`false_negative_mask` builds it from ids (known
duplicates, positives, citation links, mining-graph ranks) and optionally a guide model's
scores (GISTEmbed), :class:`FalseNegativeCollator` builds it per batch inside a
``DataLoader``, and :func:`masked_info_nce` applies it as :math:`-\infty` logits.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._ids import check_index_array
from .._sparse import as_pairs_matrix, canonical_csr, csr_member
from .._validation import check_choice, check_float, check_int

MarginStrategy = Literal["absolute", "relative"]
MARGIN_STRATEGIES = ("absolute", "relative")
NegativesLayout = Literal["query_major", "slot_major"]
NEGATIVES_LAYOUTS = ("query_major", "slot_major")
REDUCTIONS = ("mean", "sum", "none")


# -- id inputs ------------------------------------------------------------------------------
def to_numpy(x: Any) -> Any:
    # duck-typed so that this module works without importing torch
    return x.detach().cpu().numpy() if hasattr(x, "detach") and hasattr(x, "cpu") else x


def _ids(x: Any, name: str, ndims: tuple[int, ...], min_value: int) -> np.ndarray:
    """Return ``x`` as int64 ids with one of ``ndims`` dimensions, every id >= ``min_value``
    (the one index rule of :func:`graphneg._ids.check_index_array`)."""
    return check_index_array(to_numpy(x), name, ndims=ndims, min_value=min_value)


def prepare_ids(
    batch_items: Any, positive_items: Any, negative_items: Any, n_targets: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the query ids ``(B,)``, positive ids ``(B,)`` and negative ids ``(B, n)``."""
    q = _ids(batch_items, "batch_items", (1,), 0)
    if q.size == 0:
        raise ValueError("`batch_items` must hold at least one query, got an empty array.")
    b = q.size
    p = _ids(positive_items, "positive_items", (1,), 0)
    if p.size != b:
        raise ValueError(f"`positive_items` must have one target per query ({b}), got {p.size}.")
    if negative_items is None:
        neg = np.empty((b, 0), dtype=np.int64)
    else:
        neg = _ids(negative_items, "negative_items", (1, 2), -1)
        if neg.shape[0] != b:
            raise ValueError(
                f"`negative_items` must have one row per query ({b}), got shape {neg.shape}."
            )
        neg = neg.reshape(b, -1)  # 1-D: one negative per query (triplets)
    if n_targets is not None:
        for name, arr in (("positive_items", p), ("negative_items", neg)):
            if arr.size and arr.max() >= n_targets:
                raise ValueError(
                    f"`{name}` holds target id {int(arr.max())}, "
                    f"outside the targets [0, {n_targets})."
                )
    return q, p, neg


def _candidates(p: np.ndarray, neg: np.ndarray, layout: str) -> np.ndarray:
    """Target id of every candidate column: the positives, then the negatives in ``layout``."""
    flat = neg.T.ravel() if layout == "slot_major" else neg.ravel()
    return np.concatenate([p, flat])


def target_key_array(target_keys: Any) -> np.ndarray | None:
    if target_keys is None:
        return None
    keys = np.asarray(to_numpy(target_keys))
    if keys.ndim != 1 or keys.size == 0:
        raise ValueError(
            "`target_keys` must be a non-empty 1-D array (one key per target id), "
            f"got shape {keys.shape}."
        )
    return keys


def count_targets(target_keys: np.ndarray | None, known_positives: Any, rank_graph: Any) -> int | None:
    """Number of target ids where some input fixes it (keys, sparse shapes), else ``None``."""
    sizes = []
    if target_keys is not None:
        sizes.append(("target_keys", target_keys.size))
    for name, value in (("known_positives", known_positives), ("rank_graph", rank_graph)):
        if sp.issparse(value):
            sizes.append((name, value.shape[1]))
    for name, size in sizes[1:]:
        if size != sizes[0][1]:
            raise ValueError(
                f"`{sizes[0][0]}` and `{name}` disagree on the number of targets "
                f"({sizes[0][1]} vs {size})."
            )
    return sizes[0][1] if sizes else None


# -- "targets per query" inputs as boolean CSR rows -------------------------------------------
def check_mask_rows(rows: np.ndarray | None, n_rows: int, name: str) -> None:
    if rows is not None and rows.size and rows.max() >= n_rows:
        raise ValueError(
            f"`batch_items` holds query id {int(rows.max())}, but `{name}` has only {n_rows} rows."
        )


def _max_id(rows: Any) -> int:
    """Largest id in a sequence of id lists (-1 when there is none or they are not numbers)."""
    best = -1
    for r in rows:
        a = np.asarray(r)
        if a.size and (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            best = max(best, int(np.max(a)))
    return best


def pairs_rows(
    pairs: Any, rows: np.ndarray | None, name: str, n_targets: int | None
) -> sp.csr_array:
    """Rows ``rows`` (all when ``None``) of "targets per query" input as a boolean CSR.

    Only the batch's rows are normalised, so a per-batch call costs O(batch), not O(dataset).
    """
    if sp.issparse(pairs):
        M = sp.csr_array(pairs)
        check_mask_rows(rows, M.shape[0], name)
        if rows is not None:
            M = M[rows]
        return as_pairs_matrix(M, M.shape[0], M.shape[1], name)
    if (
        isinstance(pairs, np.ndarray)
        and pairs.ndim in (1, 2)
        and np.issubdtype(pairs.dtype, np.integer)
    ):
        check_mask_rows(rows, pairs.shape[0], name)
        if pairs.ndim == 2 and pairs.size and pairs.min() < -1:
            raise ValueError(
                f"`{name}` must hold ids >= -1 (-1 marks padding), got {int(pairs.min())}."
            )
        sub: Any = pairs if rows is None else pairs[rows]
        hi = int(sub.max()) if sub.size else -1
    else:
        try:
            n_rows = len(pairs)
        except TypeError as err:
            raise TypeError(
                f"`{name}` must be a sparse matrix, an int array or a sequence of id lists, "
                f"got {type(pairs).__name__}."
            ) from err
        check_mask_rows(rows, n_rows, name)
        sub = list(pairs) if rows is None else [pairs[int(r)] for r in rows]
        hi = _max_id(sub)
    n_cols = n_targets if n_targets is not None else max(hi + 1, 1)
    return as_pairs_matrix(sub, len(sub), n_cols, name)


def rank_rows(
    graph: Any, rows: np.ndarray | None, top_p: int | None, n_targets: int | None
) -> sp.csr_array:
    """Each query's ``top_p`` best-ranked neighbours (all stored when ``None``) as a boolean CSR."""
    name = "rank_graph"
    if (
        isinstance(graph, tuple)
        and len(graph) == 2
        and all(isinstance(g, np.ndarray) and g.ndim == 2 for g in graph)
        and np.issubdtype(graph[0].dtype, np.integer)
    ):
        graph = graph[0]  # knn_search's (indices, similarities)
    if not sp.issparse(graph):
        if (
            isinstance(graph, np.ndarray)
            and graph.ndim == 2
            and np.issubdtype(graph.dtype, np.integer)
        ):
            graph = graph[:, :top_p] if top_p is not None else graph  # columns are in rank order
            return pairs_rows(graph, rows, name, n_targets)
        if top_p is None:
            return pairs_rows(graph, rows, name, n_targets)
        try:
            n_rows = len(graph)
        except TypeError as err:
            raise TypeError(
                f"`{name}` must be a sparse similarity graph, an (n, k) int array of neighbours "
                f"in rank order, or a sequence of ranked id lists, got {type(graph).__name__}."
            ) from err
        check_mask_rows(rows, n_rows, name)
        selected = range(n_rows) if rows is None else rows
        ranked = [np.atleast_1d(np.asarray(graph[int(r)]))[:top_p] for r in selected]
        return pairs_rows(ranked, None, name, n_targets)
    G = sp.csr_array(graph)  # shares the caller's arrays: only read, then copied below
    check_mask_rows(rows, G.shape[0], name)
    # a canonical copy of the batch's rows only (duplicates summed: one rank per neighbour)
    G = canonical_csr(G[rows] if rows is not None else G, name=name)
    data = np.asarray(G.data, dtype=np.float64)
    if data.size and not np.isfinite(data).all():
        raise ValueError(f"`{name}` has non-finite similarities.")
    r = np.repeat(np.arange(G.shape[0], dtype=np.int64), np.diff(G.indptr))
    keep = np.arange(G.nnz)
    if top_p is not None and G.nnz:
        # sort each row by decreasing similarity (ties: lower column), then keep ranks < top_p
        order = np.lexsort((G.indices, -data, r))
        rank = np.arange(G.nnz) - G.indptr[r[order]]
        keep = np.sort(order[rank < top_p])
    P = sp.csr_array((np.ones(keep.size, bool), (r[keep], G.indices[keep])), shape=G.shape)
    return as_pairs_matrix(P, G.shape[0], G.shape[1], name)


def _member(P: sp.csr_array, cand: np.ndarray) -> np.ndarray:
    """``out[i, j]``: is target ``cand[j]`` stored in row ``i`` of ``P``? (``(B, C)`` bool; -1 never)."""
    # ids beyond P's columns (P sized from the batch's own rows) are in no row; as -1 they
    # cannot alias the key of the next row
    cols = np.where(cand < P.shape[1], cand, -1)
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), cols.size)
    return csr_member(P, rows, np.tile(cols, P.shape[0])).reshape(P.shape[0], cols.size)


# -- guide (GISTEmbed) rule -------------------------------------------------------------------
def gist_rule(scores: Any, margin: float, strategy: str) -> Any:
    """sentence-transformers GISTEmbedLoss: ``s_ij > s_ii - m`` or ``s_ij > s_ii - |s_ii| m``.

    Works on numpy arrays and torch tensors alike; the caller protects the target column.
    """
    pos = scores[:, : scores.shape[0]].diagonal().reshape(-1, 1)
    threshold = pos - margin if strategy == "absolute" else pos - abs(pos) * margin
    return scores > threshold


def check_margin(margin: Any, strategy: Any, name: str) -> tuple[float, str]:
    return check_float(margin, name), check_choice(strategy, "margin_strategy", MARGIN_STRATEGIES)


def _check_guide_scores(guide_scores: Any, b: int, c: int) -> np.ndarray:
    g = np.asarray(to_numpy(guide_scores))
    if g.dtype == bool or not (
        np.issubdtype(g.dtype, np.integer) or np.issubdtype(g.dtype, np.floating)
    ):
        raise TypeError(f"`guide_scores` must be a real-valued array, got dtype {g.dtype}.")
    if g.shape != (b, c):
        raise ValueError(
            f"`guide_scores` must have shape (B, B*(1+n)) = ({b}, {c}), got {g.shape}."
        )
    if not np.isfinite(g).all():
        raise ValueError("`guide_scores` contains NaN or inf.")
    return g


def build_mask(
    p: np.ndarray,
    neg: np.ndarray,
    layout: str,
    keys: np.ndarray | None,
    known: sp.csr_array | None,
    rank: sp.csr_array | None,
    guide: np.ndarray | None,
    margin: float,
    strategy: str,
) -> np.ndarray:
    b = p.size
    cand = _candidates(p, neg, layout)
    if keys is None:
        mask = cand[None, :] == p[:, None]
    else:
        ck = keys[np.maximum(cand, 0)]  # padded slots are masked below whatever their key
        mask = np.asarray(ck[None, :] == keys[p][:, None], dtype=bool)
    mask[:, cand < 0] = True  # a padded slot never acts as a negative
    if known is not None:
        mask |= _member(known, cand)
    if rank is not None:
        mask |= _member(rank, cand)
    if guide is not None:
        mask |= gist_rule(guide, margin, strategy)
    diag = np.arange(b)
    mask[diag, diag] = False  # the target is never masked
    return mask


def false_negative_mask(
    batch_items: Any,
    positive_items: Any,
    negative_items: Any = None,
    *,
    target_keys: Any = None,
    known_positives: Any = None,
    rank_graph: Any = None,
    top_p: int | None = None,
    guide_scores: Any = None,
    guide_margin: float = 0.0,
    margin_strategy: MarginStrategy = "absolute",
    negatives_layout: NegativesLayout = "query_major",
) -> np.ndarray:
    r"""Mark the candidates of a batch that must not act as negatives of each query.

    Candidate ``j`` has target id :math:`c_j` (the ``B`` positives, then the hard negatives);
    query ``i`` has global id :math:`q_i` and positive :math:`p_i = c_i`. The mask is

    .. math::

        M_{ij} = [j \ne i] \wedge \big( [c_j = -1]
            \vee [\kappa(c_j) = \kappa(p_i)]
            \vee [c_j \in \mathcal{P}(q_i)]
            \vee [c_j \in \operatorname{top}_p(q_i)]
            \vee [g_{ij} > g_{ii} - \mu_i] \big)

    with :math:`\kappa` = ``target_keys``, :math:`\mathcal{P}` = ``known_positives``,
    :math:`\operatorname{top}_p` = the ``top_p`` best-ranked neighbours in ``rank_graph``,
    :math:`g` = ``guide_scores`` and :math:`\mu_i = m` (absolute) or :math:`|g_{ii}|\,m`
    (relative), :math:`m` = ``guide_margin``. Each term is used only when its input is given
    (the identity of targets always is).

    Parameters
    ----------
    batch_items : array-like of shape (B,), int
        Global id of each query: its row in ``known_positives`` and ``rank_graph``.
    positive_items : array-like of shape (B,), int
        Target id of each query's positive (candidate column ``i``).
    negative_items : array-like of shape (B, n) or (B,), int, default=None
        Target ids of each query's hard negatives; ``-1`` is padding, masked in every row so
        a padded slot never acts as a negative. ``None``: in-batch negatives only.
    target_keys : array-like of shape (n_targets,), default=None
        Key of each target id (a text hash, a duplicate-cluster id); candidates whose key equals
        the key of query ``i``'s positive are masked for query ``i``. ``None``: the id itself,
        so a target that occurs twice in the batch is never a negative of its own query.
    known_positives : sparse (n_queries, n_targets), sequence of id lists, or int array
        Every target known to be relevant to each query (multi-positive queries, citation or
        link edges, same entity); normalised like ``mine_hard_negatives``'s ``positives``
        (a 2-D int array may be ``-1`` padded). Only the batch's rows are read.
    rank_graph : sparse (n_queries, n_targets), int array (n_queries, k), or id lists
        Each query's neighbours in the mining graph: a similarity graph (e.g. ``knn_graph``;
        a higher value ranks first) or neighbour ids in rank order (e.g. ``knn_search``'s
        ``indices``, or its ``(indices, similarities)`` tuple as is).
    top_p : int, default=None
        Rank window masked from ``rank_graph`` (B3's likely false negatives: the ``p`` best
        neighbours that ``knn_graph(..., skip=p)`` skipped). ``None``: every stored neighbour.
    guide_scores : array-like of shape (B, C), default=None
        A guide model's similarities between the queries and the candidates, in this layout
        (GISTEmbed). See :func:`guide_mask` to compute the same mask from guide embeddings.
    guide_margin : float, default=0.0
        :math:`m` above; negative values mask only candidates scoring clearly above the
        positive.
    margin_strategy : {'absolute', 'relative'}, default='absolute'
        As ``GISTEmbedLoss(margin_strategy=...)`` in sentence-transformers.
    negatives_layout : {'query_major', 'slot_major'}, default='query_major'
        Order of the hard-negative columns. ``'query_major'``: column ``B + i*n + t`` is the
        ``t``-th negative of query ``i`` (``torch.cat([pos, negs.flatten(0, 1)])`` of a
        ``(B, n, ...)`` collated tensor). ``'slot_major'``: column ``B + t*B + i``, the order
        of sentence-transformers' MNRL and Cached(GIST) losses on ``(anchor, positive,
        negative_1, ..., negative_n)`` columns. Identical when ``n == 1``.

    Returns
    -------
    ndarray of shape (B, B * (1 + n)), bool
        ``True`` = exclude from the softmax denominator; never ``True`` at ``(i, i)``.

    Raises
    ------
    TypeError
        Non-integer ids, or inputs of an unsupported type.
    ValueError
        Mismatched lengths or shapes, ids out of range (naming the parameter), ``top_p``
        without ``rank_graph``, non-finite guide scores.

    See Also
    --------
    score_threshold_mask, known_positive_mask, khop_mask, cluster_mask : one rule each, combined with ``|``.
    graphneg.FalseNegativeCollator : builds this mask for each batch of a DataLoader.
    graphneg.masked_info_nce : applies it as :math:`-\infty` logits.

    Notes
    -----
    GISTEmbed's strict inequality keeps an exact duplicate of the positive when
    ``guide_margin == 0`` (its guide score ties :math:`g_{ii}`); the identity/``target_keys``
    term masks it. As in sentence-transformers, the guide rule reads the query's own positive
    score :math:`g_{ii}`.

    References
    ----------
    .. [1] Solatorio, "GISTEmbed: Guided In-sample Selection of Training Negatives for Text
       Embedding Fine-tuning", 2024, arXiv:2402.16829.

    Examples
    --------
    Query 0 (positive 10) also has target 12 as a known positive; the hard negative of query 0
    is target 11, the positive of query 1:

    >>> mask = false_negative_mask([0, 1], [10, 11], [[11], [12]],
    ...                            known_positives=[[10, 12], [11]])
    >>> mask.astype(int)
    array([[0, 0, 0, 1],
           [0, 0, 1, 0]])
    """
    layout = check_choice(negatives_layout, "negatives_layout", NEGATIVES_LAYOUTS)
    guide_margin, margin_strategy = check_margin(guide_margin, margin_strategy, "guide_margin")
    if top_p is not None:
        top_p = check_int(top_p, "top_p")
        if rank_graph is None:
            raise ValueError("`top_p` needs `rank_graph` (the neighbours it ranks), got None.")
    keys = target_key_array(target_keys)
    n_targets = count_targets(keys, known_positives, rank_graph)
    q, p, neg = prepare_ids(batch_items, positive_items, negative_items, n_targets)
    known = (
        None
        if known_positives is None
        else pairs_rows(known_positives, q, "known_positives", n_targets)
    )
    rank = None if rank_graph is None else rank_rows(rank_graph, q, top_p, n_targets)
    guide = None
    if guide_scores is not None:
        guide = _check_guide_scores(guide_scores, q.size, q.size * (1 + neg.shape[1]))
    return build_mask(p, neg, layout, keys, known, rank, guide, guide_margin, margin_strategy)
