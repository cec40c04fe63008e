"""An opt-in cache of graph files: the same input and parameters find the saved graph.

The cache is a folder of graph files (:mod:`._graph_files`) named by a hash of (input hash,
parameters). Each entry has a lock file (``.graph-KEY.lock``, ``fcntl.flock``) held while it
is read, built and written, so concurrent processes build a key once and never mix two
writers' files; an entry that does not load is moved aside (``NAME.corrupt-TIMESTAMP``) with
a :class:`~graphneg.GraphNegWarning` and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np  # noqa: F401 - the examples use it
import scipy.sparse as sp  # noqa: F401 - the examples use it

from ..exceptions import GraphNegWarning
from ._atomic import clean_stale_temp_files
from ._graph_files import SavedGraph, load_graph, plain_params, save_graph, sidecar_path
from ._graph_format import FORMAT_VERSION

try:  # POSIX; elsewhere the cache locks with msvcrt
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


def _cache_folder(cache_dir: str | os.PathLike[str]) -> Path:
    folder = Path(cache_dir)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"cache_dir {folder} exists and is not a folder; give a folder for the graph cache")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(f"cache_dir {folder} cannot be created: a part of its path is a file") from None
    return folder


@contextlib.contextmanager
def _entry_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive lock on ``lock_path`` across processes (``flock``), released on exit.

    The lock file stays: removing it would let a process lock a file another one just unlinked.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:  # pragma: no cover - Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _move_aside(files: list[Path]) -> list[Path]:
    """Rename each existing file to ``NAME.corrupt-TIMESTAMP`` (a counter added when taken)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    moved = []
    for f in files:
        if not f.exists():
            continue
        target, i = f.with_name(f"{f.name}.corrupt-{stamp}"), 1
        while target.exists():
            target, i = f.with_name(f"{f.name}.corrupt-{stamp}-{i}"), i + 1
        os.replace(f, target)
        moved.append(target)
    return moved


def cached_graph(
    cache_dir: str | os.PathLike[str],
    input_hash: str,
    params: Mapping[str, Any],
    build: Callable[[], tuple[Any, Any]],
) -> tuple[SavedGraph, bool]:
    """The graph for (input, params) from ``cache_dir``, built by ``build()`` and saved on a miss.

    Each entry is read, built and written under its own lock file, so concurrent processes
    asking for the same entry build it once and all get that graph. An entry that does not
    load (truncated, altered, a sidecar from another save) is moved aside as
    ``NAME.corrupt-TIMESTAMP`` with a :class:`~graphneg.GraphNegWarning`, then rebuilt.

    Parameters
    ----------
    cache_dir : str or path-like
        The cache folder (created when missing; a file there is an error).
    input_hash : str
        :func:`content_hash` of the input.
    params : mapping
        Build parameters (see :func:`plain_params`); any change is a different entry.
    build : callable returning (graph, labels)
        Called on a miss.

    Returns
    -------
    (SavedGraph, bool)
        The graph and whether it came from the cache.

    Raises
    ------
    NotADirectoryError
        When ``cache_dir`` is a file (or sits below one).

    See Also
    --------
    save_graph, load_graph : the format of each entry.
    content_hash : the key of the input.
    graphneg.knn_graph, graphneg.communities : what ``build`` usually runs.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> make = lambda: (sp.csr_array(np.eye(2, k=1)), np.array([0, 1]))
    >>> cached_graph(folder, "abc", {"k": 1}, make)[1], cached_graph(folder, "abc", {"k": np.int64(1)}, make)[1]
    (False, True)
    """
    if not isinstance(input_hash, str):
        raise TypeError(f"`input_hash` must be a str, got {type(input_hash).__name__}.")
    clean = plain_params(params)  # fails before anything is created
    folder = _cache_folder(cache_dir)
    key = hashlib.sha256(json.dumps([FORMAT_VERSION, input_hash, clean], sort_keys=True).encode()).hexdigest()
    path = folder / f"graph-{key[:24]}.npz"
    side = sidecar_path(path)
    with _entry_lock(folder / f".graph-{key[:24]}.lock"):
        for target in (path, side):  # we hold the entry's lock: no writer of it is running
            clean_stale_temp_files(target, min_age=0)
        if path.exists() or side.exists():
            try:
                saved = load_graph(path)
                if saved.input_hash != input_hash or saved.params != clean:
                    raise ValueError(f"{path} was saved for another input or parameters")
                logger.info("graph cache hit: %s", path)
                return saved, True
            except (ValueError, FileNotFoundError) as err:
                moved = _move_aside([path, side])
                warnings.warn(f"graph cache entry {path.name} in {folder} does not load ({err}); moved aside "
                              f"({', '.join(m.name for m in moved)}) and rebuilt", GraphNegWarning, stacklevel=2)
        graph, labels = build()
        save_graph(path, graph, labels=labels, params=clean, input_hash=input_hash)
        logger.info("graph cache: saved %s", path)
        return load_graph(path), False
