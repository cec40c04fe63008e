"""The options every sampler shares: one set of defaults, one documentation, one re-planning path,
explicit signatures with one base class below ``torch.utils.data.Sampler``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from graphneg.training import (  # noqa: E402
    CommunityBatchSampler,
    RandomBatchSampler,
    RandomWalkBatchSampler,
    TopicBatchSampler,
)

SAMPLERS = [RandomBatchSampler, CommunityBatchSampler, TopicBatchSampler, RandomWalkBatchSampler]
SHARED = ("drop_last", "seed", "num_replicas", "rank", "shard")


def make(cls, **options):
    if cls is RandomBatchSampler:
        return cls(8, 4, **options)
    if cls is RandomWalkBatchSampler:
        return cls(sp.csr_array(np.eye(8, k=1)), 4, **options)
    return cls(np.repeat(np.arange(4), 2), 4, **options)


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda c: c.__name__)
def test_every_sampler_documents_the_shared_options(cls):
    import graphneg.training

    assert "\n    drop_last, seed, num_replicas, rank, shard\n" in cls.__doc__
    for name in SHARED:
        assert f"\n{name} : " in graphneg.training.__doc__


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda c: c.__name__)
def test_every_sampler_has_an_explicit_signature_and_one_base(cls):
    params = inspect.signature(cls).parameters
    assert all(p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params.values())
    assert set(SHARED) <= set(params)
    assert [p.default for n, p in params.items() if n in SHARED] == [False, 0, None, None, "batches"]
    assert cls.__mro__[1].__bases__ == (torch.utils.data.Sampler,)  # one base in between
    assert "{sampler_parameters}" not in cls.__doc__ and "{conflicts_parameter}" not in cls.__doc__


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda c: c.__name__)
def test_every_sampler_has_the_same_defaults(cls):
    s = make(cls)
    assert (s.drop_last, s.seed, s.num_replicas, s.rank, s.shard, s.strata) == (False, 0, 1, 0, "batches", None)


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda c: c.__name__)
def test_every_sampler_validates_the_shared_options(cls):
    with pytest.raises(ValueError, match="`rank` must be in"):
        make(cls, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="`shard`"):
        make(cls, shard="rows")


def test_walk_sampler_refuses_strata_and_unknown_options():
    with pytest.raises(TypeError, match="strata"):
        make(RandomWalkBatchSampler, strata=np.zeros(8, dtype=int))
    with pytest.raises(TypeError, match="num_replica"):
        make(RandomBatchSampler, num_replica=2)


def test_failed_refresh_restores_every_attribute():
    s = CommunityBatchSampler(np.repeat(np.arange(4), 4), 8, packing="b3")
    before, batches = dict(s.__dict__), list(s)
    with pytest.raises(ValueError):
        s.refresh(np.zeros(5, dtype=int))  # wrong length
    with pytest.raises(ValueError):
        s.refresh([0] * 5 + [1] * 5 + [2] * 6)  # b3 needs clusters of one size
    assert s.__dict__.keys() == before.keys() and s.labels is before["labels"] and s._groups is before["_groups"]
    assert list(s) == batches and len(s) == 2


@pytest.mark.parametrize("keyword", ["n_items", "num_items", "dataset"])
def test_random_sampler_wrong_keyword_names_data(keyword):
    # issue 23: RandomBatchSampler(n_items=..., batch_size=...) raised an unrelated TypeError
    # ("__init__() missing 1 required positional argument: 'data'")
    from graphneg.training import RandomBatchSampler

    with pytest.raises(TypeError, match=rf"RandomBatchSampler\(\) got an unexpected keyword argument '{keyword}'; "
                                        r"the number of items \(or a dataset\) is `data`"):
        RandomBatchSampler(**{keyword: 10}, batch_size=2)
    assert len(RandomBatchSampler(data=10, batch_size=2)) == 5  # the right keyword works


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda S: S.RandomBatchSampler(10, batchsize=2), r"'batchsize'; did you mean 'batch_size'\? Accepted: data, "),
        (lambda S: S.CommunityBatchSampler([0, 0, 1, 1], 2, sed=1), r"'sed'; did you mean 'seed'\?"),
        (lambda S: S.TopicBatchSampler([0, 0, 1, 1], 2, clusters=1), r"TopicBatchSampler\(\) .* 'clusters'"),
        (lambda S: S.RandomWalkBatchSampler(np.eye(4), 2, restart_p=0.2), r"'restart_p'; did you mean 'restart'\?"),
    ],
)
def test_every_sampler_names_a_wrong_keyword(make, match):
    import graphneg.training as S

    with pytest.raises(TypeError, match=match):
        make(S)
