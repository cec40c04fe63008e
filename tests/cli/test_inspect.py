"""``graphneg inspect``: its outputs on each input kind, plots optional, bad input as one line,
and the report rendered in a real headless browser (Debian's ``chromium``, which ``.ci/run``
installs; that test skips where it is absent)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from graphneg.cli import main


@pytest.fixture(autouse=True)
def pca_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 2-D map by PCA even where umap-learn is installed: UMAP's JIT warm-up takes ~10 s."""
    import graphneg.inspection._map as map_module

    monkeypatch.setattr(map_module, "umap_available", lambda: False)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """Blob embeddings, labels and the batches `graphneg batches` writes for them."""
    d = tmp_path_factory.mktemp("inspect")
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 40)
    X = ((rng.normal(size=(6, 8)) * 4)[labels] + rng.normal(size=(240, 8))).astype(np.float32)
    np.save(d / "X.npy", X)
    np.save(d / "y.npy", labels)
    assert main(["batches", "--embeddings", str(d / "X.npy"), "-o", str(d / "b.jsonl"), "--batch-size", "40",
                 "-q"]) == 0
    return {"dir": d, "X": d / "X.npy", "y": d / "y.npy", "batches": d / "b.jsonl"}


@pytest.fixture(scope="module")
def embeddings_report(data) -> Path:
    pytest.importorskip("matplotlib")
    out = data["dir"] / "out_emb"
    assert main(["inspect", str(data["X"]), "--out", str(out), "--labels", str(data["y"]), "--batch-size", "40",
                 "--num-replicas", "2", "--map", "pca", "-q"]) == 0  # module scope: no monkeypatch
    return out


def test_embeddings_writes_summary_plots_and_report(embeddings_report, capsys):
    out = embeddings_report
    s = json.loads((out / "summary.json").read_text())
    assert s["input"]["kind"] == "embeddings" and s["batches"]["ranks"]["num_replicas"] == 2
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) >= 6 and "map.png" in pngs and "degrees.png" in pngs
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(pngs)
    assert "http://" not in html and "https://" not in html  # no network needed
    assert not list(out.glob("*.tmp"))


# Runs before the page's own content: records errors (scripts and failed resources), then on
# load writes every image's natural size into the DOM that --dump-dom prints.
_PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(
  String(e.message || (e.target && e.target.src) || e.type).slice(0, 200)), true);
window.addEventListener('load', () => {
  const imgs = Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({errors: window.__errors, images: imgs, title: document.title});
  document.body.appendChild(pre);
});
</script>"""


def _browser() -> str | None:
    return next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def test_report_renders_in_headless_chromium(embeddings_report, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    pngs = sorted(embeddings_report.glob("*.png"))
    page = (embeddings_report / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"  # a copy: the report itself stays as written
    probe.write_text(page.replace("<head>", "<head>" + _PROBE, 1), encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the page did not finish loading: rc={run.returncode} {run.stderr[-500:]}"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["errors"] == []
    assert result["title"].startswith("graphneg inspect")
    assert len(result["images"]) == len(pngs) >= 6
    for alt, complete, width, height in result["images"]:
        assert complete and width > 0 and height > 0, alt


def test_batch_file_with_embeddings(data, tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(["inspect", str(data["batches"]), "--embeddings", str(data["X"]), "--labels", str(data["y"]),
               "--batch-size", "40", "--out", str(out), "--no-plots", "-q"])
    assert rc == 0
    table = capsys.readouterr().out
    assert "same-label pairs (random)" in table and "batches per rank" in table
    s = json.loads((out / "summary.json").read_text())
    assert s["batches"]["stats"]["graphneg"]["coverage"] == 1.0 and "communities" in s


def test_without_matplotlib_says_how_to_get_plots(data, tmp_path, monkeypatch, capsys):
    import graphneg.inspection._report as report

    monkeypatch.setattr(report, "has_matplotlib", lambda: False)
    out = tmp_path / "o"
    assert main(["inspect", str(data["X"]), "--out", str(out), "--batch-size", "40", "-q"]) == 0
    err = capsys.readouterr().err
    assert "pip install 'graphneg[plot]'" in err
    assert (out / "summary.json").is_file() and (out / "report.html").is_file() and not list(out.glob("*.png"))


def test_rerun_without_plots_removes_the_old_ones(data, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "map.png").write_bytes(b"old")  # an earlier run's plot
    (out / "mine.png").write_bytes(b"keep")  # not graphneg's: left alone
    assert main(["inspect", str(data["X"]), "--out", str(out), "--batch-size", "40", "--no-plots", "-q"]) == 0
    assert not (out / "map.png").exists() and (out / "mine.png").exists()
    assert "No plots" in (out / "report.html").read_text()


def test_qrels_by_row_number(data, tmp_path):
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{i}\t{i + 1}\t1\n" for i in range(0, 200, 2)))
    out = tmp_path / "o"
    assert main(["inspect", str(data["batches"]), "--embeddings", str(data["X"]), "--qrels", str(qrels),
                 "--out", str(out), "--no-plots", "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert "known_positive_share" in s["batches"]["per_batch"]
    assert s["batches"]["positive_vs_negative"]["graphneg"]["queries"] > 0


def _one_line_error(capsys, argv: list[str], match: str) -> None:
    assert main([*argv, "-q"]) == 2  # -q: no progress lines, only the error
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("graphneg: error: ") and "Traceback" not in err
    assert match in err, err


def test_bad_inputs(data, tmp_path, capsys):
    out = str(tmp_path / "o")
    _one_line_error(capsys, ["inspect", str(tmp_path / "nope.npy"), "--out", out], "does not exist")
    _one_line_error(capsys, ["inspect", str(data["X"]), "--out", str(data["X"])], "is also an input")
    f = tmp_path / "file.txt"
    f.write_text("x")
    _one_line_error(capsys, ["inspect", str(data["X"]), "--out", str(f)], "exists and is not a directory")
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((10, 8), np.float32) + 1)
    _one_line_error(capsys, ["inspect", str(data["batches"]), "--embeddings", str(small), "--out", out],
                    "they do not match")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    _one_line_error(capsys, ["inspect", str(tmp_path / "other.npz"), "--out", out], "not a graphneg graph file")
    _one_line_error(capsys, ["inspect", str(data["X"]), "--labels", str(tmp_path / "none.npy"), "--out", out],
                    "--labels")
    assert not (tmp_path / "o" / "summary.json").exists()


def test_corpus_reader_options_pass_through(tmp_path, capsys):
    edges = tmp_path / "cites.csv"
    edges.write_text("citing;cited\na;b\nb;c\nc;a\nd;a\n", encoding="utf-8")
    rc = main(["inspect", str(edges), "--out", str(tmp_path / "bad"), "--no-plots", "-q"])
    assert rc == 2 and "malformed" in capsys.readouterr().err  # a .csv is comma-separated unless told
    out = tmp_path / "o"
    argv = ["inspect", str(edges), "--out", str(out), "--no-plots", "-q", "--delimiter", ";", "--header", "yes"]
    assert main(argv) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["graph"]["num_nodes"] == 4 and s["graph"]["num_edges"] == 4


def test_corpus_reader_options_refused_for_other_inputs(data, tmp_path, capsys):
    rc = main(["inspect", str(data["X"]), "--out", str(tmp_path / "o"), "--format", "edges", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "citation corpora only" in err and "Traceback" not in err


def test_qrels_with_unknown_ids_are_counted_in_a_warning(data, tmp_path, capsys):
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"d{i}\n" for i in range(240)))
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("".join(f"d{i}\td{i + 1}\n" for i in range(0, 20, 2)) + "d0\tnope1\nnope2\td3\n")
    out = tmp_path / "o"
    assert main(["inspect", str(data["batches"]), "--embeddings", str(data["X"]), "--ids", str(ids),
                 "--qrels", str(qrels), "--out", str(out), "--no-plots", "-q"]) == 0
    err = capsys.readouterr().err
    assert "graphneg: warning: --qrels" in err and "2 of 12 pairs name an unknown item (2 unknown ids" in err
