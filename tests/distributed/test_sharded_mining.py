"""Sharded hard-negative mining over 2 and 3 processes equals single-process mining.

Queries and corpus are sharded (memory-mapped ``.npy`` slices); data without ties.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

from ddp_harness import run_group  # noqa: E402

import graphneg as gn  # noqa: E402
from graphneg.distributed import assemble_negatives  # noqa: E402

N_QUERIES, N_DOCS, DIM = 97, 263, 16

CASES = [
    ("top", dict(selection=gn.NegativeSelection(num_negatives=4))),
    ("margin-window-blocks", dict(selection=gn.NegativeSelection(num_negatives=3, range_min=2, relative_margin=0.05),
                                  block_rows=29)),
    ("self-exclude-uneven", dict(selection=gn.NegativeSelection(num_negatives=5), query_corpus_ids=True, exclude=True,
                                 block_rows=64), True),
    ("random", dict(selection=gn.NegativeSelection(num_negatives=3, sampling="random", seed=5, range_max=20),
                    block_rows=50)),
    ("softmax-ip", dict(selection=gn.NegativeSelection(num_negatives=2, sampling=gn.Softmax(temperature=0.5), seed=1),
                        metric="ip")),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("sharded_mining")
    C = rng.normal(size=(N_DOCS, DIM)).astype(np.float32)
    owner = rng.choice(N_DOCS, N_QUERIES, replace=False)
    Q = (C[owner] + 0.5 * rng.normal(size=(N_QUERIES, DIM))).astype(np.float32)
    positives = [sorted({int(owner[i]), *rng.choice(N_DOCS, i % 3, replace=False).tolist()}) for i in range(N_QUERIES)]
    extra = {"query_corpus_ids": rng.integers(-1, N_DOCS, N_QUERIES),
             "exclude": [rng.choice(N_DOCS, i % 4, replace=False).tolist() for i in range(N_QUERIES)]}
    np.save(root / "Q.npy", Q)
    np.save(root / "C.npy", C)
    cases = []
    for _, options, *uneven in CASES:
        options = dict(options)
        for name in ("query_corpus_ids", "exclude"):
            if options.get(name):
                options[name] = extra[name]
        cases.append({"kind": "mining", "queries": str(root / "Q.npy"), "corpus": str(root / "C.npy"),
                      "positives": positives, "options": options, "uneven": bool(uneven)})
    return Q, C, positives, cases


@pytest.fixture(scope="module", params=[2, 3], ids=lambda r: f"{r}ranks")
def sharded(request, data):
    return request.param, run_group("ddp_sharded.run_cases", request.param, data[3])


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_sharded_mining_equals_single_process(sharded, data, index):
    world_size, results = sharded
    Q, C, positives, cases = data
    options = dict(cases[index]["options"])
    options.pop("block_rows", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)  # short queries: counted in num_short below
        expected = gn.mine_hard_negatives(Q, C, positives, **options)
    got = assemble_negatives([results[r][index] for r in range(world_size)])
    np.testing.assert_array_equal(got.indices, expected.indices)
    # scores: the same fp32 GEMM / per-pair products, up to the last bit of the GEMM's tiling
    np.testing.assert_allclose(got.scores, expected.scores, rtol=2e-6, atol=1e-5)
    np.testing.assert_allclose(got.positive_scores, expected.positive_scores, rtol=2e-6, atol=1e-6)
    assert got.num_short == expected.num_short
    assert got.skipped == expected.skipped


def test_world_of_one_equals_single_process(data):
    from graphneg.distributed import mine_hard_negatives

    Q, C, positives, _ = data
    sel = gn.NegativeSelection(num_negatives=3, sampling=gn.SimANS(), seed=2)
    got = mine_hard_negatives(Q, C, positives, sel, block_rows=40)
    expected = gn.mine_hard_negatives(Q, C, positives, sel)
    np.testing.assert_array_equal(got.indices, expected.indices)


# --- the approximate route: an inverted file over the sharded corpus ---

IVF_SELECTIONS = {
    "top": gn.NegativeSelection(num_negatives=5),
    "sampled": gn.NegativeSelection(num_negatives=4, range_min=2, relative_margin=0.05, sampling="random", seed=3),
}
IVF_CASES = [  # (name, selection, options): each runs once per spawn, in this order
    ("adaptive", "top", dict(backend=gn.IVF(nlist=24, seed=1), block_rows=500)),
    ("adaptive-again", "top", dict(backend=gn.IVF(nlist=24, seed=1), block_rows=500)),
    ("all-lists", "sampled", dict(backend=gn.IVF(nlist=24, nprobe=24), block_rows=700)),
    ("exact", "sampled", dict(block_rows=700)),
    ("fixed-nprobe", "top", dict(backend=gn.IVF(nlist=24, nprobe=3))),
]


@pytest.fixture(scope="module")
def ivf_data(tmp_path_factory):
    """Clustered corpus (so the lists matter), queries near corpus rows, 1-3 positives each."""
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(30, DIM))
    C = (centres[rng.integers(0, 30, 3000)] + 0.6 * rng.normal(size=(3000, DIM))).astype(np.float32)
    owner = rng.choice(3000, 500, replace=False)
    Q = (C[owner] + 0.3 * rng.normal(size=(500, DIM))).astype(np.float32)
    P = [sorted({int(owner[i]), *rng.choice(3000, i % 3, replace=False).tolist()}) for i in range(500)]
    path = tmp_path_factory.mktemp("sharded_ivf") / "data.npy"
    np.save(path, {"Q": Q, "C": C, "P": np.array(P, dtype=object)}, allow_pickle=True)
    cases = [{"selection": IVF_SELECTIONS[sel], "options": opts} for _, sel, opts in IVF_CASES]
    return Q, C, P, str(path), cases


@pytest.fixture(scope="module")
def ivf_two_ranks(ivf_data):
    results = run_group("ddp_sharded.ivf_cases", 2, ivf_data[3], ivf_data[4])
    return {name: [results[r][i][0] for r in range(2)] for i, (name, *_) in enumerate(IVF_CASES)}, results


def _single(ivf_data, name):
    Q, C, P, _, _ = ivf_data
    _, sel, opts = next(c for c in IVF_CASES if c[0] == name)
    opts = {k: v for k, v in opts.items() if k != "block_rows"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        return gn.mine_hard_negatives(Q, C, P, IVF_SELECTIONS[sel], **opts)


def test_sharded_ivf_reaches_the_recall_target_on_every_rank(ivf_two_ranks):
    parts = ivf_two_ranks[0]["adaptive"]
    reports = [p.search for p in parts]
    assert reports[0] == reports[1]
    assert reports[0].met and reports[0].recall >= reports[0].min_recall == 0.99
    assert reports[0].nlist == 24 and reports[0].sample == 500 and len(reports[0].rounds) >= 1
    fixed = [p.search for p in ivf_two_ranks[0]["fixed-nprobe"]]
    assert fixed[0] == fixed[1] and fixed[0].nprobe == 3 and len(fixed[0].rounds) == 1


def test_sharded_ivf_agrees_with_single_process_ivf(ivf_two_ranks, ivf_data):
    """The same centroids, lists and recall check: the same search and, but for near ties
    scored in other GEMM blocks, the same negatives."""
    got = assemble_negatives(ivf_two_ranks[0]["adaptive"])
    expected = _single(ivf_data, "adaptive")
    assert ivf_two_ranks[0]["adaptive"][0].search.rounds == expected.search.rounds
    assert (got.indices == expected.indices).all(axis=1).mean() >= 0.99
    np.testing.assert_allclose(got.positive_scores, expected.positive_scores, rtol=2e-6, atol=1e-6)


def test_sharded_ivf_with_every_list_equals_the_exact_route(ivf_two_ranks, ivf_data):
    results = ivf_two_ranks[0]
    ivf, exact = assemble_negatives(results["all-lists"]), assemble_negatives(results["exact"])
    np.testing.assert_array_equal(ivf.indices, exact.indices)
    np.testing.assert_array_equal(ivf.scores, exact.scores)
    assert ivf.skipped == exact.skipped and results["exact"][0].search is None
    np.testing.assert_array_equal(exact.indices, _single(ivf_data, "exact").indices)


def test_sharded_ivf_is_deterministic_and_leaves_inputs_untouched(ivf_two_ranks):
    results, raw = ivf_two_ranks
    a, b = assemble_negatives(results["adaptive"]), assemble_negatives(results["adaptive-again"])
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert results["adaptive"][0].search == results["adaptive-again"][0].search
    assert all(untouched for rank in raw for _, untouched in rank)


@pytest.mark.parametrize("name", ["adaptive", "all-lists", "fixed-nprobe"])
def test_sharded_ivf_world_of_one_equals_single_process(ivf_data, name):
    from graphneg.distributed import mine_hard_negatives

    Q, C, P, _, _ = ivf_data
    _, sel, opts = next(c for c in IVF_CASES if c[0] == name)
    before = Q.copy(), C.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        got = mine_hard_negatives(Q, C, P, IVF_SELECTIONS[sel], backend=opts["backend"])
    expected = _single(ivf_data, name)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.scores, expected.scores)
    np.testing.assert_array_equal(got.positive_scores, expected.positive_scores)
    assert (got.num_short, got.skipped) == (expected.num_short, expected.skipped)
    g, e = got.search, expected.search
    assert (g.recall, g.nlist, g.nprobe, g.rounds, g.met) == (e.recall, e.nlist, e.nprobe, e.rounds, e.met)
    assert (Q == before[0]).all() and (C == before[1]).all()


def test_sharded_ivf_rejects_bad_options():
    from graphneg.distributed import mine_hard_negatives

    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="backend"):
        mine_hard_negatives(X, X, np.arange(20), backend="ivf")
