"""Convert Planetoid ``ind.<name>.*`` files (Cora, CiteSeer) to a canonical graph corpus.

The node order, features and labels follow the loader of Kipf & Welling (``gcn/utils.py``):
``allx`` then ``tx`` stacked, the test rows moved to the positions listed in
``ind.<name>.test.index``; for CiteSeer, whose test index skips 15 ids (isolated nodes with no
features), the gap is padded with all-zero feature rows. Those padded nodes have no label, so
their ``nodes.jsonl`` line has no ``label`` key (Kipf's loader gives them an all-zero one-hot
row, which ``argmax`` would silently turn into class 0).

Node ids are the row numbers as strings, labels the class index as a string. Every arc
``u -> v`` with ``v`` in ``graph[u]`` is written once; the raw adjacency lists repeat some arcs
and list self-loops, which are dropped and counted in the summary. The lists are symmetric, so
``edges.tsv`` holds each undirected edge in both directions.

Example::

    python datasets/convert_planetoid.py --name cora --out out/cora
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _common import InputError, edge_homophily, make_parser, print_summary, resolve_raw, run

from graphneg.io import GraphCorpus, save_graph_corpus

NAMES = ("cora", "citeseer")
# x / y (the labelled training subset) are the first rows of allx / ally and are not needed.
PARTS = ("allx", "ally", "tx", "ty", "graph", "test.index")

def load_planetoid(raw: Path, name: str) -> tuple[GraphCorpus, dict[str, int]]:
    """Build the graph corpus of Planetoid data set ``name`` from the files in ``raw``.

    The parsing (a restricted unpickler, the Kipf node order, CiteSeer's padded nodes) is
    :func:`graphneg.read_planetoid`'s; this adds the canonical corpus and summary counts.

    Returns
    -------
    corpus : GraphCorpus
        Nodes in Kipf order, deduplicated arcs without self-loops, BoW features, labels.
    stats : dict
        Counts for the summary (listed arcs, self-loops, duplicates, unlabelled nodes...).

    Raises
    ------
    InputError
        If a file is unreadable or the parts disagree in size.
    """
    from graphneg import GraphNegWarning, read_planetoid

    try:
        with warnings.catch_warnings():
            # the duplicate arcs and self-loops it drops are reported in the summary instead
            warnings.simplefilter("ignore", GraphNegWarning)
            data = read_planetoid(raw, name)
    except (ValueError, OSError) as err:
        raise InputError(str(err)) from err
    edges, counts, labels = data.graph.adjacency, data.counts, data.labels
    corpus = GraphCorpus(
        ids=list(data.graph.ids),
        edges=edges,
        labels=labels,
        label_names=[str(c) for c in range(int(labels.max()) + 1)],
        features=data.features,
    )
    stats = {
        "listed_arcs": counts.read,
        "self_loops": counts.self_loops,
        "duplicates": counts.duplicates,
        "asymmetric_arcs": int((edges - edges.T).count_nonzero()) // 2 if edges.nnz else 0,
        "unlabelled_nodes": int((labels < 0).sum()),
        "empty_feature_rows": int((np.diff(data.features.indptr) == 0).sum()),
    }
    return corpus, stats


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = make_parser(
        "Convert Planetoid ind.<name>.* pickles to a canonical graph corpus folder.", "planetoid"
    )
    parser.add_argument("--name", choices=NAMES, required=True, help="data set to convert")
    args = parser.parse_args(argv)
    raw = resolve_raw(args.raw, "planetoid", [f"ind.{args.name}.{key}" for key in PARTS])
    corpus, stats = load_planetoid(raw, args.name)
    save_graph_corpus(corpus, args.out)

    undirected = int(sp.triu(corpus.edges + corpus.edges.T, k=1).nnz)
    assert corpus.features is not None and corpus.label_names is not None
    print_summary(
        f"{args.name}: wrote {args.out}",
        [
            ("nodes", corpus.num_nodes),
            ("arcs written (directed)", int(corpus.edges.nnz)),
            ("undirected edges", undirected),
            ("arcs listed in raw graph", stats["listed_arcs"]),
            ("skipped self-loops", stats["self_loops"]),
            ("skipped duplicate arcs", stats["duplicates"]),
            ("arcs without reverse", stats["asymmetric_arcs"]),
            ("features", int(corpus.features.shape[1])),
            ("classes", len(corpus.label_names)),
            ("nodes without features", stats["empty_feature_rows"]),
            ("nodes without label", stats["unlabelled_nodes"]),
            (
                "edge homophily (undirected)",
                f"{edge_homophily(corpus.edges, corpus.labels, undirected=True):.4f}",
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
