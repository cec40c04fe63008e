"""A tiny sentence-transformers model built locally (nothing downloaded), shared by the trainer tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # the tests import tiny_st (import-mode=importlib puts no test folder on the path)
    sys.path.insert(0, HERE)

from tiny_st import WORDS  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A randomly initialised 1-layer BERT with a word-level tokenizer: its folder."""
    pytest.importorskip("sentence_transformers")
    import torch
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers import models as tmodels
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tok = Tokenizer(tmodels.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]")
    path = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    BertModel(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path
