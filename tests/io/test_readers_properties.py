"""Property tests of the citation readers.

(a) Whatever bytes a file holds, the edge-list reader and the dispatcher return a valid
    graph or raise the documented ``ValueError``: never another exception, never a hang.
(b) A valid edge list (int or str ids, tab / comma / space, with or without a header line)
    reads back to exactly its nodes and edges, with self-loops and repeats counted.
"""

from __future__ import annotations

import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from graphneg.io import CitationData, read_citations, read_edge_list

SETTINGS = settings(
    max_examples=100,
    deadline=timedelta(seconds=5),  # a hang or a quadratic blow-up fails the example
    suppress_health_check=[HealthCheck.too_slow],
)
NAMES = ("edges.tsv", "edges.csv", "edges.txt", "works.jsonl")


def check_valid(data: CitationData) -> None:
    """A well-formed result: counts add up, ids are unique non-empty strings."""
    assert isinstance(data, CitationData)
    c = data.counts
    assert c is data.graph.counts
    assert c.read == c.kept + c.duplicates + c.self_loops + c.unknown
    assert c.kept == data.graph.num_edges
    assert c.malformed == len(c.malformed_lines)
    ids = data.ids
    assert len(set(ids)) == len(ids) == data.num_nodes
    assert all(isinstance(i, str) and i for i in ids)


def read_quietly(reader, path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skip summaries are documented, not failures
        return reader(path, **kwargs)


# --------------------------------------------------------------------------------------------
# (a) arbitrary bytes
# --------------------------------------------------------------------------------------------

# Text-like garbage reaches the parsers further than uniform random bytes do.
_PIECES = st.sampled_from(
    ["\t", ",", " ", "\n", "\r\n", "#", "{", "}", "[", "]", '"', ":", "1", "-2", "a", "é",
     "citing", "cited", "null", "1.5", "NaN", '{"id": ', '"citingcorpusid": ', "\x00",
     "\ufeff", "\u2028"]
)
_TEXTISH = st.lists(_PIECES, max_size=60).map(lambda parts: "".join(parts).encode("utf-8"))
_BYTES = st.one_of(
    st.binary(max_size=600),
    _TEXTISH,
    st.tuples(_TEXTISH, st.binary(max_size=20), _TEXTISH).map(lambda t: b"".join(t)),
)


@SETTINGS
@given(content=_BYTES, name=st.sampled_from(NAMES), dispatch=st.booleans(), strict=st.booleans())
def test_any_bytes_read_or_value_error(content: bytes, name: str, dispatch: bool, strict: bool):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        reader = read_citations if dispatch else read_edge_list
        try:
            data = read_quietly(reader, path, strict=strict)
        except ValueError as err:  # the documented error: one line naming the file
            message = str(err)
            assert name in message, message
            assert "\n" not in message, message
            return
        check_valid(data)


# --------------------------------------------------------------------------------------------
# (b) valid edge lists
# --------------------------------------------------------------------------------------------

_HEADERS = (("citing", "cited"), ("source", "target"), ("src", "dst"), ("from", "to"))
# Str ids always start with "x": never a number, never a header name, never a comment.
_STR_ID = st.text(
    alphabet=st.sampled_from("abcXYZ019-_.:/éß中"), min_size=0, max_size=6
).map(lambda s: "x" + s)
_INT_ID = st.integers(min_value=-(10**12), max_value=10**12)


@st.composite
def edge_lists(draw):
    ids = draw(st.sampled_from([_STR_ID, _INT_ID]))
    pool = draw(st.lists(ids, min_size=1, max_size=12, unique=True))
    node = st.sampled_from(pool)
    pairs = draw(st.lists(st.tuples(node, node), min_size=1, max_size=40))
    delimiter = draw(st.sampled_from(["\t", ",", " "]))
    header = draw(st.none() | st.sampled_from(_HEADERS))
    name = draw(st.sampled_from(["e.tsv", "e.csv", "e.txt", "e.edges"]))
    return pairs, delimiter, header, name


@SETTINGS
@given(case=edge_lists(), dispatch=st.booleans())
def test_valid_edge_list_reads_back(case, dispatch: bool):
    pairs, delimiter, header, name = case
    lines = [delimiter.join(header)] if header else []
    lines += [f"{a}{delimiter}{b}" for a, b in pairs]
    text_pairs = [(str(a), str(b)) for a, b in pairs]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        data = read_quietly(read_citations if dispatch else read_edge_list, path)
    check_valid(data)
    # Nodes: every id met, in order of first appearance (citing before cited on a line).
    assert data.ids == list(dict.fromkeys(i for pair in text_pairs for i in pair))
    expected = {(a, b) for a, b in text_pairs if a != b}
    ids = data.ids
    assert {(ids[s], ids[t]) for s, t in data.graph.to_edge_index().T.tolist()} == expected
    loops = sum(a == b for a, b in text_pairs)
    c = data.counts
    assert (c.read, c.kept, c.self_loops) == (len(pairs), len(expected), loops)
    assert c.duplicates == len(pairs) - loops - len(expected)
    assert c.unknown == 0 and c.malformed == 0
