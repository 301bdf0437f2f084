"""File readers: CSV/TSV, NPZ."""
from __future__ import annotations

import csv
import numbers

import numpy as np

from .._checks import resolve_dtype

# -- CSV ----------------------------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column_list(names) -> str:
    shown = [repr(nm) for nm in names[:20]]
    more = f", ... ({len(names)} columns)" if len(names) > 20 else ""
    return ", ".join(shown) + more


def _read_table(path, header, delimiter, comment):
    """(names, rows, line numbers, has_header) of a delimited text file, blank/comment lines skipped."""
    if header not in ("auto", True, False):
        raise ValueError(f"header must be 'auto', True or False, got {header!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character, got {delimiter!r}")
    rows, lines = [], []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if comment and row[0].lstrip().startswith(comment):
                continue
            rows.append([cell.strip() for cell in row])
            lines.append(reader.line_num)
    if not rows:
        raise ValueError(f"{path}: the file is empty (no header, no data rows)")
    has_header = header if header != "auto" else not any(_is_number(cell) for cell in rows[0])
    if has_header:
        names, rows, lines = rows[0], rows[1:], lines[1:]
        if not rows:
            raise ValueError(f"{path}: the file has a header but no data rows")
    else:
        names = [f"x{j}" for j in range(len(rows[0]))]
    for row, line in zip(rows, lines):
        if len(row) != len(names):
            raise ValueError(f"{path}, line {line}: {len(row)} fields, expected {len(names)}")
    return names, rows, lines, has_header


def _target_index(target, names, path) -> int:
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        j = int(target)
        if not -len(names) <= j < len(names):
            raise ValueError(f"{path}: target column {j} is out of range for {len(names)} columns "
                             f"(available columns: {_column_list(names)})")
        return j % len(names)
    if isinstance(target, str):
        found = [j for j, nm in enumerate(names) if nm == target]
        if not found:
            raise ValueError(f"{path}: no column named {target!r}; available columns: {_column_list(names)}")
        if len(found) > 1:
            raise ValueError(f"{path}: column name {target!r} appears {len(found)} times; give its index")
        return found[0]
    raise ValueError(f"target must be a column name, an index or None, got {target!r}")


def _parse_features(rows, lines, cols, names, path, dtype) -> np.ndarray:
    X = np.empty((len(rows), len(cols)), dtype=dtype)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        for i, row in enumerate(rows):
            cells = [row[j] for j in cols]
            try:
                X[i] = [float(c) for c in cells]
            except ValueError:
                for j, c in zip(cols, cells):
                    if not _is_number(c):
                        what = "empty cell" if not c else f"cannot read {c!r} as a number"
                        raise ValueError(f"{path}, line {lines[i]}, column {names[j]!r} (column {j + 1}): "
                                         f"{what}") from None
                raise
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, k = bad[0]
        j = cols[k]
        raise ValueError(f"{path}, line {lines[i]}, column {names[j]!r} (column {j + 1}): {rows[i][j]!r} "
                         f"is not a finite {np.dtype(dtype).name} number")
    return X


def _parse_target(cells, lines, name, path) -> np.ndarray:
    where = f"column {name!r}"
    for c, line in zip(cells, lines):
        if not c:
            raise ValueError(f"{path}, line {line}, {where}: empty target cell")
    if not all(_is_number(c) for c in cells):
        return np.array(cells, dtype=str)  # class names
    values = np.array([float(c) for c in cells])
    if not np.isfinite(values).all():
        i = int(np.argmin(np.isfinite(values)))
        raise ValueError(f"{path}, line {lines[i]}, {where}: target {cells[i]!r} is not finite")
    try:
        ints = np.array([int(c) for c in cells], dtype=np.int64)  # exact, also beyond 2**53
    except (ValueError, OverflowError):
        ints = None
    if ints is not None:
        return ints
    if np.all(values == np.round(values)) and np.all(np.abs(values) < 2.0**63):
        return values.astype(np.int64)
    return values


def read_csv(path, target=-1, *, header="auto", delimiter=",", comment="#", dtype=np.float32):
    """Read a delimited text file of numeric features and one target column.

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
        empty or non-finite numeric target; a target column that does not exist (the message lists
        the columns).
    OSError
        The file cannot be read.

    Examples
    --------
    ``a,b,label`` / ``1,2,cat`` / ``3,4,dog`` gives ``X = [[1, 2], [3, 4]]``,
    ``y = array(['cat', 'dog'])`` and ``feature_names = ['a', 'b']``.
    """
    dtype = resolve_dtype(dtype)
    names, rows, lines, _ = _read_table(path, header, delimiter, comment)
    t = None if target is None else _target_index(target, names, path)
    cols = [j for j in range(len(names)) if j != t]
    if not cols:
        raise ValueError(f"{path}: no feature columns besides the target {names[t]!r}")
    X = _parse_features(rows, lines, cols, names, path, dtype)
    y = None if t is None else _parse_target([row[t] for row in rows], lines, names[t], path)
    return X, y, [names[j] for j in cols]


def read_csv_features(path, *, header="auto", delimiter=",", comment="#", dtype=np.float32):
    """Read a delimited text file in which every column is a feature (inputs for prediction).

    Same options and errors as :func:`read_csv` with ``target=None``.

    Returns
    -------
    X : ndarray, shape (n, n_columns), dtype ``dtype``, C-contiguous
    """
    return read_csv(path, None, header=header, delimiter=delimiter, comment=comment, dtype=dtype)[0]


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

