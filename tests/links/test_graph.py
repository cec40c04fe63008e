from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import GraphNegWarning, LinkGraph


def test_from_edges_counts_and_mapping():
    with pytest.warns(GraphNegWarning, match="1 duplicates, 1 self-loops, 1 unknown"):
        g = LinkGraph.from_edges(["a", "a", "a", "b", "x"], ["b", "b", "a", "c", "a"], ids=["a", "b", "c"])
    assert (g.num_nodes, g.num_edges) == (3, 2)
    assert (g.counts.read, g.counts.kept, g.counts.duplicates, g.counts.self_loops, g.counts.unknown) == (5, 2, 1, 1, 1)
    g2 = LinkGraph.from_edges(["a", "x"], ["b", "y"], ids=["a", "b"], keep_unknown=True, warn=False)
    assert g2.ids == ["a", "b", "x", "y"] and g2.counts.external_nodes == 2 and g2.num_edges == 2
    with pytest.raises(KeyError, match="unknown node id 'zz'"):
        g.index(["zz"])


def test_constructor_drops_and_counts_self_loops_and_zeros():
    g = LinkGraph(sp.csr_array(([1.0, 0.0, 1.0], ([0, 1, 1], [0, 0, 2])), shape=(3, 3)))
    assert g.num_edges == 1 and g.counts.self_loops == 1
    assert g.to_edge_index().tolist() == [[1], [2]]


def test_edge_index_layouts_round_trip():
    g = LinkGraph.from_index_edges([[0, 2], [1, 3]], 4, layout="pairs")
    again = LinkGraph.from_index_edges(g.to_edge_index(), 4, layout="edge_index")
    assert (again.adjacency != g.adjacency).nnz == 0
    with pytest.raises(ValueError, match="ambiguous"):
        LinkGraph.from_index_edges([[0, 1], [2, 3]], 4)
    many = LinkGraph.from_index_edges(np.array([[0, 1, 2], [1, 2, 3]]), 4)  # (2, E): edge_index
    assert many.num_edges == 3 and many.has_edges([0, 1, 2], [1, 2, 3]).all()


def test_degrees_reverse_undirected_hops():
    g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [0, 2]], 5)
    assert g.out_degree().tolist() == [2, 1, 1, 0, 0] and g.in_degree().tolist() == [0, 1, 2, 1, 0]
    assert g.reverse().has_edges([1], [0])[0] and not g.reverse().has_edges([0], [1])[0]
    U = g.undirected()
    assert (U != U.T).nnz == 0 and U.nnz == 8
    D = g.hop_distances([0, 4], 3).toarray()
    assert D[0].tolist() == [0, 1, 1, 2, 0] and D[1].sum() == 0
    assert g.k_hop([0], 2)[0].tolist() == [3]
    assert g.hop_distances([0], 2, directed=True).toarray()[0].tolist() == [0, 1, 1, 2, 0]


def test_networkx_and_igraph_round_trips():
    nxg = nx.DiGraph([("a", "b"), ("b", "c")])
    g = LinkGraph.from_networkx(nxg)
    assert g.ids == ["a", "b", "c"] and g.num_edges == 2
    back = g.to_networkx()
    assert set(back.edges()) == {("a", "b"), ("b", "c")}
    ig_back = LinkGraph.from_igraph(g.to_igraph())
    assert ig_back.ids == g.ids and (ig_back.adjacency != g.adjacency).nnz == 0
    und = LinkGraph.from_networkx(nx.path_graph(3))
    assert und.num_edges == 4  # undirected: links both ways


def test_bad_input():
    with pytest.raises(ValueError, match="`ids` must be unique"):
        LinkGraph(sp.csr_array((2, 2)), ids=["a", "a"])
    with pytest.raises(ValueError, match="square"):
        LinkGraph(sp.csr_array((2, 3)))
    with pytest.raises(ValueError, match="`sources` holds row 9"):
        LinkGraph(sp.csr_array((3, 3))).hop_distances([9], 1)
