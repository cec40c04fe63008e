"""The recipe's loss: sentence-transformers' MNRL without masks, the masks' semantics, GradCache = uncached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("sentence_transformers")

from graphneg.training.st import (  # noqa: E402
    CachedMaskedMultipleNegativesRankingLoss,
    MaskedMultipleNegativesRankingLoss,
    read_pairs,
)
from tiny_st import WORDS, load_tiny  # noqa: E402


def table_with_negatives():
    t = read_pairs({"query": ["a", "a", "b", "c"], "positive": ["x", "y", "z", "w"]}, corpus=["v", "u"])
    t.negatives = np.array([[4, -1], [5, 2], [0, 4], [1, -1]])  # doc ids; -1 = missing
    return t


def test_without_mask_terms_it_is_sentence_transformers_mnrl():
    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # pragma: no cover
        from sentence_transformers.losses import MultipleNegativesRankingLoss
    t = read_pairs({"query": ["a", "b", "c"], "positive": ["x", "y", "z"]})
    g = torch.Generator().manual_seed(0)
    reps = [torch.randn(3, 8, generator=g) for _ in range(2)]
    ours = MaskedMultipleNegativesRankingLoss(None, t, known_positives=False)
    theirs = MultipleNegativesRankingLoss(torch.nn.Identity(), scale=20.0)
    expected = theirs.compute_loss_from_embeddings(reps, None)
    assert torch.allclose(ours.loss_from_embeddings(reps, torch.arange(3)), expected, atol=1e-5)


def test_mask_known_positives_padding_and_never_the_target():
    t = table_with_negatives()
    loss = MaskedMultipleNegativesRankingLoss(None, t)
    m = loss.batch_mask(np.arange(4), np.arange(4), 3, 0)
    # candidates: positives x y z w | negative_1 of rows 0..3: v u x y | negative_2: - z v -
    assert m.shape == (4, 12)
    assert not m[np.arange(4), np.arange(4)].any()  # each row's own positive
    assert m[0, 1] and m[1, 0]  # rows 0 and 1 are query 'a': x and y are both its positives
    assert m[0, 6] and m[0, 7]  # x and y again among the negatives, for query 'a'
    assert m[:, 8].all() and m[:, 11].all()  # missing negatives, for every query
    assert not m[2, 0] and not m[3, 4]  # 'b' and 'c' know only z and w
    rows = np.array([2, 0])  # a batch of two rows, in another order
    m2 = loss.batch_mask(rows, rows, 3, 0)
    # candidates z x | x v | v -: for row 0 ('a') negative_1 of row 2 is x, its own positive
    assert m2[1, 2] and not m2[1, 3] and m2[:, 5].all()
    assert not m2[0, 1]


def test_teacher_threshold_masks_candidates_close_to_the_positive():
    t = read_pairs({"query": ["a", "b"], "positive": ["x", "y"]})
    tq = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    td = np.array([[0.9, 0.1], [0.88, 0.12]], np.float32)  # y scores as high as x for 'a'
    loss = MaskedMultipleNegativesRankingLoss(None, t, threshold_fraction=0.95, teacher=(tq, td))
    m = loss.batch_mask(np.arange(2), np.arange(2), 1, 0)
    assert m.tolist() == [[False, True], [False, False]]
    with pytest.raises(ValueError, match="teacher"):
        MaskedMultipleNegativesRankingLoss(None, t, threshold_fraction=0.95)


def test_masked_candidates_get_no_gradient_and_rows_of_all_masked_lose_nothing():
    t = table_with_negatives()
    loss = MaskedMultipleNegativesRankingLoss(None, t)
    g = torch.Generator().manual_seed(1)
    reps = [torch.randn(4, 6, generator=g, requires_grad=True) for _ in range(4)]  # anchor, pos, neg 1, neg 2
    loss.loss_from_embeddings(reps, torch.arange(4)).backward()
    # negative_2 of rows 0 and 3 is missing: masked for every query, so no gradient reaches it
    assert torch.all(reps[3].grad[0] == 0) and torch.all(reps[3].grad[3] == 0)
    assert torch.any(reps[3].grad[1] != 0)


def _features(model, texts):
    return model.tokenize(texts)


def test_cached_loss_gradients_equal_the_uncached(tiny_model):
    rng = np.random.default_rng(0)
    texts = lambda n: [" ".join(rng.choice(WORDS, 4)) for _ in range(n)]  # noqa: E731
    t = read_pairs({"query": texts(12), "positive": texts(12)}, corpus=texts(6))
    t.negatives = rng.integers(-1, len(t.doc_texts), size=(12, 2))
    cols = [[t.query_texts[q] for q in t.query], [t.doc_texts[d] for d in t.positive],
            *[[t.doc_texts[max(d, 0)] for d in t.negatives[:, j]] for j in range(2)]]
    labels = torch.arange(12)
    grads = []
    for cached in (False, True):
        model = load_tiny(tiny_model).eval()  # no dropout: both passes see the same network
        loss = (CachedMaskedMultipleNegativesRankingLoss(model, t, mini_batch_size=5) if cached
                else MaskedMultipleNegativesRankingLoss(model, t))
        value = loss([_features(model, c) for c in cols], labels)
        value.backward()
        grads.append((float(value.detach()), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}))
    (v0, g0), (v1, g1) = grads
    assert v0 == pytest.approx(v1, rel=1e-5) and g0.keys() == g1.keys() and len(g0) > 0
    for name in g0:
        assert torch.allclose(g0[name], g1[name], atol=1e-6, rtol=1e-4), name
