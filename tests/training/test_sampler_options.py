"""The options every sampler shares: one set of defaults, one documentation, one re-planning path."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg.training._plans import SAMPLER_PARAMETERS, CommunityPlan, SamplerOptions, sampler_parameters

torch = pytest.importorskip("torch")

from graphneg.training import (  # noqa: E402
    CommunityBatchSampler,
    RandomBatchSampler,
    RandomWalkBatchSampler,
    TopicBatchSampler,
)

SAMPLERS = [RandomBatchSampler, CommunityBatchSampler, TopicBatchSampler, RandomWalkBatchSampler]


def make(cls, **options):
    if cls is RandomBatchSampler:
        return cls(8, 4, **options)
    if cls is RandomWalkBatchSampler:
        return cls(sp.csr_array(np.eye(8, k=1)), 4, **options)
    return cls(np.repeat(np.arange(4), 2), 4, **options)


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda c: c.__name__)
def test_every_sampler_documents_the_shared_options(cls):
    assert "{sampler_parameters}" not in cls.__doc__
    assert SAMPLER_PARAMETERS in cls.__doc__
    for name in SamplerOptions.__annotations__:
        assert f"\n    {name} : " in cls.__doc__


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
    s = CommunityPlan(np.repeat(np.arange(4), 4), 8, packing="b3")
    before, batches = dict(s.__dict__), list(s)
    with pytest.raises(ValueError):
        s.refresh(np.zeros(5, dtype=int))  # wrong length
    with pytest.raises(ValueError):
        s.refresh([0] * 5 + [1] * 5 + [2] * 6)  # b3 needs clusters of one size
    assert s.__dict__.keys() == before.keys() and s.labels is before["labels"] and s._groups is before["_groups"]
    assert list(s) == batches and len(s) == 2


def test_decorator_refuses_a_docstring_without_the_placeholder():
    class Documented:
        """No parameters here."""

    with pytest.raises(AssertionError, match="sampler_parameters"):
        sampler_parameters(Documented)


@pytest.mark.parametrize("keyword", ["n_items", "num_items", "dataset"])
def test_random_sampler_wrong_keyword_names_data(keyword):
    # issue 23: RandomBatchSampler(n_items=..., batch_size=...) raised an unrelated TypeError
    # ("RandomPlan.__init__() missing 1 required positional argument: 'data'")
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
