"""Old spellings of renamed parameters and attributes, kept working with a DeprecationWarning.

Naming convention of the public API (applied everywhere; old spellings deprecated here):

- counts are ``num_<things>``: ``num_negatives``, ``num_parts``, ``num_iterations``,
  ``num_replicas``, ``num_items``;
- the graph argument is ``graph``;
- cluster sizes are ``cluster_size`` (exact) and ``max_cluster_size`` (a cap); batch sizes are
  ``batch_size``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed_parameters(**old_to_new: str) -> Callable[[F], F]:
    """Accept ``old=value`` for a keyword renamed to ``new``, warning once per call.

    >>> @renamed_parameters(n_parts="num_parts")
    ... def f(*, num_parts=1):
    ...     return num_parts
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(n_parts=3), w[0].category.__name__
    (3, 'DeprecationWarning')
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__name__}() got both `{old}` (deprecated) and `{new}`; pass `{new}` only.")
                    warnings.warn(
                        f"{func.__name__}(): `{old}` is deprecated, use `{new}`.", DeprecationWarning, stacklevel=2
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def deprecated_alias(new: str) -> property:
    """A read-only property ``old`` that returns ``self.<new>`` with a DeprecationWarning."""

    def getter(self: Any) -> Any:
        warnings.warn(f"`{type(self).__name__}.{getter.__name__}` is deprecated, use `{new}`.",
                      DeprecationWarning, stacklevel=2)
        return getattr(self, new)

    getter.__name__ = f"alias of {new}"
    return property(getter, doc=f"Deprecated alias of :attr:`{new}`.")
