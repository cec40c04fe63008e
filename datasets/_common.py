"""Helpers shared by the ``datasets/convert_*.py`` scripts (not part of the package).

Importing this module also makes ``graphneg`` importable from a plain checkout: when the
package is not installed, the repository root is put on ``sys.path``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA_ENV = "GRAPHNEG_SHARED_DATA"

# Run from a checkout without `pip install -e .`: fall back to the source tree.
if importlib.util.find_spec("graphneg") is None:  # pragma: no cover - depends on the install
    sys.path.insert(0, str(REPO_ROOT))


class InputError(Exception):
    """A missing or malformed input; reported as one line, without a traceback."""


def shared_data_dir() -> Path:
    """Return the shared data folder: ``$GRAPHNEG_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env)
    return REPO_ROOT / ".." / "shared" / "data"


def default_raw(subfolder: str) -> Path | None:
    """Return ``shared_data_dir() / subfolder`` if it is a folder, else None."""
    folder = shared_data_dir() / subfolder
    return folder if folder.is_dir() else None


def make_parser(description: str, subfolder: str) -> argparse.ArgumentParser:
    """An argument parser with the common ``--raw`` and ``--out`` options."""
    parser = argparse.ArgumentParser(description=description)
    default = default_raw(subfolder)
    parser.add_argument(
        "--raw",
        type=Path,
        default=default,
        help=(
            "folder with the published raw files (default: the shared data folder's "
            f"'{subfolder}/' subfolder, ${SHARED_DATA_ENV} or <repo>/../shared/data; "
            f"now: {default if default is not None else 'not found'})"
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    return parser


def resolve_raw(raw: Path | None, subfolder: str, required: Iterable[str]) -> Path:
    """Check that the raw folder exists and holds ``required`` files; return it."""
    if raw is None:
        raise InputError(
            f"no --raw folder given and the shared data folder "
            f"{shared_data_dir() / subfolder} does not exist"
        )
    if not raw.is_dir():
        raise InputError(f"raw folder {raw} does not exist")
    missing = [name for name in required if not (raw / name).is_file()]
    if missing:
        raise InputError(f"missing input file(s) in {raw}: {', '.join(missing)}")
    return raw


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``main``; turn an :class:`InputError` into a one-line message and exit code 1."""
    try:
        return main(argv)
    except InputError as err:
        prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "convert"
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1


def edge_homophily(
    edges: sp.sparray | sp.spmatrix, labels: np.ndarray, *, undirected: bool
) -> float:
    """Share of edges whose two ends have the same label; edges touching label -1 are ignored.

    With ``undirected=True`` the arcs are symmetrised first and each node pair counts once.
    """
    adj = sp.csr_array(edges)
    if undirected:
        adj = sp.triu(adj + adj.T, k=1).tocoo()
    else:
        adj = adj.tocoo()
    y = np.asarray(labels)
    src, dst = adj.row, adj.col
    known = (y[src] >= 0) & (y[dst] >= 0)
    if not known.any():
        return float("nan")
    return float(np.mean(y[src[known]] == y[dst[known]]))


def print_summary(title: str, rows: Sequence[tuple[str, object]]) -> None:
    """Print ``title`` and aligned ``name: value`` rows (integers with thousands separators)."""
    width = max(len(name) for name, _ in rows)
    print(title)
    for name, value in rows:
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        print(f"  {name:<{width}}  {shown}")
