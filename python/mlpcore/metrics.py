"""Classification metrics in plain NumPy, shared by the CLI and the plots (no matplotlib needed)."""
from __future__ import annotations

import numpy as np

__all__ = ["confusion_counts"]


def _labels_array(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "biufUS":
        raise ValueError(f"{name} must hold numbers or strings, got dtype {arr.dtype}")
    return arr


def _same_kind(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if (a.dtype.kind in "US") != (b.dtype.kind in "US"):
        raise ValueError(f"{what}: one holds strings and the other numbers ({a.dtype} vs {b.dtype})")


def _positions(values: np.ndarray, labels: np.ndarray, name: str) -> np.ndarray:
    """Index of each value in `labels` (int64), or ValueError listing the unknown values."""
    _same_kind(values, labels, f"{name} and the class labels")
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    pos = np.clip(np.searchsorted(ordered, values), 0, len(labels) - 1)
    found = ordered[pos] == values
    if not np.all(found):
        unknown = np.unique(values[~found])[:10].tolist()
        raise ValueError(f"{name} holds labels that are not classes {labels.tolist()}: {unknown}")
    return order[pos].astype(np.int64)


def confusion_counts(y_true, y_pred, labels=None):
    """Count how often each true class was predicted as each class.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Class labels (numbers or strings), the same length.
    labels : array-like, shape (K,), optional
        The classes, in the order of the rows and columns; default: the sorted distinct values
        of ``y_true`` and ``y_pred`` together.

    Returns
    -------
    matrix : ndarray of int64, shape (K, K)
        ``matrix[i, j]`` = number of samples of true class ``labels[i]`` predicted as ``labels[j]``.
    labels : ndarray, shape (K,)

    Raises
    ------
    ValueError
        If the arrays are not 1-D, differ in length, are empty, mix strings and numbers, hold
        a value not in ``labels``, or ``labels`` repeats a value.

    Examples
    --------
    >>> m, labels = confusion_counts(["a", "b", "b"], ["a", "a", "b"])
    >>> m.tolist(), labels.tolist()
    ([[1, 0], [1, 1]], ['a', 'b'])
    """
    t = _labels_array(y_true, "y_true")
    p = _labels_array(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} labels but y_pred has {len(p)}")
    if len(t) == 0:
        raise ValueError("y_true and y_pred are empty")
    _same_kind(t, p, "y_true and y_pred")
    if labels is None:
        labels = np.unique(np.concatenate([t, p]))
    else:
        labels = _labels_array(labels, "labels")
        if len(labels) == 0 or len(np.unique(labels)) != len(labels):
            raise ValueError(f"labels must be distinct and non-empty, got {labels.tolist()}")
    k = len(labels)
    rows = _positions(t, labels, "y_true")
    cols = _positions(p, labels, "y_pred")
    matrix = np.bincount(rows * k + cols, minlength=k * k).astype(np.int64).reshape(k, k)
    return matrix, labels
