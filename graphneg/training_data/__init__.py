"""The link pipeline's last stage: a citation graph and its negatives -> trainer files.

:func:`citation_training_data` pairs every citing paper with each paper it cites, adds
link-structure negatives (any ``*_link_negatives`` strategy of :mod:`graphneg.negatives`) and
writes JSONL training data: triplets of ids (and texts), or the sentence-transformers,
FlagEmbedding and Tevatron formats of :mod:`graphneg.io`. The work is resumable: finished
chunks survive a crash and a rerun writes the same file.

::

    LinkGraph ─*_link_negatives (chunk by chunk)─► negatives ─citation_training_data─► trainer JSONL
        training_data/_citations.py (plan, chunks, resumable parts), _records.py (the records)
"""

from __future__ import annotations

from ._citations import citation_training_data

__all__ = ["citation_training_data"]
