"""The estimators' stochastic fit in the engine (fit_estimator) against scikit-learn itself.

SGD is the same computation as scikit-learn's to rounding, so with the same random_state every
number the fit reports (loss curve, validation scores, stopping epoch, t_, the learning rate, the
verbose lines, the weights, and where the caller's RandomState ends up) is compared with
scikit-learn's at float64 rounding tolerance. Also: class_weight against scikit-learn fitted with
the equivalent sample_weight, divergence, and Ctrl-C.
"""
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import compute_class_weight, compute_sample_weight

import mlpcore.sklearn as mk

pytestmark = pytest.mark.usefixtures("engine_one_thread")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


def fit_both(name, X, y, sample_weight=None, ours_extra=None, **params):
    out = []
    for module, extra in ((sk, {}), (mk, ours_extra or {})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.append(getattr(module, name)(**params, **extra).fit(X, y, sample_weight=sample_weight))
    return out


def assert_same_fit(ref, ours, rtol=1e-9):
    assert ours.n_iter_ == ref.n_iter_ and ours.t_ == ref.t_
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=rtol)
    if ref.validation_scores_ is not None:
        np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_, rtol=rtol, atol=1e-12)
        assert ours.best_validation_score_ == pytest.approx(ref.best_validation_score_, rel=rtol)
    else:
        assert ours.validation_scores_ is None and ours.best_loss_ == pytest.approx(ref.best_loss_, rel=rtol)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


SGD_CASES = [
    # schedules with (Nesterov) momentum: the momentum buffer is rescaled when the rate changes
    dict(learning_rate="adaptive", tol=1e-2, n_iter_no_change=2, learning_rate_init=0.2),
    dict(learning_rate="invscaling", learning_rate_init=0.5, power_t=0.3),
    dict(learning_rate="invscaling", learning_rate_init=0.5, nesterovs_momentum=False),
    # early stopping on accuracy, with the adaptive schedule and a best-weights restore
    dict(early_stopping=True, learning_rate="adaptive", tol=1e-3, n_iter_no_change=2, validation_fraction=0.2),
    dict(early_stopping=True, n_iter_no_change=3, tol=0.0, shuffle=False),
    dict(batch_size=64, n_iter_no_change=np.inf, tol=0.5),
]


@pytest.mark.parametrize("params", SGD_CASES)
def test_sgd_classifier_is_scikit_learns_fit(digits, params):
    ref, ours = fit_both("MLPClassifier", *digits, hidden_layer_sizes=(12,), solver="sgd", max_iter=40,
                         random_state=1, **params)
    assert_same_fit(ref, ours)
    assert ours._optimizer.learning_rate == ref._optimizer.learning_rate


@pytest.mark.parametrize("kind", ["binary", "multilabel"])
def test_early_stopping_accuracy_of_logistic_outputs(digits, kind):
    X, y = digits
    Y = y % 2 if kind == "binary" else np.stack([y % 2, y > 4, y == 0], axis=1).astype(int)
    ref, ours = fit_both("MLPClassifier", X, Y, hidden_layer_sizes=(10,), solver="sgd", max_iter=30,
                         early_stopping=True, n_iter_no_change=5, tol=0.0, random_state=2)
    assert_same_fit(ref, ours)


def test_regressor_r2_early_stopping_with_sample_weight_and_several_outputs(digits):
    X, y = digits
    Y = np.stack([X[:, 10] * 3 - X[:, 20], X[:, 30] + 0.5 * X[:, 40]], axis=1)
    w = np.random.RandomState(0).uniform(0.2, 2.0, len(X))
    ref, ours = fit_both("MLPRegressor", X, Y, sample_weight=w, hidden_layer_sizes=(10,), solver="sgd",
                         learning_rate_init=0.01, alpha=0.5, max_iter=40, early_stopping=True, tol=1e-2,
                         n_iter_no_change=4, random_state=0)
    assert ref.n_iter_ < 40  # the validation rule stopped it
    assert_same_fit(ref, ours)


def test_verbose_lines_are_scikit_learns(digits, capsys):
    params = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.5,
                  tol=0.05, n_iter_no_change=1, max_iter=12, early_stopping=True, random_state=0, verbose=True)
    lines = []
    for module in (sk, mk):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            module.MLPClassifier(**params).fit(*digits)
        lines.append(capsys.readouterr().out.splitlines())
    assert lines[1] == lines[0]
    assert any("Setting learning rate to" in line for line in lines[1])


def test_random_state_instance_moves_on_as_in_scikit_learn(digits):
    states = [np.random.RandomState(5), np.random.RandomState(5)]
    for module, rs in zip((sk, mk), states):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            module.MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", max_iter=7, random_state=rs).fit(*digits)
    assert states[0].randint(1 << 30, size=5).tolist() == states[1].randint(1 << 30, size=5).tolist()


def test_partial_fit_and_warm_start_continue_like_scikit_learn(digits):
    X, y = digits
    models = []
    for module in (sk, mk):
        clf = module.MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling",
                                   learning_rate_init=0.3, random_state=0)
        for part in range(3):
            clf.partial_fit(X[part::3], y[part::3], classes=np.unique(y))
        clf.set_params(warm_start=True, max_iter=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        models.append(clf)
    ref, ours = models
    assert ours.t_ == ref.t_ == 3 * len(X) // 3 + 5 * len(X)
    assert_same_fit(ref, ours)


def test_divergence_with_early_stopping_keeps_the_best_weights_like_scikit_learn(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(20,), activation="identity", solver="sgd", learning_rate_init=2.0,
                  max_iter=15, early_stopping=True, n_iter_no_change=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's overflow RuntimeWarnings, ConvergenceWarning
        ref = sk.MLPRegressor(**params).fit(X, y.astype(float))
        ours = mk.MLPRegressor(**params).fit(X, y.astype(float))
    assert np.isnan(ref.validation_scores_[-1]) and np.isnan(ours.validation_scores_[-1])
    assert isinstance(ours.validation_scores_[-1], float)
    assert ours.n_iter_ == ref.n_iter_ == 15 and len(ours.loss_curve_) == 15
    np.testing.assert_array_equal(np.isnan(ours.validation_scores_), np.isnan(ref.validation_scores_))
    assert ours.best_validation_score_ == pytest.approx(ref.best_validation_score_, rel=1e-9)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-7)
    assert all(np.isfinite(c).all() for c in ours.coefs_)


def test_divergence_without_early_stopping_raises(digits):
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        mk.MLPRegressor(hidden_layer_sizes=(20,), activation="identity", solver="sgd", learning_rate_init=2.0,
                        max_iter=15, random_state=0).fit(digits[0], digits[1].astype(float))


# -- class_weight ------------------------------------------------------------------------------------
@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0, 1: 0.5, 7: 2.0}])
def test_class_weight_is_a_sample_weight_factor(digits, class_weight):
    X, y = digits
    w = np.random.RandomState(1).uniform(0.5, 1.5, len(X))
    resolved = class_weight
    if class_weight == "balanced":  # by sample-weight sums
        totals = np.bincount(y, weights=w)
        resolved = dict(enumerate(totals.sum() / (10 * totals)))
    factor = compute_class_weight(resolved, classes=np.unique(y), y=y)[y]
    ref, ours = fit_both("MLPClassifier", X, y, sample_weight=w * factor, hidden_layer_sizes=(8,), solver="sgd",
                         max_iter=10, random_state=0)
    ours = mk.MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", max_iter=10, random_state=0,
                            class_weight=class_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y, sample_weight=w)
    assert_same_fit(ref, ours)


def test_class_weight_balanced_without_sample_weight_is_scikit_learns_balanced(digits):
    X, y = digits
    ref, _ = fit_both("MLPClassifier", X, y, sample_weight=compute_sample_weight("balanced", y),
                      hidden_layer_sizes=(8,), solver="sgd", max_iter=5, random_state=0)
    _, ours = fit_both("MLPClassifier", X, y, hidden_layer_sizes=(8,), solver="sgd", max_iter=5, random_state=0,
                       ours_extra=dict(class_weight="balanced"))
    assert_same_fit(ref, ours)


def test_class_weight_multilabel_uses_the_per_label_product(digits):
    X, y = digits
    Y = np.stack([y % 2, y > 6], axis=1).astype(int)
    ref, _ = fit_both("MLPClassifier", X, Y, sample_weight=compute_sample_weight("balanced", Y),
                      hidden_layer_sizes=(8,), solver="sgd", max_iter=5, random_state=0)
    _, ours = fit_both("MLPClassifier", X, Y, hidden_layer_sizes=(8,), solver="sgd", max_iter=5, random_state=0,
                       ours_extra=dict(class_weight="balanced"))
    assert_same_fit(ref, ours)


def test_class_weight_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"The classes, \[1, 2\], are not in class_weight"):
        mk.MLPClassifier(class_weight={0: 1.0, 9: 2.0}, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        mk.MLPClassifier(class_weight="heavy").fit(X, y)
    with pytest.raises(ValueError, match="list of dicts"):
        mk.MLPClassifier(class_weight=[{0: 1.0}], max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        mk.Perceptron(class_weight="heavy").fit(X, y)


def test_partial_fit_balanced_balances_each_batch():
    X, y = load_iris(return_X_y=True)
    part = np.r_[0:10, 50:80]  # 10 of class 0, 30 of class 1
    ours = mk.MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", random_state=0, class_weight="balanced")
    ref = sk.MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", random_state=0)
    ours.partial_fit(X[part], y[part], classes=[0, 1, 2])
    ref.partial_fit(X[part], y[part], classes=[0, 1, 2], sample_weight=compute_sample_weight("balanced", y[part]))
    assert_same_fit(ref, ours)


# -- Ctrl-C ------------------------------------------------------------------------------------------
def test_ctrl_c_ends_the_fit_with_a_usable_model(tmp_path):
    script = textwrap.dedent("""
        import sys, warnings
        import numpy as np
        from mlpcore.sklearn import MLPClassifier
        rng = np.random.RandomState(0)
        X = rng.randn(20000, 50); y = (X[:, 0] > 0).astype(int)
        clf = MLPClassifier(hidden_layer_sizes=(256,), max_iter=100000, tol=0, n_iter_no_change=10**9,
                            random_state=0, verbose=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y)
        print("WARN", [str(w.message) for w in caught])
        print("DONE", clf.n_iter_, len(clf.loss_curve_), clf.score(X, y) > 0.5, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first = proc.stdout.readline()  # the first epoch's verbose line: the fit is running
    assert first.startswith("Iteration 1, loss = "), first + proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Training interrupted by user." in out
    done = [line for line in out.splitlines() if line.startswith("DONE")][0].split()
    assert int(done[1]) == int(done[2]) >= 1 and done[3] == "True"
