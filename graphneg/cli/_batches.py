"""``graphneg batches``: embeddings -> kNN graph -> communities -> one epoch of batches."""

from __future__ import annotations

import argparse
import inspect
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..similarity._communities import ALGORITHMS
from ..training._plans import epoch_batches, random_epoch  # the samplers' logic, without torch
from ._batches_io import write_batches
from ._common import (
    CliError,
    check_output,
    claim_outputs,
    import_igraph_without_pyplot,
    load_embeddings,
    load_labels,
    log,
    read_text,
    relay_warnings,
)
from ._stats import format_table

NAME = "batches"
SUMMARY = "embeddings -> kNN graph -> communities -> one epoch of batches (JSONL) + diagnostics"
DESCRIPTION = (
    "Build a kNN graph from embeddings (the built-in demo dataset when --embeddings is not given), "
    "find communities, write one epoch of batches as JSONL (one batch a line) and print batch "
    "diagnostics next to random batches."
)


def add_options(b: argparse.ArgumentParser) -> None:
    """The options of ``graphneg batches``."""
    _add_input_options(b)
    _add_graph_options(b)
    _add_graph_file_options(b)
    _add_batch_options(b)


def _add_input_options(b: argparse.ArgumentParser) -> None:
    b.add_argument("--embeddings", type=Path, help=".npy (n_items, dim); default: built-in demo data "
                   "(never with --graph: without embeddings a saved graph gets no cosine diagnostics)")
    b.add_argument("--labels", type=Path, help="labels for diagnostics: .npy or text, one per line")
    b.add_argument("--ids", type=Path, help="text file of item ids, one per line, written with the batches")
    b.add_argument("--demo-size", type=int, default=3000, help="items in the demo dataset")
    b.add_argument("-o", "--output", type=Path, default=Path("batches.jsonl"), help="output JSONL")
    b.add_argument("--stats-json", type=Path, help="also write the diagnostics as JSON here")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _add_graph_options(b: argparse.ArgumentParser) -> None:
    b.add_argument("-k", type=int, default=10, help="neighbours per item")
    b.add_argument("--skip", type=int, default=0, help="drop each item's top SKIP neighbours (B3's p)")
    b.add_argument("--metric", default="cosine", choices=["cosine", "ip", "euclidean"])
    b.add_argument("--mutual", action="store_true", help="keep only mutual kNN edges (B3)")
    b.add_argument("--backend", default="auto", choices=["exact", "auto", "faiss", "faiss-hnsw", "pynndescent"],
                   help="kNN backend (default auto: exact up to 200,000 items, then an approximate "
                   "search that raises its effort until a sampled recall of 0.95); approximate ones "
                   "report their recall")
    b.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                   help="reduced-precision scoring with fp32 re-ranking (exact backend)")
    b.add_argument("--device", default=None, help="torch device for the kNN search, e.g. cuda")
    b.add_argument("--method", default="auto", choices=list(ALGORITHMS),
                   help="community algorithm: auto = graphneg.communities (igraph's Leiden, networkit's PLM "
                   "from 100,000 items); the others run that algorithm's function with its own options")
    b.add_argument("--resolution", type=float, default=None,
                   help="modularity/CPM resolution (leiden, louvain, plm; default 1.0)")
    b.add_argument("--max-cluster-size", "--max-size", dest="max_cluster_size", type=int, default=None,
                   help="largest community (default: none)")
    b.add_argument("--cluster-size", type=int, default=None, help="exact cluster size K (B3)")
    b.add_argument("--num-parts", "--n-parts", dest="num_parts", type=int, default=None,
                   help="parts for --method metis")
    b.add_argument("--unweighted", action="store_true", help="ignore similarity weights")


def _add_graph_file_options(b: argparse.ArgumentParser) -> None:
    g = b.add_mutually_exclusive_group()
    g.add_argument("--graph", type=Path, help="start from a saved graph file (.npz from --save-graph or "
                   "graphneg.save_graph): no kNN search; its communities are used when it has them")
    g.add_argument("--cache-dir", type=Path, help="reuse the graph and communities saved here for the same "
                   "input and graph options; build and save them on a miss")
    b.add_argument("--save-graph", type=Path, help="also write the graph and its communities here (.npz + .json)")


def _add_batch_options(b: argparse.ArgumentParser) -> None:
    b.add_argument("--packing", default="auto", choices=["auto", "b3", "bfd", "fill", "tas"])
    b.add_argument("--clusters-per-batch", type=int, default=1, help="with --packing tas")
    b.add_argument("--batch-size", type=int, default=64)
    b.add_argument("--mix-random", type=float, default=0.0, help="share of random items per batch")
    b.add_argument("--drop-last", action="store_true")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--epoch", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """Run ``graphneg batches``; 0 on success."""
    import_igraph_without_pyplot()
    import graphneg as gn

    t0 = time.perf_counter()
    inputs = [args.embeddings, args.labels, args.ids]
    outputs = [check_output(args.output, "-o", inputs)]
    if args.stats_json is not None:
        outputs.append(check_output(args.stats_json, "--stats-json", [*inputs, args.output]))
        if args.stats_json.resolve() == args.output.resolve():
            raise CliError(f"--stats-json {args.stats_json} is the same file as -o")
    outputs += _graph_file_outputs(args, [*inputs, args.graph, args.output, args.stats_json])
    with claim_outputs(outputs), relay_warnings(args.quiet):
        _check_graph_file_options(args)
        X, labels, ids, citations = _inputs(args)
        saved = None
        if X is None:  # --graph without --embeddings: the graph alone decides the items
            saved = _read_graph_file(args)
            labels, ids = _labels_and_ids(args, saved.graph.shape[0], saved.ids)
            log("no --embeddings: the diagnostics leave out mean cosine (they compare batches on the "
                "graph and the labels only); give --embeddings for it", args.quiet)
        graph, comm = _graph_and_communities(args, X, ids, saved)
        batches, packing = _plan(args, comm)  # refuses an empty epoch before writing
        control = random_epoch(graph.shape[0], args.batch_size, drop_last=args.drop_last, seed=args.seed,
                               epoch=args.epoch)
        write_batches(args.output, batches, ids)
        log(f"wrote {len(batches)} batches to {args.output} "
            f"(packing={packing}) in {time.perf_counter() - t0:.1f}s", args.quiet)
        kw = dict(embeddings=X, labels=labels, graph=citations if citations is not None else graph)
        stats = {"graphneg": gn.batch_stats(batches, **kw), "random": gn.batch_stats(control, **kw)}
        print(format_table(stats))
        if args.stats_json:
            from ..io._atomic import atomic_write

            with atomic_write(args.stats_json, "w") as fh:
                json.dump(stats, fh, indent=2)
    return 0


# Options that decide how a graph is built, and how its communities are found, with their
# defaults: a saved graph (--graph) is not rebuilt, so a value other than the default would be
# silently ignored; it is refused instead (community options only where the file holds them).
_KNN_DEFAULTS: dict[str, Any] = {"k": 10, "skip": 0, "metric": "cosine", "mutual": False, "backend": "auto",
                                 "precision": "fp32", "device": None}
_COMMUNITY_DEFAULTS: dict[str, Any] = {"method": "auto", "resolution": None, "max_cluster_size": None,
                                       "cluster_size": None, "num_parts": None, "unweighted": False}


def _option(name: str) -> str:
    return "-k" if name == "k" else "--" + name.replace("_", "-")


def _changed(args: argparse.Namespace, defaults: dict[str, Any]) -> list[str]:
    return [_option(k) for k, v in defaults.items() if getattr(args, k) != v]


def _check_graph_file_options(args: argparse.Namespace) -> None:
    """With --graph: kNN options cannot apply (no search runs), nor --demo-size (the demo data
    are never compared against a saved graph); refused, never ignored."""
    if args.graph is None:
        return
    if args.demo_size != 3000:
        raise CliError(f"--demo-size sizes the built-in demo data, which --graph {args.graph} never uses "
                       "(it describes other items); leave it out, and give --embeddings for cosine diagnostics")
    knn = _changed(args, _KNN_DEFAULTS)
    if knn:
        raise CliError(f"{', '.join(knn)} would choose how the kNN graph is built, but --graph {args.graph} is a saved graph "
                       "(no search runs); leave them out, or build from --embeddings instead of --graph")


def _inputs(args: argparse.Namespace) -> tuple[np.ndarray | None, Any, list[str] | None, Any]:
    """Embeddings, diagnostic labels, item ids and (demo only) the citation graph.

    With ``--graph`` and no ``--embeddings`` all four are None: the demo data describe other
    items than a saved graph, so they are never used for it (labels and ids are read once the
    graph's size is known).
    """
    import graphneg as gn

    if args.embeddings is None and args.graph is not None:
        return None, None, None, None
    if args.embeddings is None:
        if args.demo_size < 2:
            raise CliError(f"--demo-size must be >= 2, got {args.demo_size}")
        demo = gn.load_demo(args.demo_size, seed=args.seed)
        log(f"built-in demo dataset: {demo.embeddings.shape[0]} items, dim {demo.embeddings.shape[1]}, "
            f"{int(demo.labels.max()) + 1} topics, {demo.citations.nnz} citations", args.quiet)
        return demo.embeddings, demo.labels, None, demo.citations
    X = load_embeddings(args.embeddings)
    labels, ids = _labels_and_ids(args, X.shape[0], None)
    log(f"embeddings {args.embeddings}: {X.shape[0]} x {X.shape[1]}", args.quiet)
    return X, labels, ids, None


def _labels_and_ids(args: argparse.Namespace, n: int, saved_ids: list[str] | None) -> tuple[Any, list[str] | None]:
    """--labels and --ids for ``n`` items (a saved graph's own ids when --ids is not given)."""
    labels = load_labels(args.labels, n) if args.labels else None
    ids = saved_ids
    if args.ids:
        ids = read_text(args.ids, "--ids").splitlines()
        if len(ids) != n:
            raise CliError(f"--ids {args.ids} has {len(ids)} lines, expected {n} (one per row)")
    return labels, ids


def _graph_file_outputs(args: argparse.Namespace, inputs: list[Path | None]) -> list[Path]:
    """``--save-graph`` checked up front (with its JSON sidecar), like every output."""
    from ..io._graph_files import sidecar_path

    if args.save_graph is None:
        return []
    if args.save_graph.suffix != ".npz":
        raise CliError(f"--save-graph {args.save_graph}: the file name must end in .npz")
    npz = check_output(args.save_graph, "--save-graph", inputs)
    return [npz, check_output(sidecar_path(npz), "--save-graph (its .json sidecar)", inputs)]


def _graph_params(args: argparse.Namespace) -> dict[str, Any]:
    """The options that decide the graph and its communities: the cache key and the sidecar record."""
    keys = ("k", "skip", "metric", "mutual", "backend", "precision", "method", "resolution",
            "max_cluster_size", "cluster_size", "num_parts", "unweighted", "seed", "batch_size")
    params = {key: getattr(args, key) for key in keys}
    params["demo_size"] = args.demo_size if args.embeddings is None else None
    return params


def _graph_and_communities(args: argparse.Namespace, X: np.ndarray | None, ids: list[str] | None,
                           saved: Any = None) -> tuple[Any, np.ndarray]:
    """From ``--graph`` (``saved`` when already read), from ``--cache-dir``, or built; saved to
    ``--save-graph`` when asked."""
    from ..io._graph_cache import cached_graph
    from ..io._graph_files import save_graph
    from ..io._graph_format import content_hash

    if args.graph is not None:
        saved = saved if saved is not None else _read_graph_file(args)
        graph, comm = _load_graph_file(args, X, saved)
    elif args.cache_dir is not None:
        key = content_hash(args.embeddings) if args.embeddings is not None else content_hash(X)

        def build() -> tuple[Any, np.ndarray]:
            graph = _knn_graph(args, X)
            return graph, _communities(args, graph)

        saved, hit = cached_graph(args.cache_dir, key, _graph_params(args), build)
        log(f"graph cache {'hit' if hit else 'miss (built and saved)'} in {args.cache_dir}", args.quiet)
        graph, comm = saved.graph, saved.labels
    else:
        graph = _knn_graph(args, X)
        comm = _communities(args, graph)
    if args.save_graph is not None:
        if X is None:  # a saved graph saved again: it keeps the hash of its own input
            key = saved.input_hash
        else:
            key = content_hash(args.embeddings) if args.embeddings is not None else content_hash(X)
        save_graph(args.save_graph, graph, labels=comm, ids=ids, params=_graph_params(args), input_hash=key)
        log(f"wrote graph and communities to {args.save_graph}", args.quiet)
    return graph, comm


def _read_graph_file(args: argparse.Namespace) -> Any:
    from ..io._graph_files import load_graph

    try:
        return load_graph(args.graph)
    except (OSError, ValueError) as err:
        raise CliError(f"--graph: {err}") from None


def _load_graph_file(args: argparse.Namespace, X: np.ndarray | None, saved: Any) -> tuple[Any, np.ndarray]:
    """A saved graph whose nodes are the embedding rows; its communities, or new ones when it has none.

    Community options are honoured where the file holds no communities, and refused where it
    does (they would be ignored).
    """
    if X is not None and saved.graph.shape[0] != X.shape[0]:
        raise CliError(f"--graph {args.graph} has {saved.graph.shape[0]} nodes but the embeddings have "
                       f"{X.shape[0]} rows; they must describe the same items")
    log(f"graph {args.graph}: {saved.graph.shape[0]} nodes, {saved.graph.nnz} edges", args.quiet)
    if saved.labels is None:
        return saved.graph, _communities(args, saved.graph)
    changed = _changed(args, _COMMUNITY_DEFAULTS)
    if changed:
        raise CliError(f"{', '.join(changed)} would choose how communities are found, but --graph {args.graph} holds its own "
                       "communities (they are used as saved); leave the option out, or save the graph "
                       "without communities to find new ones")
    log(f"communities from {args.graph}: {int(saved.labels.max()) + 1}", args.quiet)
    return saved.graph, saved.labels


def _knn_graph(args: argparse.Namespace, X: np.ndarray) -> Any:
    import graphneg as gn

    # a fixed approximate backend is checked here and printed; 'auto' keeps the library's own
    # sampled check, which is what raises its effort until the recall target holds
    own_check = args.backend not in ("exact", "faiss", "auto") and not args.mutual
    graph = gn.knn_graph(
        X, args.k, skip=args.skip, metric=args.metric, mutual=args.mutual, backend=args.backend,
        precision=args.precision, device=args.device, show_progress=not args.quiet,
        recall_sample=0 if own_check else 1000,
    )
    log(f"kNN graph: k={args.k}, skip={args.skip}, metric={args.metric}, mutual={args.mutual}, "
        f"backend={args.backend}: {graph.nnz} edges", args.quiet)
    if own_check:
        recall = gn.knn_recall(X, graph, skip=args.skip, metric=args.metric, sample=500)
        log(f"kNN recall@{args.k} on 500 sampled rows: {recall:.4f}", args.quiet)
    return graph


def community_options(args: argparse.Namespace) -> dict[str, Any]:
    """``method`` (a name in ``ALGORITHMS``) and the keywords of its function: the options given,
    each checked to be one of that function's, with metis's default of half a batch per part."""
    cluster_size = args.cluster_size
    if args.method == "metis" and cluster_size is None and args.num_parts is None:
        cluster_size = args.batch_size // 2
    options = dict(method=args.method, max_cluster_size=args.max_cluster_size or None, cluster_size=cluster_size,
                   weighted=not args.unweighted, seed=args.seed)
    accepted = inspect.signature(ALGORITHMS[args.method]).parameters
    for name, value in (("resolution", args.resolution), ("num_parts", args.num_parts)):
        if value is not None:
            if name not in accepted:
                raise CliError(f"{_option(name)} does not apply to --method {args.method}")
            options[name] = value
    return options


def _communities(args: argparse.Namespace, graph: Any) -> np.ndarray:
    options = community_options(args)
    comm = ALGORITHMS[options.pop("method")](graph, **options)
    sizes = np.bincount(comm)
    log(f"communities ({args.method}): {sizes.size}, sizes {int(sizes.min())}..{int(sizes.max())} "
        f"(median {int(np.median(sizes))})", args.quiet)
    return comm


def _plan(args: argparse.Namespace, comm: np.ndarray) -> tuple[list[np.ndarray], str]:
    """The requested epoch's batches as the samplers plan them, and the packing used."""
    try:
        return epoch_batches(
            comm, args.batch_size, packing=args.packing, clusters_per_batch=args.clusters_per_batch,
            mix_random=args.mix_random, drop_last=args.drop_last, seed=args.seed, epoch=args.epoch,
        )
    except ValueError as err:
        if "leaves no batch" in str(err):
            raise CliError(f"--drop-last: {err}") from None
        raise
