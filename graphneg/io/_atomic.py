"""Atomic file writing: readers never see a half-written file.

A write goes to a temporary file in the target's folder, named ``.{name}.XXXXXXXX.tmp``
(``tempfile.mkstemp``), which replaces the target only once it is complete and synced. The
temporary file gets the mode a plain ``open(path, "w")`` would give (the target's current
mode, else ``0o666`` minus the umask) without touching the process umask: toggling it per
write would race with other threads creating files. Temporary files left behind by a
killed process can be found and removed with :func:`stale_temp_files` and
:func:`clean_stale_temp_files`.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_TMP_SUFFIX = ".tmp"


def _umask_from_proc() -> int | None:
    """The umask from ``/proc/self/status`` (Linux >= 4.7), None where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _import_time_umask() -> int:
    # Read once, at import, before any writer thread exists; never toggled again.
    value = _umask_from_proc()
    if value is None:
        value = os.umask(0o022)
        os.umask(value)
    return value


_IMPORT_UMASK = _import_time_umask()


def _current_umask() -> int:
    """The process umask, read without changing it (import-time value as the fallback)."""
    value = _umask_from_proc()
    return _IMPORT_UMASK if value is None else value


def _new_file_mode(path: Path) -> int:
    """What ``open(path, "w")`` would leave: the existing file's mode, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_current_umask()


def _temp_pattern(path: Path) -> re.Pattern[str]:
    # mkstemp's random part has no dot, so ".a.csv.x.<rand>.tmp" (output "a.csv.x") never
    # matches the pattern of output "a.csv".
    return re.compile(re.escape(f".{path.name}.") + r"[^./]+" + re.escape(_TMP_SUFFIX))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **kwargs: object) -> Iterator[IO]:
    """Open a temporary file next to ``path``; rename it over ``path`` only on success.

    Parameters
    ----------
    path : str or path-like
        The target file; its folder is created if needed.
    mode : str, default="w"
        ``"w"`` (text) or ``"wb"`` (bytes), as for :func:`open`.
    **kwargs
        Passed to :func:`os.fdopen` (``encoding``, ``newline``, ...).

    Yields
    ------
    file object
        The open temporary file, ``.{name}.XXXXXXXX.tmp`` in the target's folder.

    Notes
    -----
    On any exception (``KeyboardInterrupt`` included) the temporary file is removed and
    ``path`` is left untouched. The finished file gets the target's current mode, or
    ``0o666`` minus the umask for a new file; the umask is read without changing it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(p) as fh:
    ...     _ = fh.write("hello")
    >>> p.read_text()
    'hello'
    >>> stale_temp_files(p)
    []
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would.
        os.chmod(tmp, _new_file_mode(path))
        with os.fdopen(fd, mode, **kwargs) as fh:  # type: ignore[call-overload]
            fd = -1  # owned by fh now: closed with it
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def stale_temp_files(path: str | os.PathLike[str], *, min_age: float = 0.0) -> list[Path]:
    """Temporary files of :func:`atomic_write` for ``path`` that are still lying around.

    Parameters
    ----------
    path : str or path-like
        The output whose temporary files to look for (``.{name}.XXXXXXXX.tmp`` next to it).
    min_age : float, default=0.0
        Only files last modified at least this many seconds ago (a write in progress
        touches its file; a crashed one's file ages).

    Returns
    -------
    list of pathlib.Path
        Sorted; empty when the folder does not exist.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".out.tsv.k2j4x9_a.tmp").write_text("partial")  # left by a killed run
    >>> _ = (d / ".out.tsv.x.k2j4x9_a.tmp").write_text("")  # belongs to "out.tsv.x"
    >>> [p.name for p in stale_temp_files(d / "out.tsv")]
    ['.out.tsv.k2j4x9_a.tmp']
    """
    path = Path(path)
    if isinstance(min_age, bool) or not isinstance(min_age, (int, float)) or not min_age >= 0:
        raise ValueError(f"`min_age` must be a number of seconds >= 0, got {min_age!r}.")
    pattern = _temp_pattern(path)
    try:
        entries = list(os.scandir(path.parent))
    except (FileNotFoundError, NotADirectoryError):
        return []
    cutoff = time.time() - min_age
    found = []
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                found.append(Path(entry.path))
    return sorted(found)


def clean_stale_temp_files(path: str | os.PathLike[str], *, min_age: float = 60.0) -> list[Path]:
    """Remove the temporary files a killed :func:`atomic_write` of ``path`` left behind.

    Parameters
    ----------
    path : str or path-like
        The output about to be written.
    min_age : float, default=60.0
        Only remove files untouched for this many seconds, so that a write of the same
        output running right now in another process keeps its file; 0 removes all.

    Returns
    -------
    list of pathlib.Path
        The files removed (a file already gone or not removable is skipped).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".out.tsv.k2j4x9_a.tmp").write_text("partial")
    >>> [p.name for p in clean_stale_temp_files(d / "out.tsv", min_age=0)]
    ['.out.tsv.k2j4x9_a.tmp']
    >>> stale_temp_files(d / "out.tsv")
    []
    """
    removed = []
    for tmp in stale_temp_files(path, min_age=min_age):
        try:
            tmp.unlink()
        except OSError:
            continue
        removed.append(tmp)
    return removed
