"""Delimited text (CSV, TSV) on Apache Arrow's multi-threaded parser, in blocks.

The file is cut into blocks of whole lines (never inside a quoted field) and each block is parsed by
``pyarrow.csv`` with every feature column typed float32/float64 and the target typed text. Blocks
bound the memory of a read and are the chunks of a streamed CSV. The block table (byte offset, first
line, rows) lets an error be traced back to its line: when Arrow rejects a block, or a block holds a
null or non-finite cell, that one block is re-read cell by cell with Python's ``csv`` module, which
names the file, the 1-based line and the column of the first bad cell. Numbers are only parsed in
Python on that error path.
"""
from __future__ import annotations

import csv
import io
import os
import re

import numpy as np

from . import _columns

#: Bytes of text per block: 4 MB of digits is ~1.5 MB of float32, parsed by Arrow in 1 MB pieces on
#: all cores; larger blocks only raise the peak memory of a read (160 MB of MNIST-shaped text: peak
#: RSS 352 MB with 4 MB blocks, 384 MB with 8 MB, 486 MB with 32 MB, for a 180 MB result).
BLOCK_BYTES = 4 << 20
#: Bytes of text per record batch of the fast path (Arrow's streaming reader): each batch costs a
#: Python pass over the columns (1 MB batches of a 785-column file spent 0.8 s of 2 s there), and
#: larger batches raise the peak memory (4 MB: +40 MB).
BATCH_BYTES = 2 << 20
_BOM = b"\xef\xbb\xbf"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _skipped(row, comment) -> bool:
    """Blank lines and comment lines (first cell starting with ``comment``) are not rows."""
    return not row or (len(row) == 1 and not row[0].strip()) or bool(comment and row[0].lstrip().startswith(comment))


class CsvFile:
    """One delimited text file: its column names and its data blocks.

    Parameters mirror :func:`mlpcore.datasets.read_csv`. Raises ValueError for an empty file (a header
    without data rows is found while reading the blocks).
    """

    def __init__(self, path, header="auto", delimiter=",", comment="#", block_bytes=None):
        if header not in ("auto", True, False):
            raise ValueError(f"header must be 'auto', True or False, got {header!r}")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ValueError(f"delimiter must be a single character, got {delimiter!r}")
        self.path, self.delimiter, self.comment = path, delimiter, comment or None
        self.block_bytes = max(int(block_bytes or BLOCK_BYTES), 1 << 16)
        self.size = os.path.getsize(path)
        self._read_header(header)
        self._table = []  # (byte offset, byte length, first line, rows) per block read so far

    # -- header ---------------------------------------------------------------------------------
    def _read_header(self, header):
        with open(self.path, "rb") as f:
            head = f.read(min(self.size, 1 << 20))
        start = len(_BOM) if head.startswith(_BOM) else 0
        text = head[start:].decode("utf-8", errors="replace")
        lines = text.splitlines(keepends=True)
        if len(head) < self.size and lines:
            lines = lines[:-1]  # the last line may be cut
        reader = csv.reader(lines, delimiter=self.delimiter)
        first, line_no = None, 0
        for row in reader:
            if not _skipped([c for c in row], self.comment):
                first, line_no = [cell.strip() for cell in row], reader.line_num
                break
        if first is None:
            if len(head) == self.size:
                raise ValueError(f"{self.path}: the file is empty (no header, no data rows)")
            raise ValueError(f"{self.path}: no row found in the first megabyte (blank or comment lines only)")
        self.has_header = header if header != "auto" else not any(_is_number(cell) for cell in first)
        if self.has_header:
            self.names = first
            consumed = "".join(lines[:line_no]).encode("utf-8")
            self.data_offset, self.data_line = start + len(consumed), line_no + 1
        else:
            self.names = [f"x{j}" for j in range(len(first))]
            self.data_offset, self.data_line = start, 1

    # -- blocks ---------------------------------------------------------------------------------
    def blocks(self):
        """Yield (index, raw bytes, first line) for each block of whole lines after the header."""
        quote = b'"'
        with open(self.path, "rb") as f:
            f.seek(self.data_offset)
            offset, line, carry, index = self.data_offset, self.data_line, b"", 0
            while True:
                data = f.read(self.block_bytes)
                buf = carry + data if carry else data
                if not data:
                    if buf.strip():
                        yield self._register(index, offset, buf + (b"" if buf.endswith(b"\n") else b"\n"), line)
                    return
                cut = buf.rfind(b"\n")
                while cut >= 0 and quote in buf and buf.count(quote, 0, cut) % 2:
                    cut = buf.rfind(b"\n", 0, cut)  # inside a quoted field: cut earlier
                if cut < 0:
                    carry = buf
                    continue
                block, carry = buf[:cut + 1], buf[cut + 1:]
                yield self._register(index, offset, block, line)
                offset += len(block)
                line += block.count(b"\n")
                index += 1

    def _register(self, index, offset, block, line):
        if index == len(self._table):
            self._table.append([offset, len(block), line, None])
        return index, block, line

    def _raw(self, index):
        offset, length, line, _ = self._table[index]
        with open(self.path, "rb") as f:
            f.seek(offset)
            return f.read(length), line

    # -- parsing --------------------------------------------------------------------------------
    def parse(self, index, block, line, cols, t, dtype, out=None):
        """(X block, target column as Arrow text or None) of one block; X is written into ``out``
        (rows × len(cols)) when given. Every problem is raised with its line and column."""
        pa = _columns.pyarrow()
        try:
            table = self._arrow(block, cols, t, dtype, clean=self.comment is not None
                                and self.comment.encode() in block)
        except pa.ArrowInvalid as exc:
            try:  # blank lines of spaces, comment lines: drop them and try again
                table = self._arrow(block, cols, t, dtype, clean=True)
            except pa.ArrowInvalid:
                self._diagnose(block, line, cols, t, dtype)
                last = line + block.count(b"\n") - 1
                raise ValueError(f"{self.path}, lines {line}-{last}: {exc}") from None
        self._table[index][3] = table.num_rows
        if out is not None and len(out) < table.num_rows:
            raise ValueError(f"{self.path}: more rows than lines were counted; was the file changed while "
                             f"being read?")
        try:
            X = _columns.features(table, cols, dtype, self.path, lambda i: f"row {i + 1} of the block",
                                  None if out is None else out[:table.num_rows])
        except ValueError:
            self._diagnose(block, line, cols, t, dtype)
            raise
        y = None if t is None else table.column(t)
        if y is not None and y.null_count:
            self._diagnose(block, line, cols, t, dtype)
        return X, y

    def _arrow(self, block, cols, t, dtype, clean):
        pa = _columns.pyarrow()
        import pyarrow.csv as pcsv

        if clean:
            blank = rb" *\r?\n"
            if self.comment:
                blank += rb"|[ \t]*" + re.escape(self.comment.encode()) + rb"[^\n]*\n"
            block = re.sub(rb"(?m)^(?:" + blank + rb")", b"", block)
        names = [f"c{j}" for j in range(len(self.names))]
        kind = pa.from_numpy_dtype(dtype)
        types = {names[j]: kind for j in cols}
        if t is not None:
            types[names[t]] = pa.string()
        return pcsv.read_csv(
            pa.py_buffer(block),
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 20),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=b'"' in block),
            convert_options=pcsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                                quoted_strings_can_be_null=True, include_columns=names))

    # -- the error path: one block, cell by cell ------------------------------------------------------
    def _rows(self, block, line):
        text = block.decode("utf-8", errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        for row in reader:
            if not _skipped(row, self.comment):
                yield [cell.strip() for cell in row], line + reader.line_num - 1

    def _diagnose(self, block, line, cols, t, dtype):
        """Raise the precise error of the first bad row of a block (returns if none is found)."""
        where = self.path
        for row, ln in self._rows(block, line):
            if len(row) != len(self.names):
                raise ValueError(f"{where}, line {ln}: {len(row)} fields, expected {len(self.names)}")
            for j in cols:
                c = row[j]
                if not _is_number(c):
                    what = "empty cell" if not c else f"cannot read {c!r} as a number"
                    raise ValueError(f"{where}, line {ln}, column {self.names[j]!r} (column {j + 1}): {what}")
                with np.errstate(over="ignore"):
                    if not np.isfinite(np.dtype(dtype).type(float(c))):
                        raise ValueError(f"{where}, line {ln}, column {self.names[j]!r} (column {j + 1}): "
                                         f"{c!r} is not a finite {np.dtype(dtype).name} number")
            if t is not None:
                c = row[t]
                if not c:
                    raise ValueError(f"{where}, line {ln}, column {self.names[t]!r}: empty target cell")
                if _is_number(c) and not np.isfinite(float(c)):
                    raise ValueError(f"{where}, line {ln}, column {self.names[t]!r}: target {c!r} is not finite")

    def line_of_block(self, index: int, row: int) -> str:
        """'line N' of the 0-based data row ``row`` of block ``index``."""
        block, line = self._raw(index)
        for k, (_, ln) in enumerate(self._rows(block, line)):
            if k == row:
                return f"line {ln}"
        return f"data row {row + 1} of lines {line}-"

    def line_of(self, row: int) -> str:
        """'line N' of the data row with this 0-based index (over the blocks read so far)."""
        for index, (_, _, _, rows) in enumerate(self._table):
            if rows is not None and row < rows:
                return self.line_of_block(index, row)
            row -= rows or 0
        return f"data row {row + 1}"

    def count_lines(self):
        """(newlines after the header plus one, whether a line may be a comment): an upper bound on
        the data rows, and whether the fast path can skip the comment check."""
        n, commented = 1, False
        mark = self.comment.encode() if self.comment else None
        with open(self.path, "rb") as f:
            f.seek(self.data_offset)
            while chunk := f.read(1 << 22):
                n += chunk.count(b"\n")
                commented = commented or bool(mark and mark in chunk)
        return n, commented

    def read_fast(self, cols, t, dtype, out):
        """The whole data in one pass of Arrow's streaming CSV reader (parsing ahead on all cores)
        into ``out``; returns (rows, target chunks). Any problem raises: the caller then reads the
        file block by block, which names the line of the problem."""
        pa = _columns.pyarrow()
        import pyarrow.csv as pcsv

        names = [f"c{j}" for j in range(len(self.names))]
        types = {names[j]: pa.from_numpy_dtype(dtype) for j in cols}  # the target's type is inferred
        stream = pa.OSFile(os.fspath(self.path))
        stream.seek(self.data_offset)
        reader = pcsv.open_csv(
            stream, read_options=pcsv.ReadOptions(column_names=names, block_size=BATCH_BYTES),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                                quoted_strings_can_be_null=True))
        n, y_parts = 0, []
        for batch in reader:
            if n + batch.num_rows > len(out):
                raise ValueError("more rows than lines")
            _columns.features(batch, cols, dtype, self.path, str, out[n:n + batch.num_rows], check_types=False)
            if t is not None:
                column = batch.column(t)
                kind = column.type
                if column.null_count or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                             or pa.types.is_string(kind)):
                    raise ValueError("empty target or one read as neither numbers nor text")
                y_parts.append(column)
            n += batch.num_rows
        return n, y_parts

    def targets(self, y_parts, t):
        """Targets of the whole file, through :func:`_columns.target` (lines named by the table)."""
        pa = _columns.pyarrow()
        column = pa.chunked_array(y_parts) if y_parts else pa.chunked_array([], type=pa.string())
        return _columns.target(column, self.names[t], self.path, self.line_of)
