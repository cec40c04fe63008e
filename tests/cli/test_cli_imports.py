"""What a CLI process loads: `graphneg batches` must not pay for plotting libraries it never uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("igraph")


def test_batches_does_not_import_pyplot(tmp_path):
    code = (
        "import sys\n"
        "from graphneg.cli._main import main\n"
        f"assert main(['batches', '-o', {str(tmp_path / 'b.jsonl')!r}, '--quiet']) == 0\n"
        "assert 'igraph' in sys.modules\n"
        "print('pyplot' if 'matplotlib.pyplot' in sys.modules else 'clean')\n"
        "import matplotlib\n"  # still importable afterwards
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "clean"
    assert (tmp_path / "b.jsonl").stat().st_size > 0


def test_helper_leaves_an_already_imported_matplotlib_alone():
    code = (
        "import sys, matplotlib\n"
        "from graphneg.cli._common import import_igraph_without_pyplot\n"
        "import_igraph_without_pyplot()\n"
        "assert sys.modules['matplotlib'] is matplotlib\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
