"""Old module paths (graphneg <= 0.2 had flat modules) kept importable with a deprecation warning.

``import graphneg.knn`` (and ``from graphneg.mining import ...``) resolves to the module's new
home through a meta-path finder, so the tree holds no shim files. ``graphneg.communities``,
``graphneg.graph_embedding`` and ``graphneg.link_negatives`` are public *functions*; their old
modules are not aliased, because importing a submodule of that name would replace the function
on the package.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Any

# old dotted name -> new dotted name
MOVED_MODULES = {
    "graphneg.knn": "graphneg.similarity._knn",
    "graphneg._tiled": "graphneg.similarity._tiled",
    "graphneg.batches": "graphneg.similarity._batches",
    "graphneg.diagnostics": "graphneg.similarity._diagnostics",
    "graphneg.remine": "graphneg.similarity._remine",
    "graphneg.splits": "graphneg.links._splits",
    "graphneg.preprocess": "graphneg.io._training_data",
    "graphneg.mining": "graphneg.negatives._mining",
    "graphneg.batch_negatives": "graphneg.negatives._batch_negatives",
    "graphneg.masks": "graphneg.training._masks_compat",
    "graphneg.samplers": "graphneg.training._samplers",
    "graphneg.st": "graphneg.training.st",
    "graphneg.readers": "graphneg.io._readers",
    "graphneg.formats": "graphneg.io._formats",
    "graphneg.corpus": "graphneg.io._corpus",
    "graphneg.demo": "graphneg.io._demo",
    "graphneg._io": "graphneg.io._atomic",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new_name: str) -> None:
        self.new_name = new_name

    def create_module(self, spec: Any) -> Any:
        warnings.warn(
            f"module {spec.name!r} moved to {self.new_name!r}; import the names from 'graphneg' "
            "(the old path will be removed in a future release).",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.new_name)

    def exec_module(self, module: Any) -> None:
        # already executed under its new name; the import system has just stamped the alias
        # spec on it, so put the real one back (reload, pickling and tracebacks use it)
        module.__spec__ = importlib.util.find_spec(self.new_name)


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        new = MOVED_MODULES.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Register the finder once per process."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
