"""Worker of the sentence-transformers DDP test: one epoch of a tiny BERT on every rank."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

WORDS = [f"w{i}" for i in range(50)]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]


def row_text(i: int) -> str:
    """A text that names row ``i`` (three words, base 50), so the loss can tell which rows it saw."""
    return f"{WORDS[i // 2500]} {WORDS[(i // 50) % 50]} {WORDS[i % 50]}"


def save_tiny_model(path: str) -> None:
    """A randomly initialised 1-layer BERT with a word-level tokenizer: nothing downloaded."""
    import torch
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers import models as tmodels
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate([*SPECIAL, *WORDS])}
    tok = Tokenizer(tmodels.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    BertModel(config).save_pretrained(path)
    fast.save_pretrained(path)


def train_one_epoch(rank: int, world_size: int, model_path: str, out_dir: str, n_rows: int, batch: int) -> dict:
    """``SentenceTransformerTrainer`` with ``graphneg.training.st.batch_sampler`` on this rank; the rows
    each step's loss saw, the number of steps and the final loss."""
    import torch.distributed as dist

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_WORLD_SIZE=str(world_size))  # accelerate joins the process group already up
    import sentence_transformers as st

    from datasets import Dataset

    try:  # sentence-transformers >= 6 moved the modules
        from sentence_transformers.sentence_transformer import losses
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # pragma: no cover
        from sentence_transformers import losses, models

    from graphneg.training.st import batch_sampler

    seen: list[list[int]] = []

    class RecordingLoss(losses.MultipleNegativesRankingLoss):
        def forward(self, sentence_features: Any, labels: Any) -> Any:
            ids = sentence_features[0]["input_ids"].tolist()
            seen.append([_row_of(row) for row in ids])
            return super().forward(sentence_features, labels)

    model = st.SentenceTransformer(modules=[models.Transformer(model_path), models.Pooling(16)], device="cpu")
    labels = np.repeat(np.arange(n_rows // 4), 4)  # communities of 4 rows
    data = Dataset.from_dict({"anchor": [row_text(i) for i in range(n_rows)],
                              "positive": [row_text(n_rows - 1 - i) for i in range(n_rows)]})
    args = st.SentenceTransformerTrainingArguments(
        output_dir=out_dir, num_train_epochs=1, per_device_train_batch_size=batch, batch_sampler=batch_sampler("community", labels=labels),
        report_to=[], use_cpu=True, save_strategy="no", seed=3, ddp_backend="gloo", dataloader_num_workers=0,
    )
    trainer = st.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=RecordingLoss(model))
    result = trainer.train()
    return {"steps": result.global_step, "loss": float(result.training_loss), "seen": seen,
            "world": dist.get_world_size(), "len": len(trainer.get_train_dataloader())}


def _row_of(token_ids: list[int]) -> int:
    words = [t - len(SPECIAL) for t in token_ids if t >= len(SPECIAL)]
    return words[0] * 2500 + words[1] * 50 + words[2]
