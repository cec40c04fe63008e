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


def convert_shared(script: str, subfolder: str, out: Path, *args: str) -> Path:
    """Run a datasets/ converter on a shared-data subfolder (skip when absent) into ``out``."""
    import subprocess
    import sys

    raw = shared_data_dir() / subfolder
    if not raw.is_dir():
        pytest.skip(f"shared data folder {raw} is absent")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, str(root / "datasets" / script), "--raw", str(raw), "--out", str(out), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def cora(tmp_path_factory):
    """Real Cora (Planetoid files) in the canonical format."""
    from graphneg import load_graph_corpus

    out = convert_shared("convert_planetoid.py", "planetoid", tmp_path_factory.mktemp("cora"), "--name", "cora")
    return load_graph_corpus(out)


@pytest.fixture(scope="session")
def scifact(tmp_path_factory):
    """Real BEIR SciFact with the shipped MiniLM embeddings, in the canonical format."""
    from graphneg import load_retrieval_corpus

    out = convert_shared("convert_scifact.py", "scifact", tmp_path_factory.mktemp("scifact"))
    return load_retrieval_corpus(out)


@pytest.fixture(scope="session")
def citeseer_text(tmp_path_factory):
    """Real CiteSeer with text, citations and MiniLM embeddings, in the canonical format."""
    from graphneg import load_graph_corpus

    out = convert_shared("convert_citeseer_text.py", "citeseer_text", tmp_path_factory.mktemp("citeseer_text"))
    return load_graph_corpus(out)
