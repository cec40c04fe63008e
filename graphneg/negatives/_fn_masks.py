r"""False-negative masks from one rule each: teacher scores, known positives, graph hops, clusters.

Same layout as :func:`~graphneg.negatives.false_negative_mask`: a batch of :math:`B` queries
and :math:`C \ge B` candidates, candidate column ``i`` being the positive (target) of query
``i``; a mask is a boolean ``(B, C)`` array, ``True`` = "must not count as a negative", and is
never ``True`` at a target cell ``(i, i)``. The masks combine with ``|`` (with each other
and with ``false_negative_mask``'s output) and are applied as :math:`-\infty` logits by
:func:`graphneg.training.masked_info_nce`.

- :func:`score_threshold_mask`: a candidate that scores above the positive (Qwen3-Embedding
  [1]_) or above a share of it (NV-Retriever TopK-PercPos [2]_);
- :func:`known_positive_mask`: a candidate that is another known positive of the query
  (multi-positive qrels, citations);
- :func:`khop_mask`: a candidate node within ``hops`` hops of the query node (the risk set of
  HaSa [3]_ and SANS [4]_);
- :func:`cluster_mask`: a candidate in the query's cluster (ClusterNS [5]_).

Inputs may be numpy arrays, lists or torch tensors (read through ``.detach().cpu().numpy()``
without importing torch); the output is always a numpy bool array.

References
----------
.. [1] Zhang et al., "Qwen3 Embedding: Advancing Text Embedding and Reranking Through
   Foundation Models", 2025. arXiv:2506.05176.
.. [2] Moreira et al., "NV-Retriever: Improving text embedding models with effective
   hard-negative mining", 2024. arXiv:2407.15831.
.. [3] Zhang et al., "HaSa: Hardness and Structure-Aware Contrastive Knowledge Graph
   Embedding", WWW 2024. arXiv:2305.10563.
.. [4] Ahrabian et al., "Structure Aware Negative Sampling in Knowledge Graphs", EMNLP 2020.
   arXiv:2009.11355.
.. [5] Deng et al., "Clustering-Aware Negative Sampling for Unsupervised Sentence
   Representation", Findings of ACL 2023. arXiv:2305.09892.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._ids import check_index_array
from .._sparse import graph_pattern, pair_keys, sorted_member, within_hops
from .._validation import check_float, check_int


def _numpy(x: Any) -> np.ndarray:
    # duck-typed so that this module works without importing torch
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _ids(x: Any, name: str, *, padding: bool = False) -> np.ndarray:
    """1-D int64 ids >= 0 (>= -1 with ``padding``): the one index rule of
    :func:`graphneg._ids.check_index_array`."""
    return check_index_array(_numpy(x), name, ndims=(1,), min_value=-1 if padding else 0)


def _check_batch(b: int, c: int, names: tuple[str, str]) -> None:
    if b == 0:
        raise ValueError(f"`{names[0]}` must hold at least one query, got none.")
    if c < b:
        raise ValueError(
            f"`{names[1]}` must hold at least B = {b} candidates (the B positives first), got {c}."
        )


def _without_targets(mask: np.ndarray) -> np.ndarray:
    d = np.arange(mask.shape[0])
    mask[d, d] = False  # the target is never masked
    return mask


def _lookup(rows: np.ndarray, cols: np.ndarray, q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``out[i, j]``: is ``(q[i], c[j])`` one of the pairs ``(rows, cols)``? (``(B, C)`` bool).

    Sorted int64 keys over the batch's own query ids only, so nothing is ever
    ``n_queries x n_docs``; negative (padding) candidates are never members.
    """
    uq, qi = np.unique(q, return_inverse=True)
    r = np.minimum(np.searchsorted(uq, rows), uq.size - 1)
    found = uq[r] == rows
    n_cols = int(max(cols.max(initial=-1), c.max(initial=-1))) + 1
    keys = np.unique(pair_keys(r[found], cols[found], n_cols))
    hit = sorted_member(keys, pair_keys(qi.reshape(-1, 1), np.maximum(c, 0)[None, :], n_cols))
    return hit & (c >= 0)[None, :]


def score_threshold_mask(
    scores: Any, *, margin: float | None = None, fraction: float | None = None
) -> np.ndarray:
    r"""Mask the candidates that a teacher scores too close to, or above, the query's positive.

    With :math:`s_{ij}` the score of query :math:`i` and candidate :math:`j` and
    :math:`s_{ii}` that of its positive,

    .. math::

        M_{ij} = [j \ne i] \wedge \big( [s_{ij} > s_{ii} + m] \vee [s_{ij} \ge f\, s_{ii}] \big)

    where each term is used only when its option is given: ``margin`` :math:`m` is the
    Qwen3-Embedding rule (:math:`m = 0.1`, "a negative must beat the positive by 0.1 to be
    dropped" [1]_; :math:`m < 0` masks candidates just below the positive too, as
    sentence-transformers' GIST ``absolute`` margin does with :math:`-m`); ``fraction``
    :math:`f` is NV-Retriever's TopK-PercPos (:math:`f = 0.95`: keep a negative only if it
    scores below 95 % of the positive, Alg. 3 of [2]_), here applied to every in-batch and
    hard-negative candidate. Given both, a candidate is masked when either rule fires.

    Parameters
    ----------
    scores : array-like of shape (B, C), float
        Teacher (or detached student) similarities of each query with each candidate; column
        ``i`` is the positive of query ``i``. A torch tensor is read without importing torch.
    margin : float, optional
        :math:`m` above.
    fraction : float in (0, 1], optional
        :math:`f` above. It assumes positive scores (cosine of a positive pair): for
        :math:`s_{ii} < 0`, :math:`f\,s_{ii} > s_{ii}` and the rule masks less.

    Returns
    -------
    ndarray of shape (B, C), bool

    Raises
    ------
    ValueError
        Neither option given, a bad shape, or non-finite scores.

    See Also
    --------
    false_negative_mask : ids, known positives, mining ranks and a guide model's scores.
    graphneg.guide_mask : the GISTEmbed rule on a guide model's embeddings, in torch.
    NegativeSelection : the same margins applied to mined candidates.

    References
    ----------
    .. [1] Zhang et al., "Qwen3 Embedding: Advancing Text Embedding and Reranking Through
       Foundation Models", 2025, arXiv:2506.05176.
    .. [2] Moreira et al., "NV-Retriever: Improving text embedding models with effective
       hard-negative mining", 2024, arXiv:2407.15831.

    Examples
    --------
    >>> s = np.array([[0.80, 0.95, 0.78, 0.10],
    ...               [0.30, 0.60, 0.59, 0.65]])
    >>> score_threshold_mask(s, margin=0.1).astype(int)
    array([[0, 1, 0, 0],
           [0, 0, 0, 0]])
    >>> score_threshold_mask(s, fraction=0.95).astype(int)
    array([[0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    if margin is None and fraction is None:
        raise ValueError("Pass `margin` (Qwen3-Embedding), `fraction` (NV-Retriever) or both, got neither.")
    s = _numpy(scores)
    if s.dtype == bool or not (np.issubdtype(s.dtype, np.integer) or np.issubdtype(s.dtype, np.floating)):
        raise TypeError(f"`scores` must be a real-valued array, got dtype {s.dtype}.")
    if s.ndim != 2:
        raise ValueError(f"`scores` must be 2-D (B, C), got shape {s.shape}.")
    _check_batch(s.shape[0], s.shape[1], ("scores", "scores"))
    if not np.isfinite(s).all():
        raise ValueError("`scores` contains NaN or inf.")
    pos = s.diagonal()[:, None]
    mask = np.zeros(s.shape, dtype=bool)
    if margin is not None:
        mask |= s > pos + check_float(margin, "margin")
    if fraction is not None:
        f = check_float(fraction, "fraction", min_value=0.0, max_value=1.0, min_inclusive=False)
        mask |= s >= f * pos
    return _without_targets(mask)


def _known_pairs(known: Any, q: np.ndarray, num_docs: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The ``(query, doc)`` pairs of ``known`` for the queries ``q`` only: O(batch positives)."""
    if sp.issparse(known):
        M = sp.csr_array(known)  # may share the caller's arrays: only read below
        if num_docs is not None and M.shape[1] != num_docs:
            raise ValueError(f"`num_docs` ({num_docs}) disagrees with `known_positives` ({M.shape[1]} columns).")
        if q.max() >= M.shape[0]:
            raise ValueError(f"`query_ids` holds query {int(q.max())}, but `known_positives` has {M.shape[0]} rows.")
        start, stop = M.indptr[q], M.indptr[q + 1]
        lengths = (stop - start).astype(np.int64)
        offsets = np.repeat(start - np.cumsum(lengths) + lengths, lengths)
        at = offsets + np.arange(int(lengths.sum()))
        nonzero = M.data[at] != 0  # the zero rule: a stored 0 is no known positive
        return np.repeat(q, lengths)[nonzero], M.indices[at][nonzero].astype(np.int64)
    if isinstance(known, np.ndarray) and np.issubdtype(known.dtype, np.integer) and known.ndim in (1, 2):
        n_rows, table = known.shape[0], known.reshape(known.shape[0], -1)
    else:
        try:
            n_rows, table = len(known), None
        except TypeError as err:
            raise TypeError(
                "`known_positives` must be a sparse matrix, an int array or a sequence of id lists, "
                f"got {type(known).__name__}."
            ) from err
    if q.max() >= n_rows:
        raise ValueError(f"`query_ids` holds query {int(q.max())}, but `known_positives` has {n_rows} rows.")
    uq = np.unique(q)
    if table is not None:
        lists = [table[r][table[r] >= 0] for r in uq]  # -1 pads a 2-D array
    else:
        lists = [np.atleast_1d(_numpy(known[int(r)])).ravel() for r in uq]
        lists = [x if x.size else x.astype(np.int64) for x in lists]  # [] reads as float
    cols = np.concatenate(lists) if lists else np.empty(0)
    if cols.size and (not np.issubdtype(cols.dtype, np.integer) or cols.min() < 0):
        raise ValueError("`known_positives` must hold non-negative integer doc ids.")
    return np.repeat(uq, [x.size for x in lists]), cols.astype(np.int64)


def known_positive_mask(
    query_ids: Any, candidate_ids: Any, known_positives: Any, *, num_docs: int | None = None
) -> np.ndarray:
    r"""Mask the candidates that are known positives of the query.

    .. math::

        M_{ij} = [j \ne i] \wedge \big( c_j \in \mathcal{P}(q_i) \vee c_j = -1 \big)

    with :math:`\mathcal{P}(q)` the known positives of query :math:`q` (every relevant
    document of a multi-positive query, every cited paper) and :math:`-1` a padded slot. The
    batch's rows are read directly from the CSR arrays and looked up as sorted int64 keys:
    O(B C log P_B) time for the batch's :math:`P_B` known positives, with no dense
    ``n_queries x n_docs`` structure (NFCorpus: 2,590 queries, up to 1,363 positives each).

    Parameters
    ----------
    query_ids : array-like of shape (B,), int
        Row of each query in ``known_positives``.
    candidate_ids : array-like of shape (C,), int
        Document id of each candidate (the ``B`` positives first); ``-1`` is padding and
        always masked.
    known_positives : sparse (n_queries, n_docs), int array or sequence of id lists
        Every nonzero entry of row ``q`` is a known positive of ``q`` (a stored 0 is not:
        the package's zero rule); a 2-D int array may be ``-1`` padded; a 1-D int array is one positive per query.
    num_docs : int, optional
        Number of documents; every id must be below it.

    Returns
    -------
    ndarray of shape (B, C), bool

    See Also
    --------
    false_negative_mask : the same rule with the other id-based ones.
    khop_mask : the positives' graph neighbourhood too.
    graphneg.conflict_free_batches : keeps known positives out of a query's batch instead.

    Examples
    --------
    Query 7 also has document 12 as a positive; query 3 has document 11 only:

    >>> known = {7: [10, 12], 3: [11]}
    >>> rows = [known.get(q, []) for q in range(8)]
    >>> known_positive_mask([7, 3], [10, 11, 12, -1], rows).astype(int)
    array([[0, 0, 1, 1],
           [0, 0, 0, 1]])
    """
    q = _ids(query_ids, "query_ids")
    c = _ids(candidate_ids, "candidate_ids", padding=True)
    _check_batch(q.size, c.size, ("query_ids", "candidate_ids"))
    if num_docs is not None:
        num_docs = check_int(num_docs, "num_docs")
        if c.max() >= num_docs:
            raise ValueError(f"`candidate_ids` holds doc {int(c.max())}, outside [0, {num_docs}).")
    rows, cols = _known_pairs(known_positives, q, num_docs)
    if num_docs is not None and cols.size and cols.max() >= num_docs:
        raise ValueError(f"`known_positives` holds doc {int(cols.max())}, outside [0, {num_docs}).")
    return _without_targets(_lookup(rows, cols, q, c) | (c < 0)[None, :])


def khop_mask(query_nodes: Any, candidate_nodes: Any, graph: Any, *, hops: int = 1) -> np.ndarray:
    r"""Mask the candidate nodes within ``hops`` undirected hops of the query node.

    .. math::

        M_{ij} = [j \ne i] \wedge \big( \operatorname{dist}_G(u_i, v_j) \le h \vee v_j = -1 \big)

    The risk set of HaSa (nodes within :math:`h` hops are likely false negatives) and the
    support of SANS's k-hop pool; the query node itself (distance 0) is masked too. Computed
    by a breadth-first search from the batch's distinct query nodes with sparse products:
    O(B · reach) time and memory.

    Parameters
    ----------
    query_nodes : array-like of shape (B,), int
        Node row of each query.
    candidate_nodes : array-like of shape (C,), int
        Node row of each candidate (the ``B`` positives first); ``-1`` is padding, masked.
    graph : LinkGraph or square sparse matrix
        Link or kNN graph; directions are ignored (either link counts).
    hops : int, default=1
        :math:`h` above.

    Returns
    -------
    ndarray of shape (B, C), bool

    See Also
    --------
    khop_link_negatives : draws negatives at exactly ``hops`` hops (SANS).
    known_positive_mask : the direct positives only.
    false_negative_mask : combines masks.

    References
    ----------
    .. [1] Zhang et al., "HaSa: Hardness and Structure-Aware Contrastive Knowledge Graph
       Embedding", WWW 2024, arXiv:2305.10563.
    .. [2] Ahrabian et al., "Structure Aware Negative Sampling in Knowledge Graphs", EMNLP 2020,
       arXiv:2009.11355.

    Examples
    --------
    A path 0 - 1 - 2 - 3; query 0 (positive 1) and query 3 (positive 2):

    >>> A = sp.csr_array(np.eye(4, k=1))
    >>> khop_mask([0, 3], [1, 2, 0, 3], A).astype(int)
    array([[0, 0, 1, 0],
           [0, 0, 0, 1]])
    >>> khop_mask([0, 3], [1, 2, 0, 3], A, hops=2).astype(int)
    array([[0, 1, 1, 0],
           [1, 0, 0, 1]])
    """
    A = graph_pattern(graph)
    hops = check_int(hops, "hops", min_value=0)
    q = _ids(query_nodes, "query_nodes")
    c = _ids(candidate_nodes, "candidate_nodes", padding=True)
    _check_batch(q.size, c.size, ("query_nodes", "candidate_nodes"))
    n = A.shape[0]
    for name, arr in (("query_nodes", q), ("candidate_nodes", c)):
        if arr.max() >= n:
            raise ValueError(f"`{name}` holds node {int(arr.max())}, outside the graph's [0, {n}).")
    uq = np.unique(q)
    ball = within_hops(A, uq, hops)
    rows = np.repeat(uq, np.diff(ball.indptr))
    return _without_targets(_lookup(rows, ball.indices.astype(np.int64), q, c) | (c < 0)[None, :])


def cluster_mask(query_labels: Any, candidate_labels: Any) -> np.ndarray:
    r"""Mask the candidates in the query's cluster (ClusterNS's likely false negatives).

    .. math::

        M_{ij} = [j \ne i] \wedge [\ell(q_i) = \ell(c_j)]

    ClusterNS flags in-batch pairs whose sentences fall in the same k-means cluster and keeps
    them in the softmax, adding a bidirectional margin loss; masking them is the hard version
    of the same rule (use the mask to select the pairs for such a loss instead).

    Parameters
    ----------
    query_labels : array-like of shape (B,)
        Cluster of each query (any comparable labels, e.g. ``communities`` output).
    candidate_labels : array-like of shape (C,)
        Cluster of each candidate (the ``B`` positives first).

    Returns
    -------
    ndarray of shape (B, C), bool

    See Also
    --------
    cluster_hard_negatives : ClusterNS's negatives, from the nearest other cluster.
    graphneg.communities : cluster labels from a kNN graph.
    false_negative_mask : combines masks.

    References
    ----------
    .. [1] Deng et al., "Clustering-Aware Negative Sampling for Unsupervised Sentence
       Representation", Findings of ACL 2023, arXiv:2305.09892.

    Examples
    --------
    >>> cluster_mask([0, 1], [0, 1, 1, 0]).astype(int)
    array([[0, 0, 0, 1],
           [0, 0, 1, 0]])
    """
    a, b = _numpy(query_labels), _numpy(candidate_labels)
    for name, arr in (("query_labels", a), ("candidate_labels", b)):
        if arr.ndim != 1:
            raise ValueError(f"`{name}` must be 1-D, got shape {arr.shape}.")
    _check_batch(a.size, b.size, ("query_labels", "candidate_labels"))
    return _without_targets(np.asarray(a[:, None] == b[None, :], dtype=bool))
