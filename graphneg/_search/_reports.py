"""What the approximate searches took: :class:`SearchReport` and :func:`record_searches`.

The kernels that measure a recall (:mod:`._recall`) add a report to the enclosing
:func:`record_searches` blocks; the public searches return or log nothing more.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class SearchReport:
    """What an approximate search took to reach (or not) its recall target.

    Attributes
    ----------
    backend : str
        ``'ivf'``, ``'faiss-hnsw'`` or ``'pynndescent'`` (``'auto'`` resolved).
    recall : float or None
        Recall measured on ``sample`` seeded rows (ties counted, :func:`graphneg.knn_recall`);
        ``None`` when not measured (``recall_sample=0``).
    sample : int
        Rows the recall was measured on.
    min_recall : float
        The target.
    met : bool or None
        ``recall >= min_recall`` (``None`` when not measured).
    nlist, nprobe : int or None
        IVF only: lists, and the probes of the final scan.
    rounds : list of (nprobe, recall)
        IVF only: each scan's ``nprobe`` and the sampled recall after it (one round when the
        first ``nprobe`` sufficed or ``nprobe`` was fixed).
    what : str
        The search (``'knn_search'``, ``'mine_hard_negatives'``).

    See Also
    --------
    record_searches : collects them.
    graphneg.knn_search : ``min_recall`` and ``recall_sample`` set the target and the sample.
    IVF : ``adaptive`` raises ``nprobe`` round by round (``rounds``).

    Examples
    --------
    >>> SearchReport("ivf", 0.97, 1000, 0.95, True, 100, 8, [(8, 0.97)]).met
    True
    """

    backend: str
    recall: float | None
    sample: int
    min_recall: float
    met: bool | None
    nlist: int | None = None
    nprobe: int | None = None
    rounds: list[tuple[int, float]] = field(default_factory=list)
    what: str = "knn_search"


_REPORTS: ContextVar[list[SearchReport] | None] = ContextVar("graphneg_search_reports", default=None)


@contextlib.contextmanager
def record_searches() -> Iterator[list[SearchReport]]:
    """Collect a :class:`SearchReport` of every approximate search made in the block.

    Returns
    -------
    list of SearchReport
        Filled as the searches run (a context variable: only this thread's or task's searches).

    See Also
    --------
    SearchReport : what each report holds.
    graphneg.knn_search, graphneg.mine_hard_negatives : the searches that report.

    Examples
    --------
    >>> import numpy as np
    >>> import graphneg as gn
    >>> X = np.random.default_rng(0).normal(size=(400, 8)).astype(np.float32)
    >>> with record_searches() as reports:
    ...     _ = gn.knn_search(X, 5, backend=gn.IVF(nlist=8), recall_sample=100)
    >>> reports[0].backend, reports[0].met
    ('ivf', True)
    """
    reports: list[SearchReport] = []
    token = _REPORTS.set(reports)
    try:
        yield reports
    finally:
        _REPORTS.reset(token)


def record(report: SearchReport) -> None:
    """Add ``report`` to the enclosing :func:`record_searches` blocks' list, if any."""
    reports = _REPORTS.get()
    if reports is not None:
        reports.append(report)
