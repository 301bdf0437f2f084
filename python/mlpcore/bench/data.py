# SPDX-License-Identifier: MIT
"""Nets, batch sizes and the data every engine trains on."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mlpcore import datasets


@dataclass(frozen=True)
class NetSpec:
    """One grid entry: layer sizes and the training batch size."""
    sizes: tuple
    batch: int

    @property
    def name(self) -> str:
        return "-".join(map(str, self.sizes))

    @property
    def label(self) -> str:
        return f"{self.name} b{self.batch}"

    @property
    def data(self) -> str:
        """spiral for the course's 2-input, 4-class net; synthetic teacher data otherwise."""
        return "spiral" if self.sizes[0] == 2 and self.sizes[-1] == 4 else "teacher"


# The grid. The three larger nets are the ones with 2-thread targets.
DEFAULT_GRID = (NetSpec((2, 128, 4), 128), NetSpec((784, 256, 128, 10), 128),
                NetSpec((784, 256, 128, 10), 1024), NetSpec((784, 1024, 1024, 10), 256))
SMOKE_GRID = (NetSpec((2, 16, 4), 32), NetSpec((12, 24, 3), 64))

_SPEC = re.compile(r"^(\d+(?:-\d+)+)(?::(\d+))?$")


def parse_net(text: str) -> NetSpec:
    """'784-256-10:128' -> NetSpec((784, 256, 10), 128); the batch defaults to 128."""
    m = _SPEC.match(text.strip())
    if not m:
        raise ValueError(f"net {text!r}: expected layer sizes joined by '-' and an optional ':batch', "
                         "e.g. 784-256-10:128")
    sizes = tuple(int(v) for v in m.group(1).split("-"))
    batch = int(m.group(2) or 128)
    if len(sizes) < 2 or min(sizes) < 1 or batch < 1:
        raise ValueError(f"net {text!r}: at least two layers, all sizes and the batch positive")
    if sizes[-1] < 2:
        raise ValueError(f"net {text!r}: the benchmark trains classifiers, so the last layer needs >= 2 units")
    return NetSpec(sizes, batch)


def train_flops_per_sample(sizes) -> float:
    """FLOPs of one training step per row (2 per multiply-add): the forward products Z = A·Wᵀ,
    the weight gradients dL_dW = dL_dZᵀ·A, and the input gradients dL_dA = dL_dZ·W of every
    layer but the first (no engine computes dL_dX for the data). Biases, activations, the loss
    and the optimizer are lower-order and not counted."""
    weights = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2.0 * (2 * sum(weights) + sum(weights[1:]))


def spiral_split(n_per_class=1000, seed=0):
    """The course's 4-arm spiral split 80/20: (X_train, y_train, X_test, y_test)."""
    X, y = datasets.spiral(n_per_class=n_per_class, seed=seed)
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
    return _finish(X_tr, y_tr, X_te, y_te)


def digits_split(seed=0):
    """scikit-learn's 8×8 digits split 80/20, standardised with the training rows' mean and
    deviation (every engine sees the same scaled arrays)."""
    X, y = datasets.load_digits()
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
    scaler = datasets.Standardizer().fit(X_tr)
    return _finish(scaler.transform(X_tr), y_tr, scaler.transform(X_te), y_te)


def teacher_data(n_train, n_test, inputs, classes, seed=0):
    """Standard-normal rows labelled by a fixed random linear teacher (argmax of X·W): learnable,
    any width, cheap to make."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, inputs), dtype=np.float32)
    teacher = rng.standard_normal((inputs, classes)).astype(np.float32)
    y = (X @ teacher).argmax(axis=1)
    return _finish(X[:n_train], y[:n_train], X[n_train:], y[n_train:])


def _finish(X_tr, y_tr, X_te, y_te):
    as_x = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    as_y = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    return as_x(X_tr), as_y(y_tr), as_x(X_te), as_y(y_te)
