"""Edge lists as people have them, bad files, and the one id rule in the citation readers."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import pytest

from graphneg.exceptions import GraphNegWarning
from graphneg.io import read_citations, read_edge_list, read_openalex, read_s2ag_citations, read_s2orc

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "citations"


def edges_of(data) -> set[tuple[str, str]]:
    ids = data.ids
    return {(ids[a], ids[b]) for a, b in data.graph.to_edge_index().T.tolist()}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


# --------------------------------------------------------------------------------------------
# Delimiters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("e.csv", "1,2\n2,3\n3,1\n"),
        ("e.tsv", "1\t2\n2\t3\n3\t1\n"),
        ("e.txt", "1 2\n2  3\n3\t1\n"),
        ("e.txt", "1,2\n2,3\n3,1\n"),  # a comma file with a neutral name: sniffed
        ("e.tsv", "1,2\n2,3\n3,1\n"),  # a misnamed file: the content wins
        ("e.csv", "1, 2\n2 ,3\n\"3\",\"1\"\n"),  # spaces and quotes around fields
        ("e.edges", "# SNAP style\n# comment\n1\t2\n2\t3\n3\t1\n"),
    ],
)
def test_delimiter_detected(tmp_path, name, text):
    data = read_edge_list(write(tmp_path, name, text))
    assert edges_of(data) == {("1", "2"), ("2", "3"), ("3", "1")}
    assert data.counts.malformed == 0


def test_delimiter_detection_keeps_ids_with_spaces_in_tsv(tmp_path):
    p = write(tmp_path, "e.tsv", "paper one\tpaper two\npaper two\tpaper three\n")
    assert edges_of(read_edge_list(p)) == {
        ("paper one", "paper two"), ("paper two", "paper three")
    }


@pytest.mark.parametrize(
    ("delimiter", "text"),
    [
        ("tab", "a\tb\nb\tc\n"),
        ("\\t", "a\tb\nb\tc\n"),
        ("\t", "a\tb\nb\tc\n"),
        ("comma", "a,b\nb,c\n"),
        (",", "a,b\nb,c\n"),
        ("semicolon", "a;b\nb;c\n"),
        ("|", "a|b\nb|c\n"),
        ("whitespace", "a  b\nb \t c\n"),
        ("space", "a b\nb c\n"),
        (None, "a b\nb c\n"),
    ],
)
def test_explicit_delimiter(tmp_path, delimiter, text):
    p = write(tmp_path, "e.dat", text)
    assert edges_of(read_edge_list(p, delimiter=delimiter)) == {("a", "b"), ("b", "c")}
    assert edges_of(read_citations(p, delimiter=delimiter)) == {("a", "b"), ("b", "c")}


def test_explicit_delimiter_overrides_the_extension(tmp_path):
    p = write(tmp_path, "e.csv", "a,b\tc\n")
    assert edges_of(read_edge_list(p, delimiter="\t")) == {("a,b", "c")}


@pytest.mark.parametrize("bad", ["", "\n", 3, b","])
def test_bad_delimiter(tmp_path, bad):
    p = write(tmp_path, "e.tsv", "a\tb\n")
    with pytest.raises(ValueError, match="`delimiter`"):
        read_edge_list(p, delimiter=bad)


# --------------------------------------------------------------------------------------------
# Header lines
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    ["citing\tcited", "source\ttarget", "Source\tTarget", "src\tdst", '"citing"\t"cited"',
     "citing paper id\tcited paper id", "paper\treference"],
)
def test_header_names_detected(tmp_path, first):
    p = write(tmp_path, "e.tsv", f"{first}\na\tb\nb\tc\n")
    data = read_edge_list(p)  # header="auto" is the default
    assert edges_of(data) == {("a", "b"), ("b", "c")}


def test_header_non_numeric_over_numeric_rows(tmp_path):
    p = write(tmp_path, "e.csv", "from_paper,to_paper\n10,20\n20,30\n")
    assert read_edge_list(p).ids == ["10", "20", "30"]
    # Non-numeric ids throughout: the first line is data.
    p = write(tmp_path, "f.csv", "x,y\ny,z\n")
    assert edges_of(read_edge_list(p)) == {("x", "y"), ("y", "z")}


def test_header_explicit(tmp_path):
    p = write(tmp_path, "e.tsv", "a\tb\nb\tc\n")
    assert edges_of(read_edge_list(p, header=True)) == {("b", "c")}
    p = write(tmp_path, "f.tsv", "citing\tcited\nb\tc\n")
    assert edges_of(read_edge_list(p, header=False)) == {("citing", "cited"), ("b", "c")}
    with pytest.raises(TypeError, match="`header`"):
        read_edge_list(p, header="yes")


def test_header_after_comments_and_blank_lines(tmp_path):
    p = write(tmp_path, "e.tsv", "# exported\n\nciting\tcited\n1\t2\n")
    assert edges_of(read_edge_list(p)) == {("1", "2")}


def test_header_on_gzip_and_citeseer_layout(tmp_path):
    p = tmp_path / "edges.tsv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("citing\tcited\n100157\t100157\n100598\t101570\n")
    with pytest.warns(GraphNegWarning, match="1 self-loops"):
        data = read_citations(p)
    assert edges_of(data) == {("100598", "101570")}


def test_read_citations_passes_delimiter_and_header(tmp_path):
    p = write(tmp_path, "e.txt", "a;b\nb;c\n")
    assert edges_of(read_citations(p, format="edges", delimiter=";", header=False)) == {
        ("a", "b"), ("b", "c")
    }
    j = write(tmp_path, "c.jsonl", '{"citingcorpusid": 1, "citedcorpusid": 2}\n')
    with pytest.raises(ValueError, match="apply to edge lists only"):
        read_citations(j, delimiter=",")
    with pytest.raises(ValueError, match="apply to edge lists only"):
        read_citations(j, header=True)


# --------------------------------------------------------------------------------------------
# Files without records, binary files, strict errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("empty.tsv", b"", "no data lines"),
        ("comments.tsv", b"# only\n\n# comments\n", "no data lines"),
        ("header.tsv", b"citing\tcited\n", "no data lines"),
        ("one.csv", b"1\n2\n3\n", r"all 3 data line\(s\) are malformed \(first: one\.csv:1:"),
        ("bad.tsv", b"\xfd\xfc\n\xc3\x28\n", "not valid UTF-8"),
        ("latin1.tsv", b"caf\xe9\tb\xe9\n", r"latin1\.tsv:1: not valid UTF-8"),
        ("nul.tsv", bytes(range(256)) * 4, "binary"),
        ("packed.tsv", gzip.compress(b"a\tb\n"), "gzip-compressed"),
        ("utf16.tsv", "a\tb\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_no_records_is_an_error_naming_the_file(tmp_path, name, content, detail):
    p = write(tmp_path, name, content)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")) as info:
        read_edge_list(p)
    assert "\n" not in str(info.value)
    assert info.match(detail)


def test_no_records_in_jsonl_readers(tmp_path):
    p = write(tmp_path, "w.jsonl", '{"id": null}\n{"id": 1.5}\nnot json\n')
    for reader in (read_s2orc, read_openalex, read_s2ag_citations):
        with pytest.raises(ValueError, match=r"w\.jsonl: no records .* all 3 data line\(s\)"):
            reader(p)
    empty = write(tmp_path, "e.jsonl", "")
    with pytest.raises(ValueError, match=r"e\.jsonl: no records"):
        read_s2orc(empty)


def test_strict_names_file_and_line(tmp_path):
    p = write(tmp_path, "edges.csv", "1,2\n2,3\n3,4\n4,5\n5,6\n6,7\nseven\n")
    with pytest.raises(ValueError, match=r"^edges\.csv:7: expected 2 non-empty fields"):
        read_edge_list(p, strict=True)
    p = write(tmp_path, "bytes.tsv", b"a\tb\n\xff\tc\n")
    with pytest.raises(ValueError, match=r"^bytes\.tsv:2: not valid UTF-8"):
        read_edge_list(p, strict=True)


def test_one_bad_line_in_good_text_is_counted(tmp_path):
    p = write(tmp_path, "e.tsv", b"a\tb\n\xff\xfe\tc\nb\tc\n")
    with pytest.warns(GraphNegWarning, match=r"line\(s\) 2"):
        data = read_edge_list(p)
    assert data.counts.malformed_lines == [2] and data.graph.num_edges == 2


def test_absurd_json_is_a_malformed_line(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    huge = '{"citingcorpusid": ' + "9" * 5000 + ', "citedcorpusid": 1}'
    p = write(tmp_path, "c.jsonl", "\n".join(
        ['{"citingcorpusid": 1, "citedcorpusid": 2}', deep, huge]) + "\n")
    with pytest.warns(GraphNegWarning, match=r"line\(s\) 2, 3"):
        data = read_s2ag_citations(p)
    assert data.graph.num_edges == 1


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        read_edge_list(tmp_path / "nope.tsv")


# --------------------------------------------------------------------------------------------
# The one id rule
# --------------------------------------------------------------------------------------------


def test_json_int_and_str_ids_are_one_node(tmp_path):
    recs = [
        {"paper_id": 1, "outbound_citations": ["2", 3]},
        {"paper_id": "2", "outbound_citations": [1]},
        {"paper_id": 3, "inbound_citations": [2]},
    ]
    p = write(tmp_path, "m.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    data = read_s2orc(p)
    assert data.ids == ["1", "2", "3"]
    assert edges_of(data) == {("1", "2"), ("1", "3"), ("2", "1"), ("2", "3")}


@pytest.mark.parametrize(
    ("value", "shown"),
    [("null", "None"), ("1.0", "1.0"), ("NaN", "nan"), ("true", "True"), ('""', "''"),
     ("[1]", r"\[1\]")],
)
def test_json_bad_ids_are_malformed_with_line(tmp_path, value, shown):
    p = write(tmp_path, "c.jsonl",
              '{"citingcorpusid": 1, "citedcorpusid": 2}\n'
              f'{{"citingcorpusid": {value}, "citedcorpusid": 2}}\n')
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = read_s2ag_citations(p)
    assert data.counts.malformed_lines == [2]
    assert any("line(s) 2" in str(w.message) for w in record)
    with pytest.raises(ValueError, match=rf"^c\.jsonl:2: 'citingcorpusid' must be .*got {shown}"):
        read_s2ag_citations(p, strict=True)


def test_json_ids_are_not_stripped(tmp_path):
    p = write(tmp_path, "c.jsonl", '{"citingcorpusid": " 1", "citedcorpusid": 1}\n')
    assert read_s2ag_citations(p).ids == [" 1", "1"]


def test_known_ids_follow_the_rule(tmp_path):
    p = write(tmp_path, "e.tsv", "1\t2\n2\t3\n")
    with pytest.warns(GraphNegWarning, match="1 unknown"):
        data = read_edge_list(p, ids=[1, "2"])
    assert data.ids == ["1", "2"] and edges_of(data) == {("1", "2")}
    with pytest.raises(TypeError, match=r"ids\[1\]"):
        read_edge_list(p, ids=[1, 2.0])
    with pytest.raises(ValueError, match="`ids` must be unique"):
        read_edge_list(p, ids=[1, "1"])
    with pytest.raises(TypeError, match=r"ids\[0\]"):
        read_s2ag_citations(FIX / "s2ag_citations.jsonl", ids=[None])


def test_openalex_int_ids_follow_the_rule(tmp_path):
    p = write(tmp_path, "w.jsonl", '{"id": "W1", "referenced_works": [2]}\n{"id": 2}\n')
    data = read_openalex(p)
    assert data.ids == ["W1", "2"] and edges_of(data) == {("W1", "2")}


# --------------------------------------------------------------------------------------------
# Files that are not edge lists (issue 23)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("id,title,year\n1,Paper A,2001\n2,Paper B,2002\n", "meta.csv:1:"),
        ("paper_id,title\n1,Paper A\n2,Paper B\n", "meta.csv:1:"),
        ("1,2,Paper A\n2,3,Paper B\n", "meta.csv:1:"),
        ("# a comment\nsource,target,note\n1,2,see text\n", "meta.csv:3:"),
    ],
)
def test_metadata_table_is_refused_with_file_and_line(tmp_path, text, where):
    p = write(tmp_path, "meta.csv", text)
    with pytest.raises(ValueError, match="not an edge list") as err:
        read_citations(p)
    assert str(err.value).startswith(where)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="not an edge list"):
        read_edge_list(p)


@pytest.mark.parametrize(
    "text",
    [
        "source,target,weight\n1,2,0.5\n2,3,1\n",  # weighted
        "1 2 1234567890\n2 3 1234567891\n",  # SNAP temporal: a timestamp
        "1\t2\t\n2\t3\t2.5e3\n",  # an empty or numeric third column
    ],
)
def test_numeric_third_column_is_a_weight_or_timestamp_and_ignored(tmp_path, text):
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphNegWarning)
        data = read_edge_list(write(tmp_path, "e.txt", text))
    assert edges_of(data) == {("1", "2"), ("2", "3")}
