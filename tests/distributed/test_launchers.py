"""sentence-transformers' trainer with ``graphneg.training.st.batch_sampler`` started by a real launcher.

``test_ddp_sentence_transformers.py`` spawns the ranks itself and hands accelerate a process
group that is already up. Here ``torchrun`` (``python -m torch.distributed.run``) starts two CPU
processes running ``launched_st.py``, the trainer joins the gloo group from the launcher's
environment, and each rank writes a JSON result. The checks are the same: world size 2 on both
ranks, equal step counts, and every training row seen exactly once over the ranks in the epoch.
A hang becomes a failure: past a hard timeout the launcher is stopped and its ranks killed by pid.

``accelerate launch --cpu --num_processes 2`` is not tested: without ``--mpirun_hostfile``
(which needs an MPI ``mpirun``, absent here) accelerate 1.x starts its *simple* launcher, which
runs the script once, as a single process with no ``RANK``/``WORLD_SIZE`` (checked with
accelerate 1.16: one process, ``MASTER_ADDR``/``MASTER_PORT`` set, no rank variables). Multi-CPU
training through ``accelerate launch`` goes via MPI; its torchrun path is only taken for
``--multi_gpu``/FSDP/Megatron, which ``--cpu`` excludes. So there are not two ranks to check.
(``accelerate launch --multi_gpu --num_processes 2`` on a machine without GPUs did start two
gloo ranks through torchrun and passed these checks by hand, but that is not the CPU launch.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("accelerate")
pytest.importorskip("torch.distributed.run", reason="torchrun's module torch.distributed.run is not available")

from ddp_harness import free_port  # noqa: E402

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "launched_st.py"
N_ROWS, BATCH, WORLD = 96, 12, 2  # 8 global batches of 12: 4 steps per rank
#: seconds the launcher and both ranks may take before the test fails as a hang
TIMEOUT = 180
#: characters of the launcher's output quoted in a failure
TAIL = 6000


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1", WANDB_DISABLED="true", PYTHONUNBUFFERED="1")
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)  # this pytest may itself run under a launcher
    return env


def _run(cmd: list[str], log: Path, timeout: float) -> tuple[int, str]:
    """Run ``cmd``; past ``timeout`` seconds stop it and every process it started, by their ids.

    Returns the exit code and the tail of the combined stdout/stderr. (torchrun starts each rank
    in a session of its own, so killing the launcher's process group would leave the ranks.)"""
    import psutil  # a dependency of accelerate

    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=_env(), cwd=HERE)
        launcher = psutil.Process(proc.pid)
        ranks: dict[int, psutil.Process] = {}
        deadline = time.monotonic() + timeout
        rc = None
        while rc is None and time.monotonic() < deadline:
            try:  # remember the ranks while they are still the launcher's children
                ranks.update((c.pid, c) for c in launcher.children(recursive=True))
            except psutil.NoSuchProcess:
                pass
            try:
                rc = proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        if rc is None:
            proc.terminate()  # torchrun's agent stops its workers on SIGTERM
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        leftover = [p for p in ranks.values() if p.is_running()]  # is_running checks the pid was not reused
        for p in leftover:
            p.kill()
        psutil.wait_procs(leftover, timeout=10)
    tail = log.read_text(errors="replace")[-TAIL:]
    if rc is None:
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout}s (a hang); output tail:\n{tail}")
    return rc, tail


def _launch_torchrun(tmp_path: Path, result_dir: Path) -> None:
    from ddp_st import save_tiny_model

    save_tiny_model(str(tmp_path / "model"))
    for attempt in range(2):  # the free port may be taken between choosing it and binding it
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(WORLD),
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "--max_restarts", "0",
               str(SCRIPT), str(tmp_path / "model"), str(tmp_path / "out"), str(result_dir), str(N_ROWS), str(BATCH)]
        rc, tail = _run(cmd, tmp_path / f"torchrun{attempt}.log", TIMEOUT)
        if rc == 0 or "address already in use" not in tail.lower() or attempt:
            break
    assert rc == 0, f"torchrun exited with {rc}; command: {' '.join(cmd)}\noutput tail:\n{tail}"


def test_torchrun_two_cpu_ranks_one_epoch(tmp_path):
    result_dir = tmp_path / "results"
    _launch_torchrun(tmp_path, result_dir)
    files = sorted(result_dir.glob("rank*.json"))
    assert [f.name for f in files] == [f"rank{r}.json" for r in range(WORLD)], files
    results = [json.loads(f.read_text()) for f in files]

    assert [r["rank"] for r in results] == list(range(WORLD))
    assert [r["world"] for r in results] == [WORLD] * WORLD
    assert [(r["env_rank"], r["env_world"]) for r in results] == [(r, WORLD) for r in range(WORLD)]
    assert {r["backend"] for r in results} == {"gloo"}
    steps = {r["steps"] for r in results}
    assert steps == {N_ROWS // BATCH // WORLD}, f"step counts per rank: {[r['steps'] for r in results]}"
    assert {r["len"] for r in results} == steps
    assert all(len(r["seen"]) == r["steps"] for r in results)
    assert all(len(b) == BATCH for r in results for b in r["seen"])
    rows = [i for r in results for batch in r["seen"] for i in batch]
    assert sorted(rows) == list(range(N_ROWS)), "a row was seen twice or never"
