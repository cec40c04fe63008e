"""``collate_fn`` that builds each batch's false-negative mask inside a ``DataLoader``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from .._validation import check_choice, check_int
from ..negatives._masks import (
    NEGATIVES_LAYOUTS,
    NegativesLayout,
    build_mask,
    check_mask_rows,
    count_targets,
    pairs_rows,
    prepare_ids,
    rank_rows,
    target_key_array,
    to_numpy,
)

IdFn = Callable[[Any], tuple[Any, Any, Any]]


class FalseNegativeCollator:
    """``collate_fn`` that returns each batch together with its false-negative mask.

    Reads, from every dataset item, its query's global id, its positive's target id and its
    hard negatives' target ids, and builds :func:`false_negative_mask` for the batch. The
    "targets per query" inputs are normalised once here, so each batch costs O(batch).

    Parameters
    ----------
    id_fn : callable or tuple of three keys
        ``id_fn(item) -> (query_id, positive_id, negative_ids)``; or keys
        ``(query_key, positive_key, negatives_key)`` read as ``item[key]`` (dict keys or tuple
        positions; ``negatives_key=None`` for pairs). Negative ids may be ``-1`` padded and must
        have the same length for every item. Keys (not lambdas) pickle for worker processes.
    target_keys, known_positives, rank_graph, top_p, negatives_layout
        As in :func:`false_negative_mask`.
    collate_fn : callable, default=torch.utils.data.default_collate
        Collates the items themselves.

    See Also
    --------
    graphneg.false_negative_mask : the mask it computes for each batch.
    masked_info_nce : applies it in the loss.
    CommunityBatchSampler : batches whose mates are likely false negatives.

    Notes
    -----
    Usage, with each item holding ``q`` (query input), ``pos`` and ``negs`` (``n`` inputs)::

        loader = DataLoader(ds, batch_size=64, collate_fn=FalseNegativeCollator(
            ("qid", "pid", "nids"), known_positives=qrels, rank_graph=knn_idx, top_p=5))
        for batch, mask in loader:
            docs = torch.cat([batch["pos"], batch["negs"].flatten(0, 1)])  # query-major
            loss = masked_info_nce(model(batch["q"]), model(docs), mask)

    The guide (GISTEmbed) term needs model outputs, so it is added in the loop:
    ``mask | guide_mask(guide(batch["q"]), guide(docs))``.

    Examples
    --------
    >>> items = [{"qid": 0, "pid": 10, "nids": np.array([11])},
    ...          {"qid": 1, "pid": 11, "nids": np.array([12])}]
    >>> batch, mask = FalseNegativeCollator(("qid", "pid", "nids"))(items)
    >>> batch["nids"].shape, mask.int().tolist()
    (torch.Size([2, 1]), [[0, 0, 0, 0], [0, 0, 1, 0]])
    """

    def __init__(
        self,
        id_fn: IdFn | Sequence[Any],
        *,
        target_keys: Any = None,
        known_positives: Any = None,
        rank_graph: Any = None,
        top_p: int | None = None,
        negatives_layout: NegativesLayout = "query_major",
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if callable(id_fn):
            self.id_fn: IdFn | None = id_fn
            self.id_keys: tuple[Any, Any, Any] | None = None
        elif isinstance(id_fn, (tuple, list)) and len(id_fn) == 3:
            self.id_fn, self.id_keys = None, (id_fn[0], id_fn[1], id_fn[2])
        else:
            raise TypeError(
                "`id_fn` must be a callable item -> (query_id, positive_id, negative_ids) or a "
                f"tuple of three keys (query_key, positive_key, negatives_key), got {id_fn!r}."
            )
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"`collate_fn` must be callable, got {collate_fn!r}.")
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.negatives_layout = check_choice(
            negatives_layout, "negatives_layout", NEGATIVES_LAYOUTS
        )
        if top_p is not None:
            top_p = check_int(top_p, "top_p")
            if rank_graph is None:
                raise ValueError("`top_p` needs `rank_graph` (the neighbours it ranks), got None.")
        self.top_p = top_p
        self._keys = target_key_array(target_keys)
        self.n_targets = count_targets(self._keys, known_positives, rank_graph)
        self._known = (
            None
            if known_positives is None
            else pairs_rows(known_positives, None, "known_positives", self.n_targets)
        )
        self._rank = (
            None if rank_graph is None else rank_rows(rank_graph, None, top_p, self.n_targets)
        )

    def _item_ids(self, item: Any) -> tuple[Any, Any, Any]:
        if self.id_fn is not None:
            ids = self.id_fn(item)
            if not isinstance(ids, (tuple, list)) or len(ids) != 3:
                raise ValueError(
                    "`id_fn` must return (query_id, positive_id, negative_ids), got "
                    f"{type(ids).__name__} {ids!r}."
                )
            return ids[0], ids[1], ids[2]
        qk, pk, nk = self.id_keys  # type: ignore[misc]
        return item[qk], item[pk], (None if nk is None else item[nk])

    def mask(self, items: Sequence[Any]) -> np.ndarray:
        """The ``(B, B(1+n))`` boolean mask of ``items`` (as numpy), without collating."""
        if len(items) == 0:
            raise ValueError("`items` must hold at least one dataset item, got an empty batch.")
        qs, ps, ns = zip(*(self._item_ids(item) for item in items), strict=True)
        neg = None
        if any(n is not None for n in ns):
            rows = [np.asarray(to_numpy(n)).ravel() for n in ns]
            lengths = {r.size for r in rows}
            if len(lengths) > 1:
                raise ValueError(
                    "every item must have the same number of negative ids (pad with -1), got "
                    f"lengths {sorted(lengths)}."
                )
            neg = np.stack(rows)
        q, p, neg_ids = prepare_ids(
            np.array([to_numpy(x) for x in qs]),
            np.array([to_numpy(x) for x in ps]),
            neg,
            self.n_targets,
        )
        known = rank = None
        if self._known is not None:
            check_mask_rows(q, self._known.shape[0], "known_positives")
            known = self._known[q]
        if self._rank is not None:
            check_mask_rows(q, self._rank.shape[0], "rank_graph")
            rank = self._rank[q]
        return build_mask(
            p, neg_ids, self.negatives_layout, self._keys, known, rank, None, 0.0, "absolute"
        )

    def __call__(self, items: Sequence[Any]) -> tuple[Any, torch.Tensor]:
        """Return ``(collate_fn(items), mask)`` with ``mask`` a ``torch.bool`` tensor."""
        mask = self.mask(items)
        return self.collate_fn(list(items)), torch.from_numpy(mask)
