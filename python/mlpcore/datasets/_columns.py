"""Arrow columns to the engine's arrays, shared by every reader and source: the target column found
by name or index, feature columns checked (numeric, no nulls, finite) with the place of the first bad
cell named, features transposed into one C-contiguous row-major block, and targets given one kind
(int64 class labels or counts, float64 values, or text labels)."""
from __future__ import annotations

import numbers

import numpy as np

#: Bytes of output per slab when columns are stacked into rows: large enough that the Python loop over
#: slabs costs nothing, small enough that a slab stays in the CPU's L2/L3 cache (measured: 784 uint8
#: columns of 60k rows stack in 0.09 s with 4 MB slabs, 0.17 s with 0.8 MB).
_SLAB_BYTES = 4 << 20

#: A cell that reads as a number (what Python's float() accepts, without underscores).
_NUMBER = r"^\s*[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|infinity|nan)\s*$"


def pyarrow():
    """The pyarrow module (a dependency of mlpcore); a clear ImportError when it is missing."""
    try:
        import pyarrow as pa
    except ImportError as exc:  # pragma: no cover - pyarrow is a core dependency
        raise ImportError("mlpcore's file readers need pyarrow: pip install pyarrow") from exc
    return pa


def column_list(names) -> str:
    shown = [repr(nm) for nm in names[:20]]
    more = f", ... ({len(names)} columns)" if len(names) > 20 else ""
    return ", ".join(shown) + more


def target_index(target, names, path) -> int | None:
    """Position of the target column (a name, an index, negative from the end) or None."""
    if target is None:
        return None
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        j = int(target)
        if not -len(names) <= j < len(names):
            raise ValueError(f"{path}: target column {j} is out of range for {len(names)} columns "
                             f"(available columns: {column_list(names)})")
        return j % len(names)
    if isinstance(target, str):
        found = [j for j, nm in enumerate(names) if nm == target]
        if not found:
            raise ValueError(f"{path}: no column named {target!r}; available columns: {column_list(names)}")
        if len(found) > 1:
            raise ValueError(f"{path}: column name {target!r} appears {len(found)} times; give its index")
        return found[0]
    raise ValueError(f"target must be a column name, an index or None, got {target!r}")


def feature_columns(names, t, path) -> list:
    cols = [j for j in range(len(names)) if j != t]
    if not cols:
        raise ValueError(f"{path}: no feature columns besides the target {names[t]!r}")
    return cols


def row_major(columns, dtype, out=None) -> np.ndarray:
    """Stack 1-D arrays (one per feature, equal lengths) into an (n, d) C-contiguous array of dtype,
    slab by slab, converting as it goes, so reads and writes stay cache friendly."""
    n, d = len(columns[0]), len(columns)
    if out is None:
        out = np.empty((n, d), dtype=dtype)
    step = max(64, _SLAB_BYTES // (d * out.itemsize))
    for r in range(0, n, step):
        np.stack([c[r:r + step] for c in columns], axis=1, out=out[r:r + step], casting="unsafe")
    return out


def check_feature_types(schema, cols, path) -> None:
    pa = pyarrow()
    for j in cols:
        field = schema.field(j)
        kind = field.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
                or pa.types.is_null(kind)):
            raise ValueError(f"{path}: column {field.name!r} (column {j + 1}) has type {kind}; feature columns "
                             f"must be numeric (give it as the target, or drop it)")


def features(batch, cols, dtype, path, place, out=None, check_types=True) -> np.ndarray:
    """(n, len(cols)) features of a RecordBatch or Table, checked: numeric, no nulls, finite.
    ``place(i)`` names row i of the batch ("line 12" or "row 12") in error messages. Columns are
    taken as NumPy views (no Arrow cast); the dtype conversion happens while stacking them into rows."""
    pa = pyarrow()
    if check_types:  # callers that checked the schema once skip it per batch
        check_feature_types(batch.schema, cols, path)
    arrays, floating = [], False
    for j in cols:
        col = batch.column(j)
        if col.null_count:
            i = _first_null(col)
            name = batch.schema.field(j).name
            raise ValueError(f"{path}, {place(i)}, column {name!r} (column {j + 1}): empty cell (null)")
        floating = floating or pa.types.is_floating(col.type)
        arrays.append(_numpy(col))
    with np.errstate(over="ignore"):  # float64 beyond float32 becomes inf, reported below
        X = row_major(arrays, dtype, out)
    if floating:  # integers are always finite in float32/float64
        finite = np.isfinite(X)
        if not finite.all():
            i, k = np.argwhere(~finite)[0]
            j = cols[k]
            raw = batch.column(j)[int(i)].as_py()
            raise ValueError(f"{path}, {place(int(i))}, column {batch.schema.field(j).name!r} (column {j + 1}): "
                             f"{raw!r} is not a finite {np.dtype(dtype).name} number")
    return X


_NUMPY_NAMES = {"halffloat": "float16", "float": "float32", "double": "float64"}
_NUMPY_DTYPES: dict = {}  # Arrow numeric type -> NumPy dtype, filled as types are met


def _numpy(column) -> np.ndarray:
    """A null-free numeric Arrow column as a NumPy array: a view of its data buffer where it has one
    (``to_numpy`` would import pandas when installed, 0.3-0.9 s on the first call)."""
    pa = pyarrow()
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks != 1:
            return np.concatenate([_numpy(c) for c in column.chunks]) if column.num_chunks else np.empty(0)
        column = column.chunk(0)
    kind = column.type
    dt = _NUMPY_DTYPES.get(kind)
    if dt is None:
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return np.asarray(column.to_numpy(zero_copy_only=False))  # booleans are bits: unpacked by Arrow
        dt = _NUMPY_DTYPES[kind] = np.dtype(_NUMPY_NAMES.get(str(kind), str(kind)))
    return np.frombuffer(column.buffers()[1], dtype=dt, count=len(column), offset=column.offset * dt.itemsize)


def _first_null(column) -> int:
    """Index of the first null of an Arrow array (error path only: pyarrow.compute is slow to import)."""
    import pyarrow.compute as pc

    return int(pc.index(column.is_null(), True).as_py())


def _number_mask(strings):
    import pyarrow.compute as pc

    return pc.match_substring_regex(strings, _NUMBER, ignore_case=True).to_numpy(zero_copy_only=False)


def target(column, name, path, place) -> np.ndarray:
    """Targets of one Arrow column: int64 when every value is a whole number (``3`` or ``3.0``),
    float64 when every value is a number, else text labels (str). Nulls, non-finite numbers and
    columns mixing numbers with text are errors that name the first bad place."""
    pa = pyarrow()
    where = f"column {name!r}"
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count:
        raise ValueError(f"{path}, {place(_first_null(column))}, {where}: empty target cell")
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        numeric = _number_mask(column)
        if not numeric.any():
            return column.to_numpy(zero_copy_only=False).astype(str)
        if not numeric.all():
            i, k = int(np.argmax(numeric)), int(np.argmin(numeric))
            raise ValueError(f"{path}, {where}: mixed types: numbers ({place(i)}: {column[i].as_py()!r}) and "
                             f"text ({place(k)}: {column[k].as_py()!r}); a target column holds one or the other")
        try:
            return column.cast(pa.int64()).to_numpy()  # exact, also beyond 2**53
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = column.cast(pa.float64()).to_numpy()
            cells = column
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return _numpy(column).astype(np.int64)
    elif pa.types.is_floating(kind):
        values = _numpy(column).astype(np.float64)
        cells = None
    else:
        raise ValueError(f"{path}, {where}: targets of type {kind} are not supported (numbers or text)")
    if not np.isfinite(values).all():
        i = int(np.argmin(np.isfinite(values)))
        shown = cells[i].as_py() if cells is not None else repr(float(values[i]))
        raise ValueError(f"{path}, {place(i)}, {where}: target {shown!r} is not finite")
    if np.all(values == np.round(values)) and np.all(np.abs(values) < 2.0**63):
        return values.astype(np.int64)
    return values
