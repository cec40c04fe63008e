"""examples/quickstart.py: the recipe (graphneg.training.st.fit) end to end on a tiny corpus and model."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

import graphneg as gn

pytest.importorskip("sentence_transformers")
pytest.importorskip("accelerate")

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_training = _load("examples_tests_training_conftest", HERE / "training" / "conftest.py")
tiny_model = _training.tiny_model  # the trainer tests' tiny BERT (built locally, nothing downloaded)
tiny_st = _load("examples_tests_tiny_st", HERE / "training" / "tiny_st.py")


@pytest.fixture(scope="module")
def word_corpus(tmp_path_factory) -> Path:
    """A canonical retrieval corpus in the tiny model's vocabulary: 60 training queries, 120 documents."""
    rng = np.random.default_rng(0)
    docs = list(dict.fromkeys(" ".join(rng.choice(tiny_st.WORDS, 5)) for _ in range(400)))[:120]
    queries = [" ".join(d.split()[:3]) for d in docs[:60]]
    rc = gn.RetrievalCorpus(corpus_ids=[f"d{i}" for i in range(120)], corpus_texts=docs,
                            query_ids=[f"q{i}" for i in range(60)], query_texts=queries,
                            qrels={"train": {f"q{i}": {f"d{i}": 1} for i in range(60)}})
    return gn.save_retrieval_corpus(rc, tmp_path_factory.mktemp("words"))


def test_quickstart_trains_with_the_recipe_or_keeps_the_start(tiny_model, word_corpus, tmp_path, capsys):
    quickstart = _load("examples_quickstart", EXAMPLES / "quickstart.py")
    model = tiny_st.load_tiny(tiny_model)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.GraphNegWarning)  # the tiny model may or may not improve
        result = quickstart.main(["--data", str(word_corpus), "--pairs", "50", "--docs", "80",
                                  "--output-dir", str(tmp_path)], model=model)
    r = result.report
    assert r["train_pairs"] + r["dev_queries"] == 50 and r["dev_queries"] == 10  # a 20 % dev slice
    assert r["mining"]["negatives_found"] > 0 and result.model is model
    changed = any(not np.array_equal(v.numpy(), start[k].numpy()) for k, v in model.state_dict().items())
    assert changed == result.trained  # trained weights, or exactly the starting model back
    if result.trained:
        assert r["chosen"]["score"] > r["start"]
    out = capsys.readouterr().out
    assert "40 training pairs, 10 dev queries" in out and r["reason"] in out
