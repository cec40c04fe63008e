"""Process-group plumbing of :mod:`graphneg.distributed`: who am I, how rows are sharded,
collectives on NumPy arrays, and errors that every rank raises together (never a hang).

Every function takes ``group`` (a ``torch.distributed`` process group, ``None`` for the
default one). Without an initialised process group everything runs as a world of one, so
the sharded functions are also the single-process ones. Tensors travel on the CPU (gloo,
or a mixed ``cpu:gloo,cuda:nccl`` group); a pure NCCL group cannot move CPU tensors, so
there they travel on this rank's current CUDA device (:func:`collective_device`; call
``torch.cuda.set_device(local_rank)`` first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .._validation import check_int

__all__ = [
    "world", "shard_rows", "load_shard", "all_sizes", "all_max", "broadcast_rows", "broadcast_block", "agree",
    "collective_device", "to_device",
]

R = TypeVar("R")


def _dist(group: Any) -> Any:
    """``torch.distributed`` when a process group is initialised, else None (a world of one)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist
    if group is not None:
        raise ValueError("`group` was given but torch.distributed has no initialised process group.")
    return None


def collective_device(group: Any = None) -> Any:
    """The device of the tensors this group's collectives move: the current CUDA device for a
    pure NCCL group (which cannot move CPU tensors), else the CPU.

    Examples
    --------
    >>> str(collective_device())  # no process group here
    'cpu'
    """
    import torch

    dist = _dist(group)
    if dist is not None and str(dist.get_backend(group)).lower() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def world(group: Any = None) -> tuple[int, int]:
    """``(rank, world_size)`` of this process in ``group``; ``(0, 1)`` without a process group.

    Parameters
    ----------
    group : torch.distributed.ProcessGroup, optional
        Default: the default process group.

    Returns
    -------
    tuple of int

    See Also
    --------
    shard_rows : the rows each rank holds.
    load_shard : reads this rank's rows of an embedding file.

    Examples
    --------
    >>> world()  # no process group here
    (0, 1)
    """
    dist = _dist(group)
    if dist is None:
        return 0, 1
    return dist.get_rank(group), dist.get_world_size(group)


def shard_rows(n: int, world_size: int, rank: int) -> tuple[int, int]:
    r"""Rows ``[start, stop)`` of shard ``rank`` when ``n`` rows are cut into ``world_size`` shards.

    Contiguous and balanced: shard :math:`r` has :math:`\lfloor n/R \rfloor` rows, plus one
    for :math:`r < n \bmod R` (``numpy.array_split``'s rule).

    Parameters
    ----------
    n, world_size, rank : int
        ``n >= 0`` rows, ``world_size >= 1`` shards, ``0 <= rank < world_size``.

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        A non-int argument (``10.7`` rows is an error, not 10).
    ValueError
        An argument out of its range, naming it.

    See Also
    --------
    load_shard : reads those rows of a ``.npy`` file.
    world : this process's rank and the world size.

    Examples
    --------
    >>> [shard_rows(10, 3, r) for r in range(3)]
    [(0, 4), (4, 7), (7, 10)]
    >>> shard_rows(10, 0, 0)
    Traceback (most recent call last):
    ...
    ValueError: `world_size` must be >= 1, got 0.
    """
    n = check_int(n, "n", min_value=0)
    world_size = check_int(world_size, "world_size")
    rank = check_int(rank, "rank", min_value=0)
    if rank >= world_size:
        raise ValueError(f"`rank` must be in [0, {world_size - 1}], got {rank}.")
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def load_shard(path: str, group: Any = None) -> tuple[np.ndarray, int]:
    """This rank's rows of a ``.npy`` embedding file, memory-mapped, and their first global row.

    Only the shard's pages are read from disk (and only when used).

    Parameters
    ----------
    path : str or path-like
        A 2-D ``.npy`` array, e.g. the embeddings of the whole corpus.
    group : torch.distributed.ProcessGroup, optional

    Returns
    -------
    rows : numpy.memmap of shape (stop - start, dim)
        Read-only.
    start : int
        Global index of its first row (:func:`shard_rows`).

    See Also
    --------
    shard_rows : which rows a rank holds.
    knn_graph, mine_hard_negatives : take such shards (``X_shard``, ``queries_shard``, ``corpus_shard``).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "X.npy")
    >>> np.save(path, np.eye(3, dtype=np.float32))
    >>> rows, start = load_shard(path)  # a world of one: every row
    >>> rows.shape, start
    ((3, 3), 0)
    """
    X = np.load(path, mmap_mode="r")
    if X.ndim != 2:
        raise ValueError(f"`path` must hold a 2-D array, got shape {X.shape}.")
    rank, size = world(group)
    start, stop = shard_rows(X.shape[0], size, rank)
    return X[start:stop], start


def all_sizes(n_local: int, group: Any = None) -> np.ndarray:
    """The row count of every rank's shard (int64, in rank order).

    Examples
    --------
    >>> all_sizes(5).tolist()
    [5]
    """
    dist = _dist(group)
    if dist is None:
        return np.array([n_local], dtype=np.int64)
    import torch

    dev = collective_device(group)
    out = [torch.zeros(1, dtype=torch.int64, device=dev) for _ in range(dist.get_world_size(group))]
    dist.all_gather(out, torch.tensor([n_local], dtype=torch.int64, device=dev), group=group)
    return torch.cat(out).cpu().numpy()


def all_max(values: Any, group: Any = None) -> np.ndarray:
    """Element-wise maximum over ranks of a small float64 vector.

    Examples
    --------
    >>> all_max([1.0, 2.0]).tolist()
    [1.0, 2.0]
    """
    out = np.array(values, dtype=np.float64)
    dist = _dist(group)
    if dist is not None:
        import torch

        t = torch.from_numpy(out).to(collective_device(group))
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=group)
        out = t.cpu().numpy()
    return out


def broadcast_rows(rows: np.ndarray | None, shape: tuple[int, int], src: int, group: Any = None) -> np.ndarray:
    """Rows of float32 sent by rank ``src`` of ``group`` to every rank (``rows`` only on ``src``).

    Examples
    --------
    >>> broadcast_rows(np.ones((2, 3), np.float32), (2, 3), 0).shape
    (2, 3)
    """
    dist = _dist(group)
    if dist is None:
        assert rows is not None
        return rows
    return broadcast_block(rows, shape, src, group, None, on_device=False)[0]


def broadcast_block(
    rows: np.ndarray | None, shape: tuple[int, int], src: int, group: Any, device: Any, *, on_device: bool = True
) -> tuple[np.ndarray, Any]:
    """:func:`broadcast_rows`, also as a tensor on ``device``: ``(rows, tensor)``.

    The block travels as the group can move it (:func:`collective_device`): a CPU tensor on
    gloo (copied to ``device`` afterwards), a ``device`` tensor on NCCL (copied back to the
    CPU for the caller's NumPy work). ``on_device=False``: no device copy is made where
    none is needed for the transfer (the tensor is then ``None``).

    Examples
    --------
    >>> rows, t = broadcast_block(np.ones((2, 3), np.float32), (2, 3), 0, None, "cpu")
    >>> rows.shape, tuple(t.shape)
    ((2, 3), (2, 3))
    """
    import torch

    dist = _dist(group)
    if dist is None or dist.get_rank(group) == src:
        assert rows is not None
        rows = np.ascontiguousarray(rows, dtype=np.float32)
    t = None
    if dist is not None:
        here = collective_device(group)
        if rows is not None:  # a read-only memmap is copied for a CPU tensor
            t = to_device(rows if here.type != "cpu" or rows.flags.writeable else rows.copy(), here)
        else:
            t = torch.empty(shape, dtype=torch.float32, device=here)
        dist.broadcast(t, src=dist.get_global_rank(group, src) if group is not None else src, group=group)
        if rows is None:
            rows = t.cpu().numpy()
    if not on_device:
        return rows, None
    return rows, (t if t is not None and t.device == torch.device(device) else to_device(rows, device))


def to_device(rows: np.ndarray, device: Any) -> Any:
    """float32 ``rows`` as a tensor on ``device`` (a read-only memory map is read, not copied)."""
    from .._search._blocks import read_only_tensor

    return read_only_tensor(np.ascontiguousarray(rows, dtype=np.float32)).to(device)


def agree(fn: Callable[[], R], group: Any = None) -> R:
    """``fn()`` on every rank; if it raises on any rank, raise on every rank (no rank is left
    waiting in a collective). The failing rank re-raises its own error; the others a
    ``ValueError`` naming that rank and its message.

    Examples
    --------
    >>> agree(lambda: 1 + 1)
    2
    """
    dist = _dist(group)
    if dist is None:
        return fn()
    try:
        result, error = fn(), None
    except (ValueError, TypeError) as exc:
        result, error = None, exc
    errors: list[Any] = [None] * dist.get_world_size(group)
    dist.all_gather_object(errors, None if error is None else f"{type(error).__name__}: {error}", group=group)
    if error is not None:
        raise error
    failed = [(r, msg) for r, msg in enumerate(errors) if msg is not None]
    if failed:
        r, msg = failed[0]
        raise ValueError(f"rank {r} rejected its input: {msg}")
    return result  # type: ignore[return-value]
