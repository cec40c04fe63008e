"""sentence-transformers' trainer with ``graphneg.training.st.batch_sampler`` under 2 gloo processes.

One epoch of a tiny randomly initialised BERT: both ranks take the same number of steps (DDP
all-reduces every step, so a mismatch would hang until the harness's timeout fails the test),
and every training row is seen exactly once over the ranks.
"""

from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("accelerate")

from ddp_harness import run_group  # noqa: E402

N_ROWS, BATCH = 96, 12  # 8 global batches of 12: 4 steps per rank


def test_one_epoch_on_two_ranks(tmp_path):
    from ddp_st import save_tiny_model

    save_tiny_model(str(tmp_path / "model"))
    results = run_group("ddp_st.train_one_epoch", 2, str(tmp_path / "model"), str(tmp_path / "out"),
                        N_ROWS, BATCH, timeout=300)
    assert [r["world"] for r in results] == [2, 2]
    steps = {r["steps"] for r in results}
    assert steps == {N_ROWS // BATCH // 2} and {r["len"] for r in results} == steps
    assert all(len(r["seen"]) == r["steps"] for r in results)
    rows = [i for r in results for batch in r["seen"] for i in batch]
    assert sorted(rows) == list(range(N_ROWS)), "a row was seen twice or never"
    assert all(len(b) == BATCH for r in results for b in r["seen"])
