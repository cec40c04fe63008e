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
                        raise TypeError(
                            f"{func.__name__}() got both `{old}` (deprecated) and `{new}`; pass `{new}` only."
                        )
                    warnings.warn(
                        f"{func.__name__}(): `{old}` is deprecated, use `{new}`.", DeprecationWarning, stacklevel=2
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class deprecated_alias:  # noqa: N801  (used like ``property``)
    """A read-only attribute ``old = deprecated_alias("new")``: ``self.new``, with a DeprecationWarning.

    >>> class C:
    ...     num_items = 3
    ...     n_items = deprecated_alias("num_items")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     C().n_items, str(w[0].message)
    (3, '`C.n_items` is deprecated, use `num_items`.')
    """

    def __init__(self, new: str) -> None:
        self.new = new
        self.old = "?"
        self.__doc__ = f"Deprecated alias of :attr:`{new}`."

    def __set_name__(self, owner: type, name: str) -> None:
        self.old = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        warnings.warn(f"`{type(obj).__name__}.{self.old}` is deprecated, use `{self.new}`.",
                      DeprecationWarning, stacklevel=2)
        return getattr(obj, self.new)
