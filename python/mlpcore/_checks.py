"""Argument conversion shared by the public classes: arrays are made C-contiguous in the model's
dtype once, here, so the engine's hot calls never copy."""
from __future__ import annotations

import numbers
import os

import numpy as np

DTYPES = {"float32": np.float32, "float64": np.float64}


def resolve_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def as_matrix(X, dtype: np.dtype, name: str = "X", n_cols: int | None = None) -> np.ndarray:
    """X as a C-contiguous 2-D array of `dtype` (converted when needed; numeric types only)."""
    if type(X) is np.ndarray and X.dtype == dtype and X.ndim == 2 and X.flags.c_contiguous and (
            n_cols is None or X.shape[1] == n_cols):
        return X  # the engine checks rows, columns and finiteness itself
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = "; use X.reshape(1, -1) for a single sample" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}{hint}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 rows)")
    if n_cols is not None and arr.shape[1] != n_cols:
        raise ValueError(f"{name} has {arr.shape[1]} columns, model expects {n_cols}")
    # NaN/inf (including float64 values too large for float32) are refused by the engine, which
    # scans the data anyway.
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(arr, dtype=dtype)


def as_targets(y, dtype: np.dtype, loss: str, n_outputs: int, n_rows: int) -> np.ndarray:
    """Targets in the engine's form: int32 labels (n,) for cross-entropy, else (n, outputs) floats."""
    if type(y) is np.ndarray and y.ndim == 1 and y.dtype == np.int32 and y.flags.c_contiguous \
            and loss == "cross_entropy" and y.shape[0] == n_rows:
        return y  # the engine checks the label range
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"y must hold numbers (class indices or targets), got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"y has {arr.shape[0]} rows but X has {n_rows}")
    if loss == "cross_entropy" and arr.ndim == 1:
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError("y contains NaN or infinity")
            if not np.all(arr == np.round(arr)):
                raise ValueError("class labels must be integers; pass probability targets as (n, outputs)")
        labels = np.ascontiguousarray(arr, dtype=np.int32)
        if arr.dtype != np.int32 and not np.array_equal(labels, arr):  # values that int32 cannot hold
            bad = arr[labels != arr][0]
            raise ValueError(f"label {bad} is out of range [0, {n_outputs})")
        return labels  # the engine checks the range
    if arr.ndim == 1:
        if n_outputs != 1:
            raise ValueError(f"y has shape {arr.shape}; loss '{loss}' needs (n, {n_outputs})")
        arr = arr.reshape(-1, 1)
    return np.ascontiguousarray(arr, dtype=dtype)


def as_weights(w, dtype: np.dtype, n_rows: int):
    if w is None:
        return None
    arr = np.ascontiguousarray(np.asarray(w), dtype=dtype)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise ValueError(f"sample_weight must have shape ({n_rows},), got {arr.shape}")
    return arr


def check_number(value, name: str, *, low=None, high=None, low_open=False, high_open=False,
                 integer=False) -> float:
    """A real (or integer) number within bounds, or ValueError naming `name`."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return int(value) if integer else v


def as_rng(seed) -> np.random.Generator:
    """A NumPy Generator: the one given, or ``default_rng(seed)`` for an int seed >= 0."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_number(seed, "seed", low=0, integer=True))


def is_stream(data) -> bool:
    """Whether Trainer.fit should stream ``data`` (a path, a Source, or an iterable of chunks) rather
    than take it as an in-memory array."""
    if isinstance(data, (str, os.PathLike)) or (callable(getattr(data, "chunk", None))
                                                and callable(getattr(data, "chunks", None))):
        return True  # a path or a source of mlpcore.datasets
    if isinstance(data, np.ndarray) or hasattr(data, "__array__") or hasattr(data, "__array_interface__"):
        return False
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(p, (str, os.PathLike)) for p in data):
        return True
    if isinstance(data, list):
        return bool(data) and isinstance(data[0], tuple)
    return callable(data) or (hasattr(data, "__iter__") and not isinstance(data, (list, tuple)))
