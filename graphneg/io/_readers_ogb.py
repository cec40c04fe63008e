"""OGB data sets in their raw layout (ogbn-arxiv, ogbl-citation2, ...): one parser a file."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..links._graph import LinkGraph
from ._readers_base import CitationData, PathLike, Report, assemble, is_int, iter_ints, iter_lines


def _csv_path(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (plain first)."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def ogb_layout(folder: Path) -> tuple[Path, Path] | None:
    """``(raw folder, mapping folder)`` when ``folder`` is an OGB data set (or its raw/)."""
    if _csv_path(folder / "raw", "edge.csv") is not None:
        return folder / "raw", folder / "mapping"
    if _csv_path(folder, "edge.csv") is not None:
        return folder, folder.parent / "mapping"
    return None


def _read_num_nodes(path: Path) -> int:
    """``num-node-list.csv``: node counts (one per graph) summed; any bad line raises."""
    return sum(iter_ints(path))


def _mapping_row(line: str | None, expected: int, seen: dict[str, int]) -> str:
    """The paper id of one mapping row, or the reason it is malformed (as ValueError)."""
    if line is None:
        raise ValueError("not valid UTF-8")
    fields = [f.strip() for f in line.split(",")]
    if len(fields) < 2 or not fields[1] or not is_int(fields[0]):
        raise ValueError(f"expected 'idx,paper id', got {line[:60]!r}")
    if int(fields[0]) != expected:
        raise ValueError(f"expected index {expected} (index order), got {line[:60]!r}")
    if fields[1] in seen:
        raise ValueError(f"duplicate id {fields[1]!r} (first on line {seen[fields[1]]})")
    return fields[1]


def _read_mapping(path: Path, report: Report) -> list[str | None]:
    """``nodeidx2paperid.csv``: paper id per index; a malformed row leaves it unmapped."""
    paper_ids: list[str | None] = []
    seen: dict[str, int] = {}
    for lineno, line in iter_lines(path):
        if lineno == 1 or (line is not None and not line.strip()):
            continue  # the header ("node idx,paper id") and blank lines
        try:
            paper = _mapping_row(line, len(paper_ids), seen)
        except ValueError as err:
            report.malformed(path, lineno, str(err))
            paper_ids.append(None)
            continue
        seen[paper] = lineno
        paper_ids.append(paper)
    return paper_ids


def _read_years(path: Path, report: Report) -> list[int | None]:
    """``node_year.csv``: line *i* is the year of node *i - 1* (None where malformed)."""
    years: list[int | None] = []
    for lineno, line in iter_lines(path):
        text = (line or "").split(",")[0].strip()
        if line is None or not is_int(text):
            report.malformed(path, lineno, f"expected an integer year, got {(line or '')[:60]!r}")
            years.append(None)
        else:
            years.append(int(text))
    return years


def _read_index_edges(path: Path, report: Report) -> tuple[np.ndarray, np.ndarray]:
    """``edge.csv``: ``src,dst`` node indices, no header."""
    src, dst = array("q"), array("q")
    for lineno, line in report.lines(path):
        fields = [f.strip() for f in line.split(",")[:2]]
        if len(fields) < 2 or not (is_int(fields[0]) and is_int(fields[1])):
            report.malformed(path, lineno, f"expected 'src,dst' integers, got {line[:60]!r}")
            continue
        a, b = int(fields[0]), int(fields[1])
        if a < 0 or b < 0 or max(a, b) >= 2**62:
            report.malformed(path, lineno, f"node indices must be in [0, 2**62), got {line[:60]!r}")
            continue
        src.append(a)
        dst.append(b)
    return np.frombuffer(src, dtype=np.int64), np.frombuffer(dst, dtype=np.int64)


@dataclass
class _OgbFiles:
    """What the optional files of one OGB folder said (None: the file is absent)."""

    n_listed: int | None = None
    paper_ids: list[str | None] | None = None
    years: list[int | None] | None = None


def _read_optional_files(
    raw: Path, mapping_dir: Path, folder: Path, report: Report
) -> _OgbFiles:
    """Node count, mapping and years, in reading order (for ``counts.malformed_lines``)."""
    files = _OgbFiles()
    num_path = _csv_path(raw, "num-node-list.csv")
    if num_path is not None:
        files.n_listed = _read_num_nodes(num_path)
    map_path = _csv_path(mapping_dir, "nodeidx2paperid.csv")
    if map_path is not None:
        files.paper_ids = _read_mapping(map_path, report)
        if files.n_listed is not None and files.n_listed != len(files.paper_ids):
            raise ValueError(
                f"{folder}: {num_path.name if num_path else ''} lists {files.n_listed} nodes "
                f"but {map_path.name} maps {len(files.paper_ids)}."
            )
    year_path = _csv_path(raw, "node_year.csv")
    if year_path is not None:
        files.years = _read_years(year_path, report)
    return files


def _node_names(files: _OgbFiles, s: np.ndarray, d: np.ndarray, folder: Path) -> list[str | None]:
    """Name of every node index (None: unmapped), checked against the year file."""
    if files.paper_ids is not None:
        n_index = len(files.paper_ids)
    elif files.n_listed is not None:
        n_index = files.n_listed
    else:
        top = int(max(s.max(initial=-1), d.max(initial=-1))) + 1
        n_index = max(top, len(files.years or ()))
    if files.years is not None and len(files.years) != n_index:
        raise ValueError(
            f"{folder}: node_year.csv has {len(files.years)} lines but there are "
            f"{n_index} nodes."
        )
    if files.paper_ids is not None:
        return files.paper_ids
    return [str(i) for i in range(n_index)]


def read_ogb(folder: PathLike, *, strict: bool = False) -> CitationData:
    """Read an OGB data set in its raw layout (ogbn-arxiv, ogbl-citation2, ...).

    Parameters
    ----------
    folder : str or path-like
        The data set folder, holding ``raw/edge.csv(.gz)`` (no header, ``src,dst`` node
        indices, source cites target) and optionally ``raw/node_year.csv(.gz)`` (one year a
        line, line *i* = node *i - 1*), ``raw/num-node-list.csv(.gz)`` and
        ``mapping/nodeidx2paperid.csv(.gz)`` (a header, then ``idx,paperid``). The ``raw``
        folder itself is accepted too.
    strict : bool, default=False
        Raise ``ValueError`` (``name:line: ...``) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        Ids are the paper ids (as ``str``) when the mapping exists, else the indices. The
        nodes are the mapped indices in index order; without a mapping, ``0 .. n-1`` with
        ``n`` from ``num-node-list``, else the larger of the highest index + 1 and the
        number of year lines. ``years`` is None without ``node_year``.

    Raises
    ------
    FileNotFoundError
        If there is no ``edge.csv(.gz)``.
    ValueError
        If ``node_year`` or ``num-node-list`` disagrees with the number of nodes, or there
        are no nodes at all.

    See Also
    --------
    read_planetoid : Cora, CiteSeer and PubMed as the GCN papers distribute them.
    read_citations : detects an OGB folder, then reads it.

    Notes
    -----
    Mapping rows must come in index order (row *k* maps index *k*); a row that does not,
    or repeats a paper id, is malformed and leaves its index unmapped, so edges naming it
    count as unknown, as do edges naming an index beyond the node range. Malformed line
    numbers are listed per file in the warning and in reading order (mapping, node_year,
    edge) in ``counts.malformed_lines``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "raw").mkdir()
    >>> _ = (d / "raw" / "edge.csv").write_text("0,1\\n2,0\\n")
    >>> data = read_ogb(d)
    >>> data.ids, data.graph.to_edge_index().tolist()
    (['0', '1', '2'], [[0, 2], [1, 0]])
    """
    folder = Path(folder)
    layout = ogb_layout(folder)
    if layout is None:
        raise FileNotFoundError(
            f"{folder}: not an OGB folder (missing raw/edge.csv or raw/edge.csv.gz)."
        )
    raw, mapping_dir = layout
    report = Report(folder.name or str(folder), strict)
    files = _read_optional_files(raw, mapping_dir, folder, report)
    edge_path = _csv_path(raw, "edge.csv")
    assert edge_path is not None  # ogb_layout found it
    s, d = _read_index_edges(edge_path, report)
    names = _node_names(files, s, d, folder)
    if not names:
        raise report.no_records(edge_path, "nodes")
    graph = _index_graph(names, s, d, report)
    years = None
    if files.years is not None:
        years = {
            name: year
            for name, year in zip(names, files.years, strict=True)
            if name is not None and year is not None
        }
    report.warn()
    return CitationData(graph, graph.counts, years=years, format="ogb")


def _index_graph(
    names: list[str | None], s: np.ndarray, d: np.ndarray, report: Report
) -> LinkGraph:
    """Graph over the mapped indices; edges naming unmapped or out-of-range ones: unknown."""
    n_index = len(names)
    mapped = np.fromiter((v is not None for v in names), dtype=bool, count=n_index)
    idx2row = np.full(n_index + 1, -1, dtype=np.int64)  # last slot: indices out of range
    idx2row[:n_index][mapped] = np.arange(int(mapped.sum()))
    ids = [v for v in names if v is not None]
    s_rows = idx2row[np.minimum(s, n_index)]
    d_rows = idx2row[np.minimum(d, n_index)]
    return assemble(s_rows, d_rows, ids, report.counts)
