"""Distributions as small JSON-ready records: the one home of the histogram and quantile rule.

Every distribution in a summary (degrees, similarities, sizes, scores) is stored the same way,
so that a plot can be drawn from ``summary.json`` alone and two summaries compare field by field.
"""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)


def distribution(values: Any, *, bins: int = 30, value_range: tuple[float, float] | None = None,
                 integer: bool = False, log_bins: bool = False) -> dict[str, Any]:
    """Count, mean, quantiles and a histogram of ``values`` (NaN ignored).

    Parameters
    ----------
    values : array-like
        Any shape; flattened. Not modified.
    bins : int, default=30
        Histogram bins (integer data with a small range gets one bin per value instead).
    value_range : (float, float), default=None
        Histogram range; default the data's min and max.
    integer : bool, default=False
        Integer data (degrees, sizes): bins sit on whole numbers.
    log_bins : bool, default=False
        Non-negative data spanning orders of magnitude (ranks): bins equal on a log scale of
        ``value + 1`` (with ``integer``, each bin holds whole numbers only).

    Returns
    -------
    dict
        ``count``, ``mean``, ``std``, ``min``, ``max``, ``quantiles`` (``"p1"`` .. ``"p99"``),
        ``hist`` (``counts`` and ``edges``, ``len(edges) == len(counts) + 1``). Floats are
        plain Python floats; an empty input gives ``count == 0`` and None elsewhere.

    See Also
    --------
    inspect : every distribution of its summary is one of these records.

    Examples
    --------
    >>> d = distribution([1, 2, 2, 3], integer=True)
    >>> d["count"], d["mean"], d["hist"]["counts"]
    (4, 2.0, [1, 2, 1])
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"count": 0, "mean": None, "std": None, "min": None, "max": None, "quantiles": {},
                "hist": {"counts": [], "edges": []}}
    lo, hi = value_range if value_range is not None else (float(v.min()), float(v.max()))
    if log_bins and integer:  # whole-number bins, equal widths on a log scale of value + 1
        edges = np.unique(np.round(np.geomspace(max(lo, 0.0) + 1.0, hi + 2.0, bins + 1))) - 1.5
    elif log_bins:
        edges = np.geomspace(max(lo, 0.0) + 1.0, hi + 2.0, bins + 1) - 1.0
    elif integer and hi - lo <= bins:  # one bin per integer value, centred on it
        edges = np.arange(np.floor(lo), np.floor(hi) + 2) - 0.5
    else:
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    counts, edges = np.histogram(np.clip(v, edges[0], edges[-1]), bins=edges)
    quantiles = np.quantile(v, QUANTILES)
    return {
        "count": int(v.size),
        "mean": float(v.mean()),
        "std": float(v.std()),
        "min": float(v.min()),
        "max": float(v.max()),
        "quantiles": {f"p{round(q * 100)}": float(x) for q, x in zip(QUANTILES, quantiles, strict=True)},
        "hist": {"counts": counts.astype(int).tolist(), "edges": [float(e) for e in edges]},
    }


def skewness(values: Any) -> float:
    """Sample skewness (third standardised moment); 0.0 for constant input.

    Hubness of a kNN graph is the skewness of its k-occurrence (in-degree) distribution
    (Radovanovic et al., JMLR 2010): near 0 no hubs, above ~1 a few items are everyone's neighbour.

    Examples
    --------
    >>> skewness([1, 1, 1]), round(skewness([0, 0, 0, 10]), 3)
    (0.0, 1.155)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    sd = v.std()
    return float(((v - v.mean()) ** 3).mean() / sd**3) if v.size and sd > 0 else 0.0


def as_json(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into plain Python (for ``json.dump``).

    NaN and infinities become None, since JSON has no spelling for them.

    Examples
    --------
    >>> as_json({"a": np.float32(0.5), "b": np.array([1, 2]), "c": float("nan")})
    {'a': 0.5, 'b': [1, 2], 'c': None}
    """
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return as_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
