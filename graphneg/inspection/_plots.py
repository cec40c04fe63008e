"""PNG plots drawn from a summary dict alone (matplotlib, extra ``[plot]``).

One function per plot; each returns a figure or None when the summary lacks its section.
Every plot is titled, its axes are labelled, and where a random-batch baseline exists it is
drawn in grey next to graphneg's batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

OURS, RANDOM = "tab:blue", "0.55"  # graphneg's batches; the random baseline in grey


def _stairs(ax: Any, dist: dict[str, Any], label: str, *, share: bool = True, **kw: Any) -> None:
    """A stored histogram as a step line (a share of the values per bin unless ``share=False``)."""
    counts = np.asarray(dist["hist"]["counts"], dtype=float)
    if counts.size == 0:
        return
    y = counts / counts.sum() if share and counts.sum() else counts
    ax.stairs(y, dist["hist"]["edges"], label=f"{label} (mean {dist['mean']:.3g})", linewidth=1.8, **kw)


def _legend(ax: Any, **kw: Any) -> None:
    """A legend above the data: headroom on the y axis so that it never hides a curve."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "linear":
        ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
        ax.set_ylim(lo, hi + 0.35 * (hi - lo))
        ax.set_yticks(ticks)  # no tick in the legend's headroom: a share never reads as 1.2
    else:
        ax.set_ylim(lo, hi * 8)
    ax.legend(fontsize=kw.pop("fontsize", 8), loc=kw.pop("loc", "upper right"), **kw)


def _fit_x(ax: Any, *dists: dict[str, Any]) -> None:
    """Limit the x axis to the bins that hold values (fixed-range histograms, e.g. cosine in [-1, 1])."""
    lo, hi = [], []
    for d in dists:
        counts, edges = np.asarray(d["hist"]["counts"]), np.asarray(d["hist"]["edges"])
        full = np.flatnonzero(counts)
        if full.size:
            lo.append(edges[full[0]])
            hi.append(edges[full[-1] + 1])
    if lo:
        pad = 0.03 * (max(hi) - min(lo) or 1.0)
        ax.set_xlim(min(lo) - pad, max(hi) + pad)


def degree_plot(s: dict[str, Any], plt: Any) -> Any:
    graphs = [(k, s[k]) for k in ("knn_graph", "graph") if k in s and s[k]]
    if not graphs:
        return None
    fig, axes = plt.subplots(1, len(graphs), figsize=(6.4 * len(graphs), 4.2), squeeze=False)
    for ax, (key, g) in zip(axes[0], graphs, strict=True):
        what = "kNN graph" if key == "knn_graph" or "components_by_k" in g else "link graph"
        _stairs(ax, g["out_degree"], "out-degree", share=False, color="tab:orange")
        _stairs(ax, g["in_degree"], "in-degree (k-occurrence)" if what == "kNN graph" else "in-degree",
                share=False, color=OURS)
        ax.set_yscale("log")
        ax.set_xlabel("degree (edges per node)")
        ax.set_ylabel("nodes (log scale)")
        ax.set_title(f"{what}: degree distribution\nhubness (in-degree skew) {g['hubness']:.2f}, "
                     f"top 1% of nodes receive {100 * g['hub_edge_share']:.1f}% of edges", fontsize=10)
        _legend(ax)
    return fig


def edge_weight_plot(s: dict[str, Any], plt: Any) -> Any:
    g = s.get("knn_graph") or s.get("graph")
    if not g or g["edge_weight"]["count"] == 0 or g["edge_weight"]["min"] == g["edge_weight"]["max"]:
        return None  # unweighted (every edge 1.0): nothing to show
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _stairs(ax, g["edge_weight"], "kNN edges", color=OURS)
    ax.set_xlabel("edge similarity")
    ax.set_ylabel("share of edges")
    ax.set_title(f"Edge similarity distribution ({g['num_edges']:,} edges, "
                 f"{100 * g['mutual_edge_share']:.0f}% mutual)", fontsize=10)
    _legend(ax)
    return fig


def components_plot(s: dict[str, Any], plt: Any) -> Any:
    g = s.get("knn_graph") or s.get("graph") or {}
    sweep = g.get("components_by_k")
    if not sweep or not sweep["k"]:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(sweep["k"], sweep["count"], "o-", color=OURS, label="connected components")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sweep["k"], [str(k) for k in sweep["k"]])
    ax.set_xlabel("k (neighbours per item)" + (", mutual edges only" if sweep.get("mutual") else ""))
    ax.set_ylabel("connected components (log scale)")
    sample = f", a seeded sample of {sweep['sampled_items']:,} items" if sweep.get("sampled_items") else ""
    ax.set_title(f"How connected the kNN graph is as k varies{sample}\n(labels: the largest component's share of "
                 "items)", fontsize=10)
    for k, c, share in zip(sweep["k"], sweep["count"], sweep["largest_share"], strict=True):
        ax.annotate(f"{100 * share:.0f}%", (k, c), textcoords="offset points", xytext=(4, 5), fontsize=7)
    ax.margins(x=0.08, y=0.2)
    if g.get("k_used") in sweep["k"]:
        ax.axvline(g["k_used"], color="k", linestyle=":", label=f"k used = {g['k_used']}")
        _legend(ax)
    return fig


def community_sizes_plot(s: dict[str, Any], plt: Any) -> Any:
    c = s.get("communities")
    if not c:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _stairs(ax, c["sizes"], "communities", share=False, color=OURS)
    ax.set_xlabel("community size (items)")
    ax.set_ylabel("communities")
    ax.yaxis.get_major_locator().set_params(integer=True)  # counts: no 0.25 communities
    extra = f", modularity {c['modularity']:.3f}, edge cut {100 * c['edge_cut']:.1f}%" if "modularity" in c else ""
    ax.set_title(f"{c['num_communities']} communities; largest holds {100 * c['largest_share']:.1f}% "
                 f"of items{extra}", fontsize=10)
    _legend(ax)
    return fig


def community_similarity_plot(s: dict[str, Any], plt: Any) -> Any:
    c = s.get("communities") or {}
    if "within_similarity" not in c:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _stairs(ax, c["within_similarity"], "pairs in the same community", color=OURS)
    _stairs(ax, c["cross_similarity"], "pairs in different communities (random pairs)", color=RANDOM)
    _fit_x(ax, c["within_similarity"], c["cross_similarity"])
    ax.set_xlabel("cosine similarity of a random pair")
    ax.set_ylabel("share of pairs")
    ax.set_title("Within- vs cross-community similarity", fontsize=10)
    _legend(ax)
    return fig


def communities_per_batch_plot(s: dict[str, Any], plt: Any) -> Any:
    spans = (s.get("communities") or {}).get("per_batch")
    if not spans:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _stairs(ax, spans["graphneg"], "graphneg batches", color=OURS)
    _stairs(ax, spans["random"], "random batches (same sizes)", color=RANDOM, linestyle="--")
    ax.set_xlabel("distinct communities in a batch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("share of batches")
    ax.set_title("How many communities a batch spans", fontsize=10)
    _legend(ax)
    return fig


_SHARE_TITLES = {"same_label_share": "same label", "link_share": "joined by a link",
                 "known_positive_share": "known positive"}


def batch_hardness_plot(s: dict[str, Any], plt: Any) -> Any:
    per = (s.get("batches") or {}).get("per_batch", {})
    if "mean_cosine" not in per:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _stairs(ax, per["mean_cosine"]["graphneg"], "graphneg batches", color=OURS)
    _stairs(ax, per["mean_cosine"]["random"], "random batches (same sizes)", color=RANDOM, linestyle="--")
    _fit_x(ax, per["mean_cosine"]["graphneg"], per["mean_cosine"]["random"])
    ax.set_xlabel("mean cosine similarity of in-batch pairs (one value per batch)")
    ax.set_ylabel("share of batches")
    ax.set_title("How hard the in-batch negatives are", fontsize=10)
    _legend(ax)
    return fig


def false_negative_plot(s: dict[str, Any], plt: Any) -> Any:
    per = (s.get("batches") or {}).get("per_batch", {})
    keys = [k for k in _SHARE_TITLES if k in per]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 4.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        _stairs(ax, per[key]["graphneg"], "graphneg batches", color=OURS)
        _stairs(ax, per[key]["random"], "random batches", color=RANDOM, linestyle="--")
        ax.set_xlabel(f"share of in-batch pairs that are {_SHARE_TITLES[key]}")
        ax.set_ylabel("share of batches")
        ax.set_title(f"Likely false negatives per batch: {_SHARE_TITLES[key]}", fontsize=10)
        _legend(ax)
    return fig


def positive_vs_negative_plot(s: dict[str, Any], plt: Any) -> Any:
    pvn = (s.get("batches") or {}).get("positive_vs_negative")
    if not pvn or not pvn["graphneg"]["queries"]:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.2), sharey=True)
    names = ("graphneg batches", "random batches (baseline)")
    for ax, side, name in zip(axes, ("graphneg", "random"), names, strict=True):
        r = pvn[side]
        _stairs(ax, r["positive"], "the query's positive", color="tab:green")
        _stairs(ax, r["hardest_negative"], "hardest in-batch negative", color="tab:red")
        _stairs(ax, r["mean_negative"], "mean in-batch negative", color=RANDOM, linestyle="--")
        share = r["hardest_beats_positive_share"]
        ax.set_title(f"{name}\nhardest negative beats the positive for {100 * share:.0f}% of "
                     f"{r['queries']:,} queries", fontsize=10)
        _fit_x(ax, *(pvn[k][d] for k in pvn for d in ("positive", "hardest_negative", "mean_negative")))
        ax.set_xlabel("cosine similarity to the query")
    _legend(axes[0])  # the y axis is shared: headroom once, a legend on both
    axes[1].legend(fontsize=8, loc="upper right")
    axes[0].set_ylabel("share of queries")
    return fig


def batch_sizes_plot(s: dict[str, Any], plt: Any) -> Any:
    b = s.get("batches")
    if not b:
        return None
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12.0, 4.2))
    _stairs(ax, b["sizes"], "batches", share=False, color=OURS)
    cov = b["stats"]["graphneg"]["coverage"]
    ax.set_xlabel("batch size (items)")
    ax.set_ylabel("batches")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{b['num_batches']} batches; coverage {100 * cov:.1f}% of items, "
                 f"{int(b['stats']['graphneg']['duplicates'])} repeats", fontsize=10)
    ranks = b["ranks"]
    x = np.arange(ranks["num_replicas"])
    ax2.bar(x, ranks["batches_per_rank"], color=OURS if ranks["even"] else "tab:red")
    ax2.set_xticks(x)
    ax2.set_xlabel("DDP rank")
    ax2.set_ylabel("batches")
    verdict = "even" if ranks["even"] else "UNEVEN: DDP hangs unless padded or dropped"
    ax2.set_title(f"Batches per rank, num_replicas={ranks['num_replicas']}\n{verdict}", fontsize=10)
    return fig


def negatives_plot(s: dict[str, Any], plt: Any) -> Any:
    n = s.get("negatives")
    if not n:
        return None
    panels = ["count"] + (["scores"] if "scores" in n else []) + (["ranks"] if "ranks" in n else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.2), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        {"count": _neg_counts, "scores": _neg_scores, "ranks": _neg_ranks}[panel](ax, n)
    return fig


def _neg_counts(ax: Any, n: dict[str, Any]) -> None:
    _stairs(ax, n["negatives_per_query"], "queries", share=False, color=OURS)
    ax.set_xlabel("negatives per query")
    ax.set_ylabel("queries")
    ax.set_title(f"{n['queries']:,} queries; {n['short_queries']:,} got fewer than {n['max_negatives']} "
                 f"(filtered / not found)\n{n['positive_leaks']:,} positives listed as negatives", fontsize=9)
    ax.xaxis.get_major_locator().set_params(integer=True)


def _neg_scores(ax: Any, n: dict[str, Any]) -> None:
    sc = n["scores"]
    _stairs(ax, sc["positive"], "positives", color="tab:green")
    _stairs(ax, sc["negative"], "negatives", color="tab:red")
    ax.set_xlabel(f"score ({'from the file' if sc['source'] == 'file' else 'cosine of the embeddings'})")
    ax.set_ylabel("share")
    p50 = sc["positive"]["quantiles"].get("p50")
    st = n["settings"]
    if p50 is not None and st.get("relative_margin") is not None:
        ax.axvline(p50 * (1 - st["relative_margin"]), color="k", linestyle=":",
                   label=f"median positive x (1 - {st['relative_margin']}) (relative margin)")
    if p50 is not None and st.get("absolute_margin") is not None:
        ax.axvline(p50 - st["absolute_margin"], color="k", linestyle="--",
                   label=f"median positive - {st['absolute_margin']} (absolute margin)")
    share = sc["above_positive_share"]
    ax.set_title(f"Positive vs negative scores\n{100 * (share or 0):.1f}% of negatives score above "
                 "their query's positive", fontsize=9)
    _legend(ax, fontsize=7)


def _neg_ranks(ax: Any, n: dict[str, Any]) -> None:
    """Ranks on a log axis as rank + 1 (so the nearest item, rank 0, sits at 1)."""
    r = n["ranks"]
    shifted = {**r, "hist": {"counts": r["hist"]["counts"], "edges": [e + 1 for e in r["hist"]["edges"]]}}
    _stairs(ax, shifted, "negatives (rank)", share=False, color=OURS)
    ax.set_xscale("log")
    st = n["settings"]
    for key, style in (("range_min", ":"), ("range_max", "--")):
        if st.get(key) is not None:
            ax.axvline(st[key] + 1, color="k", linestyle=style, label=f"{key} = {st[key]}")
    ax.set_xlabel("rank + 1 of the negative for its query (1 = nearest item, log scale)")
    ax.set_ylabel("negatives")
    ax.set_title("Where the negatives sit in each query's ranking\n(dotted/dashed: the mining rank window)",
                 fontsize=9)
    _legend(ax, fontsize=7)


def map_plot(s: dict[str, Any], plt: Any) -> Any:
    m = s.get("map")
    if not m:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 6.0))
    x, y, hl = np.asarray(m["x"]), np.asarray(m["y"]), np.asarray(m["highlight"], dtype=bool)
    colour = np.asarray(m["group"]) if m.get("group") is not None else None
    if colour is not None:
        ax.scatter(x, y, c=np.unique(colour, return_inverse=True)[1].ravel() % 20, cmap="tab20", s=5,
                   alpha=0.6, linewidths=0, rasterized=True)
    else:
        ax.scatter(x, y, color="0.6", s=5, alpha=0.6, linewidths=0)
    if hl.any():
        ax.scatter(x[hl], y[hl], facecolors="none", edgecolors="k", s=40, linewidths=1.2,
                   label=f"batch 0 ({int(hl.sum())} items)")
        ax.legend(fontsize=8, loc="best")
    how = "UMAP" if m["method"] == "umap" else "PCA (install graphneg[plot] with umap-learn for UMAP)"
    ax.set_xlabel("UMAP 1" if m["method"] == "umap" else "principal component 1")
    ax.set_ylabel("UMAP 2" if m["method"] == "umap" else "principal component 2")
    groups = len(np.unique(colour)) if colour is not None else 0
    by = f"coloured by {m.get('colour') or 'nothing'}" + (f" ({groups}" if groups else "") + (
        ", 20 colours reused)" if groups > 20 else ")" if groups else "")
    ax.set_title(f"2-D map of {m['num_points']:,} of {m['num_items']:,} items, {how}\n{by}", fontsize=9)
    return fig


# (file name, plot, what it tells a reader): the README lists the same lines
PLOTS: list[tuple[str, Callable[[dict[str, Any], Any], Any], str]] = [
    ("degrees.png", degree_plot, "Degree distributions: a long in-degree tail (high hubness) means a few items "
     "are everyone's neighbour and will be in many batches' negatives."),
    ("edge_weights.png", edge_weight_plot, "Edge similarities: how similar neighbours are; a mass near 1 hints "
     "at duplicates, near the random level at a graph that carries little signal."),
    ("components_by_k.png", components_plot, "Components as k varies: the k at which the graph becomes one "
     "piece; many components at your k means isolated islands."),
    ("community_sizes.png", community_sizes_plot, "Community sizes: one giant community or thousands of "
     "singletons both make poor batches."),
    ("community_similarity.png", community_similarity_plot, "Within- vs cross-community similarity: the gap "
     "is how much harder same-community negatives are than random ones."),
    ("communities_per_batch.png", communities_per_batch_plot, "Communities per batch: fewer than random "
     "means batches are topic-focused (harder negatives)."),
    ("batch_hardness.png", batch_hardness_plot, "In-batch similarity per batch vs random batches: how much "
     "harder graphneg's batches are."),
    ("false_negatives.png", false_negative_plot, "Likely false negatives per batch (same label, linked, known "
     "positive): the price of harder batches; mask them if it is high."),
    ("positive_vs_negative.png", positive_vs_negative_plot, "Each query's positive against its hardest and "
     "mean in-batch negative: where negatives beat the positive, the loss pushes hard (or wrongly)."),
    ("batch_sizes.png", batch_sizes_plot, "Batch sizes, coverage and batches per DDP rank: uneven ranks hang "
     "distributed training."),
    ("negatives.png", negatives_plot, "Mined negatives: how many each query got, positive vs negative "
     "scores with the margins, and where in the ranking the negatives sit."),
    ("map.png", map_plot, "2-D map coloured by community with one batch circled: whether a batch is one "
     "tight region (hard) or scattered (easy)."),
]


def render_plots(summary: dict[str, Any], out_dir: str | Path, *, show_progress: bool = False) -> list[dict[str, str]]:
    """Write every plot the summary allows as PNG into ``out_dir``.

    Parameters
    ----------
    summary : dict
        From :func:`graphneg.inspect`.
    out_dir : str or path-like
        An existing folder.
    show_progress : bool, default=False
        A progress bar over the plots.

    Returns
    -------
    list of dict
        ``{"file", "caption"}`` per written plot, in report order.

    Examples
    --------
    >>> import tempfile
    >>> render_plots({"input": {"kind": "batches"}}, tempfile.mkdtemp())
    []
    """
    import matplotlib

    matplotlib.use("Agg")  # no display needed; never opens a window
    import matplotlib.pyplot as plt

    from .._search._blocks import progress
    from ..io._atomic import atomic_write

    written = []
    for name, plot, caption in progress(PLOTS, len(PLOTS), show_progress, "plots"):
        fig = plot(summary, plt)
        if fig is None:
            continue
        fig.tight_layout()
        with atomic_write(Path(out_dir) / name, "wb") as fh:
            fig.savefig(fh, format="png", dpi=100)
        plt.close(fig)
        written.append({"file": name, "caption": caption})
        logger.info("wrote %s", name)
    return written
