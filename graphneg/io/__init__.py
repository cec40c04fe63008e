"""Reading and writing: citation readers, trainer formats, canonical corpora, the demo data.

- citation data in: :func:`read_citations` (edge lists, S2ORC, S2AG, OpenAlex, Planetoid, OGB,
  canonical folders) → :class:`CitationData` holding a :class:`graphneg.LinkGraph`;
- training files out and back: sentence-transformers, FlagEmbedding and Tevatron JSONL;
- text pairs in for ``graphneg mine``: :func:`read_text_pairs`, :func:`read_text_corpus`
  (JSONL, CSV/TSV, Parquet, saved ``datasets``) -> :func:`build_mining_task` -> mined
  negatives out with their scores (:func:`write_mined`) and the run kept for later filtering
  (:func:`save_mining_run`, :func:`load_mining_run`);
- batch files written by ``graphneg batches``: :func:`read_batches`;
- canonical corpora written by ``datasets/``: :func:`load_graph_corpus`,
  :func:`load_retrieval_corpus` and their writers; :func:`load_demo`, generated in code.

Every writer is atomic: a reader never sees a partial file.
"""

from __future__ import annotations

from ._corpus_graph import GraphCorpus, load_graph_corpus, save_graph_corpus
from ._corpus_retrieval import RetrievalCorpus, load_retrieval_corpus, qrels_to_positives, save_retrieval_corpus
from ._batch_files import read_batches
from ._demo import load_demo
from ._formats_flagembedding import read_flagembedding, write_flagembedding
from ._formats_st import read_sentence_transformers_jsonl, to_sentence_transformers, write_sentence_transformers_jsonl
from ._formats_tevatron import read_tevatron, write_tevatron
from ._graph_cache import cached_graph
from ._graph_files import SavedGraph, load_graph, save_graph
from ._graph_format import content_hash
from ._mining_data import (
    MiningTask,
    build_mining_task,
    load_mining_run,
    mined_rows,
    save_mining_run,
    write_mined,
)
from ._readers import (
    CitationData,
    abstract_from_inverted_index,
    read_citations,
    read_edge_list,
    read_ogb,
    read_openalex,
    read_planetoid,
    read_s2ag_citations,
    read_s2orc,
)
from ._text_tables import TextPairs, read_text_corpus, read_text_pairs

__all__ = [
    "CitationData",
    "read_citations",
    "read_edge_list",
    "read_s2orc",
    "read_s2ag_citations",
    "read_openalex",
    "read_planetoid",
    "read_ogb",
    "abstract_from_inverted_index",
    "to_sentence_transformers",
    "write_sentence_transformers_jsonl",
    "read_sentence_transformers_jsonl",
    "write_flagembedding",
    "read_flagembedding",
    "write_tevatron",
    "read_tevatron",
    "GraphCorpus",
    "RetrievalCorpus",
    "load_graph_corpus",
    "save_graph_corpus",
    "load_retrieval_corpus",
    "save_retrieval_corpus",
    "qrels_to_positives",
    "load_demo",
    # graph files: a graph and its communities on disk, and their cache
    "save_graph",
    "load_graph",
    "cached_graph",
    "content_hash",
    "SavedGraph",
    # batch files of `graphneg batches` / `graphneg mine`
    "read_batches",
    # text pairs -> mined negatives with teacher scores (graphneg mine)
    "read_text_pairs",
    "read_text_corpus",
    "TextPairs",
    "build_mining_task",
    "MiningTask",
    "write_mined",
    "mined_rows",
    "save_mining_run",
    "load_mining_run",
]
