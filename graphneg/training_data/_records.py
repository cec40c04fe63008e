"""The records of citation training data: one line per citation, in one of four formats.

:func:`write_records` writes the records of a run of citing papers, paper by paper, each
paper's citations in row order: triplets itself (record by record, or column-wise through
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


def write_records(
    job: Job, out: Any, sources: np.ndarray, n_cited: np.ndarray, negatives: np.ndarray
) -> tuple[int, int]:
    """Write the records of ``sources`` to ``out`` (a binary file, or a :class:`TripletBatch`),
    citing paper by citing paper, each paper's citations in row order; return (records, short
    records).

    ``negatives`` holds one row per citing paper, or one per citation (``negatives_per='pair'``).
    """
    if job.output_format == "triplets":
        return _write_triplets(job, out, sources, n_cited, negatives)
    return _write_trainer_format(job, out, sources, n_cited, negatives)


def _write_triplets(
    job: Job, out: Any, sources: np.ndarray, n_cited: np.ndarray, negatives: np.ndarray
) -> tuple[int, int]:
    """Triplet records, to a :class:`TripletBatch` (column-wise) or record by record."""
    graph, texts = job.graph, job.texts
    A = graph.adjacency
    starts = A.indptr[sources]
    # the positive of every record: each source's slice of the adjacency, in order
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(n_cited)[:-1])), n_cited)
    pos = A.indices[offsets + np.arange(offsets.size)].astype(np.int64)
    # a row of negatives is shared by the records of one paper, or belongs to one record
    query, count = (np.repeat(sources, n_cited), np.ones(pos.size, np.int64)) if job.per_pair else (sources, n_cited)
    short = int(count[(negatives < 0).any(axis=1)].sum()) if negatives.size else 0
    if isinstance(out, TripletBatch):
        out.add(query, count, pos, negatives)
        return pos.size, short
    neg = np.repeat(negatives, count, axis=0)
    for s, p, row in zip(np.repeat(query, count).tolist(), pos.tolist(), neg.tolist(), strict=True):
        nrow = [v for v in row if v >= 0]
        rec: dict[str, Any] = {
            "query_id": str(graph.ids[s]), "positive_id": str(graph.ids[p]),
            "negative_ids": [str(graph.ids[v]) for v in nrow],
        }
        if texts is not None:
            rec.update(query=texts[s], positive=texts[p], negatives=[texts[v] for v in nrow])
        out.write(dumps_line(rec).encode("utf-8"))
    return pos.size, short


def _write_trainer_format(
    job: Job, out: Any, sources: np.ndarray, n_cited: np.ndarray, negatives: np.ndarray
) -> tuple[int, int]:
    """Records of a trainer format, through its writer (which writes a file: read back into ``out``)."""
    graph, texts, fmt = job.graph, job.texts, job.output_format
    A = graph.adjacency
    positives = [A.indices[A.indptr[s] : A.indptr[s + 1]].tolist() for s in sources]
    queries = sources
    if job.per_pair:  # one query per citation, with its own negatives
        queries = np.repeat(sources, n_cited)
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
    columns = dict(zip(("id", "sep_id"), _json_strings(graph.ids, pa.string()), strict=True))
    if texts is not None:  # texts may pass 2 GiB: 64-bit offsets
        columns.update(zip(("text", "sep_text"), _json_strings(texts, pa.large_string()), strict=True))
    return columns


def _json_strings(values: list[str], kind: Any) -> tuple[Any, Any]:
    """``values`` as JSON strings (what ``json.dumps(ensure_ascii=False)`` writes), then the same
    after ``", "``; each with ``""`` appended (the entry of a missing value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = pa.array(values, kind)
    if _needs_escaping(raw):
        from json.encoder import encode_basestring  # json.dumps' own, for a str

        quoted = pa.array([encode_basestring(v) for v in values], kind)
    else:  # nothing to escape: quotes around the value are all JSON adds
        quoted = pc.binary_join_element_wise(pa.scalar('"', kind), raw, pa.scalar('"', kind), pa.scalar("", kind))
    after = pc.binary_join_element_wise(pa.scalar(", ", kind), quoted, pa.scalar("", kind))
    empty = pa.array([""], kind)
    return pa.concat_arrays([quoted, empty]), pa.concat_arrays([after, empty])


def _needs_escaping(strings: Any) -> bool:
    """Whether a string array holds a byte JSON escapes: a control character, ``"`` or ``\\``."""
    import pyarrow as pa

    _, offsets_buf, data_buf = strings.buffers()
    if data_buf is None:
        return False
    offsets = np.frombuffer(offsets_buf, dtype=np.int64 if strings.type == pa.large_string() else np.int32)
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[strings.offset] : offsets[strings.offset + len(strings)]]
    return bool(((data < 0x20) | (data == ord('"')) | (data == ord("\\"))).any())


def _triplet_lines(encoded: dict[str, Any], query: np.ndarray, count: np.ndarray, pos: np.ndarray,
                   neg: np.ndarray) -> Any:
    """The triplet records as JSONL bytes, built column-wise; byte for byte what
    :func:`~graphneg.io._jsonl.dumps_line` writes for the same records.

    Row ``r`` of ``query``, ``count`` and ``neg`` is a citing paper's row of negatives, shared
    by its next ``count[r]`` records, whose positives are in ``pos``. What a row's records share
    is joined once per row; a record adds its positive.
    """
    import pyarrow as pa

    texts = "text" in encoded
    kind = pa.large_string() if texts else pa.string()
    n_nodes = len(encoded["id"]) - 1
    neg = np.where(neg < 0, n_nodes, neg)  # -1 pads only at the end of a row: the empty entry
    q = _arrow(query)
    cols = [_arrow(neg[:, j]) for j in range(neg.shape[1])]

    def listed(name: str) -> list[Any]:
        return [encoded[("sep_" if j else "") + name].take(col) for j, col in enumerate(cols)]

    # per row: what comes before the positive's id, and after it (or before its text)
    shared = [_join(kind, '{"query_id": ', encoded["id"].take(q), ', "positive_id": ')]
    after = [', "negative_ids": [', *listed("id"), "]"]
    if texts:
        shared.append(_join(kind, *after, ', "query": ', encoded["text"].take(q), ', "positive": '))
        after = [', "negatives": [', *listed("text"), "]"]
    shared.append(_join(kind, *after, "}\n"))
    if not texts and (count > 1).any() and (count > 0).all():
        lines = _row_lines(encoded["id"], *shared, pos, count)
    else:
        if (count != 1).any():  # one copy per record
            record_row = _arrow(np.repeat(np.arange(count.size), count))
            shared = [column.take(record_row) for column in shared]
        p = _arrow(pos)
        pieces = [shared[0], encoded["id"].take(p), shared[1]]
        if texts:
            pieces += [encoded["text"].take(p), shared[2]]
        lines = _join(kind, *pieces)
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if texts else np.int32)
    offsets = offsets[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def _row_lines(ids: Any, head: Any, tail: Any, pos: np.ndarray, count: np.ndarray) -> Any:
    """The lines of each row's records (``head[r] + ids[p] + tail[r]``) as one string per row.

    A row's records are the list ``[head + first id, ..., last id + tail]`` (``head + id +
    tail`` for a row of one) joined by ``tail + head``: the bytes shared by a row's records are
    copied once, into the result, rather than once per record and again into the lines.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = pa.string()
    ends = np.cumsum(count)
    starts = ends - count
    firsts = _join(kind, head, ids.take(_arrow(pos[starts])))
    lasts = _join(kind, ids.take(_arrow(pos[ends - 1])), tail)
    onlys = _join(kind, firsts, tail)
    # each record's entry of [ids, firsts, lasts, onlys]
    n, rows = len(ids), count.size
    index = pos.astype(np.int64)  # a copy
    index[starts] = n + np.arange(rows)
    index[ends - 1] = n + rows + np.arange(rows)
    single = np.flatnonzero(count == 1)
    index[starts[single]] = n + 2 * rows + single
    values = pa.concat_arrays([ids, firsts, lasts, onlys]).take(_arrow(index))
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.Array.from_buffers(pa.int32(), offsets.size, [None, pa.py_buffer(offsets)]),
                                     values)
    return pc.binary_join(lists, _join(kind, tail, head))


def _join(kind: Any, *pieces: Any) -> Any:
    """Row-wise concatenation of string arrays and constant strings, as ``kind``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    args = [pa.scalar(v, kind) if isinstance(v, str) else v if v.type == kind else v.cast(kind) for v in pieces]
    return pc.binary_join_element_wise(*args, pa.scalar("", kind))


def _arrow(values: np.ndarray) -> Any:
    """An int64 numpy array as a pyarrow array (no copy)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), values.size, [None, pa.py_buffer(values)])


class TripletBatch:
    """Triplet records of several draws, turned into lines column-wise in one go (fewer, larger calls)."""

    def __init__(self, encoded: dict[str, Any]) -> None:
        self.encoded = encoded
        self.columns: list[tuple[np.ndarray, ...]] = []

    def add(self, query: np.ndarray, count: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> None:
        """Rows of negatives (``query``, ``count`` records each, ``neg``) and the records' positives."""
        self.columns.append((query, count, pos, neg))

    def lines(self) -> Any:
        """The JSONL bytes of the records added, in order."""
        if not self.columns:
            return b""
        query, count, pos, neg = (np.concatenate(c) for c in zip(*self.columns, strict=True))
        return _triplet_lines(self.encoded, query, count, pos, neg)
