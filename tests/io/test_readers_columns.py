"""Edge lists read column-wise (pyarrow) give exactly the graph the line-by-line reader gives.

Clean files take the column route; anything the streaming reader would strip, unquote, skip or
report sends the file to it. Either way the ids (in order of appearance), the edges and the
counts are the same.
"""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from graphneg.io import _readers_edges as R

pytest.importorskip("pyarrow")

CASES = {
    "header.csv": (b"citing,cited\n10,20\n20,30\n30,10\n10,20\n", True),
    "snap.txt": (b"\xef\xbb\xbf# Directed graph\n\n# FromNodeId\tToNodeId\n5\t7\n7\t5\n7\t7\n9\t5\n", True),
    "crlf.tsv": (b"a\tb\r\nb\tc\r\nc\ta\r\n", True),
    "weighted.tsv": (b"1\t2\t0.5\n2\t3\t1e3\n3\t1\t7\n", True),
    "zeros.tsv": (b"007\t7\n7\t0\n0\t007\n", True),  # "007" and "7" are two papers
    "mixed.tsv": (b"12\tW12\n12\t13\nW12\t99999999999999999999\n", True),
    "reverse.cites": (b"35\t1033\n35\t103482\n", True),
    "spaces.csv": (b"source,target\n1, 2\n2 ,3\n", False),
    "quoted.csv": (b'"a","b"\n"b","c"\n', False),
    "comment_inside.tsv": (b"1\t2\n# note\tx\n2\t3\n", False),
    "malformed.tsv": (b"1\t2\n3\n2\t3\n", False),
    "empty_field.tsv": (b"1\t2\n\t3\n2\t3\n", False),
    "unicode.tsv": ("é1\tü2\nü2\tx\u00a0\n".encode(), False),
    "ragged.tsv": (b"1\t2\n2\t3\t4\n3\t1\n", False),
    # decimal integers: parsed as numbers when every field is spelled as str(int) spells it
    "ints.tsv": (b"30\t10\n10\t20\n20\t30\n", True),
    "ints_open_end.tsv": (b"5\t6\n6\t5", True),
    "ints_blank_end.tsv": (b"5\t6\n6\t5\n\n", True),
    "ints_leading_zero.tsv": (b"10\t010\n010\t7\n", True),  # "10" and "010": two papers
    "ints_huge.tsv": (b"99999999999999999999\t1\n1\t2\n", True),
    "ints_negative.csv": (b"-1,2\n2,-1\n", True),
    "nbsp.txt": ("1\u00a02\n2\u00a03\n".encode(), False),  # a non-ASCII delimiter: streamed
}


def _read(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = R.read_edge_list(path, **kw)
    return data, [str(w.message) for w in caught]


@pytest.mark.parametrize("name", sorted(CASES))
def test_column_route_reads_what_streaming_reads(tmp_path, monkeypatch, name):
    content, clean = CASES[name]
    path = tmp_path / name
    path.write_bytes(content)
    kw = {"reverse": True, "delimiter": "\t"} if name.endswith(".cites") else {}
    if name == "nbsp.txt":
        kw = {"delimiter": "\u00a0"}
    taken = []
    real = R._read_columns

    def spy(*args):
        taken.append(real(*args))
        return taken[-1]

    monkeypatch.setattr(R, "_read_columns", spy)
    fast, fast_warnings = _read(path, **kw)
    assert (taken[0] is not None) == clean
    monkeypatch.setattr(R, "_read_columns", lambda *args: None)
    slow, slow_warnings = _read(path, **kw)
    assert fast.ids == slow.ids
    assert np.array_equal(fast.graph.to_edge_index(), slow.graph.to_edge_index())
    assert vars(fast.counts) == vars(slow.counts)
    assert fast_warnings == slow_warnings


def test_gzip_and_duplicate_counts(tmp_path):
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 300, (3000, 2))
    text = "".join(f"{a}\t{b}\n" for a, b in pairs.tolist()).encode()
    path = tmp_path / "edges.tsv.gz"
    path.write_bytes(gzip.compress(text))
    fast, _ = _read(path)
    plain = tmp_path / "edges.tsv"
    plain.write_bytes(text)
    ref = R._read_columns
    try:
        R._read_columns = lambda *args: None
        slow, _ = _read(plain)
    finally:
        R._read_columns = ref
    assert fast.ids == slow.ids and vars(fast.counts) == vars(slow.counts)
    assert np.array_equal(fast.graph.to_edge_index(), slow.graph.to_edge_index())
    assert fast.counts.duplicates > 0 and fast.counts.self_loops > 0


@pytest.mark.parametrize(("content", "numbers"), [
    (b"3\t1\n1\t2\n", True),
    (b"source\ttarget\n3\t1\n1\t2", True),
    (b"3\t01\n1\t2\n", False),  # "01" is not "1"
    (b"3\t1\n1\t2\n\n", False),  # an empty line: bytes the numbers do not account for
    (b"3\t1\r\n1\t2\r\n", False),
    (b"3\t+1\n1\t2\n", False),
])
def test_integer_route_only_for_numbers_spelled_as_str_spells_them(tmp_path, monkeypatch, content, numbers):
    path = tmp_path / "e.tsv"
    path.write_bytes(content)
    taken = []
    real = R.integer_columns
    monkeypatch.setattr(R, "integer_columns", lambda *args: taken.append(real(*args)) or taken[-1])
    fast, _ = _read(path)
    assert (taken[0] is not None) == numbers
    monkeypatch.setattr(R, "_read_columns", lambda *args: None)
    slow, _ = _read(path)
    assert fast.ids == slow.ids and vars(fast.counts) == vars(slow.counts)
    assert np.array_equal(fast.graph.to_edge_index(), slow.graph.to_edge_index())


def test_integer_ids_numbered_in_order_of_appearance_wide_or_narrow(tmp_path):
    rng = np.random.default_rng(1)
    for high in (50, 10**15):  # a table over the values, or hashing them
        pairs = rng.integers(0, 40, (400, 2)) * (high // 40) + 1
        path = tmp_path / f"e{high}.tsv"
        path.write_text("".join(f"{a}\t{b}\n" for a, b in pairs.tolist()))
        fast, _ = _read(path)
        expected = list(dict.fromkeys(str(v) for v in pairs.ravel().tolist()))
        assert fast.ids == expected
