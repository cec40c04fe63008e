from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

_DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data_dir() -> Path:
    """The read-only public data folder (../shared/data), or $GRAPHNEG_SHARED_DATA."""
    return Path(os.environ.get("GRAPHNEG_SHARED_DATA", _DEFAULT_SHARED))


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent")
    return path


@pytest.fixture
def clustered() -> tuple[np.ndarray, np.ndarray]:
    """300 points in 6 well separated Gaussian blobs (dim 8)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 8)) * 4
    labels = np.repeat(np.arange(6), 50)
    X = centres[labels] + rng.normal(size=(300, 8))
    return X.astype(np.float32), labels
