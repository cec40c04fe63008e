"""Shared pieces of the subcommands: input loading, output checks, temp-file hygiene, logging.

Every check here runs before any real work, so that a bad ``-o`` or input fails in a second
with one line naming the option, not after minutes with a message about a hidden temp file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

try:  # POSIX: runs writing into one folder coordinate through a lock on the folder
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class CliError(ValueError):
    """A user error: printed as one line ``graphneg: error: ...`` with exit status 2."""


def import_igraph_without_pyplot() -> None:
    """Import python-igraph without its matplotlib drawing backend, for commands that draw nothing.

    python-igraph 1.0 imports ``matplotlib.pyplot`` when it is imported (for ``igraph.plot``),
    ~0.3 s here, most of ``graphneg batches`` on small inputs. The CLI never draws through
    igraph (``graphneg inspect`` plots with matplotlib directly), so within a CLI process its
    drawing backend is left unloaded. Library users are not affected: only the CLI calls this.
    """
    if "igraph" in sys.modules or "matplotlib" in sys.modules:
        return
    sys.modules["matplotlib"] = None  # type: ignore[assignment]  # `import matplotlib` raises
    try:
        import igraph  # noqa: F401
    except ImportError:  # not installed: the command that needs it says so itself
        pass
    finally:
        del sys.modules["matplotlib"]


def log(msg: str, quiet: bool) -> None:
    """Progress line on stderr (stdout holds the result).

    >>> log("hidden", quiet=True)
    """
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def relay_warnings(quiet: bool) -> Iterator[None]:
    """Print each GraphNegWarning raised inside as one ``graphneg: warning: ...`` line on stderr.

    Shown also with ``quiet`` (which silences progress, not lost data).

    >>> import warnings
    >>> from graphneg.exceptions import GraphNegWarning
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err), relay_warnings(quiet=True):
    ...     warnings.warn("3 items skipped", GraphNegWarning)
    >>> print(err.getvalue().strip())
    graphneg: warning: 3 items skipped
    """
    from ..exceptions import GraphNegWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GraphNegWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, GraphNegWarning):
                    log(f"graphneg: warning: {' '.join(str(w.message).split())}", quiet=False)


def load_npy(path: Path, option: str) -> np.ndarray:
    """Load a numeric ``.npy`` file given as ``option``; errors name both."""
    if not path.exists():
        raise CliError(f"{option} {path} does not exist")
    if path.is_dir():
        raise CliError(f"{option} {path} is a directory, expected a .npy file")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise CliError(f"{option} {path} is not a numeric .npy array ({err})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise CliError(f"{option} {path} is not a numeric .npy array")
    return arr


def load_embeddings(path: Path, option: str = "--embeddings") -> np.ndarray:
    """Load a 2-D ``(n_items, dim)`` array with at least one row."""
    X = load_npy(path, option)
    if X.ndim != 2:
        raise CliError(f"{option} {path} must be a 2-D array (n_items, dim), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise CliError(f"{option} {path} is empty (shape {X.shape})")
    return X


def load_labels(path: Path, n: int | None) -> np.ndarray:
    """Labels from ``.npy`` or a text file (one a line), checked against ``n`` rows."""
    if path.suffix == ".npy":
        labels = load_npy(path, "--labels")
    else:
        labels = np.array([line.strip() for line in read_text(path, "--labels").splitlines() if line.strip()])
    if labels.ndim != 1:
        raise CliError(f"--labels {path} must be 1-D (one label per row), got shape {labels.shape}")
    if n is not None and labels.shape[0] != n:
        raise CliError(f"--labels {path} has {labels.shape[0]} entries, expected {n} (one per row)")
    return labels


def read_text(path: Path, option: str) -> str:
    """The UTF-8 text of ``path``; a missing or binary file is a one-line error."""
    if not path.is_file():
        raise CliError(f"{option} {path} {'is a directory' if path.is_dir() else 'does not exist'}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{option} {path} is not a UTF-8 text file") from None


def check_output(path: Path, option: str, inputs: Iterable[Path | None] = ()) -> Path:
    """Refuse an output that cannot be written, or that would overwrite an input, up front.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_output(folder, "-o")
    Traceback (most recent call last):
    ...
    graphneg.cli._common.CliError: -o ... is a directory; give a file name
    """
    target = path.resolve()
    for src in inputs:
        if src is not None and src.exists() and src.resolve() == target:
            raise CliError(f"{option} {path} is also an input; write the output elsewhere")
    if target.is_dir():
        raise CliError(f"{option} {path} is a directory; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise CliError(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"{option} {path}: directory {parent} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise CliError(f"{option} {path} exists and is not writable")
    return path


@contextlib.contextmanager
def claim_outputs(paths: Iterable[Path]) -> Iterator[None]:
    """Hold the output folders for the run, removing temp files that killed runs left there.

    Every graphneg command holds a shared lock on the folder of each of its outputs while it
    runs. Stale temp files of an output are removed only by a command that gets the lock
    exclusively, i.e. when no other graphneg command writes into that folder, so a live
    run's temp file is never taken for a dead one's. A killed process loses its locks.
    """
    from ..io._atomic import clean_stale_temp_files

    with contextlib.ExitStack() as stack:
        by_folder: dict[Path, list[Path]] = {}
        for p in paths:
            by_folder.setdefault(p.resolve().parent, []).append(p.resolve())
        for folder, outs in sorted(by_folder.items()):
            if fcntl is None:  # pragma: no cover - no folder locks: only files untouched for a minute
                for out in outs:
                    clean_stale_temp_files(out)
                continue
            fd = os.open(folder, os.O_RDONLY)
            stack.callback(os.close, fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                alone = True
            except OSError:
                alone = False
            if alone:  # no other graphneg command writes here: every temp file is a dead run's
                for out in outs:
                    clean_stale_temp_files(out, min_age=0)
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
