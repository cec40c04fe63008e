"""graphneg: which examples meet which when an embedding model is trained contrastively.

Two pipelines, one subpackage per stage (see the README's architecture section)::

    similarity:  embeddings ─knn_graph─► CSR graph ─communities─► labels
                 ─cluster_batches / packed_batches / topic_batches─► batches
                 ─training.CommunityBatchSampler / TopicBatchSampler / RandomBatchSampler─► DataLoader
    links:       io.read_citations ─► LinkGraph ─negatives.*_link_negatives / links.link_split─►
                 training_data.citation_training_data ─► trainer JSONL

:mod:`graphneg.negatives` holds mined and link-structure negatives and false-negative masks;
:mod:`graphneg.training` everything that imports torch; :mod:`graphneg.inspection` the summary,
plots and report of ``graphneg inspect`` (:func:`graphneg.inspect`) and graph files.
:mod:`graphneg.distributed` builds the kNN graph and mines negatives over a
``torch.distributed`` process group (embeddings sharded by rows).

Importing graphneg does not import torch; the samplers load it on first use.
"""

from __future__ import annotations

from typing import Any

from . import distributed, inspection, io, links, negatives, similarity, training_data  # noqa: F401 (distributed: by name)
from ._version import __version__
from .exceptions import BackendUnavailableError, GraphNegWarning
from .inspection import inspect
from .io import *  # noqa: F403  (each subpackage's __all__ is the public API)
from .links import *  # noqa: F403
from .negatives import *  # noqa: F403
from .similarity import *  # noqa: F403
from .training_data import *  # noqa: F403

# torch-facing names load torch on first use (PEP 562), so `import graphneg` stays light
_LAZY = {
    "CommunityBatchSampler": "training",
    "TopicBatchSampler": "training",
    "RandomBatchSampler": "training",
    "masked_info_nce": "training",
    "guide_mask": "training",
    "FalseNegativeCollator": "training",
    "RandomWalkBatchSampler": "training",
}
_SUBPACKAGES = (
    "similarity", "links", "negatives", "training", "io", "training_data", "inspection", "cli", "distributed",
)

__all__ = [
    "__version__",
    *similarity.__all__,
    *negatives.__all__,
    *links.__all__,
    *io.__all__,
    *training_data.__all__,
    "inspect",
    "BackendUnavailableError",
    "GraphNegWarning",
    *_LAZY,
]


def __getattr__(name: str) -> Any:  # PEP 562: torch loads only when a sampler is used
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphneg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBPACKAGES, *globals()})
