"""The course's generators (spiral, XOR, moons, circles, blobs, two images) and scikit-learn's
offline digits. Every generator is seeded (``numpy.random.default_rng(seed)``) and returns ``(X, y)``
with ``X`` a C-contiguous float32 array of shape ``(n, n_features)`` (float64 with
``dtype="float64"``) and ``y`` an int64 array of shape ``(n,)``."""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import as_rng as _rng
from .._checks import check_number, resolve_dtype

#: What the two labels of :func:`two_images` show: 0 is a cross ("X"), 1 a circle ("O").
TWO_IMAGES_NAMES = ("cross", "circle")


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

