"""One id rule wherever ids enter a LinkGraph: ints -> str, bad ids rejected."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import LinkGraph


def test_int_and_str_of_the_same_id_are_one_node():
    g = LinkGraph.from_edges([1, "1", np.int64(2)], ["2", 3, 1], warn=False)
    assert g.ids == ["1", "2", "3"]
    assert g.num_edges == 3 and g.counts.duplicates == 0
    assert g.index([1, "1", np.int32(3)]).tolist() == [0, 0, 2]
    assert 1 in g and "1" in g and None not in g and 1.0 not in g


def test_ids_argument_is_normalised_and_duplicates_across_types_raise():
    g = LinkGraph.from_edges([1], ["2"], ids=["1", 2], warn=False)
    assert g.ids == ["1", "2"] and g.num_edges == 1
    with pytest.raises(ValueError, match=r"`ids` must be unique, got '1' at positions 0 and 1"):
        LinkGraph.from_edges([1], [2], ids=[1, "1"])
    with pytest.raises(ValueError, match="`ids` must be unique"):
        LinkGraph(sp.csr_array((2, 2)), ids=[7, "7"])
    assert LinkGraph(sp.csr_array((2, 2)), ids=np.array([5, 6])).ids == ["5", "6"]


@pytest.mark.parametrize(
    "bad, err, where",
    [
        (None, TypeError, r"sources\[1\]"),
        (float("nan"), TypeError, r"sources\[1\]"),
        (np.float64("nan"), TypeError, r"sources\[1\]"),
        (1.0, TypeError, r"sources\[1\]"),
        (True, TypeError, r"sources\[1\]"),
        (b"a", TypeError, r"sources\[1\]"),
        ("", ValueError, r"sources\[1\]"),
    ],
)
def test_bad_edge_ids_are_rejected_with_their_position(bad, err, where):
    with pytest.raises(err, match=where):
        LinkGraph.from_edges(["a", bad], ["b", "c"])
    with pytest.raises(err, match=where.replace("sources", "targets")):
        LinkGraph.from_edges(["a", "b"], ["b", bad])


def test_nan_from_a_float_column_is_rejected_not_merged():
    # pandas turns an int column with a gap into float64: [1.0, nan, 3.0]
    column = np.array([1.0, np.nan, 3.0])
    with pytest.raises(TypeError, match=r"sources\[0\].*float"):
        LinkGraph.from_edges(column, np.array([2, 2, 2]))
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"src": ["a", None, "c"], "dst": ["b", "b", np.nan]})
    with pytest.raises(TypeError, match=r"sources\[1\]"):
        LinkGraph.from_edges(df["src"], df["dst"])
    df = pd.DataFrame({"src": [1, 2], "dst": [2, 3]})
    assert LinkGraph.from_edges(df["src"], df["dst"]).ids == ["1", "2", "3"]


@pytest.mark.parametrize("bad", [None, float("nan"), 2.5, ""])
def test_bad_ids_argument_rejected_everywhere(bad):
    err = ValueError if bad == "" else TypeError
    with pytest.raises(err, match=r"ids\[1\]"):
        LinkGraph(sp.csr_array((2, 2)), ids=["a", bad])
    with pytest.raises(err, match=r"ids\[1\]"):
        LinkGraph.from_edges(["a"], ["a"], ids=["a", bad])
    with pytest.raises(err, match=r"ids\[1\]"):
        LinkGraph.from_index_edges([[0, 1]], 2, ids=["a", bad], layout="pairs")
    with pytest.raises(err, match=r"ids\[1\]"):
        LinkGraph.from_index_arrays([0], [1], ["a", bad])


def test_keep_unknown_merges_int_and_str():
    g = LinkGraph.from_edges([1, "a"], ["9", 9], ids=["1", "a"], keep_unknown=True, warn=False)
    assert g.ids == ["1", "a", "9"] and g.counts.external_nodes == 1 and g.num_edges == 2


def test_networkx_int_nodes_become_str_and_odd_nodes_raise():
    g = LinkGraph.from_networkx(nx.DiGraph([(1, 2), (2, 3)]))
    assert g.ids == ["1", "2", "3"] and g.has_edges(*g.index([1, 2])[:, None]).all()
    with pytest.raises(TypeError, match=r"graph\.nodes\[0\]"):
        LinkGraph.from_networkx(nx.DiGraph([((0, 1), (0, 2))]))
    with pytest.raises(ValueError, match="unique"):
        LinkGraph.from_networkx(nx.DiGraph([(1, "1")]))


def test_num_names_are_the_one_spelling():
    g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 0]], num_nodes=4)
    assert (g.num_nodes, g.num_edges) == (4, 3)
    assert not hasattr(g, "n_nodes") and not hasattr(g, "n_edges")
    with pytest.raises(TypeError, match="n_nodes"):
        LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 0]], n_nodes=4)


def test_drop_warnings_point_at_the_callers_line():
    from graphneg import GraphNegWarning

    for build in (
        lambda: LinkGraph.from_edges(["a", "a"], ["a", "b"]),
        lambda: LinkGraph.from_index_edges([[0, 0], [0, 1], [1, 2]], 3),
        lambda: LinkGraph.from_index_arrays([0], [0], ["a"]),
    ):
        with pytest.warns(GraphNegWarning) as rec:
            build()
        assert rec[0].filename == __file__
