"""Graph files and the graph cache as one unit (#23.1): every weak and bad case of the sweep.

- ``save_graph`` does everything that can fail before it replaces anything, and replaces the
  ``.npz`` and its sidecar so that a crash between the two renames still loads as one graph;
- ``load_graph`` validates the sidecar's schema, the shape, ``indptr``, the column indices, the
  labels and ids, and refuses object arrays, each in one line naming the file;
- ``cached_graph`` rebuilds a corrupt entry (moved aside, with a warning), refuses a
  ``cache_dir`` that is a file, and leaves no orphan or temporary file after a failure.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg as gn
from graphneg.cli import main
from graphneg.io import _graph_files as gf


def _graph(n: int = 5, shift: int = 1) -> sp.csr_array:
    return sp.csr_array(np.eye(n, k=shift) + np.eye(n, k=-shift))


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _rewrite_npz(path, **changes) -> None:
    """Rewrite a graph file's arrays (``None`` drops one) without its metadata checks."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.pop("meta", None)  # a hand-made file: the sidecar alone describes it
    for key, value in changes.items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    np.savez(path, **arrays)


def _one_line_naming(err: pytest.ExceptionInfo, path) -> None:
    message = str(err.value)
    assert "\n" not in message and str(path) in message, message


# ---------------------------------------------------------------- save: nothing replaced on failure


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"params": {"k": object()}}, TypeError),
        ({"params": {"k": 1 + 2j}}, TypeError),
        ({"params": {1: "int key"}}, TypeError),
        ({"params": {"w": float("nan")}}, ValueError),
        ({"labels": [0, 1, 2]}, ValueError),
        ({"labels": [0.5, 1, 2, 3, 4]}, ValueError),
        ({"labels": np.array(["a"] * 5, dtype=object)}, TypeError),
        ({"ids": ["a", "b"]}, ValueError),
        ({"input_hash": 7}, TypeError),
    ],
)
def test_a_failing_save_leaves_the_old_pair_whole(tmp_path, bad, error):
    p = gn.save_graph(tmp_path / "g.npz", _graph(5), labels=np.zeros(5, int), params={"k": 3}, input_hash="old")
    before = _snapshot(tmp_path)
    kwargs = {"labels": np.ones(5, int), "params": {"k": 4}, "input_hash": "new", **bad}
    with pytest.raises(error):
        gn.save_graph(p, _graph(5, 2), **kwargs)
    assert _snapshot(tmp_path) == before  # nothing replaced, no temporary file left
    assert gn.load_graph(p).input_hash == "old"


def test_numpy_scalars_in_params_are_saved_as_plain_json(tmp_path):
    # the sweep: the .npz was replaced, then json.dump failed: new arrays with the old sidecar
    p = gn.save_graph(tmp_path / "g.npz", _graph(5), params={"k": 3}, input_hash="old")
    params = {"k": np.int64(7), "r": np.float32(0.5), "mutual": np.bool_(True), "dims": np.array([2, 3]),
              "nested": {"t": (1, np.int32(2))}, "out": tmp_path / "x"}
    gn.save_graph(p, _graph(6), params=params, input_hash="new")
    back = gn.load_graph(p)
    assert back.graph.shape == (6, 6) and back.input_hash == "new"
    assert back.params == {"k": 7, "r": 0.5, "mutual": True, "dims": [2, 3], "nested": {"t": [1, 2]},
                           "out": str(tmp_path / "x")}
    meta = json.loads((tmp_path / "g.json").read_text())
    assert meta["num_nodes"] == 6 and meta["num_edges"] == back.graph.nnz and meta["input_sha256"] == "new"
    assert _files(tmp_path) == ["g.json", "g.npz"]


def test_a_write_failing_midway_leaves_the_old_pair_and_no_temp_file(tmp_path, monkeypatch):
    p = gn.save_graph(tmp_path / "g.npz", _graph(5), params={"k": 3})
    before = _snapshot(tmp_path)

    def broken_savez(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gf.np, "savez", broken_savez)
    with pytest.raises(OSError, match="No space"):
        gn.save_graph(p, _graph(6), params={"k": 4})
    assert _snapshot(tmp_path) == before


def test_failing_rename_of_the_npz_puts_the_old_sidecar_back(tmp_path, monkeypatch):
    p = gn.save_graph(tmp_path / "g.npz", _graph(5), params={"k": 3})
    before = _snapshot(tmp_path)
    real_replace = os.replace

    def replace(src, dst):
        if str(dst) == str(p):
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(gf.os, "replace", replace)
    with pytest.raises(PermissionError):
        gn.save_graph(p, _graph(6), params={"k": 4})
    assert _snapshot(tmp_path) == before


def test_a_crash_between_the_two_renames_still_loads_as_one_graph(tmp_path, monkeypatch):
    p = gn.save_graph(tmp_path / "g.npz", _graph(5), params={"k": 3}, input_hash="old")
    real_replace = os.replace

    def crash_before_the_sidecar(src, dst):
        if str(dst) == str(gf.sidecar_path(p)) and not str(src).endswith(".json"):
            raise KeyboardInterrupt  # the process dies between the two renames
        return real_replace(src, dst)

    monkeypatch.setattr(gf.os, "replace", crash_before_the_sidecar)
    with pytest.raises(KeyboardInterrupt):
        gn.save_graph(p, _graph(6), params={"k": 4}, input_hash="new")
    monkeypatch.undo()
    back = gn.load_graph(p)  # the new .npz alone: its own metadata, never the old sidecar's
    assert back.graph.shape == (6, 6) and back.params == {"k": 4} and back.input_hash == "new"
    assert _files(tmp_path) == ["g.npz"]


def test_a_sidecar_from_another_save_is_refused(tmp_path):
    a = gn.save_graph(tmp_path / "a.npz", _graph(5), params={"k": 3}, input_hash="A")
    b = gn.save_graph(tmp_path / "b.npz", _graph(6), params={"k": 3}, input_hash="B")
    (tmp_path / "a.json").write_bytes((tmp_path / "b.json").read_bytes())  # b's sidecar next to a's arrays
    with pytest.raises(ValueError, match="does not describe") as err:
        gn.load_graph(a)
    _one_line_naming(err, tmp_path / "a.json")
    assert gn.load_graph(b).graph.shape == (6, 6)


def test_non_square_graphs_are_refused_at_save_and_load(tmp_path):
    with pytest.raises(ValueError, match="square.*30 x 40"):
        gn.save_graph(tmp_path / "g.npz", sp.random_array((30, 40), density=0.1, format="csr", rng=0))
    assert _files(tmp_path) == []
    p = gn.save_graph(tmp_path / "g.npz", _graph(30))
    _rewrite_npz(p, shape=np.array([30, 40]))
    (tmp_path / "g.json").unlink()
    with pytest.raises(ValueError, match="square") as err:
        gn.load_graph(p)
    _one_line_naming(err, p)


# ---------------------------------------------------------------- load: validation naming the file


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"indices": np.array([1, 7, 2, 0, 3, 1, 4, 2], dtype=np.int32)}, "column index 7 is out of range for 5"),
        ({"indices": np.array([1, -1, 2, 0, 3, 1, 4, 2], dtype=np.int32)}, "column index -1 is out of range"),
        ({"indptr": np.array([0, 1, 3, 2, 7, 8], dtype=np.int32)}, "never decrease"),
        ({"indptr": np.array([0, 1, 3, 5, 8], dtype=np.int32)}, "indptr` has 5 entries, expected 6"),
        ({"indptr": np.array([0, 1, 3, 5, 7, 9], dtype=np.int32)}, "ends at 9"),
        ({"indptr": np.array([1, 1, 3, 5, 7, 8], dtype=np.int32)}, "start at 0"),
        ({"indices": np.array([1.0, 0, 2, 1, 3, 2, 4, 3])}, "`indices` must be a 1-D integer array"),
        ({"data": np.array(["x"] * 8)}, "`data` must be a 1-D real array"),
        ({"shape": np.array([5.0, 5.0])}, "`shape` must be 2 integers"),
        ({"labels": np.array([0.0, 1, 0, 1, 0])}, "`labels` must be integers"),
        ({"labels": np.array([0, 1, 0])}, r"`labels` has shape \(3,\), expected \(5,\)"),
        ({"ids": np.array(["a", "b"])}, "`ids` has 2 entries, expected 5"),
        ({"ids": np.arange(5)}, "`ids` must be a 1-D array of strings"),
    ],
)
def test_invalid_arrays_are_refused_in_one_line_naming_the_file(tmp_path, changes, match):
    p = gn.save_graph(tmp_path / "g.npz", _graph(5), labels=[0, 1, 0, 1, 0], ids=list("abcde"))
    (tmp_path / "g.json").unlink()
    _rewrite_npz(p, **changes)
    with pytest.raises(ValueError, match=match) as err:
        gn.load_graph(p)
    _one_line_naming(err, p)


def test_out_of_range_indices_no_longer_reach_inspect(tmp_path):
    p = gn.save_graph(tmp_path / "g.npz", _graph(5))
    (tmp_path / "g.json").unlink()
    _rewrite_npz(p, indices=np.array([1, 0, 9, 1, 3, 2, 4, 3], dtype=np.int32))
    with pytest.raises(ValueError, match="column index 9 is out of range"):
        gn.inspect(p)


@pytest.mark.parametrize("key", ["labels", "ids", "data"])
def test_object_arrays_are_refused_without_numpys_pickle_message(tmp_path, key):
    p = gn.save_graph(tmp_path / "g.npz", _graph(3), labels=[0, 1, 2], ids=list("abc"))
    value = np.array([0, "x", None], dtype=object) if key != "data" else np.array([1, 2, 3, 4], dtype=object)
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[key] = value
    np.savez(p, **arrays)  # object arrays are pickled by numpy
    with pytest.raises(ValueError, match=f"`{key}` holds Python objects") as err:
        gn.load_graph(p)
    _one_line_naming(err, p)
    assert "allow_pickle" not in str(err.value)


@pytest.mark.parametrize(
    "text, match",
    [
        ("[]", "expected a JSON object, got list"),
        ('{"params": "k=10"}', "is not a graph file sidecar"),
        ("{not json", "is not valid JSON"),
        ("", "is not valid JSON"),
        ('"just a string"', "expected a JSON object, got str"),
        (None, "params` must be dict"),  # a complete sidecar whose params is a string
        ("{}", "is not a graph file sidecar"),
    ],
)
def test_a_bad_sidecar_is_one_value_error_naming_it(tmp_path, text, match):
    p = gn.save_graph(tmp_path / "g.npz", _graph(4), params={"k": 3})
    side = tmp_path / "g.json"
    if text is None:
        meta = json.loads(side.read_text())
        meta["params"] = "k=10"
        text = json.dumps(meta)
    side.write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        gn.load_graph(p)
    _one_line_naming(err, side)


def test_a_bad_sidecar_of_a_legacy_file_is_refused_too(tmp_path):
    # format 1: the arrays without `meta`, the metadata in the sidecar only
    p = gn.save_graph(tmp_path / "g.npz", _graph(4), params={"k": 3})
    _rewrite_npz(p)
    meta = json.loads((tmp_path / "g.json").read_text())
    meta.pop("arrays_sha256")
    meta["format_version"] = 1
    (tmp_path / "g.json").write_text(json.dumps(meta))
    assert gn.load_graph(p).params == {"k": 3}  # a legacy pair still loads
    meta["num_edges"] = 99
    (tmp_path / "g.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="num_edges=99") as err:
        gn.load_graph(p)
    _one_line_naming(err, p)


def test_a_sidecar_from_a_newer_format_says_so(tmp_path):
    p = gn.save_graph(tmp_path / "g.npz", _graph(4))
    meta = json.loads((tmp_path / "g.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "g.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="format_version 99, newer"):
        gn.load_graph(p)


def test_a_flipped_byte_fails_the_crc_naming_the_file(tmp_path):
    p = gn.save_graph(tmp_path / "g.npz", _graph(6), labels=np.arange(6))
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo("labels.npy")
    raw = bytearray(p.read_bytes())
    raw[info.header_offset + 30 + len(info.filename) + 130] ^= 0x01  # inside the labels' data
    p.write_bytes(bytes(raw))
    (tmp_path / "g.json").unlink()
    with pytest.raises(ValueError, match="CRC|not a readable graph file") as err:
        gn.load_graph(p)
    _one_line_naming(err, p)


# ---------------------------------------------------------------- the cache


def _build(n: int = 5, calls: list | None = None):
    def build():
        if calls is not None:
            calls.append(1)
        return _graph(n), np.arange(n) % 2

    return build


def _entry(folder):
    (npz,) = folder.glob("graph-*.npz")
    return npz


@pytest.mark.parametrize("damage", ["truncate", "truncate-sidecar", "empty", "flip-sidecar-value", "drop-npz"])
def test_a_corrupt_cache_entry_is_moved_aside_and_rebuilt(tmp_path, damage):
    calls: list = []
    gn.cached_graph(tmp_path, "in", {"k": 3}, _build(5, calls))
    npz = _entry(tmp_path)
    side = gf.sidecar_path(npz)
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    elif damage == "truncate-sidecar":
        side.write_bytes(side.read_bytes()[:40])
    elif damage == "empty":
        npz.write_bytes(b"")
    elif damage == "flip-sidecar-value":
        side.write_text(side.read_text().replace('"num_nodes": 5', '"num_nodes": 6'))
    else:
        npz.unlink()
    with pytest.warns(gn.GraphNegWarning, match="does not load.*moved aside.*rebuilt"):
        saved, hit = gn.cached_graph(tmp_path, "in", {"k": 3}, _build(5, calls))
    assert not hit and len(calls) == 2 and saved.graph.shape == (5, 5)
    aside = [name for name in _files(tmp_path) if ".corrupt-" in name]
    assert aside and all(name.startswith(npz.name) or name.startswith(side.name) for name in aside)
    saved, hit = gn.cached_graph(tmp_path, "in", {"k": 3}, _build(5, calls))  # the rebuilt entry hits
    assert hit and len(calls) == 2
    assert not [name for name in _files(tmp_path) if name.endswith(".tmp")]


def test_an_entry_without_its_sidecar_is_still_a_hit(tmp_path):
    # a crash between the two renames leaves the .npz alone: it describes itself
    calls: list = []
    gn.cached_graph(tmp_path, "in", {"k": 3}, _build(5, calls))
    gf.sidecar_path(_entry(tmp_path)).unlink()
    saved, hit = gn.cached_graph(tmp_path, "in", {"k": 3}, _build(5, calls))
    assert hit and len(calls) == 1 and saved.params == {"k": 3}


def test_numpy_scalars_in_cache_params_leave_no_orphan(tmp_path):
    calls: list = []
    saved, hit = gn.cached_graph(tmp_path / "c", "in", {"k": np.int64(7)}, _build(5, calls))
    assert not hit and saved.params == {"k": 7}
    assert gn.cached_graph(tmp_path / "c", "in", {"k": 7}, _build(5, calls))[1]  # the same entry
    npz = _entry(tmp_path / "c")
    assert gf.sidecar_path(npz).is_file()
    with pytest.raises(TypeError, match=r"`params\['k'\]` has type object"):
        gn.cached_graph(tmp_path / "d", "in", {"k": object()}, _build(5, calls))
    assert not (tmp_path / "d").exists() and len(calls) == 1


def test_a_failing_build_leaves_nothing_and_releases_the_lock(tmp_path):
    def broken():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        gn.cached_graph(tmp_path, "in", {"k": 3}, broken)
    assert not list(tmp_path.glob("graph-*")) and not list(tmp_path.glob("*.tmp"))
    assert not gn.cached_graph(tmp_path, "in", {"k": 3}, _build())[1]  # the lock is free again


def test_stale_temp_files_of_a_killed_writer_are_cleaned(tmp_path):
    gn.cached_graph(tmp_path, "in", {"k": 3}, _build())
    npz = _entry(tmp_path)
    (tmp_path / f".{npz.name}.k2j4x9_a.tmp").write_bytes(b"partial")
    (tmp_path / f".{gf.sidecar_path(npz).name}.k2j4x9_a.tmp").write_text("{")
    assert gn.cached_graph(tmp_path, "in", {"k": 3}, _build())[1]
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("below", [False, True])
def test_a_cache_dir_that_is_a_file_says_so(tmp_path, below):
    f = tmp_path / "cache"
    f.write_text("x")
    target = f / "sub" if below else f
    with pytest.raises(NotADirectoryError, match="cache_dir .*(is not a folder|is a file)") as err:
        gn.cached_graph(target, "in", {"k": 3}, _build())
    _one_line_naming(err, target)
    assert "Errno" not in str(err.value)


def test_cli_cache_dir_that_is_a_file_exits_2_in_one_line(tmp_path, capsys):
    f = tmp_path / "cache"
    f.write_text("x")
    rc = main(["batches", "--demo-size", "300", "--cache-dir", str(f), "-o", str(tmp_path / "b.jsonl"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "is not a folder" in err and "Errno" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b.jsonl").exists()


def test_a_scipy_csr_npz_loads_and_other_npz_files_are_refused(tmp_path):
    sp.save_npz(tmp_path / "csr.npz", sp.csr_array(np.eye(3, k=1)))
    assert gn.load_graph(tmp_path / "csr.npz").graph.nnz == 2
    sp.save_npz(tmp_path / "csc.npz", sp.csc_array(np.eye(3, k=1)))
    with pytest.raises(ValueError, match="format b'csc', not CSR") as err:
        gn.load_graph(tmp_path / "csc.npz")
    _one_line_naming(err, tmp_path / "csc.npz")
    p = gn.save_graph(tmp_path / "g.npz", _graph(3))
    (tmp_path / "g.json").unlink()
    _rewrite_npz(p, extra=np.zeros(2))
    with pytest.raises(ValueError, match="unexpected member 'extra'") as err:
        gn.load_graph(p)
    _one_line_naming(err, p)


def test_a_zip_directory_that_lost_members_is_corrupt(tmp_path):
    # the zip's end record is not covered by any CRC: a flip there can hide the labels and meta
    p = gn.save_graph(tmp_path / "g.npz", _graph(4), labels=np.arange(4), params={"k": 3})
    (tmp_path / "g.json").unlink()
    raw = bytearray(p.read_bytes())
    end = raw.rindex(b"PK\x05\x06")
    raw[end + 10] -= 2  # "total entries": 6 -> 4
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="lists 6 members, its end record 4|not a readable") as err:
        gn.load_graph(p)
    _one_line_naming(err, p)
