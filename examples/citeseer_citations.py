"""Citation-pair contrastive training on a graph corpus (citing -> cited, SPECTER-style).

Runs on any canonical graph corpus (``graphneg.load_graph_corpus``: ``nodes.jsonl``, ``edges.tsv``,
``embeddings.npy``; node labels optional); by default CiteSeer with text. A residual linear head
``x -> normalize(x + xW)`` (W = 0 at start: the frozen model) is trained on the frozen
all-MiniLM-L6-v2 embeddings of the papers with in-batch-negative InfoNCE (temperature 0.05, batch
size 32): the query is a citing paper, its target the cited paper. A seeded random 10 % of the
citation edges is held out with ``graphneg.link_split`` (undirected: a held-out citation's reverse
link leaves the training graph too; the same split for every arm and training seed). This is the
cheap variant only (a fine-tune of the text model is not implemented for citation corpora).

Arms (``--arms``; a batch kind, then optional ``+negatives``, ``+mask``, ``+hopmask``, ``+cf``, ``+mix``):

=====================  ========================================================================
``random``             ``graphneg.RandomBatchSampler`` over the training pairs (the control)
``community``          Leiden communities of the kNN graph of the paper embeddings (k=10); a
                       pair belongs to its citing paper's community; ``CommunityBatchSampler``
                       with ``packing='fill'`` (full batches)
``community-cite``     the same with Leiden communities of the training citation graph
``random+uniform``     random batches + ``--num-negatives`` uniform random papers that are not
                       linked to the citing paper (the control for "more negatives")
``random+specter``     random batches + SPECTER negatives: papers cited by the papers it cites
                       but not cited by it (``graphneg.*_link_negatives``,
                       ``strategy='specter'``); short rows topped up with uniform negatives
``random+khop``        the same with ``strategy='khop'`` (papers exactly 2 undirected hops away)
=====================  ========================================================================

Further batch kinds: ``b3`` (B3 batches over the pairs: teacher kNN graph citing -> cited papers of
the pairs, rank window ``[--b3-skip, --b3-skip + --b3-k)``, Leiden clusters of exactly
``--cluster-size``) and ``walk`` (``graphneg.RandomWalkBatchSampler``, BatchSampler of Yang et al.,
KDD 2023, over the same kNN graph of the pairs, restart ``--walk-restart``).

Options:

- ``+mask``: ``graphneg.false_negative_mask`` with the training citations as known positives;
- ``+hopmask`` (``+hopmask1``, ``+hopmask2``: explicit radius; plain ``+hopmask`` uses
  ``--mask-hops``): the structure-aware mask of HaSa / SANS, ``graphneg.khop_mask`` over the
  *training* citation graph (undirected), on top of the known-positive mask: every candidate
  within h hops of the citing paper is kept out of its softmax (not to be confused with the
  ``khop`` *negatives*, which draw extra negatives at exactly 2 hops);
- ``+cf``: each epoch's batches are repaired with ``graphneg.conflict_free_batches`` (known
  positives = training citations, k-hop risk over the training graph with the arm's hop radius or
  ``--mask-hops``); the moved pairs are counted in the diagnostics (``cf_*``);
- ``+mix`` (community, b3 arms): swaps ``--mix-random`` of each batch with random pairs.

Evaluation, in the trained space: **recall@10 of the held-out edges** (for each held-out citing
paper, all papers are ranked, excluding itself and its training citations; recall over edges, and
macro-averaged over citing papers) and, when the corpus has node labels, **same-class
precision@10** of cosine kNN over all papers. ``REFERENCES`` holds per-corpus reference values of
the frozen model, recognised by shape (nodes, edges): CiteSeer's same-class P@10 0.668 is checked
(abort unless ``--no-reference-check``); other corpora are not checked.

``--eval-split dev`` holds out a further seeded ``--dev-fraction`` of the *training* citations
(``graphneg.link_split`` of the training graph, seed ``--dev-seed``), trains on the rest and
evaluates on those: the test citations are never read (only removed). Settings for the test runs
(hop radius, batch kind, ...) are chosen this way by ``tune_citeseer_dev.py``
(``examples/results/citeseer_dev_sweep.json``).

Data: ``--data`` is a canonical graph corpus folder with ``embeddings.npy``. Without it,
``../shared/data/citeseer_text`` is converted once with ``datasets/convert_citeseer_text.py`` into
``examples/.cache/citeseer_text``. The head's settings are those chosen on the SciFact dev split
(learning rate 1e-3, a separate map for the citing side), with 4 epochs so that the number of
optimisation steps (~480) matches SciFact's 16 epochs. ``--out`` is rewritten after every
(arm, seed) run (``"partial": true`` until the end); ``--resume`` keeps the finished runs.

Examples::

    python examples/citeseer_citations.py --quick
    python examples/citeseer_citations.py --arms random,community,random+specter --seeds 0 1 2 3 4
    python examples/citeseer_citations.py --eval-split dev --arms random,community+hopmask2 --resume \\
        --out examples/results/dev_runs/citeseer_dev_b32.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402

import graphneg as gn  # noqa: E402
LINK_NEGATIVES = {"uniform": gn.uniform_link_negatives, "khop": gn.khop_link_negatives,
                  "specter": gn.specter_link_negatives, "degree": gn.degree_link_negatives,
                  "ppr": gn.ppr_link_negatives}  # one function per strategy

DEFAULT_ARMS = ["random", "community", "community-cite", "random+uniform", "random+specter", "random+khop"]
BATCH_KINDS = ("random", "community", "community-cite", "b3", "walk")
NEGATIVE_KINDS = ("uniform", "specter", "khop")
REFERENCE_SAME_CLASS_P10 = 0.668  # frozen all-MiniLM-L6-v2 on CiteSeer-text (shared/data README)
REFERENCE_TOLERANCE = 0.005
CITESEER_SHAPE = (3186, 4277)
# per-corpus reference of the frozen model, recognised by shape (nodes, edges); the check needs labels
REFERENCES: dict[str, dict[str, Any]] = {
    "citeseer": {
        "shape": CITESEER_SHAPE,
        "same_class_p@10": REFERENCE_SAME_CLASS_P10,
        "tolerance": REFERENCE_TOLERANCE,
    },
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="citeseer_citations.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    g = p.add_argument_group("data and output")
    g.add_argument(
        "--data",
        type=Path,
        default=None,
        help="canonical graph corpus folder with embeddings.npy "
        "(default: convert ../shared/data/citeseer_text into examples/.cache/citeseer_text)",
    )
    g.add_argument(
        "--raw", type=Path, default=None, help="raw CiteSeer-with-text folder to convert (default: shared data)"
    )
    g.add_argument("--refresh-cache", action="store_true", help="convert the raw data again")
    g.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON results file (default: examples/results/"
        "citeseer_head.json; with --eval-split dev citeseer_head_dev.json)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished (arm, seed) runs of --out (same settings) and run the rest",
    )
    g = p.add_argument_group("experiment")
    g.add_argument(
        "--quick", action="store_true", help="the cheap variant (the only one here: accepted for a uniform interface)"
    )
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default: 0 1 2)")
    g.add_argument(
        "--arms", default=",".join(DEFAULT_ARMS), help=f"comma-separated arms (default: {','.join(DEFAULT_ARMS)})"
    )
    g.add_argument("--test-fraction", type=float, default=0.1, help="share of citation edges held out")
    g.add_argument("--split-seed", type=int, default=0, help="seed of the held-out edge split (fixed across arms)")
    g.add_argument(
        "--eval-split",
        choices=("test", "dev"),
        default="test",
        help="'dev': hold out --dev-fraction of the training citations, train on the rest and "
        "evaluate on them (the test citations are never read); for choosing settings",
    )
    g.add_argument("--dev-fraction", type=float, default=0.1, help="share of the training citations held out as dev")
    g.add_argument("--dev-seed", type=int, default=0, help="seed of the dev split")
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--temperature", type=float, default=0.05)
    g.add_argument("--epochs", type=int, default=4)
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument(
        "--head",
        choices=("shared", "separate"),
        default="separate",
        help="one residual map for citing and cited papers, or one each",
    )
    g.add_argument("--num-negatives", type=int, default=2, help="extra negatives per pair for +uniform/+specter/+khop")
    g.add_argument("--knn-k", type=int, default=10, help="kNN graph degree for the 'community' arm")
    g.add_argument("--resolution", type=float, default=1.0, help="Leiden resolution for community arms")
    g.add_argument("--b3-k", type=int, default=30, help="B3 rank window length (as SciFact; also the walk graph)")
    g.add_argument("--b3-skip", type=int, default=0, help="B3 rank window start (as SciFact; also the walk graph)")
    g.add_argument("--cluster-size", type=int, default=8, help="B3 cluster size (as SciFact)")
    g.add_argument(
        "--walk-restart",
        type=float,
        default=0.1,
        help="restart probability of walk batches (graphneg.RandomWalkBatchSampler; paper default)",
    )
    g.add_argument(
        "--mix-random",
        type=float,
        default=0.5,
        help="share of each batch swapped with random pairs in '+mix' community arms",
    )
    g.add_argument(
        "--mask-hops",
        type=int,
        default=2,
        choices=(1, 2, 3),
        help="radius of '+hopmask' (graphneg.khop_mask over the training graph) and of the "
        "'+cf' graph risk when the arm names none",
    )
    g.add_argument(
        "--no-reference-check",
        action="store_true",
        help="do not assert the frozen same-class P@10 = 0.668 +- 0.005 on CiteSeer",
    )
    g.add_argument("--threads", type=int, default=1, help="torch threads (default: 1, see scifact_retrieval.py)")
    return p


@dataclass(frozen=True)
class Arm:
    name: str
    batches: str
    negatives: str | None
    mask: bool
    mix: bool = False
    hops: int = 0  # +hopmask: graphneg.khop_mask radius over the training graph (0: none)
    cf: bool = False  # +cf: graphneg.conflict_free_batches each epoch
    cf_hops: int = 0  # graph-risk radius of +cf

    @property
    def masked(self) -> bool:
        return self.mask or self.hops > 0


_HOPMASK = re.compile(r"hopmask(\d*)")


def parse_arm(name: str, mask_hops: int = 2) -> Arm:
    parts = name.strip().split("+")
    if parts[0] not in BATCH_KINDS:
        raise SystemExit(f"error: unknown arm {name!r}: must start with one of {', '.join(BATCH_KINDS)}")
    negatives, mask, mix, hops, cf = None, False, False, 0, False
    for o in parts[1:]:
        hop = _HOPMASK.fullmatch(o)
        if o in NEGATIVE_KINDS and negatives is None:
            negatives = o
        elif o == "mask" and not mask:
            mask = True
        elif o == "mix" and parts[0] in ("community", "community-cite", "b3") and not mix:
            mix = True
        elif hop and not hops and (not hop.group(1) or int(hop.group(1)) >= 1):
            hops = int(hop.group(1)) if hop.group(1) else mask_hops
        elif o == "cf" and not cf:
            cf = True
        else:
            raise SystemExit(
                f"error: unknown or repeated option {o!r} in arm {name!r} "
                f"({', '.join(NEGATIVE_KINDS)}, mask, hopmask[N], cf, mix for community/b3 arms)"
            )
    return Arm(name.strip(), parts[0], negatives, mask, mix, hops, cf, (hops or mask_hops) if cf else 0)


# --------------------------------------------------------------------------------------------
# data and split
# --------------------------------------------------------------------------------------------
def split_edges(A: sp.csr_array, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Hold out a seeded random ``fraction`` of the citations: (train links (m, 2), test (k, 2), how).

    Uses ``graphneg.link_split`` when the installed graphneg has it (leakage-safe: a held-out
    citation's reverse link, if any, leaves the training graph too), else a plain seeded split.
    """
    if hasattr(gn, "link_split"):
        s = gn.link_split(gn.LinkGraph(A), val=0.0, test=fraction, num_negatives=0, seed=seed, undirected=True)
        coo = s.train_graph.adjacency.tocoo()
        train = np.stack([coo.row, coo.col], axis=1).astype(np.int64)
        train = train[np.lexsort((train[:, 1], train[:, 0]))]
        how = f"graphneg.link_split(val=0, test={fraction}, seed={seed}, undirected=True)"
        return train, np.asarray(s.test_edges, dtype=np.int64), how
    coo = A.tocoo()
    edges = np.stack([coo.row, coo.col], axis=1).astype(np.int64)
    edges = edges[np.lexsort((edges[:, 1], edges[:, 0]))]
    perm = np.random.default_rng(seed).permutation(len(edges))
    n_test = max(1, int(round(fraction * len(edges))))
    how = f"seeded random split of the directed links (numpy, seed={seed})"
    return edges[np.sort(perm[n_test:])], edges[np.sort(perm[:n_test])], how


def adjacency(edges: np.ndarray, n: int) -> sp.csr_array:
    A = sp.csr_array((np.ones(len(edges), np.float32), (edges[:, 0], edges[:, 1])), shape=(n, n))
    A.sum_duplicates()
    return A


def undirected(A: sp.csr_array) -> sp.csr_array:
    """The 0/1 pattern of ``A + A.T`` (CSR, sorted indices)."""
    U_ = sp.csr_array(((A + A.T) > 0).astype(np.float32))
    U_.sort_indices()
    return U_


def hop_coverage(A_train: sp.csr_array, edges: np.ndarray, max_hops: int = 3) -> dict[str, float]:
    """Share of ``edges`` (s, t) whose t is within h undirected hops of s in the training graph:
    what a ``+hopmask`` of radius h can keep out of s's softmax (h = 1..max_hops)."""
    if not len(edges):
        return {}
    G = undirected(A_train)
    out: dict[str, float] = {}
    reach = sp.identity(G.shape[0], dtype=np.float32, format="csr")
    frontier = reach
    for h in range(1, max_hops + 1):
        frontier = sp.csr_array((frontier @ G) > 0).astype(np.float32)
        reach = sp.csr_array((reach + frontier) > 0)
        out[str(h)] = float(np.asarray(reach[edges[:, 0], edges[:, 1]]).astype(bool).mean())
    return out


def reference_corpus(n: int, n_edges: int) -> str | None:
    """The corpus of REFERENCES with this shape (None: no reference applies)."""
    return next((name for name, ref in REFERENCES.items() if tuple(ref["shape"]) == (n, n_edges)), None)


# --------------------------------------------------------------------------------------------
# batches, negatives and masks
# --------------------------------------------------------------------------------------------
def community_labels(
    kind: str, X: np.ndarray, A_train: sp.csr_array, args: argparse.Namespace, seed: int
) -> np.ndarray:
    if kind == "community":
        G = gn.knn_graph(X, k=min(args.knn_k, X.shape[0] - 1))
    else:
        G = ((A_train + A_train.T) > 0).astype(np.float32)
    return gn.leiden_communities(
        sp.csr_array(G), resolution=args.resolution, num_iterations=U.LEIDEN_ITERATIONS, seed=seed
    )


def pair_graph(src: np.ndarray, dst: np.ndarray, X: np.ndarray, args: argparse.Namespace) -> sp.csr_array:
    """B3's kNN graph of the pairs: pair a -> pair b when b's cited paper is in the rank window of
    a's citing paper (frozen embeddings); a pair's own cited paper is not an edge."""
    n = src.size
    k = max(1, min(args.b3_k, n - 1 - args.b3_skip))
    G = sp.csr_array(gn.knn_graph(X[src], k=k, targets=X[dst], skip=args.b3_skip))
    G.setdiag(0)
    G.eliminate_zeros()
    return G


def make_sampler(
    arm: Arm,
    src: np.ndarray,
    dst: np.ndarray,
    X: np.ndarray,
    A_train: sp.csr_array,
    args: argparse.Namespace,
    seed: int,
) -> Any:
    inner = _make_sampler(arm, src, dst, X, A_train, args, seed)
    if arm.cf:
        return U.ConflictFreeSampler(inner, src, dst, A_train, seed, graph=A_train, hops=arm.cf_hops)
    return inner


def _make_sampler(
    arm: Arm,
    src: np.ndarray,
    dst: np.ndarray,
    X: np.ndarray,
    A_train: sp.csr_array,
    args: argparse.Namespace,
    seed: int,
) -> Any:
    if arm.batches == "random":
        return gn.RandomBatchSampler(src.size, args.batch_size, seed=seed)
    if arm.batches == "walk":  # BatchSampler (Yang et al., KDD 2023) over the kNN graph of the pairs
        return gn.RandomWalkBatchSampler(
            pair_graph(src, dst, X, args), args.batch_size, restart=args.walk_restart, seed=seed
        )
    if arm.batches == "b3":
        labels = gn.leiden_communities(
            pair_graph(src, dst, X, args),
            cluster_size=min(args.cluster_size, src.size),
            weighted=False,
            num_iterations=U.LEIDEN_ITERATIONS,
            seed=seed,
        )
        return gn.CommunityBatchSampler(
            labels, args.batch_size, seed=seed, mix_random=args.mix_random if arm.mix else 0.0
        )
    node_labels = community_labels(arm.batches, X, A_train, args, seed)
    return gn.CommunityBatchSampler(
        node_labels[src], args.batch_size, packing="fill", seed=seed, mix_random=args.mix_random if arm.mix else 0.0
    )


def mine_link_negatives(
    kind: str, graph: gn.LinkGraph, sources: np.ndarray, n: int, seed: int
) -> tuple[np.ndarray, dict]:
    """Negatives per source row (n columns); short rows topped up with uniform negatives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)  # shortfalls are counted below
        res = LINK_NEGATIVES[kind](graph, sources, num_negatives=n, seed=seed)
        out = res.indices.copy()
        info = {
            "strategy": kind,
            "n_sources": int(sources.size),
            "n_short": int(res.num_short),
            "share_from_strategy": float((out >= 0).mean()) if out.size else 0.0,
        }
        short = np.flatnonzero((out < 0).any(axis=1))
        if kind != "uniform" and short.size:
            filler = gn.uniform_link_negatives(
                graph,
                sources[short],
                num_negatives=n,
                seed=seed + 7919,
                exclude=[row[row >= 0] for row in out[short]],
            ).indices
            for r, f in zip(short, filler, strict=True):
                row = out[r]
                free = np.flatnonzero(row < 0)
                f = f[f >= 0][: free.size]
                row[free[: f.size]] = f
    info["n_short_after_fill"] = int((out < 0).any(axis=1).sum())
    return out, info


def batch_mask(
    arm: Arm,
    src: np.ndarray,
    dst: np.ndarray,
    negs: np.ndarray | None,
    A_train: sp.csr_array,
    A_hop: sp.csr_array | None = None,
) -> np.ndarray | None:
    """The arm's mask for one batch (None: plain InfoNCE). ``+mask``: the training citations of the
    citing paper (``false_negative_mask``); ``+hopmask``: that, and every candidate within the
    arm's radius of the citing paper in the training graph (``khop_mask``; ``A_hop`` is its
    undirected pattern, precomputed). Padded negative slots are always masked."""
    if arm.masked:
        m = gn.false_negative_mask(src, dst, negs, known_positives=A_train)
        if arm.hops:
            cand = dst if negs is None else np.concatenate([dst, negs.ravel()])
            m |= gn.khop_mask(src, cand, A_train if A_hop is None else A_hop, hops=arm.hops)
        return m
    if negs is not None and (negs < 0).any():
        pad = np.concatenate([np.zeros(src.size, bool), negs.ravel() < 0])
        return np.broadcast_to(pad, (src.size, pad.size)).copy()
    return None


# --------------------------------------------------------------------------------------------
# training and evaluation
# --------------------------------------------------------------------------------------------
def train_head(
    arm: Arm,
    sampler: Any,
    src: np.ndarray,
    dst: np.ndarray,
    node_negs: np.ndarray | None,
    Xt: torch.Tensor,
    A_train: sp.csr_array,
    args: argparse.Namespace,
    seed: int,
    A_hop: sp.csr_array | None = None,
) -> tuple[U.ResidualHead, list[np.ndarray]]:
    torch.manual_seed(seed)
    head = U.ResidualHead(Xt.shape[1], separate=args.head == "separate")
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    epoch0: list[np.ndarray] = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for batch in sampler:
            b = np.asarray(batch, dtype=np.int64)
            if epoch == 0:
                epoch0.append(b)
            s, d = src[b], dst[b]
            negs = node_negs[s] if node_negs is not None else None
            cand = d if negs is None else np.concatenate([d, negs.ravel()])
            mask = batch_mask(arm, s, d, negs, A_train, A_hop)
            q = head(Xt[torch.from_numpy(s)], "query")
            c = head(Xt[torch.from_numpy(np.maximum(cand, 0))], "doc")
            loss = gn.masked_info_nce(q, c, mask, temperature=args.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return head, epoch0


def evaluate(
    head: U.ResidualHead | None, Xt: torch.Tensor, labels: np.ndarray | None, A_train: sp.csr_array, test: np.ndarray
) -> dict[str, float]:
    with torch.no_grad():
        if head is None:
            Q = D = Xt
        else:
            Q, D = head(Xt, "query"), head(Xt, "doc")
        out: dict[str, float] = {}
        # recall@10 of held-out edges: rank all papers for each held-out citing paper
        sources = np.unique(test[:, 0])
        S = Q[torch.from_numpy(sources)] @ D.T
        S[torch.arange(sources.size), torch.from_numpy(sources)] = -float("inf")
        sub = A_train[sources].tocoo()
        S[torch.from_numpy(sub.row.astype(np.int64)), torch.from_numpy(sub.col.astype(np.int64))] = -float("inf")
        top = torch.topk(S, min(10, S.shape[1]), dim=1).indices.numpy()
        pos_of = {int(s): i for i, s in enumerate(sources)}
        hits = np.array([t in top[pos_of[int(s)]] for s, t in test])
        out["recall@10"] = float(hits.mean())
        per_source = [hits[test[:, 0] == s].mean() for s in sources]
        out["recall@10_macro"] = float(np.mean(per_source))
        # same-class precision@10 of cosine kNN in the (document-side) trained space
        if labels is not None and (labels >= 0).sum() > 1:
            E = D
            idx = gn.knn_search(E.numpy(), min(10, E.shape[0] - 1), metric="ip")[0]
            lab = labels
            ok = lab >= 0
            same = (lab[idx] == lab[:, None]) & ok[:, None]
            out["same_class_p@10"] = float(same[ok].mean())
    return out


def diagnostics(
    batches: list[np.ndarray],
    src: np.ndarray,
    dst: np.ndarray,
    node_negs: np.ndarray | None,
    X: np.ndarray,
    labels: np.ndarray | None,
    A_all: sp.csr_array,
    arm: Arm,
    A_train: sp.csr_array,
    A_test: sp.csr_array,
    A_hop: sp.csr_array | None = None,
) -> dict[str, float]:
    """One epoch's batches in frozen-embedding space; 'false negative' = linked either way in the
    known graph (training or held-out citation; in dev mode the test citations are not read),
    'held-out' = linked by a held-out (evaluated) citation; ``held_out_edges_pushed`` = share of
    held-out citations (s, t) whose t is, somewhere in the epoch, a negative (in-batch or extra) of
    s: the batches teach the model to rank that answer down. The ``*_after_mask`` values count only
    the candidates the arm's mask leaves in the softmax, i.e. what the loss actually sees."""
    stats = gn.batch_stats(
        batches, embeddings=X[src], labels=None if labels is None else np.maximum(labels[src], 0), num_items=src.size
    )
    out = {
        "n_batches": stats["n_batches"],
        "batch_size_mean": stats["batch_size_mean"],
        "citing_cosine": stats.get("mean_cosine"),
        "same_class_share": stats.get("same_label_share"),
    }
    linked = ((A_all + A_all.T) > 0).tocsr()
    held = ((A_test + A_test.T) > 0).tocsr()
    test_dir = (A_test > 0).tocsr()  # held-out citations s -> t, as held out
    pushed: set[tuple[int, int]] = set()  # held-out (s, t) whose t was a negative of s this epoch
    pushed_after: set[tuple[int, int]] = set()  # ... and not masked
    acc = dict.fromkeys(
        (
            "ib_n",
            "ib_cos",
            "ib_fn",
            "ib_held",
            "ib_class",
            "own_n",
            "own_cos",
            "own_fn",
            "masked",
            "slots",
            "pos_cos",
            "ib_n_after",
            "ib_fn_after",
            "ib_held_after",
            "neg_after",
        ),
        0.0,
    )
    for b in batches:
        s, d = src[b], dst[b]
        B = b.size
        negs = node_negs[s] if node_negs is not None else None
        cand = d if negs is None else np.concatenate([d, negs.ravel()])
        valid = cand >= 0
        safe = np.maximum(cand, 0)
        S = X[s] @ X[safe].T
        fn = linked[s][:, safe].toarray() & valid[None, :]
        nontarget = np.ones((B, cand.size), bool)
        nontarget[np.arange(B), np.arange(B)] = False
        nontarget &= valid[None, :]
        ib = nontarget.copy()
        ib[:, B:] = False
        own = np.zeros_like(ib)
        if negs is not None:
            k = negs.shape[1]
            for i in range(B):
                own[i, B + i * k : B + (i + 1) * k] = True
            own &= valid[None, :]
        m = batch_mask(arm, s, d, negs, A_train, A_hop)
        m = np.zeros_like(nontarget) if m is None else m
        seen = nontarget & ~m  # the negatives the loss actually sees
        held_b = held[s][:, safe].toarray() & valid[None, :]
        acc["ib_n"] += ib.sum()
        acc["ib_cos"] += S[ib].sum()
        acc["ib_fn"] += fn[ib].sum()
        acc["ib_held"] += held_b[ib].sum()
        acc["ib_n_after"] += (ib & ~m).sum()
        acc["ib_fn_after"] += fn[ib & ~m].sum()
        acc["ib_held_after"] += held_b[ib & ~m].sum()
        hit = test_dir[s][:, safe].toarray() & nontarget
        for i, j in zip(*np.nonzero(hit), strict=True):
            pushed.add((int(s[i]), int(safe[j])))
            if seen[i, j]:
                pushed_after.add((int(s[i]), int(safe[j])))
        if labels is not None:
            acc["ib_class"] += (labels[s][:, None] == labels[safe][None, :])[ib].sum()
        acc["own_n"] += own.sum()
        acc["own_cos"] += S[own].sum()
        acc["own_fn"] += fn[own].sum()
        acc["pos_cos"] += np.diagonal(S[:, :B]).sum()
        acc["slots"] += nontarget.sum()
        acc["masked"] += (m & nontarget).sum()
        acc["neg_after"] += seen.sum()
    nan = float("nan")
    n_pairs = sum(len(b) for b in batches)
    out["inbatch_neg_cosine"] = acc["ib_cos"] / acc["ib_n"] if acc["ib_n"] else nan
    out["inbatch_false_negative_share"] = acc["ib_fn"] / acc["ib_n"] if acc["ib_n"] else nan
    out["held_out_edges_pushed"] = len(pushed) / test_dir.nnz if test_dir.nnz else nan
    out["inbatch_held_out_share"] = acc["ib_held"] / acc["ib_n"] if acc["ib_n"] else nan
    out["inbatch_same_class_share"] = acc["ib_class"] / acc["ib_n"] if acc["ib_n"] and labels is not None else nan
    out["own_neg_cosine"] = acc["own_cos"] / acc["own_n"] if acc["own_n"] else nan
    out["own_neg_false_negative_share"] = acc["own_fn"] / acc["own_n"] if acc["own_n"] else nan
    out["positive_cosine"] = acc["pos_cos"] / n_pairs
    out["masked_share"] = acc["masked"] / acc["slots"] if acc["slots"] else nan
    # after masking: what the loss sees
    out["held_out_edges_pushed_after_mask"] = len(pushed_after) / test_dir.nnz if test_dir.nnz else nan
    kept = acc["ib_n_after"]
    out["inbatch_false_negative_share_after_mask"] = acc["ib_fn_after"] / kept if kept else nan
    out["inbatch_held_out_share_after_mask"] = acc["ib_held_after"] / kept if kept else nan
    out["false_negatives_per_query_after_mask"] = acc["ib_fn_after"] / n_pairs if n_pairs else nan
    out["negatives_per_query_after_mask"] = acc["neg_after"] / n_pairs if n_pairs else nan
    return {k: float(v) for k, v in out.items() if v is not None}


# --------------------------------------------------------------------------------------------
_RESUME_IGNORED = ("resume", "seeds", "arms", "out", "quick", "threads", "no_reference_check")


def load_previous(out: Path, result: dict[str, Any]) -> dict[str, Any] | None:
    """The earlier (possibly partial) result in ``out`` when its configuration matches this run's."""
    if not out.is_file():
        return None
    prev = json.loads(out.read_text())
    a = {k: v for k, v in prev.get("config", {}).items() if k not in _RESUME_IGNORED}
    b = {k: v for k, v in result["config"].items() if k not in _RESUME_IGNORED}
    if a != b:
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise SystemExit(f"error: --resume: {out} was made with other settings ({', '.join(diff)})")
    return prev


def control_of(name: str, arms: dict[str, Any]) -> str | None:
    """The random-batch arm with the same negatives and masks as ``name`` (None: none run, or
    ``name`` is a random-batch arm): e.g. ``random+uniform+hopmask2`` for ``community+uniform+hopmask2+cf``."""
    parts = name.split("+")
    if parts[0] == "random":
        return None
    ctl = "+".join(["random"] + [o for o in parts[1:] if o not in ("cf", "mix")])
    return ctl if ctl in arms and ctl != "random" else None


def summarize(result: dict[str, Any]) -> None:
    """Per-arm summaries: vs ``random`` (``vs_random_paired``) and, for a graph-batch arm, vs the
    random-batch arm with the same negatives and masks (``vs_control_paired``, ``control``)."""
    arms = result["arms"]
    base_runs = arms.get("random", {}).get("runs")
    for name, arm_result in arms.items():
        arm_result["summary"] = U.summarize_runs(arm_result["runs"], base_runs if name != "random" else None)
        ctl = control_of(name, arms)
        if ctl is not None and arm_result["runs"]:
            paired = U.summarize_runs(arm_result["runs"], arms[ctl]["runs"]).get("vs_random_paired")
            if paired:
                arm_result["summary"]["control"] = ctl
                arm_result["summary"]["vs_control_paired"] = paired


def main(argv: list[str] | None = None, on_run: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the arms; ``on_run(result)`` (optional) is called after every (arm, seed) run and at the end."""
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.num_negatives < 1:
        raise SystemExit("error: --num-negatives must be >= 1")
    if not 0.0 < args.dev_fraction < 1.0:
        raise SystemExit("error: --dev-fraction must be in (0, 1)")
    arms = [parse_arm(a, args.mask_hops) for a in args.arms.split(",") if a.strip()]
    if len({a.name for a in arms}) != len(arms):
        raise SystemExit("error: an arm is listed twice")
    start = time.perf_counter()
    folder = U.prepare_corpus("citeseer_text", args.data, args.raw, args.refresh_cache)
    corpus = gn.load_graph_corpus(folder)
    if corpus.embeddings is None:
        raise SystemExit(f"error: {folder} has no embeddings.npy (the head variant trains on embeddings)")
    X = U.normalize_rows(corpus.embeddings)
    Xt = torch.from_numpy(X)
    n = corpus.num_nodes
    labels = corpus.labels
    A_all = sp.csr_array(corpus.edges)
    if A_all.nnz < 2:
        raise SystemExit("error: the graph needs at least 2 edges to hold some out")
    train, test, how = split_edges(A_all, args.test_fraction, args.split_seed)
    n_test, n_test_sources = int(len(test)), int(np.unique(test[:, 0]).size)
    if args.eval_split == "dev":
        # hold out a further share of the *training* citations; the test citations are not read again
        A_fit = adjacency(train, n)
        if A_fit.nnz < 2:
            raise SystemExit("error: too few training citations for a dev split")
        train, ev, dev_how = split_edges(A_fit, args.dev_fraction, args.dev_seed)
        A_known = A_fit  # 'linked' in the diagnostics: training + dev citations
        how = f"{how}; dev: {dev_how} of the remaining training citations"
        del test
    else:
        ev, A_known = test, A_all
    if not len(ev):
        raise SystemExit("error: no held-out citations to evaluate (raise --test-fraction / --dev-fraction)")
    A_train = adjacency(train, n)
    A_eval = adjacency(ev, n)
    A_hop = undirected(A_train)  # the structure-aware mask's graph (+hopmask), built once
    src, dst = train[:, 0], train[:, 1]
    graph = gn.LinkGraph(A_train, ids=corpus.ids)
    ref_name = reference_corpus(n, int(A_all.nnz))
    corpus_name = ref_name or Path(folder).name
    out_path = args.out or U.RESULTS_DIR / f"citeseer_head{'_dev' if args.eval_split == 'dev' else ''}.json"
    result: dict[str, Any] = {
        "experiment": "citeseer_citations",
        "variant": "head on frozen embeddings (cheap)",
        "mode": "head",
        "corpus": corpus_name,
        "primary_metric": "recall@10",
        "command": U.command_line("citeseer_citations.py", argv),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "data": {
            "corpus": corpus_name,
            "folder": str(folder),
            "n_nodes": n,
            "n_edges": int(A_all.nnz),
            "n_train_edges": int(len(train)),
            "n_train_pairs": int(len(train)),
            "n_test_edges": n_test,
            "n_test_sources": n_test_sources,
            "eval_split": args.eval_split,
            "n_eval_edges": int(len(ev)),
            "n_eval_sources": int(np.unique(ev[:, 0]).size),
            "n_classes": None if labels is None else int(labels.max() + 1),
            "has_labels": labels is not None,
            "split": how,
            # share of the evaluated citations that a +hopmask of radius h could mask (h = 1, 2, 3)
            "eval_edges_within_hops": hop_coverage(A_train, ev),
        },
        "negatives": {},
        "skipped_arms": {},
        "arms": {},
        "environment": U.environment(),
    }
    if args.eval_split == "dev":
        result["data"]["n_dev_edges"] = int(len(ev))
    print(
        f"data: {folder} ({n} papers, {A_all.nnz} citations: {len(train)} train / {len(ev)} held out "
        f"for {args.eval_split}); seeds {args.seeds}",
        flush=True,
    )
    done: dict[tuple[str, int], dict[str, Any]] = {}
    prev = load_previous(out_path, result) if args.resume else None
    if prev is not None:
        done = {(name, r["seed"]): r for name, a in prev.get("arms", {}).items() for r in a["runs"]}
        U.keep_previous_arms(result, prev, {a.name for a in arms})  # with the earlier arms' negatives
        print(f"resume: {len(done)} finished run(s) from {out_path}", flush=True)

    frozen = evaluate(None, Xt, labels, A_train, ev)
    result["frozen"] = frozen
    ref: dict[str, Any] = {"corpus": ref_name, "measured_same_class_p@10": frozen.get("same_class_p@10")}
    if ref_name is not None and "same_class_p@10" in frozen:
        target, tol = REFERENCES[ref_name]["same_class_p@10"], REFERENCES[ref_name]["tolerance"]
        ok = abs(frozen["same_class_p@10"] - target) <= tol
        ref.update(checked=True, ok=bool(ok), **{"reference_same_class_p@10": target, "tolerance": tol})
        print(
            f"frozen same-class P@10 {frozen['same_class_p@10']:.4f} (reference {target}, {ref_name}): "
            f"{'OK' if ok else 'MISMATCH'}",
            flush=True,
        )
        if not ok and not args.no_reference_check:
            raise SystemExit("error: the frozen same-class P@10 does not reproduce the reference")
    else:
        ref.update(checked=False, ok=None)
    result["reference_check"] = ref
    print(f"frozen: recall@10 {frozen['recall@10']:.4f} ({args.eval_split})", flush=True)

    unique_src = np.unique(src)
    for arm in arms:
        runs: list[dict[str, Any]] = []
        result["arms"][arm.name] = {"spec": arm.__dict__, "n_pairs": int(src.size), "runs": runs}
        if arm.negatives is not None:  # keep the mining records of the resumed runs only
            result["negatives"][arm.name] = [
                x for x in result["negatives"].get(arm.name, []) if (arm.name, x.get("seed")) in done
            ]
        for seed in args.seeds:
            if (arm.name, seed) in done:
                runs.append(done[(arm.name, seed)])
                continue
            with U.Timer() as tm:
                node_negs = None
                if arm.negatives is not None:
                    rows, info = mine_link_negatives(arm.negatives, graph, unique_src, args.num_negatives, seed)
                    node_negs = np.full((n, args.num_negatives), -1, dtype=np.int64)
                    node_negs[unique_src] = rows
                    # held-out citations that the arm uses as negatives of their own citing paper
                    info["held_out_edges_as_negatives"] = float(np.mean([t in node_negs[s_] for s_, t in ev]))
                    info["seed"] = seed
                    result["negatives"].setdefault(arm.name, []).append(info)
                sampler = make_sampler(arm, src, dst, X, A_train, args, seed)
                head, epoch0 = train_head(arm, sampler, src, dst, node_negs, Xt, A_train, args, seed, A_hop)
            metrics = evaluate(head, Xt, labels, A_train, ev)
            diag = diagnostics(epoch0, src, dst, node_negs, X, labels, A_known, arm, A_train, A_eval, A_hop)
            if isinstance(sampler, U.ConflictFreeSampler) and sampler.reports:
                rep = sampler.reports[0]
                moved = [r.moved for r in sampler.reports.values()]
                diag.update(
                    {
                        "cf_initial_conflicts": rep.initial_conflicts,
                        "cf_unresolved": rep.unresolved,
                        "cf_swaps": rep.swaps,
                        "cf_moved": rep.moved,
                        "cf_moved_share": rep.moved / max(rep.num_pairs, 1),
                        "cf_moved_mean_over_epochs": float(np.mean(moved)),
                    }
                )
            runs.append({"seed": seed, "metrics": metrics, "train_time_s": tm.seconds, "diagnostics": diag})
            print(
                f"[{arm.name}] seed {seed}: recall@10 {metrics['recall@10']:.4f}  "
                f"same-class P@10 {metrics.get('same_class_p@10', float('nan')):.4f}  "
                f"pushed {diag['held_out_edges_pushed']:.3f} -> {diag['held_out_edges_pushed_after_mask']:.3f}  "
                f"({tm.seconds:.1f} s)",
                flush=True,
            )
            summarize(result)
            result["wall_time_s"] = time.perf_counter() - start
            U.write_json_atomic(out_path, {**result, "partial": True})  # an abrupt end loses one run at most
            if on_run is not None:
                on_run({**result, "partial": True})
    summarize(result)
    result["wall_time_s"] = time.perf_counter() - start
    U.write_json_atomic(out_path, result)
    if on_run is not None:
        on_run(result)
    result["out"] = str(out_path)
    print(f"wrote {out_path} ({result['wall_time_s']:.1f} s)", flush=True)
    print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    frozen = result["frozen"]
    keys = [k for k in ("recall@10", "recall@10_macro", "same_class_p@10") if k in frozen]
    print(f"{'arm':<34}" + "".join(f"{k:>20}" for k in keys) + f"{'pushed before->after':>24}")
    print(f"{'frozen':<34}" + "".join(f"{frozen[k]:>20.4f}" for k in keys))
    for name, a in result["arms"].items():
        m = a["summary"]["metrics"]
        cells = [
            f"{m[k]['mean']:.4f} ± {m[k]['std']:.4f}" if m[k]["std"] is not None else f"{m[k]['mean']:.4f}"
            for k in keys
        ]
        dg = a["summary"]["diagnostics"]
        nan = float("nan")
        push = f"{dg.get('held_out_edges_pushed', nan):.3f}->{dg.get('held_out_edges_pushed_after_mask', nan):.3f}"
        print(f"{name:<34}" + "".join(f"{c:>20}" for c in cells) + f"{push:>24}")


if __name__ == "__main__":
    main()
