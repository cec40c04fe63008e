"""Text pairs -> a mining task (queries, corpus, positives, identical texts), its stored
candidates, and the trainer files written from them with the teacher's scores.

- :func:`build_mining_task`: rows with one query id (or, without ids, identical query text)
  are one query with all their positives; the corpus is a given corpus plus any positive not
  in it, or else the distinct positives; corpus rows whose text is identical to a positive's
  or to the query's are excluded as its negatives.
- :func:`save_mining_run` / :func:`load_mining_run`: the task and its
  :class:`~graphneg.negatives.MiningCandidates` in one ``.npz`` (no pickles), byte-identical
  for identical content, so a mining run can be filtered again later without embeddings.
- :func:`write_mined`: the five output formats, each with the teacher's scores, and the
  training row of every written line (what a batch plan indexes).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..negatives._candidates import MiningCandidates
from ..negatives._mining import HardNegatives
from ._atomic import atomic_write
from ._formats_flagembedding import write_flagembedding
from ._formats_st import write_sentence_transformers_jsonl
from ._formats_tevatron import write_tevatron
from ._jsonl import write_jsonl
from ._text_tables import TextPairs

PathLike = str | os.PathLike[str]
MINED_FORMATS = ("st", "st-triplet", "flag", "tevatron", "triplets")
_STORE_VERSION = 1


@dataclass
class MiningTask:
    """Distinct queries, the corpus and who is whose positive, ready for mining.

    Attributes
    ----------
    query_texts, query_ids : list of str
        One per distinct query (ids: the input's, else the query's first input row).
    doc_texts, doc_ids : list of str
        The corpus (ids: the corpus file's, ``"pos-<hash>"`` for a positive not in it, else
        the row number).
    positives : list of list of int
        Corpus rows of each query's positives (sorted).
    exclude : list of list of int
        Corpus rows never mined for each query: identical to one of its positives or to it.
    query_rows : ndarray of int64
        First input row of each query (to pick rows of per-row query embeddings).
    doc_rows : ndarray of int64
        Row of each corpus entry in its embedding source: the corpus file's row, or without a
        corpus the input row of a single positive; ``-1`` where there is none.

    See Also
    --------
    build_mining_task : builds it.
    write_mined : writes its mined negatives.
    save_mining_run : keeps it with the retrieved candidates.

    Examples
    --------
    >>> task = build_mining_task(TextPairs(["q1", "q1", "q2"], [["a"], ["b"], ["a"]], None))
    >>> task.query_texts, task.doc_texts, task.positives
    (['q1', 'q2'], ['a', 'b'], [[0, 1], [0]])
    """

    query_texts: list[str]
    query_ids: list[str]
    doc_texts: list[str]
    doc_ids: list[str]
    positives: list[list[int]]
    exclude: list[list[int]]
    query_rows: np.ndarray
    doc_rows: np.ndarray

    @property
    def num_excluded(self) -> int:
        """(query, corpus row) pairs excluded for identical text."""
        return sum(len(x) for x in self.exclude)


def build_mining_task(pairs: TextPairs, corpus: tuple[Sequence[str], Sequence[str]] | None = None) -> MiningTask:
    """Group text pairs into queries and map positives onto the corpus.

    Parameters
    ----------
    pairs : TextPairs
        From :func:`graphneg.io.read_text_pairs`.
    corpus : (ids, texts), default=None
        From :func:`graphneg.io.read_text_corpus`; positives are found in it by exact text
        (the first row with that text), and one that is not there is added. ``None``: the
        corpus is the distinct positives in order of appearance.

    Returns
    -------
    MiningTask

    See Also
    --------
    read_text_pairs, read_text_corpus : its inputs.
    graphneg.mine_hard_negatives : mines the task's queries against its corpus.
    write_mined : writes the negatives as trainer JSONL.

    Examples
    --------
    >>> pairs = TextPairs(["q1", "q2"], [["cats"], ["dogs"]], ["1", "2"])
    >>> task = build_mining_task(pairs, (["d1", "d2", "d3"], ["cats", "cats", "fish"]))
    >>> task.doc_ids, task.positives, task.exclude  # d2 has d1's text: never a negative of q1
    (['d1', 'd2', 'd3', 'pos-23bcd2d83d4c0f27'], [[0], [3]], [[1], []])
    """
    doc_texts, doc_ids, doc_rows = _corpus(corpus)
    row_of: dict[str, int] = {}
    for j, text in enumerate(doc_texts):
        row_of.setdefault(text, j)
    keys = pairs.query_ids if pairs.query_ids is not None else pairs.queries
    group: dict[str, int] = {}
    query_rows: list[int] = []
    positives: list[set[int]] = []
    for r, (key, texts) in enumerate(zip(keys, pairs.positives, strict=True)):
        q = group.setdefault(key, len(group))
        if q == len(query_rows):
            query_rows.append(r)
            positives.append(set())
        for k, text in enumerate(texts):
            if text not in row_of:
                row_of[text] = len(doc_texts)
                doc_texts.append(text)
                doc_ids.append(f"pos-{hashlib.sha256(text.encode()).hexdigest()[:16]}" if corpus else str(len(doc_ids)))
                doc_rows.append(r if corpus is None and len(texts) == 1 else -1)
            positives[q].add(row_of[text])
    query_texts = [pairs.queries[r] for r in query_rows]
    query_ids = [pairs.query_ids[r] for r in query_rows] if pairs.query_ids is not None else list(map(str, query_rows))
    pos = [sorted(p) for p in positives]
    return MiningTask(query_texts, query_ids, doc_texts, doc_ids, pos, _identical(doc_texts, query_texts, pos),
                      np.array(query_rows, np.int64), np.array(doc_rows, np.int64))


def _corpus(corpus: Any) -> tuple[list[str], list[str], list[int]]:
    if corpus is None:
        return [], [], []
    ids, texts = corpus
    return list(texts), list(ids), list(range(len(ids)))


def _identical(doc_texts: list[str], query_texts: list[str], positives: list[list[int]]) -> list[list[int]]:
    rows_of: dict[str, list[int]] = {}
    for j, text in enumerate(doc_texts):
        rows_of.setdefault(text, []).append(j)
    out = []
    for q, pos in enumerate(positives):
        same = {j for p in pos for j in rows_of[doc_texts[p]]} | set(rows_of.get(query_texts[q], ()))
        out.append(sorted(same - set(pos)))
    return out


# -- the stored run: arrays + texts + settings in one deterministic .npz ----------------------
def _pack(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    data = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(data) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in data])
    return np.frombuffer(b"".join(data), np.uint8), offsets


def _unpack(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = blob.tobytes()
    return [raw[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(offsets.size - 1)]


def _csr(lists: list[list[int]], n_cols: int) -> sp.csr_array:
    indptr = np.zeros(len(lists) + 1, np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    indices = np.array([j for x in lists for j in x], np.int64)
    return sp.csr_array((np.ones(indices.size, bool), indices, indptr), shape=(len(lists), n_cols))


def save_mining_run(path: PathLike, task: MiningTask, candidates: MiningCandidates, meta: dict[str, Any]) -> None:
    """Write a task and its candidates to one ``.npz`` (atomically; same content, same bytes).

    Parameters
    ----------
    path : str or path-like
    task : MiningTask
    candidates : MiningCandidates
        Retrieved for ``task`` (its positives and excluded rows).
    meta : dict
        JSON-serialisable settings (model, prompts, input), returned by :func:`load_mining_run`.

    See Also
    --------
    load_mining_run : the reader of what this writes.
    graphneg.retrieve_candidates : the candidates it keeps.
    graphneg.select_negatives : filters them again without encoding anything.

    Examples
    --------
    >>> import tempfile
    >>> from graphneg.negatives import retrieve_candidates
    >>> task = build_mining_task(TextPairs(["q1", "q2", "q3"], [["a"], ["b"], ["c"]], None))
    >>> C = np.eye(3, dtype=np.float32) + 0.1
    >>> cands = retrieve_candidates(C, C, task.positives, depth=3)
    >>> path = Path(tempfile.mkdtemp()) / "run.npz"
    >>> save_mining_run(path, task, cands, {"model": "toy"})
    >>> task2, cands2, meta = load_mining_run(path)
    >>> task2.doc_texts, cands2.indices[0].tolist(), meta
    (['a', 'b', 'c'], [0, 1, 2], {'model': 'toy'})
    """
    arrays: dict[str, np.ndarray] = {
        "indices": candidates.indices, "scores": candidates.scores,
        "positive_pair_scores": candidates.positive_pair_scores,
        "query_rows": task.query_rows, "doc_rows": task.doc_rows,
    }
    for name, lists in (("positives", task.positives), ("exclude", task.exclude)):
        M = _csr(lists, len(task.doc_texts))
        arrays[f"{name}_indptr"], arrays[f"{name}_indices"] = M.indptr, M.indices
    for name in ("query_texts", "query_ids", "doc_texts", "doc_ids"):
        arrays[f"{name}_blob"], arrays[f"{name}_offsets"] = _pack(getattr(task, name))
    header = {"version": _STORE_VERSION, "num_docs": candidates.num_docs, "meta": meta}
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), np.uint8)
    with atomic_write(Path(path), "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())


def load_mining_run(path: PathLike) -> tuple[MiningTask, MiningCandidates, dict[str, Any]]:
    """Read what :func:`save_mining_run` wrote: ``(task, candidates, meta)``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    (MiningTask, MiningCandidates, dict)

    Raises
    ------
    ValueError
        A file that is not a stored mining run.

    See Also
    --------
    save_mining_run : the writer of what this reads.
    graphneg.select_negatives : filters the candidates again.

    Examples
    --------
    See :func:`save_mining_run`.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            a = {name: z[name] for name in z.files}
        header = json.loads(a["header"].tobytes())
        if header.get("version") != _STORE_VERSION:
            raise KeyError("version")
        texts = {n: _unpack(a[f"{n}_blob"], a[f"{n}_offsets"]) for n in ("query_texts", "query_ids", "doc_texts",
                                                                          "doc_ids")}
        n_docs = int(header["num_docs"])
        lists = {n: [a[f"{n}_indices"][s:e].tolist() for s, e in zip(a[f"{n}_indptr"][:-1], a[f"{n}_indptr"][1:],
                                                                       strict=True)]
                 for n in ("positives", "exclude")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a stored mining run of this graphneg version ({err})") from None
    task = MiningTask(texts["query_texts"], texts["query_ids"], texts["doc_texts"], texts["doc_ids"],
                      lists["positives"], lists["exclude"], a["query_rows"], a["doc_rows"])
    P = _csr(task.positives, n_docs)
    X = _csr(task.exclude, n_docs) if task.num_excluded else None
    cands = MiningCandidates(a["indices"].astype(np.int64), a["scores"], P, a["positive_pair_scores"], X, n_docs)
    return task, cands, header["meta"]


# -- trainer files with teacher scores --------------------------------------------------------
def mined_rows(task: MiningTask, negatives: HardNegatives, output_format: str) -> tuple[np.ndarray, np.ndarray]:
    """``(query, positive corpus row)`` of each line :func:`write_mined` writes, in order.

    See Also
    --------
    write_mined : the lines these rows describe.

    Examples
    --------
    >>> task = build_mining_task(TextPairs(["q1", "q2"], [["a"], ["b"]], None))
    >>> hn = HardNegatives(np.array([[1], [-1]]), np.array([[0.5], [np.nan]], np.float32),
    ...                    np.array([0.9, 0.8], np.float32), 1)
    >>> [r.tolist() for r in mined_rows(task, hn, "st")]
    [[0], [0]]
    """
    counts = negatives.counts
    n = negatives.indices.shape[1]
    rows: list[tuple[int, int]] = []
    for q, pos in enumerate(task.positives):
        if output_format in ("flag", "tevatron"):
            rows += [(q, pos[0])] if counts[q] else []
        elif output_format == "st":
            rows += [(q, p) for p in pos] if counts[q] >= n else []
        elif output_format == "st-triplet":
            rows += [(q, p) for p in pos for _ in range(counts[q])]
        else:
            rows += [(q, p) for p in pos]
    arr = np.array(rows, np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def write_mined(path: PathLike, task: MiningTask, negatives: HardNegatives, output_format: str = "st") -> int:
    """Write mined negatives as trainer JSONL, each with the teacher's scores.

    Parameters
    ----------
    path : str or path-like
        Written atomically.
    task : MiningTask
    negatives : HardNegatives
        From :func:`graphneg.mine_hard_negatives` or :func:`graphneg.negatives.select_negatives`
        on ``task``'s queries and corpus.
    output_format : {'st', 'st-triplet', 'flag', 'tevatron', 'triplets'}, default='st'
        ``st``: sentence-transformers n-tuples ``anchor, positive, negative_1..n, scores``
        (one row per (query, positive); queries with fewer than n negatives dropped, as
        sentence-transformers does); ``st-triplet``: ``anchor, positive, negative, scores``,
        one row per negative; ``flag``: FlagEmbedding ``query, pos, neg, pos_scores,
        neg_scores``; ``tevatron``: Tevatron passages with ``score``; ``triplets``: the
        ``graphneg citations`` layout with texts and scores (``query_id, positive_id,
        negative_ids, query, positive, negatives, positive_score, negative_scores``).
        Positive scores are the query's reference score (its lowest positive's).

    Returns
    -------
    int
        Lines written.

    See Also
    --------
    mined_rows : the (query, positive) of each line written.
    build_mining_task : the task.
    graphneg.mine_hard_negatives, graphneg.select_negatives : the negatives.

    Examples
    --------
    >>> import tempfile
    >>> task = build_mining_task(TextPairs(["q1"], [["a"]], None), (["d0", "d1"], ["a", "b"]))
    >>> hn = HardNegatives(np.array([[1]]), np.array([[0.25]], np.float32), np.array([0.75], np.float32), 0)
    >>> path = Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> write_mined(path, task, hn, "flag")
    1
    >>> print(path.read_text().strip())
    {"query": "q1", "pos": ["a"], "neg": ["b"], "pos_scores": [0.75], "neg_scores": [0.25]}
    """
    t = task
    if output_format == "st":
        return write_sentence_transformers_jsonl(path, t.query_texts, t.doc_texts, t.positives, negatives, scores=True)
    if output_format == "flag":
        return write_flagembedding(path, t.query_texts, t.doc_texts, t.positives, negatives)
    if output_format == "tevatron":
        return write_tevatron(path, t.query_ids, t.query_texts, t.doc_ids, t.doc_texts, t.positives, negatives,
                              scores=True)
    if output_format not in MINED_FORMATS:
        raise ValueError(f"`output_format` must be one of {MINED_FORMATS}, got {output_format!r}.")
    records = _triplet_rows(t, negatives) if output_format == "st-triplet" else _id_rows(t, negatives)
    return write_jsonl(path, records)


def _negatives(negatives: HardNegatives, q: int) -> tuple[list[int], list[float]]:
    keep = negatives.indices[q] >= 0
    return negatives.indices[q][keep].tolist(), negatives.scores[q][keep].astype(float).tolist()


def _triplet_rows(t: MiningTask, negatives: HardNegatives) -> Iterator[dict[str, Any]]:
    for q, pos in enumerate(t.positives):
        negs, scores = _negatives(negatives, q)
        ref = float(negatives.positive_scores[q])
        for p in pos:
            for j, s in zip(negs, scores, strict=True):
                yield {"anchor": t.query_texts[q], "positive": t.doc_texts[p], "negative": t.doc_texts[j],
                       "scores": [ref, s]}


def _id_rows(t: MiningTask, negatives: HardNegatives) -> Iterator[dict[str, Any]]:
    for q, pos in enumerate(t.positives):
        negs, scores = _negatives(negatives, q)
        for p in pos:
            yield {"query_id": t.query_ids[q], "positive_id": t.doc_ids[p], "negative_ids": [t.doc_ids[j] for j in negs],
                   "query": t.query_texts[q], "positive": t.doc_texts[p], "negatives": [t.doc_texts[j] for j in negs],
                   "positive_score": float(negatives.positive_scores[q]), "negative_scores": scores}
