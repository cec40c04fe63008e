r"""InfoNCE with a false-negative mask, and GISTEmbed's guide mask (torch).

The mask layout is the one of :func:`graphneg.false_negative_mask`: ``(B, C)`` booleans over
``C = B(1+n)`` candidates, ``True`` = "must not count as a negative", never at a target.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_choice, check_float
from ..negatives._masks import REDUCTIONS, MarginStrategy, check_margin, gist_rule


def _embeddings(x: Any, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if not t.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {t.dtype}.")
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty 2-D tensor (n, dim), got shape {tuple(t.shape)}."
        )
    return t


def _query_candidate_pair(
    query: Any, candidates: Any, qname: str, cname: str
) -> tuple[torch.Tensor, torch.Tensor]:
    q, c = _embeddings(query, qname), _embeddings(candidates, cname)
    if q.shape[1] != c.shape[1]:
        raise ValueError(
            f"`{qname}` and `{cname}` must have the same dimension, "
            f"got {q.shape[1]} and {c.shape[1]}."
        )
    if c.shape[0] < q.shape[0]:
        raise ValueError(
            f"`{cname}` must hold at least the B = {q.shape[0]} positives (B*(1+n) rows), "
            f"got {c.shape[0]}."
        )
    return q, c


def _cosine(q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    # normalise-then-GEMM: O((B + C) d) extra memory, unlike an O(B C d) broadcast cosine
    return F.normalize(q, dim=-1) @ F.normalize(c, dim=-1).T


def guide_mask(
    guide_query_emb: Any,
    guide_candidate_emb: Any,
    *,
    margin: float = 0.0,
    margin_strategy: MarginStrategy = "absolute",
) -> torch.Tensor:
    r"""GISTEmbed false-negative mask from a guide model's embeddings (torch, no gradient).

    With cosine guide similarities :math:`g_{ij} = \cos(\hat q_i, \hat c_j)`, masks

    .. math::

        M_{ij} = [j \ne i] \wedge \big[g_{ij} > g_{ii} - m\big] \quad\text{(absolute)},
        \qquad
        M_{ij} = [j \ne i] \wedge \big[g_{ij} > g_{ii} - |g_{ii}|\,m\big] \quad\text{(relative)},

    sentence-transformers ``GISTEmbedLoss``'s rule on its anchor-positive and anchor-negative
    blocks, positive protected (its anchor-anchor and positive-positive blocks are not
    part of this layout). Costs one ``(B, C)`` product of the guide embeddings.

    Parameters
    ----------
    guide_query_emb : tensor of shape (B, d_g)
    guide_candidate_emb : tensor of shape (C, d_g)
        The guide's embeddings of the candidates, in the layout of the loss (``C = B(1+n)``).
    margin : float, default=0.0
    margin_strategy : {'absolute', 'relative'}, default='absolute'

    Returns
    -------
    torch.Tensor of shape (B, C), bool
        On the device of the embeddings; combine with an id mask by ``|``.

    See Also
    --------
    masked_info_nce : applies the mask.
    graphneg.false_negative_mask : the same rule on precomputed guide scores, with the id rules.
    graphneg.score_threshold_mask : the rule on teacher scores, in numpy.

    References
    ----------
    .. [1] Solatorio, "GISTEmbed: Guided In-sample Selection of Training Negatives for Text
       Embedding Fine-tuning", 2024, arXiv:2402.16829.

    Examples
    --------
    >>> gq = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> gc = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.6, 0.8]])
    >>> guide_mask(gq, gc).int().tolist()
    [[0, 0, 0, 0], [0, 0, 0, 0]]
    >>> guide_mask(gq, gc, margin=0.1).int().tolist()  # cos = 0.995 > 1 - 0.1
    [[0, 0, 1, 0], [0, 0, 0, 0]]
    """
    margin, margin_strategy = check_margin(margin, margin_strategy, "margin")
    q, c = _query_candidate_pair(
        guide_query_emb, guide_candidate_emb, "guide_query_emb", "guide_candidate_emb"
    )
    with torch.no_grad():
        mask = gist_rule(_cosine(q, c), margin, margin_strategy)
        diag = torch.arange(q.shape[0], device=mask.device)
        mask[diag, diag] = False
    return mask


def _as_mask(mask: Any, b: int, c: int, device: torch.device) -> torch.Tensor:
    m = torch.from_numpy(mask) if isinstance(mask, np.ndarray) else mask
    if not isinstance(m, torch.Tensor) or m.dtype != torch.bool:
        kind = m.dtype if isinstance(m, torch.Tensor) else type(mask).__name__
        raise TypeError(f"`mask` must be a boolean tensor or array, got {kind}.")
    if tuple(m.shape) != (b, c):
        raise ValueError(f"`mask` must have shape (B, C) = ({b}, {c}), got {tuple(m.shape)}.")
    return m.to(device)


def masked_info_nce(
    query_emb: torch.Tensor,
    candidate_emb: torch.Tensor,
    mask: Any = None,
    *,
    temperature: float = 0.05,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> torch.Tensor:
    r"""InfoNCE over in-batch and hard negatives, with masked candidates removed.

    With :math:`s_{ij} = \cos(q_i, c_j)`, temperature :math:`\tau` and the target of query
    :math:`i` at column :math:`i`,

    .. math::

        \ell_i = -\log \frac{\exp(s_{ii}/\tau)}
                            {\sum_{j \,:\, \neg M_{ij}} \exp(s_{ij}/\tau)}
               = -\frac{s_{ii}}{\tau} + \log \sum_{j \,:\, \neg M_{ij}} e^{s_{ij}/\tau},

    i.e. cross entropy with targets ``arange(B)`` after setting masked logits to
    :math:`-\infty`. :math:`M_{ii}` is ignored (the target always stays), so a row with every
    other candidate masked contributes :math:`\ell_i = 0`. Without a mask this is
    sentence-transformers' ``MultipleNegativesRankingLoss`` with ``scale = 1 / temperature``.

    Parameters
    ----------
    query_emb : tensor of shape (B, d)
    candidate_emb : tensor of shape (C, d)
        The ``B`` positives, then the hard negatives, in the mask's layout (``C = B(1+n)``).
    mask : bool tensor or ndarray of shape (B, C), default=None
        ``True`` = not a negative (from :func:`false_negative_mask`, :func:`guide_mask` or
        :class:`FalseNegativeCollator`); moved to the embeddings' device.
    temperature : float, default=0.05
    reduction : {'mean', 'sum', 'none'}, default='mean'

    Returns
    -------
    torch.Tensor
        A scalar, or the ``(B,)`` losses with ``reduction='none'``. Logits are computed in at
        least float32.

    See Also
    --------
    graphneg.false_negative_mask : the mask, from ids, known positives and mining ranks.
    guide_mask : the mask from a guide model's embeddings (GISTEmbed).
    FalseNegativeCollator : returns each batch with its mask.
    graphneg.training.st.MaskedMultipleNegativesRankingLoss : the same loss for sentence-transformers.

    References
    ----------
    .. [1] van den Oord, Li and Vinyals, "Representation Learning with Contrastive Predictive
       Coding", 2018, arXiv:1807.03748.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> q, c = torch.randn(3, 8, generator=g), torch.randn(6, 8, generator=g)
    >>> bool(torch.isclose(masked_info_nce(q, c, torch.zeros(3, 6, dtype=torch.bool)),
    ...                    masked_info_nce(q, c)))
    True
    >>> float(masked_info_nce(q, c, torch.ones(3, 6, dtype=torch.bool)))  # only targets left
    0.0
    """
    temperature = check_float(temperature, "temperature", min_value=0.0, min_inclusive=False)
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    q, c = _query_candidate_pair(query_emb, candidate_emb, "query_emb", "candidate_emb")
    b = q.shape[0]
    logits = _cosine(q, c)
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32)) / temperature
    target = torch.arange(b, device=logits.device)
    if mask is not None:
        m = _as_mask(mask, b, c.shape[0], logits.device).clone()
        m[target, target] = False
        logits = logits.masked_fill(m, float("-inf"))
    return F.cross_entropy(logits, target, reduction=reduction)
