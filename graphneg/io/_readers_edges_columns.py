"""Clean edge lists read column-wise by pyarrow's CSV reader: the graph streaming gives, faster.

:func:`graphneg.io._readers_edges.read_edge_list` sends a clean file here (see its
``_read_columns`` for what "clean" means); anything else is streamed line by line. Two routes:

- :func:`integer_columns`: a file holding nothing but decimal digits, the delimiter and
  ``"\\n"`` is parsed straight to int64. Every field is then the decimal integer that
  ``str(int(field))`` writes (the same id either way) exactly when the file's byte count is
  what those canonical spellings add up to: any other spelling of a number (a leading zero)
  is longer.
- :func:`string_columns`: any other clean file, as two string columns.

:func:`assemble_columns` numbers the ids in order of appearance, a line's first column before
its second, as the streaming reader interns them, and builds the graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._readers_base import Report, assemble

# 10, 100, ..., 10**18: a non-negative int64 below 10**k has at most k digits
_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)
_DIGITS = b"0123456789"


def _csv_options(n_fields: int, delimiter: str, column_type: Any, skip_rows: int = 0) -> dict[str, Any]:
    """``pyarrow.csv.read_csv`` options: no quoting or escapes, every field a value, the
    first two of ``n_fields`` columns read as ``column_type``."""
    import pyarrow.csv as pa_csv

    names = [f"f{i}" for i in range(n_fields)]
    return dict(
        read_options=pa_csv.ReadOptions(column_names=names, skip_rows=skip_rows, block_size=1 << 24),
        parse_options=pa_csv.ParseOptions(
            delimiter=delimiter, quote_char=False, double_quote=False, escape_char=False,
            newlines_in_values=False, ignore_empty_lines=True,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: column_type for name in names}, include_columns=names[:2],
            strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[],
        ),
    )


def integer_columns(path: Path, skip_lines: int, delimiter: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The two columns as int64 arrays when every line after the first ``skip_lines`` is
    ``digits<delimiter>digits``, each number written as ``str(int)`` writes it; else None."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if delimiter.isdigit() or path.name.endswith(".gz"):
        return None
    with open(path, "rb") as fh:  # the line numbering of the streaming reader: "\n" ends a line
        for _ in range(skip_lines):
            fh.readline()
        start = fh.tell()
    with pa.memory_map(str(path)) as mapped:
        data = mapped.read_buffer().slice(start)
        view, size = memoryview(data), data.size
        if not size or not _only(view, _DIGITS + delimiter.encode() + b"\n"):
            return None  # anything but digits, delimiters and line ends: the string route decides
        try:
            table = pa_csv.read_csv(pa.BufferReader(data), **_csv_options(2, delimiter, pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # an empty field or line, a third column, a number past int64, ...
    first, second = (np.concatenate([_numbers(chunk) for chunk in table.column(i).chunks]) for i in range(2))
    # each line holds its two fields, a delimiter and "\n"; a field spelled other than
    # str(int) spells it would be longer than the digits counted here
    ends_open = view[-1] != ord("\n")  # the last line's "\n" may be missing
    spelled = _decimal_digits(first) + _decimal_digits(second) + 2 * first.size - int(ends_open)
    return (first, second) if spelled == size else None


def _only(data: memoryview, allowed: bytes) -> bool:
    """Whether ``data`` holds no byte outside ``allowed`` (read in blocks: no copy of a large file)."""
    block = 1 << 24
    return not any(bytes(data[i : i + block]).translate(None, allowed) for i in range(0, len(data), block))


def _decimal_digits(values: np.ndarray) -> int:
    """How many digits ``str()`` writes for all of ``values`` (non-negative) together."""
    top = int(values.max()) if values.size else 0
    return values.size + sum(int(np.count_nonzero(values >= p)) for p in _POWERS_OF_TEN[_POWERS_OF_TEN <= top])


def _numbers(array: Any) -> np.ndarray:
    """An int64 pyarrow array without nulls as a numpy array (a view of its buffer)."""
    return np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array)]


def string_columns(path: Path, skip_rows: int, n_fields: int, delimiter: str, comment: str | None) -> Any:
    """The first two of ``n_fields`` columns as large_string arrays, or None when a field
    needs what streaming does to it (strip, unquote, skip) or pyarrow cannot read the file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    try:
        # 64-bit offsets: a column of a billion-edge file passes 2 GiB
        table = pa_csv.read_csv(path, **_csv_options(n_fields, delimiter, pa.large_string(), skip_rows))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, EOFError):
        return None  # ragged lines, invalid UTF-8, a broken .gz, ...: stream and report
    if table.num_rows == 0:
        return None
    a, b = (table.column(i).combine_chunks() for i in range(2))
    if not (_plain_fields(a) and _plain_fields(b)):
        return None
    if comment is not None and pc.any(pc.starts_with(a, comment)).as_py():
        return None  # a comment line with the delimiter in it: stream (it is skipped there)
    return a, b


def _plain_fields(column: Any) -> bool:
    """Whether no field of a string column needs what streaming does to it: every field is
    non-empty and starts and ends with a printable ASCII character other than a double quote
    (nothing to strip or unquote). Conservative: a field starting or ending with a non-ASCII
    character also sends the file to the streaming reader."""
    offsets, data = _string_buffers(column)
    if column.null_count or (np.diff(offsets) <= 0).any():
        return False
    first, last = data[offsets[:-1]], data[offsets[1:] - 1]
    return bool(((first > 0x20) & (first < 0x7F) & (first != ord('"')) & (last > 0x20) & (last < 0x7F)).all())


def assemble_columns(first: Any, second: Any, report: Report) -> Any:
    """The graph of two id columns (int64 arrays or string arrays); ids are numbered in order
    of appearance, the first column's id of a line before the second's (as the streaming
    reader interns them)."""
    import pyarrow as pa

    if isinstance(first, pa.Array) and _canonical_integers(first) and _canonical_integers(second):
        # decimal ids without leading zeros: encoding the numbers gives the same nodes, faster
        first, second = (np.asarray(c.cast(pa.int64()), dtype=np.int64) for c in (first, second))
    n = len(first)
    if isinstance(first, np.ndarray):
        codes, ids = _encode_integers(np.concatenate([first, second]))
    else:
        encoded = pa.concat_arrays([first, second]).dictionary_encode()
        codes, order = _first_appearance(np.asarray(encoded.indices, dtype=np.int64), len(encoded.dictionary))
        ids = encoded.dictionary.take(pa.array(order)).cast(pa.large_string()).to_pylist()
    return assemble(codes[:n], codes[n:], ids, report.counts)


def _encode_integers(both: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes of the numbers ``both`` (first column, then second) in order of appearance, and
    the ids (decimal strings) of the codes. ``both`` is overwritten."""
    import pyarrow as pa

    lo, hi = int(both.min()), int(both.max())
    if hi - lo < both.size // 2:  # a table over the values' range: cheaper than hashing, no larger than `codes`
        both -= lo  # our own array: the values' offsets in the table
        codes, order = _first_appearance(both, hi - lo + 1)
        values = order + lo
    else:
        encoded = _arrow(both).dictionary_encode()
        codes, order = _first_appearance(np.asarray(encoded.indices, dtype=np.int64), len(encoded.dictionary))
        values = _numbers(encoded.dictionary)[order]
    return codes, _arrow(values).cast(pa.string()).to_pylist()


def _arrow(values: np.ndarray) -> Any:
    """An int64 numpy array as a pyarrow array (no copy)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), values.size, [None, pa.py_buffer(values)])


def _first_appearance(codes: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``codes`` (of the first column's ids, then the second's; values below ``m``) renumbered
    by first appearance in line order, a line's first id before its second; and, per new
    code, the old one (codes that do not occur are left out)."""
    n = codes.size // 2
    # where each id stands in the file's reading order (half the memory in int32 where it fits)
    position = np.empty(2 * n, dtype=np.int32 if 2 * n < 2**31 else np.int64)
    position[:n] = np.arange(0, 2 * n, 2, dtype=position.dtype)
    position[n:] = np.arange(1, 2 * n, 2, dtype=position.dtype)
    seen = np.full(m, 2 * n, dtype=position.dtype)
    np.minimum.at(seen, codes, position)
    present = np.flatnonzero(seen < 2 * n)
    order = present[np.argsort(seen[present])]  # distinct positions: no ties
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank[codes], order


def _canonical_integers(column: Any) -> bool:
    """Whether every field is a decimal integer as ``str(int(field))`` writes it (digits
    only, no leading zero, at most 18 digits): then the number names the id one to one."""
    offsets, data = _string_buffers(column)
    used = data[offsets[0] : offsets[-1]]
    if not ((used >= ord("0")) & (used <= ord("9"))).all():
        return False
    length = np.diff(offsets)
    if (length > 18).any():
        return False
    return not ((data[offsets[:-1]] == ord("0")) & (length > 1)).any()


def _string_buffers(column: Any) -> tuple[Any, Any]:
    """A (large_)string array's value offsets and its bytes, as numpy arrays (no copy)."""
    import pyarrow as pa

    _, offsets_buf, data_buf = column.buffers()
    dtype = np.int64 if column.type == pa.large_string() else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=dtype)[column.offset : column.offset + len(column) + 1]
    return offsets, np.frombuffer(data_buf, dtype=np.uint8)
