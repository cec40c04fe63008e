"""Property and concurrency tests of graph files and the graph cache (#23.6).

- Random truncations, byte flips and sidecar edits of a saved graph: :func:`graphneg.load_graph`
  returns the same graph or raises the documented error (``ValueError``, ``FileNotFoundError``
  when the ``.npz`` is gone), one line naming the file.
- The same damage to a cache entry: :func:`graphneg.cached_graph` always returns the graph the
  builder gives (from the entry when the damage left it intact, else rebuilt with one
  :class:`graphneg.GraphNegWarning`), and the next call hits.
- Four processes writing the same keys of one cache folder with different builders: each key
  is built once, every process gets that build, every entry loads with its own sidecar.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphneg as gn
from graphneg.io import _graph_files as gf

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
META_KEYS = ["format", "format_version", "graphneg_version", "num_nodes", "num_edges", "has_labels", "has_ids",
             "params", "input_sha256", "arrays_sha256", "extra"]


@st.composite
def damages(draw):
    kind = draw(st.sampled_from(["truncate-npz", "flip-npz", "truncate-npz-alone", "flip-npz-alone",
                                 "truncate-json", "flip-json", "edit-json", "drop-json-key", "delete-json",
                                 "delete-npz"]))
    return kind, draw(st.floats(0, 1, exclude_max=True)), draw(st.integers(1, 255)), \
        draw(st.sampled_from(META_KEYS)), draw(JSON_VALUES)


def _damage(npz: Path, damage) -> None:
    kind, where, xor, key, value = damage
    side = gf.sidecar_path(npz)
    target = npz if "npz" in kind else side
    if kind.endswith("alone"):  # the .npz without its sidecar: it must describe itself
        side.unlink()
    raw = bytearray(target.read_bytes())
    pos = int(where * len(raw))
    if kind.startswith("truncate"):
        target.write_bytes(bytes(raw[:pos]))
    elif kind.startswith("flip"):
        raw[pos] ^= xor
        target.write_bytes(bytes(raw))
    elif kind.startswith("delete"):
        target.unlink()
    else:
        meta = json.loads(raw)
        if kind == "edit-json":
            meta[key] = value
        else:
            meta.pop(key, None)
        target.write_text(json.dumps(meta))


def _graph(seed: int, n: int) -> tuple[sp.csr_array, np.ndarray]:
    rng = np.random.default_rng(seed)
    G = sp.random_array((n, n), density=0.3, format="csr", rng=rng)
    return G, rng.integers(0, 3, size=n)


def _same(saved: gn.SavedGraph, G: sp.csr_array, labels, ids, params, input_hash) -> bool:
    return (saved.graph.shape == G.shape and (saved.graph != G).nnz == 0 and saved.labels.tolist() == list(labels)
            and saved.ids == ids and saved.params == params and saved.input_hash == input_hash)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damage=damages(), seed=st.integers(0, 2**16), n=st.integers(1, 12))
def test_damaged_graph_files_load_the_same_graph_or_fail_naming_the_file(damage, seed, n):
    G, labels = _graph(seed, n)
    ids, params = [f"n{i}" for i in range(n)], {"k": 3, "metric": "cosine", "seed": seed}
    with tempfile.TemporaryDirectory() as folder:
        npz = gn.save_graph(Path(folder) / "g.npz", G, labels=labels, ids=ids, params=params, input_hash="h")
        _damage(npz, damage)
        try:
            saved = gn.load_graph(npz)
        except (ValueError, FileNotFoundError) as err:
            message = str(err)
            assert "\n" not in message
            assert str(npz) in message or str(gf.sidecar_path(npz)) in message, message
            assert isinstance(err, ValueError) or damage[0] == "delete-npz"
            return
        assert _same(saved, G, labels, ids, params, "h"), damage


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damage=damages(), seed=st.integers(0, 2**16), n=st.integers(1, 10))
def test_damaged_cache_entries_give_the_built_graph_and_are_rebuilt_once(damage, seed, n):
    G, labels = _graph(seed, n)
    params = {"k": np.int64(3), "seed": seed}
    calls: list[int] = []

    def build():
        calls.append(1)
        return G, labels

    with tempfile.TemporaryDirectory() as folder:
        gn.cached_graph(folder, "input", params, build)
        (npz,) = Path(folder).glob("graph-*.npz")
        _damage(npz, damage)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            saved, hit = gn.cached_graph(folder, "input", params, build)
        assert _same(saved, G, labels, None, {"k": 3, "seed": seed}, "input")
        ours = [w for w in caught if issubclass(w.category, gn.GraphNegWarning)]
        if hit:
            assert len(calls) == 1 and not ours
        else:
            assert len(calls) == 2
            assert len(ours) == 1 or damage[0] == "delete-npz" and not gf.sidecar_path(npz).exists()
        again, hit = gn.cached_graph(folder, "input", params, build)  # repaired: a hit from now on
        assert hit and _same(again, G, labels, None, {"k": 3, "seed": seed}, "input")
        names = [p.name for p in Path(folder).iterdir()]
        assert not [x for x in names if x.endswith(".tmp")]


# ---------------------------------------------------------------- four concurrent writers

N_KEYS = 12


def _writer(folder: str, writer: int, barrier, results) -> None:
    def build():
        time.sleep(0.005)  # widen the window between two writers of one key
        n = 5 + writer  # each writer builds a different graph for the same key
        return sp.csr_array(np.eye(n, k=1)), np.full(n, writer)

    out = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            barrier.wait(timeout=30)
            for key in range(N_KEYS):
                saved, hit = gn.cached_graph(folder, "input", {"key": key}, build)
                out.append((key, int(saved.labels[0]), saved.graph.shape[0], hit))
        results.put((writer, out, [str(w.message) for w in caught]))
    except BaseException as err:  # report, never hang the parent
        results.put((writer, repr(err), []))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs the fork start method")
def test_four_processes_writing_one_cache_build_each_key_once(tmp_path):
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, barrier, results)) for w in range(4)]
    for p in procs:
        p.start()
    got = dict()
    for _ in procs:
        writer, out, caught = results.get(timeout=60)
        assert isinstance(out, list), out
        assert not caught, caught
        got[writer] = out
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    for key in range(N_KEYS):
        rows = [got[w][key] for w in range(4)]
        builders = {label for _, label, _, _ in rows}
        assert len(builders) == 1, rows  # every process got the same build
        (builder,) = builders
        assert all(shape == 5 + builder for _, _, shape, _ in rows), rows
        assert sum(not hit for *_, hit in rows) == 1, rows  # built once
    entries = sorted(tmp_path.glob("graph-*.npz"))
    assert len(entries) == N_KEYS
    for npz in entries:
        saved = gn.load_graph(npz)  # its own sidecar: never another writer's
        meta = json.loads(gf.sidecar_path(npz).read_text())
        assert meta["num_nodes"] == saved.graph.shape[0] == 5 + int(saved.labels[0])
        assert meta["num_edges"] == saved.graph.nnz
    names = [p.name for p in tmp_path.iterdir()]
    assert not [x for x in names if x.endswith(".tmp") or ".corrupt-" in x], names
