"""graphneg's mining equals sentence-transformers' on the same embeddings (SciFact)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import graphneg as gn

st_util = pytest.importorskip("sentence_transformers.util")
datasets = pytest.importorskip("datasets")
torch = pytest.importorskip("torch")
st_version = pytest.importorskip("sentence_transformers").__version__


class StubEncoder:
    """Hands sentence-transformers precomputed vectors, isolating mining from encoding."""

    def __init__(self, vectors: dict[str, np.ndarray]):
        self.vectors = vectors
        self.device = torch.device("cpu")
        self.model_card_data = SimpleNamespace(base_model=None)
        self.prompts: dict[str, str] = {}

    def _encode(self, sentences, **kwargs):
        out = np.stack([self.vectors[s] for s in sentences]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    encode_query = encode_document = encode = _encode

    def similarity(self, a, b):
        return st_util.cos_sim(torch.as_tensor(a), torch.as_tensor(b))

    def similarity_pairwise(self, a, b):
        return st_util.pairwise_cos_sim(torch.as_tensor(a), torch.as_tensor(b))

    def get_embedding_dimension(self):
        return next(iter(self.vectors.values())).shape[0]


def train_queries(scifact):
    """Train queries with qrels, duplicate texts merged (sentence-transformers keys queries by text)."""
    rows, positives = gn.qrels_to_positives(scifact, "train")
    merged: dict[str, tuple[int, set[int]]] = {}
    for row, pos in zip(rows, positives, strict=True):
        text = scifact.query_texts[row]
        first, acc = merged.setdefault(text, (row, set()))
        acc.update(pos.tolist())
    texts = list(merged)
    return texts, np.array([merged[t][0] for t in texts]), [sorted(merged[t][1]) for t in texts]


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings",
    [
        dict(num_negatives=3),
        dict(num_negatives=5, range_min=10, range_max=60, relative_margin=0.05),
        dict(num_negatives=4, range_min=2, absolute_margin=0.02, max_score=0.75),
        dict(num_negatives=2, range_max=30, min_score=0.3),
    ],
)
def test_top_negatives_identical_to_sentence_transformers(scifact, settings):
    from packaging.version import Version

    if Version(st_version) < Version("6.3"):
        pytest.skip("sentence-transformers < 6.3 retrieves one candidate fewer (graphneg follows 6.3)")
    texts, rows, positives = train_queries(scifact)
    corpus = list(scifact.corpus_texts)
    assert len(set(corpus)) == len(corpus)  # texts identify documents in sentence-transformers
    vectors = dict(zip(corpus, scifact.corpus_embeddings, strict=True))
    vectors.update(zip(texts, scifact.query_embeddings[rows], strict=True))
    pairs = [(t, corpus[p]) for t, pos in zip(texts, positives, strict=True) for p in pos]
    dataset = datasets.Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [b for _, b in pairs]})

    theirs = st_util.mine_hard_negatives(
        dataset, StubEncoder(vectors), corpus=corpus, sampling_strategy="top", output_format="triplet",
        verbose=False, **settings,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        ours = gn.mine_hard_negatives(scifact.query_embeddings[rows], scifact.corpus_embeddings, positives,
                                  gn.NegativeSelection(**settings))

    doc_row = {t: i for i, t in enumerate(corpus)}
    st_negs: dict[str, list[int]] = {}
    seen: set[tuple[str, str, str]] = set()
    for rec in theirs:
        key = (rec["anchor"], rec["positive"], rec["negative"])
        if rec["positive"] == corpus[positives[texts.index(rec["anchor"])][0]] and key not in seen:
            st_negs.setdefault(rec["anchor"], []).append(doc_row[rec["negative"]])
        seen.add(key)
    n_checked = 0
    for q, text in enumerate(texts):
        got = ours.indices[q][ours.indices[q] >= 0].tolist()
        assert got == st_negs.get(text, []), f"query {q}: {got} != {st_negs.get(text)}"
        assert not set(got) & set(positives[q])  # never a labelled positive
        n_checked += len(got)
    assert n_checked > len(texts)  # the comparison covered real negatives
