"""The masked loss under 2 gloo processes with gather_across_devices=True equals one process
over the concatenated batch: the same loss and the same (DDP-averaged) gradients, with every
mask term (known positives across ranks, missing negatives, teacher threshold) in play."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("sentence_transformers")
import torch.distributed as dist  # noqa: E402

import ddp_masked_loss as W  # noqa: E402

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


def test_two_processes_equal_one_over_the_concatenated_batch(tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "ranks.pt"
    mp.spawn(W.run, args=(2, str(tmp_path / "init"), str(out)), nprocs=2, join=True)
    got = torch.load(out)
    value, grads = W.loss_and_grads(np.arange(2 * W.B), gather=False)
    assert torch.allclose(got["loss"], value, atol=1e-6)
    for a, b in zip(got["grads"], grads, strict=True):
        assert torch.allclose(a, b, atol=1e-6), (a, b)


def test_the_mask_crosses_ranks():
    """Rows 0 and 5 share query q0: on rank 1, row 5's mask covers row 0's positive (rank 0's)."""
    from graphneg.training.st import MaskedMultipleNegativesRankingLoss

    table, _, _ = W.problem()
    loss = MaskedMultipleNegativesRankingLoss(None, table)
    rows = np.arange(W.B, 2 * W.B)
    m = loss.batch_mask(rows, np.arange(2 * W.B), 1, W.B)
    assert m[1, 0]  # local row 1 = global row 5 = query q0; column 0 = row 0's positive
    assert not m[np.arange(W.B), W.B + np.arange(W.B)].any()  # targets sit at the rank offset
