"""Helpers shared by the experiment scripts in ``examples/`` (not part of the package).

Data preparation (convert the shared public data with the ``datasets/`` converters into a cache
folder, or take a canonical corpus folder as given), atomic JSON output, the trainable head on
frozen embeddings, and small statistics helpers. Only graphneg's public API is used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLES_DIR.parent
CACHE_DIR = EXAMPLES_DIR / ".cache"
RESULTS_DIR = EXAMPLES_DIR / "results"
SHARED_DATA_ENV = "GRAPHNEG_SHARED_DATA"
# Leiden run to convergence: the recorded results in results/ were made with it (graphneg's default
# was -1 then; it is now 2 iterations, which moves partitions slightly). Kept so they reproduce.
LEIDEN_ITERATIONS = -1
# Before graphneg's canonical tie order, the exact kNN routes agreed on neighbours only up to
# near-ties, and a B3 rank window or an unweighted Leiden graph could turn one swapped tie into another
# partition (SciFact dev, b3+hn+mask, seed 0: nDCG@10 0.7962 certified, 0.8002 fp32, 0.8056 torch).
# Every CPU route now returns the certified route's result, with which the recorded results were
# made; the pin is kept (harmless) so that older checkouts reproduce them too.
os.environ.setdefault("GRAPHNEG_CPU_ROUTE", "certified")

# Run from a plain checkout without `pip install -e .`: fall back to the source tree.
if importlib.util.find_spec("graphneg") is None:  # pragma: no cover - depends on the install
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def shared_data_dir() -> Path:
    """``$GRAPHNEG_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get(SHARED_DATA_ENV)
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


CONVERTERS = {
    # name: (converter script, shared-data subfolder, a file every converted folder has)
    "scifact": ("convert_scifact.py", "scifact", "corpus.jsonl"),
    "nfcorpus": ("convert_scifact.py", "nfcorpus", "corpus.jsonl"),  # same BEIR layout
    "citeseer_text": ("convert_citeseer_text.py", "citeseer_text", "nodes.jsonl"),
}


def prepare_corpus(name: str, data: Path | None, raw: Path | None, refresh: bool = False) -> Path:
    """Return a canonical corpus folder.

    ``data`` given: used as is. Otherwise the raw public data (``raw``, default the shared data
    folder's subfolder) is converted once with ``datasets/<converter>`` into
    ``examples/.cache/<name>`` and reused afterwards (``refresh`` converts again).
    """
    if data is not None:
        if not Path(data).is_dir():
            raise SystemExit(f"error: --data folder {data} does not exist")
        return Path(data)
    script, subfolder, marker = CONVERTERS[name]
    out = CACHE_DIR / name
    if (out / marker).is_file() and not refresh:
        return out
    raw = Path(raw) if raw is not None else shared_data_dir() / subfolder
    if not raw.is_dir():
        raise SystemExit(
            f"error: no --data given and the raw data folder {raw} does not exist "
            f"(set ${SHARED_DATA_ENV} or pass --data/--raw)"
        )
    cmd = [sys.executable, str(REPO_ROOT / "datasets" / script), "--raw", str(raw), "--out", str(out)]
    print("converting:", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"error: converter failed:\n{proc.stdout}{proc.stderr}")
    return out


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------
def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` next to ``path`` and rename it into place (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path: Path, obj: Any) -> Path:
    """``obj`` as JSON (portable paths, no NaN), written atomically."""
    return write_text_atomic(path, json.dumps(_jsonable(obj), indent=1, allow_nan=False) + "\n")


def _portable(text: str) -> str:
    """Paths in results are machine-independent: repository-relative, site-packages shortened."""
    text = text.replace(str(REPO_ROOT) + os.sep, "")  # also inside recorded command lines
    for site in sorted({p for p in sys.path if p.endswith("site-packages")}, key=len, reverse=True):
        text = text.replace(site + os.sep, "<site-packages>" + os.sep)
    return text


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return _portable(str(obj))
    if isinstance(obj, str):
        return _portable(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """The command that reproduces this run (relative to the repository root)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python", f"examples/{script}", *args])


def environment() -> dict[str, Any]:
    import hashlib

    import graphneg

    digest = hashlib.sha256()
    root = Path(graphneg.__file__).parent
    for f in sorted(root.rglob("*.py")):  # every subpackage: the whole source the results depend on
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    env = {
        "graphneg_source_sha256": digest.hexdigest()[:16],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "graphneg": graphneg.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "cpu_route": os.environ.get("GRAPHNEG_CPU_ROUTE", "auto"),  # decides near-tie order (see above)
    }
    try:
        import sentence_transformers

        env["sentence_transformers"] = sentence_transformers.__version__
    except ImportError:
        env["sentence_transformers"] = None
    return env


# --------------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------------
def keep_previous_arms(result: dict[str, Any], prev: dict[str, Any], arm_names: set[str]) -> None:
    """On ``--resume`` with another ``--arms`` list: keep the earlier file's arms that are not
    run now (their runs as they were, in their order), and record the earlier invocation, so
    adding arms to a finished file never drops the ones it had.

    >>> r = {"arms": {}, "skipped_arms": {}}
    >>> keep_previous_arms(r, {"arms": {"a": {"runs": []}, "b": {"runs": []}}, "command": "x"}, {"b"})
    >>> list(r["arms"]), r["previous_invocations"][0]["command"]
    (['a'], 'x')
    """
    for name, arm in prev.get("arms", {}).items():
        if name not in arm_names:
            result["arms"][name] = arm
    for key in ("mining", "negatives"):  # what the kept arms were trained with
        if isinstance(prev.get(key), dict):
            result[key] = {**prev[key], **result.get(key, {})}
    for name, why in prev.get("skipped_arms", {}).items():
        if name not in arm_names:
            result.setdefault("skipped_arms", {})[name] = why
    result["previous_invocations"] = prev.get("previous_invocations", []) + [
        {k: prev.get(k) for k in ("command", "wall_time_s", "partial", "environment")}
    ]


def mean_std(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, sample standard deviation (ddof=1; None for one value), n, min and max."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "std": None, "n": 0, "min": None, "max": None}
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if arr.size > 1 else None,
        "n": int(arr.size),
        "min": float(arr.min()),
        "max": float(arr.max()),
    }


def summarize_runs(runs: list[dict[str, Any]], baseline_runs: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Per-metric mean/std over seeds, mean diagnostics, and the paired difference to a baseline."""
    metrics = sorted({k for r in runs for k in r["metrics"]})
    out: dict[str, Any] = {"metrics": {m: mean_std([r["metrics"].get(m) for r in runs]) for m in metrics}}
    diag_keys = sorted({k for r in runs for k in r.get("diagnostics", {})})
    out["diagnostics"] = {k: mean_std([r["diagnostics"].get(k) for r in runs])["mean"] for k in diag_keys}
    out["train_time_s"] = mean_std([r["train_time_s"] for r in runs])
    if baseline_runs:
        base = {r["seed"]: r["metrics"] for r in baseline_runs}
        paired = {}
        for m in metrics:
            diffs = [r["metrics"][m] - base[r["seed"]][m] for r in runs if r["seed"] in base]
            paired[m] = mean_std(diffs)
        out["vs_random_paired"] = paired
    return out


def ranking_metrics(
    scores: torch.Tensor, relevant: Sequence[np.ndarray], ks: Sequence[int] = (10, 100)
) -> dict[str, float]:
    """Mean nDCG@10 (binary gains, BEIR/trec_eval definition) and Recall@k over queries.

    ``scores``: (n_queries, n_docs); ``relevant[i]``: the relevant document rows of query i.
    """
    depth = min(max(ks), scores.shape[1])
    top = torch.topk(scores, depth, dim=1).indices.numpy()
    discounts = 1.0 / np.log2(np.arange(2, 12))
    ndcg: list[float] = []
    recall: dict[int, list[float]] = {k: [] for k in ks}
    for i, rel in enumerate(relevant):
        rel_set = set(np.asarray(rel).tolist())
        hits = np.isin(top[i], list(rel_set))
        dcg = float((hits[:10] * discounts[: min(10, depth)]).sum())
        idcg = float(discounts[: min(len(rel_set), 10)].sum())
        ndcg.append(dcg / idcg)
        for k in ks:
            recall[k].append(hits[:k].sum() / len(rel_set))
    out = {"ndcg@10": float(np.mean(ndcg))}
    for k in ks:
        out[f"recall@{k}"] = float(np.mean(recall[k]))
    return out


# --------------------------------------------------------------------------------------------
# the cheap variant: a trainable head on frozen embeddings
# --------------------------------------------------------------------------------------------
class ResidualHead(torch.nn.Module):
    """``f(x) = normalize(x + x W)`` with ``W = 0`` at start, i.e. the identity map.

    ``separate=True`` gives queries and documents their own ``W`` (an asymmetric head); the
    default shares one map. Weight decay pulls ``W`` back to zero, i.e. towards the frozen model.
    """

    def __init__(self, dim: int, separate: bool = False) -> None:
        super().__init__()
        self.w_doc = torch.nn.Parameter(torch.zeros(dim, dim))
        self.w_query = torch.nn.Parameter(torch.zeros(dim, dim)) if separate else None

    def forward(self, x: torch.Tensor, side: str = "doc") -> torch.Tensor:
        w = self.w_query if (side == "query" and self.w_query is not None) else self.w_doc
        return F.normalize(x + x @ w, dim=-1)


def normalize_rows(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, 1e-12)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


class ConflictFreeSampler:
    """Wrap a batch sampler: each epoch's batches are repaired by ``graphneg.conflict_free_batches``.

    No batch keeps two training pairs ``(query_items[i], positive_items[i])`` where one's positive
    is a known positive of the other's query (``known``), or within ``graph_risk['hops']`` hops of
    it in ``graph_risk['graph']``. The repair report of each epoch is kept in ``reports``.
    """

    def __init__(
        self, inner: Any, query_items: np.ndarray, positive_items: np.ndarray, known: Any, seed: int, **graph_risk: Any
    ) -> None:
        self.inner, self.query_items, self.positive_items, self.known = inner, query_items, positive_items, known
        self.seed, self.graph_risk, self.epoch = seed, graph_risk, 0
        self.reports: dict[int, Any] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.inner.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Any:
        import graphneg as gn

        batches = [np.asarray(b, dtype=np.int64) for b in self.inner]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gn.GraphNegWarning)  # unresolved conflicts: reported, and masked
            new, report = gn.conflict_free_batches(
                batches,
                self.query_items,
                self.positive_items,
                self.known,
                seed=self.seed * 100_003 + self.epoch,
                **self.graph_risk,
            )
        self.reports[self.epoch] = report
        return iter(new)


# --------------------------------------------------------------------------------------------
# retrieval: the shipped teacher, the sentence-transformers peer, evaluation of a model
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def quiet() -> Any:
    """Silence GraphNegWarning (shortfalls are counted in the results) and the trainers' chatter."""
    import logging

    import graphneg as gn

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        for name in ("sentence_transformers", "transformers"):
            logging.getLogger(name).setLevel(logging.ERROR)
        yield


class ShippedTeacher:
    """The corpus's shipped frozen embeddings as a model: ``encode_query`` / ``encode_document`` look
    texts up (for ``graphneg.training.st`` and sentence-transformers' ``mine_hard_negatives`` alike)."""

    def __init__(self, rc: Any) -> None:
        self.queries = dict(zip(rc.query_texts, normalize_rows(rc.query_embeddings), strict=True))
        self.docs = dict(zip(rc.corpus_texts, normalize_rows(rc.corpus_embeddings), strict=True))
        self.device, self.prompts = torch.device("cpu"), {}
        self.model_card_data = type("Card", (), {"base_model": None})()

    def encode_query(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        return np.stack([self.queries[t] if t in self.queries else self.docs[t] for t in texts])

    def encode_document(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        return np.stack([self.docs[t] if t in self.docs else self.queries[t] for t in texts])

    encode = encode_document

    def similarity(self, a: Any, b: Any) -> torch.Tensor:
        return F.normalize(torch.as_tensor(a), dim=-1) @ F.normalize(torch.as_tensor(b), dim=-1).T

    def similarity_pairwise(self, a: Any, b: Any) -> torch.Tensor:
        return (F.normalize(torch.as_tensor(a), dim=-1) * F.normalize(torch.as_tensor(b), dim=-1)).sum(-1)

    def get_embedding_dimension(self) -> int:
        return next(iter(self.docs.values())).shape[0]


def st_mine(data: dict, corpus: Sequence[str], qrels: dict, teacher: Any, args: Any) -> dict[str, list]:
    """The peer: sentence-transformers ``mine_hard_negatives`` (n-tuples, ``'top'``) on every judged pair
    of the training queries (so that it knows their positives), then the training pairs' rows."""
    from sentence_transformers.util import mine_hard_negatives

    import datasets

    anchor = dict(zip(data["query_id"], data["query"], strict=True))
    full = datasets.Dataset.from_dict({"anchor": [anchor[k] for k in anchor for _ in qrels[k]],
                                       "positive": [t for k in anchor for t in qrels[k]]})
    with quiet():
        mined = mine_hard_negatives(full, teacher, corpus=list(corpus), num_negatives=args.num_negatives,
                                    relative_margin=args.relative_margin, sampling_strategy="top",
                                    range_max=max(min(args.range_max, len(corpus) - 1), args.num_negatives + 1),
                                    output_format="n-tuple", verbose=False)
    wanted = set(zip(data["query"], data["positive"], strict=True))
    pairs = zip(mined["anchor"], mined["positive"], strict=True)
    return mined.select([i for i, p in enumerate(pairs) if p in wanted]).to_dict()


def encode_and_rank(model: Any, rc: Any, rows: np.ndarray, relevant: list, docs: np.ndarray, bf16: bool = False,
                    ) -> dict[str, float]:
    """Encode the queries ``rows`` and documents ``docs`` with ``model``; ``ranking_metrics``."""
    kw = dict(batch_size=64, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
    with torch.autocast("cuda" if torch.cuda.is_available() else "cpu", dtype=torch.bfloat16, enabled=bf16):
        d = model.encode([rc.corpus_texts[i] for i in docs], **kw).cpu().float()
        q = model.encode([rc.query_texts[i] for i in rows], **kw).cpu().float()
    return ranking_metrics(q @ d.T, relevant)
