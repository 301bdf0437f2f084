"""Sources of data bigger than memory: each yields chunks ``(X, y, w)`` in file order, with ``X`` a
C-contiguous float32/float64 block, and can read its chunks in any order (a new order per epoch).

A chunk is a Parquet row group, a Feather record batch, a block of whole CSV lines, a slice of a
memory-mapped ``.npy`` pair, or one item of a list of arrays. Memory is one chunk per read; the
training driver (:mod:`mlpcore.streaming`) adds a reader queue and a shuffle buffer.
"""
from __future__ import annotations

import os

import numpy as np

from .._checks import check_number, resolve_dtype
from . import _columns
from ._csv import CsvFile
from ._readers import ArrowFile, file_kind

__all__ = ["Source", "ParquetSource", "FeatherSource", "CsvSource", "NpySource", "ArraySource", "Subset",
           "IterableSource", "as_source"]


class Source:
    """Base class: ``len(source)`` chunks, ``source.chunk(i)`` one of them, ``iter(source)`` all in
    file order. ``n_features`` and ``feature_names`` describe X; ``num_rows`` is the row count when
    known without reading (else None)."""

    dtype = np.dtype(np.float32)
    feature_names: list = []
    num_rows = None

    def __len__(self) -> int:
        raise NotImplementedError

    #: Rows of the largest chunk, when known without reading; then :meth:`chunk` can write X into a
    #: caller's buffer (``out``, at least that many rows), saving a copy.
    max_chunk_rows = None

    def chunk(self, i, out=None):
        """Chunk ``i`` as ``(X, y, w)``; X is written into ``out[:rows]`` when ``out`` is given."""
        raise NotImplementedError

    def __iter__(self):
        for i in range(len(self)):
            yield self.chunk(i)

    def chunks(self, order):
        """Yield the chunks in ``order`` (a sequence of chunk indices)."""
        for i in order:
            yield self.chunk(int(i))

    def targets(self):
        """Yield the targets of each chunk in file order (sources that can read the target column
        alone override this)."""
        for _, y, _ in self:
            yield y

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def with_dtype(self, dtype):
        """This source yielding X in ``dtype`` (float32 or float64)."""
        self.dtype = resolve_dtype(dtype)
        return self


class _ArrowSource(Source):
    def __init__(self, paths, target, dtype, kind):
        self.dtype = resolve_dtype(dtype)
        self.files = [ArrowFile(p, kind) for p in paths]
        first = self.files[0]
        self.names = first.names
        for f in self.files[1:]:
            if f.schema != first.schema:
                raise ValueError(f"{f.path}: mixed types across files: its columns {f.schema} differ from "
                                 f"{first.path}'s {first.schema}")
        self.path = first.path if len(self.files) == 1 else os.path.dirname(first.path)
        self.t = _columns.target_index(target, self.names, self.path)
        self.cols = _columns.feature_columns(self.names, self.t, self.path)
        _columns.check_feature_types(first.schema, self.cols, first.path)
        self.feature_names = [self.names[j] for j in self.cols]
        self.num_rows = sum(f.num_rows for f in self.files)
        self._index = []  # (file, piece, first row of the piece in its file)
        sizes = []
        for k, f in enumerate(self.files):
            start = 0
            for piece, rows in enumerate(self._piece_rows(f)):
                self._index.append((k, piece, start))
                sizes.append(rows)
                start += rows
        self.max_chunk_rows = max(sizes)

    def __len__(self):
        return len(self._index)

    def chunk(self, i, out=None):
        k, piece, start = self._index[i]
        f = self.files[k]
        batch = self._read_piece(f, piece)
        X = _columns.features(batch, self.cols, self.dtype, f.path, lambda r: f"row {start + r + 1}",
                              None if out is None else out[:batch.num_rows], check_types=False)
        y = None
        if self.t is not None:
            y = _columns.target(batch.column(self.t), self.names[self.t], f.path, lambda r: f"row {start + r + 1}")
        return X, y, None


class ParquetSource(_ArrowSource):
    """A Parquet file, or a folder of them (read in name order), one chunk per row group.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.parquet`` file or a folder holding ``*.parquet`` files with the same columns.
    target : int, str or None, default -1
        The target column (name or index); None for features only.
    dtype : {"float32", "float64"}, default float32

    Raises
    ------
    ValueError
        No Parquet files, files with different columns ("mixed types"), a missing target, a
        non-numeric feature column; when a chunk is read: nulls or non-finite cells (the message names
        the file, the 1-based row and the column).
    """

    def __init__(self, path, target=-1, *, dtype=np.float32):
        if os.path.isdir(path):
            paths = sorted(os.path.join(path, p) for p in os.listdir(path) if p.endswith((".parquet", ".pq")))
            if not paths:
                raise ValueError(f"{path}: the folder holds no .parquet files")
        else:
            paths = [path]
        super().__init__(paths, target, dtype, "parquet")

    @staticmethod
    def _piece_rows(f):
        meta = f._file.metadata
        return [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]

    @staticmethod
    def _read_piece(f, piece):
        # One thread: the streaming reader is itself the parallelism (it runs beside the engine),
        # and on 2 busy cores Arrow's pool decodes slower than one thread (127k vs 203k rows/s of
        # 784 float32 columns).
        return f._file.read_row_group(piece, use_threads=False)

    def targets(self, only=None):
        if self.t is None:
            return
        for i in (range(len(self._index)) if only is None else only):
            k, piece, start = self._index[i]
            f = self.files[k]
            col = f._file.read_row_group(piece, columns=[self.names[self.t]]).column(0)
            yield _columns.target(col, self.names[self.t], f.path, lambda r, s=start: f"row {s + r + 1}")


class FeatherSource(_ArrowSource):
    """A Feather / Arrow IPC file (memory-mapped), one chunk per record batch. Parameters and errors as
    :class:`ParquetSource` (one file)."""

    def __init__(self, path, target=-1, *, dtype=np.float32):
        super().__init__([path], target, dtype, "feather")

    @staticmethod
    def _piece_rows(f):
        return [f._file.get_batch(i).num_rows for i in range(f._file.num_record_batches)]

    @staticmethod
    def _read_piece(f, piece):
        return f._file.get_batch(piece)


class CsvSource(Source):
    """A large delimited text file read in blocks of whole lines (~``block_bytes`` each), parsed by
    Arrow. The blocks are found by one pass over the bytes when the source is made (no parsing), so
    they can be read in any order. Parameters as :func:`mlpcore.datasets.read_csv`."""

    def __init__(self, path, target=-1, *, header="auto", delimiter=",", comment="#", dtype=np.float32,
                 block_bytes=16 << 20):
        self.dtype = resolve_dtype(dtype)
        self.path = path
        self.file = CsvFile(path, header, delimiter, comment, block_bytes)
        self.t = _columns.target_index(target, self.file.names, path)
        self.cols = _columns.feature_columns(self.file.names, self.t, path)
        self.feature_names = [self.file.names[j] for j in self.cols]
        for _ in self.file.blocks():
            pass  # registers every block: (offset, length, first line)
        if not self.file._table:
            raise ValueError(f"{path}: the file has a header but no data rows" if self.file.has_header
                             else f"{path}: the file is empty (no header, no data rows)")

    def __len__(self):
        return len(self.file._table)

    def chunk(self, i, out=None):
        block, line = self.file._raw(i)
        X, y = self.file.parse(i, block, line, self.cols, self.t, self.dtype)
        if y is not None:
            name = self.file.names[self.t]
            y = _columns.target(y, name, self.path, lambda r: self.file.line_of_block(i, r))
        return X, y, None


class NpySource(Source):
    """A ``.npy`` features file and optionally a ``.npy`` targets file, memory-mapped and read in slices
    of ``chunk_rows`` rows (each copied once into a C-contiguous block of ``dtype``)."""

    def __init__(self, path, labels_path=None, *, chunk_rows=65536, dtype=np.float32):
        from ._readers import _npy

        self.dtype = resolve_dtype(dtype)
        self.path = path
        self.X = _npy(path)
        if self.X.dtype.kind not in "biuf" or self.X.ndim < 2:
            raise ValueError(f"{path}: expected numeric features of shape (n, ...), got dtype {self.X.dtype} "
                             f"and shape {self.X.shape}")
        self.y = None if labels_path is None else _npy(labels_path)
        if self.y is not None and (self.y.ndim == 0 or self.y.shape[0] != self.X.shape[0]):
            raise ValueError(f"{path} has {self.X.shape[0]} rows but {labels_path} has shape {self.y.shape}")
        self.chunk_rows = check_number(chunk_rows, "chunk_rows", low=1, integer=True)
        self.num_rows = self.X.shape[0]
        self.max_chunk_rows = min(self.chunk_rows, self.num_rows)
        self.feature_names = [f"x{j}" for j in range(int(np.prod(self.X.shape[1:])))]

    def __len__(self):
        return -(-self.num_rows // self.chunk_rows)

    def chunk(self, i, out=None):
        lo, hi = i * self.chunk_rows, min((i + 1) * self.chunk_rows, self.num_rows)
        if out is None:
            X = np.ascontiguousarray(self.X[lo:hi].reshape(hi - lo, -1), dtype=self.dtype)
        else:
            X = out[:hi - lo]
            np.copyto(X, self.X[lo:hi].reshape(hi - lo, -1), casting="unsafe")
        finite = np.isfinite(X)
        if not finite.all():
            r, j = np.argwhere(~finite)[0]
            raise ValueError(f"{self.path}, row {lo + r + 1}, column {j + 1}: {X[r, j]} is not a finite number")
        y = None
        if self.y is not None:
            y = np.array(self.y[lo:hi])
            y = y.astype(np.int64) if y.dtype.kind in "biu" else y
        return X, y, None


class ArraySource(Source):
    """Chunks held as a list of ``(X, y)`` or ``(X, y, w)`` tuples (arrays or array-likes)."""

    def __init__(self, chunks, *, dtype=np.float32):
        self.dtype = resolve_dtype(dtype)
        self._chunks = list(chunks)
        if not self._chunks:
            raise ValueError("the stream holds no chunks")
        first = np.asarray(self._chunks[0][0])
        self.feature_names = [f"x{j}" for j in range(first.shape[1] if first.ndim == 2 else 0)]
        self.num_rows = sum(len(c[0]) for c in self._chunks)

    def __len__(self):
        return len(self._chunks)

    def chunk(self, i, out=None):
        return _tuple(self._chunks[i], self.dtype, i)


class Subset(Source):
    """Some chunks of a source (by index), e.g. the training or test part of a file."""

    def __init__(self, source, indices):
        self.source, self.indices = source, [int(i) for i in indices]
        self.dtype, self.feature_names = source.dtype, source.feature_names
        self.max_chunk_rows = source.max_chunk_rows

    @staticmethod
    def split(source, fraction, seed):
        """(held-out chunk indices, the others), sorted: ``round(fraction * len(source))`` chunks drawn
        by ``seed``, at least one on each side."""
        n = len(source)
        k = int(round(n * fraction))
        if n < 2 or not 1 <= k < n:
            raise ValueError(f"cannot hold out {fraction:g} of {n} chunks: the file needs more chunks (row "
                             f"groups, record batches or blocks) for a split")
        perm = np.random.default_rng(seed).permutation(n)
        return sorted(perm[:k].tolist()), sorted(perm[k:].tolist())

    def __len__(self):
        return len(self.indices)

    def chunk(self, i, out=None):
        return self.source.chunk(self.indices[i], out)

    def targets(self):
        if isinstance(self.source, ParquetSource):
            for i in self.indices:
                yield from self.source.targets(only=[i])
        else:
            yield from super().targets()


class IterableSource(Source):
    """Chunks from any iterable of ``(X, y[, w])``, or a callable returning a fresh iterable each epoch.
    Chunks come in the order the iterable gives them (no random access: the epoch's chunk order cannot
    be shuffled, only the shuffle buffer mixes rows); a one-shot iterator can only be read once."""

    def __init__(self, iterable, *, dtype=np.float32):
        self.dtype = resolve_dtype(dtype)
        self._make = iterable if callable(iterable) else None
        self._once = None if callable(iterable) else iterable
        self._used = False

    def __len__(self):
        raise TypeError("this stream does not know its number of chunks")

    def __iter__(self):
        if self._make is not None:
            items = self._make()
        else:
            if self._used and iter(self._once) is self._once:
                raise ValueError("this one-shot iterator was already read; pass a callable that returns a "
                                 "new iterable per epoch, or a list")
            self._used, items = True, self._once
        for i, item in enumerate(items):
            yield _tuple(item, self.dtype, i)

    def chunks(self, order):
        return iter(self)


def _tuple(item, dtype, i):
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
        raise ValueError(f"chunk {i} must be a tuple (X, y) or (X, y, w), got {type(item).__name__}")
    X = np.asarray(item[0])
    if X.dtype.kind not in "biuf" or X.ndim != 2:
        raise ValueError(f"chunk {i}: X must be a 2-D numeric array, got dtype {X.dtype} and shape {X.shape}")
    X = np.ascontiguousarray(X, dtype=dtype)
    y = None if item[1] is None else np.asarray(item[1])
    w = None if len(item) == 2 or item[2] is None else np.asarray(item[2])
    return X, y, w


def as_source(data, target=-1, *, dtype=np.float32, **options):
    """A :class:`Source` for a path (Parquet file or folder, Feather, CSV/TSV, ``.npy``), a pair of
    ``.npy`` paths, a Source, a list of chunks or any iterable of chunks."""
    if isinstance(data, Source):
        return data.with_dtype(dtype)
    if isinstance(data, (str, os.PathLike)):
        kind = file_kind(data)
        if not os.path.exists(data):
            raise FileNotFoundError(f"data file not found: {data}")
        if kind == "parquet":
            return ParquetSource(data, target, dtype=dtype)
        if kind == "feather":
            return FeatherSource(data, target, dtype=dtype)
        if kind in ("csv", "tsv"):
            if kind == "tsv":
                options.setdefault("delimiter", "\t")
            return CsvSource(data, target, dtype=dtype, **options)
        if kind == "npy":
            return NpySource(data, None, dtype=dtype, **options)
        raise ValueError(f"{data}: cannot stream this format; use Parquet, Feather, CSV/TSV or .npy")
    if (isinstance(data, tuple) and len(data) == 2 and all(isinstance(p, (str, os.PathLike)) for p in data)
            and all(str(p).endswith(".npy") for p in data)):
        return NpySource(data[0], data[1], dtype=dtype, **options)
    if isinstance(data, list):
        return ArraySource(data, dtype=dtype)
    if callable(data) or hasattr(data, "__iter__"):
        return IterableSource(data, dtype=dtype)
    raise TypeError(f"cannot stream data of type {type(data).__name__}")
