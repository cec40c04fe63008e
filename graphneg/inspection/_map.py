"""A 2-D map of a sample of the items: PCA by default (milliseconds), UMAP on request."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import numpy as np

from .._optional import optional_import
from .._random import SeedLike, check_rng
from .._validation import check_choice, safe_normalize

logger = logging.getLogger(__name__)


def map_2d(
    embeddings: Any,
    groups: Any = None,
    *,
    highlight: Any = None,
    max_points: int = 2000,
    method: str = "auto",
    seed: SeedLike = 0,
) -> dict[str, Any]:
    """2-D coordinates of a seeded sample of the items, with their group and one highlighted batch.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
        Rows are L2-normalised first (a copy), so the map shows cosine geometry.
    groups : array-like of shape (n_items,), default=None
        Community (or label) per item, for colouring.
    highlight : int array, default=None
        Items to mark (one batch); all of them are in the sample.
    max_points : int, default=2000
        Sample size.
    method : {'auto', 'umap', 'pca'}, default='auto'
        ``'auto'`` is PCA: the cheapest faithful projection (a linear map of the cosine
        geometry, its explained variance reported), milliseconds for 2,000 points. ``'umap'``
        (extra ``[plot]``) shows local neighbourhoods better, but its numba compilation costs
        tens of seconds in every fresh process, which made ``graphneg inspect`` of a
        CiteSeer-size corpus take 50 s instead of 5.
    seed : int or numpy.random.Generator, default=0

    Returns
    -------
    dict
        ``method``, ``num_items``, ``num_points``, ``x``, ``y``, ``group`` (or None),
        ``highlight`` (bool per point), ``explained_variance`` (PCA only).

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(50, 5))
    >>> m = map_2d(X, np.arange(50) % 3, highlight=[0, 1], method="pca")
    >>> m["method"], m["num_points"], sum(m["highlight"])
    ('pca', 50, 2)
    """
    rng = check_rng(seed)
    E = safe_normalize(embeddings, "embeddings")
    n = E.shape[0]
    marked = np.unique(np.asarray(highlight if highlight is not None else [], dtype=np.int64))
    rest = np.setdiff1d(np.arange(n), marked)
    take = max(0, min(max_points, n) - marked.size)
    sample = np.sort(np.concatenate([marked, rng.choice(rest, min(take, rest.size), replace=False)]))
    method = check_choice(method, "method", ("auto", "umap", "pca"))
    if method == "auto":
        method = "pca"
    out: dict[str, Any] = {"method": method, "num_items": int(n), "num_points": int(sample.size)}
    if method == "umap":
        umap = optional_import("umap", extra="plot", feature="the UMAP map (method='umap')")
        # seeded UMAP runs on one thread anyway; saying so keeps umap from warning about it
        xy = umap.UMAP(n_components=2, random_state=int(rng.integers(2**31 - 1)), n_jobs=1).fit_transform(E[sample])
    else:
        xy, explained = _pca(E[sample])
        out["explained_variance"] = explained
    out.update(
        x=np.round(xy[:, 0], 4).tolist(), y=np.round(xy[:, 1], 4).tolist(),
        group=None if groups is None else np.asarray(groups)[sample].tolist(),
        highlight=np.isin(sample, marked).tolist(),
    )
    return out


def umap_available() -> bool:
    """Whether umap-learn is installed (``method='umap'`` needs it).

    >>> isinstance(umap_available(), bool)
    True
    """
    return importlib.util.find_spec("umap") is not None


def _pca(E: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """First two principal components and the share of variance each explains."""
    C = E.astype(np.float64) - E.mean(axis=0)
    var, vecs = np.linalg.eigh(C.T @ C)  # dim x dim: cheaper than an SVD of the sample
    var, vecs = var[::-1].clip(min=0), vecs[:, ::-1]
    total = var.sum() if var.sum() > 0 else 1.0
    xy = C @ vecs[:, :2]
    if xy.shape[1] < 2:  # one-dimensional data
        xy = np.column_stack([xy, np.zeros(len(xy))])
    return xy, [float(v / total) for v in var[:2]]
