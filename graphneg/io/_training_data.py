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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._validation import check_choice, check_int
from ..exceptions import GraphNegWarning
from ..links._graph import LinkGraph
from ..negatives._link_negatives import STRATEGIES, link_negatives
from ._atomic import atomic_write

__all__ = ["citation_training_data", "OUTPUT_FORMATS"]

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
    strategy: str = "uniform",
    num_negatives: int = 3,
    exclude_hops: int = 1,
    seed: int = 0,
    chunk_size: int = 500,
    embeddings: Any = None,
    resume: bool = True,
    show_progress: bool = False,
    **strategy_kwargs: Any,
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
        text are then left out (counted) before anything is sampled.
    output_format : {'triplets', 'st', 'flag', 'tevatron'}, default='triplets'
        ``triplets``: one line per citation ``{"query_id", "positive_id", "negative_ids"}``
        (plus ``query``, ``positive``, ``negatives`` texts when given); ``st``:
        sentence-transformers columns; ``flag``: FlagEmbedding ``{query, pos, neg}``;
        ``tevatron``: Tevatron ``{query_id, query, positive_passages, negative_passages}``.
    strategy, num_negatives, exclude_hops, embeddings, **strategy_kwargs
        Passed to :func:`graphneg.link_negatives.link_negatives`.
    seed : int, default=0
        Chunk ``c`` uses seed ``[seed, c]``: results do not depend on where a run stopped.
    chunk_size : int, default=500
        Source papers per chunk (the unit of resumption).
    resume : bool, default=True
        Reuse finished chunks of an earlier run with the same inputs and settings; ``False``
        starts over. Finished chunks of a run with *different* settings are never reused.
    show_progress : bool, default=False

    Returns
    -------
    dict
        Summary: ``sources``, ``citations``, ``records``, ``chunks``, ``resumed_chunks``,
        ``short_records`` (records with fewer than ``num_negatives`` negatives),
        ``skipped_no_text`` and the output path. A source's negatives never include any paper
        it cites (its positives), also with ``exclude_hops=0``.
    """
    if not isinstance(graph, LinkGraph):
        raise TypeError(f"`graph` must be a graphneg.LinkGraph, got {type(graph).__name__}.")
    output_format = check_choice(output_format, "output_format", OUTPUT_FORMATS)
    check_choice(strategy, "strategy", STRATEGIES)
    chunk_size = check_int(chunk_size, "chunk_size")
    num_negatives = check_int(num_negatives, "num_negatives")
    seed = check_int(seed, "seed", min_value=0)
    output = Path(output)
    summary: dict[str, Any] = {"output": str(output), "skipped_no_text": 0}

    text_list = None
    if texts is not None:
        has = np.array([bool(texts.get(i)) for i in graph.ids]) if graph.n_nodes else np.zeros(0, bool)
        if not has.all():
            summary["skipped_no_text"] = int((~has).sum())
            rows = np.flatnonzero(has)
            graph = graph.subgraph(rows)
            if embeddings is not None:
                embeddings = np.asarray(embeddings)[rows]
        text_list = [texts[i] for i in graph.ids]
    elif output_format != "triplets":
        raise ValueError(f"output_format={output_format!r} needs `texts`; use 'triplets' for ids only.")

    sources = np.flatnonzero(graph.out_degree() > 0)
    n_chunks = -(-sources.size // chunk_size)
    config = dict(
        output_format=output_format, strategy=strategy, num_negatives=num_negatives, exclude_hops=exclude_hops,
        seed=seed, chunk_size=chunk_size, strategy_kwargs=strategy_kwargs,
        embeddings=None if embeddings is None else _digest(np.ascontiguousarray(embeddings).tobytes()),
    )
    fingerprint = _fingerprint(graph, text_list, config)
    parts = output.with_name(output.name + ".parts")
    state = parts / "state.json"
    if parts.exists():
        old = json.loads(state.read_text()) if state.exists() else {}
        if not resume or old.get("fingerprint") != fingerprint:
            shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    if not state.exists():
        with atomic_write(state, "w") as fh:
            json.dump({"fingerprint": fingerprint, "chunks": n_chunks, "config": config}, fh, default=str)

    chunks: Any = range(n_chunks)
    if show_progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc=f"citations ({strategy} negatives)", unit="chunk")
    resumed = short = 0
    for c in chunks:
        part = parts / f"part-{c:06d}.jsonl"
        if part.exists():
            resumed += 1
            continue
        chunk = sources[c * chunk_size : (c + 1) * chunk_size]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GraphNegWarning)
            A = graph.adjacency
            cited = [A.indices[A.indptr[s] : A.indptr[s + 1]] for s in chunk]
            neg = link_negatives(
                graph, chunk, strategy=strategy, num_negatives=num_negatives, exclude_hops=exclude_hops,
                # a record's positive must never be among its negatives, whatever exclude_hops says
                exclude=cited, seed=np.random.default_rng([seed, c]), embeddings=embeddings, **strategy_kwargs,
            )
            _write_chunk(part, graph, chunk, neg.indices, text_list, output_format)
        if not part.exists():  # a writer with nothing to write: still mark the chunk done
            with atomic_write(part, "w") as fh:
                pass
        del caught  # shortfalls are counted below and reported once in the summary
    # totals are recomputed from the parts, so a resumed run reports the same numbers
    n_records = 0
    with atomic_write(output, "w", encoding="utf-8") as out:
        for c in range(n_chunks):
            with open(parts / f"part-{c:06d}.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    out.write(line)
                    n_records += 1
                    short += _is_short(line, output_format, num_negatives)
    shutil.rmtree(parts)
    summary.update(
        sources=int(sources.size), citations=int(graph.n_edges), records=n_records, chunks=n_chunks,
        resumed_chunks=resumed, short_records=int(short),
    )
    return summary


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
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return
    from . import _formats as formats

    query_texts = [texts[s] for s in chunk]  # type: ignore[index]
    if fmt == "st":
        formats.write_sentence_transformers_jsonl(part, query_texts, texts, positives, negatives)
    elif fmt == "flag":
        formats.write_flagembedding(part, query_texts, texts, positives, negatives)
    else:
        formats.write_tevatron(
            part, [str(graph.ids[s]) for s in chunk], query_texts, [str(i) for i in graph.ids], texts,
            positives, negatives,
        )
