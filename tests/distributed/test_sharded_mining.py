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
        warnings.simplefilter("ignore", gn.GraphNegWarning)  # short queries: counted in n_short below
        expected = gn.mine_hard_negatives(Q, C, positives, **options)
    got = assemble_negatives([results[r][index] for r in range(world_size)])
    np.testing.assert_array_equal(got.indices, expected.indices)
    # scores: the same fp32 GEMM / per-pair products, up to the last bit of the GEMM's tiling
    np.testing.assert_allclose(got.scores, expected.scores, rtol=2e-6, atol=1e-5)
    np.testing.assert_allclose(got.positive_scores, expected.positive_scores, rtol=2e-6, atol=1e-6)
    assert got.n_short == expected.n_short
    assert got.skipped == expected.skipped


def test_world_of_one_equals_single_process(data):
    from graphneg.distributed import mine_hard_negatives

    Q, C, positives, _ = data
    sel = gn.NegativeSelection(num_negatives=3, sampling=gn.SimANS(), seed=2)
    got = mine_hard_negatives(Q, C, positives, sel, block_rows=40)
    expected = gn.mine_hard_negatives(Q, C, positives, sel)
    np.testing.assert_array_equal(got.indices, expected.indices)
