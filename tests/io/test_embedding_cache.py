"""The embedding cache: keyed by model, prompt, batch size and texts; chunks resume a run."""

from __future__ import annotations

import numpy as np
import pytest

from graphneg.io._embedding_cache import chunk_key, encode_cached, model_fingerprint, resolve_prompt


class Model:
    def __init__(self, fail_after=None):
        self.calls, self.fail_after = 0, fail_after

    def encode(self, texts, prompt=None, **kw):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt
        self.calls += 1
        return np.array([[len(t), len(prompt or "")] for t in texts], np.float32)


def test_cache_hit_and_key(tmp_path):
    texts = [f"text {i}" for i in range(10)]
    X, counts = encode_cached(Model(), texts, model_key="m", cache_dir=tmp_path, chunk_size=4)
    assert counts == {"encoded": 10, "cached": 0} and X.shape == (10, 2)
    model = Model()
    Y, counts = encode_cached(model, texts, model_key="m", cache_dir=tmp_path, chunk_size=4)
    assert counts == {"encoded": 0, "cached": 10} and model.calls == 0 and (X == Y).all()
    _, counts = encode_cached(Model(), texts, model_key="m", prompt="query: ", cache_dir=tmp_path, chunk_size=4)
    assert counts["encoded"] == 10  # a prompt is another key
    assert chunk_key("m", "", 32, ["a"]) != chunk_key("m2", "", 32, ["a"]) != chunk_key("m", "", 16, ["a"])


def test_interrupted_encoding_resumes_from_finished_chunks(tmp_path):
    texts = [f"t{i}" for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        encode_cached(Model(fail_after=2), texts, model_key="m", cache_dir=tmp_path, chunk_size=3)
    model = Model()
    X, counts = encode_cached(model, texts, model_key="m", cache_dir=tmp_path, chunk_size=3)
    assert counts == {"encoded": 4, "cached": 6} and model.calls == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_fingerprint_and_prompts():
    torch = pytest.importorskip("torch")
    a = torch.nn.Linear(3, 2)
    fp = model_fingerprint(a)
    with torch.no_grad():
        a.weight[0, 0] += 1
    assert model_fingerprint(a) != fp

    class M:
        prompts, default_prompt_name = {"passage": "passage: ", "x": "X "}, "x"

    assert resolve_prompt(M(), None, "document") == "passage: "
    assert resolve_prompt(M(), None, "query") == "X "
    assert resolve_prompt(M(), "", "query") == ""
