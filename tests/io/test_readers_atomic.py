"""Atomic writes (graphneg.io._atomic): modes without touching the umask, cleanup, stale files."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest

from graphneg.io import _atomic
from graphneg.io._atomic import atomic_write, clean_stale_temp_files, stale_temp_files


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def process_umask() -> int:
    value = os.umask(0)
    os.umask(value)
    return value


def test_new_file_gets_open_mode_and_umask_is_never_toggled(tmp_path, monkeypatch):
    expected = 0o666 & ~process_umask()

    def forbidden(_mask: int) -> int:
        raise AssertionError("atomic_write must not change the process umask")

    monkeypatch.setattr(os, "umask", forbidden)
    p = tmp_path / "sub" / "out.txt"
    with atomic_write(p) as fh:
        fh.write("x")
    assert p.read_text() == "x"
    assert mode_of(p) == expected


def test_umask_fallback_without_proc(tmp_path, monkeypatch):
    monkeypatch.setattr(_atomic, "_umask_from_proc", lambda: None)
    monkeypatch.setattr(_atomic, "_IMPORT_UMASK", 0o027)
    p = tmp_path / "out.bin"
    with atomic_write(p, "wb") as fh:
        fh.write(b"\x00")
    assert mode_of(p) == 0o640


def test_umask_read_from_proc_matches_process():
    value = _atomic._umask_from_proc()
    if value is None:
        pytest.skip("/proc/self/status has no Umask line here")
    assert value == process_umask()


def test_existing_file_keeps_its_mode(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old")
    os.chmod(p, 0o600)
    with atomic_write(p) as fh:
        fh.write("new")
    assert p.read_text() == "new" and mode_of(p) == 0o600


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_failure_leaves_target_and_no_temp(tmp_path, exc):
    p = tmp_path / "out.txt"
    p.write_text("old")
    with pytest.raises(exc):
        with atomic_write(p) as fh:
            fh.write("partial")
            assert stale_temp_files(p) != []  # the temp file exists while writing
            raise exc()
    assert p.read_text() == "old"
    assert stale_temp_files(p) == []
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.txt"]


def test_bad_mode_leaves_no_temp(tmp_path):
    p = tmp_path / "out.txt"
    with pytest.raises(ValueError):
        with atomic_write(p, "wq"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers(tmp_path):
    expected = 0o666 & ~process_umask()
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for k in range(20):
                with atomic_write(tmp_path / f"f{i}.txt") as fh:
                    fh.write(f"{i}-{k}")
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(4):
        assert (tmp_path / f"f{i}.txt").read_text() == f"{i}-19"
        assert mode_of(tmp_path / f"f{i}.txt") == expected
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")]


def test_stale_temp_files_match_only_their_output(tmp_path):
    out = tmp_path / "out.tsv"
    mine = [tmp_path / ".out.tsv.abc123_z.tmp", tmp_path / ".out.tsv.q.tmp"]
    others = [
        tmp_path / ".out.tsv.x.abc123_z.tmp",  # belongs to output "out.tsv.x"
        tmp_path / ".other.tsv.abc123_z.tmp",
        tmp_path / "out.tsv.abc123_z.tmp",  # no leading dot: not ours
        tmp_path / ".out.tsv.abc123_z.tmp.bak",
        tmp_path / ".out.tsv..tmp",
    ]
    for p in (*mine, *others):
        p.write_text("")
    (tmp_path / ".out.tsv.dir.tmp").mkdir()  # not a file
    assert stale_temp_files(out) == sorted(mine)
    assert stale_temp_files(tmp_path / "missing" / "out.tsv") == []


def test_glob_characters_in_the_name(tmp_path):
    out = tmp_path / "a[1]*.tsv"
    tmp = tmp_path / ".a[1]*.tsv.k9.tmp"
    tmp.write_text("")
    (tmp_path / ".a1x.tsv.k9.tmp").write_text("")
    assert stale_temp_files(out) == [tmp]


def test_clean_stale_temp_files_respects_age(tmp_path):
    out = tmp_path / "out.tsv"
    old = tmp_path / ".out.tsv.old00000.tmp"
    new = tmp_path / ".out.tsv.new00000.tmp"
    old.write_text("crashed run")
    new.write_text("running now")
    past = time.time() - 3600
    os.utime(old, (past, past))
    assert clean_stale_temp_files(out) == [old]  # default: older than 60 s only
    assert not old.exists() and new.exists()
    assert stale_temp_files(out, min_age=60) == []
    assert clean_stale_temp_files(out, min_age=0) == [new]
    assert stale_temp_files(out) == []
    with pytest.raises(ValueError, match="`min_age`"):
        stale_temp_files(out, min_age=-1)
    with pytest.raises(ValueError, match="`min_age`"):
        clean_stale_temp_files(out, min_age=float("nan"))


def test_atomic_write_then_stale_cleanup_round_trip(tmp_path):
    out = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError):
        with atomic_write(out) as fh:
            fh.write("x")
            # Simulate a kill: the temp file survives because we copy it away first.
            leftover = stale_temp_files(out)[0]
            os.link(leftover, tmp_path / (leftover.name.replace(".tmp", "") + "k.tmp"))
            raise RuntimeError
    survivors = stale_temp_files(out)
    assert len(survivors) == 1
    assert clean_stale_temp_files(out, min_age=0) == survivors
