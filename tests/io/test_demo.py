from __future__ import annotations

import numpy as np

from graphneg import knn_graph, load_demo


def test_demo_is_deterministic_and_structured():
    a, b = load_demo(800, seed=0), load_demo(800, seed=0)
    assert np.array_equal(a.embeddings, b.embeddings) and (a.citations != b.citations).nnz == 0
    assert not np.array_equal(a.embeddings, load_demo(800, seed=1).embeddings)
    assert a.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a.embeddings, axis=1), 1, rtol=1e-5)
    C = a.citations.tocoo()
    assert np.all(C.col < C.row)  # items cite earlier items only
    homophily = (a.labels[C.row] == a.labels[C.col]).mean()
    assert 0.6 < homophily < 0.85
    G = knn_graph(a.embeddings, 10).tocoo()
    precision = (a.labels[G.row] == a.labels[G.col]).mean()
    assert 0.4 < precision < 0.9  # neighbours share topics often, not always


def test_num_names_are_the_one_spelling():
    import pytest

    new = load_demo(num_items=120, num_fields=3, seed=2)
    assert new.num_items == 120 and int(new.labels.max()) < 3 * 8
    assert not hasattr(new, "n_items")
    for old in ({"n_items": 120}, {"n_fields": 3}):
        with pytest.raises(TypeError, match=next(iter(old))):
            load_demo(**old)
