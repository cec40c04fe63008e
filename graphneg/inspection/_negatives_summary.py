"""Numbers about a mined-negatives file: how many negatives each query got, how many are
missing or leak a positive, and, with scores, where the negatives sit against the positive.

Reads every trainer format graphneg writes (through :mod:`graphneg.io`'s readers): the
``graphneg citations`` triplets, sentence-transformers rows, FlagEmbedding and Tevatron.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._random import SeedLike, check_rng
from .._validation import safe_normalize
from ..exceptions import GraphNegWarning
from ._numbers import distribution

logger = logging.getLogger(__name__)

FORMATS = ("triplets", "st", "flag", "tevatron")


def negatives_format(record: Mapping[str, Any]) -> str | None:
    """The trainer format of one JSONL record, None when it is none of them.

    Examples
    --------
    >>> negatives_format({"query": "q", "pos": ["p"], "neg": []})
    'flag'
    >>> negatives_format({"indices": [1, 2]}) is None
    True
    """
    keys = set(record)
    if {"query_id", "positive_id", "negative_ids"} <= keys:
        return "triplets"
    if {"anchor", "positive"} <= keys:
        return "st"
    if {"query", "pos", "neg"} <= keys:
        return "flag"
    if {"query_id", "positive_passages", "negative_passages"} <= keys:
        return "tevatron"
    return None


def read_negatives(path: str | Path, fmt: str) -> list[dict[str, Any]]:
    """Rows ``{"query", "positives", "negatives", "positive_scores"?, "negative_scores"?}``.

    ``query``, ``positives`` and ``negatives`` are ids where the format has them (triplets,
    Tevatron), texts otherwise; scores come from the file where it stores them.

    Parameters
    ----------
    path : str or path-like
    fmt : {'triplets', 'st', 'flag', 'tevatron'}

    Returns
    -------
    list of dict

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "n.jsonl"
    >>> _ = p.write_text('{"query_id": "a", "positive_id": "b", "negative_ids": ["c"]}\\n')
    >>> read_negatives(p, "triplets")
    [{'query': 'a', 'positives': ['b'], 'negatives': ['c']}]
    """
    from ..io import _formats_flagembedding as flag
    from ..io import _formats_st as st
    from ..io import _formats_tevatron as tevatron
    from ..io._jsonl import read_jsonl

    if fmt == "triplets":
        recs = read_jsonl(path, True, lambda rec: None, "triplets")
        return [{"query": r["query_id"], "positives": [r["positive_id"]], "negatives": list(r["negative_ids"])}
                for r in recs]
    if fmt == "flag":
        return [_with_scores({"query": r["query"], "positives": r["pos"], "negatives": r["neg"]},
                             r.get("pos_scores"), r.get("neg_scores")) for r in flag.read_flagembedding(path)]
    if fmt == "tevatron":
        return [{"query": str(r["query_id"]), "positives": [str(p["docid"]) for p in r["positive_passages"]],
                 "negatives": [str(p["docid"]) for p in r["negative_passages"]]} for r in tevatron.read_tevatron(path)]
    cols = st.read_sentence_transformers_jsonl(path)
    neg_cols = [c for c in cols if c.startswith("negative")]
    rows = []
    for i, (q, p) in enumerate(zip(cols.get("anchor", []), cols.get("positive", []), strict=True)):
        scores = cols["scores"][i] if "scores" in cols else None
        row = {"query": q, "positives": [p], "negatives": [cols[c][i] for c in neg_cols]}
        rows.append(_with_scores(row, scores[:1] if scores else None, scores[1:] if scores else None))
    return rows


def _with_scores(row: dict[str, Any], pos: Any, neg: Any) -> dict[str, Any]:
    if pos is not None and neg is not None:
        row.update(positive_scores=[float(s) for s in pos], negative_scores=[float(s) for s in neg])
    return row


def negatives_summary(
    rows: list[dict[str, Any]],
    *,
    embeddings: Any = None,
    row_of: Mapping[str, int] | None = None,
    range_min: int | None = None,
    range_max: int | None = None,
    relative_margin: float | None = None,
    absolute_margin: float | None = None,
    max_queries: int = 500,
    seed: SeedLike = 0,
) -> dict[str, Any]:
    """Counts, score distributions and rank positions of mined negatives.

    Parameters
    ----------
    rows : list of dict
        From :func:`read_negatives`.
    embeddings : array-like of shape (n_items, dim), default=None
        With ``row_of``: cosine scores (when the file has none) and each negative's rank
        among all items for its query.
    row_of : mapping of str to int, default=None
        The embedding row of each query / document key (an id, or a text).
    range_min, range_max, relative_margin, absolute_margin : default=None
        The mining settings, recorded so that the plots mark where they cut.
    max_queries : int, default=500
        Queries sampled (seeded) for the ranks.
    seed : int or numpy.random.Generator, default=0

    Returns
    -------
    dict
        ``queries``, ``negatives_per_query`` (distribution), ``max_negatives``,
        ``short_queries`` (fewer negatives than the most any query got: filtered or not
        found), ``missing_negatives``, ``positive_leaks`` (a query's positive listed as its
        negative), ``duplicate_negatives``; with scores ``scores`` (``positive``,
        ``negative``, ``margin`` = negative - positive, ``above_positive_share``,
        ``source``) and ``ranks`` (a distribution of the negatives' ranks, 0 = most similar);
        with embeddings ``unknown_ids`` (``queries``, ``positives``, ``negatives``: ids naming
        no row of ``row_of``, left out of the scores; a ``GraphNegWarning`` gives the counts).

    Examples
    --------
    >>> rows = [{"query": "a", "positives": ["b"], "negatives": ["c", "b"]},
    ...         {"query": "d", "positives": ["e"], "negatives": []}]
    >>> s = negatives_summary(rows)
    >>> s["queries"], s["short_queries"], s["positive_leaks"]
    (2, 1, 1)
    """
    counts = np.array([len(r["negatives"]) for r in rows], dtype=np.int64)
    top = int(counts.max(initial=0))
    out: dict[str, Any] = {
        "queries": len(rows),
        "negatives_per_query": distribution(counts, integer=True),
        "max_negatives": top,
        "short_queries": int((counts < top).sum()),
        "missing_negatives": int((top - counts).sum()),
        "positive_leaks": sum(len(set(r["negatives"]) & set(r["positives"])) for r in rows),
        "duplicate_negatives": sum(len(r["negatives"]) - len(set(r["negatives"])) for r in rows),
        "settings": {"range_min": range_min, "range_max": range_max, "relative_margin": relative_margin,
                     "absolute_margin": absolute_margin},
    }
    E = safe_normalize(embeddings, "embeddings") if embeddings is not None and row_of is not None else None
    if E is not None:
        out["unknown_ids"] = _unknown_ids(rows, row_of)  # type: ignore[arg-type]
    scores = _file_scores(rows) if E is None else _cosine_scores(rows, E, row_of)  # type: ignore[arg-type]
    if scores is not None:
        out["scores"] = _score_summary(*scores, source="file" if E is None else "cosine")
    if E is not None:
        out["ranks"] = _ranks(rows, E, row_of, max_queries, check_rng(seed))  # type: ignore[arg-type]
    return out


def _unknown_ids(rows: list[dict[str, Any]], row_of: Mapping[str, int]) -> dict[str, int]:
    """How many query, positive and negative ids of ``rows`` name no embedding row; warns
    with the numbers when any does (they cannot be scored, and are left out of the scores)."""
    counts = {"queries": 0, "positives": 0, "negatives": 0}
    examples: list[str] = []
    for r in rows:
        for key, values in (("queries", [r["query"]]), ("positives", r["positives"]),
                            ("negatives", r["negatives"])):
            for v in values:
                if str(v) not in row_of:
                    counts[key] += 1
                    if len(examples) < 3:
                        examples.append(repr(str(v)))
    if any(counts.values()):
        total = {"queries": len(rows), "positives": sum(len(r["positives"]) for r in rows),
                 "negatives": sum(len(r["negatives"]) for r in rows)}
        singular = {"queries": "query", "positives": "positive", "negatives": "negative"}
        parts = ", ".join(f"{counts[k]} of {total[k]} {singular[k]} ids" for k in counts if counts[k])
        warnings.warn(
            f"negatives file: {parts} name no embedding row (first: {', '.join(examples)}); "
            "they are left out of the scores and ranks. Check that the ids (--ids) name the "
            "file's queries and documents.",
            GraphNegWarning, stacklevel=3,
        )
    return counts


def _file_scores(rows: list[dict[str, Any]]) -> tuple[np.ndarray, list[np.ndarray]] | None:
    if not rows or "positive_scores" not in rows[0]:
        return None
    pos = np.array([max(r["positive_scores"]) for r in rows])
    return pos, [np.asarray(r["negative_scores"], dtype=np.float64) for r in rows]


def _cosine_scores(rows: list[dict[str, Any]], E: np.ndarray, row_of: Mapping[str, int]) -> Any:
    pos, neg = [], []
    for r in rows:
        q = row_of.get(str(r["query"]))
        ps = [row_of[str(p)] for p in r["positives"] if str(p) in row_of]
        if q is None or not ps:
            continue
        pos.append(float((E[ps] @ E[q]).max()))
        ns = [row_of[str(v)] for v in r["negatives"] if str(v) in row_of]
        neg.append(E[ns] @ E[q] if ns else np.empty(0))
    if not pos:
        raise ValueError("no query of the negatives file and its positive were found among the embedding "
                         "rows; check that the ids (--ids) name the file's queries and documents")
    return np.array(pos), neg


def _score_summary(pos: np.ndarray, neg: list[np.ndarray], source: str) -> dict[str, Any]:
    margins = np.concatenate([n - p for p, n in zip(pos, neg, strict=True)]) if neg else np.empty(0)
    flat = np.concatenate(neg) if neg else np.empty(0)
    lo = float(min(pos.min(initial=0.0), flat.min(initial=0.0)))
    hi = float(max(pos.max(initial=1.0), flat.max(initial=1.0)))
    return {
        "source": source,
        "positive": distribution(pos, value_range=(lo, hi), bins=40),
        "negative": distribution(flat, value_range=(lo, hi), bins=40),
        "margin": distribution(margins, bins=40),
        "above_positive_share": float((margins > 0).mean()) if margins.size else None,
    }


def _ranks(rows: list[dict[str, Any]], E: np.ndarray, row_of: Mapping[str, int], max_queries: int,
           rng: np.random.Generator) -> dict[str, Any]:
    """Rank of each negative among all items for its query (0: the most similar other item)."""
    pick = rng.choice(len(rows), min(max_queries, len(rows)), replace=False) if rows else []
    ranks = []
    for i in np.sort(pick):
        r = rows[i]
        q = row_of.get(str(r["query"]))
        ns = [row_of[str(v)] for v in r["negatives"] if str(v) in row_of]
        if q is None or not ns:
            continue
        s = E @ E[q]
        s[q] = -np.inf  # the query itself is no candidate
        ordered = np.sort(s)[::-1]
        ranks.extend((np.searchsorted(-ordered, -s[ns], side="left")).tolist())
    return distribution(ranks, bins=40, integer=True, log_bins=True)
