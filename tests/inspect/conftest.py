from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def blobs(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """240 points in 6 separated blobs (dim 8), saved as X.npy; labels alongside."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 40)
    X = (rng.normal(size=(6, 8)) * 4)[labels] + rng.normal(size=(240, 8))
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    return path, X.astype(np.float32), labels


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def pca_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 2-D map by PCA even where umap-learn is installed: UMAP's JIT warm-up takes ~10 s."""
    import graphneg.inspection._map as map_module

    monkeypatch.setattr(map_module, "umap_available", lambda: False)
