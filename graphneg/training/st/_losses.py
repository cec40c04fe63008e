r"""The recipe's loss for sentence-transformers: MultipleNegativesRankingLoss with graphneg's masks.

Each training row carries its pair index in the ``label`` column; the loss reads the pair's
query, positive and mined negatives from a :class:`~graphneg.training.st.PairTable` and masks,
for every query, the candidates that must not count as negatives:

.. math::

    \ell_i = -\frac{s_{i,t(i)}}{\tau} + \log \sum_{j \,:\, \neg M_{ij}} e^{s_{ij}/\tau},
    \qquad
    M_{ij} = [j \ne t(i)] \wedge \big( c_j \in \mathcal{P}(q_i) \vee c_j = \varnothing
             \vee s^{T}_{ij} \ge f\, s^{T}_{i,t(i)} \vee s^{T}_{ij} > s^{T}_{i,t(i)} + m
             \vee \operatorname{dist}_G(q_i, c_j) \le h \big)

with :math:`s` the student's cosine, :math:`t(i)` the column of query :math:`i`'s positive,
:math:`\mathcal{P}(q)` its known positives (identical texts are one document, so duplicates
are covered), :math:`\varnothing` a missing negative, :math:`s^T` the teacher's scores
(NV-Retriever's fraction :math:`f`, Qwen3-Embedding's margin :math:`m`) and :math:`G` a link
graph (k-hop mask, for link data). Each term is used only when configured.

Under DDP with ``gather_across_devices=True`` the candidates of every rank are gathered (with
gradients, as sentence-transformers does); the local query ``i`` of rank ``r`` has its target
at column ``r B + i`` and its mask is computed over the gathered pair indices, so the loss and
gradients equal those of one process over the concatenated batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..._validation import check_bool, check_float, check_int
from ...negatives import khop_mask, known_positive_mask, score_threshold_mask
from ._pairs import PairTable, read_pairs  # noqa: F401 (read_pairs: the examples)

try:  # sentence-transformers >= 6: the shared GradCache machinery
    from sentence_transformers.base.losses.gradcache import CachedLossMixin as _CachedLossMixin
except ImportError:  # pragma: no cover - older sentence-transformers
    _CachedLossMixin = None


class _AllGather(torch.autograd.Function):
    """All-gather along dim 0 whose backward sums every rank's gradient and keeps the local slice."""

    @staticmethod
    def forward(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, t.contiguous())
        ctx.rank, ctx.rows = dist.get_rank(), t.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # every rank's loss reads every rank's candidates
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


def _gather(t: torch.Tensor, with_grad: bool) -> torch.Tensor:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return t
    if with_grad:
        return _AllGather.apply(t)
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts)


def _rank(gather: bool) -> int:
    import torch.distributed as dist

    return dist.get_rank() if gather and dist.is_available() and dist.is_initialized() else 0


class _MaskedRanking(nn.Module):
    """The mask and the loss from per-column embeddings; shared by the plain and cached losses."""

    def _setup(self, model: Any, table: PairTable, *, temperature: float, known_positives: bool,
               threshold_fraction: float | None, threshold_margin: float | None, teacher: Any,
               graph: Any, hops: int, gather_across_devices: bool) -> None:
        if not isinstance(table, PairTable):
            raise TypeError(f"`table` must be a graphneg.training.st.PairTable, got {type(table).__name__}.")
        self.model, self.table = model, table
        self.temperature = check_float(temperature, "temperature", min_value=0.0, min_inclusive=False)
        self.known_positives = check_bool(known_positives, "known_positives")
        self.threshold_fraction = None if threshold_fraction is None else check_float(
            threshold_fraction, "threshold_fraction", min_value=0.0, max_value=1.0, min_inclusive=False)
        self.threshold_margin = None if threshold_margin is None else check_float(threshold_margin, "threshold_margin")
        thresholds = self.threshold_fraction is not None or self.threshold_margin is not None
        if thresholds and teacher is None:
            raise ValueError("a teacher score threshold needs `teacher=(query_embeddings, doc_embeddings)`.")
        if teacher is not None:
            tq, td = (np.asarray(x, dtype=np.float32) for x in teacher)
            if tq.shape[0] != len(table.query_texts) or td.shape[0] != len(table.doc_texts):
                raise ValueError(
                    f"`teacher` must hold one row per query ({len(table.query_texts)}) and per document "
                    f"({len(table.doc_texts)}), got {tq.shape[0]} and {td.shape[0]}."
                )
            teacher = (tq, td)
        self.teacher = teacher
        self.graph, self.hops = graph, check_int(hops, "hops", min_value=0)
        self.gather_across_devices = check_bool(gather_across_devices, "gather_across_devices")

    def batch_mask(self, rows: np.ndarray, all_rows: np.ndarray, num_columns: int, offset: int) -> np.ndarray:
        """``(B, C)`` mask of local pair ``rows`` against the candidates of ``all_rows``."""
        t = self.table
        cand = np.concatenate([t.positive[all_rows], *(
            t.negatives[all_rows, j] for j in range(num_columns - 1))]) if num_columns > 1 else t.positive[all_rows]
        b = rows.size
        # the public masks expect each query's target at its own column: rotate the local
        # targets to the front, mask, rotate back
        order = np.r_[offset:offset + b, 0:offset, offset + b:cand.size]
        c = cand[order]
        mask = np.broadcast_to(c < 0, (b, c.size)).copy()
        q = t.query[rows]
        if self.known_positives:
            mask |= known_positive_mask(q, c, t.known)
        if self.teacher is not None and (self.threshold_fraction is not None or self.threshold_margin is not None):
            tq, td = self.teacher
            mask |= score_threshold_mask(
                tq[q] @ td[np.maximum(c, 0)].T, margin=self.threshold_margin, fraction=self.threshold_fraction)
        if self.graph is not None:
            mask |= khop_mask(q, c, self.graph, hops=self.hops)
        mask[np.arange(b), np.arange(b)] = False
        out = np.empty_like(mask)
        out[:, order] = mask
        return out

    def loss_from_embeddings(self, reps: list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """The masked InfoNCE of one batch from its per-column embeddings (anchor first)."""
        if len(reps) < 2:
            raise ValueError(f"the loss needs an anchor and at least a positive column, got {len(reps)} column(s).")
        if self.table.negatives is None and len(reps) > 2:
            raise ValueError("the dataset has negative columns but the PairTable holds no negatives.")
        queries, b = reps[0], reps[0].shape[0]
        rows = labels.detach().long()
        docs = reps[1:]
        offset = 0
        if self.gather_across_devices:
            # one collective for the sizes per step, not one per column: all_gather needs equal shapes
            sizes = _gather(torch.tensor([b], device=rows.device), with_grad=False)
            if len(set(sizes.tolist())) > 1:
                raise ValueError(f"gather_across_devices needs the same batch size on every rank, got "
                                 f"{sizes.tolist()}; set dataloader_drop_last=True.")
            docs = [_gather(d, with_grad=True) for d in docs]
            offset = _rank(True) * b
            rows_all = _gather(rows, with_grad=False)
        else:
            rows_all = rows
        mask = self.batch_mask(rows.cpu().numpy(), rows_all.cpu().numpy(), len(docs), offset)
        cand = torch.cat(docs)
        logits = F.normalize(queries, dim=-1) @ F.normalize(cand, dim=-1).T
        logits = logits.float() / self.temperature
        logits = logits.masked_fill(torch.from_numpy(mask).to(logits.device), float("-inf"))
        target = torch.arange(offset, offset + b, device=logits.device)
        return F.cross_entropy(logits, target)

    def get_config_dict(self) -> dict[str, Any]:
        """The settings shown in sentence-transformers' model card."""
        return {"temperature": self.temperature, "known_positives": self.known_positives,
                "threshold_fraction": self.threshold_fraction, "threshold_margin": self.threshold_margin,
                "hops": self.hops if self.graph is not None else None,
                "gather_across_devices": self.gather_across_devices}


class MaskedMultipleNegativesRankingLoss(_MaskedRanking):
    r"""sentence-transformers' MultipleNegativesRankingLoss with false negatives masked out.

    The dataset's columns are ``anchor, positive[, negative_1, ..., negative_n], label`` with
    ``label`` the pair index into ``table``; a missing negative (``-1`` in
    ``table.negatives``) may hold any placeholder text: it is masked. The mask is described
    in :mod:`graphneg.training.st._losses`; without any mask term this is exactly
    ``MultipleNegativesRankingLoss(scale=1/temperature)``.

    Parameters
    ----------
    model : SentenceTransformer
    table : PairTable
        The training pairs (:func:`graphneg.training.st.read_pairs`) with their negatives.
    temperature : float, default=0.05
        :math:`\tau` (sentence-transformers' ``scale = 1 / temperature = 20``).
    known_positives : bool, default=True
        Mask every known positive of the query (all its positives in the data; a duplicate text).
    threshold_fraction : float in (0, 1], optional
        Mask candidates the teacher scores at or above ``f`` times the positive's score
        (NV-Retriever TopK-PercPos; the recipe uses 0.95).
    threshold_margin : float, optional
        Mask candidates the teacher scores above the positive plus ``m`` (Qwen3-Embedding, 0.1).
    teacher : tuple of arrays (query_embeddings, doc_embeddings), optional
        Normalised teacher embeddings of ``table.query_texts`` and ``table.doc_texts``; needed
        by the thresholds.
    graph : LinkGraph or sparse matrix, optional
        Link data: queries and documents are nodes of this graph (query id = document id =
        node row); candidates within ``hops`` of the query are masked (:func:`graphneg.khop_mask`).
    hops : int, default=1
    gather_across_devices : bool, default=False
        Gather the candidates of every DDP rank (with gradients) as negatives.

    See Also
    --------
    CachedMaskedMultipleNegativesRankingLoss : the same loss with GradCache for large batches.
    graphneg.masked_info_nce : the loss on plain tensors.

    Examples
    --------
    >>> import torch
    >>> t = read_pairs({"query": ["a", "a", "b"], "positive": ["x", "y", "z"]})
    >>> loss = MaskedMultipleNegativesRankingLoss(None, t)
    >>> q, d = torch.eye(3), torch.eye(3)
    >>> # rows 0 and 1 share query 'a': each other's positive is masked for both
    >>> loss.batch_mask(np.arange(3), np.arange(3), 1, 0).astype(int).tolist()
    [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    >>> round(float(loss.loss_from_embeddings([q, d], torch.arange(3))), 4)
    0.0
    """

    def __init__(
        self,
        model: Any,
        table: PairTable,
        *,
        temperature: float = 0.05,
        known_positives: bool = True,
        threshold_fraction: float | None = None,
        threshold_margin: float | None = None,
        teacher: Any = None,
        graph: Any = None,
        hops: int = 1,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__()
        self._setup(model, table, temperature=temperature, known_positives=known_positives,
                    threshold_fraction=threshold_fraction, threshold_margin=threshold_margin, teacher=teacher,
                    graph=graph, hops=hops, gather_across_devices=gather_across_devices)

    def forward(self, sentence_features: Any, labels: torch.Tensor) -> torch.Tensor:
        """Embed every column and return the masked loss (the trainer's call)."""
        reps = [self.model(f)["sentence_embedding"] for f in sentence_features]
        return self.loss_from_embeddings(reps, labels)


class CachedMaskedMultipleNegativesRankingLoss(*((_CachedLossMixin,) if _CachedLossMixin else ()), _MaskedRanking):
    r""":class:`MaskedMultipleNegativesRankingLoss` with GradCache (Gao et al., 2021) for large batches.

    The columns are embedded ``mini_batch_size`` rows at a time without a graph, the loss's
    gradients with respect to the embeddings are cached, and each mini-batch is embedded again
    with gradients to back-propagate them (sentence-transformers' ``CachedLossMixin``, v6+):
    the gradients equal the uncached loss's, with the memory of one mini-batch.

    Parameters
    ----------
    model : SentenceTransformer
    table : PairTable
    mini_batch_size : int, default=32
        Rows embedded at a time.
    **options
        The keywords of :class:`MaskedMultipleNegativesRankingLoss`.

    See Also
    --------
    MaskedMultipleNegativesRankingLoss : the same loss without GradCache.

    Examples
    --------
    >>> t = read_pairs({"query": ["a", "b"], "positive": ["x", "y"]})
    >>> CachedMaskedMultipleNegativesRankingLoss(None, t, mini_batch_size=8).mini_batch_size
    8
    """

    def __init__(self, model: Any, table: PairTable, *, mini_batch_size: int = 32, **options: Any) -> None:
        if _CachedLossMixin is None:  # pragma: no cover - older sentence-transformers
            raise ImportError("the cached loss needs sentence-transformers >= 6 (its CachedLossMixin).")
        nn.Module.__init__(self)
        self._setup(model, table, **{**_DEFAULTS, **options})
        self.mini_batch_size = check_int(mini_batch_size, "mini_batch_size")
        self.show_progress_bar = False

    def calculate_loss(self, reps: list[list[torch.Tensor]], labels: Any = None, *, with_backward: bool = False) -> Any:
        """The masked loss of the whole batch from the mini-batch embeddings (GradCache step 2)."""
        loss = self.loss_from_embeddings([torch.cat(r) for r in reps], labels)
        if with_backward:
            loss.backward()
            return loss.detach()
        return loss

    def forward(self, sentence_features: Any, labels: torch.Tensor) -> torch.Tensor:
        """GradCache's three steps (the trainer's call)."""
        return self.forward_cached(list(sentence_features), labels)


_DEFAULTS: dict[str, Any] = dict(temperature=0.05, known_positives=True, threshold_fraction=None,
                                 threshold_margin=None, teacher=None, graph=None, hops=1,
                                 gather_across_devices=False)
