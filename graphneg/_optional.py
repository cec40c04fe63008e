"""Import optional dependencies with an install hint instead of a bare ImportError."""

from __future__ import annotations

import importlib
from types import ModuleType

from .exceptions import BackendUnavailableError


def optional_import(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`BackendUnavailableError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BackendUnavailableError(
            f"{feature} requires the optional package {module!r}; install it with "
            f"`pip install 'graphneg[{extra}]'`."
        ) from err
