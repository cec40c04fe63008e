"""``knn_graph``'s input flows one way: checked once, the route chosen once, then the kernels.

The embeddings ``X`` are followed with :func:`sys.setprofile` (and :func:`threading.setprofile`
for the tile workers) through every call of a graphneg function during ``knn_graph(X, k)``:
a call *receives* ``X`` when one of its arguments is ``X`` itself or one of its forms, i.e. an
object of ``X``'s shape returned by a graphneg function that received one (the checked array,
the unit/centred/rescaled rows, the lazily normalised view). The modules of those calls, in
order, consecutive repeats collapsed, are grouped into stages: each module of a public
subpackage is a stage, the private search layer ``graphneg._search`` is one (its kernels
compose one another: the inverted file runs the tile kernel once per list, the tiles re-score
in :mod:`graphneg._search._canonical`), and the shared argument checks and normalisation of
``graphneg/_*.py`` are tools every stage calls, like numpy, not stages.

Measured, ``X`` of shape (3000, 16), ``k=5``:

- before (``similarity/_knn.py`` orchestrating the kernels of ``similarity/_search.py``,
  ``_ivf.py``): exact euclidean ``_knn > _search > _knn`` (the kernel, then the similarities
  back in ``_knn``); ``backend='ivf'`` 24 stages, 21 of them returns to a module already left
  (``_knn > _search > _knn > _ivf > _search > _ivf > ... > _knn > _search``: the view made in
  ``_knn``, the index in ``_ivf``, the recall check back in ``_knn``, which searched ``X`` again
  through the public ``knn_search``, checking it a second time); by module (each of
  ``similarity/_knn.py``, ``_search.py``, ``_ivf.py``, ``_tiled.py``, ``graphneg._validation``)
  31 stays in 4 modules, 27 returns;
- after: ``similarity._knn > graphneg._search`` for both routes and every metric: checked in
  ``similarity._knn`` (``check_embeddings`` once), the backend and the CPU route chosen there
  once (:class:`graphneg._search._query.Query`), then the search layer, which hands back only
  the neighbour arrays that ``knn_graph`` assembles (``rows_to_csr``). Inside the layer the exact
  route runs ``_prepare > _exact > _blocks > _canonical`` (the tile generator, resumed per
  block, alternates with the canonical re-scoring of each block).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphneg as gn
from graphneg._search import _cpu_route

PACKAGE = os.path.dirname(gn.__file__)


def _module(code: Any) -> str | None:
    """The dotted graphneg module a code object was defined in (``None``: not graphneg's)."""
    path = code.co_filename
    if not path.startswith(PACKAGE + os.sep):
        return None  # third-party code, or a dataclass's generated __init__
    name = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
    return name.removesuffix(".__init__")


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[1] == "_search":
        return "graphneg._search"
    if len(parts) == 2 and parts[1].startswith("_"):
        return None  # a shared tool of graphneg/_*.py
    return module


def _collapse(seq: list[str]) -> list[str]:
    return [s for i, s in enumerate(seq) if i == 0 or seq[i - 1] != s]


def trace(X: np.ndarray, call: Callable[[], Any]) -> list[tuple[str, str]]:
    """``(module, function)`` of every graphneg call that received ``X`` or one of its forms."""
    tracked: dict[int, Any] = {id(X): X}
    handed: set[Any] = set()
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    missing = object()

    def profile(frame: Any, event: str, arg: Any) -> None:
        module = _module(frame.f_code)
        if module is None:
            return
        if event == "call" and any(tracked.get(id(v), missing) is v for v in list(frame.f_locals.values())):
            with lock:
                seen.append((module, frame.f_code.co_name))
                handed.add(frame)
        elif event == "return" and frame in handed:
            handed.discard(frame)
            for value in arg if isinstance(arg, tuple) else (arg,):
                if getattr(value, "shape", None) == X.shape:  # X in another form
                    tracked[id(value)] = value

    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return seen


def stages(seen: list[tuple[str, str]]) -> list[str]:
    return _collapse([s for s in (_stage(m) for m, _ in seen) if s is not None])


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(3000, 16)).astype(np.float32)


ROUTES = [  # (name, knn_graph options, $GRAPHNEG_CPU_ROUTE)
    ("exact", {}, "fp32"),
    ("exact-certified-ip", {"metric": "ip"}, "certified"),
    ("exact-torch-euclidean", {"metric": "euclidean"}, "torch"),
    ("ivf", {"backend": "ivf"}, "auto"),
    ("ivf-fixed-euclidean", {"backend": gn.IVF(nlist=8, nprobe=2), "metric": "euclidean", "min_recall": 0.5}, "auto"),
]


@pytest.mark.parametrize("name, options, route", ROUTES, ids=[r[0] for r in ROUTES])
def test_the_input_enters_each_stage_once(monkeypatch, X, name, options, route):
    monkeypatch.setenv(_cpu_route.ROUTE_ENV, route)
    seen = trace(X, lambda: gn.knn_graph(X, 5, **options))
    assert stages(seen) == ["graphneg.similarity._knn", "graphneg._search"], _collapse([m for m, _ in seen])


@pytest.mark.parametrize("name, options, route", ROUTES, ids=[r[0] for r in ROUTES])
def test_the_input_is_checked_once(monkeypatch, X, name, options, route):
    monkeypatch.setenv(_cpu_route.ROUTE_ENV, route)
    seen = trace(X, lambda: gn.knn_graph(X, 5, **options))
    assert [f for _, f in seen].count("check_embeddings") == 1


@pytest.mark.parametrize("name, options, route", ROUTES, ids=[r[0] for r in ROUTES])
def test_the_route_is_chosen_once(monkeypatch, X, name, options, route):
    monkeypatch.setenv(_cpu_route.ROUTE_ENV, route)
    # the recall check's exact search of its sampled rows is a search of its own, at its own size
    sizes = []
    real = _cpu_route.cpu_route

    def counting(precision, metric, size=None):
        sizes.append(size)
        return real(precision, metric, size)

    monkeypatch.setattr("graphneg.similarity._knn.cpu_route", counting)
    monkeypatch.setattr("graphneg._search._recall.cpu_route", counting)
    gn.knn_graph(X, 5, **options)
    assert sizes.count(X.shape[:1] * 2 + X.shape[1:]) == 1


def test_the_thread_pool_scan_runs_at_most_once_per_process():
    # threadpoolctl walks every loaded library; the BLAS threads and the CPU route share one scan,
    # and neither asks for it where numpy's build names its BLAS and a search is one row block
    code = (
        "import threadpoolctl, numpy as np\n"
        "calls = []\n"
        "real = threadpoolctl.threadpool_info\n"
        "threadpoolctl.threadpool_info = lambda: calls.append(1) or real()\n"
        "import graphneg as gn\n"
        "X = np.random.default_rng(0).normal(size=(2100, 16)).astype(np.float32)\n"
        "gn.knn_graph(X, 5)\n"
        "gn.mine_hard_negatives(X[:20], X, np.arange(20), gn.NegativeSelection(num_negatives=2))\n"
        "print(len(calls))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != _cpu_route.ROUTE_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "1"  # 3 row blocks ask for the BLAS threads, the mining reuses it
    small = code.replace("gn.knn_graph(X, 5)\n", "")
    out = subprocess.run([sys.executable, "-c", small], capture_output=True, text=True, env=env, check=True)
    expected = "0" if any(n in _cpu_route.numpy_blas_name() for n in _cpu_route.FAST_BLAS) else "1"
    assert out.stdout.strip() == expected  # a first small mining call: no scan with a named BLAS
