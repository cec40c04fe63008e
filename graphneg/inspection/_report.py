"""The outputs of ``graphneg inspect``: a terminal summary, ``summary.json``, PNG plots and a
self-contained ``report.html`` (images embedded as base64, no network access needed)."""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

from ..io._atomic import atomic_write

logger = logging.getLogger(__name__)

PLOT_HINT = "plots need matplotlib: pip install 'graphneg[plot]'"


def key_numbers(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The headline numbers as ``(section, what, value)`` rows (terminal and report).

    Parameters
    ----------
    summary : dict
        From :func:`graphneg.inspect`.

    Returns
    -------
    list of (str, str, str)

    Examples
    --------
    >>> key_numbers({"input": {"kind": "graph", "path": "g.npz"}})
    [('input', 'kind', 'graph'), ('input', 'path', 'g.npz')]
    """
    rows = [("input", k, str(summary["input"][k])) for k in ("kind", "path", "num_items", "format", "rows",
                                                             "embeddings_file") if summary["input"].get(k) is not None]
    for key in ("graph", "knn_graph"):
        g = summary.get(key)
        if g:
            name = "kNN graph" if key == "knn_graph" or "components_by_k" in g else "link graph"
            rows += [(name, "nodes / edges", f"{g['num_nodes']:,} / {g['num_edges']:,}"),
                     (name, "hubness (in-degree skew)", f"{g['hubness']:.2f}"),
                     (name, "top 1% nodes' share of in-edges", _pct(g["hub_edge_share"])),
                     (name, "reciprocity" if name == "link graph" else "mutual edges", _pct(g["mutual_edge_share"])),
                     (name, "components (largest share)",
                      f"{g['components']['count']:,} ({_pct(g['components']['largest_share'])})")]
    c = summary.get("communities")
    if c:
        rows.append(("communities", "count (largest share)", f"{c['num_communities']:,} ({_pct(c['largest_share'])})"))
        if c.get("modularity") is not None:
            rows += [("communities", "modularity", f"{c['modularity']:.3f}"),
                     ("communities", "edge cut", _pct(c["edge_cut"]))]
        if "within_similarity" in c:
            rows.append(("communities", "cosine within / across",
                         f"{c['within_similarity']['mean']:.3f} / {c['cross_similarity']['mean']:.3f}"))
    rows += _batch_rows(summary.get("batches"))
    rows += _negative_rows(summary.get("negatives"))
    return rows


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _batch_rows(b: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not b:
        return []
    ours, rnd = b["stats"]["graphneg"], b["stats"]["random"]
    rows = [("batches", "count, size min..max", f"{b['num_batches']:,}, {ours['batch_size_min']:.0f}.."
             f"{ours['batch_size_max']:.0f}"), ("batches", "coverage", _pct(ours["coverage"]))]
    for key, what in (("mean_cosine", "mean in-batch cosine"), ("same_label_share", "same-label pairs"),
                      ("edge_share", "linked / known-positive pairs")):
        if ours.get(key) is not None:
            rows.append(("batches", f"{what} (random)", f"{ours[key]:.4g} ({rnd[key]:.4g})"))
    pvn = b.get("positive_vs_negative")
    if pvn and pvn["graphneg"]["queries"]:
        rows.append(("batches", "hardest negative beats positive (random)",
                     f"{_pct(pvn['graphneg']['hardest_beats_positive_share'])} "
                     f"({_pct(pvn['random']['hardest_beats_positive_share'])})"))
    r = b["ranks"]
    rows.append(("batches", f"batches per rank (R={r['num_replicas']})",
                 " ".join(map(str, r["batches_per_rank"])) + ("" if r["even"] else "  UNEVEN")))
    return rows


def _negative_rows(n: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not n:
        return []
    rows = [("negatives", "queries", f"{n['queries']:,}"),
            ("negatives", "negatives per query (max)",
             f"{n['negatives_per_query']['mean']:.2f} ({n['max_negatives']})"),
            ("negatives", "queries short of the max", f"{n['short_queries']:,} ({n['missing_negatives']:,} missing)"),
            ("negatives", "positives listed as negatives", f"{n['positive_leaks']:,}")]
    if "scores" in n:
        sc = n["scores"]
        rows += [("negatives", f"mean positive / negative score ({sc['source']})",
                  f"{sc['positive']['mean']:.3f} / {sc['negative']['mean']:.3f}"),
                 ("negatives", "negatives above their positive", _pct(sc["above_positive_share"]))]
    return rows


def format_summary(summary: dict[str, Any]) -> str:
    """The terminal summary: one line per headline number.

    See Also
    --------
    inspect : the summary.
    write_report : the same summary as files.

    Examples
    --------
    >>> print(format_summary({"input": {"kind": "graph"}}))
    input        kind                                        graph
    """
    return "\n".join(f"{sec:<12} {what:<43} {value}" for sec, what, value in key_numbers(summary))


def has_matplotlib() -> bool:
    """Whether matplotlib (extra ``[plot]``) is installed; the plots need it.

    >>> isinstance(has_matplotlib(), bool)
    True
    """
    return importlib.util.find_spec("matplotlib") is not None


def write_report(summary: dict[str, Any], out_dir: str | Path, *, plots: bool = True,
                 show_progress: bool = False) -> dict[str, Any]:
    """Write ``summary.json``, the PNG plots (when matplotlib is installed) and ``report.html``.

    Parameters
    ----------
    summary : dict
        From :func:`graphneg.inspect`.
    out_dir : str or path-like
        Created when missing; files in it with the same names are replaced atomically, and
        plots of an earlier run that this run does not draw are removed.
    plots : bool, default=True
        Draw the plots (needs matplotlib, extra ``[plot]``).
    show_progress : bool, default=False
        A progress bar over the plots.

    Returns
    -------
    dict
        ``summary`` and ``report`` (paths), ``plots`` (file names), ``note`` (why there are
        no plots, or None).

    See Also
    --------
    inspect : the summary.
    format_summary : its headline numbers as text.

    Examples
    --------
    >>> import tempfile
    >>> out = write_report({"input": {"kind": "graph"}}, tempfile.mkdtemp(), plots=False)
    >>> out["plots"], Path(out["report"]).name
    ([], 'report.html')
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "summary.json", "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1, allow_nan=False)
    written: list[dict[str, str]] = []
    note = None
    if plots and not has_matplotlib():
        note = PLOT_HINT
    elif plots:
        from ._plots import render_plots

        written = render_plots(summary, out, show_progress=show_progress)
    _remove_stale_plots(out, {w["file"] for w in written})
    with atomic_write(out / "report.html", "w", encoding="utf-8") as fh:
        fh.write(report_html(summary, out, written, note))
    return {"summary": str(out / "summary.json"), "report": str(out / "report.html"),
            "plots": [w["file"] for w in written], "note": note}


def plot_files() -> list[str]:
    """The file names of every plot ``write_report`` may write.

    >>> "map.png" in plot_files()
    True
    """
    from ._plots import PLOTS  # matplotlib itself loads only when plots are drawn

    return [name for name, _, _ in PLOTS]


def _remove_stale_plots(out: Path, written: set[str]) -> None:
    """Plots an earlier run left in ``out`` that this run did not draw would pass for its own."""
    for name in plot_files():
        if name not in written and (out / name).is_file():
            (out / name).unlink()
            logger.info("removed %s of an earlier run", name)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1280px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:.25em .8em;text-align:left}
td.v{font-family:monospace;text-align:right}figure{margin:2em 0}img{max-width:100%;border:1px solid #eee}
figcaption{color:#444;margin-top:.4em}.note{background:#fff6d5;padding:.6em}"""


def report_html(summary: dict[str, Any], out_dir: Path, plots: list[dict[str, str]], note: str | None) -> str:
    """The self-contained HTML report (every image inline as a data: URI).

    Examples
    --------
    >>> "<table>" in report_html({"input": {"kind": "graph"}}, Path("."), [], None)
    True
    """
    esc = html.escape
    title = f"graphneg inspect: {summary['input'].get('path', '')}"
    rows = "".join(f"<tr><td>{esc(s)}</td><td>{esc(w)}</td><td class=v>{esc(v)}</td></tr>"
                   for s, w, v in key_numbers(summary))
    figures = []
    for p in plots:
        data = base64.b64encode((out_dir / p["file"]).read_bytes()).decode("ascii")
        figures.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(p["file"])}">'
                       f"<figcaption><b>{esc(p['file'])}</b>: {esc(p['caption'])}</figcaption></figure>")
    body = "".join(figures) or f"<p class=note>No plots: {esc(note or 'none apply to this input')}.</p>"
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"
            f"<p>graphneg {esc(str(summary.get('graphneg_version', '')))}; every number is in "
            f"<code>summary.json</code> next to this file.</p><table><tr><th>section</th><th>what</th>"
            f"<th>value</th></tr>{rows}</table>{body}</body></html>\n")
