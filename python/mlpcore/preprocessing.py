"""Preprocessing, separate from reading data as scikit-learn separates them: the train/test split,
per-feature standardisation (fitted in memory or merged chunk by chunk over a stream) and one-hot
targets. Plain functions and one class over NumPy arrays; nothing here touches the engine."""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._checks import as_rng as _rng
from ._checks import check_number, resolve_dtype

__all__ = ["train_test_split", "Standardizer", "one_hot"]


def _test_count(test_size, n: int) -> int:
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(f"test_size={n_test} must be between 1 and n_samples - 1 = {n - 1}")
        return n_test
    if isinstance(test_size, numbers.Real) and not isinstance(test_size, bool) and 0 < test_size < 1:
        n_test = math.ceil(round(float(test_size) * n, 9))
        if not 1 <= n_test <= n - 1:
            raise ValueError(f"test_size={test_size} leaves an empty train or test set for {n} samples")
        return n_test
    raise ValueError(f"test_size must be a fraction in (0, 1) or a sample count, got {test_size!r}")


def train_test_split(X, y, test_size=0.2, seed=0, stratify=False, shuffle=True):
    """Split samples into a training and a test set.

    Parameters
    ----------
    X : array-like, shape (n, ...)
    y : array-like, shape (n,) or (n, k)
    test_size : float in (0, 1) or int, default 0.2
        Fraction of the samples in the test set (rounded up), or their number.
    seed : int or numpy.random.Generator, default 0
    stratify : bool or array-like of shape (n,), default False
        ``True`` keeps the proportion of each class of ``y`` in both sets (to within one sample per
        class); an array gives the groups to stratify by instead.
    shuffle : bool, default True
        ``False`` keeps the order: the last ``n_test`` rows are the test set.

    Returns
    -------
    X_train, X_test : ndarray, shapes (n - n_test, ...) and (n_test, ...), dtype of X, C-contiguous
    y_train, y_test : ndarray, shapes (n - n_test, ...) and (n_test, ...), dtype of y

    Raises
    ------
    ValueError
        ``X`` and ``y`` of different lengths; a bad ``test_size``; stratification without shuffling,
        with labels that are not 1-D, or with a class of fewer than 2 samples.

    Notes
    -----
    Every sample lands in exactly one set. The test size for class ``c`` is ``n_test * n_c / n``,
    rounded down, plus one for the classes with the largest remainders until the sizes add up to
    ``n_test``.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got shapes {X.shape} and {y.shape}")
    n = X.shape[0]
    n_test = _test_count(test_size, n)
    rng = _rng(seed)
    if stratify is not False and stratify is not None:
        groups = y if stratify is True else np.asarray(stratify)
        if not shuffle:
            raise ValueError("stratify needs shuffle=True")
        if groups.ndim != 1 or groups.shape[0] != n:
            raise ValueError(f"stratify needs 1-D labels of length {n}, got shape {groups.shape}")
        classes, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        if counts.min() < 2:
            raise ValueError(f"stratify needs at least 2 samples per class; "
                             f"class {classes[counts.argmin()].item()!r} has 1")
        quota, remainder = np.divmod(n_test * counts, n)
        quota[np.argsort(-remainder, kind="stable")[:n_test - quota.sum()]] += 1
        test_parts, train_parts = [], []
        for c in range(len(classes)):
            members = rng.permutation(np.flatnonzero(inverse == c))
            test_parts.append(members[:quota[c]])
            train_parts.append(members[quota[c]:])
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    elif shuffle:
        order = rng.permutation(n)
        train_idx, test_idx = order[n_test:], order[:n_test]
    else:
        train_idx, test_idx = np.arange(n - n_test), np.arange(n - n_test, n)
    return (np.ascontiguousarray(X[train_idx]), np.ascontiguousarray(X[test_idx]),
            np.ascontiguousarray(y[train_idx]), np.ascontiguousarray(y[test_idx]))


class Standardizer:
    """Per-feature standardisation ``x' = (x - mean_) / scale_``.

    ``scale_`` is the population standard deviation (``ddof=0``); a constant column gets scale 1, so
    it maps to 0 instead of dividing by zero. Fit it on the training set only.

    Attributes
    ----------
    mean_ : ndarray, shape (d,), float64
    scale_ : ndarray, shape (d,), float64
    n_features_in_ : int

    Examples
    --------
    Transform the arrays yourself:

    >>> std = Standardizer().fit(X_train)  # doctest: +SKIP
    >>> Z_train, Z_test = std.transform(X_train), std.transform(X_test)  # doctest: +SKIP

    or let the model standardise raw inputs itself, also after saving and loading:

    >>> std.apply_to(net)  # doctest: +SKIP
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None
        self.n_features_in_ = None
        self._moments = None  # (n, mean, M2, min, max) in float64 while fitting chunk by chunk

    def __repr__(self) -> str:
        state = "not fitted" if self.mean_ is None else f"{self.n_features_in_} features"
        return f"Standardizer({state})"

    @staticmethod
    def _matrix(X, name="X") -> np.ndarray:
        arr = np.asarray(X)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features) with at least one row, "
                             f"got shape {arr.shape}")
        return arr

    def _check(self, arr) -> None:
        if self.mean_ is None:
            raise ValueError("this Standardizer is not fitted yet: call fit(X) first")
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} columns, the Standardizer was fitted on "
                             f"{self.n_features_in_}")

    def fit(self, X) -> "Standardizer":
        """Learn the column means and standard deviations of ``X`` (array-like, shape (n, d)); returns
        self. Raises ValueError for non-numeric, non-2-D, empty or non-finite ``X``."""
        arr = self._matrix(X).astype(np.float64, copy=False)
        if not np.isfinite(arr).all():
            raise ValueError("X contains NaN or infinity")
        scale = arr.std(axis=0)
        scale[(arr.max(axis=0) == arr.min(axis=0)) | (scale == 0)] = 1.0
        self.mean_, self.scale_, self.n_features_in_ = arr.mean(axis=0), scale, arr.shape[1]
        self._moments = None
        return self

    def partial_fit(self, X) -> "Standardizer":
        """Merge one chunk ``X`` (shape (n, d)) into the running statistics and update ``mean_`` and
        ``scale_``; returns self.

        Each chunk's mean and sum of squared deviations are computed in float64 and merged with
        Chan, Golub and LeVeque's parallel formulas (1979)::

            delta = mean_b - mean_a,   n = n_a + n_b
            mean  = mean_a + delta * n_b / n
            M2    = M2_a + M2_b + delta**2 * n_a * n_b / n,   scale = sqrt(M2 / n)

        so a stream of chunks gives the in-memory :meth:`fit` result to float64 rounding, whatever
        the chunking. Starts afresh after :meth:`fit`.
        """
        arr = self._matrix(X).astype(np.float64, copy=False)
        if not np.isfinite(arr).all():
            raise ValueError("X contains NaN or infinity")
        n_b, mean_b = arr.shape[0], arr.mean(axis=0)
        m2_b = ((arr - mean_b) ** 2).sum(axis=0)
        lo_b, hi_b = arr.min(axis=0), arr.max(axis=0)
        state = getattr(self, "_moments", None)
        if state is None:
            n, mean, m2, lo, hi = n_b, mean_b, m2_b, lo_b, hi_b
        else:
            n_a, mean_a, m2_a, lo, hi = state
            if arr.shape[1] != mean_a.shape[0]:
                raise ValueError(f"X has {arr.shape[1]} columns, earlier chunks had {mean_a.shape[0]}")
            n = n_a + n_b
            delta = mean_b - mean_a
            mean = mean_a + delta * (n_b / n)
            m2 = m2_a + m2_b + delta ** 2 * (n_a * n_b / n)
            lo, hi = np.minimum(lo, lo_b), np.maximum(hi, hi_b)
        self._moments = (n, mean, m2, lo, hi)
        scale = np.sqrt(m2 / n)
        scale[(hi == lo) | (scale == 0)] = 1.0
        self.mean_, self.scale_, self.n_features_in_ = mean, scale, arr.shape[1]
        return self

    def fit_stream(self, chunks) -> "Standardizer":
        """Fit on a stream in one pass: ``chunks`` yields arrays ``X`` or tuples ``(X, y[, w])`` (a
        :mod:`mlpcore.datasets` source, a list, a generator). Returns self; see :meth:`partial_fit`."""
        self._moments = None
        seen = False
        for item in chunks:
            self.partial_fit(item[0] if isinstance(item, tuple) else item)
            seen = True
        if not seen:
            raise ValueError("the stream holds no chunks")
        return self

    def _out_dtype(self, arr, dtype):
        if dtype is not None:
            return resolve_dtype(dtype)
        return arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)

    def transform(self, X, *, dtype=None) -> np.ndarray:
        """``(X - mean_) / scale_`` for X of shape (n, d); computed in float64, returned C-contiguous
        in ``dtype`` (default: X's dtype if float32/float64, else float32)."""
        arr = self._matrix(X)
        self._check(arr)
        return np.ascontiguousarray((arr - self.mean_) / self.scale_, dtype=self._out_dtype(arr, dtype))

    def fit_transform(self, X, *, dtype=None) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X, dtype=dtype)

    def inverse_transform(self, X, *, dtype=None) -> np.ndarray:
        """``X * scale_ + mean_``: raw values back from standardised ones (same shapes and dtypes as
        :meth:`transform`)."""
        arr = self._matrix(X)
        self._check(arr)
        return np.ascontiguousarray(arr * self.scale_ + self.mean_, dtype=self._out_dtype(arr, dtype))

    def apply_to(self, net):
        """Store this standardisation in ``net`` (``net.set_input_scaling(mean_, scale_)``), so the
        model standardises raw inputs itself, in training and prediction, and keeps doing so after
        save/load. Feed the model raw inputs afterwards, not transformed ones. Returns ``net``."""
        if self.mean_ is None:
            raise ValueError("this Standardizer is not fitted yet: call fit(X) first")
        n_inputs = getattr(net, "n_inputs", None)
        if n_inputs is not None and n_inputs != self.n_features_in_:
            raise ValueError(f"the model has {n_inputs} inputs, the Standardizer was fitted on "
                             f"{self.n_features_in_} features")
        net.set_input_scaling(self.mean_, self.scale_)
        return net


def one_hot(y, n_classes=None, *, dtype=np.float32) -> np.ndarray:
    """One-hot rows for integer class labels.

    Parameters
    ----------
    y : array-like of int, shape (n,)
        Labels in ``0 .. n_classes-1`` (floats are accepted when they are whole numbers).
    n_classes : int, optional
        Number of columns; default ``max(y) + 1``.
    dtype : numpy dtype, default float32

    Returns
    -------
    ndarray, shape (n, n_classes), dtype ``dtype``, C-contiguous
        ``out[i, y[i]] = 1``, every other entry 0.

    Raises
    ------
    ValueError
        ``y`` not 1-D, not whole numbers, negative or ``>= n_classes``; ``n_classes`` < 1; empty ``y``
        without ``n_classes``.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D class labels, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and np.all(arr == np.round(arr))):
            raise ValueError("y must hold whole-number class labels")
    elif arr.dtype.kind not in "biu":
        raise ValueError(f"y must hold integer class labels, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"label {arr.min()} is negative; labels must be in [0, n_classes)")
    if n_classes is None:
        if arr.size == 0:
            raise ValueError("n_classes is required when y is empty")
        n_classes = int(arr.max()) + 1
    n_classes = check_number(n_classes, "n_classes", low=1, integer=True)
    if arr.size and arr.max() >= n_classes:
        raise ValueError(f"label {arr.max()} is out of range [0, {n_classes})")
    out = np.zeros((arr.shape[0], n_classes), dtype=dtype)
    out[np.arange(arr.shape[0]), arr.astype(np.int64)] = 1
    return out
