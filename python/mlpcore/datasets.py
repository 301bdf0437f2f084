"""Data for mlpcore: the course's generators, file readers, a train/test split, standardisation and
one-hot targets. Plain functions over NumPy arrays; nothing here touches the engine.

Every generator is seeded (``numpy.random.default_rng(seed)``) and returns ``(X, y)`` with ``X`` a
C-contiguous float32 array of shape ``(n, n_features)`` (float64 with ``dtype="float64"``) and ``y``
an int64 array of shape ``(n,)``, so the arrays go to the engine without a further copy.

This file is longer than the usual ~400 lines (about half of it docstrings) because it holds one public
concern, getting data into the shape the engine wants, whose parts share small private helpers; each
function stays short.
"""
from __future__ import annotations

import csv
import gzip
import math
import numbers
import os
import struct
import zlib

import numpy as np

from ._checks import check_number, resolve_dtype

__all__ = [
    "spiral",
    "xor",
    "moons",
    "circles",
    "blobs",
    "two_images",
    "two_images_templates",
    "TWO_IMAGES_NAMES",
    "load_digits",
    "read_csv",
    "read_csv_features",
    "read_npz",
    "read_idx",
    "load_idx_pair",
    "train_test_split",
    "Standardizer",
    "one_hot",
]

#: What the two labels of :func:`two_images` show: 0 is a cross ("X"), 1 a circle ("O").
TWO_IMAGES_NAMES = ("cross", "circle")


# -- shared helpers -----------------------------------------------------------------------------------
def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_number(seed, "seed", low=0, integer=True))


def _finish(X, y, dtype):
    return np.ascontiguousarray(X, dtype=resolve_dtype(dtype)), np.ascontiguousarray(y, dtype=np.int64)


def _split_count(n: int, k: int) -> np.ndarray:
    """Sizes of k groups sharing n items as evenly as possible, the first groups larger."""
    return np.array([n // k + (i < n % k) for i in range(k)], dtype=np.int64)


# -- generators ---------------------------------------------------------------------------------------
def spiral(classes=4, sigma=0.16, n_per_class=1000, seed=0, *, dtype=np.float32):
    """The course's K-arm spiral: one class per arm, points ordered by class.

    For arm ``k`` (``k = 0 .. K-1``), with ``t = linspace(0, 1, N)``::

        x0 = t * (sin(2*pi/K * (2*t + k)) + sigma * eps0)
        x1 = t * (cos(2*pi/K * (2*t + k)) + sigma * eps1)

    where ``eps0`` and ``eps1`` are independent standard normal draws. The draws are taken arm by arm:
    for ``k = 0, 1, ...`` first ``rng.standard_normal(N)`` for ``eps0``, then one for ``eps1``, with
    ``rng = numpy.random.default_rng(seed)``.

    Parameters
    ----------
    classes : int, default 4
        Number of arms ``K`` (>= 1).
    sigma : float, default 0.16
        Noise level ``sigma`` (>= 0).
    n_per_class : int, default 1000
        Points per arm ``N`` (>= 1).
    seed : int or numpy.random.Generator, default 0
    dtype : {"float32", "float64"}, default float32
        dtype of ``X``.

    Returns
    -------
    X : ndarray, shape (K*N, 2), dtype ``dtype``
        Rows ``k*N .. (k+1)*N - 1`` belong to arm ``k``.
    y : ndarray, shape (K*N,), int64
        The arm index.

    Examples
    --------
    >>> X, y = spiral()
    >>> X.shape, y.shape, X.dtype, y.dtype
    ((4000, 2), (4000,), dtype('float32'), dtype('int64'))
    """
    K = check_number(classes, "classes", low=1, integer=True)
    sigma = check_number(sigma, "sigma", low=0)
    N = check_number(n_per_class, "n_per_class", low=1, integer=True)
    rng = _rng(seed)
    t = np.linspace(0.0, 1.0, N)
    X = np.empty((K * N, 2))
    for k in range(K):
        angle = 2.0 * np.pi / K * (2.0 * t + k)
        eps0 = rng.standard_normal(N)
        eps1 = rng.standard_normal(N)
        X[k * N:(k + 1) * N, 0] = t * (np.sin(angle) + sigma * eps0)
        X[k * N:(k + 1) * N, 1] = t * (np.cos(angle) + sigma * eps1)
    return _finish(X, np.repeat(np.arange(K), N), dtype)


def xor(n=4, noise=0.0, seed=0, *, dtype=np.float32):
    """The XOR problem: the corners of the unit square, labelled ``x0 XOR x1``.

    Row ``i`` is corner ``i % 4`` of ``(0, 0), (0, 1), (1, 0), (1, 1)`` plus, when ``noise > 0``,
    Gaussian noise of standard deviation ``noise`` on each coordinate. With the defaults (``n=4``,
    ``noise=0``) the result is exactly the truth table.

    Parameters
    ----------
    n : int, default 4
        Number of points (>= 1).
    noise : float, default 0.0
        Standard deviation of the noise (>= 0).
    seed : int or numpy.random.Generator, default 0
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, 2), dtype ``dtype``
    y : ndarray, shape (n,), int64 in {0, 1}
    """
    n = check_number(n, "n", low=1, integer=True)
    noise = check_number(noise, "noise", low=0)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = corners[np.arange(n) % 4]
    y = (X[:, 0] != X[:, 1]).astype(np.int64)
    if noise > 0:
        X = X + noise * _rng(seed).standard_normal((n, 2))
    return _finish(X, y, dtype)


def moons(n=200, noise=0.1, seed=0, *, dtype=np.float32):
    """Two interleaving half circles.

    Class 0 is the upper half of the unit circle, ``(cos a, sin a)``; class 1 the lower half moved
    right and down, ``(1 - cos a, 0.5 - sin a)``; ``a`` is evenly spaced in ``[0, pi]``. Class 0 gets
    ``n - n // 2`` points, class 1 ``n // 2``; rows are ordered by class. Gaussian noise of standard
    deviation ``noise`` is added to every coordinate (one ``rng.standard_normal((n, 2))`` draw).

    Parameters
    ----------
    n : int, default 200
        Number of points (>= 2).
    noise : float, default 0.1
    seed : int or numpy.random.Generator, default 0
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, 2), dtype ``dtype``
    y : ndarray, shape (n,), int64 in {0, 1}
    """
    n = check_number(n, "n", low=2, integer=True)
    noise = check_number(noise, "noise", low=0)
    n0, n1 = n - n // 2, n // 2
    a0, a1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    X = np.concatenate([np.column_stack([np.cos(a0), np.sin(a0)]),
                        np.column_stack([1.0 - np.cos(a1), 0.5 - np.sin(a1)])])
    X += noise * _rng(seed).standard_normal((n, 2))
    return _finish(X, np.repeat([0, 1], [n0, n1]), dtype)


def circles(n=200, noise=0.1, factor=0.5, seed=0, *, dtype=np.float32):
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor``.

    Class 0 gets ``n - n // 2`` points, class 1 ``n // 2``, evenly spaced in angle (starting at angle
    0) and ordered by class; Gaussian noise of standard deviation ``noise`` is added to every
    coordinate (one ``rng.standard_normal((n, 2))`` draw).

    Parameters
    ----------
    n : int, default 200
        Number of points (>= 2).
    noise : float, default 0.1
    factor : float, default 0.5
        Inner radius over outer radius, in (0, 1).
    seed : int or numpy.random.Generator, default 0
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, 2), dtype ``dtype``
    y : ndarray, shape (n,), int64 in {0, 1}
    """
    n = check_number(n, "n", low=2, integer=True)
    noise = check_number(noise, "noise", low=0)
    factor = check_number(factor, "factor", low=0, high=1, low_open=True, high_open=True)
    n0, n1 = n - n // 2, n // 2
    a0 = np.linspace(0.0, 2.0 * np.pi, n0, endpoint=False)
    a1 = np.linspace(0.0, 2.0 * np.pi, n1, endpoint=False)
    X = np.concatenate([np.column_stack([np.cos(a0), np.sin(a0)]),
                        factor * np.column_stack([np.cos(a1), np.sin(a1)])])
    X += noise * _rng(seed).standard_normal((n, 2))
    return _finish(X, np.repeat([0, 1], [n0, n1]), dtype)


def blobs(n=200, centers=3, cluster_std=1.0, n_features=None, seed=0, *, center_box=(-10.0, 10.0),
          return_centers=False, dtype=np.float32):
    """Isotropic Gaussian clusters, one class per cluster.

    Cluster ``k`` gets ``n // K`` points, plus one for the first ``n % K`` clusters; rows are ordered
    by class. With ``centers`` an int, the centres are drawn first, uniformly in ``center_box`` on
    every axis (``rng.uniform(low, high, (K, d))``); then one ``rng.standard_normal((n, d))`` draw
    scaled by each point's cluster standard deviation is added to its centre.

    Parameters
    ----------
    n : int, default 200
        Number of points (>= number of clusters).
    centers : int or array-like of shape (K, d), default 3
        Number of clusters, or their coordinates.
    cluster_std : float or sequence of K floats, default 1.0
        Standard deviation of each cluster (>= 0).
    n_features : int, optional
        Dimension ``d``: 2 by default when ``centers`` is an int, else the width of ``centers``.
    seed : int or numpy.random.Generator, default 0
    center_box : (float, float), default (-10, 10)
        Bounds of the drawn centres.
    return_centers : bool, default False
        Also return the ``(K, d)`` float64 centres.
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, d), dtype ``dtype``
    y : ndarray, shape (n,), int64 in ``0 .. K-1``
    centers : ndarray, shape (K, d), float64
        Only with ``return_centers=True``.
    """
    rng = _rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        K = check_number(centers, "centers", low=1, integer=True)
        d = 2 if n_features is None else check_number(n_features, "n_features", low=1, integer=True)
        low, high = (check_number(b, "center_box") for b in center_box)
        if not low < high:
            raise ValueError(f"center_box must be (low, high) with low < high, got {center_box!r}")
        C = rng.uniform(low, high, (K, d))
    else:
        C = np.array(centers, dtype=np.float64)
        if C.ndim != 2 or C.shape[0] < 1 or C.shape[1] < 1 or not np.isfinite(C).all():
            raise ValueError(f"centers must be an int or a finite (K, d) array, got shape {C.shape}")
        K, d = C.shape
        if n_features is not None and n_features != d:
            raise ValueError(f"n_features={n_features!r} but centers has {d} columns")
    n = check_number(n, "n", low=K, integer=True)
    std = np.array(cluster_std, dtype=np.float64)
    std = np.full(K, float(std)) if std.ndim == 0 else std
    if std.shape != (K,) or not np.all(np.isfinite(std) & (std >= 0)):
        raise ValueError(f"cluster_std must be a number >= 0 or {K} of them, got {cluster_std!r}")
    y = np.repeat(np.arange(K), _split_count(n, K))
    X = C[y] + std[y, None] * rng.standard_normal((n, d))
    X, y = _finish(X, y, dtype)
    return (X, y, C) if return_centers else (X, y)


def _image_size(size):
    if isinstance(size, numbers.Integral):
        size = (size, size)
    try:
        h, w = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be an int or (height, width), got {size!r}") from None
    return (check_number(h, "size (height)", low=3, integer=True),
            check_number(w, "size (width)", low=3, integer=True))


def two_images_templates(size=5, *, dtype=np.float32):
    """The two clean images of :func:`two_images`: a cross (label 0) and a circle (label 1).

    The cross marks both diagonals (for a non-square image, column ``round(i*(w-1)/(h-1))`` and its
    mirror in row ``i``); the circle is the image border without its four corners. The two never
    share a pixel for square images.

    Parameters
    ----------
    size : int or (int, int), default 5
        Height and width (each >= 3).
    dtype : numpy dtype, default float32

    Returns
    -------
    ndarray, shape (2, height, width), dtype ``dtype``, values 0 and 1
        ``templates[label]`` is the image of that label (see ``TWO_IMAGES_NAMES``).

    Examples
    --------
    >>> two_images_templates()[1].astype(int)
    array([[0, 1, 1, 1, 0],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [0, 1, 1, 1, 0]])
    """
    h, w = _image_size(size)
    out = np.zeros((2, h, w), dtype=dtype)
    rows = np.arange(h)
    cols = np.rint(rows * (w - 1) / (h - 1)).astype(np.int64)
    out[0, rows, cols] = 1
    out[0, rows, w - 1 - cols] = 1
    out[1, [0, h - 1], 1:w - 1] = 1
    out[1, 1:h - 1, [0, w - 1]] = 1
    return out


def two_images(n_noisy=50, flip_prob=0.1, seed=0, *, size=5, dtype=np.float32):
    """The perceptron demo: two small binary images and noisy copies of them.

    Rows are ordered by class: the clean cross (label 0), its ``n_noisy`` noisy copies, then the clean
    circle (label 1) and its copies. In a copy each pixel is flipped (0 <-> 1) independently with
    probability ``flip_prob``; the flips are ``rng.random((n_noisy, h*w)) < flip_prob``, drawn for the
    cross first, then for the circle.

    Parameters
    ----------
    n_noisy : int, default 50
        Noisy copies per image (>= 0).
    flip_prob : float, default 0.1
        Probability of flipping each pixel, in [0, 1].
    seed : int or numpy.random.Generator, default 0
    size : int or (int, int), default 5
        Image height and width (each >= 3).
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (2*(n_noisy+1), h*w), dtype ``dtype``, values 0 and 1
        Each row is an image flattened row by row.
    y : ndarray, shape (2*(n_noisy+1),), int64 in {0, 1}

    See Also
    --------
    two_images_templates : the two clean images as ``(2, h, w)``.
    """
    n_noisy = check_number(n_noisy, "n_noisy", low=0, integer=True)
    flip_prob = check_number(flip_prob, "flip_prob", low=0, high=1)
    templates = two_images_templates(size, dtype=np.float64).reshape(2, -1)
    rng = _rng(seed)
    parts = []
    for image in templates:
        flips = rng.random((n_noisy, image.size)) < flip_prob
        parts += [image[None, :], np.where(flips, 1.0 - image, image)]
    return _finish(np.concatenate(parts), np.repeat([0, 1], n_noisy + 1), dtype)


def load_digits(*, scale=False, dtype=np.float32):
    """scikit-learn's offline handwritten digits: 1797 images of 8x8 pixels, classes 0-9.

    Needs scikit-learn (``pip install scikit-learn``, or the extra ``mlpcore[sklearn]``); nothing is
    downloaded.

    Parameters
    ----------
    scale : bool, default False
        Divide the pixel values (integers 0..16) by 16, into [0, 1].
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (1797, 64), dtype ``dtype``
        Images flattened row by row.
    y : ndarray, shape (1797,), int64

    Raises
    ------
    ImportError
        scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError("mlpcore.datasets.load_digits needs scikit-learn: pip install scikit-learn "
                          "(or pip install 'mlpcore[sklearn]')") from exc
    bunch = _sk_load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    return _finish(X / 16.0 if scale else X, bunch.target, dtype)


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


# -- IDX (MNIST) --------------------------------------------------------------------------------------
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CHUNK = 1 << 24


def _read_exact(stream, n_bytes: int) -> bytearray:
    """Up to n_bytes from stream, read in chunks so memory only grows with data actually present."""
    buf = bytearray()
    while len(buf) < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _read_idx_stream(stream, path, data_size):
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(head)} bytes, too short for the magic number")
    magic = int.from_bytes(head, "big")
    if head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES or head[3] == 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{magic:08X} (expected 0x0000 then a type code "
                         f"08/09/0B/0C/0D/0E and a number of dimensions >= 1)")
    dt, ndim = _IDX_TYPES[head[2]], head[3]
    dim_bytes = _read_exact(stream, 4 * ndim)
    if len(dim_bytes) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes, "
                         f"found {len(dim_bytes)}")
    dims = struct.unpack(f">{ndim}I", dim_bytes)
    need = math.prod(dims) * dt.itemsize
    if data_size is not None:  # plain file: check the size before reading anything
        have = data_size - 4 - 4 * ndim
        if have != need:
            problem = "truncated" if have < need else "size mismatch"
            raise ValueError(f"{path}: {problem}: dimensions {dims} of {dt.name} need {need} data bytes, "
                             f"the file has {have}")
    data = _read_exact(stream, need)
    if len(data) < need:
        raise ValueError(f"{path}: truncated: dimensions {dims} of {dt.name} need {need} data bytes, "
                         f"found {len(data)}")
    if stream.read(1):
        raise ValueError(f"{path}: size mismatch: more data than dimensions {dims} of {dt.name} "
                         f"({need} bytes) account for")
    arr = np.frombuffer(data, dtype=dt).reshape(dims)
    return arr if dt.itemsize == 1 else arr.astype(dt.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    The format: a magic number ``00 00 TT DD`` (``TT`` the element type: 08 uint8, 09 int8, 0B int16,
    0C int32, 0D float32, 0E float64; ``DD`` the number of dimensions), ``DD`` big-endian uint32
    sizes, then the elements, big-endian, row-major. Gzip is detected from the first two bytes
    (``1f 8b``), whatever the file name. The sizes are checked against the data before the data is
    read, so a corrupt header never causes a large allocation.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray, shape given by the header, dtype the element type in native byte order

    Raises
    ------
    ValueError
        Bad magic number, truncated header or data, data left over after the declared elements, or a
        corrupt gzip stream; the message names the file.
    OSError
        The file cannot be read.
    """
    with open(path, "rb") as raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_idx_stream(stream, path, None)
            except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                raise ValueError(f"{path}: truncated or corrupt gzip data ({exc})") from None
        raw.seek(0)
        return _read_idx_stream(raw, path, os.fstat(raw.fileno()).st_size)


def load_idx_pair(images_path, labels_path, *, dtype=np.float32):
    """Read an IDX images file and its labels file (MNIST, Fashion-MNIST, ...).

    Parameters
    ----------
    images_path : str or os.PathLike
        Images, shape ``(n, rows, cols)`` (any ``(n, ...)``); uint8 pixels are divided by 255 into
        [0, 1], other element types are kept as they are.
    labels_path : str or os.PathLike
        Integer labels, shape ``(n,)``.
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, rows*cols), dtype ``dtype``, C-contiguous
    y : ndarray, shape (n,), int64

    Raises
    ------
    ValueError
        Any :func:`read_idx` error, images with fewer than 2 dimensions, labels that are not 1-D
        integers, or different counts of images and labels.
    """
    dtype = resolve_dtype(dtype)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim < 2:
        raise ValueError(f"{images_path}: expected images of shape (n, rows, cols), got {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{labels_path}: expected 1-D integer labels, got {labels.dtype} "
                         f"of shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images_path} has {images.shape[0]} images but {labels_path} has "
                         f"{labels.shape[0]} labels")
    X = images.reshape(images.shape[0], -1).astype(dtype)
    if images.dtype == np.uint8:
        X /= dtype.type(255)
    return np.ascontiguousarray(X), labels.astype(np.int64)


# -- splitting, scaling, targets ----------------------------------------------------------------------
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
