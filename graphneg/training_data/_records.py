"""The records of citation training data: one line per citation, in one of four formats.

:func:`write_chunk` writes a chunk's records, citing paper by citing paper, each paper's
citations in row order: triplets itself (record by record, or column-wise through
:class:`TripletBatch` when pyarrow is installed, byte for byte the same), the trainer formats
through their writers in :mod:`graphneg.io`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io._formats_flagembedding import write_flagembedding
from ..io._formats_st import write_sentence_transformers_jsonl
from ..io._formats_tevatron import write_tevatron
from ..io._jsonl import dumps_line
from ..links._graph import LinkGraph

if TYPE_CHECKING:
    from ._citations import Job


def write_chunk(job: Job, out: Any, chunk: np.ndarray, n_cited: np.ndarray, negatives: np.ndarray) -> tuple[int, int]:
    """Write the chunk's records to ``out`` (binary), citing paper by citing paper, each paper's
    citations in row order; return (records, short records).

    ``negatives`` holds one row per citing paper, or one per citation (``negatives_per='pair'``).
    """
    if job.output_format == "triplets":
        return _write_triplets(job, out, chunk, n_cited, negatives)
    return _write_trainer_format(job, out, chunk, n_cited, negatives)


def _write_triplets(
    job: Job, out: Any, chunk: np.ndarray, n_cited: np.ndarray, negatives: np.ndarray
) -> tuple[int, int]:
    """Triplet records, to a :class:`TripletBatch` (column-wise) or record by record."""
    graph, texts = job.graph, job.texts
    A = graph.adjacency
    starts = A.indptr[chunk]
    # the positive of every record: each source's slice of the adjacency, in order
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(n_cited)[:-1])), n_cited)
    pos = A.indices[offsets + np.arange(offsets.size)].astype(np.int64)
    query = np.repeat(chunk, n_cited)
    neg = negatives if job.per_pair else np.repeat(negatives, n_cited, axis=0)
    short = int((neg < 0).any(axis=1).sum()) if neg.size else 0
    if isinstance(out, TripletBatch):
        out.add(query, pos, neg)
        return query.size, short
    for s, p, row in zip(query.tolist(), pos.tolist(), neg.tolist(), strict=True):
        nrow = [v for v in row if v >= 0]
        rec: dict[str, Any] = {
            "query_id": str(graph.ids[s]), "positive_id": str(graph.ids[p]),
            "negative_ids": [str(graph.ids[v]) for v in nrow],
        }
        if texts is not None:
            rec.update(query=texts[s], positive=texts[p], negatives=[texts[v] for v in nrow])
        out.write(dumps_line(rec).encode("utf-8"))
    return query.size, short


def _write_trainer_format(
    job: Job, out: Any, chunk: np.ndarray, n_cited: np.ndarray, negatives: np.ndarray
) -> tuple[int, int]:
    """Records of a trainer format, through its writer (which writes a file: read back into ``out``)."""
    graph, texts, fmt = job.graph, job.texts, job.output_format
    A = graph.adjacency
    positives = [A.indices[A.indptr[s] : A.indptr[s + 1]].tolist() for s in chunk]
    queries = chunk
    if job.per_pair:  # one query per citation, with its own negatives
        queries = np.repeat(chunk, n_cited)
        positives = [[p] for pos in positives for p in pos]
    query_texts = [texts[s] for s in queries]  # type: ignore[index]
    tmp = job.parts / "pending-chunk.jsonl"  # the trainer writers write files
    if fmt == "st":
        write_sentence_transformers_jsonl(tmp, query_texts, texts, positives, negatives)
    elif fmt == "flag":
        write_flagembedding(tmp, query_texts, texts, positives, negatives)
    else:
        write_tevatron(
            tmp, [str(graph.ids[s]) for s in queries], query_texts, [str(i) for i in graph.ids], texts,
            positives, negatives,
        )
    n = short = 0
    if tmp.exists():  # a writer with nothing to write may write no file
        data = tmp.read_bytes()
        tmp.unlink()
        out.write(data)
        for line in data.decode("utf-8").splitlines():
            n += 1
            short += _is_short(line, fmt, job.num_negatives)
    return n, short


def _is_short(line: str, output_format: str, k: int) -> bool:
    rec = json.loads(line)
    if output_format == "triplets":
        return len(rec["negative_ids"]) < k
    if output_format == "flag":
        return len(rec["neg"]) < k
    if output_format == "tevatron":
        return len(rec["negative_passages"]) < k
    return False  # st rows exist only with all n negatives


def encoded_columns(graph: LinkGraph, texts: list[str] | None) -> Any:
    """Per node, its id (and text) as a JSON string, as pyarrow arrays; None without pyarrow.

    Each column has a last entry, the empty string, that row ``-1`` (a missing negative) takes;
    ``sep_*`` columns hold the same values after ``", "`` (a list's later items).
    """
    try:
        import pyarrow as pa
    except ImportError:
        return None
    from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str

    ids = [encode_basestring(str(i)) for i in graph.ids]
    columns = {"id": pa.array([*ids, ""]), "sep_id": pa.array([*(", " + v for v in ids), ""])}
    if texts is not None:
        enc = [encode_basestring(t) for t in texts]
        columns.update(text=pa.array([*enc, ""], pa.large_string()),
                       sep_text=pa.array([*(", " + v for v in enc), ""], pa.large_string()))
    return columns


def _triplet_lines(encoded: dict[str, Any], query: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> Any:
    """The triplet records as JSONL bytes, built column-wise; byte for byte what
    :func:`~graphneg.io._jsonl.dumps_line` writes for the same records."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_nodes = len(encoded["id"]) - 1
    neg = np.where(neg < 0, n_nodes, neg)  # -1 pads only at the end of a row: the empty entry
    q, p = pa.array(query), pa.array(pos)
    cols = [neg[:, j].copy() for j in range(neg.shape[1])]

    def listed(name: str) -> list[Any]:
        return [encoded[("sep_" if j else "") + name].take(pa.array(col)) for j, col in enumerate(cols)]

    pieces: list[Any] = [
        '{"query_id": ', encoded["id"].take(q), ', "positive_id": ', encoded["id"].take(p),
        ', "negative_ids": [', *listed("id"), "]",
    ]
    if "text" in encoded:
        pieces += [', "query": ', encoded["text"].take(q), ', "positive": ', encoded["text"].take(p),
                   ', "negatives": [', *listed("text"), "]"]
    pieces.append("}\n")
    large = "text" in encoded  # texts may pass 2 GiB in a chunk: 64-bit offsets
    kind = pa.large_string() if large else pa.string()
    args = [pa.scalar(v, kind) if isinstance(v, str) else v if v.type == kind else v.cast(kind) for v in pieces]
    lines = pc.binary_join_element_wise(*args, pa.scalar("", kind))
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


class TripletBatch:
    """Triplet records of several chunks, written column-wise in one go (fewer, larger calls)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.query: list[np.ndarray] = []
        self.pos: list[np.ndarray] = []
        self.neg: list[np.ndarray] = []

    def add(self, query: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> None:
        self.query.append(query)
        self.pos.append(pos)
        self.neg.append(neg)

    def flush(self, encoded: Any) -> None:
        if self.query:
            self.fh.write(_triplet_lines(encoded, np.concatenate(self.query), np.concatenate(self.pos),
                                         np.concatenate(self.neg)))
        self.query, self.pos, self.neg = [], [], []
