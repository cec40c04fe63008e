from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from graphneg.negatives import false_negative_mask
from graphneg.similarity import knn_graph, knn_search
from graphneg.training import FalseNegativeCollator, guide_mask, masked_info_nce

# -- a hand-built batch: B = 4 queries, n = 1 hard negative, 10 targets ------------------------
# candidates (columns): positives 3 4 5 6 | negatives 7 5 8 -1(pad)
BATCH = np.array([0, 1, 2, 3])
POS = np.array([3, 4, 5, 6])
NEG = np.array([[7], [5], [8], [-1]])
KEYS = np.arange(10)
KEYS[7] = 3  # target 7 is a duplicate of target 3 (same text)
MULTI_POSITIVES = [[3], [4, 8], [5], [6], [0]]  # query 1 has two relevant targets
CITATIONS = [[], [], [], [3], [1]]  # query 3 cites target 3
RANKED = np.array([[3, 8, 1], [9, 0, 2], [6, 4, 9], [1, 2, 9], [0, 1, 2]])  # kNN, rank order

PAD = [0, 0, 0, 0, 0, 0, 0, 1]
EXPECTED = np.array(
    [
        # q0: col 4 (target 7 duplicates its positive 3), pad
        [0, 0, 0, 0, 1, 0, 0, 1],
        # q1: col 6 (target 8, its second positive), pad
        [0, 0, 0, 0, 0, 0, 1, 1],
        # q2: col 5 (q1's negative is q2's positive 5), col 3 (6 = its top-1 neighbour), pad
        [0, 0, 0, 1, 0, 1, 0, 1],
        # q3: col 0 (target 3, cited), pad
        [1, 0, 0, 0, 0, 0, 0, 1],
    ],
    dtype=bool,
)


def _known():
    return [sorted(set(a) | set(b)) for a, b in zip(MULTI_POSITIVES, CITATIONS, strict=True)]


def test_hand_built_batch_masks_exactly_the_expected_cells():
    mask = false_negative_mask(
        BATCH, POS, NEG, target_keys=KEYS, known_positives=_known(), rank_graph=RANKED, top_p=1
    )
    assert mask.dtype == bool and mask.shape == (4, 8)
    np.testing.assert_array_equal(mask, EXPECTED)


def test_each_rule_adds_its_own_cells():
    base = false_negative_mask(BATCH, POS, NEG)  # identity + padding only
    expected = np.zeros((4, 8), bool)
    expected[:, 7] = True
    expected[2, 5] = True  # target 5 twice in the batch
    np.testing.assert_array_equal(base, expected)

    keyed = false_negative_mask(BATCH, POS, NEG, target_keys=KEYS)
    added = np.zeros((4, 8), bool)
    added[0, 4] = True  # target 7 has the key of q0's positive 3
    np.testing.assert_array_equal(keyed ^ base, added)

    known = false_negative_mask(BATCH, POS, NEG, known_positives=_known())
    added = np.zeros((4, 8), bool)
    added[1, 6] = added[3, 0] = True
    np.testing.assert_array_equal(known ^ base, added)

    ranked1 = false_negative_mask(BATCH, POS, NEG, rank_graph=RANKED, top_p=1)
    added = np.zeros((4, 8), bool)
    added[2, 3] = True  # q0's top-1 is its own positive: protected
    np.testing.assert_array_equal(ranked1 ^ base, added)

    ranked2 = false_negative_mask(BATCH, POS, NEG, rank_graph=RANKED, top_p=2)
    added[0, 6] = added[2, 1] = True
    np.testing.assert_array_equal(ranked2 ^ base, added)
    # top_p=None: every stored neighbour (q0: 3, 8, 1; q2: 6, 4, 9; ...)
    np.testing.assert_array_equal(false_negative_mask(BATCH, POS, NEG, rank_graph=RANKED), ranked2)


def test_input_forms_are_equivalent():
    kwargs = dict(target_keys=KEYS, rank_graph=RANKED, top_p=1)
    known_lists = _known()
    padded = np.full((5, 2), -1)
    for i, row in enumerate(known_lists):
        padded[i, : len(row)] = row
    dense = np.zeros((5, 10), bool)
    for i, row in enumerate(known_lists):
        dense[i, row] = True
    citations = sp.csr_matrix(
        (np.ones(2), ([3, 4], [3, 1])), shape=(5, 10)
    )  # a scipy matrix, unioned with the qrels the usual way
    multi = sp.csr_array((np.ones(6), ([0, 1, 1, 2, 3, 4], [3, 4, 8, 5, 6, 0])), shape=(5, 10))
    forms = [known_lists, padded, sp.csr_array(dense), (multi + citations)]
    for form in forms:
        mask = false_negative_mask(BATCH, POS, NEG, known_positives=form, **kwargs)
        np.testing.assert_array_equal(mask, EXPECTED)

    sims = 1.0 - 0.1 * np.tile(np.arange(3), (5, 1))
    rows = np.repeat(np.arange(5), 3)
    graph = sp.csr_array((sims.ravel(), (rows, RANKED.ravel())), shape=(5, 10))  # column-sorted
    for rank in [graph, (RANKED, sims.astype(np.float32)), RANKED.tolist()]:
        mask = false_negative_mask(
            BATCH, POS, NEG, target_keys=KEYS, known_positives=known_lists, rank_graph=rank, top_p=1
        )
        np.testing.assert_array_equal(mask, EXPECTED)
    # torch ids, string keys (text hashes), 1-D negatives (triplets) all work
    str_keys = np.array([f"text{k}" for k in KEYS])
    mask = false_negative_mask(
        torch.as_tensor(BATCH),
        torch.as_tensor(POS),
        NEG.ravel(),
        target_keys=str_keys,
        known_positives=known_lists,
        rank_graph=RANKED,
        top_p=1,
    )
    np.testing.assert_array_equal(mask, EXPECTED)


def test_rank_mask_from_a_real_knn_graph_matches_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    B, n, p = 12, 3, 4
    batch = rng.choice(60, B, replace=False)
    pos = rng.integers(0, 60, B)
    neg = rng.integers(0, 60, (B, n))
    top = knn_search(X, p)[0]
    expected = false_negative_mask(batch, pos, neg, rank_graph=top)
    # a deeper similarity graph cut to its top p, and knn_search's (indices, sims) as is
    np.testing.assert_array_equal(
        false_negative_mask(batch, pos, neg, rank_graph=knn_graph(X, 10), top_p=p), expected
    )
    np.testing.assert_array_equal(
        false_negative_mask(batch, pos, neg, rank_graph=knn_search(X, 10), top_p=p), expected
    )
    cand = np.concatenate([pos, neg.ravel()])
    brute = np.array([[c in set(top[q]) or c == pos[i] for c in cand] for i, q in enumerate(batch)])
    brute[np.arange(B), np.arange(B)] = False
    np.testing.assert_array_equal(expected, brute)
    assert expected.any()


def test_padded_negatives_are_masked_in_every_row():
    rng = np.random.default_rng(1)
    B, n = 8, 3
    neg = rng.integers(100, 200, (B, n))
    neg[rng.random((B, n)) < 0.3] = -1
    mask = false_negative_mask(np.arange(B), np.arange(B), neg)
    cand = np.concatenate([np.arange(B), neg.ravel()])
    assert mask[:, cand == -1].all()
    np.testing.assert_array_equal(mask, np.broadcast_to(cand == -1, mask.shape))


def test_target_is_never_masked():
    rng = np.random.default_rng(2)
    B, n, n_targets = 6, 2, 8  # few targets: many collisions
    pos = rng.integers(0, n_targets, B)
    neg = rng.integers(-1, n_targets, (B, n))
    everything = np.ones((B, n_targets), dtype=bool)
    guide = rng.normal(size=(B, B * (1 + n)))
    guide[np.arange(B), np.arange(B)] = -10.0  # every other candidate beats the positive
    mask = false_negative_mask(
        np.arange(B),
        pos,
        neg,
        target_keys=np.zeros(n_targets),
        known_positives=sp.csr_array(everything),
        rank_graph=np.tile(np.arange(n_targets), (B, 1)),
        top_p=n_targets,
        guide_scores=guide,
    )
    expected = np.ones((B, B * (1 + n)), bool)
    expected[np.arange(B), np.arange(B)] = False
    np.testing.assert_array_equal(mask, expected)


def test_slot_major_layout_is_a_column_permutation():
    rng = np.random.default_rng(3)
    B, n = 5, 3
    pos = rng.integers(0, 12, B)
    neg = rng.integers(-1, 12, (B, n))
    kw = dict(known_positives=[rng.integers(0, 12, 3) for _ in range(B)])
    qm = false_negative_mask(np.arange(B), pos, neg, **kw)
    sm = false_negative_mask(np.arange(B), pos, neg, negatives_layout="slot_major", **kw)
    i, t = np.meshgrid(np.arange(B), np.arange(n), indexing="ij")
    perm = np.concatenate([np.arange(B), (B + t * B + i).ravel()])  # query-major -> slot-major
    np.testing.assert_array_equal(sm[:, perm], qm)


# -- GISTEmbed rule ---------------------------------------------------------------------------
def st_gist(anchor, positive, negative, a_g, p_g, n_g, margin, strategy, temperature):
    """sentence-transformers GISTEmbedLoss.forward on triplets, restated (contrast_anchors and
    contrast_positives off, no gathering): returns its score matrix and loss."""
    cos = nn.CosineSimilarity(dim=-1)

    def sim_matrix(a, b):
        return cos(a.unsqueeze(1), b.unsqueeze(0))

    ap_sim, guided_ap_sim = sim_matrix(anchor, positive), sim_matrix(a_g, p_g)
    guided_sim = guided_ap_sim.diagonal().view(-1, 1)

    def mask_false_negatives(guided_sim_mat, sim_mat, positive_mask=None):
        if strategy == "absolute":
            mask = guided_sim_mat > (guided_sim - margin)
        else:
            mask = guided_sim_mat > (guided_sim - guided_sim.abs() * margin)
        if positive_mask is not None:
            mask = mask & ~positive_mask
        sim_mat[mask] = -torch.inf
        return sim_mat

    positive_mask = torch.eye(anchor.shape[0], dtype=torch.bool)
    ap_sim = mask_false_negatives(guided_ap_sim, ap_sim, positive_mask=positive_mask)
    an_sim = mask_false_negatives(sim_matrix(a_g, n_g), sim_matrix(anchor, negative))
    scores = torch.cat([ap_sim, an_sim], dim=1) / temperature
    return scores, F.cross_entropy(scores, torch.arange(anchor.shape[0]))


def _guide_batch(seed=4, B=16, d=12):
    g = torch.Generator().manual_seed(seed)
    a_g = torch.randn(B, d, generator=g)
    p_g = a_g + 0.8 * torch.randn(B, d, generator=g)
    p_g[: B // 4] = -p_g[: B // 4]  # negative positive scores exercise the relative |s| rule
    n_g = p_g[torch.randperm(B, generator=g)] + 0.3 * torch.randn(B, d, generator=g)
    student = [torch.randn(B, d, generator=g) for _ in range(3)]
    return (a_g, p_g, n_g), student


@pytest.mark.parametrize("strategy", ["absolute", "relative"])
@pytest.mark.parametrize("margin", [0.0, 0.1, 0.5, -0.05])
def test_guide_mask_equals_sentence_transformers_rule(strategy, margin):
    (a_g, p_g, n_g), (a, p, n) = _guide_batch()
    scores, st_loss = st_gist(a, p, n, a_g, p_g, n_g, margin, strategy, temperature=0.01)
    mask = guide_mask(a_g, torch.cat([p_g, n_g]), margin=margin, margin_strategy=strategy)
    assert mask.dtype == torch.bool
    torch.testing.assert_close(mask, torch.isinf(scores), rtol=0, atol=0)
    assert 0 < int(mask.sum()) < mask.numel() - 16
    loss = masked_info_nce(a, torch.cat([p, n]), mask, temperature=0.01)
    torch.testing.assert_close(loss, st_loss, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("strategy", ["absolute", "relative"])
@pytest.mark.parametrize("margin", [0.0, 0.2])
def test_guide_scores_in_numpy_follow_the_same_rule(strategy, margin):
    (a_g, p_g, n_g), _ = _guide_batch(seed=5)
    B = a_g.shape[0]
    G = (F.normalize(a_g, dim=1) @ F.normalize(torch.cat([p_g, n_g]), dim=1).T).numpy()
    pos = np.diag(G[:, :B])[:, None]
    direct = G > (pos - margin if strategy == "absolute" else pos - np.abs(pos) * margin)
    direct[np.arange(B), np.arange(B)] = False
    ids = np.arange(B)  # all targets distinct: only the guide rule is active
    mask = false_negative_mask(
        ids, ids, ids + B, guide_scores=G, guide_margin=margin, margin_strategy=strategy
    )
    np.testing.assert_array_equal(mask, direct)
    assert mask.any()
    torch_mask = guide_mask(a_g, torch.cat([p_g, n_g]), margin=margin, margin_strategy=strategy)
    np.testing.assert_array_equal(torch_mask.numpy(), mask)


def test_guide_keeps_an_exact_duplicate_but_identity_masks_it():
    gq = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    gc = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # negatives copy positives
    assert not guide_mask(gq, gc)[0, 2]  # strict '>' at margin 0: a tie is not masked
    mask = false_negative_mask([0, 1], [5, 6], [[5], [9]], guide_scores=(gq @ gc.T).numpy())
    assert mask[0, 2] and not mask[1, 3]


# -- loss ---------------------------------------------------------------------------------------
def reference_info_nce(q, c, mask, temperature):
    """Per-row loss in float64 numpy: explicit log-softmax over the unmasked entries."""
    q = q.detach().double().numpy()
    c = c.detach().double().numpy()
    S = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        c / np.linalg.norm(c, axis=1, keepdims=True)
    ).T
    S /= temperature
    out = []
    for i in range(q.shape[0]):
        keep = np.ones(c.shape[0], bool) if mask is None else ~np.asarray(mask[i])
        keep[i] = True
        row = S[i, keep]
        top = row.max()
        out.append(top + np.log(np.exp(row - top).sum()) - S[i, i])
    return np.array(out)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_masked_info_nce_equals_reference(dtype):
    g = torch.Generator().manual_seed(6)
    B, n, d = 8, 3, 16
    q = torch.randn(B, d, generator=g, dtype=dtype)
    c = torch.randn(B * (1 + n), d, generator=g, dtype=dtype)
    mask = torch.rand(B, B * (1 + n), generator=g) < 0.4
    mask[0] = True  # a row with only its target left, and True on some targets (ignored)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
    for T in (0.05, 1.0):
        ref = reference_info_nce(q, c, mask.numpy(), T)
        per_row = masked_info_nce(q, c, mask, temperature=T, reduction="none")
        assert per_row.dtype == dtype and per_row.shape == (B,)
        np.testing.assert_allclose(per_row.numpy(), ref, **tol)
        assert per_row[0].item() == 0.0
        np.testing.assert_allclose(
            masked_info_nce(q, c, mask, temperature=T).item(), ref.mean(), **tol
        )
        np.testing.assert_allclose(
            masked_info_nce(q, c, mask.numpy(), temperature=T, reduction="sum").item(),
            ref.sum(),
            **tol,
        )


def test_masked_info_nce_without_mask_is_cross_entropy_of_cosine():
    g = torch.Generator().manual_seed(7)
    q, c = torch.randn(5, 8, generator=g), torch.randn(15, 8, generator=g)
    logits = F.cosine_similarity(q.unsqueeze(1), c.unsqueeze(0), dim=-1) / 0.05
    expected = F.cross_entropy(logits, torch.arange(5))
    torch.testing.assert_close(masked_info_nce(q, c), expected)
    torch.testing.assert_close(
        masked_info_nce(q, c, torch.zeros(5, 15, dtype=torch.bool)), expected
    )
    np.testing.assert_allclose(
        masked_info_nce(q, c).item(), reference_info_nce(q, c, None, 0.05).mean(), rtol=1e-5
    )


def test_gradients_flow_and_skip_masked_candidates():
    g = torch.Generator().manual_seed(8)
    q = torch.randn(4, 8, generator=g, requires_grad=True)
    c = torch.randn(8, 8, generator=g, requires_grad=True)
    mask = torch.zeros(4, 8, dtype=torch.bool)
    mask[:, 6] = True  # column 6 is masked for every query
    masked_info_nce(q, c, mask).backward()
    assert torch.isfinite(q.grad).all() and torch.isfinite(c.grad).all()
    assert (q.grad.abs().sum(1) > 0).all()
    assert c.grad[6].abs().max() == 0
    assert (c.grad[[0, 1, 2, 3, 4, 5, 7]].abs().sum(1) > 0).all()


# -- collator -------------------------------------------------------------------------------
class PairsWithNegatives(torch.utils.data.Dataset):
    """Items: query/positive/negative features plus their global ids (as in a training set)."""

    def __init__(self, n_items=10, n=2, d=6, seed=9):
        rng = np.random.default_rng(seed)
        self.query_feats = torch.tensor(rng.normal(size=(n_items, d)), dtype=torch.float32)
        self.target_feats = torch.tensor(rng.normal(size=(12, d)), dtype=torch.float32)
        self.pid = rng.integers(0, 12, n_items)
        self.nids = rng.integers(0, 12, (n_items, n))
        self.nids[rng.random((n_items, n)) < 0.2] = -1

    def __len__(self):
        return len(self.pid)

    def __getitem__(self, i):
        nids = self.nids[i]
        return {
            "q": self.query_feats[i],
            "pos": self.target_feats[self.pid[i]],
            "negs": self.target_feats[np.maximum(nids, 0)],
            "qid": i,
            "pid": int(self.pid[i]),
            "nids": nids,
        }


@pytest.mark.parametrize("num_workers", [0, 2])
def test_collator_in_a_dataloader_trains(num_workers):
    ds = PairsWithNegatives()
    known = [[int(ds.pid[i]), (i + 3) % 12] for i in range(len(ds))]
    ranked = np.arange(120).reshape(10, 12) % 12
    collate = FalseNegativeCollator(
        ("qid", "pid", "nids"), known_positives=known, rank_graph=ranked, top_p=2
    )
    loader = DataLoader(
        ds,
        batch_size=4,
        shuffle=True,
        collate_fn=collate,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(0),
    )
    model = nn.Linear(6, 6)
    seen = 0
    for batch, mask in loader:
        B = batch["q"].shape[0]
        assert mask.dtype == torch.bool and mask.shape == (B, B * 3)
        expected = false_negative_mask(
            batch["qid"].numpy(),
            batch["pid"].numpy(),
            batch["nids"].numpy(),
            known_positives=known,
            rank_graph=ranked,
            top_p=2,
        )
        np.testing.assert_array_equal(mask.numpy(), expected)
        docs = torch.cat([batch["pos"], batch["negs"].flatten(0, 1)])  # query-major
        loss = masked_info_nce(model(batch["q"]), model(docs), mask)
        model.zero_grad()
        loss.backward()
        assert torch.isfinite(loss) and model.weight.grad.abs().sum() > 0
        seen += B
    assert seen == len(ds)


def test_collator_with_tuples_callable_and_pairs():
    items = [(torch.ones(2), (0, 10, [11, -1])), (torch.zeros(2), (1, 11, [10, 12]))]
    collate = FalseNegativeCollator(lambda item: item[1], target_keys=np.arange(13) // 2 * 2)
    batch, mask = collate(items)
    assert batch[0].shape == (2, 2)
    # columns: 10 11 | 11 -1 10 12 ; keys 10 10 | 10 - 10 12
    expected = [[0, 1, 1, 1, 1, 0], [1, 0, 1, 1, 1, 0]]
    assert mask.int().tolist() == expected
    pairs = FalseNegativeCollator((0, 1, None))
    _, pair_mask = pairs([(3, 7), (4, 7), (5, 8)])  # queries 3 and 4 share positive 7
    assert pair_mask.int().tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]


# -- bad inputs -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(batch_items=[0.5, 1, 2, 3]), TypeError, "`batch_items` must hold integer ids"),
        (dict(batch_items=[]), ValueError, "`batch_items` must hold at least one"),
        (dict(batch_items=[[0, 1], [2, 3]]), ValueError, "`batch_items` must be 1-D"),
        (
            dict(positive_items=[3, 4, 5]),
            ValueError,
            "`positive_items` must have one target per query",
        ),
        (dict(positive_items=[3, 4, 5, -1]), ValueError, "`positive_items` must hold ids >= 0"),
        (
            dict(negative_items=[[7], [5], [8]]),
            ValueError,
            "`negative_items` must have one row per query",
        ),
        (
            dict(negative_items=[[7], [5], [8], [-2]]),
            ValueError,
            "`negative_items` must hold ids >= -1",
        ),
        (
            dict(negative_items=[[7], [5, 1], [8], [1]]),
            ValueError,
            "`negative_items` must be a rectangular",
        ),
        (dict(target_keys=np.arange(6)), ValueError, "`positive_items` holds target id 6, outside"),
        (dict(target_keys=np.arange(8)), ValueError, "`negative_items` holds target id 8, outside"),
        (dict(target_keys=np.zeros((10, 2))), ValueError, "`target_keys` must be a non-empty 1-D"),
        (
            dict(known_positives=[[1], [2]]),
            ValueError,
            "`batch_items` holds query id 3, but `known_positives` has only 2",
        ),
        (
            dict(known_positives=[[1], [2], [3], [40]], target_keys=KEYS),
            ValueError,
            "`known_positives` holds index 40",
        ),
        (
            dict(known_positives=sp.csr_array((4, 11)), target_keys=KEYS),
            ValueError,
            "disagree on the number of targets",
        ),
        (dict(known_positives=3), TypeError, "`known_positives` must be a sparse matrix"),
        (dict(rank_graph=RANKED[:2]), ValueError, "`rank_graph` has only 2 rows"),
        (dict(rank_graph=5, top_p=1), TypeError, "`rank_graph` must be a sparse similarity graph"),
        (
            dict(rank_graph=sp.csr_array(np.full((4, 10), np.nan))),
            ValueError,
            "`rank_graph` has non-finite",
        ),
        (dict(top_p=2), ValueError, "`top_p` needs `rank_graph`"),
        (dict(rank_graph=RANKED, top_p=0), ValueError, "`top_p` must be >= 1"),
        (
            dict(guide_scores=np.zeros((4, 4))),
            ValueError,
            r"`guide_scores` must have shape \(B, B\*\(1\+n\)\) = \(4, 8\)",
        ),
        (dict(guide_scores=np.full((4, 8), np.nan)), ValueError, "`guide_scores` contains NaN"),
        (
            dict(guide_scores=np.zeros((4, 8), bool)),
            TypeError,
            "`guide_scores` must be a real-valued",
        ),
        (dict(guide_margin=float("nan")), TypeError, "`guide_margin` must be a finite number"),
        (dict(margin_strategy="percent"), ValueError, "`margin_strategy` must be one of"),
        (dict(negatives_layout="column"), ValueError, "`negatives_layout` must be one of"),
    ],
)
def test_false_negative_mask_rejects_bad_inputs(kwargs, err, match):
    args = dict(batch_items=BATCH, positive_items=POS, negative_items=NEG) | kwargs
    with pytest.raises(err, match=match):
        false_negative_mask(**args)


def test_torch_functions_reject_bad_inputs():
    q, c = torch.randn(3, 4), torch.randn(6, 4)
    with pytest.raises(ValueError, match=r"`mask` must have shape \(B, C\) = \(3, 6\)"):
        masked_info_nce(q, c, torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="`mask` must be a boolean"):
        masked_info_nce(q, c, torch.zeros(3, 6))
    with pytest.raises(ValueError, match="`temperature` must be > 0"):
        masked_info_nce(q, c, temperature=0.0)
    with pytest.raises(ValueError, match="`reduction` must be one of"):
        masked_info_nce(q, c, reduction="max")
    with pytest.raises(ValueError, match="same dimension"):
        masked_info_nce(q, torch.randn(6, 5))
    with pytest.raises(ValueError, match="`candidate_emb` must hold at least the B = 3 positives"):
        masked_info_nce(q, c[:2])
    with pytest.raises(TypeError, match="`query_emb` must be a floating-point"):
        masked_info_nce(torch.ones(3, 4, dtype=torch.long), c)
    with pytest.raises(ValueError, match="`guide_candidate_emb` must be a non-empty 2-D"):
        guide_mask(q, c[0])
    with pytest.raises(ValueError, match="`margin_strategy` must be one of"):
        guide_mask(q, c, margin_strategy="ratio")


def test_collator_rejects_bad_inputs():
    with pytest.raises(TypeError, match="`id_fn` must be a callable"):
        FalseNegativeCollator("qid")
    with pytest.raises(TypeError, match="`collate_fn` must be callable"):
        FalseNegativeCollator(("q", "p", "n"), collate_fn=3)
    with pytest.raises(ValueError, match="`top_p` needs `rank_graph`"):
        FalseNegativeCollator(("q", "p", "n"), top_p=3)
    collate = FalseNegativeCollator(("q", "p", "n"), known_positives=[[1], [2]])
    with pytest.raises(ValueError, match="same number of negative ids"):
        collate([{"q": 0, "p": 1, "n": [2]}, {"q": 1, "p": 2, "n": [3, 4]}])
    with pytest.raises(
        ValueError, match="`batch_items` holds query id 5, but `known_positives` has only 2"
    ):
        collate([{"q": 5, "p": 1, "n": [2]}])
    with pytest.raises(ValueError, match="empty batch"):
        collate([])
    with pytest.raises(ValueError, match="`id_fn` must return"):
        FalseNegativeCollator(lambda item: item)([1, 2])
