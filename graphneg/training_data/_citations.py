"""Citation corpus -> training data (citing -> cited pairs with link-structure negatives).

The work is cut into chunks of source papers; a chunk's randomness depends only on
``(seed, chunk)``. Chunks are grouped into parts: one chunk per part, or for the strategies
that draw from the banned pattern alone (uniform, degree) several (about 200k records). The
parts are appended in order to ``<output>.parts/output.jsonl`` and synced; a finished part
then leaves a marker in ``<output>.parts/`` whose name carries its record counts and its
length. An interrupted run cuts that file back to the finished parts and goes on from there,
producing a file identical to an uninterrupted run; the finished file is renamed to
``output`` (no copy) and the folder removed.

The uniform and degree strategies build the banned pattern of all citing papers once and
draw all chunks of a part in one call, each chunk with its own generator, from row slices of
it. The records themselves are written by :mod:`graphneg.training_data._records`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._ids import unique_ids
from .._sampling import RowBlocks
from .._validation import check_choice, check_int
from ..exceptions import GraphNegWarning
from ..io._atomic import _new_file_mode, atomic_write
from ..links._graph import LinkGraph
from ..negatives._link_negatives import uniform_link_negatives
from ..negatives._link_strategies import (
    LINK_STRATEGIES,
    PATTERN_STRATEGIES,
    citing_banned,
    draw_from_pattern,
    resolve_link_strategy,
)
from ._records import TripletBatch, encoded_columns, write_records

OutputFormat = Literal["triplets", "st", "flag", "tevatron"]
OUTPUT_FORMATS = ("triplets", "st", "flag", "tevatron")
NegativesPer = Literal["paper", "pair"]
# records per part for the cheap strategies (a tenth of it with texts)
_GROUP_RECORDS = 200_000
NEGATIVES_PER = ("paper", "pair")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(graph: LinkGraph, texts: list[str] | None, config: Mapping[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(graph.adjacency.indptr).tobytes())
    h.update(np.ascontiguousarray(graph.adjacency.indices).tobytes())
    h.update("\x00".join(map(str, graph.ids)).encode())
    if texts is not None:
        h.update("\x00".join(texts).encode())
    return h.hexdigest()


def citation_training_data(
    graph: LinkGraph,
    output: str | Path,
    *,
    texts: Mapping[str, str] | None = None,
    output_format: OutputFormat = "triplets",
    negatives: Callable[..., Any] = uniform_link_negatives,
    seed: int = 0,
    chunk_size: int = 500,
    embeddings: Any = None,
    negatives_per: NegativesPer = "paper",
    resume: bool = True,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Write (citing, cited, negatives) training data for every citation of ``graph``.

    Parameters
    ----------
    graph : LinkGraph
        Citation graph (citing -> cited).
    output : path
        The output JSONL file.
    texts : mapping id -> str, default=None
        Paper texts (title + abstract). Required by the trainer formats; papers without
        text are then left out (counted) before anything is sampled. Keys follow the id
        rule of :class:`~graphneg.LinkGraph` (``1`` and ``"1"`` are the same paper).
    output_format : {'triplets', 'st', 'flag', 'tevatron'}, default='triplets'
        ``triplets``: one line per citation ``{"query_id", "positive_id", "negative_ids"}``
        (plus ``query``, ``positive``, ``negatives`` texts when given); ``st``:
        sentence-transformers columns; ``flag``: FlagEmbedding ``{query, pos, neg}``;
        ``tevatron``: Tevatron ``{query_id, query, positive_passages, negative_passages}``.
    negatives : callable, default=uniform_link_negatives
        A link-negative function (:func:`graphneg.uniform_link_negatives`, ...,
        :func:`graphneg.scincl_link_negatives`), or a ``functools.partial`` of one binding, by
        keyword, its own options and the two every strategy shares, ``num_negatives`` and
        ``exclude_hops`` (unbound: the function's defaults, 5 and 1), e.g.
        ``functools.partial(khop_link_negatives, hops=3, num_negatives=3)``. The sources, seed
        and ``exclude`` (each record's positives) are set here, chunk by chunk.
    embeddings : array-like of shape (n_nodes, dim), default=None
        Node embeddings, exactly when ``negatives`` takes them (BiCA, SciNCL); rows of papers
        left out for lack of text are dropped with them.
    seed : int, default=0
        Chunk ``c`` uses seed ``[seed, c]``: results do not depend on where a run stopped.
    chunk_size : int, default=500
        Source papers per chunk (the unit of resumption).
    negatives_per : {'paper', 'pair'}, default='paper'
        ``'paper'``: negatives are drawn once per citing paper, and every record of that
        paper (one per paper it cites) carries the same negatives. ``'pair'``: each
        (citing, cited) record gets its own draw (still never a paper the source cites).
    resume : bool, default=True
        Reuse finished chunks of an earlier run with the same inputs and settings; ``False``
        starts over. Finished chunks of a run with *different* settings are never reused.
    show_progress : bool, default=False
        Show a tqdm progress bar over the chunks.

    Returns
    -------
    dict
        Summary: ``sources``, ``citations``, ``records``, ``chunks``, ``resumed_chunks``,
        ``short_records`` (records with fewer than ``num_negatives`` negatives),
        ``skipped_no_text`` and the output path. A source's negatives never include any paper
        it cites (its positives), also with ``exclude_hops=0``.

    Raises
    ------
    ValueError, TypeError
        A bad argument or strategy option, before any output or ``.parts`` folder exists.

    See Also
    --------
    graphneg.uniform_link_negatives : the default strategy; its Notes give the rules all share.
    graphneg.read_citations : a citation corpus as a LinkGraph and texts by id.
    graphneg.read_sentence_transformers_jsonl : reads the ``'st'`` output back.

    Examples
    --------
    >>> import functools, json, tempfile, pathlib
    >>> from graphneg import LinkGraph, uniform_link_negatives
    >>> g = LinkGraph.from_edges(["a", "a", "b", "c"], ["b", "c", "c", "d"])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> one = functools.partial(uniform_link_negatives, num_negatives=1)
    >>> summary = citation_training_data(g, out, negatives=one, seed=0)
    >>> summary["records"], summary["citations"], summary["chunks"]
    (4, 4, 1)
    >>> sorted(json.loads(out.read_text().splitlines()[0]))
    ['negative_ids', 'positive_id', 'query_id']
    """
    job = _plan(
        graph, Path(output), texts, output_format, embeddings,
        dict(negatives=negatives, seed=seed, chunk_size=chunk_size, negatives_per=negatives_per),
    )
    _open_parts(job, resume)
    resumed = _run_chunks(job, show_progress)
    n_records, short = _join_parts(job)
    return {
        "output": str(job.output), "skipped_no_text": job.skipped_no_text, "sources": int(job.sources.size),
        "citations": int(job.graph.num_edges), "records": n_records, "chunks": job.n_chunks,
        "resumed_chunks": resumed, "short_records": short,
    }


@dataclass
class Job:
    """Everything a run needs, checked; ``config`` and the inputs make its fingerprint."""

    graph: LinkGraph
    output: Path
    texts: list[str] | None
    embeddings: Any
    output_format: str
    strategy: str
    num_negatives: int
    exclude_hops: int
    seed: int
    chunk_size: int
    strategy_kwargs: dict[str, Any]
    per_pair: bool = False
    skipped_no_text: int = 0
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    config: dict[str, Any] = field(default_factory=dict)
    prepared: bool = False
    out_degree: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # built once per run when the strategy draws from the banned pattern alone
    banned: Any = None
    # JSON-encoded ids (and texts) for the column-wise triplet writer (None: no pyarrow)
    encoded: Any = None

    @property
    def n_chunks(self) -> int:
        return -(-self.sources.size // self.chunk_size)

    @property
    def parts(self) -> Path:
        return self.output.with_name(self.output.name + ".parts")

    # chunks per part: 1, or for the cheap strategies enough that a part holds tens of
    # thousands of records (a sync per chunk would cost more than drawing)
    part_chunks: int = 1
    # finished parts: part -> (records, short records, bytes), read from their markers' names
    done: dict[int, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def n_parts(self) -> int:
        return -(-self.n_chunks // self.part_chunks)

    @property
    def written(self) -> Path:
        """The output so far: the finished parts in order (and maybe the start of the next)."""
        return self.parts / "output.jsonl"

    def marker(self, p: int) -> Path:
        """The (empty) file that marks part ``p`` finished; its name carries the part's record
        count, short-record count and length in bytes."""
        return self.parts / "part-{:06d}.{}.{}.{}.done".format(p, *self.done[p])


def _plan(
    graph: Any, output: Path, texts: Any, output_format: Any, embeddings: Any, options: dict[str, Any]
) -> Job:
    """Check the arguments, drop papers without text, fix the sources and the config."""
    if not isinstance(graph, LinkGraph):
        raise TypeError(f"`graph` must be a graphneg.LinkGraph, got {type(graph).__name__}.")
    output_format = check_choice(output_format, "output_format", OUTPUT_FORMATS)
    # a bad strategy or option fails here, before any output or .parts folder exists
    strategy = resolve_link_strategy(options["negatives"], embeddings)
    job = Job(
        graph, output, None, embeddings, output_format, strategy.name,
        num_negatives=check_int(strategy.num_negatives, "num_negatives"),
        exclude_hops=strategy.exclude_hops, seed=check_int(options["seed"], "seed", min_value=0),
        chunk_size=check_int(options["chunk_size"], "chunk_size"), strategy_kwargs=strategy.options,
        per_pair=check_choice(options["negatives_per"], "negatives_per", NEGATIVES_PER) == "pair",
    )
    if texts is not None:
        _keep_papers_with_text(job, _texts_by_id(texts))
    elif output_format != "triplets":
        raise ValueError(f"output_format={output_format!r} needs `texts`; use 'triplets' for ids only.")
    job.sources = np.flatnonzero(job.graph.out_degree() > 0)
    job.config = dict(
        output_format=job.output_format, strategy=job.strategy, num_negatives=job.num_negatives,
        exclude_hops=job.exclude_hops, seed=job.seed, chunk_size=job.chunk_size,
        strategy_kwargs=job.strategy_kwargs,
        embeddings=None if job.embeddings is None else _digest(np.ascontiguousarray(job.embeddings).tobytes()),
    )
    if job.per_pair:
        job.config["negatives_per"] = "pair"
    if job.strategy in PATTERN_STRATEGIES and job.output_format == "triplets" and job.sources.size:
        per_chunk = job.graph.num_edges / job.n_chunks
        target = _GROUP_RECORDS // 10 if job.texts is not None else _GROUP_RECORDS
        job.part_chunks = max(1, int(target // max(per_chunk, 1.0)))
    job.config["part_chunks"] = job.part_chunks
    return job


def _texts_by_id(texts: Any) -> Mapping[str, str]:
    """``texts`` keyed by normalised ids (``1`` and ``"1"`` are one paper)."""
    if not isinstance(texts, Mapping):
        raise TypeError(f"`texts` must be a mapping id -> text, got {type(texts).__name__}.")
    if all(type(k) is str for k in texts):
        return texts  # already normalised: no copy of a large mapping
    keys = unique_ids(list(texts), "texts")
    return dict(zip(keys, texts.values(), strict=True))


def _keep_papers_with_text(job: Job, texts: Mapping[str, str]) -> None:
    graph = job.graph
    has = np.array([bool(texts.get(i)) for i in graph.ids]) if graph.num_nodes else np.zeros(0, bool)
    if not has.all():
        job.skipped_no_text = int((~has).sum())
        rows = np.flatnonzero(has)
        job.graph = graph.subgraph(rows)
        if job.embeddings is not None:
            job.embeddings = np.asarray(job.embeddings)[rows]  # a new array
    job.texts = [texts[i] for i in job.graph.ids]


def _open_parts(job: Job, resume: bool) -> None:
    """Keep the finished parts of an earlier run with the same fingerprint, drop any other, and
    cut the output so far back to them."""
    fingerprint = _fingerprint(job.graph, job.texts, job.config)
    parts, state = job.parts, job.parts / "state.json"
    if parts.exists():
        old = json.loads(state.read_text()) if state.exists() else {}
        if not resume or old.get("fingerprint") != fingerprint or not _keep_finished(job):
            shutil.rmtree(parts)
            job.done.clear()
    parts.mkdir(parents=True, exist_ok=True)
    if not state.exists():
        with atomic_write(state, "w") as fh:
            json.dump({"fingerprint": fingerprint, "chunks": job.n_chunks, "config": job.config}, fh, default=str)
    with open(job.written, "ab") as fh:  # created when missing; cut to the finished parts
        fh.truncate(sum(size for _, _, size in job.done.values()))


def _keep_finished(job: Job) -> bool:
    """Read the finished parts from their markers: the run of parts 0, 1, ... that are marked
    (parts are written in order; a marker past a gap is dropped). False when the output so
    far is shorter than they are (it cannot be resumed)."""
    marked = {}
    for name in os.listdir(job.parts):
        if m := _MARKER.fullmatch(name):
            marked[int(m[1])] = name, (int(m[2]), int(m[3]), int(m[4]))
    p = 0
    while p in marked:
        job.done[p] = marked.pop(p)[1]
        p += 1
    for name, _ in marked.values():
        os.unlink(job.parts / name)
    written = job.written.stat().st_size if job.written.exists() else 0
    return written >= sum(size for _, _, size in job.done.values())


_MARKER = re.compile(r"part-(\d{6})\.(\d+)\.(\d+)\.(\d+)\.done")


def _run_chunks(job: Job, show_progress: bool) -> int:
    """Write every missing part; return how many chunks were already done."""
    parts: Any = range(job.n_parts)
    if show_progress:
        from tqdm.auto import tqdm

        parts = tqdm(parts, desc=f"citations ({job.strategy} negatives)", unit="part")
    resumed = 0
    appending = None  # a part is appended and synced by a second thread while the next one is drawn
    with open(job.written, "ab") as fh, ThreadPoolExecutor(1) as writer:  # appends after the finished parts
        for p in parts:
            chunks = range(p * job.part_chunks, min((p + 1) * job.part_chunks, job.n_chunks))
            if p in job.done:
                resumed += len(chunks)
                continue
            _prepare(job)
            part = _run_part(job, chunks)
            if appending is not None:
                appending.result()  # parts are appended in order, one at a time
            appending = writer.submit(_append_part, job, p, part, fh)
        if appending is not None:
            appending.result()
    return resumed


def _prepare(job: Job) -> None:
    """What every chunk shares, built once (only when a chunk is left to do)."""
    if job.prepared:
        return
    job.prepared = True
    job.out_degree = np.diff(job.graph.adjacency.indptr)
    if job.strategy in PATTERN_STRATEGIES and type(job.exclude_hops) is int and job.exclude_hops in (0, 1):
        job.banned = citing_banned(job.graph, job.sources, job.exclude_hops)
    if job.output_format == "triplets":
        job.encoded = encoded_columns(job.graph, job.texts)


def _run_part(job: Job, chunks: range) -> tuple[Any, int, int]:
    """A part (its chunks in order): its bytes, records and short records."""
    n_records = num_short = 0
    buffer = io.BytesIO()
    out = TripletBatch(job.encoded) if job.encoded is not None else buffer
    if job.banned is not None:  # all chunks of the part in one draw
        n_records, num_short = _run_pattern_chunks(job, chunks, out)
    else:
        for c in chunks:
            n, short = _run_chunk(job, c, out)
            n_records, num_short = n_records + n, num_short + short
    return (out.lines() if out is not buffer else buffer.getbuffer()), n_records, num_short


def _append_part(job: Job, p: int, part: tuple[Any, int, int], fh: Any) -> None:
    """Append part ``p`` to the output so far (``fh``), sync it, then mark the part finished."""
    data, n_records, num_short = part
    fh.write(data)
    fh.flush()
    os.fsync(fh.fileno())  # the part's bytes are on disk before its marker is
    job.done[p] = (n_records, num_short, memoryview(data).nbytes)
    with atomic_write(job.marker(p), "wb"):
        pass


def _run_pattern_chunks(job: Job, chunks: range, out: Any) -> tuple[int, int]:
    """Write the records of ``chunks`` when the strategy draws from the banned pattern alone:
    one vectorised draw over their sources, each chunk's rows with its own generator (the
    negatives of a draw per chunk); return (records, short records)."""
    lo = chunks.start * job.chunk_size
    hi = min(chunks.stop * job.chunk_size, job.sources.size)
    sources = job.sources[lo:hi]
    n_cited = job.out_degree[sources]
    bounds = np.append(np.arange(chunks.start, chunks.stop) * job.chunk_size - lo, hi - lo)  # in sources
    rows = None
    if job.per_pair:  # output row j: the j-th citation of the part
        rows = np.repeat(np.arange(sources.size), n_cited)
        bounds = np.concatenate(([0], np.cumsum(n_cited)))[bounds]
    rng = RowBlocks([np.random.default_rng([job.seed, c]) for c in chunks], bounds)
    neg = draw_from_pattern(job.strategy, job.graph, job.banned[lo:hi], job.num_negatives, rng, rows=rows,
                            **job.strategy_kwargs)
    return write_records(job, out, sources, n_cited, neg)


def _run_chunk(job: Job, c: int, out: Any) -> tuple[int, int]:
    """Write chunk ``c``'s records to ``out``; return (records, short records)."""
    chunk = job.sources[c * job.chunk_size : (c + 1) * job.chunk_size]
    A = job.graph.adjacency
    n_cited = job.out_degree[chunk]
    # per pair: output row j of the draw belongs to the j-th citation of the chunk
    pair_of = np.repeat(np.arange(chunk.size), n_cited) if job.per_pair else None
    rng = np.random.default_rng([job.seed, c])
    with warnings.catch_warnings(record=True):
        # shortfalls are counted from the parts and reported once in the summary
        warnings.simplefilter("always", GraphNegWarning)
        cited = [A.indices[A.indptr[s] : A.indptr[s + 1]] for s in chunk]
        src = chunk
        if pair_of is not None:
            src, cited = chunk[pair_of], [cited[i] for i in pair_of.tolist()]
        given = {} if job.embeddings is None else {"embeddings": job.embeddings}
        neg = LINK_STRATEGIES[job.strategy](
            job.graph, **given, sources=src, num_negatives=job.num_negatives, exclude_hops=job.exclude_hops,
            # a record's positive must never be among its negatives, whatever exclude_hops says
            exclude=cited, seed=rng, **job.strategy_kwargs,
        ).indices
        return write_records(job, out, chunk, n_cited, neg)


def _join_parts(job: Job) -> tuple[int, int]:
    """Give the output so far its name (it is complete), remove the parts; return (records, short)."""
    # the mode a plain open() of the output would leave, as atomic_write gives it
    os.chmod(job.written, _new_file_mode(job.output))
    os.replace(job.written, job.output)
    shutil.rmtree(job.parts)
    # totals come from the markers' names, so a resumed run reports the same numbers
    return sum(n for n, _, _ in job.done.values()), sum(k for _, k, _ in job.done.values())
