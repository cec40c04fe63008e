"""Light node embeddings of a link graph: a randomized spectral factorisation, no training.

SciNCL embeds its citation graph with PyTorch-BigGraph and then picks positives and
negatives by kNN rank in that space. :func:`graph_embedding` is the dependency-light
stand-in: a few sparse products with the normalised adjacency, a QR per product and one
small eigenproblem, so memory is ``O(n_nodes * dim + nnz)`` and a graph with millions of
edges embeds in seconds to minutes on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.sparse.csgraph import connected_components

from .._random import SeedLike, check_rng
from .._sparse import pattern, symmetric
from .._validation import check_choice, check_graph, check_int
from ._graph import LinkGraph

Method = Literal["svd", "eigsh"]
METHODS = ("svd", "eigsh")
Components = Literal["project", "drop", "keep"]
COMPONENTS = ("project", "drop", "keep")

# Rows whose norm is below this fraction of the largest row norm are numerical noise (nodes
# with no weight in the leading spectrum); they are set to exactly zero, like isolated nodes.
_ZERO_ROW_RTOL = 1e-8


def _undirected_adjacency(graph: Any) -> sp.csr_array:
    """Binary symmetric float64 adjacency without self-loops, from a LinkGraph or a sparse matrix.

    A new matrix: the caller's graph is never modified. An explicitly stored 0 is not a link
    (``check_graph`` drops it on its copy); weights and directions are ignored.
    """
    if isinstance(graph, LinkGraph):
        U = graph.undirected()  # already binary and loop-free
    else:
        # the pattern first: a union of weights could cancel (1 and -1) or keep a 0
        U = symmetric(pattern(check_graph(graph, "graph")), "union")
    return sp.csr_array(
        (np.ones(U.nnz, np.float64), U.indices.copy(), U.indptr.copy()), shape=U.shape
    )


def _check_weights(weights: Any) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"`weights` must be a non-empty 1-D sequence (w_1, ..., w_T), got {weights!r}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError(f"`weights` must be finite, >= 0 and not all zero, got {w.tolist()}.")
    return w


def graph_embedding(
    graph: LinkGraph | Any,
    dim: int = 128,
    *,
    method: Method = "svd",
    weights: Sequence[float] = (1.0, 1.0),
    num_iterations: int = 10,
    oversample: int = 16,
    components: Components = "project",
    seed: SeedLike = 0,
) -> np.ndarray:
    r"""Embed the nodes of a graph so that linked and closely connected nodes are near.

    With :math:`A` the undirected adjacency (``i ~ j`` when either links to the other),
    :math:`D` its degrees and :math:`\hat A = D^{-1/2} A D^{-1/2}` (eigenvalues in
    :math:`[-1, 1]`), the embedding factorises the multi-hop proximity

    .. math::

        S = \sum_{t=1}^{T} w_t \hat A^{t}
          = f(1) \sum_{C} u_C u_C^\top + \sum_{i} f(\lambda_i)\, v_i v_i^\top,
        \qquad f(\lambda) = \sum_{t=1}^{T} w_t \lambda^{t},

    where :math:`u_C = D^{1/2}\mathbf 1_C / \sqrt{\operatorname{vol} C}` is the eigenvalue-1
    eigenvector of connected component :math:`C` and :math:`(\lambda_i, v_i)` are the other
    eigenpairs. With ``components='project'`` the result is

    .. math::

        E = \operatorname{rownorm}\!\Big(V_d\, f(\Lambda_d)^{1/2}
            + f(1)^{1/2} \textstyle\sum_C u_C\, g_C^\top\Big),

    :math:`V_d` the ``dim`` leading non-trivial eigenvectors (negative :math:`f` clipped to
    0) and :math:`g_C` a seeded random unit vector per component, so :math:`E E^\top` is the
    best rank-``dim`` positive part of :math:`S` within components plus, up to
    :math:`O(1/\sqrt{\text{dim}})` random cross terms, its exact component block (NetMF /
    ProNE-like, without their nonlinearity). :math:`S` and :math:`\hat A^t` are never formed:
    only products :math:`\hat A X` with an ``(n_nodes, dim + oversample)`` block.

    Parameters
    ----------
    graph : LinkGraph or sparse array of shape (n_nodes, n_nodes)
        The links; directions and weights are ignored (a citation either way is one edge,
        an explicitly stored 0 is none). Never modified.
    dim : int, default=128
        Embedding dimension, ``1 <= dim < n_nodes``.
    method : {'svd', 'eigsh'}, default='svd'
        ``'svd'``: randomized SVD of the lazy operator :math:`(I + \hat A)/2` (positive
        semi-definite, so its SVD is its eigendecomposition): ``num_iterations`` rounds of seeded
        subspace iteration from a Gaussian block, then Rayleigh-Ritz. A few rounds leave the
        subspace slightly unconverged, which acts as extra low-pass smoothing: on Cora the
        default ``num_iterations=10`` recovers held-out links better than converged eigenvectors.
        ``'eigsh'``: ARPACK Lanczos (:func:`scipy.sparse.linalg.eigsh`, ``which='LA'``,
        seeded start vector): converged eigenvectors, ``O(n_nodes * 2 dim)`` memory.
    weights : sequence of float, default=(1.0, 1.0)
        Hop weights :math:`w_1..w_T` (``>= 0``, not all 0); the default weighs direct links
        and 2-hop paths (shared neighbours) equally. ``(1.0,)`` is the plain spectral
        embedding of :math:`\hat A`.
    num_iterations : int, default=10
        Subspace iterations for ``'svd'`` (``0``: one random projection); unused by
        ``'eigsh'``.
    oversample : int, default=16
        Extra block columns for ``'svd'`` (capped so ``dim + oversample <= n_nodes``).
    components : {'project', 'drop', 'keep'}, default='project'
        How the component vectors :math:`u_C` are treated. They are always projected out of
        the eigensolver for ``'project'`` and ``'drop'``: a citation graph has thousands of
        components, and their indicators would crowd the structure within components out of
        the ``dim`` columns. ``'project'`` adds them back as the random term above, so the
        nodes of a small component (whose own eigenvalues are often all <= 0) still point
        the same way; ``'drop'`` leaves it out (such nodes then get zero rows); ``'keep'``
        does not deflate at all (fine for a graph with a few components).
    seed : int, Generator or None, default=0
        Seeds the start block (``'svd'``) or start vector (``'eigsh'``) and the :math:`g_C`.

    Returns
    -------
    ndarray of shape (n_nodes, dim), float32
        Unit-norm rows, except **zero rows** for isolated nodes (no link either way) and
        nodes with nothing in the kept spectrum (numerically zero rows, e.g. a tiny component
        with ``components='drop'``).

    Raises
    ------
    ValueError
        If ``dim >= n_nodes``, the graph has no links, or ``weights`` is not non-negative.

    See Also
    --------
    graphneg.scincl_link_negatives : SciNCL's positives and negatives by kNN rank in it.
    graphneg.knn_search : kNN over the rows (``metric="ip"``, see Notes).

    Notes
    -----
    For kNN over the result use ``knn_search(E, k, metric="ip")``: on unit rows the inner
    product *is* the cosine, and zero rows score 0 against everything instead of making
    ``metric="cosine"`` raise. Skip zero rows as queries (``E.any(axis=1)``): their
    neighbours are arbitrary. Time is ``O((num_iterations + 1) (nnz\, b + n_{nodes} b^2))`` with
    ``b = dim + oversample``; memory ``O(n_{nodes}\, b + nnz)``.

    Examples
    --------
    Two triangles joined by one link, and a separate pair: nodes of the same triangle are
    closest, the pair points its own way, the isolated node 8 gets a zero row.

    >>> edges = [[0, 1], [1, 2], [2, 0], [3, 4], [4, 5], [5, 3], [2, 3], [6, 7]]
    >>> g = LinkGraph.from_index_edges(edges, num_nodes=9)
    >>> E = graph_embedding(g, dim=3, seed=0)
    >>> E.shape, E.dtype
    ((9, 3), dtype('float32'))
    >>> np.round(np.linalg.norm(E, axis=1), 3).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    >>> sim = E @ E.T
    >>> bool(sim[0, 1] > sim[0, 4]), round(float(sim[6, 7]), 3)
    (True, 1.0)
    """
    check_choice(method, "method", METHODS)
    check_choice(components, "components", COMPONENTS)
    w = _check_weights(weights)
    num_iterations = check_int(num_iterations, "num_iterations", min_value=0)
    oversample = check_int(oversample, "oversample", min_value=0)
    U = _undirected_adjacency(graph)
    n = U.shape[0]
    dim = check_int(dim, "dim")
    if dim >= n:
        raise ValueError(f"`dim` must be < n_nodes ({n}), got {dim}.")
    if U.nnz == 0:
        raise ValueError("`graph` has no links (self-loops aside); there is nothing to embed.")
    rng = check_rng(seed)

    deg = np.asarray(U.sum(axis=1)).ravel()
    live = deg > 0
    d_inv_sqrt = np.zeros(n)
    d_inv_sqrt[live] = 1.0 / np.sqrt(deg[live])
    A_hat = sp.csr_array(sp.diags_array(d_inv_sqrt) @ U @ sp.diags_array(d_inv_sqrt))
    comps = _Components.of(U, deg, live) if components != "keep" else None
    apply = _operator(A_hat, comps)
    if method == "svd":
        lam, V = _randomized_eig(apply, live, dim, num_iterations, oversample, rng)
    else:
        lam, V = _arpack_eig(apply, n, dim, rng)
    return _embedding_rows(lam, V, w, comps if components == "project" else None, live, rng)


@dataclass
class _Components:
    """The eigenvalue-1 eigenvectors :math:`u_C` of the connected components with a link.

    Their supports are disjoint, so projecting onto all of them is ``C (C^T X)`` with a sparse
    ``(n_nodes, n_components)`` ``C`` of one entry ``u`` per live row.
    """

    C: sp.csr_array
    Ct: sp.csr_array
    u: np.ndarray  # the entry of each live row
    comp: np.ndarray  # the component of each live row

    @classmethod
    def of(cls, U: sp.csr_array, deg: np.ndarray, live: np.ndarray) -> _Components:
        n = U.shape[0]
        _, comp = connected_components(U, directed=False)
        comp_ids, comp = np.unique(comp[live], return_inverse=True)
        vol = np.bincount(comp, weights=deg[live], minlength=comp_ids.size)
        u = np.sqrt(deg[live] / vol[comp])
        C = sp.csr_array((u, (np.flatnonzero(live), comp)), shape=(n, comp_ids.size))
        return cls(C, C.T.tocsr(), u, comp)


def _operator(A_hat: sp.csr_array, comps: _Components | None) -> Callable[[np.ndarray], np.ndarray]:
    """``X -> A_hat X``, with the component vectors projected out unless ``comps`` is None."""
    if comps is None:
        return lambda X: A_hat @ X
    C, Ct = comps.C, comps.Ct
    return lambda X: A_hat @ X - C @ (Ct @ X)


def _embedding_rows(
    lam: np.ndarray, V: np.ndarray, w: np.ndarray, comps: _Components | None, live: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    r""":math:`V f(\Lambda)^{1/2}`, plus the random component term when ``comps`` is given, unit rows."""
    # Eigenvector signs are arbitrary; fix them so results do not flip across BLAS builds.
    pivot = np.abs(V).argmax(axis=0)
    signs = np.sign(V[pivot, np.arange(V.shape[1])])
    V *= np.where(signs == 0, 1.0, signs)

    f = sum(wt * lam ** (t + 1) for t, wt in enumerate(w))
    E = V * np.sqrt(np.clip(f, 0.0, None))
    if comps is not None:
        g = rng.standard_normal((comps.C.shape[1], V.shape[1]))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        E[live] += np.sqrt(w.sum()) * comps.u[:, None] * g[comps.comp]  # f(1) = sum of the weights
    E[~live] = 0.0  # no link, no evidence: an exact zero row rather than numerical noise
    norms = np.linalg.norm(E, axis=1)
    keep = norms > _ZERO_ROW_RTOL * norms.max()
    E[~keep] = 0.0
    E[keep] /= norms[keep, None]
    return np.ascontiguousarray(E, dtype=np.float32)


def _randomized_eig(
    apply: Any, live: np.ndarray, dim: int, n_iter: int, oversample: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Leading eigenpairs of the operator by subspace iteration on ``(I + op) / 2``."""
    n = live.size
    b = min(dim + oversample, n)
    mask = live[:, None].astype(np.float64)
    # Isolated rows stay exactly zero: the identity shift would otherwise keep their noise.
    Q, _ = np.linalg.qr(rng.standard_normal((n, b)) * mask)
    for _ in range(n_iter):
        # (I + A)/2 shifts the spectrum into [0, 1], so the *largest* eigenvalues dominate
        # rather than the largest in magnitude (bipartite parts give eigenvalues near -1).
        Q, _ = np.linalg.qr(0.5 * (apply(Q) + Q * mask))
    B = Q.T @ apply(Q)
    lam, W = np.linalg.eigh(0.5 * (B + B.T))
    order = np.argsort(-lam, kind="stable")[:dim]
    return lam[order], Q @ W[:, order]


def _arpack_eig(
    apply: Any, n: int, dim: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Leading (largest algebraic) eigenpairs with ARPACK."""
    op = sla.LinearOperator(
        (n, n), matvec=lambda x: apply(x.reshape(n, -1)).ravel(), matmat=apply, dtype=np.float64
    )
    lam, V = sla.eigsh(op, k=dim, which="LA", v0=rng.standard_normal(n))
    order = np.argsort(-lam, kind="stable")
    return lam[order], V[:, order]
