"""Inputs are read-only: retrieve_candidates, select_negatives (its MiningCandidates), candidate_pair_graph,
required_depth, and the text-pair pieces of graphneg.io (read_text_pairs, read_text_corpus,
TextPairs, build_mining_task, MiningTask, write_mined, mined_rows, save_mining_run,
load_mining_run)."""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

from graphneg.io import (
    MiningTask,
    TextPairs,
    build_mining_task,
    load_mining_run,
    mined_rows,
    read_text_corpus,
    read_text_pairs,
    save_mining_run,
    write_mined,
)
from graphneg.negatives import (
    NegativeSelection,
    candidate_pair_graph,
    required_depth,
    retrieve_candidates,
    select_negatives,
)


def test_candidate_functions_leave_inputs_alone(tmp_path):
    rng = np.random.default_rng(0)
    C = rng.normal(size=(30, 4)).astype(np.float32)
    Q = C[:6].copy()
    P = sp.csr_matrix((np.ones(7), ([0, 1, 2, 3, 4, 5, 5], [3, 1, 2, 0, 4, 5, 6])), shape=(6, 30))
    X = [[7], [], [], [], [], []]
    before = [Q.copy(), C.copy(), P.copy(), copy.deepcopy(X)]
    assert required_depth(P, 30, exclude=X) >= 1
    cands = retrieve_candidates(Q, C, P, exclude=X, depth=20)
    saved = copy.deepcopy(cands)
    select_negatives(cands, NegativeSelection(num_negatives=2))
    rq, rp = np.arange(6), np.array([3, 1, 2, 0, 4, 5])
    candidate_pair_graph(cands, rq, rp, k=3)
    np.testing.assert_array_equal(Q, before[0])
    np.testing.assert_array_equal(C, before[1])
    assert (P != before[2]).nnz == 0 and X == before[3]
    np.testing.assert_array_equal(cands.indices, saved.indices)
    np.testing.assert_array_equal(cands.scores, saved.scores)
    np.testing.assert_array_equal(rq, np.arange(6))


def test_text_pair_functions_leave_inputs_alone(tmp_path):
    pairs_file, corpus_file = tmp_path / "pairs.csv", tmp_path / "corpus.csv"
    pairs_file.write_text("query,positive\nq1,a\nq1,b\nq2,c\n")
    corpus_file.write_text("_id,text\nd1,a\nd2,b\nd3,c\nd4,a\n")
    snapshot = (pairs_file.read_bytes(), corpus_file.read_bytes())
    pairs = read_text_pairs(pairs_file)
    corpus = read_text_corpus(corpus_file)
    kept = copy.deepcopy((pairs, corpus))
    task = build_mining_task(pairs, corpus)
    assert isinstance(task, MiningTask) and isinstance(pairs, TextPairs)
    assert (pairs, corpus) == kept and (pairs_file.read_bytes(), corpus_file.read_bytes()) == snapshot
    C = np.eye(4, dtype=np.float32) + 0.1
    cands = retrieve_candidates(C[:2], C, task.positives, exclude=task.exclude, depth=4)
    hn = select_negatives(cands, NegativeSelection(num_negatives=1))
    task_copy, hn_copy = copy.deepcopy(task), copy.deepcopy(hn)
    write_mined(tmp_path / "out.jsonl", task, hn, "triplets")
    mined_rows(task, hn, "st")
    save_mining_run(tmp_path / "run.npz", task, cands, {})
    load_mining_run(tmp_path / "run.npz")
    assert task.positives == task_copy.positives and task.exclude == task_copy.exclude
    np.testing.assert_array_equal(hn.indices, hn_copy.indices)
