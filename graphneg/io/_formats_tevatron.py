"""Tevatron (legacy) training JSONL: one self-contained line per query.

``{"query_id", "query", "positive_passages", "negative_passages"}`` with passages
``{"docid", "title", "text"}``: :func:`write_tevatron` / :func:`read_tevatron`. Inputs,
writing and reading as in :mod:`graphneg.io._formats_base`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np  # noqa: F401 - the examples use it

from .._ids import unique_ids
from .._validation import check_bool
from ..negatives._mining import HardNegatives
from ._formats_base import PathLike, check_texts, is_number, prepare, required_fields, text_at, warn_no_negatives
from ._jsonl import read_jsonl, write_jsonl


def write_tevatron(
    path: PathLike,
    query_ids: Sequence[str | int],
    query_texts: Sequence[str],
    doc_ids: Sequence[str | int],
    doc_texts: Sequence[str],
    positives: Any,
    negatives: HardNegatives | Any,
    *,
    doc_titles: Sequence[str] | None = None,
    scores: bool = False,
) -> int:
    """Write Tevatron training JSONL (the legacy, self-contained format), one line per query.

    Each line is ``{"query_id": str, "query": str, "positive_passages": [{"docid": str,
    "title": str, "text": str}], "negative_passages": [...]}``, the layout of
    ``Tevatron/msmarco-passage`` and ``Tevatron/wikipedia-nq``. All valid negatives are
    written (Tevatron draws ``train_group_size - 1`` of them per epoch).

    Parameters
    ----------
    path : str or PathLike
        Output file; written atomically.
    query_ids : sequence of str or int
        Id of each query, unique; written as strings. Ids follow the package rule of
        :class:`~graphneg.LinkGraph`: an int is its decimal string (``1`` and ``"1"`` are the
        same id, so both given is a duplicate); ``None``, NaN, floats, ``bool`` and ``""``
        raise with their position.
    query_texts : sequence of str
    doc_ids : sequence of str or int
        Id of each corpus row, unique; written as strings (``docid``), by the same rule.
    doc_texts : sequence of str
        Passage bodies. When ``doc_titles`` is given these should exclude the title:
        Tevatron joins ``title + " " + text`` itself.
    positives, negatives
        As in :func:`to_sentence_transformers`. Scores are not written.
    doc_titles : sequence of str, default=None
        Title of each corpus row; ``None`` writes ``""``.
    scores : bool, default=False
        Add the teacher's ``score`` to every passage (negatives: the mined score; positives:
        the query's reference positive score); needs a :class:`HardNegatives`.

    Returns
    -------
    int
        Lines written.

    Raises
    ------
    ValueError
        Duplicate ``query_ids`` or ``doc_ids``, mismatched lengths, out-of-range rows, a
        query without positives.
    TypeError
        Ids that are not str or int, texts that are not strings.

    Warns
    -----
    GraphNegWarning
        Queries without any valid negative are skipped (with the count): Tevatron samples
        with ``random.choices`` from the list, which fails when it is empty.

    See Also
    --------
    read_tevatron : the reader of what this writes.
    write_sentence_transformers_jsonl, write_flagembedding : the other trainers' formats.
    graphneg.mine_hard_negatives : the negatives it takes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> docs = ["cats purr", "dogs bark", "fish swim"]
    >>> write_tevatron(path, ["q1"], ["what purrs?"], ["d0", "d1", "d2"], docs,
    ...                [[0]], np.array([[2]]))
    1
    >>> rec = read_tevatron(path)[0]
    >>> rec["query_id"], rec["negative_passages"]
    ('q1', [{'docid': 'd2', 'title': '', 'text': 'fish swim'}])
    """
    mined = prepare(query_texts, doc_texts, positives, negatives)
    qids = unique_ids(query_ids, "query_ids", length=mined.n_queries)
    dids = unique_ids(doc_ids, "doc_ids", length=len(mined.doc_texts))
    if doc_titles is not None:
        doc_titles = check_texts(doc_titles, "doc_titles")
        if len(doc_titles) != len(dids):
            raise ValueError(f"`doc_titles` must have length {len(dids)}, got {len(doc_titles)}.")
    empty = int((mined.counts == 0).sum())
    if check_bool(scores, "scores") and mined.scores is None:
        raise ValueError("`scores=True` needs `negatives` to be a HardNegatives (an index array has no scores).")

    def passage(j: int, score: float | None = None) -> dict[str, Any]:
        title = text_at(doc_titles, j, "doc_titles") if doc_titles is not None else ""
        psg: dict[str, Any] = {"docid": dids[j], "title": title, "text": text_at(mined.doc_texts, j, "doc_texts")}
        if scores:
            psg["score"] = score
        return psg

    def records() -> Iterator[dict[str, Any]]:
        for q in range(mined.n_queries):
            negs, neg_scores = mined.negatives(q)
            if not negs:
                continue
            pos_score = float(mined.positive_scores[q]) if scores else None  # type: ignore[index]
            yield {
                "query_id": qids[q],
                "query": text_at(mined.query_texts, q, "query_texts"),
                "positive_passages": [passage(j, pos_score) for j in mined.positives[q]],
                "negative_passages": [passage(j, s) for j, s in zip(negs, neg_scores or [None] * len(negs),
                                                                        strict=True)],
            }

    written = write_jsonl(path, records())
    warn_no_negatives(empty, mined.n_queries, "Tevatron")
    return written


def _validate_passages(rec: dict[str, Any], key: str, *, non_empty: bool) -> str | None:
    value = rec[key]
    if not isinstance(value, list):
        return f"field {key!r} must be a list of passages, got {value!r:.80}"
    if non_empty and not value:
        return f"field {key!r} must not be empty"
    for k, psg in enumerate(value):
        if not isinstance(psg, dict):
            return f"{key}[{k}] must be an object, got {psg!r:.80}"
        missing = [f for f in ("docid", "title", "text") if f not in psg]
        if missing:
            return f"{key}[{k}] misses field(s) {missing}"
        if not isinstance(psg["docid"], (str, int)) or isinstance(psg["docid"], bool):
            return f"{key}[{k}].docid must be a string or an int, got {psg['docid']!r:.80}"
        for f in ("title", "text"):
            if not isinstance(psg[f], str):
                return f"{key}[{k}].{f} must be a string, got {psg[f]!r:.80}"
        if "score" in psg and not is_number(psg["score"]):
            return f"{key}[{k}].score must be a finite number, got {psg['score']!r:.80}"
    return None


def _validate_tevatron(rec: dict[str, Any]) -> str | None:
    reason = required_fields(rec, ("query_id", "query", "positive_passages", "negative_passages"))
    if reason:
        return reason
    if not isinstance(rec["query_id"], (str, int)) or isinstance(rec["query_id"], bool):
        return f"field 'query_id' must be a string or an int, got {rec['query_id']!r:.80}"
    if not isinstance(rec["query"], str):
        return f"field 'query' must be a string, got {rec['query']!r:.80}"
    return _validate_passages(rec, "positive_passages", non_empty=True) or _validate_passages(
        rec, "negative_passages", non_empty=False
    )


def read_tevatron(path: PathLike, *, strict: bool = True) -> list[dict[str, Any]]:
    """Read a Tevatron (legacy) training JSONL file, validating every line.

    Required: ``query_id``, ``query`` (str), ``positive_passages`` (non-empty) and
    ``negative_passages``, lists of ``{"docid", "title", "text"}`` (an optional passage
    ``score`` must be a finite number). Other fields (``answers``) are kept as they are.

    Parameters
    ----------
    path, strict
        As in :func:`read_flagembedding`, which also gives what is returned, raised and
        warned: one dict per valid line, in file order.

    See Also
    --------
    write_tevatron : the writer of what this reads.
    read_sentence_transformers_jsonl, read_flagembedding : the other trainers' formats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> psg = '{"docid": "d1", "title": "", "text": "t"}'
    >>> _ = path.write_text('{"query_id": "1", "query": "q", "positive_passages": [%s], '
    ...                     '"negative_passages": []}\\n' % psg)
    >>> read_tevatron(path)[0]["positive_passages"][0]["docid"]
    'd1'
    """
    return read_jsonl(path, strict, _validate_tevatron, "Tevatron")
