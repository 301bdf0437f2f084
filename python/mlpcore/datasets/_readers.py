"""Readers that load a whole file into memory: CSV/TSV and Parquet/Feather on Apache Arrow, ``.npy``
(memory-mapped, copied once) and NPZ on NumPy. Each returns C-contiguous features in the engine's
dtype and the targets of one column; errors name the file and the place (1-based line or row, and
column). For files bigger than memory, use the sources of :mod:`mlpcore.datasets._streaming`."""
from __future__ import annotations

import os

import numpy as np

from .._checks import resolve_dtype
from . import _columns
from ._csv import CsvFile

#: Rows per Arrow record batch read from a Parquet file: small batches keep the decoded columns in the
#: CPU caches while they are transposed into rows (8192 rows read a 785-column file 3x faster than 64k).
BATCH_ROWS = 8192


def read_csv(path, target=-1, *, header="auto", delimiter=",", comment="#", dtype=np.float32):
    """Read a delimited text file of numeric features and one target column.

    The file is parsed by Apache Arrow's multi-threaded CSV reader in blocks of whole lines, straight
    into the result (peak memory about the result plus one block).

    Parameters
    ----------
    path : str or os.PathLike
    target : int, str or None, default -1
        The target column: an index (negative counts from the end) or a header name. Without a
        header, columns are named ``x0, x1, ...`` by their position in the file. ``None`` reads every
        column as a feature (and returns ``y=None``).
    header : {"auto", True, False}, default "auto"
        Whether the first row holds column names. ``"auto"``: it does when none of its cells reads as
        a number.
    delimiter : str, default ","
    comment : str or None, default "#"
        Lines whose first cell starts with this are skipped, as are blank lines.
    dtype : {"float32", "float64"}, default float32
        dtype of ``X``.

    Returns
    -------
    X : ndarray, shape (n, n_columns - 1), dtype ``dtype``, C-contiguous
    y : ndarray, shape (n,), or None
        int64 when every target reads as an integer (``3`` or ``3.0``), float64 when every target is
        a number, else the labels as given (a NumPy array of ``str``).
    feature_names : list of str, length n_columns - 1

    Raises
    ------
    ValueError
        Empty file; header without data; a row with the wrong number of fields; a feature cell that
        is empty, not a number, or not finite (the message names the 1-based line and the column); an
        empty or non-finite numeric target; a target column mixing numbers and text; a target column
        that does not exist (the message lists the columns).
    OSError
        The file cannot be read.

    Examples
    --------
    ``a,b,label`` / ``1,2,cat`` / ``3,4,dog`` gives ``X = [[1, 2], [3, 4]]``,
    ``y = array(['cat', 'dog'])`` and ``feature_names = ['a', 'b']``.
    """
    dtype = resolve_dtype(dtype)
    f = CsvFile(path, header, delimiter, comment)
    t = _columns.target_index(target, f.names, path)
    cols = _columns.feature_columns(f.names, t, path)
    n_lines, commented = f.count_lines()
    X = np.empty((n_lines, len(cols)), dtype=dtype)
    try:  # the fast path: one streaming Arrow reader over the file
        if commented:
            raise ValueError("comment lines")
        n, y_parts = f.read_fast(cols, t, dtype, X)
        y = None if t is None or n == 0 else f.targets(y_parts, t)
    except (ValueError, _columns.pyarrow().ArrowInvalid):
        n, y, y_parts = 0, None, []  # block by block, naming the line of any problem
        for index, block, line in f.blocks():
            Xb, yb = f.parse(index, block, line, cols, t, dtype, out=X[n:])
            n += len(Xb)
            if yb is not None:
                y_parts += yb.chunks
        y = None if t is None or n == 0 else f.targets(y_parts, t)
    if n == 0:
        raise ValueError(f"{path}: the file has a header but no data rows" if f.has_header
                         else f"{path}: the file is empty (no header, no data rows)")
    X.resize((n, len(cols)), refcheck=False)  # gives back the rows counted for blank/comment lines
    return X, y, [f.names[j] for j in cols]


def read_tsv(path, target=-1, *, header="auto", comment="#", dtype=np.float32):
    """:func:`read_csv` with tab-separated columns."""
    return read_csv(path, target, header=header, delimiter="\t", comment=comment, dtype=dtype)


def read_csv_features(path, *, header="auto", delimiter=",", comment="#", dtype=np.float32):
    """Read a delimited text file in which every column is a feature (inputs for prediction).

    Same options and errors as :func:`read_csv` with ``target=None``.

    Returns
    -------
    X : ndarray, shape (n, n_columns), dtype ``dtype``, C-contiguous
    """
    return read_csv(path, None, header=header, delimiter=delimiter, comment=comment, dtype=dtype)[0]


# -- Parquet and Feather (Arrow IPC) ------------------------------------------------------------------
class ArrowFile:
    """A Parquet or Feather/Arrow IPC file: its schema, row count and record batches."""

    def __init__(self, path, kind=None):
        pa = _columns.pyarrow()
        self.path = path
        self.kind = kind or ("parquet" if str(path).lower().endswith((".parquet", ".pq")) else "feather")
        try:
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                # pre_buffer: a row group's column chunks are fetched in a few coalesced reads, not one
                # read per column (784 float32 columns decode 2-4x faster).
                self._file = pq.ParquetFile(path, pre_buffer=True)
                self.schema = self._file.schema_arrow
                self.num_rows = self._file.metadata.num_rows
            else:
                import pyarrow.ipc as ipc

                self._file = ipc.open_file(pa.memory_map(os.fspath(path), "r"))
                self.schema = self._file.schema
                self.num_rows = sum(self._file.get_batch(i).num_rows for i in range(self._file.num_record_batches))
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(f"{path}: not a readable {self.kind} file ({exc})") from None
        self.names = list(self.schema.names)
        if self.num_rows == 0:
            raise ValueError(f"{path}: the file has no rows")

    def batches(self, batch_rows=BATCH_ROWS):
        """Yield (first row, RecordBatch) in file order."""
        start = 0
        if self.kind == "parquet":
            stream = self._file.iter_batches(batch_size=batch_rows, use_threads=True)
        else:
            stream = (self._file.get_batch(i) for i in range(self._file.num_record_batches))
        for batch in stream:
            if batch.num_rows:
                yield start, batch
                start += batch.num_rows


def _read_arrow(path, target, dtype, kind):
    dtype = resolve_dtype(dtype)
    f = ArrowFile(path, kind)
    t = _columns.target_index(target, f.names, path)
    cols = _columns.feature_columns(f.names, t, path)
    _columns.check_feature_types(f.schema, cols, path)
    X = np.empty((f.num_rows, len(cols)), dtype=dtype)
    y_parts = []
    for start, batch in f.batches():
        _columns.features(batch, cols, dtype, path, lambda i, s=start: f"row {s + i + 1}",
                          out=X[start:start + batch.num_rows], check_types=False)
        if t is not None:
            y_parts.append(batch.column(t))
    y = None
    if t is not None:
        pa = _columns.pyarrow()
        y = _columns.target(pa.chunked_array(y_parts), f.names[t], path, lambda i: f"row {i + 1}")
    return X, y, [f.names[j] for j in cols]


def read_parquet(path, target=-1, *, dtype=np.float32):
    """Read a Parquet file of numeric feature columns and one target column.

    Row groups are decoded by Arrow (multi-threaded) and written straight into the result.

    Parameters
    ----------
    path : str or os.PathLike
    target : int, str or None, default -1
        The target column, by name or index (negative counts from the end); ``None``: all features.
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, n_columns - 1), dtype ``dtype``, C-contiguous
    y : ndarray, shape (n,), or None
        int64 for integer (or whole-number) targets, float64 for other numbers, ``str`` for text.
    feature_names : list of str

    Raises
    ------
    ValueError
        Not a Parquet file; no rows; a missing target (the message lists the columns); a feature
        column that is not numeric; a null or non-finite cell (the message names the 1-based row and
        the column); a target column mixing numbers and text.
    """
    return _read_arrow(path, target, dtype, "parquet")


def read_feather(path, target=-1, *, dtype=np.float32):
    """Read a Feather (Arrow IPC file) of numeric feature columns and one target column; memory-mapped.
    Same parameters, results and errors as :func:`read_parquet`."""
    return _read_arrow(path, target, dtype, "feather")


# -- NumPy ------------------------------------------------------------------------------------------
def read_npy(path, labels_path=None, *, dtype=np.float32):
    """Read features from a ``.npy`` file (memory-mapped, copied once into ``dtype``) and optionally
    targets from a second ``.npy`` file.

    Parameters
    ----------
    path : str or os.PathLike
        Array of shape ``(n, ...)``; trailing dimensions are flattened.
    labels_path : str or os.PathLike, optional
        Array of shape ``(n,)`` or ``(n, k)``.
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, d), dtype ``dtype``, C-contiguous
    y : ndarray or None
        Integer and bool targets become int64; others keep their dtype.

    Raises
    ------
    ValueError
        Not a ``.npy`` file, object or non-numeric features, fewer than 2 dimensions, non-finite
        features (the message names the row and column), or targets of another length.
    """
    dtype = resolve_dtype(dtype)
    X = _npy(path)
    if X.dtype.kind not in "biuf" or X.ndim < 2:
        raise ValueError(f"{path}: expected numeric features of shape (n, ...), got dtype {X.dtype} "
                         f"and shape {X.shape}")
    X = np.ascontiguousarray(X.reshape(X.shape[0], -1), dtype=dtype)
    finite = np.isfinite(X)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise ValueError(f"{path}, row {i + 1}, column {j + 1}: {X[i, j]} is not a finite number")
    if labels_path is None:
        return X, None
    y = np.asarray(_npy(labels_path))
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{path} has {X.shape[0]} rows but {labels_path} has shape {y.shape}")
    return X, (y.astype(np.int64) if y.dtype.kind in "biu" else np.array(y))


def _npy(path):
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy file ({exc})") from None


def read_table(path, target=-1, *, kind=None, dtype=np.float32, **options):
    """Read a data file by its extension (or ``kind``): ``.csv`` (also ``.txt``), ``.tsv``,
    ``.parquet``/``.pq``, ``.feather``/``.arrow``/``.ipc``. Returns ``(X, y, feature_names)``;
    ``options`` go to the CSV reader (``header``, ``delimiter``, ``comment``)."""
    kind = kind or file_kind(path)
    if kind == "csv":
        return read_csv(path, target, dtype=dtype, **options)
    if kind == "tsv":
        return read_tsv(path, target, dtype=dtype, **options)
    if kind in ("parquet", "feather"):
        return _read_arrow(path, target, dtype, kind)
    raise ValueError(f"{path}: cannot tell the format from the extension; expected .csv, .tsv, .parquet, "
                     f".feather or .arrow")


_KINDS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
          ".feather": "feather", ".arrow": "feather", ".ipc": "feather", ".npy": "npy", ".npz": "npz"}


def file_kind(path) -> str | None:
    """"csv", "tsv", "parquet", "feather", "npy" or "npz" by extension (None when unknown); a folder is
    "parquet" (a dataset of Parquet files)."""
    if os.path.isdir(path):
        return "parquet"
    return _KINDS.get(os.path.splitext(os.fspath(path))[1].lower())


# -- NPZ ----------------------------------------------------------------------------------------------
def read_npz(path, x_key="X", y_key="y", *, dtype=np.float32):
    """Read features and targets from a NumPy ``.npz`` archive (no pickled objects).

    Parameters
    ----------
    path : str or os.PathLike
    x_key : str, default "X"
        Array of features, shape ``(n, ...)``; trailing dimensions are flattened (images ``(n, h, w)``
        become ``(n, h*w)``).
    y_key : str or None, default "y"
        Array of targets, first dimension ``n``; ``None`` skips it.
    dtype : {"float32", "float64"}, default float32
        dtype of ``X``.

    Returns
    -------
    X : ndarray, shape (n, d), dtype ``dtype``, C-contiguous
    y : ndarray or None
        The stored targets; integer and bool arrays become int64, others keep their dtype.

    Raises
    ------
    ValueError
        Not an ``.npz`` archive, a missing key (the message lists the keys), object arrays, a
        non-numeric ``X`` or one with fewer than 2 dimensions, or ``y`` of another length.
    """
    dtype = resolve_dtype(dtype)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not an .npz archive (it holds a single array; use numpy.load)")
    with archive:
        keys = list(archive.files)
        arrays = {}
        for key in (x_key, y_key):
            if key is None:
                continue
            if key not in keys:
                raise ValueError(f"{path}: no array {key!r}; the archive holds: {', '.join(map(repr, keys))}")
            try:
                arrays[key] = archive[key]
            except ValueError as exc:
                raise ValueError(f"{path}: array {key!r} cannot be read without pickle ({exc})") from None
    X = arrays[x_key]
    if X.dtype.kind not in "biuf" or X.ndim < 2:
        raise ValueError(f"{path}: array {x_key!r} must be numeric with shape (n, ...), "
                         f"got dtype {X.dtype} and shape {X.shape}")
    X = np.ascontiguousarray(X.reshape(X.shape[0], -1), dtype=dtype)
    if y_key is None:
        return X, None
    y = arrays[y_key]
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: {x_key!r} has {X.shape[0]} rows but {y_key!r} has shape {y.shape}")
    if y.dtype.kind in "biu":
        y = y.astype(np.int64)
    return X, np.ascontiguousarray(y)

