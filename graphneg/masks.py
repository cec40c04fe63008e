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

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

from ._validation import check_choice, check_float, check_int
from .mining import as_pairs_matrix

__all__ = ["false_negative_mask", "guide_mask", "masked_info_nce", "FalseNegativeCollator"]

MarginStrategy = Literal["absolute", "relative"]
MARGIN_STRATEGIES = ("absolute", "relative")
NegativesLayout = Literal["query_major", "slot_major"]
NEGATIVES_LAYOUTS = ("query_major", "slot_major")
REDUCTIONS = ("mean", "sum", "none")


# -- id inputs ------------------------------------------------------------------------------
def _to_numpy(x: Any) -> Any:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def _ids(x: Any, name: str, ndims: tuple[int, ...], min_value: int) -> np.ndarray:
    """Return ``x`` as int64 ids with one of ``ndims`` dimensions, every id >= ``min_value``."""
    try:
        arr = np.asarray(_to_numpy(x))
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"`{name}` must be a rectangular array of ids, got ragged rows.") from err
    integral = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.floating) and bool(np.all(np.mod(arr, 1) == 0))
    )
    if arr.dtype == bool or not integral:
        raise TypeError(f"`{name}` must hold integer ids, got dtype {arr.dtype}.")
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"`{name}` must be {want}, got shape {arr.shape}.")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < min_value:
        hint = " (-1 marks padding)" if min_value == -1 else ""
        raise ValueError(f"`{name}` must hold ids >= {min_value}{hint}, got {int(arr.min())}.")
    return arr


def _prepare_ids(
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


def _keys(target_keys: Any) -> np.ndarray | None:
    if target_keys is None:
        return None
    keys = np.asarray(_to_numpy(target_keys))
    if keys.ndim != 1 or keys.size == 0:
        raise ValueError(
            "`target_keys` must be a non-empty 1-D array (one key per target id), "
            f"got shape {keys.shape}."
        )
    return keys


def _n_targets(target_keys: np.ndarray | None, known_positives: Any, rank_graph: Any) -> int | None:
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
def _check_rows(rows: np.ndarray | None, n_rows: int, name: str) -> None:
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


def _pairs_rows(
    pairs: Any, rows: np.ndarray | None, name: str, n_targets: int | None
) -> sp.csr_array:
    """Rows ``rows`` (all when ``None``) of "targets per query" input as a boolean CSR.

    Only the batch's rows are normalised, so a per-batch call costs O(batch), not O(dataset).
    """
    if sp.issparse(pairs):
        M = sp.csr_array(pairs)
        _check_rows(rows, M.shape[0], name)
        if rows is not None:
            M = M[rows]
        return as_pairs_matrix(M, M.shape[0], M.shape[1], name)
    if (
        isinstance(pairs, np.ndarray)
        and pairs.ndim in (1, 2)
        and np.issubdtype(pairs.dtype, np.integer)
    ):
        _check_rows(rows, pairs.shape[0], name)
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
        _check_rows(rows, n_rows, name)
        sub = list(pairs) if rows is None else [pairs[int(r)] for r in rows]
        hi = _max_id(sub)
    n_cols = n_targets if n_targets is not None else max(hi + 1, 1)
    return as_pairs_matrix(sub, len(sub), n_cols, name)


def _rank_rows(
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
            return _pairs_rows(graph, rows, name, n_targets)
        if top_p is None:
            return _pairs_rows(graph, rows, name, n_targets)
        try:
            n_rows = len(graph)
        except TypeError as err:
            raise TypeError(
                f"`{name}` must be a sparse similarity graph, an (n, k) int array of neighbours "
                f"in rank order, or a sequence of ranked id lists, got {type(graph).__name__}."
            ) from err
        _check_rows(rows, n_rows, name)
        selected = range(n_rows) if rows is None else rows
        ranked = [np.atleast_1d(np.asarray(graph[int(r)]))[:top_p] for r in selected]
        return _pairs_rows(ranked, None, name, n_targets)
    G = sp.csr_array(graph)
    _check_rows(rows, G.shape[0], name)
    if rows is not None:
        G = G[rows]
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
    """``out[i, j]``: is target ``cand[j]`` stored in row ``i`` of ``P``? (``(B, C)`` bool)."""
    u, inv = np.unique(cand, return_inverse=True)
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    cols = P.indices.astype(np.int64)
    pos = np.minimum(np.searchsorted(u, cols), u.size - 1)
    hit = u[pos] == cols
    found = np.zeros((P.shape[0], u.size), dtype=bool)
    found[rows[hit], pos[hit]] = True
    return found[:, inv.ravel()]


# -- guide (GISTEmbed) rule -------------------------------------------------------------------
def _gist_rule(scores: Any, margin: float, strategy: str) -> Any:
    """sentence-transformers GISTEmbedLoss: ``s_ij > s_ii - m`` or ``s_ij > s_ii - |s_ii| m``.

    Works on numpy arrays and torch tensors alike; the caller protects the target column.
    """
    pos = scores[:, : scores.shape[0]].diagonal().reshape(-1, 1)
    threshold = pos - margin if strategy == "absolute" else pos - abs(pos) * margin
    return scores > threshold


def _check_margin(margin: Any, strategy: Any, name: str) -> tuple[float, str]:
    return check_float(margin, name), check_choice(strategy, "margin_strategy", MARGIN_STRATEGIES)


def _check_guide_scores(guide_scores: Any, b: int, c: int) -> np.ndarray:
    g = np.asarray(_to_numpy(guide_scores))
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


def _build_mask(
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
        mask |= _gist_rule(guide, margin, strategy)
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

    Notes
    -----
    GISTEmbed's strict inequality keeps an exact duplicate of the positive when
    ``guide_margin == 0`` (its guide score ties :math:`g_{ii}`); the identity/``target_keys``
    term masks it. As in sentence-transformers, the guide rule reads the query's own positive
    score :math:`g_{ii}`.

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
    guide_margin, margin_strategy = _check_margin(guide_margin, margin_strategy, "guide_margin")
    if top_p is not None:
        top_p = check_int(top_p, "top_p")
        if rank_graph is None:
            raise ValueError("`top_p` needs `rank_graph` (the neighbours it ranks), got None.")
    keys = _keys(target_keys)
    n_targets = _n_targets(keys, known_positives, rank_graph)
    q, p, neg = _prepare_ids(batch_items, positive_items, negative_items, n_targets)
    known = (
        None
        if known_positives is None
        else _pairs_rows(known_positives, q, "known_positives", n_targets)
    )
    rank = None if rank_graph is None else _rank_rows(rank_graph, q, top_p, n_targets)
    guide = None
    if guide_scores is not None:
        guide = _check_guide_scores(guide_scores, q.size, q.size * (1 + neg.shape[1]))
    return _build_mask(p, neg, layout, keys, known, rank, guide, guide_margin, margin_strategy)


# -- torch side -----------------------------------------------------------------------------
def _embeddings(x: Any, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if not t.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {t.dtype}.")
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty 2-D tensor (n, dim), got shape {tuple(t.shape)}."
        )
    return t


def _query_candidate_pair(
    query: Any, candidates: Any, qname: str, cname: str
) -> tuple[torch.Tensor, torch.Tensor]:
    q, c = _embeddings(query, qname), _embeddings(candidates, cname)
    if q.shape[1] != c.shape[1]:
        raise ValueError(
            f"`{qname}` and `{cname}` must have the same dimension, "
            f"got {q.shape[1]} and {c.shape[1]}."
        )
    if c.shape[0] < q.shape[0]:
        raise ValueError(
            f"`{cname}` must hold at least the B = {q.shape[0]} positives (B*(1+n) rows), "
            f"got {c.shape[0]}."
        )
    return q, c


def _cosine(q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    # normalise-then-GEMM: O((B + C) d) extra memory, unlike an O(B C d) broadcast cosine
    return F.normalize(q, dim=-1) @ F.normalize(c, dim=-1).T


def guide_mask(
    guide_query_emb: Any,
    guide_candidate_emb: Any,
    *,
    margin: float = 0.0,
    margin_strategy: MarginStrategy = "absolute",
) -> torch.Tensor:
    r"""GISTEmbed false-negative mask from a guide model's embeddings (torch, no gradient).

    With cosine guide similarities :math:`g_{ij} = \cos(\hat q_i, \hat c_j)`, masks

    .. math::

        M_{ij} = [j \ne i] \wedge \big[g_{ij} > g_{ii} - m\big] \quad\text{(absolute)},
        \qquad
        M_{ij} = [j \ne i] \wedge \big[g_{ij} > g_{ii} - |g_{ii}|\,m\big] \quad\text{(relative)},

    sentence-transformers ``GISTEmbedLoss``'s rule on its anchor-positive and anchor-negative
    blocks, positive protected (its anchor-anchor and positive-positive blocks are not
    part of this layout). Costs one ``(B, C)`` product of the guide embeddings.

    Parameters
    ----------
    guide_query_emb : tensor of shape (B, d_g)
    guide_candidate_emb : tensor of shape (C, d_g)
        The guide's embeddings of the candidates, in the layout of the loss (``C = B(1+n)``).
    margin : float, default=0.0
    margin_strategy : {'absolute', 'relative'}, default='absolute'

    Returns
    -------
    torch.Tensor of shape (B, C), bool
        On the device of the embeddings; combine with an id mask by ``|``.

    Examples
    --------
    >>> gq = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> gc = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.6, 0.8]])
    >>> guide_mask(gq, gc).int().tolist()
    [[0, 0, 0, 0], [0, 0, 0, 0]]
    >>> guide_mask(gq, gc, margin=0.1).int().tolist()  # cos = 0.995 > 1 - 0.1
    [[0, 0, 1, 0], [0, 0, 0, 0]]
    """
    margin, margin_strategy = _check_margin(margin, margin_strategy, "margin")
    q, c = _query_candidate_pair(
        guide_query_emb, guide_candidate_emb, "guide_query_emb", "guide_candidate_emb"
    )
    with torch.no_grad():
        mask = _gist_rule(_cosine(q, c), margin, margin_strategy)
        diag = torch.arange(q.shape[0], device=mask.device)
        mask[diag, diag] = False
    return mask


def _as_mask(mask: Any, b: int, c: int, device: torch.device) -> torch.Tensor:
    m = torch.from_numpy(mask) if isinstance(mask, np.ndarray) else mask
    if not isinstance(m, torch.Tensor) or m.dtype != torch.bool:
        kind = m.dtype if isinstance(m, torch.Tensor) else type(mask).__name__
        raise TypeError(f"`mask` must be a boolean tensor or array, got {kind}.")
    if tuple(m.shape) != (b, c):
        raise ValueError(f"`mask` must have shape (B, C) = ({b}, {c}), got {tuple(m.shape)}.")
    return m.to(device)


def masked_info_nce(
    query_emb: torch.Tensor,
    candidate_emb: torch.Tensor,
    mask: Any = None,
    *,
    temperature: float = 0.05,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> torch.Tensor:
    r"""InfoNCE over in-batch and hard negatives, with masked candidates removed.

    With :math:`s_{ij} = \cos(q_i, c_j)`, temperature :math:`\tau` and the target of query
    :math:`i` at column :math:`i`,

    .. math::

        \ell_i = -\log \frac{\exp(s_{ii}/\tau)}
                            {\sum_{j \,:\, \neg M_{ij}} \exp(s_{ij}/\tau)}
               = -\frac{s_{ii}}{\tau} + \log \sum_{j \,:\, \neg M_{ij}} e^{s_{ij}/\tau},

    i.e. cross entropy with targets ``arange(B)`` after setting masked logits to
    :math:`-\infty`. :math:`M_{ii}` is ignored (the target always stays), so a row with every
    other candidate masked contributes :math:`\ell_i = 0`. Without a mask this is
    sentence-transformers' ``MultipleNegativesRankingLoss`` with ``scale = 1 / temperature``.

    Parameters
    ----------
    query_emb : tensor of shape (B, d)
    candidate_emb : tensor of shape (C, d)
        The ``B`` positives, then the hard negatives, in the mask's layout (``C = B(1+n)``).
    mask : bool tensor or ndarray of shape (B, C), default=None
        ``True`` = not a negative (from :func:`false_negative_mask`, :func:`guide_mask` or
        :class:`FalseNegativeCollator`); moved to the embeddings' device.
    temperature : float, default=0.05
    reduction : {'mean', 'sum', 'none'}, default='mean'

    Returns
    -------
    torch.Tensor
        A scalar, or the ``(B,)`` losses with ``reduction='none'``. Logits are computed in at
        least float32.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> q, c = torch.randn(3, 8, generator=g), torch.randn(6, 8, generator=g)
    >>> bool(torch.isclose(masked_info_nce(q, c, torch.zeros(3, 6, dtype=torch.bool)),
    ...                    masked_info_nce(q, c)))
    True
    >>> float(masked_info_nce(q, c, torch.ones(3, 6, dtype=torch.bool)))  # only targets left
    0.0
    """
    temperature = check_float(temperature, "temperature", min_value=0.0, min_inclusive=False)
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    q, c = _query_candidate_pair(query_emb, candidate_emb, "query_emb", "candidate_emb")
    b = q.shape[0]
    logits = _cosine(q, c)
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32)) / temperature
    target = torch.arange(b, device=logits.device)
    if mask is not None:
        m = _as_mask(mask, b, c.shape[0], logits.device).clone()
        m[target, target] = False
        logits = logits.masked_fill(m, float("-inf"))
    return F.cross_entropy(logits, target, reduction=reduction)


# -- DataLoader integration -------------------------------------------------------------------
IdFn = Callable[[Any], tuple[Any, Any, Any]]


class FalseNegativeCollator:
    """``collate_fn`` that returns each batch together with its false-negative mask.

    Reads, from every dataset item, its query's global id, its positive's target id and its
    hard negatives' target ids, and builds :func:`false_negative_mask` for the batch. The
    "targets per query" inputs are normalised once here, so each batch costs O(batch).

    Parameters
    ----------
    id_fn : callable or tuple of three keys
        ``id_fn(item) -> (query_id, positive_id, negative_ids)``; or keys
        ``(query_key, positive_key, negatives_key)`` read as ``item[key]`` (dict keys or tuple
        positions; ``negatives_key=None`` for pairs). Negative ids may be ``-1`` padded and must
        have the same length for every item. Keys (not lambdas) pickle for worker processes.
    target_keys, known_positives, rank_graph, top_p, negatives_layout
        As in :func:`false_negative_mask`.
    collate_fn : callable, default=torch.utils.data.default_collate
        Collates the items themselves.

    Notes
    -----
    Usage, with each item holding ``q`` (query input), ``pos`` and ``negs`` (``n`` inputs)::

        loader = DataLoader(ds, batch_size=64, collate_fn=FalseNegativeCollator(
            ("qid", "pid", "nids"), known_positives=qrels, rank_graph=knn_idx, top_p=5))
        for batch, mask in loader:
            docs = torch.cat([batch["pos"], batch["negs"].flatten(0, 1)])  # query-major
            loss = masked_info_nce(model(batch["q"]), model(docs), mask)

    The guide (GISTEmbed) term needs model outputs, so it is added in the loop:
    ``mask | guide_mask(guide(batch["q"]), guide(docs))``.

    Examples
    --------
    >>> items = [{"qid": 0, "pid": 10, "nids": np.array([11])},
    ...          {"qid": 1, "pid": 11, "nids": np.array([12])}]
    >>> batch, mask = FalseNegativeCollator(("qid", "pid", "nids"))(items)
    >>> batch["nids"].shape, mask.int().tolist()
    (torch.Size([2, 1]), [[0, 0, 0, 0], [0, 0, 1, 0]])
    """

    def __init__(
        self,
        id_fn: IdFn | Sequence[Any],
        *,
        target_keys: Any = None,
        known_positives: Any = None,
        rank_graph: Any = None,
        top_p: int | None = None,
        negatives_layout: NegativesLayout = "query_major",
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if callable(id_fn):
            self.id_fn: IdFn | None = id_fn
            self.id_keys: tuple[Any, Any, Any] | None = None
        elif isinstance(id_fn, (tuple, list)) and len(id_fn) == 3:
            self.id_fn, self.id_keys = None, (id_fn[0], id_fn[1], id_fn[2])
        else:
            raise TypeError(
                "`id_fn` must be a callable item -> (query_id, positive_id, negative_ids) or a "
                f"tuple of three keys (query_key, positive_key, negatives_key), got {id_fn!r}."
            )
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"`collate_fn` must be callable, got {collate_fn!r}.")
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.negatives_layout = check_choice(
            negatives_layout, "negatives_layout", NEGATIVES_LAYOUTS
        )
        if top_p is not None:
            top_p = check_int(top_p, "top_p")
            if rank_graph is None:
                raise ValueError("`top_p` needs `rank_graph` (the neighbours it ranks), got None.")
        self.top_p = top_p
        self._keys = _keys(target_keys)
        self.n_targets = _n_targets(self._keys, known_positives, rank_graph)
        self._known = (
            None
            if known_positives is None
            else _pairs_rows(known_positives, None, "known_positives", self.n_targets)
        )
        self._rank = (
            None if rank_graph is None else _rank_rows(rank_graph, None, top_p, self.n_targets)
        )

    def _item_ids(self, item: Any) -> tuple[Any, Any, Any]:
        if self.id_fn is not None:
            ids = self.id_fn(item)
            if not isinstance(ids, (tuple, list)) or len(ids) != 3:
                raise ValueError(
                    "`id_fn` must return (query_id, positive_id, negative_ids), got "
                    f"{type(ids).__name__} {ids!r}."
                )
            return ids[0], ids[1], ids[2]
        qk, pk, nk = self.id_keys  # type: ignore[misc]
        return item[qk], item[pk], (None if nk is None else item[nk])

    def mask(self, items: Sequence[Any]) -> np.ndarray:
        """The ``(B, B(1+n))`` boolean mask of ``items`` (as numpy), without collating."""
        if len(items) == 0:
            raise ValueError("`items` must hold at least one dataset item, got an empty batch.")
        qs, ps, ns = zip(*(self._item_ids(item) for item in items), strict=True)
        neg = None
        if any(n is not None for n in ns):
            rows = [np.asarray(_to_numpy(n)).ravel() for n in ns]
            lengths = {r.size for r in rows}
            if len(lengths) > 1:
                raise ValueError(
                    "every item must have the same number of negative ids (pad with -1), got "
                    f"lengths {sorted(lengths)}."
                )
            neg = np.stack(rows)
        q, p, neg_ids = _prepare_ids(
            np.array([_to_numpy(x) for x in qs]),
            np.array([_to_numpy(x) for x in ps]),
            neg,
            self.n_targets,
        )
        known = rank = None
        if self._known is not None:
            _check_rows(q, self._known.shape[0], "known_positives")
            known = self._known[q]
        if self._rank is not None:
            _check_rows(q, self._rank.shape[0], "rank_graph")
            rank = self._rank[q]
        return _build_mask(
            p, neg_ids, self.negatives_layout, self._keys, known, rank, None, 0.0, "absolute"
        )

    def __call__(self, items: Sequence[Any]) -> tuple[Any, torch.Tensor]:
        """Return ``(collate_fn(items), mask)`` with ``mask`` a ``torch.bool`` tensor."""
        mask = self.mask(items)
        return self.collate_fn(list(items)), torch.from_numpy(mask)
