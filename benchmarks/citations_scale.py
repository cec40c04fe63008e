"""`graphneg citations` at corpus scale: the implementation before issue 24 item 5 and now, one run.

A citation edge list with a fixed seed (default 5M edges among 500k papers: integer ids, a
citing paper's lines together, targets uniform) is written once; then each implementation runs
`graphneg citations EDGES --ids-only --strategy uniform` in a fresh process, the same command
line, and reports wall seconds, edges/s, CPU seconds and the process's peak RSS (VmHWM). The
earlier implementation is taken from git (`git archive BASELINE graphneg`), so both run in
this checkout's environment. The two outputs are compared byte for byte (same seed, same
output), and the current one also runs with `--negatives-per pair`. With ``--repeat N`` the
two implementations run N times each, alternating (before, now, now, before, ...), so that a
machine whose load drifts treats both alike; the table gives the median run of each.

python benchmarks/citations_scale.py                  # 5M edges, 500k papers
python benchmarks/citations_scale.py --quick          # 500k edges, 50k papers
python benchmarks/citations_scale.py --skip-baseline  # the current implementation only
python benchmarks/citations_scale.py --baseline 80b3bb6 --repeat 3  # against another commit, alternating
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine, save, section

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "e53a77e"  # the last commit before the column-wise path (issue 24 item 5)


def write_edges(path: Path, n_edges: int, n_papers: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    src = np.sort(rng.integers(0, n_papers, n_edges))
    dst = rng.integers(0, n_papers, n_edges)
    keep = src != dst
    lines = np.char.add(np.char.add(src[keep].astype(str), "\t"), np.char.add(dst[keep].astype(str), "\n"))
    path.write_bytes("".join(lines.tolist()).encode())
    return int(keep.sum())


def baseline_tree(commit: str, folder: Path) -> Path:
    """``graphneg`` as of ``commit``, extracted under ``folder``."""
    archive = folder / "baseline.tar"
    subprocess.run(["git", "archive", "-o", str(archive), commit, "graphneg"], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "baseline", filter="data")
    return folder / "baseline"


# The child records its own peak RSS (VmHWM of its address space, which starts at exec): the
# rusage of a child counts the RSS of the parent it was forked from.
LAUNCH = (
    "import atexit, os, runpy, sys\n"
    "def hwm():\n"
    "    line = next(x for x in open('/proc/self/status') if x.startswith('VmHWM'))\n"
    "    open(os.environ['CITATIONS_HWM'], 'w').write(line.split()[1])\n"
    "atexit.register(hwm)\n"
    "sys.argv = ['graphneg', *sys.argv[1:]]\n"
    "runpy.run_module('graphneg', run_name='__main__')\n"
)


def run(pythonpath: Path, edges: Path, out: Path, *extra: str) -> dict:
    hwm = out.with_suffix(".hwm")
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "CITATIONS_HWM": str(hwm)}
    argv = [sys.executable, "-c", LAUNCH, "citations", str(edges), "-o", str(out), "--ids-only",
            "--strategy", "uniform", "-q", *extra]
    t = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    err = proc.stderr.read().decode()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err}")
    digest = hashlib.sha256()
    with open(out, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            digest.update(block)
    return {"seconds": seconds, "peak_rss_mb": int(hwm.read_text()) / 1024,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "sha256": digest.hexdigest(), "bytes": out.stat().st_size}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--baseline", default=BASELINE, help="git commit of the earlier implementation")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--repeat", type=int, default=1, help="runs of each implementation, alternating")
    a = p.parse_args()
    n_edges, n_papers = (500_000, 50_000) if a.quick else (5_000_000, 500_000)
    info = machine()
    rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        folder = Path(tmp)
        edges = folder / "edges.tsv"
        t = time.perf_counter()
        n_lines = write_edges(edges, n_edges, n_papers)
        print(f"wrote {n_lines:,} edges among {n_papers:,} papers ({edges.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t:.1f} s")
        runs = [("now", ROOT, ())]
        if not a.skip_baseline:
            runs.insert(0, (f"before ({a.baseline})", baseline_tree(a.baseline, folder), ()))
        order = [run_ for r in range(a.repeat) for run_ in (runs if r % 2 == 0 else runs[::-1])]
        order.append(("now, --negatives-per pair", ROOT, ("--negatives-per", "pair")))
        for name, path, extra in order:
            out = folder / "out.jsonl"
            rows.setdefault(name, []).append({**run(path, edges, out, *extra), "load_average": os.getloadavg()[0]})
            out.unlink()
    report(rows, n_lines, n_papers, a.baseline)
    save("citations_scale" + ("_quick" if a.quick else ""),
         {"machine": info, "n_edges": n_lines, "n_papers": n_papers, "baseline": a.baseline, "runs": rows})


def report(rows: dict[str, list[dict]], n_lines: int, n_papers: int, baseline: str) -> None:
    """The median run of each implementation, the ratios of the medians, every run's seconds."""
    median = {name: sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2] for name, runs in rows.items()}
    with section(f"graphneg citations --ids-only --strategy uniform, {n_lines:,} edges, {n_papers:,} papers"):
        print(f"{'':34}{'seconds':>9}{'edges/s':>11}{'peak RSS':>10}{'CPU s':>8}  output")
        ref = median.get(f"before ({baseline})")
        for name, r in median.items():
            digests = {x["sha256"] for x in rows[name]}
            same = "" if ref is None or "pair" in name else (
                "identical to before" if digests == {ref["sha256"]} else "DIFFERS from before")
            print(f"{name:34}{r['seconds']:9.2f}{n_lines / r['seconds']:11,.0f}{r['peak_rss_mb']:8.0f} MB"
                  f"{r['cpu_seconds']:8.1f}  {same}")
        if ref is not None:
            now = median["now"]
            cpu = ref['cpu_seconds'] / now['cpu_seconds']
            print(f"speed-up {ref['seconds'] / now['seconds']:.1f}x (CPU {cpu:.1f}x), "
                  f"peak RSS {now['peak_rss_mb'] / ref['peak_rss_mb']:.2f}x")
        for name, runs in rows.items():
            print(f"{name}: " + ", ".join(f"{r['seconds']:.2f} s (load {r['load_average']:.1f})" for r in runs))


if __name__ == "__main__":
    main()
