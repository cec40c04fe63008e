"""Tests for the batch builders of graphneg.similarity: random, B3 (cluster), packed (BFD / fill) and topic batches."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphneg.similarity import (
    cluster_batches,
    mix_random_items,
    packed_batches,
    random_batches,
    topic_batches,
)

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def as_lists(batches):
    return [b.tolist() for b in batches]


def compositions(batches):
    return {frozenset(b.tolist()) for b in batches}


def assert_well_formed(batches, n, drop_last, batch_size):
    """Every batch a non-empty 1-D int64 array; each item at most once (exactly once w/o drop)."""
    assert isinstance(batches, list)
    for b in batches:
        assert isinstance(b, np.ndarray)
        assert b.ndim == 1 and b.dtype == np.int64 and b.size > 0
        assert b.size <= batch_size
    flat = np.concatenate(batches) if batches else np.empty(0, dtype=np.int64)
    assert np.unique(flat).size == flat.size, "an item appears twice in one epoch"
    assert ((flat >= 0) & (flat < n)).all()
    if drop_last:
        assert all(b.size == batch_size for b in batches)
    else:
        assert flat.size == n, "an item is missing without drop_last"
    return flat


def assert_full_but_last(batches, batch_size):
    """All batches are full except possibly the very last one."""
    for b in batches[:-1]:
        assert b.size == batch_size
    if batches:
        assert batches[-1].size <= batch_size


def assert_one_short_per_stratum(batches, batch_size, strata):
    """At most one short batch in each stratum (one in all without strata)."""
    short = Counter()
    for b in batches:
        key = 0 if strata is None else int(np.asarray(strata)[b[0]])
        if b.size < batch_size:
            short[key] += 1
    assert all(c <= 1 for c in short.values()), f"several short batches in a stratum: {short}"


def assert_strata_pure(batches, strata):
    if strata is None:
        return
    strata = np.asarray(strata)
    for b in batches:
        assert np.unique(strata[b]).size == 1, "a batch mixes strata"


def expected_kept(counts, batch_size):
    """Items kept with drop_last when each group is laid end to end and cut."""
    return sum(c // batch_size * batch_size for c in counts)


def assert_deterministic_and_epoch_sensitive(fn, *, min_items=10, min_batches=1):
    """Same (seed, epoch) -> same batches; some other epoch gives different ones."""
    first = as_lists(fn(0))
    assert as_lists(fn(0)) == first
    n_items = sum(len(b) for b in first)
    if n_items >= min_items and len(first) >= min_batches:
        others = [as_lists(fn(e)) for e in (1, 2, 3)]
        assert any(o != first for o in others), "epoch does not change the batches"


# --------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------
@st.composite
def variable_labels(draw, max_n=150, max_clusters=12):
    """Skewed community labels (possibly with gaps in the ids) plus optional strata."""
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(1, max_clusters))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = rng.dirichlet(np.full(k, 0.6))
    labels = rng.choice(k, size=n, p=p) * draw(st.sampled_from([1, 3]))
    strata = None
    if draw(st.booleans()):
        n_strata = draw(st.integers(1, 3))
        # clusters never span strata
        strata = rng.integers(0, n_strata, size=int(labels.max()) + 1)[labels]
    return labels.astype(np.int64), strata


@st.composite
def b3_labels(draw, remainder=None, with_strata=None):
    """Clusters of exactly K (np.repeat + permutation), optionally one shorter remainder."""
    K = draw(st.integers(1, 5))
    n_clusters = draw(st.integers(1, 25))
    cpb = draw(st.integers(1, 4))
    if remainder is None:
        r = draw(st.integers(0, K - 1))
    else:
        r = draw(st.integers(1, K - 1)) if (remainder and K > 1) else 0
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = np.concatenate([np.repeat(np.arange(n_clusters), K), np.full(r, n_clusters)])
    labels = base[rng.permutation(base.size)].astype(np.int64)
    use_strata = draw(st.booleans()) if with_strata is None else with_strata
    strata = None
    if use_strata:
        n_strata = draw(st.integers(1, 3))
        strata = rng.integers(0, n_strata, size=n_clusters + 1)[labels]
    return labels, K, r, cpb, strata


seeds = st.integers(0, 2**32 - 1)
epochs = st.integers(0, 20)


# --------------------------------------------------------------------------------------
# random_batches
# --------------------------------------------------------------------------------------
@SETTINGS
@given(
    n=st.integers(1, 200),
    bs=st.integers(1, 40),
    seed=seeds,
    epoch=epochs,
    drop_last=st.booleans(),
    n_strata=st.sampled_from([0, 0, 1, 2, 4]),
)
def test_random_batches_properties(n, bs, seed, epoch, drop_last, n_strata):
    strata = None
    if n_strata:
        strata = np.random.default_rng(seed).integers(0, n_strata, size=n)
    out = random_batches(n, bs, seed=seed, epoch=epoch, drop_last=drop_last, strata=strata)
    flat = assert_well_formed(out, n, drop_last, bs)
    assert_strata_pure(out, strata)
    if strata is None:
        assert_full_but_last(out, bs)
        assert len(out) == (n // bs if drop_last else -(-n // bs))
        counts = [n]
    else:
        assert_one_short_per_stratum(out, bs, strata)
        counts = np.bincount(strata).tolist()
    if drop_last:
        assert flat.size == expected_kept(counts, bs)
        # drop_last only removes the short batches
        full = random_batches(n, bs, seed=seed, epoch=epoch, drop_last=False, strata=strata)
        assert {tuple(b) for b in as_lists(out)} == {
            tuple(b.tolist()) for b in full if b.size == bs
        }
    assert_deterministic_and_epoch_sensitive(
        lambda e: random_batches(n, bs, seed=seed, epoch=e, drop_last=drop_last, strata=strata)
    )


def test_random_batches_seed_and_epoch_do_not_collide():
    # (seed=0, epoch=1) must not equal (seed=1, epoch=0) (no seed + epoch)
    a = as_lists(random_batches(50, 7, seed=0, epoch=1))
    b = as_lists(random_batches(50, 7, seed=1, epoch=0))
    assert a != b
    assert as_lists(random_batches(50, 7, seed=3)) != as_lists(random_batches(50, 7, seed=4))


# --------------------------------------------------------------------------------------
# cluster_batches (B3)
# --------------------------------------------------------------------------------------
@SETTINGS
@given(
    data=b3_labels(),
    seed=seeds,
    epoch=epochs,
    drop_last=st.booleans(),
    fixed=st.booleans(),
)
def test_cluster_batches_properties(data, seed, epoch, drop_last, fixed):
    labels, K, r, cpb, strata = data
    bs = K * cpb
    kw = dict(fixed_composition=fixed, drop_last=drop_last, strata=strata, seed=seed)
    out = cluster_batches(labels, bs, epoch=epoch, **kw)
    flat = assert_well_formed(out, labels.size, drop_last, bs)
    assert_strata_pure(out, strata)
    sizes = np.bincount(labels)

    # every cluster (remainder included) lies whole in one batch
    where = {}
    for i, b in enumerate(out):
        for c in np.unique(labels[b]):
            assert c not in where, f"cluster {c} split across batches"
            where[c] = i
            assert np.count_nonzero(labels[b] == c) == sizes[c]
    for b in out:
        cl = np.unique(labels[b])
        assert cl.size <= cpb
        if b.size == bs:
            # a full batch is exactly batch_size / K whole clusters of size K
            assert cl.size == cpb
            assert (sizes[cl] == K).all()

    if strata is None and not fixed:
        assert_full_but_last(out, bs)
    assert_one_short_per_stratum(out, bs, strata)
    if r == 0 and strata is None:
        # no remainder: every batch but one (the last) holds cpb clusters
        n_clusters = labels.size // K
        if drop_last:
            assert len(out) == n_clusters // cpb
        else:
            assert len(out) == -(-n_clusters // cpb)
    if drop_last and strata is None:
        assert flat.size == (labels.size - r) // bs * bs
    assert_deterministic_and_epoch_sensitive(
        lambda e: cluster_batches(labels, bs, epoch=e, **kw),
        min_batches=5 if fixed else 1,
    )


@pytest.mark.parametrize("remainder", [0, 3])
def test_cluster_batches_exact_clusters_of_K(remainder):
    K, cpb, n_clusters = 4, 3, 30
    rng = np.random.default_rng(7)
    base = np.concatenate([np.repeat(np.arange(n_clusters), K), np.full(remainder, n_clusters)])
    labels = base[rng.permutation(base.size)]
    out = cluster_batches(labels, K * cpb, seed=5, epoch=2)
    assert_well_formed(out, labels.size, False, K * cpb)
    assert len(out) == n_clusters // cpb + (1 if remainder else 0)
    for b in out[: n_clusters // cpb]:
        counts = np.bincount(labels[b])
        counts = counts[counts > 0]
        assert counts.tolist() == [K] * cpb
    if remainder:
        last = out[-1]
        assert last.size == remainder
        assert set(labels[last].tolist()) == {n_clusters}
        dropped = cluster_batches(labels, K * cpb, seed=5, epoch=2, drop_last=True)
        assert as_lists(dropped) == as_lists(out[:-1])


@SETTINGS
@given(data=b3_labels(with_strata=False), seed=seeds)
def test_cluster_batches_fixed_composition_only_reorders(data, seed):
    labels, K, r, cpb, _ = data
    bs = K * cpb
    per_epoch = [
        cluster_batches(labels, bs, fixed_composition=True, seed=seed, epoch=e) for e in range(5)
    ]
    comp0 = compositions(per_epoch[0])
    for out in per_epoch[1:]:
        assert compositions(out) == comp0
        assert len(out) == len(per_epoch[0])
    if len(per_epoch[0]) >= 5:
        orders = [tuple(tuple(b) for b in as_lists(out)) for out in per_epoch]
        assert len(set(orders)) > 1, "fixed_composition never reorders the batches"


def test_cluster_batches_fixed_composition_with_strata_keeps_compositions():
    rng = np.random.default_rng(1)
    labels = rng.permutation(np.repeat(np.arange(24), 3))
    strata = (np.arange(24) % 2)[labels]
    outs = [
        cluster_batches(labels, 6, fixed_composition=True, strata=strata, seed=9, epoch=e)
        for e in range(4)
    ]
    assert all(compositions(o) == compositions(outs[0]) for o in outs)
    assert len({tuple(map(tuple, as_lists(o))) for o in outs}) > 1
    for o in outs:
        assert_strata_pure(o, strata)


def test_cluster_batches_fixed_composition_false_recomposes():
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.repeat(np.arange(20), 2))
    comps = [compositions(cluster_batches(labels, 4, seed=3, epoch=e)) for e in range(4)]
    # 20 clusters paired up: the same pairing twice is astronomically unlikely
    assert len({frozenset(c) for c in comps}) == 4
    # cluster-level composition also changes (not only which item sits where)
    cl = [{frozenset(labels[list(b)].tolist()) for b in c} for c in comps]
    assert cl[0] != cl[1]


def test_cluster_batches_noncontiguous_and_string_ids():
    labels = np.repeat([10, 30, 50, 70], 3)
    out = cluster_batches(labels, 6, seed=1)
    assert_well_formed(out, 12, False, 6)
    for b in out:
        assert np.unique(labels[b]).size == 2
    str_labels = np.repeat(np.array(["a", "b", "c", "d"]), 3)
    out = cluster_batches(str_labels, 6, seed=1)
    assert_well_formed(out, 12, False, 6)
    for b in out:
        assert np.unique(str_labels[b]).size == 2


def test_cluster_batches_rejects_two_remainders_in_one_stratum():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 4, 4])
    strata = np.array([0] * 9 + [1] * 3)
    with pytest.raises(ValueError, match="one size K"):
        cluster_batches(labels, 3, strata=strata, seed=0)


# --------------------------------------------------------------------------------------
# packed_batches
# --------------------------------------------------------------------------------------
@SETTINGS
@given(
    data=variable_labels(),
    bs=st.integers(1, 30),
    seed=seeds,
    epoch=epochs,
    drop_last=st.booleans(),
)
def test_packed_batches_bfd_properties(data, bs, seed, epoch, drop_last):
    labels, strata = data
    n = labels.size
    kw = dict(seed=seed, drop_last=drop_last, strata=strata)
    out = packed_batches(labels, bs, epoch=epoch, **kw)
    assert_well_formed(out, n, drop_last, bs)
    assert_strata_pure(out, strata)
    sizes = np.bincount(labels)
    for c in np.flatnonzero(sizes):
        homes = [b for b in out if np.any(labels[b] == c)]
        counts = sorted(int(np.count_nonzero(labels[b] == c)) for b in homes)
        if sizes[c] <= bs:
            # never split; with drop_last either whole or absent
            assert counts in ([], [int(sizes[c])])
            if not drop_last:
                assert counts == [int(sizes[c])]
        elif not drop_last:
            # full pieces of batch_size (each a whole batch) plus one remainder piece
            q, rem = divmod(int(sizes[c]), bs)
            assert counts == sorted([bs] * q + ([rem] if rem else []))
            assert sum(1 for b in homes if b.size == bs and np.all(labels[b] == c)) >= q
        else:
            assert all(k in (bs, sizes[c] % bs) for k in counts)
    if not drop_last:
        # best fit: no two batches (of one stratum) could have been merged into one
        groups = {}
        for b in out:
            key = 0 if strata is None else int(strata[b[0]])
            groups.setdefault(key, []).append(b.size)
        for s in groups.values():
            if len(s) >= 2:
                a, b = sorted(s)[:2]
                assert a + b > bs
    else:
        full = packed_batches(labels, bs, epoch=epoch, **{**kw, "drop_last": False})
        assert {tuple(b) for b in as_lists(out)} == {
            tuple(b.tolist()) for b in full if b.size == bs
        }
    assert_deterministic_and_epoch_sensitive(lambda e: packed_batches(labels, bs, epoch=e, **kw))


def test_packed_batches_bfd_splits_only_large_communities():
    # community sizes 3, 11, 5, 1, 7, 2 with batch_size 5
    sizes = [3, 11, 5, 1, 7, 2]
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(6), sizes))
    for epoch in range(5):
        out = packed_batches(labels, 5, seed=2, epoch=epoch)
        assert_well_formed(out, labels.size, False, 5)
        spread = {c: sum(1 for b in out if np.any(labels[b] == c)) for c in range(6)}
        assert spread[0] == spread[2] == spread[3] == spread[5] == 1
        assert spread[1] == 3  # 5 + 5 + 1
        assert spread[4] == 2  # 5 + 2
        # pieces: 5,5,5,5,3,2,2,1,1 -> BFD packs into 6 bins
        assert len(out) == 6


@SETTINGS
@given(
    data=variable_labels(),
    bs=st.integers(1, 30),
    seed=seeds,
    epoch=epochs,
    drop_last=st.booleans(),
)
def test_packed_batches_fill_properties(data, bs, seed, epoch, drop_last):
    labels, strata = data
    n = labels.size
    kw = dict(fill=True, seed=seed, drop_last=drop_last, strata=strata)
    out = packed_batches(labels, bs, epoch=epoch, **kw)
    flat = assert_well_formed(out, n, drop_last, bs)
    assert_strata_pure(out, strata)
    if strata is None:
        assert_full_but_last(out, bs)
        counts = [n]
    else:
        assert_one_short_per_stratum(out, bs, strata)
        counts = np.bincount(strata).tolist()
    if drop_last:
        assert flat.size == expected_kept(counts, bs)
    if strata is None and not drop_last:
        # communities are laid end to end: each one is a contiguous run of the order
        seq = labels[flat]
        runs = seq[np.r_[True, seq[1:] != seq[:-1]]]
        assert runs.size == np.unique(seq).size
    assert_deterministic_and_epoch_sensitive(lambda e: packed_batches(labels, bs, epoch=e, **kw))


# --------------------------------------------------------------------------------------
# topic_batches
# --------------------------------------------------------------------------------------
@SETTINGS
@given(
    data=variable_labels(),
    chunk=st.integers(1, 8),
    cpb=st.integers(1, 4),
    seed=seeds,
    epoch=epochs,
    drop_last=st.booleans(),
)
def test_topic_batches_properties(data, chunk, cpb, seed, epoch, drop_last):
    labels, strata = data
    n = labels.size
    bs = chunk * cpb
    kw = dict(clusters_per_batch=cpb, seed=seed, drop_last=drop_last, strata=strata)
    out = topic_batches(labels, bs, epoch=epoch, **kw)
    flat = assert_well_formed(out, n, drop_last, bs)
    assert_strata_pure(out, strata)
    if strata is None:
        assert_full_but_last(out, bs)
        counts = [n]
    else:
        assert_one_short_per_stratum(out, bs, strata)
        counts = np.bincount(strata).tolist()
    if drop_last:
        assert flat.size == expected_kept(counts, bs)
    assert_deterministic_and_epoch_sensitive(lambda e: topic_batches(labels, bs, epoch=e, **kw))


@SETTINGS
@given(
    mults=st.lists(st.integers(1, 5), min_size=1, max_size=10),
    chunk=st.integers(1, 5),
    cpb=st.integers(1, 4),
    seed=seeds,
    epoch=epochs,
    drop_last=st.booleans(),
)
def test_topic_batches_at_most_n_clusters(mults, chunk, cpb, seed, epoch, drop_last):
    # every cluster has a multiple of batch_size / n members
    sizes = np.array(mults) * chunk
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(sizes.size), sizes))
    bs = chunk * cpb
    out = topic_batches(
        labels, bs, clusters_per_batch=cpb, seed=seed, epoch=epoch, drop_last=drop_last
    )
    assert_well_formed(out, labels.size, drop_last, bs)
    assert_full_but_last(out, bs)
    for b in out:
        counts = np.bincount(labels[b])
        counts = counts[counts > 0]
        assert counts.size <= cpb
        # the batch is made of whole chunks of batch_size / n items
        assert (counts % chunk == 0).all()


def test_topic_batches_one_cluster_per_batch():
    labels = np.random.default_rng(3).permutation(np.repeat(np.arange(6), 8))
    for epoch in range(4):
        out = topic_batches(labels, 4, seed=11, epoch=epoch)
        assert len(out) == 12
        assert all(np.unique(labels[b]).size == 1 for b in out)


def test_topic_batches_docstring_example():
    labels = np.repeat(np.arange(3), 4)
    assert [np.unique(labels[b]).size for b in topic_batches(labels, 4, seed=1)] == [1, 1, 1]


# --------------------------------------------------------------------------------------
# mix_random
# --------------------------------------------------------------------------------------
def _batch_of(batches):
    return {int(i): k for k, b in enumerate(batches) for i in b}


def test_mix_random_items_big_example():
    rng = np.random.default_rng(0)
    batches = list(rng.permutation(1000).reshape(50, 20))
    for f in (0.1, 0.25, 0.5, 1.0):
        out = mix_random_items(batches, f, np.random.default_rng(1))
        assert [b.size for b in out] == [20] * 50
        assert sorted(np.concatenate(out).tolist()) == list(range(1000))
        before, after = _batch_of(batches), _batch_of(out)
        moved_per_batch = Counter(before[i] for i in before if after[i] != before[i])
        k = round(f * 20)
        assert all(m <= k for m in moved_per_batch.values())
        total = sum(moved_per_batch.values())
        assert total > 0
        # about f of the items leave their batch (a few land back in their own batch)
        assert 0.8 * k * 50 <= total <= k * 50
    # the input is not modified
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))


def test_mix_random_items_zero_and_empty():
    b = [np.arange(4), np.arange(4, 8)]
    assert as_lists(mix_random_items(b, 0.0, np.random.default_rng(0))) == as_lists(b)
    assert mix_random_items([], 0.5, np.random.default_rng(0)) == []
    with pytest.raises(ValueError, match="mix_random"):
        mix_random_items(b, 1.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="mix_random"):
        mix_random_items(b, -0.1, np.random.default_rng(0))


@SETTINGS
@given(
    sizes=st.lists(st.integers(1, 15), min_size=1, max_size=20),
    f=st.floats(0.0, 1.0),
    seed=seeds,
)
def test_mix_random_items_preserves_multiset(sizes, f, seed):
    rng = np.random.default_rng(seed)
    flat = rng.permutation(sum(sizes))
    batches = np.split(flat, np.cumsum(sizes)[:-1])
    out = mix_random_items(batches, f, np.random.default_rng(seed + 1))
    assert [b.size for b in out] == sizes
    assert sorted(np.concatenate(out).tolist()) == sorted(flat.tolist())
    before, after = _batch_of(batches), _batch_of(out)
    moved = Counter(before[i] for i in before if after[i] != before[i])
    for k, b in enumerate(batches):
        assert moved[k] <= round(f * b.size)


MIXERS = {
    "b3": lambda labels, mix, **kw: cluster_batches(labels, 8, mix_random=mix, **kw),
    "bfd": lambda labels, mix, **kw: packed_batches(labels, 8, mix_random=mix, **kw),
    "fill": lambda labels, mix, **kw: packed_batches(labels, 8, fill=True, mix_random=mix, **kw),
    "topic": lambda labels, mix, **kw: topic_batches(
        labels, 8, clusters_per_batch=2, mix_random=mix, **kw
    ),
}


@pytest.mark.parametrize("kind", sorted(MIXERS))
@pytest.mark.parametrize("f", [0.125, 0.25, 0.5])
def test_mix_random_in_batch_functions(kind, f):
    labels = np.random.default_rng(4).permutation(np.repeat(np.arange(100), 4))
    base = MIXERS[kind](labels, 0.0, seed=3, epoch=1)
    mixed = MIXERS[kind](labels, f, seed=3, epoch=1)
    assert [b.size for b in mixed] == [b.size for b in base]
    assert sorted(np.concatenate(mixed).tolist()) == list(range(400))
    before, after = _batch_of(base), _batch_of(mixed)
    moved = Counter(before[i] for i in before if after[i] != before[i])
    for k, b in enumerate(base):
        assert moved[k] <= round(f * b.size)
    assert sum(moved.values()) > 0.5 * f * 400
    # mixing is deterministic too
    again = MIXERS[kind](labels, f, seed=3, epoch=1)
    assert as_lists(again) == as_lists(mixed)


@SETTINGS
@given(data=variable_labels(), f=st.floats(0.0, 1.0), seed=seeds, drop_last=st.booleans())
def test_mix_random_keeps_items_once(data, f, seed, drop_last):
    labels, _ = data
    for fn in (
        lambda: packed_batches(labels, 6, mix_random=f, seed=seed, drop_last=drop_last),
        lambda: topic_batches(
            labels, 6, clusters_per_batch=3, mix_random=f, seed=seed, drop_last=drop_last
        ),
    ):
        out = fn()
        assert_well_formed(out, labels.size, drop_last, 6)


@pytest.mark.parametrize("kind", ["b3", "bfd", "topic"])
def test_mix_random_respects_strata(kind):
    labels = np.repeat(np.arange(10), 4)
    strata = np.repeat([0, 1], 20)
    fn = {
        "b3": lambda: cluster_batches(labels, 4, strata=strata, mix_random=0.5, seed=0),
        "bfd": lambda: packed_batches(labels, 4, strata=strata, mix_random=0.5, seed=0),
        "topic": lambda: topic_batches(labels, 4, strata=strata, mix_random=0.5, seed=0),
    }[kind]
    assert_strata_pure(fn(), strata)


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------
EXACT = np.repeat(np.arange(6), 4)  # K = 4

ERROR_CASES = [
    # batch_size
    (lambda: random_batches(10, 0), ValueError, "`batch_size` must be >= 1"),
    (lambda: random_batches(10, 2.0), TypeError, "`batch_size` must be an int"),
    (lambda: random_batches(10, True), TypeError, "`batch_size` must be an int"),
    (lambda: cluster_batches(EXACT, 0), ValueError, "`batch_size` must be >= 1"),
    (lambda: packed_batches(EXACT, -3), ValueError, "`batch_size` must be >= 1"),
    (lambda: topic_batches(EXACT, "4"), TypeError, "`batch_size` must be an int"),
    (lambda: random_batches(0, 2), ValueError, "`num_items` must be >= 1"),
    # clusters_per_batch
    (
        lambda: topic_batches(EXACT, 6, clusters_per_batch=4),
        ValueError,
        r"`clusters_per_batch` \(4\) must divide `batch_size` \(6\)",
    ),
    (
        lambda: topic_batches(EXACT, 6, clusters_per_batch=0),
        ValueError,
        "`clusters_per_batch` must be >= 1",
    ),
    # labels shape
    (lambda: cluster_batches(EXACT.reshape(4, 6), 4), ValueError, "`labels` must be 1-D"),
    (lambda: packed_batches(EXACT.reshape(4, 6), 4), ValueError, "`labels` must be 1-D"),
    (lambda: topic_batches(EXACT.reshape(4, 6), 4), ValueError, "`labels` must be 1-D"),
    (lambda: packed_batches([], 4), ValueError, "`labels` must not be empty"),
    (lambda: packed_batches([0, -1, 2], 4), ValueError, "non-negative"),
    (lambda: packed_batches([0.5, 1.0], 4), ValueError, "integer ids"),
    # B3 specific
    (lambda: cluster_batches([0, 0, 0, 1, 1, 2], 3), ValueError, "clusters of one size K"),
    (
        lambda: cluster_batches(np.repeat(np.arange(5), [4, 4, 4, 2, 3]), 4),
        ValueError,
        "clusters of one size K",
    ),
    (
        lambda: cluster_batches(EXACT, 6),
        ValueError,
        r"`batch_size` \(6\) must be a multiple of the cluster size K=4",
    ),
    (lambda: cluster_batches(EXACT, 2), ValueError, "multiple of the cluster size K=4"),
    (
        lambda: cluster_batches(EXACT, 4, fixed_composition=1),
        TypeError,
        "`fixed_composition` must be a bool",
    ),
    # mix_random
    (lambda: cluster_batches(EXACT, 4, mix_random=1.5), ValueError, "`mix_random` must be <= 1.0"),
    (lambda: packed_batches(EXACT, 4, mix_random=-0.1), ValueError, "`mix_random` must be >= 0.0"),
    (
        lambda: topic_batches(EXACT, 4, mix_random=float("nan")),
        TypeError,
        "`mix_random` must be a finite number",
    ),
    # seed / epoch / drop_last
    (lambda: random_batches(10, 2, seed=-1), ValueError, "`seed` must be >= 0"),
    (lambda: cluster_batches(EXACT, 4, seed=-5), ValueError, "`seed` must be >= 0"),
    (lambda: packed_batches(EXACT, 4, epoch=-1), ValueError, "`epoch` must be >= 0"),
    (lambda: topic_batches(EXACT, 4, seed=1.5), TypeError, "`seed` must be an int"),
    (lambda: random_batches(10, 2, drop_last=1), TypeError, "`drop_last` must be a bool"),
    (lambda: packed_batches(EXACT, 4, fill="yes"), TypeError, "`fill` must be a bool"),
    # strata of the wrong length / shape
    (lambda: random_batches(10, 2, strata=[0] * 9), ValueError, "`strata` must have length 10"),
    (
        lambda: cluster_batches(EXACT, 4, strata=[0] * 23),
        ValueError,
        "`strata` must have length 24",
    ),
    (lambda: packed_batches(EXACT, 4, strata=[0] * 25), ValueError, "`strata` must have length 24"),
    (
        lambda: topic_batches(EXACT, 4, strata=np.zeros((24, 2), int)),
        ValueError,
        "`strata` must be 1-D",
    ),
]


@pytest.mark.parametrize("call, exc, match", ERROR_CASES)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_every_pair_of_a_community_can_share_a_batch():
    # regression: an affine within-community permutation only ever paired some members
    labels = np.zeros(6, dtype=np.int64)
    together = np.zeros((6, 6), dtype=int)
    for seed in range(200):
        for fn in (packed_batches, topic_batches):
            for b in fn(labels, 2, seed=seed):
                together[b[0], b[1]] += 1
                together[b[1], b[0]] += 1
    off = together[np.triu_indices(6, 1)]
    assert off.min() > 0.5 * off.mean()  # every pair, about equally often
