"""Quick start: embeddings -> kNN graph -> B3 clusters -> DataLoader -> a contrastive training loop.

Run: python examples/quickstart.py [--epochs 2] [--n-items 3000]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import graphneg as gn


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-items", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    data = gn.load_demo(args.n_items)  # or your teacher's embeddings
    X = torch.from_numpy(data.embeddings)
    G = gn.knn_graph(data.embeddings, k=100, skip=30, mutual=True)  # B3 window [30, 130)
    labels = gn.communities(G, cluster_size=32, weighted=False, seed=0)  # clusters of exactly 32
    sampler = gn.CommunityBatchSampler(labels, args.batch_size, seed=0)
    loader = DataLoader(TensorDataset(X), batch_sampler=sampler)

    torch.manual_seed(0)
    model = torch.nn.Linear(X.shape[1], 32)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for (x,) in loader:
            view1 = F.normalize(model(x + 0.05 * torch.randn_like(x)), dim=1)
            view2 = F.normalize(model(x + 0.05 * torch.randn_like(x)), dim=1)
            loss = F.cross_entropy(view1 @ view2.T / 0.05, torch.arange(len(x)))  # InfoNCE
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch}: loss {loss.item():.3f}")
    stats = gn.batch_stats(sampler.batches(), embeddings=data.embeddings, labels=data.labels)
    print({k: round(v, 4) for k, v in stats.items()})
    return stats


if __name__ == "__main__":
    main()
