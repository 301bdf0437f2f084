# SPDX-License-Identifier: MIT
"""``mlpcore.sklearn.MLPClassifier`` against scikit-learn's ``MLPClassifier``, same data, same settings.

Both estimators get the same arrays and the same parameters: Adam (learning_rate_init 1e-3),
batch_size 200, max_iter 200, tol 0 with n_iter_no_change 200 (so both run all 200 epochs),
alpha 1e-4, shuffle, random_state 0. For a given random_state mlpcore draws the same initial
weights and epoch orders as scikit-learn, so the two train the same model and the test
accuracies must agree; they are printed beside the times so that speed never hides a wrong result.

Data and nets:

* ``digits``: ``sklearn.datasets.load_digits`` / 16, float64 (as loaded), 80/20 split, 64-100-10.
* ``spiral``: ``mlpcore.datasets.spiral()`` (4 classes, sigma 0.16, 1000 per class), float32, 80/20
  split, 2-128-4.
* ``synthetic``: 20,000 training and 5,000 test rows of 784 standard-normal float32 features,
  labelled by a fixed random linear teacher (argmax of ``X @ W``), 784-256-128-10.

Each configuration runs the two estimators interleaved (scikit-learn first, then mlpcore, per
repetition) and reports the median wall time of a complete ``fit`` with its min-max, and the
speed-up (ratio of the medians). Threads: ``mlpcore.set_num_threads(n)`` and, for scikit-learn's
NumPy BLAS, ``threadpoolctl.threadpool_limits(n)``.

Usage::

    python benchmarks/bench_sklearn.py                    # 1 thread; 3 repetitions small, 1 large
    python benchmarks/bench_sklearn.py --threads 2
    python benchmarks/bench_sklearn.py --repeats 5 --configs digits spiral
    python benchmarks/bench_sklearn.py --epochs 20        # quick smoke run
    python benchmarks/bench_sklearn.py --json sk.json     # also write every timing as JSON
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

import mlpcore
from mlpcore import datasets
from mlpcore.sklearn import MLPClassifier as CoreMLP


def digits():
    X, y = load_digits(return_X_y=True)
    return (*train_test_split(X / 16.0, y, test_size=0.2, random_state=0), (100,))


def spiral():
    X, y = datasets.spiral(classes=4, sigma=0.16, n_per_class=1000, seed=0)
    return (*train_test_split(X, y, test_size=0.2, random_state=0), (128,))


def synthetic():
    rng = np.random.default_rng(0)
    teacher = rng.standard_normal((784, 10))
    X = rng.standard_normal((25_000, 784)).astype(np.float32)
    y = np.argmax(X @ teacher, axis=1)
    return X[:20_000], X[20_000:], y[:20_000], y[20_000:], (256, 128)


CONFIGS = {"digits": (digits, 3), "spiral": (spiral, 3), "synthetic": (synthetic, 1)}


def fit_once(cls, hidden, epochs, X_train, y_train, X_test, y_test):
    est = cls(hidden_layer_sizes=hidden, solver="adam", batch_size=200, max_iter=epochs, tol=0.0,
              n_iter_no_change=epochs, learning_rate_init=1e-3, alpha=1e-4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    return seconds, est.n_iter_, float(est.score(X_test, y_test)), float(est.loss_)


def blas_limits(threads):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's BLAS keeps its own thread count
        return None
    return threadpool_limits(limits=threads)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per configuration")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)

    mlpcore.set_num_threads(args.threads)
    limits = blas_limits(args.threads)
    rows = []
    print(f"threads {args.threads}, epochs {args.epochs}, scikit-learn {sklearn.__version__}, "
          f"mlpcore {mlpcore.__version__}, load average {os.getloadavg()[0]:.2f}")
    header = (f"{'data':10s} {'net':16s} {'dtype':8s} {'sklearn s':>18s} {'mlpcore s':>18s} {'speed-up':>8s} "
              f"{'acc sklearn':>11s} {'acc mlpcore':>11s}")
    print(header)
    print("-" * len(header))
    for name in args.configs:
        make, default_repeats = CONFIGS[name]
        X_train, X_test, y_train, y_test, hidden = make()
        repeats = args.repeats or default_repeats
        times = {"sklearn": [], "mlpcore": []}
        results = {}
        for _ in range(repeats):
            for engine, cls in (("sklearn", SkMLP), ("mlpcore", CoreMLP)):
                seconds, n_iter, acc, loss = fit_once(cls, hidden, args.epochs, X_train, y_train, X_test, y_test)
                times[engine].append(seconds)
                results[engine] = {"n_iter": n_iter, "test_accuracy": acc, "final_loss": loss}
        med = {k: statistics.median(v) for k, v in times.items()}
        net = "-".join(str(s) for s in (X_train.shape[1], *hidden, len(np.unique(y_train))))
        fmt = lambda k: f"{med[k]:7.3f} [{min(times[k]):.2f}-{max(times[k]):.2f}]"  # noqa: E731
        print(f"{name:10s} {net:16s} {X_train.dtype.name:8s} {fmt('sklearn'):>18s} {fmt('mlpcore'):>18s} "
              f"{med['sklearn'] / med['mlpcore']:7.1f}x {results['sklearn']['test_accuracy']:11.4f} "
              f"{results['mlpcore']['test_accuracy']:11.4f}")
        rows.append({"data": name, "net": net, "dtype": X_train.dtype.name, "n_train": int(X_train.shape[0]),
                     "repeats": repeats, "seconds": times, "median_seconds": med,
                     "speedup": med["sklearn"] / med["mlpcore"], "results": results})
    if limits is not None:
        limits.unregister()
    if args.json:
        info = {"threads": args.threads, "epochs": args.epochs, "sklearn": sklearn.__version__,
                "numpy": np.__version__, "mlpcore": mlpcore.build_info(), "machine": platform.machine(),
                "processor": platform.processor(), "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
                "rows": rows}
        with open(args.json, "w") as f:
            json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()
