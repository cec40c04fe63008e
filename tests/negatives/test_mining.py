from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from graphneg import GraphNegWarning, NegativeSelection, SimANS, Softmax, mine_hard_negatives

# every sampling strategy at its defaults
SAMPLINGS = {"top": "top", "random": "random", "simans": SimANS(), "softmax": Softmax()}


def reference_mine(Q, C, positives, n, range_min, range_max, absolute_margin=None, relative_margin=None,
                   max_score=None, min_score=None):
    """Dense, per-query restatement of sentence-transformers' rules (the obvious version)."""
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    Cn = C / np.linalg.norm(C, axis=1, keepdims=True)
    S = Qn @ Cn.T
    out = []
    for q in range(len(Q)):
        pos = set(positives[q])
        ref = min(S[q, p] for p in pos)
        depth = range_max + max(len(p) for p in positives)
        cand = np.argsort(-S[q], kind="stable")[:depth]
        keep = []
        for j in cand:
            s = S[q, j]
            if j in pos:
                continue
            if absolute_margin is not None and s + absolute_margin > ref:
                continue
            if relative_margin is not None and s > ref - abs(ref) * relative_margin:
                continue
            if max_score is not None and s > max_score:
                continue
            if min_score is not None and s < min_score:
                continue
            keep.append(j)
        out.append(keep[:range_max][range_min:][:n])
    return out


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    C = rng.normal(size=(400, 16)).astype(np.float32)
    Q = C[:60] + 0.3 * rng.normal(size=(60, 16)).astype(np.float32)
    positives = [[i] if i % 3 else [i, (i + 7) % 400] for i in range(60)]
    return Q, C, positives


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(range_min=0, range_max=20),
        dict(range_min=5, range_max=40),
        dict(range_min=2, range_max=60, relative_margin=0.05),
        dict(range_min=0, range_max=60, absolute_margin=0.1, max_score=0.8),
        dict(range_min=1, range_max=30, min_score=0.0),
    ],
)
def test_top_matches_reference(data, kwargs):
    Q, C, positives = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)  # short queries are expected here
        hn = mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=4, **kwargs), block_size=7)
    ref = reference_mine(Q, C, positives, 4, **kwargs)
    for q in range(len(Q)):
        got = hn.indices[q][hn.indices[q] >= 0].tolist()
        assert got == ref[q]
    assert hn.num_short == sum(len(r) < 4 for r in ref)


def test_never_positive_self_excluded_or_duplicate(data):
    Q, C, positives = data
    exclude = [[(i + 1) % 400] for i in range(60)]
    for sampling in SAMPLINGS.values():
        sel = NegativeSelection(num_negatives=8, range_max=50, sampling=sampling, seed=1)
        hn = mine_hard_negatives(Q, C, positives, sel, query_corpus_ids=np.arange(60) + 100, exclude=exclude)
        for q in range(60):
            neg = hn.indices[q][hn.indices[q] >= 0]
            assert not set(neg) & set(positives[q])
            assert q + 100 not in neg and (q + 1) % 400 not in neg
            assert len(set(neg)) == len(neg)
            # scores are sorted and are the true cosine similarities
            s = hn.scores[q][: len(neg)]
            assert np.all(np.diff(s) <= 1e-7)
            true = (Q[q] / np.linalg.norm(Q[q])) @ (C[neg] / np.linalg.norm(C[neg], axis=1, keepdims=True)).T
            np.testing.assert_allclose(s, true, atol=1e-5)
        assert hn.skipped["positives"] > 0


def test_positive_scores_are_lowest_positive(data):
    Q, C, positives = data
    hn = mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=1))
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    Cn = C / np.linalg.norm(C, axis=1, keepdims=True)
    expected = [min(Qn[q] @ Cn[p] for p in positives[q]) for q in range(len(Q))]
    np.testing.assert_allclose(hn.positive_scores, expected, atol=1e-5)


def test_positive_forms_are_equivalent(data):
    Q, C, positives = data
    single = np.array([p[0] for p in positives])
    a = mine_hard_negatives(Q, C, single, NegativeSelection(num_negatives=3))
    b = mine_hard_negatives(Q, C, [[p] for p in single], NegativeSelection(num_negatives=3))
    M = sp.csr_array((np.ones(60), (np.arange(60), single)), shape=(60, 400))
    c = mine_hard_negatives(Q, C, M, NegativeSelection(num_negatives=3))
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.indices, c.indices)


def test_sampling_is_seeded(data):
    Q, C, positives = data
    for sampling in ("random", SimANS(), Softmax()):
        a, b, c = (mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=3, range_max=30,
                                                                            sampling=sampling, seed=seed))
                   for seed in (5, 5, 6))
        assert np.array_equal(a.indices, b.indices)
        assert not np.array_equal(a.indices, c.indices)


def _window_scores(Q, C, positives, range_max):
    hn = mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=range_max, range_max=range_max))
    return hn.indices, hn.scores, hn.positive_scores


@pytest.mark.parametrize("sampling", [SimANS(a=20.0, b=0.1), Softmax(temperature=0.05), "random"])
def test_sampling_follows_target_distribution(sampling):
    rng = np.random.default_rng(1)
    C = rng.normal(size=(300, 8)).astype(np.float32)
    q = (C[0] + 0.5 * rng.normal(size=8)).astype(np.float32)
    R = 12
    idx, sc, pos = _window_scores(q[None], C, [[0]], R)
    s, s_pos = sc[0].astype(np.float64), float(pos[0])
    if isinstance(sampling, SimANS):
        w = np.exp(-sampling.a * (s - s_pos - sampling.b) ** 2)
    elif isinstance(sampling, Softmax):
        w = np.exp(s / sampling.temperature)
    else:
        w = np.ones(R)
    p = w / w.sum()
    # many queries that are the same query: each row is one independent draw of 1 negative
    n_draws = 4000
    sel = NegativeSelection(num_negatives=1, range_max=R, sampling=sampling, seed=3)
    hn = mine_hard_negatives(np.repeat(q[None], n_draws, 0), C, [[0]] * n_draws, sel)
    counts = np.array([(hn.indices[:, 0] == j).sum() for j in idx[0]])
    assert counts.sum() == n_draws
    expected = p * n_draws
    chi2, pvalue = stats.chisquare(counts, expected)
    assert pvalue > 0.001, (counts, expected.round(1))


def test_simans_peaks_at_positive_plus_b():
    rng = np.random.default_rng(2)
    C = rng.normal(size=(500, 8)).astype(np.float32)
    q = C[0] + 0.3 * rng.normal(size=8).astype(np.float32)
    n = 3000
    sel = NegativeSelection(num_negatives=1, range_max=200, sampling=SimANS(a=50.0, b=-0.4), seed=0)
    hn = mine_hard_negatives(np.repeat(q[None], n, 0), C, [[0]] * n, sel)
    target = hn.positive_scores[0] - 0.4
    assert abs(np.median(hn.scores[:, 0]) - target) < 0.05


def test_short_queries_are_counted_and_warned(data):
    Q, C, positives = data
    with pytest.warns(GraphNegWarning, match=r"queries got fewer than 3 negatives"):
        hn = mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=3, max_score=-0.5))
    assert hn.num_short == int((hn.counts < 3).sum()) > 0
    assert np.all(np.isnan(hn.scores[hn.indices < 0]))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"positives": [[0]] * 59 + [[400]]}, ValueError, r"`positives` holds index 400, outside"),
        ({"positives": [[0]] * 59 + [[]]}, ValueError, r"`positives` is empty for 1 query \(first: \[59\]\)"),
        ({"positives": [[0]] * 5}, ValueError, r"one entry per query \(60\)"),
        ({"selection": NegativeSelection(num_negatives=5, range_max=3)}, ValueError,
         r"`num_negatives` \(5\) must be <= range_max"),
        ({"corpus": np.ones((400, 3))}, ValueError, r"same dimension, got 16 and 3"),
        ({"query_corpus_ids": np.arange(3)}, ValueError, r"`query_corpus_ids` must have length 60"),
        ({"selection": {"num_negatives": 3}}, TypeError, r"`selection` must be a graphneg.NegativeSelection"),
    ],
)
def test_bad_input(data, kwargs, error, match):
    Q, C, positives = data
    args = {"queries": Q, "corpus": C, "positives": positives, **kwargs}
    with pytest.raises(error, match=match):
        mine_hard_negatives(**args)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"range_min": 10, "range_max": 5}, ValueError, r"`range_max` \(5\) must be > `range_min` \(10\)"),
        ({"range_min": 10, "range_max": 10}, ValueError, r"`range_max` \(10\) must be >"),
        ({"num_negatives": 0}, ValueError, r"`num_negatives` must be >= 1"),
        ({"absolute_margin": -0.1}, ValueError, r"`absolute_margin` must be >= 0"),
        ({"relative_margin": -0.1}, ValueError, r"`relative_margin` must be >= 0"),
        ({"sampling": "hard"}, ValueError, r"`sampling` must be 'top', 'random', a SimANS or a Softmax"),
        ({"sampling": "simans"}, ValueError, r"use sampling=SimANS\(\)"),
    ],
)
def test_bad_selection_fails_where_it_is_built(kwargs, error, match):
    with pytest.raises(error, match=match):
        NegativeSelection(**kwargs)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_matches_fp32(data, precision):
    Q, C, positives = data
    sel = NegativeSelection(num_negatives=5, range_min=2, range_max=40, relative_margin=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        ref = mine_hard_negatives(Q, C, positives, sel)
        low = mine_hard_negatives(Q, C, positives, sel, precision=precision, block_size=16)
    assert np.array_equal(ref.indices, low.indices)
    np.testing.assert_allclose(np.nan_to_num(low.scores), np.nan_to_num(ref.scores), atol=1e-5)
    np.testing.assert_allclose(low.positive_scores, ref.positive_scores, atol=1e-5)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Softmax(temperature=0.0), r"`Softmax.temperature` must be > 0"),
        (lambda: SimANS(a=-1.0), r"`SimANS.a` must be > 0"),
        (lambda: SimANS(b=float("nan")), r"`SimANS.b` must be a finite number"),
    ],
)
def test_sampling_options_are_checked_where_defined(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_no_sampling_option_in_the_miners_signatures():
    import inspect

    import graphneg.distributed as gd

    for fn in (mine_hard_negatives, gd.mine_hard_negatives):
        assert not {"simans_a", "simans_b", "temperature", "sampling"} & set(inspect.signature(fn).parameters)


def test_default_sampling_options_equal_explicit(data):
    Q, C, positives = data
    a = mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=3, range_max=30, sampling=SimANS(), seed=2))
    b = mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=3, range_max=30,
                                                               sampling=SimANS(a=0.5, b=0.0), seed=2))
    assert np.array_equal(a.indices, b.indices)


@pytest.mark.parametrize("scale", [1e25, 1e-25, "mixed"])
def test_extreme_magnitudes_are_normalised_exactly(data, scale):
    # float32 squared norms overflow above ~1.8e19 and underflow below ~1e-19
    Q, C, positives = data
    ref = mine_hard_negatives(Q, C, positives, NegativeSelection(num_negatives=4, range_max=30))
    if scale == "mixed":
        q_scale = np.where(np.arange(len(Q)) % 2, 1e30, 1e-30)[:, None]
        c_scale = np.where(np.arange(len(C)) % 3, 1e-20, 1e20)[:, None]
    else:
        q_scale = c_scale = scale
    Qs, Cs = (Q * q_scale).astype(np.float32), (C * c_scale).astype(np.float32)
    assert np.isfinite(Qs).all() and Qs.any(axis=1).all() and Cs.any(axis=1).all()
    got = mine_hard_negatives(Qs, Cs, positives, NegativeSelection(num_negatives=4, range_max=30))
    assert np.array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.scores, ref.scores, atol=1e-5)
    np.testing.assert_allclose(got.positive_scores, ref.positive_scores, atol=1e-5)


def test_inner_products_beyond_float32_are_rejected(data):
    Q, C, positives = data
    with pytest.raises(ValueError, match=r"inner products can overflow float32"):
        mine_hard_negatives(Q * 1e20, C * 1e20, positives, metric="ip")


# -- the approximate (IVF) route -------------------------------------------------------------
def _ivf_data(n_docs: int = 6_000, n_q: int = 400, d: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n_docs, 10)) * (1.0 + np.arange(10)) ** -0.75
    C = (Z @ rng.normal(size=(10, d)) + 0.3 * rng.normal(size=(n_docs, d))).astype(np.float32)
    Q = (C[:n_q] + 0.2 * rng.normal(size=(n_q, d))).astype(np.float32)
    return Q, C


@pytest.mark.parametrize("selection", [
    NegativeSelection(num_negatives=4, range_min=2, range_max=40, relative_margin=0.05),
    NegativeSelection(num_negatives=3, range_max=30, sampling="random", seed=3),
])
def test_ivf_route_with_every_list_is_the_exact_route(selection):
    from graphneg import IVF

    Q, C = _ivf_data()
    pos = np.arange(Q.shape[0])
    kw = dict(query_corpus_ids=np.r_[np.arange(200), -np.ones(200, int)] + 10, exclude=(pos + 1)[:, None])
    exact = mine_hard_negatives(Q, C, pos, selection, **kw)
    approx = mine_hard_negatives(Q, C, pos, selection, backend=IVF(nlist=24, nprobe=24), **kw)
    assert np.array_equal(exact.indices, approx.indices)
    assert np.array_equal(exact.scores, approx.scores, equal_nan=True)
    assert np.array_equal(exact.positive_scores, approx.positive_scores) and exact.skipped == approx.skipped
    assert exact.search is None and approx.search.recall == 1.0 and approx.search.nprobe == 24


def test_ivf_route_reports_its_recall_and_raises_nprobe():
    from graphneg import IVF, record_searches
    from graphneg.exceptions import GraphNegWarning

    Q, C = _ivf_data(seed=1)
    pos, sel = np.arange(Q.shape[0]), NegativeSelection(num_negatives=3, range_max=20)
    with pytest.warns(GraphNegWarning, match="sampled rows"):
        low = mine_hard_negatives(Q, C, pos, sel, backend=IVF(nlist=48, nprobe=1))
    assert low.search.recall < 0.9 and low.search.met is False and low.search.sample == Q.shape[0]
    with record_searches() as reports:
        hn = mine_hard_negatives(Q, C, pos, sel, backend=IVF(nlist=48, nprobe=1, adaptive=True))
    assert reports == [hn.search] and hn.search.met and hn.search.recall >= 0.99 and hn.search.nprobe > 1
    assert hn.search.what == "mine_hard_negatives" and hn.search.rounds[0] == (1, low.search.recall)
    exact = mine_hard_negatives(Q, C, pos, sel)
    assert (hn.indices == exact.indices).all(axis=1).mean() >= 0.9  # most queries: the same negatives


def test_ivf_route_options_are_checked():
    Q, C = _ivf_data(n_docs=300, n_q=10)
    with pytest.raises(ValueError, match="fp32 on the CPU"):
        mine_hard_negatives(Q, C, np.arange(10), backend="ivf", precision="bf16")
    with pytest.raises(ValueError, match="backend"):
        mine_hard_negatives(Q, C, np.arange(10), backend="hnsw")
