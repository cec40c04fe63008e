"""FlagEmbedding fine-tuning JSONL: one line per query.

``{"query", "pos", "neg", "pos_scores"?, "neg_scores"?, "prompt"?}``:
:func:`write_flagembedding` / :func:`read_flagembedding`. Inputs, writing and reading as in
:mod:`graphneg.io._formats_base`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np  # noqa: F401 - the examples use it

from ..negatives._mining import HardNegatives
from ._formats_base import (
    PathLike,
    check_texts,
    is_number,
    prepare,
    required_fields,
    str_list,
    text_at,
    warn_no_negatives,
)
from ._jsonl import read_jsonl, write_jsonl


def write_flagembedding(
    path: PathLike,
    query_texts: Sequence[str],
    doc_texts: Sequence[str],
    positives: Any,
    negatives: HardNegatives | Any,
    *,
    prompt: str | Sequence[str] | None = None,
) -> int:
    """Write FlagEmbedding fine-tuning JSONL, one line per query.

    Each line is ``{"query": str, "pos": [str], "neg": [str], "pos_scores": [float],
    "neg_scores": [float], "prompt": str}``. All valid negatives are written (FlagEmbedding
    draws ``train_group_size - 1`` of them per step).

    Parameters
    ----------
    path : str or PathLike
        Output file; written atomically.
    query_texts, doc_texts, positives, negatives
        As in :func:`to_sentence_transformers`.
    prompt : str or sequence of str, default=None
        Query instruction, written as the ``prompt`` field (one for all lines, or one per
        query); ``None`` omits the field.

    Returns
    -------
    int
        Lines written.

    Warns
    -----
    GraphNegWarning
        When queries without negatives were skipped (with the count).

    See Also
    --------
    read_flagembedding : the reader of what this writes.
    write_sentence_transformers_jsonl, write_tevatron : the other trainers' formats.
    graphneg.mine_hard_negatives : the negatives and scores it takes.

    Notes
    -----
    ``pos_scores``/``neg_scores`` (FlagEmbedding's knowledge-distillation targets) are
    written only when ``negatives`` is a :class:`HardNegatives`, otherwise the keys are
    omitted. ``neg_scores`` are the mined scores; only one positive score per query is
    known, so ``pos_scores`` repeats the query's reference positive score (the *lowest* of
    its positives) once per positive.

    Queries without any valid negative are skipped (with a warning): FlagEmbedding divides
    by ``len(neg)`` when it pads a short negative list.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> docs = ["cats purr", "dogs bark", "fish swim"]
    >>> write_flagembedding(path, ["what purrs?"], docs, [[0]], np.array([[2, -1]]))
    1
    >>> read_flagembedding(path)
    [{'query': 'what purrs?', 'pos': ['cats purr'], 'neg': ['fish swim']}]
    """
    mined = prepare(query_texts, doc_texts, positives, negatives)
    prompts = _check_prompt(prompt, mined.n_queries)
    empty = int((mined.counts == 0).sum())

    def records() -> Iterator[dict[str, Any]]:
        for q in range(mined.n_queries):
            negs, neg_scores = mined.negatives(q)
            if not negs:
                continue
            pos = mined.positives[q]
            rec: dict[str, Any] = {
                "query": text_at(mined.query_texts, q, "query_texts"),
                "pos": [text_at(mined.doc_texts, j, "doc_texts") for j in pos],
                "neg": [text_at(mined.doc_texts, j, "doc_texts") for j in negs],
            }
            if mined.positive_scores is not None and neg_scores is not None:
                rec["pos_scores"] = [float(mined.positive_scores[q])] * len(pos)
                rec["neg_scores"] = neg_scores
            if prompts is not None:
                rec["prompt"] = prompts if isinstance(prompts, str) else text_at(prompts, q, "prompt")
            yield rec

    written = write_jsonl(path, records())
    warn_no_negatives(empty, mined.n_queries, "FlagEmbedding")
    return written


def _check_prompt(prompt: Any, n_queries: int) -> str | Sequence[str] | None:
    if prompt is None or isinstance(prompt, str):
        return prompt
    prompt = check_texts(prompt, "prompt")
    if len(prompt) != n_queries:
        raise ValueError(
            f"`prompt` must be a string or one string per query ({n_queries}), got {len(prompt)}."
        )
    return prompt


def _validate_flag(rec: dict[str, Any]) -> str | None:
    reason = required_fields(rec, ("query", "pos", "neg"))
    if reason:
        return reason
    if not isinstance(rec["query"], str):
        return f"field 'query' must be a string, got {rec['query']!r:.80}"
    reason = str_list(rec, "pos", non_empty=True) or str_list(rec, "neg")
    if reason:
        return reason
    for key, of in (("pos_scores", "pos"), ("neg_scores", "neg")):
        if key in rec:
            value = rec[key]
            if not isinstance(value, list) or not all(is_number(v) for v in value):
                return f"field {key!r} must be a list of finite numbers, got {value!r:.80}"
            if len(value) != len(rec[of]):
                return (
                    f"field {key!r} must have one score per {of!r} entry ({len(rec[of])}), "
                    f"got {len(value)}"
                )
    for key in ("prompt", "type"):
        if key in rec and not isinstance(rec[key], str):
            return f"field {key!r} must be a string, got {rec[key]!r:.80}"
    return None


def read_flagembedding(path: PathLike, *, strict: bool = True) -> list[dict[str, Any]]:
    """Read a FlagEmbedding JSONL file, validating every line.

    Required: ``query`` (str), ``pos`` (non-empty list of str), ``neg`` (list of str).
    Checked when present: ``pos_scores``/``neg_scores`` (finite numbers, one per ``pos`` /
    ``neg`` entry), ``prompt`` and ``type`` (str). Other fields are kept as they are.

    Parameters
    ----------
    path : str or PathLike
    strict : bool, default=True
        ``True``: a malformed line raises. ``False``: it is skipped and counted.

    Returns
    -------
    list of dict
        One dict per valid line, in file order. Blank lines are ignored.

    Raises
    ------
    ValueError
        (``strict=True``) a malformed line: the message names the file and the line number.

    Warns
    -----
    GraphNegWarning
        (``strict=False``) how many lines were skipped, and the first reason.

    See Also
    --------
    write_flagembedding : the writer of what this reads.
    read_sentence_transformers_jsonl, read_tevatron : the other trainers' formats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> _ = path.write_text('{"query": "q", "pos": ["p"], "neg": ["n1", "n2"]}\\n')
    >>> read_flagembedding(path)[0]["neg"]
    ['n1', 'n2']
    """
    return read_jsonl(path, strict, _validate_flag, "FlagEmbedding")
