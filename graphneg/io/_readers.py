"""Streaming readers for the citation data users arrive with, into a :class:`LinkGraph`.

Every reader returns a :class:`CitationData`: a directed graph (row = citing paper, column =
cited paper) whose ids are the external ids of the source as ``str``, plus the texts and
years the format carries. Files whose name ends in ``.gz`` are decompressed on the fly, and
line-oriented files are read one line at a time, so a dump larger than memory only costs
the graph itself.

Formats and their direction conventions (``shared/research/link-structure-negatives.md`` §7)

=================  ========================================  ================================
reader             input                                     edge citing -> cited
=================  ========================================  ================================
read_edge_list     TSV / CSV / whitespace edge lists         ``col0 -> col1``; ``reverse=True``
                   (delimiter and header line detected)      for LINQS ``.cites`` (cited first)
read_s2orc         S2ORC metadata JSONL (and old s2-corpus)  ``outbound_citations`` plus
                                                             ``inbound_citations`` (citer ->)
read_s2ag_citations S2AG "citations" dataset JSONL           ``citingcorpusid -> citedcorpusid``
read_openalex      OpenAlex works JSONL                      ``id -> referenced_works``
read_planetoid     Planetoid ``ind.<name>.*`` pickles        undirected: both arcs as listed
read_ogb           OGB raw folder (``raw/edge.csv.gz``)      ``src -> dst``
=================  ========================================  ================================

Nothing is lost silently. A line that cannot be read (bad JSON, a missing or mistyped field,
too few columns, invalid UTF-8, a repeated node id) is skipped and counted as *malformed* with
its line number; ``strict=True`` raises a ``ValueError`` naming file and line
(``edges.csv:7: ...``) instead. A file that yields no record at all (empty, binary, every
line malformed) raises a ``ValueError`` naming it rather than returning an empty graph.
Ids follow one rule (:mod:`graphneg._ids`): strings as they are, integers as their decimal
string, so ``1`` and ``"1"`` are the same node ``"1"``; null and float ids are malformed.
Repeated edges, self-citations and references to ids outside the corpus are dropped and
counted (``keep_external=True`` keeps the references, adding their targets as external
nodes after the corpus nodes). The counts end up in :attr:`CitationData.counts`, with
``read == kept + duplicates + self_loops + unknown``, and one
:class:`~graphneg.exceptions.GraphNegWarning` per call summarises them whenever something
was dropped or skipped.

Layout: this module holds detection and :func:`read_citations` and re-exports the readers
(``X as X`` imports: ``graphneg.io`` reads them here);
``_readers_base`` the shared line input, bookkeeping and edge assembly, ``_readers_edges``
edge lists (clean ones read column-wise by ``_readers_edges_columns``), ``_readers_jsonl`` the one JSONL streaming skeleton that ``_readers_s2``
(S2ORC, S2AG) and ``_readers_openalex`` plug their record parsers into,
``_readers_planetoid`` and ``_readers_ogb`` the folder formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from .._validation import check_choice
from ..links._graph import LinkGraph
from ._jsonl import parse_line
from ._readers_base import CitationData, PathLike, iter_lines
from ._readers_edges import DELIMITER_NAMES as DELIMITER_NAMES
from ._readers_edges import read_edge_list
from ._readers_ogb import ogb_layout, read_ogb
from ._readers_openalex import OPENALEX_KEYS, looks_openalex, read_openalex
from ._readers_openalex import abstract_from_inverted_index as abstract_from_inverted_index
from ._readers_planetoid import read_planetoid
from ._readers_s2 import read_s2ag_citations, read_s2orc

FORMATS = ("auto", "edges", "s2orc", "s2ag", "openalex", "planetoid", "ogb", "canonical")

# How many leading lines format sniffing may look at before giving up on finding a record.
_SNIFF_LINES = 50
_S2ORC_KEYS = frozenset(
    {"paper_id", "outbound_citations", "inbound_citations", "outCitations", "inCitations",
     "paperAbstract"}
)


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------


def _planetoid_names(folder: Path) -> list[str]:
    return sorted(p.name[len("ind.") : -len(".graph")] for p in folder.glob("ind.*.graph"))


def _json_format(path: Path, keys: set[str], rec: dict[str, Any]) -> str:
    """The JSONL format of a first record with ``keys``."""
    if keys & {"citingcorpusid", "citedcorpusid"}:
        return "s2ag"
    if keys & OPENALEX_KEYS or looks_openalex(rec.get("id")):
        return "openalex"
    if keys & _S2ORC_KEYS:
        return "s2orc"
    raise ValueError(
        f"{path.name}: cannot tell the JSON lines format from keys {sorted(keys)[:10]}; "
        "pass format='s2orc', 's2ag' or 'openalex'."
    )


def _sniff_json(path: Path) -> str | None:
    """The JSONL format of ``path`` from its first record's keys; None if not JSONL."""
    looked = 0
    seen_brace = False
    for _, line in iter_lines(path):
        if line is None or not line.strip():
            continue
        looked += 1
        if looked > _SNIFF_LINES:
            break
        if not line.lstrip().startswith("{"):
            if not seen_brace:
                return None
            continue
        seen_brace = True
        rec, _ = parse_line(line)  # a bad line is no verdict: the next one may be read
        if rec is not None:
            return _json_format(path, set(rec), rec)
    if seen_brace:
        raise ValueError(
            f"{path.name}: no readable JSON object in its first {_SNIFF_LINES} lines; "
            "pass `format`."
        )
    return None


def _detect(path: Path) -> str:
    if path.is_dir():
        if (path / "nodes.jsonl").is_file() and (path / "edges.tsv").is_file():
            return "canonical"
        if _planetoid_names(path):
            return "planetoid"
        if ogb_layout(path) is not None:
            return "ogb"
        raise ValueError(
            f"{path}: cannot tell the format of this folder (no ind.<name>.graph Planetoid "
            "files, no raw/edge.csv(.gz) OGB layout); pass `format`."
        )
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder.")
    return _sniff_json(path) or "edges"


# --------------------------------------------------------------------------------------------
# Readers without a module of their own, and the dispatcher
# --------------------------------------------------------------------------------------------


def read_canonical(path: PathLike, *, strict: bool = True) -> CitationData:
    """Read graphneg's canonical graph-corpus folder (``nodes.jsonl`` + ``edges.tsv``).

    Parameters
    ----------
    path : str or path-like
        The folder ``datasets/`` writes (e.g. CiteSeer with text).
    strict : bool, default=True
        Accepted for a uniform call: canonical files are written by graphneg, so they are
        always read strictly (:func:`graphneg.io.load_graph_corpus`).

    Returns
    -------
    CitationData
        With the corpus texts, features and labels.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import scipy.sparse as sp
    >>> from graphneg.io import GraphCorpus, save_graph_corpus
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "corpus"
    >>> edges = sp.csr_array(([1.0], ([0], [1])), shape=(2, 2))
    >>> _ = save_graph_corpus(GraphCorpus(["a", "b"], edges, texts=["A", "B"]), d)
    >>> data = read_canonical(d)
    >>> data.ids, data.graph.num_edges, data.texts["b"]
    (['a', 'b'], 1, 'B')
    """
    from ._corpus_graph import load_graph_corpus

    del strict
    corpus = load_graph_corpus(path)
    graph = LinkGraph(corpus.edges, corpus.ids)
    texts = dict(zip(corpus.ids, corpus.texts, strict=True)) if corpus.texts is not None else None
    return CitationData(graph, graph.counts, texts=texts, features=corpus.features,
                        labels=corpus.labels, format="canonical")


def _edge_list_options(
    path: Path, kwargs: dict[str, Any], delimiter: str | None, header: bool | str, auto: bool
) -> None:
    """Put the edge-list options into ``kwargs`` (LINQS defaults for auto-detected .cites)."""
    if auto and path.name.removesuffix(".gz").endswith(".cites"):
        kwargs.setdefault("reverse", True)
        if delimiter == "auto":
            delimiter = None
    kwargs["delimiter"] = delimiter
    kwargs["header"] = header


def read_citations(
    path: PathLike,
    format: str = "auto",
    *,
    delimiter: str | None = "auto",
    header: bool | Literal["auto"] = "auto",
    **kwargs: Any,
) -> CitationData:
    """Read citation data in any supported format; ``"auto"`` detects it.

    Parameters
    ----------
    path : str or path-like
        A file, or a folder for ``"planetoid"``, ``"ogb"`` and ``"canonical"``.
    format : {"auto", "edges", "s2orc", "s2ag", "openalex", "planetoid", "ogb", "canonical"}
        ``"auto"``: a folder with ``nodes.jsonl`` and ``edges.tsv`` is graphneg's canonical
        corpus, one with ``ind.<name>.graph`` files is Planetoid, one with
        ``raw/edge.csv(.gz)`` OGB; a file whose first record is a JSON object is S2AG
        (``citingcorpusid``), OpenAlex (``referenced_works``, ``abstract_inverted_index``,
        ``publication_year``, ``display_name``, or an id ``W<digits>`` or
        ``openalex.org/...``) or S2ORC (``paper_id``, ``outbound_citations``, old
        ``outCitations``...); anything else is an edge list.
        An auto-detected edge list whose name ends in ``.cites`` (or ``.cites.gz``) is read
        as LINQS (whitespace-delimited, cited first), unless ``reverse``/``delimiter`` is
        given.
    delimiter : str or None, default="auto"
        Edge lists only (see :func:`read_edge_list`): ``"auto"``, a literal separator,
        ``"tab"``, ``"comma"``, ``"semicolon"``, ``"whitespace"`` or None. Another value
        for another format is an error.
    header : bool or "auto", default="auto"
        Edge lists only: whether the first line is a header (``"auto"`` detects it).
    **kwargs
        Passed to the reader (``read_edge_list``, ``read_s2orc``, ...). For Planetoid,
        ``name`` may be left out when the folder holds one data set.

    Returns
    -------
    CitationData
        With ``format`` set to the reader used.

    Raises
    ------
    ValueError
        For an unknown ``format`` (the message lists the choices), undetectable input, a
        file without records, or ``delimiter``/``header`` given for a non-edge-list format.

    See Also
    --------
    read_edge_list, read_s2orc, read_s2ag_citations, read_openalex : the readers of the files it detects.
    read_planetoid, read_ogb, load_graph_corpus : the readers of the folders it detects.
    CitationData : what every reader returns.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> p = folder / "citations.jsonl"
    >>> _ = p.write_text('{"citingcorpusid": 1, "citedcorpusid": 2}\\n')
    >>> read_citations(p).format
    's2ag'
    >>> p = folder / "edges.txt"
    >>> _ = p.write_text("a;b\\nb;c\\n")
    >>> read_citations(p, delimiter="semicolon").ids
    ['a', 'b', 'c']
    """
    check_choice(format, "format", FORMATS)
    path = Path(path)
    auto = format == "auto"
    if auto:
        format = _detect(path)
    if format == "edges":
        _edge_list_options(path, kwargs, delimiter, header, auto)
    elif delimiter != "auto" or header != "auto":
        raise ValueError(
            f"`delimiter` and `header` apply to edge lists only; {path.name} is read as "
            f"format={format!r}."
        )
    if format == "planetoid":
        return read_planetoid(path, **_planetoid_kwargs(path, kwargs))
    readers = {
        "edges": read_edge_list,
        "s2orc": read_s2orc,
        "s2ag": read_s2ag_citations,
        "openalex": read_openalex,
        "ogb": read_ogb,
        "canonical": read_canonical,
    }
    return readers[format](path, **kwargs)


def _planetoid_kwargs(path: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with ``name`` filled in when the folder holds one data set."""
    if "name" in kwargs:
        return kwargs
    names = _planetoid_names(path)
    if len(names) != 1:
        raise ValueError(f"{path}: holds Planetoid data sets {names}; pass name=... to choose one.")
    return {**kwargs, "name": names[0]}
