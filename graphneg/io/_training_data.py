"""Citation corpus -> training data (citing -> cited pairs with link-structure negatives).

The work is cut into chunks of source papers; each chunk's output is written atomically to
``<output>.parts/`` and its randomness depends only on ``(seed, chunk)``, so an interrupted
run resumes where it stopped and produces a file identical to an uninterrupted run. The
parts are joined into ``output`` (atomically) at the end and then removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._ids import unique_ids
from .._validation import check_choice, check_int
from ..exceptions import GraphNegWarning
from ..links._graph import LinkGraph
from ..negatives._link_by_embedding import LINK_STRATEGIES, resolve_link_strategy
from ..negatives._link_negatives import uniform_link_negatives
from ._atomic import atomic_write
from ._jsonl import dumps_line

OutputFormat = Literal["triplets", "st", "flag", "tevatron"]
OUTPUT_FORMATS = ("triplets", "st", "flag", "tevatron")


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
    num_negatives: int = 3,
    exclude_hops: int = 1,
    seed: int = 0,
    chunk_size: int = 500,
    embeddings: Any = None,
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
        :func:`graphneg.scincl_link_negatives`), or a ``functools.partial`` of one binding its
        own options, e.g. ``functools.partial(khop_link_negatives, hops=3)``.
    num_negatives, exclude_hops : int, default=3, 1
        Passed to ``negatives``.
    embeddings : array-like of shape (n_nodes, dim), default=None
        Node embeddings, exactly when ``negatives`` takes them (BiCA, SciNCL); rows of papers
        left out for lack of text are dropped with them.
    seed : int, default=0
        Chunk ``c`` uses seed ``[seed, c]``: results do not depend on where a run stopped.
    chunk_size : int, default=500
        Source papers per chunk (the unit of resumption).
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

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> from graphneg import LinkGraph
    >>> g = LinkGraph.from_edges(["a", "a", "b", "c"], ["b", "c", "c", "d"])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> summary = citation_training_data(g, out, num_negatives=1, seed=0)
    >>> summary["records"], summary["citations"], summary["chunks"]
    (4, 4, 1)
    >>> sorted(json.loads(out.read_text().splitlines()[0]))
    ['negative_ids', 'positive_id', 'query_id']
    """
    job = _plan(
        graph, Path(output), texts, output_format, embeddings,
        dict(negatives=negatives, num_negatives=num_negatives, exclude_hops=exclude_hops, seed=seed,
             chunk_size=chunk_size),
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
class _Job:
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
    skipped_no_text: int = 0
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def n_chunks(self) -> int:
        return -(-self.sources.size // self.chunk_size)

    @property
    def parts(self) -> Path:
        return self.output.with_name(self.output.name + ".parts")

    def part(self, c: int) -> Path:
        return self.parts / f"part-{c:06d}.jsonl"


def _plan(
    graph: Any, output: Path, texts: Any, output_format: Any, embeddings: Any, options: dict[str, Any]
) -> _Job:
    """Check the arguments, drop papers without text, fix the sources and the config."""
    if not isinstance(graph, LinkGraph):
        raise TypeError(f"`graph` must be a graphneg.LinkGraph, got {type(graph).__name__}.")
    output_format = check_choice(output_format, "output_format", OUTPUT_FORMATS)
    # a bad strategy or option fails here, before any output or .parts folder exists
    strategy, strategy_kwargs = resolve_link_strategy(options["negatives"], embeddings)
    job = _Job(
        graph, output, None, embeddings, output_format, strategy,
        num_negatives=check_int(options["num_negatives"], "num_negatives"),
        exclude_hops=options["exclude_hops"], seed=check_int(options["seed"], "seed", min_value=0),
        chunk_size=check_int(options["chunk_size"], "chunk_size"), strategy_kwargs=strategy_kwargs,
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
    return job


def _texts_by_id(texts: Any) -> Mapping[str, str]:
    """``texts`` keyed by normalised ids (``1`` and ``"1"`` are one paper)."""
    if not isinstance(texts, Mapping):
        raise TypeError(f"`texts` must be a mapping id -> text, got {type(texts).__name__}.")
    if all(type(k) is str for k in texts):
        return texts  # already normalised: no copy of a large mapping
    keys = unique_ids(list(texts), "texts")
    return dict(zip(keys, texts.values(), strict=True))


def _keep_papers_with_text(job: _Job, texts: Mapping[str, str]) -> None:
    graph = job.graph
    has = np.array([bool(texts.get(i)) for i in graph.ids]) if graph.num_nodes else np.zeros(0, bool)
    if not has.all():
        job.skipped_no_text = int((~has).sum())
        rows = np.flatnonzero(has)
        job.graph = graph.subgraph(rows)
        if job.embeddings is not None:
            job.embeddings = np.asarray(job.embeddings)[rows]  # a new array
    job.texts = [texts[i] for i in job.graph.ids]


def _open_parts(job: _Job, resume: bool) -> None:
    """Keep the finished parts of an earlier run with the same fingerprint, drop any other."""
    fingerprint = _fingerprint(job.graph, job.texts, job.config)
    parts, state = job.parts, job.parts / "state.json"
    if parts.exists():
        old = json.loads(state.read_text()) if state.exists() else {}
        if not resume or old.get("fingerprint") != fingerprint:
            shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    if not state.exists():
        with atomic_write(state, "w") as fh:
            json.dump({"fingerprint": fingerprint, "chunks": job.n_chunks, "config": job.config}, fh, default=str)


def _run_chunks(job: _Job, show_progress: bool) -> int:
    """Write every missing part; return how many parts were already there."""
    chunks: Any = range(job.n_chunks)
    if show_progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc=f"citations ({job.strategy} negatives)", unit="chunk")
    resumed = 0
    for c in chunks:
        if job.part(c).exists():
            resumed += 1
        else:
            _run_chunk(job, c)
    return resumed


def _run_chunk(job: _Job, c: int) -> None:
    part = job.part(c)
    chunk = job.sources[c * job.chunk_size : (c + 1) * job.chunk_size]
    with warnings.catch_warnings(record=True):
        # shortfalls are counted from the parts and reported once in the summary
        warnings.simplefilter("always", GraphNegWarning)
        A = job.graph.adjacency
        cited = [A.indices[A.indptr[s] : A.indptr[s + 1]] for s in chunk]
        given = {} if job.embeddings is None else {"embeddings": job.embeddings}
        neg = LINK_STRATEGIES[job.strategy](
            job.graph, **given, sources=chunk, num_negatives=job.num_negatives, exclude_hops=job.exclude_hops,
            # a record's positive must never be among its negatives, whatever exclude_hops says
            exclude=cited, seed=np.random.default_rng([job.seed, c]), **job.strategy_kwargs,
        )
        _write_chunk(part, job.graph, chunk, neg.indices, job.texts, job.output_format)
    if not part.exists():  # a writer with nothing to write: still mark the chunk done
        with atomic_write(part, "w"):
            pass


def _join_parts(job: _Job) -> tuple[int, int]:
    """Join the parts into the output (atomically), remove them; return (records, short)."""
    # totals are recomputed from the parts, so a resumed run reports the same numbers
    n_records = short = 0
    with atomic_write(job.output, "w", encoding="utf-8") as out:
        for c in range(job.n_chunks):
            with open(job.part(c), encoding="utf-8") as fh:
                for line in fh:
                    out.write(line)
                    n_records += 1
                    short += _is_short(line, job.output_format, job.num_negatives)
    shutil.rmtree(job.parts)
    return n_records, short


def _is_short(line: str, output_format: str, k: int) -> bool:
    rec = json.loads(line)
    if output_format == "triplets":
        return len(rec["negative_ids"]) < k
    if output_format == "flag":
        return len(rec["neg"]) < k
    if output_format == "tevatron":
        return len(rec["negative_passages"]) < k
    return False  # st rows exist only with all n negatives


def _write_chunk(
    part: Path, graph: LinkGraph, chunk: np.ndarray, negatives: np.ndarray, texts: list[str] | None, fmt: str
) -> None:
    A = graph.adjacency
    positives = [A.indices[A.indptr[s] : A.indptr[s + 1]].tolist() for s in chunk]
    if fmt == "triplets":
        with atomic_write(part, "w", encoding="utf-8") as fh:
            for s, pos, neg in zip(chunk.tolist(), positives, negatives, strict=True):
                neg = [int(v) for v in neg if v >= 0]
                for p in pos:
                    rec: dict[str, Any] = {
                        "query_id": str(graph.ids[s]), "positive_id": str(graph.ids[p]),
                        "negative_ids": [str(graph.ids[v]) for v in neg],
                    }
                    if texts is not None:
                        rec.update(query=texts[s], positive=texts[p], negatives=[texts[v] for v in neg])
                    fh.write(dumps_line(rec))
        return
    from . import _formats_flagembedding, _formats_st, _formats_tevatron

    query_texts = [texts[s] for s in chunk]  # type: ignore[index]
    if fmt == "st":
        _formats_st.write_sentence_transformers_jsonl(part, query_texts, texts, positives, negatives)
    elif fmt == "flag":
        _formats_flagembedding.write_flagembedding(part, query_texts, texts, positives, negatives)
    else:
        _formats_tevatron.write_tevatron(
            part, [str(graph.ids[s]) for s in chunk], query_texts, [str(i) for i in graph.ids], texts,
            positives, negatives,
        )
