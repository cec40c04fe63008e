"""Groups built once and passed as ``labels`` give the same batches as the labels themselves."""

from __future__ import annotations

import numpy as np
import pytest

from graphneg._groups import Groups
from graphneg.similarity import cluster_batches, packed_batches, topic_batches


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("strata", [None, np.arange(24) % 2])
@pytest.mark.parametrize(
    "call",
    [
        lambda lab, **kw: cluster_batches(lab, 4, **kw),
        lambda lab, **kw: packed_batches(lab, 5, **kw),
        lambda lab, **kw: packed_batches(lab, 5, fill=True, **kw),
        lambda lab, **kw: topic_batches(lab, 4, clusters_per_batch=2, **kw),
    ],
)
def test_groups_as_labels_match_plain_labels(call, strata):
    labels = np.repeat(np.arange(12), 2)
    if strata is not None:
        labels = np.arange(24) // 4 * 2 + np.arange(24) % 2  # pairs within one stratum
    groups = Groups.of(labels)
    for epoch in (0, 3):
        assert _same(call(labels, seed=5, epoch=epoch, strata=strata),
                     call(groups, seed=5, epoch=epoch, strata=strata))


def test_groups_are_private_read_only_copies():
    labels = np.array([2, 0, 2, 1])
    g = Groups.of(labels)
    labels[:] = 0
    assert g.labels.tolist() == [2, 0, 2, 1]
    assert g.members.tolist() == [1, 3, 0, 2]
    with pytest.raises(ValueError):
        g.members[0] = 5
    assert Groups.of(g) is g and len(g) == 4


def test_groups_validate_labels():
    with pytest.raises(ValueError, match="`labels`"):
        Groups.of([-1, 0])


def test_private_groups_keyword_removed():
    with pytest.raises(TypeError):
        cluster_batches(np.repeat(np.arange(2), 2), 2, _groups=None)
