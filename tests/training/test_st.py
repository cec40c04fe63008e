"""sentence-transformers drop-in: the batch_sampler factory, accelerate sharding, refresh callback."""

from __future__ import annotations

import numpy as np
import pytest

import graphneg as gn

st = pytest.importorskip("sentence_transformers")
pytest.importorskip("accelerate")
from datasets import Dataset  # noqa: E402

try:  # sentence-transformers >= 6 moved the modules; keep older versions working
    from sentence_transformers.sentence_transformer import losses
except ImportError:  # pragma: no cover
    from sentence_transformers import losses

from graphneg.training.st import RefreshCallback, batch_sampler  # noqa: E402

from tiny_st import WORDS, load_tiny  # noqa: E402


def make_model(path):
    return load_tiny(path)


def make_dataset(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return Dataset.from_dict({
        "anchor": [" ".join(rng.choice(WORDS, 5)) for _ in range(n)],
        "positive": [" ".join(rng.choice(WORDS, 5)) for _ in range(n)],
    })


def test_two_training_steps_with_community_batches(tiny_model, tmp_path):
    labels = np.repeat(np.arange(8), 8)  # 8 clusters of K=8: b3 batches of 16 = 2 clusters
    factory = batch_sampler("community", labels=labels)
    model = make_model(tiny_model)
    args = st.SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=16, batch_sampler=factory,
        report_to=[], use_cpu=True, save_strategy="no", seed=3,
    )
    trainer = st.SentenceTransformerTrainer(model=model, args=args, train_dataset=make_dataset(),
                                            loss=losses.MultipleNegativesRankingLoss(model))
    result = trainer.train()
    assert result.global_step == 2 and np.isfinite(result.training_loss)
    sampler = factory.samplers[0]
    assert isinstance(sampler, gn.CommunityBatchSampler) and sampler.packing == "b3" and sampler.seed == 3
    # the trainer's dataloader serves exactly our batches: 2 whole clusters each
    loader = trainer.get_train_dataloader()
    served = list(loader.batch_sampler)
    assert len(served) == len(loader) == 4
    for b in served:
        assert len(b) == 16 and np.unique(labels[b]).size == 2


def test_eval_datasets_fall_back_to_random_batches():
    factory = batch_sampler("community", labels=np.repeat(np.arange(4), 8))
    s = factory(make_dataset(20), batch_size=8, drop_last=False, valid_label_columns=None, generator=None, seed=0)
    assert isinstance(s, gn.RandomBatchSampler) and len(s) == 3


def test_bfd_is_refused_and_auto_picks_full_batches():
    with pytest.raises(ValueError, match=r"packing='bfd' leaves short batches"):
        batch_sampler("community", labels=np.zeros(10), packing="bfd")
    labels = np.random.default_rng(0).integers(0, 7, size=100)  # variable-size communities
    s = batch_sampler("community", labels=labels)(make_dataset(100), 16, False, None, None, 0)
    assert s.packing == "fill"
    sizes = [len(b) for b in s]
    assert all(x == 16 for x in sizes[:-1])


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("even_batches", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
@pytest.mark.parametrize("kind", ["community-b3", "community-fill", "topic"])
def test_len_exact_under_accelerate_sharding(world, even_batches, drop_last, kind):
    from accelerate.data_loader import BatchSamplerShard

    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(13), 8) if kind == "community-b3" else rng.integers(0, 9, size=101)
    kw = {"clusters_per_batch": 2} if kind == "topic" else {}
    factory = batch_sampler("topic" if kind == "topic" else "community", labels=labels, **kw)
    seen = []
    for rank in range(world):
        sampler = factory(list(range(labels.size)), 16, drop_last, None, None, 0)
        shard = BatchSamplerShard(sampler, num_processes=world, process_index=rank, split_batches=False,
                                  even_batches=even_batches)
        out = list(shard)
        assert len(shard) == len(out)
        seen.append(out)
    if not even_batches:
        flat = [i for out in seen for b in out for i in b]
        assert len(flat) == len(set(flat))  # no repeats when accelerate does not pad


def test_refresh_callback_re_mines_each_epoch(tiny_model, tmp_path):
    ds = make_dataset(64)
    model = make_model(tiny_model)
    factory = batch_sampler("community", labels=np.repeat(np.arange(4), 16))
    args = st.SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=2, per_device_train_batch_size=16, batch_sampler=factory,
        report_to=[], use_cpu=True, save_strategy="no",
    )
    trainer = st.SentenceTransformerTrainer(model=model, args=args, train_dataset=ds,
                                            loss=losses.MultipleNegativesRankingLoss(model))
    calls = []

    class LateBoundReminer:
        """Binds to the training sampler, which the trainer builds inside train()."""

        def step(self, epoch):
            reminer = gn.Reminer(lambda: model.encode(ds["anchor"]), factory.samplers[0], k=5, cluster_size=8)
            calls.append(epoch)
            return reminer.step(epoch)

    trainer.add_callback(RefreshCallback(LateBoundReminer()))
    trainer.train()
    assert calls == [0, 1]
    sampler = factory.samplers[0]
    assert np.all(np.bincount(sampler.labels) == 8) and sampler.packing == "b3"


def test_strata_need_drop_last():
    factory = batch_sampler("community", labels=np.repeat(np.arange(10), 3), strata=np.repeat([0, 1], 15))
    with pytest.raises(ValueError, match="dataloader_drop_last=True"):
        factory(range(30), 6, False, None, None, 0)
    with pytest.warns(gn.GraphNegWarning, match=r"drops 6 of 30 items .*each stratum ends in its own short batch"):
        s = factory(range(30), 6, True, None, None, 0)
    assert all(len(b) == 6 for b in s)


def test_training_dataset_of_another_length_warns_eval_stays_silent(tiny_model, tmp_path):
    import warnings

    from graphneg.exceptions import GraphNegWarning

    factory = batch_sampler("community", labels=np.repeat(np.arange(6), 10))  # labels for 60 rows
    model = make_model(tiny_model)
    args = st.SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=16, batch_sampler=factory,
        report_to=[], use_cpu=True, save_strategy="no",
    )
    trainer = st.SentenceTransformerTrainer(model=model, args=args, train_dataset=make_dataset(64),
                                            eval_dataset=make_dataset(20),
                                            loss=losses.MultipleNegativesRankingLoss(model))
    with pytest.warns(GraphNegWarning, match=r"training dataset has 64 rows but the community batches describe 60"):
        trainer.get_train_dataloader()
    assert isinstance(factory.samplers[-1], gn.RandomBatchSampler)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphNegWarning)
        loader = trainer.get_eval_dataloader()
    assert isinstance(factory.samplers[-1], gn.RandomBatchSampler) and len(loader) == 3


def test_refresh_callback_calls_step():
    from types import SimpleNamespace

    calls = []

    class Reminer:
        def step(self, epoch):
            calls.append(("step", epoch))

    RefreshCallback(Reminer()).on_epoch_begin(None, SimpleNamespace(epoch=2.0), None)
    assert calls == [("step", 2)]

    class Old:  # a method of another name is not looked for
        def maybe_refresh(self, epoch):  # pragma: no cover - must not be called
            calls.append(("maybe_refresh", epoch))

    for r in (Old(), object()):
        with pytest.raises(TypeError, match="step"):
            RefreshCallback(r)
