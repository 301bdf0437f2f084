# SPDX-License-Identifier: MIT
"""mlpcore.sklearn against scikit-learn, default parameters, ``cross_val_score``, per solver.

For each data set and solver both estimators are built with default parameters except
``solver`` and ``random_state=0`` (so: one hidden layer of 100 ReLU units, alpha 1e-4,
max_iter 200, tol 1e-4, n_iter_no_change 10, batch_size min(200, n); max_fun 15000 for lbfgs)
and scored by ``cross_val_score(est, X, y, cv=5)`` (accuracy for the
classifiers, R^2 for the regressor). Data are loaded as scikit-learn ships them, unscaled, as a
user who only swaps the import would run them: iris, wine, breast cancer, digits (classifiers)
and diabetes (regressor). ConvergenceWarnings are silenced (several data sets reach max_iter).

The two run interleaved (scikit-learn first, then mlpcore, per repetition) in one process; the
script prints the median wall time of the whole ``cross_val_score`` call with its min-max, the
ratio of the medians and the mean cross-validated score of each. Threads:
``mlpcore.set_num_threads(n)`` and ``threadpoolctl.threadpool_limits(n)`` for NumPy's BLAS.

Usage::

    python benchmarks/bench_sklearn_cv.py                  # adam and lbfgs, 1 thread, 5 repetitions
    python benchmarks/bench_sklearn_cv.py --solvers adam --repeats 3 --data iris digits
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import sklearn
from sklearn import datasets as skdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from threadpoolctl import threadpool_limits

import mlpcore
from mlpcore.sklearn import MLPClassifier, MLPRegressor

DATA = {"iris": (skdata.load_iris, False), "wine": (skdata.load_wine, False),
        "breast_cancer": (skdata.load_breast_cancer, False), "digits": (skdata.load_digits, False),
        "diabetes": (skdata.load_diabetes, True)}


def timed(est, X, y):
    start = time.perf_counter()
    scores = cross_val_score(est, X, y, cv=5)
    return time.perf_counter() - start, float(scores.mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", nargs="+", choices=list(DATA), default=list(DATA))
    parser.add_argument("--solvers", nargs="+", choices=["adam", "sgd", "lbfgs"], default=["adam", "lbfgs"])
    args = parser.parse_args()
    mlpcore.set_num_threads(args.threads)
    print(f"scikit-learn {sklearn.__version__}, mlpcore {mlpcore.__version__}, {args.threads} thread(s), "
          f"{args.repeats} repetitions, cross_val_score(cv=5), parameters default but solver")
    print(f"{'solver':<7}{'data':<14}{'scikit-learn s (min-max)':>28}{'mlpcore s (min-max)':>26}{'speed-up':>10}"
          f"{'score sk / mlpcore':>22}")
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver, name in ((s, d) for s in args.solvers for d in args.data):
            load, regression = DATA[name]
            X, y = load(return_X_y=True)
            pair = (SkRegressor, MLPRegressor) if regression else (SkClassifier, MLPClassifier)
            times = ([], [])
            scores = [None, None]
            for _ in range(args.repeats):
                for i, cls in enumerate(pair):
                    seconds, scores[i] = timed(cls(solver=solver, random_state=0), X, y)
                    times[i].append(seconds)
            med = [statistics.median(t) for t in times]
            cells = [f"{m:.3f} ({min(t):.3f}-{max(t):.3f})" for m, t in zip(med, times)]
            print(f"{solver:<7}{name:<14}{cells[0]:>28}{cells[1]:>26}{med[0] / med[1]:>9.1f}x"
                  f"{scores[0]:>12.4f} / {scores[1]:.4f}")


if __name__ == "__main__":
    main()
