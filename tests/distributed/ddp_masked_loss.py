"""Worker of test_ddp_masked_loss: one rank of the masked loss with gather_across_devices=True."""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

B, DIM, N_NEG = 4, 6, 2


class Linear(torch.nn.Module):
    """A sentence-transformers-like model: ``features['x'] -> sentence_embedding``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.w = torch.nn.Linear(DIM, DIM)

    def forward(self, features):
        return {"sentence_embedding": self.w(features["x"])}


def problem():
    """Pairs with repeated queries, missing negatives and a teacher: every mask term fires."""
    from graphneg.training.st import read_pairs

    rng = np.random.default_rng(0)
    n = 2 * B
    queries = [f"q{i % 5}" for i in range(n)]  # repeated queries: known positives in other rows
    table = read_pairs({"query": queries, "positive": [f"d{i}" for i in range(n)]}, corpus=["e0", "e1", "e2"])
    table.negatives = rng.integers(-1, len(table.doc_texts), size=(n, N_NEG))
    inputs = torch.from_numpy(rng.normal(size=(1 + 1 + N_NEG, n, DIM)).astype(np.float32))
    teacher = (rng.normal(size=(len(table.query_texts), 3)), rng.normal(size=(len(table.doc_texts), 3)))
    teacher = tuple(x / np.linalg.norm(x, axis=1, keepdims=True) for x in teacher)
    return table, inputs, teacher


def loss_and_grads(rows: np.ndarray, gather: bool):
    from graphneg.training.st import MaskedMultipleNegativesRankingLoss

    table, inputs, teacher = problem()
    model = Linear()
    loss = MaskedMultipleNegativesRankingLoss(model, table, threshold_fraction=0.9, teacher=teacher,
                                              gather_across_devices=gather)
    features = [{"x": col[rows]} for col in inputs]
    value = loss(features, torch.from_numpy(rows))
    value.backward()
    return value.detach(), [p.grad.clone() for p in model.parameters()]


def run(rank: int, world: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        rows = np.arange(rank * B, (rank + 1) * B)
        value, grads = loss_and_grads(rows, gather=True)
        dist.all_reduce(value)  # what DDP reports and averages: the mean over ranks
        for g in grads:
            dist.all_reduce(g)
        if rank == 0:
            torch.save({"loss": value / world, "grads": [g / world for g in grads]}, out)
    finally:
        dist.destroy_process_group()
