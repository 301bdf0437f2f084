"""solver="lbfgs" against scikit-learn's own MLPClassifier/MLPRegressor(solver="lbfgs").

Both start from the same weights (same random_state) and hand the same objective and gradient to
scipy's L-BFGS-B, so their iterates agree to rounding for tens of iterations; on a non-convex
objective the rounding differences then grow, so long runs are compared by their scores and
short runs (or runs that converge early) by their losses, iteration counts and weights.
"""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import mlpcore.sklearn as mc


pytestmark = pytest.mark.usefixtures("engine_one_thread")


def fit_both(name, X, y, sample_weight=None, **params):
    out = []
    params = {"random_state": 0, **params}
    # One BLAS thread: scikit-learn's products and scipy's driver wait for busy workers otherwise.
    with threadpool_limits(1):
        for module in (sk, mc):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est = getattr(module, name)(solver="lbfgs", **params)
                out.append(est.fit(X, y, sample_weight=sample_weight))
    return out


def data(kind):
    if kind == "iris":
        return load_iris(return_X_y=True)
    if kind == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    X, y = load_diabetes(return_X_y=True)
    return X, y


SAME_RUN = [
    # (estimator, data, params): short runs or runs that converge before rounding matters
    ("MLPClassifier", "iris", dict(max_iter=30)),
    ("MLPClassifier", "iris", dict(hidden_layer_sizes=(8, 8), activation="tanh", alpha=0.5, max_iter=25)),
    ("MLPClassifier", "digits", dict(hidden_layer_sizes=(20,), max_iter=15, max_fun=12)),
    ("MLPRegressor", "diabetes", dict(max_iter=30)),
    ("MLPRegressor", "diabetes2", dict(activation="logistic", alpha=2.0, max_iter=20)),
    ("MLPClassifier", "binary", dict(max_iter=30)),
    ("MLPClassifier", "multilabel", dict(max_iter=40)),
]


@pytest.mark.parametrize("name,kind,params", SAME_RUN)
@pytest.mark.parametrize("weighted", [False, True])
def test_same_run_as_scikit_learn(name, kind, params, weighted):
    X, y = data(kind.rstrip("2") if kind not in ("binary", "multilabel") else "iris")
    if kind == "diabetes2":  # two outputs: scikit-learn reports their mean squared error
        y = np.c_[y, y / 3]
    elif kind == "binary":
        y = y == 2
    elif kind == "multilabel":
        y = np.c_[y == 2, y == 0, X[:, 0] > 5.8]
    w = np.random.default_rng(0).uniform(0.2, 2.0, len(X)) if weighted else None
    ref, ours = fit_both(name, X, y, sample_weight=w, **params)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-6)
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    assert not hasattr(ours, "loss_curve_") and not hasattr(ref, "loss_curve_")
    for attr in ("best_loss_", "validation_scores_", "best_validation_score_"):
        assert hasattr(ours, attr) == hasattr(ref, attr)


@pytest.mark.parametrize("name,kind", [("MLPClassifier", "iris"), ("MLPClassifier", "digits"),
                                       ("MLPRegressor", "diabetes")])
def test_default_lbfgs_scores_like_scikit_learn(name, kind):
    # 200 iterations on a non-convex objective: rounding differences make single runs end at
    # different, equally good points (diabetes R^2 differs by up to 0.03 for one random_state,
    # as much as between two random states of scikit-learn), so compare means over five.
    X, y = data(kind)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    losses, scores = [], []
    for seed in range(5):
        ref, ours = fit_both(name, X_train, y_train, random_state=seed)
        assert abs(ours.n_iter_ - ref.n_iter_) <= 1 or ours.n_iter_ == ref.n_iter_ == ref.max_iter \
            or kind != "digits"
        losses.append((ref.loss_, ours.loss_))
        scores.append((ref.score(X_test, y_test), ours.score(X_test, y_test)))
    (ref_loss, our_loss), (ref_score, our_score) = np.mean(losses, axis=0), np.mean(scores, axis=0)
    assert our_loss == pytest.approx(ref_loss, rel=0.05)
    assert abs(our_score - ref_score) <= 0.01


def test_converged_run_matches_in_loss_and_iterations():
    # digits with the default net converges (gradient below tol) before rounding differences grow
    X, y = data("digits")
    ref, ours = fit_both("MLPClassifier", X[:600], y[:600])
    assert ref.n_iter_ < ref.max_iter
    assert abs(ours.n_iter_ - ref.n_iter_) <= 1
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-3, abs=1e-6)


def test_convergence_warning_and_limits():
    X, y = data("iris")
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 5 iteration.*max_iter \(now 5\)"):
        est = mc.MLPClassifier(solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
    assert est.n_iter_ == 5
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        mc.MLPClassifier(solver="lbfgs", max_fun=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        converged = mc.MLPClassifier(solver="lbfgs", tol=1.0, random_state=0).fit(X, y)  # loose tol: converges
    assert converged.n_iter_ < 200


def test_warm_start_continues_from_the_fitted_weights():
    X, y = data("iris")
    ref, ours = fit_both("MLPClassifier", X, y, max_iter=10, warm_start=True)
    for est in (ref, ours):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-6)
    cold = fit_both("MLPClassifier", X, y, max_iter=10)[1]
    assert ours.loss_ < cold.loss_
    # and a switch to a stochastic solver keeps the weights and starts a loss curve
    ours.set_params(solver="adam", max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
    assert len(ours.loss_curve_) == 3


def test_float32_and_clone():
    X, y = data("iris")
    est = mc.MLPClassifier(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est32 = clone(est).fit(X.astype(np.float32), y)
        est64 = est.fit(X, y)
    assert est32.coefs_[0].dtype == np.float32
    assert est32.score(X, y) >= 0.95 and est64.score(X, y) >= 0.95
