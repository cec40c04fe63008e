from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quickstart_runs(capsys):
    spec = importlib.util.spec_from_file_location("quickstart", EXAMPLES / "quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stats = module.main(["--n-items", "800", "--epochs", "1", "--batch-size", "64"])
    assert stats["coverage"] == 1.0 and stats["duplicates"] == 0
    assert "epoch 0: loss" in capsys.readouterr().out
