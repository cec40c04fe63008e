"""The samplers' ``conflicts=`` option: conflict-free batches that keep the sampler contract."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from graphneg import ConflictReport, batch_conflicts  # noqa: E402
from graphneg.exceptions import GraphNegWarning  # noqa: E402
from graphneg.training import CommunityBatchSampler, TopicBatchSampler  # noqa: E402

EPOCHS = range(3)
CONFIGS = {
    "community-auto": (CommunityBatchSampler, {}),
    "community-bfd": (CommunityBatchSampler, {"packing": "bfd"}),
    "community-fill-mix": (CommunityBatchSampler, {"packing": "fill", "mix_random": 0.3}),
    "topic-2": (TopicBatchSampler, {"clusters_per_batch": 2}),
}


@st.composite
def problems(draw):
    """Pairs (query, positive), known positives, optional graph, labels and sampler options."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(4, 80))
    # dense: few queries, shared positives, a graph (conflicts often left); sparse: resolvable
    dense = draw(st.booleans())
    n_q = draw(st.integers(1, n)) if dense else draw(st.integers(max(1, n // 3), n))
    n_items = n_q + draw(st.integers(1, 3 * n)) if dense else n_q + n + draw(st.integers(0, n))
    q = rng.integers(0, n_q, n)
    d = rng.integers(0, n_items, n) if dense else n_q + rng.permutation(n_items - n_q)[:n]
    extra = rng.integers(0, n_items, (n_q, 2 if dense else 1))  # other known positives of each query
    rows = np.r_[q, np.repeat(np.arange(n_q), extra.shape[1])]
    known = sp.csr_array((np.ones(rows.size), (rows, np.r_[d, extra.ravel()])), shape=(n_q, n_items))
    spec = {"query_items": q, "positive_items": d, "known_positives": known}
    if dense and draw(st.booleans()):
        g = rng.integers(0, n_items, (n_items, 2))
        graph = sp.csr_array((np.ones(g.shape[0]), (g[:, 0], g[:, 1])), shape=(n_items, n_items))
        spec.update(graph=graph, hops=draw(st.integers(1, 2)))
    labels = q % draw(st.integers(1, 6))  # topic-like: pairs of a query share a community
    R = draw(st.integers(1, 3))
    kw = {
        "drop_last": draw(st.booleans()),
        "num_replicas": R,
        "shard": draw(st.sampled_from(["batches", "slice"])),
        "seed": draw(st.integers(0, 3)),
    }
    if draw(st.booleans()):
        kw["strata"] = rng.integers(0, 2, n)
    batch_size = R * draw(st.integers(1, 6))
    return labels, batch_size, spec, kw


def global_view(per_rank, shard):
    """The batches the ranks train on together (whole batches, or the slices of one batch)."""
    if shard == "batches":
        return [b for out in per_rank for b in out]
    return [sum((out[i] for out in per_rank), []) for i in range(len(per_rank[0]))]


def build(cls, labels, batch_size, options, R, conflicts):
    return [cls(labels, batch_size, **options, rank=r, conflicts=conflicts) for r in range(R)]


@pytest.mark.parametrize("config", sorted(CONFIGS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_conflict_free_sampler_keeps_the_contract(config, problem):
    cls, fixed = CONFIGS[config]
    labels, batch_size, spec, kw = problem
    options = {**fixed, **kw}
    R, shard, drop_last, strata = kw["num_replicas"], kw["shard"], kw["drop_last"], kw.get("strata")
    n = labels.size
    graph_risk = {k: spec[k] for k in ("graph", "hops") if k in spec}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)  # counts are tested below
        try:
            plain = build(cls, labels, batch_size, options, R, None)
        except ValueError:
            return  # refused without the option (an empty drop_last epoch, strata vs ranks)
        guarded = build(cls, labels, batch_size, options, R, spec)  # the option adds no refusal
        for e in EPOCHS:
            per_rank, reference = [], []
            for s, p in zip(guarded, plain, strict=True):
                s.set_epoch(e)
                p.set_epoch(e)
                out = list(s)
                assert len(s) == len(out) == len(p), "len changed by the repair"
                assert [len(b) for b in out] == [len(b) for b in p], "batch sizes changed"
                per_rank.append(out)
                reference.append(list(p))
            assert len({len(out) for out in per_rank}) == 1  # equal length on every rank
            flat = [i for out in per_rank for b in out for i in b]
            assert len(flat) == len(set(flat)), "an item twice in one epoch"
            expected = sorted(i for out in reference for b in out for i in b)
            assert sorted(flat) == expected  # the same items as the plan without the option
            if not drop_last:
                assert sorted(flat) == list(range(n))
            report = guarded[0].last_conflict_report
            assert isinstance(report, ConflictReport) and report.num_pairs == len(flat)
            assert all(s.last_conflict_report.moved == report.moved for s in guarded)  # ranks agree
            view = global_view(per_rank, shard)
            left = batch_conflicts(view, spec["query_items"], spec["positive_items"], spec["known_positives"],
                                   **graph_risk)
            if report.unresolved == 0:
                assert left.size == 0, "the report says resolved, but batches conflict"
            assert left.shape[0] == report.unresolved
            if strata is not None:
                assert all(np.unique(strata[b]).size == 1 for b in view)
            fresh = cls(labels, batch_size, **options, rank=e % R, conflicts=spec)
            fresh.set_epoch(e)
            assert list(fresh) == per_rank[e % R], "not a function of (seed, epoch)"


def test_report_and_batches_for_a_single_rank():
    q = np.repeat(np.arange(8), 4)  # 8 queries with 4 positives each, one community per 2 queries
    d = np.arange(32)
    s = CommunityBatchSampler(q // 2, 8, conflicts={"query_items": q, "positive_items": d}, seed=3)
    assert s.packing == "b3"
    for e in range(3):
        s.set_epoch(e)
        out = list(s)
        assert [b.tolist() for b in s.batches()] == out  # one rank: batches() is what is yielded
        assert batch_conflicts(out, q, d).size == 0
        report = s.last_conflict_report
        assert report.unresolved == 0 and report.initial_conflicts == 4 * 12 and report.moved > 0
        assert report.num_pairs == 32 and report.num_batches == 4
    plain = CommunityBatchSampler(q // 2, 8, seed=3)
    assert plain.last_conflict_report is None
    assert batch_conflicts(list(plain), q, d).shape[0] == 48  # what the option removes


def test_graph_hops_are_conflicts():
    # pairs (i, i + 1) on a path graph: with hops=2, neighbouring pairs' positives are at risk
    n = 24
    q, d = np.arange(n), (np.arange(n) + 1) % n
    path = sp.csr_array(np.eye(n, k=1) + np.eye(n, k=1 - n))
    spec = {"query_items": q, "positive_items": d, "graph": path, "hops": 2}
    s = CommunityBatchSampler(np.arange(n) // 4, 4, conflicts=spec)
    out = list(s)
    assert s.last_conflict_report.initial_conflicts > 0 and s.last_conflict_report.unresolved == 0
    assert batch_conflicts(out, q, d, graph=path, hops=2).size == 0
    assert batch_conflicts(list(CommunityBatchSampler(np.arange(n) // 4, 4)), q, d, graph=path, hops=2).size


def test_unresolvable_conflicts_warn_once_with_counts():
    # one query with 6 positives, 3 batches: two of its pairs must share a batch
    q, d = np.r_[np.zeros(6, int), np.arange(1, 4)], np.arange(9)
    spec = {"query_items": q, "positive_items": d}
    with pytest.warns(GraphNegWarning, match=r"TopicBatchSampler: \d+ conflicting pair\(s\).*epoch 0") as rec:
        s = TopicBatchSampler(np.zeros(9, int), 3, conflicts=spec)
    assert len(rec) == 1 and rec[0].filename == __file__  # points at the caller
    assert s.last_conflict_report.unresolved == 3  # 6 pairs in 3 batches of 3: at best 2 + 2 + 2
    out = list(s)
    assert batch_conflicts(out, q, d).shape[0] == 3
    assert sorted(i for b in out for i in b) == list(range(9))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphNegWarning)  # once per labelling
        s.set_epoch(1)
        list(s)
    assert s.last_conflict_report.unresolved == 3
    with pytest.warns(GraphNegWarning, match="conflicting"):
        s.refresh(np.arange(9) % 2)  # a new labelling warns again


def test_refresh_keeps_the_option_and_a_failed_refresh_restores():
    q, d = np.repeat(np.arange(6), 2), np.arange(12)
    spec = {"query_items": q, "positive_items": d}
    s = CommunityBatchSampler(np.repeat(np.arange(3), 4), 4, conflicts=spec)
    first, report = list(s), s.last_conflict_report
    s.refresh(q)  # one query per community: the repair must split every community
    assert batch_conflicts(list(s), q, d).size == 0 and s.last_conflict_report.moved > 0
    before = list(s)
    with pytest.raises(ValueError):
        s.refresh(np.zeros(5, int))
    assert list(s) == before
    assert first and report.unresolved == 0


def test_conflicts_are_validated_when_given():
    labels = np.zeros(4, int)
    good = {"query_items": [0, 0, 1, 1], "positive_items": [2, 3, 4, 5]}
    with pytest.raises(TypeError, match="must be a dict"):
        CommunityBatchSampler(labels, 2, conflicts=[0, 0, 1, 1])
    with pytest.raises(TypeError, match="unexpected keyword argument 'hop'"):
        CommunityBatchSampler(labels, 2, conflicts={**good, "hop": 2})
    with pytest.raises(ValueError, match="'positive_items'"):
        CommunityBatchSampler(labels, 2, conflicts={"query_items": [0, 0, 1, 1]})
    with pytest.raises(ValueError, match="one entry per item"):
        TopicBatchSampler(labels, 2, conflicts={"query_items": [0, 1], "positive_items": [2, 3]})
    with pytest.raises(ValueError, match="`positive_items` must have one item per pair"):
        TopicBatchSampler(labels, 2, conflicts={"query_items": [0, 0, 1, 1], "positive_items": [2, 3]})
    with pytest.raises(ValueError, match="`max_rounds` must be >= 0"):
        CommunityBatchSampler(labels, 2, conflicts={**good, "max_rounds": -1})
    with pytest.raises(ValueError, match="`known_positives` has 1 rows"):
        CommunityBatchSampler(labels, 2, conflicts={**good, "known_positives": [[2]]})
    with pytest.raises(TypeError, match="`hops` must be an int"):
        CommunityBatchSampler(labels, 2, conflicts={**good, "graph": sp.eye(6, format="csr"), "hops": 1.5})
    assert CommunityBatchSampler(labels, 2, conflicts=None).last_conflict_report is None  # the default


def test_docstrings_document_the_option():
    for cls in (CommunityBatchSampler, TopicBatchSampler):
        assert "\n    conflicts : dict, optional\n" in cls.__doc__
        assert "last_conflict_report" in cls.__doc__


def test_dataloader_with_conflicts():
    q = np.repeat(np.arange(10), 3)
    spec = {"query_items": q, "positive_items": np.arange(30)}
    data = torch.arange(30)
    sampler = CommunityBatchSampler(q // 2, 6, conflicts=spec, num_replicas=2, rank=1)
    loader = torch.utils.data.DataLoader(data, batch_sampler=sampler)
    got = [b.tolist() for b in loader]
    assert got == list(sampler) and len(loader) == len(sampler)
    assert all(np.unique(q[b]).size == len(b) for b in got)
