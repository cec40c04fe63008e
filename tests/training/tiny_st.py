"""Helpers of the trainer tests (importable: tests/training is on sys.path, see conftest.py)."""

from __future__ import annotations

WORDS = [f"w{i}" for i in range(50)]


def load_tiny(path):
    """A SentenceTransformer over the tiny BERT at ``path`` (mean pooling)."""
    import sentence_transformers as st

    try:  # sentence-transformers >= 6 moved the modules
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # pragma: no cover
        from sentence_transformers import models
    return st.SentenceTransformer(modules=[models.Transformer(str(path)), models.Pooling(16)], device="cpu")
