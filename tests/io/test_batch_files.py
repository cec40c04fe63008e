"""Batch files in the library (issue 22, item 4): graphneg.io.read_batches raises ValueError with
file:line, and graphneg.inspect on a bad batch file raises it too, never the CLI's CliError."""

from __future__ import annotations

import numpy as np
import pytest

import graphneg as gn
from graphneg.cli import main
from graphneg.io import read_batches
from graphneg.io._batch_files import write_batches


def test_round_trip(tmp_path):
    p = tmp_path / "b.jsonl"
    write_batches(p, [np.array([2, 0]), np.array([1])], ["a", "b", "c"])
    assert [b.tolist() for b in read_batches(p)] == [[2, 0], [1]]
    assert gn.read_batches is read_batches


@pytest.mark.parametrize(
    "text, match",
    [
        ('{"batch": 0, "indices": [1, 2]}\n{"batch": 1}\n', r"b\.jsonl:2: not a batch record"),
        ('{"batch": 0, "indices": [0.5, 1.7]}\n', r"b\.jsonl:1: .*`indices` must be a list of non-negative ints"),
        ("not json\n", r"b\.jsonl:1: not a batch record"),
    ],
)
def test_bad_lines_are_value_errors_naming_file_and_line(tmp_path, text, match):
    p = tmp_path / "b.jsonl"
    p.write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        read_batches(p)
    assert type(err.value) is ValueError  # the library's error, not the command line's
    if gn.inspection.detect_kind(p) == "batches":  # a first line that is no JSON reads as a corpus
        with pytest.raises(ValueError, match=match) as err:
            gn.inspect(p)
        assert type(err.value) is ValueError


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_batches(tmp_path / "none.jsonl")
    with pytest.raises(ValueError, match="is a directory"):
        read_batches(tmp_path)
    p = tmp_path / "b.jsonl"
    p.write_bytes(b'{"batch": 0, "indices": [1]}\n\xff\xfe\n')
    with pytest.raises(ValueError, match=r"b\.jsonl:2: not UTF-8"):
        read_batches(p)


def test_the_command_line_still_exits_2(tmp_path, capsys):
    p = tmp_path / "b.jsonl"
    p.write_text('{"batch": 0}\n')
    assert main(["stats", str(p)]) == 2
    assert "b.jsonl:1: not a batch record" in capsys.readouterr().err
