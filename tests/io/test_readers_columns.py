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
