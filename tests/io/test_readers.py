"""Tests of graphneg.io's citation readers on hand-written fixtures (expected counts derived by
hand in tests/fixtures/citations/README.md) and, when present, on the shared real data."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg.exceptions import GraphNegWarning
from graphneg.io import (
    CitationData,
    abstract_from_inverted_index,
    read_citations,
    read_edge_list,
    read_ogb,
    read_openalex,
    read_planetoid,
    read_s2ag_citations,
    read_s2orc,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "citations"
SHARED = Path(
    os.environ.get(
        "GRAPHNEG_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)


def warned(fn, *args, match: str | None = None, **kwargs) -> tuple[CitationData, str]:
    """Call a reader that must emit exactly one GraphNegWarning; return result and message."""
    with pytest.warns(GraphNegWarning, match=match) as record:
        data = fn(*args, **kwargs)
    ours = [w for w in record if issubclass(w.category, GraphNegWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    return data, str(ours[0].message)


def counts_of(data: CitationData) -> dict[str, object]:
    c = data.counts
    assert c is data.graph.counts
    # Nothing dropped silently: every edge read is kept or counted under one reason.
    assert c.read == c.kept + c.duplicates + c.self_loops + c.unknown
    assert c.kept == data.graph.num_edges
    assert c.malformed == len(c.malformed_lines)
    return {
        "read": c.read,
        "kept": c.kept,
        "duplicates": c.duplicates,
        "self_loops": c.self_loops,
        "unknown": c.unknown,
        "external_nodes": c.external_nodes,
        "malformed_lines": c.malformed_lines,
    }


def expected(read, kept, duplicates=0, self_loops=0, unknown=0, external_nodes=0, lines=()):
    return {
        "read": read,
        "kept": kept,
        "duplicates": duplicates,
        "self_loops": self_loops,
        "unknown": unknown,
        "external_nodes": external_nodes,
        "malformed_lines": list(lines),
    }


def edge_set(data: CitationData) -> set[tuple[str, str]]:
    ids = data.ids
    return {(ids[a], ids[b]) for a, b in data.graph.to_edge_index().T.tolist()}


def same_data(a: CitationData, b: CitationData) -> None:
    assert a.ids == b.ids
    assert (a.graph.adjacency != b.graph.adjacency).nnz == 0
    assert a.counts == b.counts
    assert a.texts == b.texts and a.years == b.years


def gzip_copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, gzip.open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return dst


# --------------------------------------------------------------------------------------------
# Edge lists
# --------------------------------------------------------------------------------------------


def test_edge_list_counts_exactly():
    data, message = warned(read_edge_list, FIX / "edges.tsv", header=True)
    assert data.format == "edges" and data.texts is None and data.years is None
    assert data.ids == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert counts_of(data) == expected(8, 6, duplicates=1, self_loops=1, lines=[7, 12])
    assert edge_set(data) == {
        ("p1", "p2"), ("p1", "p3"), ("p2", "p3"), ("p2", "p4"), ("p4", "p1"), ("p5", "p6")
    }
    assert message.startswith("edges.tsv: 6 edges kept of 8 read")
    assert "malformed edges.tsv line(s) 7, 12" in message


def test_edge_list_header_auto_and_off():
    auto, _ = warned(read_edge_list, FIX / "edges.tsv", header="auto")
    same_data(auto, warned(read_edge_list, FIX / "edges.tsv", header=True)[0])
    raw, _ = warned(read_edge_list, FIX / "edges.tsv", header=False)
    assert raw.ids[:2] == ["citing", "cited"]
    assert counts_of(raw) == expected(9, 7, duplicates=1, self_loops=1, lines=[7, 12])


def test_edge_list_header_auto_numeric(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("a,b\n1,2\n2,3\n")
    assert read_edge_list(p, delimiter=",", header="auto").ids == ["1", "2", "3"]
    p.write_text("1,2\n2,3\n")
    assert read_edge_list(p, delimiter=",", header="auto").counts.read == 2


def test_edge_list_known_ids_and_external():
    ids = ["p1", "p2", "p3", "p4"]
    data, _ = warned(read_edge_list, FIX / "edges.tsv", header=True, ids=ids)
    assert data.ids == ids
    assert counts_of(data) == expected(8, 5, 1, 1, unknown=1, lines=[7, 12])
    ext, _ = warned(read_edge_list, FIX / "edges.tsv", header=True, ids=ids, keep_external=True)
    assert ext.ids == [*ids, "p5", "p6"]
    assert counts_of(ext) == expected(8, 6, 1, 1, external_nodes=2, lines=[7, 12])
    assert ("p5", "p6") in edge_set(ext)


def test_edge_list_strict_names_file_and_line():
    with pytest.raises(ValueError, match=r"edges\.tsv:7: expected 2 non-empty fields"):
        read_edge_list(FIX / "edges.tsv", header=True, strict=True)


def test_edge_list_gzip_equals_plain(tmp_path):
    gz = gzip_copy(FIX / "edges.tsv", tmp_path / "edges.tsv.gz")
    plain, _ = warned(read_edge_list, FIX / "edges.tsv", header=True)
    packed, message = warned(read_edge_list, gz, header=True)
    same_data(plain, packed)
    assert message.startswith("edges.tsv.gz:")


def test_linqs_reverse_flag():
    ids = ["a", "b", "c"]
    data, _ = warned(read_edge_list, FIX / "linqs.cites", delimiter=None, reverse=True, ids=ids)
    assert edge_set(data) == {("a", "b"), ("a", "c"), ("b", "c")}
    assert counts_of(data) == expected(7, 3, 1, 1, unknown=2, lines=[7])
    # Without the flag every edge points the wrong way (cited -> citing).
    wrong, _ = warned(read_edge_list, FIX / "linqs.cites", delimiter=None, ids=ids)
    assert edge_set(wrong) == {("b", "a"), ("c", "a"), ("c", "b")}
    # format="auto" knows .cites files are LINQS.
    auto, _ = warned(read_citations, FIX / "linqs.cites", ids=ids)
    same_data(auto, data)


def test_edge_list_invalid_utf8_and_validation(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_bytes(b"a\tb\n\xff\xfe\tc\nb\tc\n")
    data, _ = warned(read_edge_list, p, match="line.s. 2")
    assert counts_of(data) == expected(2, 2, lines=[2])
    with pytest.raises(ValueError, match="`delimiter`"):
        read_edge_list(p, delimiter="")
    with pytest.raises(ValueError, match="`ids` must be unique"):
        read_edge_list(p, ids=["a", "a"])
    with pytest.raises(TypeError, match="`reverse`"):
        read_edge_list(p, reverse="yes")


def test_warning_quotes_first_malformed_lines(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text("a\tb\n" + "x\n" * 8)
    data, message = warned(read_edge_list, p)
    assert data.counts.malformed_lines == list(range(2, 10))
    assert "line(s) 2, 3, 4, 5, 6 (+3 more)" in message


def test_clean_input_does_not_warn(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text("a\tb\nb\tc\n")
    data = read_edge_list(p)  # a GraphNegWarning would fail the test (filterwarnings)
    assert counts_of(data) == expected(2, 2)


def test_truncated_gzip_raises(tmp_path):
    gz = gzip_copy(FIX / "edges.tsv", tmp_path / "e.tsv.gz")
    gz.write_bytes(gz.read_bytes()[:-12])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        read_edge_list(gz, header=True)


# --------------------------------------------------------------------------------------------
# S2ORC / s2-corpus
# --------------------------------------------------------------------------------------------


def test_s2orc_counts_exactly():
    data, message = warned(read_s2orc, FIX / "s2orc.jsonl")
    assert data.ids == ["A", "B", "C", "H"]
    assert counts_of(data) == expected(
        10, 5, duplicates=1, self_loops=1, unknown=3, lines=[4, 5, 6, 7, 8, 10]
    )
    assert edge_set(data) == {("A", "B"), ("A", "C"), ("B", "C"), ("C", "A"), ("H", "A")}
    assert data.texts == {
        "A": "Alpha About alpha.", "B": "Beta", "C": "Gamma Gamma abs.", "H": "Eta Eta abstract."
    }
    assert data.years == {"A": 2019, "B": 2018, "H": 2020}
    assert "line(s) 4, 5, 6, 7, 8 (+1 more)" in message


def test_s2orc_keep_external():
    data, _ = warned(read_s2orc, FIX / "s2orc.jsonl", keep_external=True)
    assert data.ids == ["A", "B", "C", "H", "X", "D", "Y"]
    assert counts_of(data) == expected(
        10, 8, duplicates=1, self_loops=1, external_nodes=3, lines=[4, 5, 6, 7, 8, 10]
    )
    assert {("A", "X"), ("D", "B"), ("H", "Y")} <= edge_set(data)
    assert set(data.texts) == {"A", "B", "C", "H"}


def test_s2orc_mirrored_citation_is_one_edge(tmp_path):
    p = tmp_path / "m.jsonl"
    recs = [
        {"paper_id": "1", "outbound_citations": ["2"], "inbound_citations": []},
        {"paper_id": "2", "outbound_citations": [], "inbound_citations": ["1"]},
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    data = read_s2orc(p)  # no warning: the second listing is not a duplicate
    assert counts_of(data) == expected(1, 1)


def test_s2orc_strict_and_duplicate_id(tmp_path):
    with pytest.raises(ValueError, match=r"s2orc\.jsonl:4: malformed JSON"):
        read_s2orc(FIX / "s2orc.jsonl", strict=True)
    lines = (FIX / "s2orc.jsonl").read_text().splitlines()
    p = tmp_path / "dup.jsonl"
    p.write_text("\n".join([*lines[:3], lines[6]]) + "\n")  # papers A, B, C, then A again
    with pytest.raises(ValueError, match=r"dup\.jsonl:4: duplicate id 'A' \(first on line 1\)"):
        read_s2orc(p, strict=True)


def test_s2_corpus_legacy_names():
    data, _ = warned(read_s2orc, FIX / "s2_corpus_legacy.jsonl")
    assert data.ids == ["a1", "a2", "a4"]
    assert counts_of(data) == expected(5, 3, self_loops=1, unknown=1, lines=[3])
    assert edge_set(data) == {("a1", "a2"), ("a2", "a1"), ("a4", "a1")}
    assert data.texts == {"a1": "Old one First.", "a2": "Old two", "a4": "Four Four."}
    assert data.years == {"a1": 2015, "a2": 2016, "a4": 2017}


# --------------------------------------------------------------------------------------------
# S2AG
# --------------------------------------------------------------------------------------------


def test_s2ag_counts_exactly():
    data, _ = warned(read_s2ag_citations, FIX / "s2ag_citations.jsonl")
    assert data.ids == ["1", "2", "3", "4"]
    assert counts_of(data) == expected(7, 4, 1, 1, unknown=1, lines=[7, 8, 9, 11])
    assert edge_set(data) == {("1", "2"), ("1", "3"), ("2", "3"), ("2", "1")}
    assert data.texts is None and data.years is None


def test_s2ag_known_ids():
    data, _ = warned(read_s2ag_citations, FIX / "s2ag_citations.jsonl", ids=[1, 2, 3])
    assert data.ids == ["1", "2", "3"]
    assert counts_of(data) == expected(7, 4, 1, 0, unknown=2, lines=[7, 8, 9, 11])


def test_s2ag_strict():
    with pytest.raises(ValueError, match=r"s2ag_citations\.jsonl:7: missing 'citingcorpus"):
        read_s2ag_citations(FIX / "s2ag_citations.jsonl", strict=True)


# --------------------------------------------------------------------------------------------
# OpenAlex
# --------------------------------------------------------------------------------------------


def test_openalex_counts_exactly():
    data, _ = warned(read_openalex, FIX / "openalex_works.jsonl")
    assert data.ids == ["W1", "W2", "W3", "W7"]
    assert counts_of(data) == expected(9, 5, 1, 1, unknown=2, lines=[4, 5, 6, 7, 8])
    assert edge_set(data) == {("W1", "W2"), ("W1", "W3"), ("W2", "W3"), ("W3", "W1"), ("W7", "W2")}
    assert data.texts == {
        "W1": "Graph negatives Mining the citation graph for the hardest negatives.",
        "W2": "Display only",
        "W3": "Bare id",
        "W7": "Seven",
    }
    assert data.years == {"W1": 2021, "W2": 2019, "W7": 2022}


def test_openalex_keep_external_gzip_and_strict():
    plain, _ = warned(read_openalex, FIX / "openalex_works.jsonl", keep_external=True)
    assert plain.ids[4:] == ["W9", "W8"]
    assert counts_of(plain) == expected(9, 7, 1, 1, external_nodes=2, lines=[4, 5, 6, 7, 8])
    packed, _ = warned(read_openalex, FIX / "openalex_works.jsonl.gz", keep_external=True)
    same_data(plain, packed)
    with pytest.raises(ValueError, match=r"openalex_works\.jsonl\.gz:4: duplicate id 'W2' \(first on line 2\)"):
        read_openalex(FIX / "openalex_works.jsonl.gz", strict=True)


def test_abstract_from_inverted_index():
    index = {"the": [1, 5], "citation": [2], "Mining": [0], "graph": [3], "for": [4]}
    assert abstract_from_inverted_index(index) == "Mining the citation graph for the"
    assert abstract_from_inverted_index({"b": [10], "a": [3]}) == "a b"  # gaps closed
    assert abstract_from_inverted_index({"x": [0], "y": [0]}) == "x y"  # ties keep order
    assert abstract_from_inverted_index(None) == ""
    assert abstract_from_inverted_index({}) == ""
    with pytest.raises(TypeError):
        abstract_from_inverted_index({"a": [-1]})
    with pytest.raises(TypeError):
        abstract_from_inverted_index({"a": "0"})
    with pytest.raises(TypeError):
        abstract_from_inverted_index(["a"])


# --------------------------------------------------------------------------------------------
# OGB
# --------------------------------------------------------------------------------------------


def test_ogb_counts_exactly():
    data, message = warned(read_ogb, FIX / "ogb")
    assert data.ids == ["100", "101", "102", "103"]
    assert counts_of(data) == expected(9, 4, 1, 1, unknown=3, lines=[6, 3, 8, 9])
    assert edge_set(data) == {("100", "101"), ("100", "102"), ("101", "102"), ("103", "100")}
    assert data.years == {"100": 2001, "101": 2002, "103": 2004}
    quoted = "nodeidx2paperid.csv line(s) 6; node_year.csv line(s) 3; edge.csv line(s) 8, 9"
    assert quoted in message


def test_ogb_without_mapping_and_gzipped(tmp_path):
    shutil.copytree(FIX / "ogb" / "raw", tmp_path / "plain" / "raw")
    data, _ = warned(read_ogb, tmp_path / "plain")
    assert data.ids == ["0", "1", "2", "3", "4"]
    assert counts_of(data) == expected(9, 6, 1, 1, unknown=1, lines=[3, 8, 9])
    assert data.years == {"0": 2001, "1": 2002, "3": 2004, "4": 2005}
    # The raw folder itself is accepted too.
    same_data(warned(read_ogb, tmp_path / "plain" / "raw")[0], data)

    for rel in ("raw/edge.csv", "raw/node_year.csv", "raw/num-node-list.csv",
                "mapping/nodeidx2paperid.csv"):
        gzip_copy(FIX / "ogb" / rel, tmp_path / "gz" / f"{rel}.gz")
    same_data(warned(read_ogb, tmp_path / "gz")[0], warned(read_ogb, FIX / "ogb")[0])


def test_ogb_size_mismatch_and_strict(tmp_path):
    shutil.copytree(FIX / "ogb", tmp_path / "ogb")
    (tmp_path / "ogb" / "raw" / "node_year.csv").write_text("2001\n2002\n")
    with pytest.raises(ValueError, match="has 2 lines but there are 5 nodes"):
        read_ogb(tmp_path / "ogb")
    with pytest.raises(ValueError, match=r"nodeidx2paperid\.csv:6: duplicate id '101'"):
        read_ogb(FIX / "ogb", strict=True)
    with pytest.raises(FileNotFoundError, match="not an OGB folder"):
        read_ogb(tmp_path)


# --------------------------------------------------------------------------------------------
# Planetoid (synthetic files written here; the real ones are tested further down)
# --------------------------------------------------------------------------------------------


def write_planetoid(folder: Path, graph: object = None) -> Path:
    """A 6-node Planetoid set: train nodes 0-2, test ids [5, 3], node 4 padded (no features).

    Arcs listed: 0->1, 0->2, 0->2 (duplicate), 1->0, 2->0, 2->2 (self-loop), 3->9 (outside
    the 6 nodes: unknown); read 7, kept 4.
    """
    folder.mkdir(parents=True, exist_ok=True)
    parts = {
        "allx": sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)),
        "ally": np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
        "tx": sp.csr_matrix(np.array([[2, 0], [0, 2]], dtype=np.float32)),  # nodes 5, 3
        "ty": np.array([[0, 1, 0], [1, 0, 0]]),
        "graph": graph if graph is not None else {0: [1, 2, 2], 1: [0], 2: [0, 2], 3: [9], 5: []},
    }
    for key, obj in parts.items():
        (folder / f"ind.toy.{key}").write_bytes(pickle.dumps(obj, protocol=2))
    (folder / "ind.toy.test.index").write_text("5\n3\n")
    return folder


def test_planetoid_synthetic(tmp_path):
    folder = write_planetoid(tmp_path / "p")
    data, message = warned(read_planetoid, folder, "toy")
    assert data.ids == [str(i) for i in range(6)]
    assert counts_of(data) == expected(7, 4, duplicates=1, self_loops=1, unknown=1)
    assert edge_set(data) == {("0", "1"), ("0", "2"), ("1", "0"), ("2", "0")}
    # tx[k] belongs to node test.index[k]; the gap (node 4) is an all-zero, unlabelled row.
    assert data.features.toarray().tolist() == [[1, 0], [0, 1], [1, 1], [0, 2], [0, 0], [2, 0]]
    assert data.labels.dtype == np.int64
    assert data.labels.tolist() == [0, 1, 2, 0, -1, 1]
    assert message.startswith("ind.toy.graph: 4 edges kept of 7 read")


def test_planetoid_refuses_foreign_pickles(tmp_path):
    folder = write_planetoid(tmp_path / "p")
    # A protocol-0 pickle calling os.system("true"): must be refused, never run.
    (folder / "ind.toy.graph").write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    with pytest.raises(ValueError, match="cannot read pickle"):
        read_planetoid(folder, "toy")
    (folder / "ind.toy.tx").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing ind\.toy\.tx"):
        read_planetoid(folder, "toy")


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("edges.tsv", "edges"),
        ("s2orc.jsonl", "s2orc"),
        ("s2_corpus_legacy.jsonl", "s2orc"),
        ("s2ag_citations.jsonl", "s2ag"),
        ("openalex_works.jsonl", "openalex"),
        ("openalex_works.jsonl.gz", "openalex"),
        ("ogb", "ogb"),
    ],
)
def test_auto_detection(name, fmt):
    data, _ = warned(read_citations, FIX / name)
    assert data.format == fmt


def test_auto_detection_planetoid_and_errors(tmp_path):
    folder = write_planetoid(tmp_path / "p")
    data, _ = warned(read_citations, folder)
    assert data.format == "planetoid" and data.num_nodes == 6
    with pytest.raises(ValueError, match=r"`format` must be one of 'auto', 'canonical', 'edges', .*'s2orc'"):
        read_citations(FIX / "edges.tsv", format="csv")
    p = tmp_path / "other.jsonl"
    p.write_text('{"_id": "1", "text": "not a citation format"}\n')
    with pytest.raises(ValueError, match="cannot tell the JSON lines format"):
        read_citations(p)
    with pytest.raises(ValueError, match="cannot tell the format of this folder"):
        read_citations(tmp_path / "p" / "..")
    with pytest.raises(FileNotFoundError):
        read_citations(tmp_path / "missing.tsv")
    explicit, _ = warned(read_citations, FIX / "s2ag_citations.jsonl", format="s2ag", ids=["1"])
    assert explicit.ids == ["1"]


# --------------------------------------------------------------------------------------------
# Real data (../shared/data), skipped when absent
# --------------------------------------------------------------------------------------------


def shared(sub: str) -> Path:
    folder = SHARED / sub
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} is absent")
    return folder


def test_real_planetoid_cora():
    data, message = warned(read_planetoid, shared("planetoid"), "cora")
    assert data.num_nodes == 2708
    # 10,858 listed arcs; 302 repeats; 10,556 arcs = 5,278 undirected edges, each both ways.
    assert counts_of(data) == expected(10858, 10556, duplicates=302)
    A = data.graph.adjacency
    assert (A != A.T).nnz == 0 and A.nnz // 2 == 5278
    assert data.features.shape == (2708, 1433)
    assert data.labels.min() == 0 and data.labels.max() == 6
    assert "302 duplicates" in message


def test_real_planetoid_citeseer():
    data, _ = warned(read_planetoid, shared("planetoid"), "citeseer")
    assert data.num_nodes == 3327
    assert counts_of(data) == expected(9464, 9104, duplicates=112, self_loops=248)
    assert data.graph.num_edges // 2 == 4552
    assert int((data.labels == -1).sum()) == 15
    assert data.features.shape == (3327, 3703)
    assert data.features[(data.labels == -1)].nnz == 0


def test_real_citeseer_cites():
    folder = shared("citeseer_text")
    with open(folder / "nodes.jsonl", encoding="utf-8") as fh:
        ids = [json.loads(line)["_id"] for line in fh]
    data, _ = warned(read_edge_list, folder / "citeseer.cites", reverse=True, ids=ids)
    assert data.num_nodes == 3186
    assert counts_of(data) == expected(4732, 4277, self_loops=120, unknown=335)
    # Same edges as the converted edges.tsv (header citing<TAB>cited).
    with open(folder / "edges.tsv", encoding="utf-8") as fh:
        next(fh)
        reference = {tuple(line.rstrip("\n").split("\t")) for line in fh if line.strip()}
    assert edge_set(data) == reference


def test_auto_detection_bare_openalex_id(tmp_path):
    p = tmp_path / "works.jsonl"
    p.write_text('{"id": "W1", "title": "t"}\n')
    assert read_citations(p).format == "openalex"


# --------------------------------------------------------------------------------------------
# The shared line rules: one integer a line (OGB node counts, Planetoid test index), and
# lenient lines (a bad byte is one malformed line in every reader)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "shown"), [("5\nfive\n", "'five'"), (b"5\n\xff\n", "invalid UTF-8")])
def test_integer_files_name_the_bad_line(tmp_path, content, shown):
    shutil.copytree(FIX / "ogb" / "raw", tmp_path / "ogb" / "raw")
    planetoid = write_planetoid(tmp_path / "p")
    for path, read in ((tmp_path / "ogb" / "raw" / "num-node-list.csv", lambda: read_ogb(tmp_path / "ogb")),
                       (planetoid / "ind.toy.test.index", lambda: read_planetoid(planetoid, "toy"))):
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        with pytest.raises(ValueError, match=rf"^{re.escape(path.name)}:2: not an integer: {shown} "):
            read()


def test_bad_byte_is_one_malformed_line_in_every_reader(tmp_path):
    shutil.copytree(FIX / "ogb" / "raw", tmp_path / "ogb" / "raw")
    (tmp_path / "ogb" / "raw" / "node_year.csv").unlink()  # it has a malformed line of its own
    (tmp_path / "ogb" / "raw" / "edge.csv").write_bytes(b"0,1\n\xff,2\n\n1,2\n")
    (tmp_path / "e.tsv").write_bytes(b"a\tb\n\xff\tc\n\nb\tc\n")
    (tmp_path / "w.jsonl").write_bytes(b'{"id": "W1", "referenced_works": ["W2"]}\n\xff\n\n{"id": "W2"}\n')
    for read, path in ((read_ogb, tmp_path / "ogb"), (read_edge_list, tmp_path / "e.tsv"),
                       (read_openalex, tmp_path / "w.jsonl")):
        data, message = warned(read, path)
        assert data.counts.malformed == 1 and data.counts.malformed_lines == [2], read.__name__
        assert "line(s) 2" in message  # the blank line 3 is not counted
        with pytest.raises(ValueError, match=r":2: not valid UTF-8"):
            read(path, strict=True)
