"""One fresh-process measurement for ``mining.py --cold``: ``python _cold_child.py gn|st|cli``.

Only the standard library is imported before the clock starts, so ``import`` is what the
library costs a fresh interpreter. Prints one JSON line of seconds.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

T0 = time.perf_counter()
SHARED = Path(os.environ.get("GRAPHNEG_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SCIFACT = SHARED / "scifact"
COLD_KW = dict(num_negatives=5, range_min=10, range_max=60, relative_margin=0.05)


def scifact_train():
    """SciFact train queries with qrels: (query vectors, corpus vectors, positive rows per query)."""
    import gzip

    import numpy as np

    q_ids = [json.loads(line)["_id"] for line in (SCIFACT / "queries.jsonl").open()]
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt") as f:
        d_row = {json.loads(line)["_id"]: i for i, line in enumerate(f)}
    q_row, positives = {i: r for r, i in enumerate(q_ids)}, {}
    for line in (SCIFACT / "qrels" / "train.tsv").read_text().splitlines()[1:]:
        q, d, _ = line.split("\t")
        positives.setdefault(q_row[q], []).append(d_row[d])
    rows = sorted(positives)
    Q = np.load(SCIFACT / "queries_minilm_l6_v2_fp16.npy").astype(np.float32)[rows]
    C = np.load(SCIFACT / "corpus_minilm_l6_v2_fp16.npy").astype(np.float32)
    return Q, C, [positives[r] for r in rows]


class Stub:
    """sentence-transformers' model interface over precomputed vectors (mining only is timed)."""

    def __init__(self, vectors):
        import torch

        self.vectors, self.device, self.prompts = vectors, torch.device("cpu"), {}
        self.model_card_data = type("Card", (), {"base_model": None})()

    def _encode(self, sentences, **kwargs):
        import numpy as np

        return np.stack([self.vectors[s] for s in sentences])

    encode_query = encode_document = encode = _encode

    def similarity(self, a, b):
        import torch
        from sentence_transformers.util import cos_sim

        return cos_sim(torch.as_tensor(a), torch.as_tensor(b))

    def similarity_pairwise(self, a, b):
        import torch
        from sentence_transformers.util import pairwise_cos_sim

        return pairwise_cos_sim(torch.as_tensor(a), torch.as_tensor(b))

    def get_embedding_dimension(self):
        return 384


def cli() -> dict:
    import resource

    if os.environ.get("HIDE_MATPLOTLIB"):  # python-igraph imports all of pyplot when it can (#762)
        sys.modules["matplotlib"] = None  # type: ignore[assignment]
    from graphneg.cli import main

    t1, c1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as null:
        stdout, sys.stdout = sys.stdout, null
        try:
            rc = main(["batches", "-q", "-o", str(Path(tmp) / "b.jsonl")])
        finally:
            sys.stdout = stdout
    c2 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = c2.ru_utime + c2.ru_stime - c1.ru_utime - c1.ru_stime
    return {"import": t1 - T0, "run": time.perf_counter() - t1, "run_cpu": cpu, "rc": rc,
            "torch": "torch" in sys.modules, "igraph": "igraph" in sys.modules}


def mining(who: str) -> dict:
    if who == "st":
        from sentence_transformers.util import mine_hard_negatives as mine

        import datasets
    else:
        from graphneg import NegativeSelection
        from graphneg import mine_hard_negatives as mine
    t1 = time.perf_counter()
    Q, C, positives = scifact_train()
    if who == "st":
        q_txt, d_txt = [f"q{i}" for i in range(len(Q))], [f"d{i}" for i in range(len(C))]
        pairs = [(q_txt[i], d_txt[d]) for i, pos in enumerate(positives) for d in pos]
        ds = datasets.Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [b for _, b in pairs]})
        stub = Stub({**dict(zip(q_txt, Q, strict=True)), **dict(zip(d_txt, C, strict=True))})

        def call():
            return mine(ds, stub, corpus=d_txt, output_format="triplet", verbose=False, **COLD_KW)
    else:
        def call():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return mine(Q, C, positives, NegativeSelection(**COLD_KW))
    import resource

    times, cpu = [], []
    for _ in range(2):
        t, c = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        call()
        c2 = resource.getrusage(resource.RUSAGE_SELF)
        times.append(time.perf_counter() - t)
        cpu.append(c2.ru_utime + c2.ru_stime - c.ru_utime - c.ru_stime)  # all threads: robust to other load
    return {"import": t1 - T0, "first": times[0], "second": times[1], "first_cpu": cpu[0], "second_cpu": cpu[1],
            "torch": "torch" in sys.modules}


if __name__ == "__main__":
    print(json.dumps(cli() if sys.argv[1] == "cli" else mining(sys.argv[1])))
