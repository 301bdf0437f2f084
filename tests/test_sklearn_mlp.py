"""mlpcore.sklearn.MLPClassifier / MLPRegressor against scikit-learn's own estimators.

For the same random_state mlpcore draws scikit-learn's initial weights, validation split and epoch
orders, and maps scikit-learn's objective onto the engine (loss factors, alpha, Adam's epsilon, SGD's
rate), so the two train the same model: the tests compare loss curves, weights, stopping points and
accuracies with scikit-learn's, each with its own tolerance.
"""
import pickle
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlpcore
from mlpcore import datasets
from mlpcore.sklearn import MLPClassifier, MLPRegressor


pytestmark = pytest.mark.usefixtures("engine_one_thread")


def fit_both(cls_name, X, y, **params):
    out = []
    for module in (sk, mlpcore.sklearn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.append(getattr(module, cls_name)(**params).fit(X, y))
    return out


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# -- the same training as scikit-learn ------------------------------------------------------------
SAME_TRAINING = [
    # (estimator, target kind, params, loss rtol, weight atol)
    ("MLPClassifier", "multiclass", dict(), 2e-3, 0.1),
    ("MLPClassifier", "binary", dict(), 2e-3, 0.1),
    ("MLPClassifier", "multilabel", dict(), 2e-3, 0.2),
    ("MLPClassifier", "multiclass", dict(activation="tanh", batch_size=64, alpha=0.1), 1e-4, 1e-3),
    ("MLPClassifier", "multiclass", dict(activation="logistic", learning_rate_init=0.01), 2e-3, 0.1),
    ("MLPRegressor", "single", dict(), 2e-3, 0.1),
    ("MLPRegressor", "multi", dict(alpha=1.0), 2e-3, 0.1),
    # SGD with a constant rate is the same computation to rounding.
    ("MLPClassifier", "multiclass", dict(solver="sgd", learning_rate_init=0.05), 1e-10, 1e-10),
    ("MLPClassifier", "multilabel", dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False), 1e-10, 1e-10),
    # (several outputs with an L2 term: the engine reports each batch's data and L2 parts apart)
    ("MLPRegressor", "multi", dict(solver="sgd", learning_rate_init=0.01), 1e-10, 1e-10),
    ("MLPRegressor", "multi", dict(solver="sgd", learning_rate_init=0.01, alpha=1.0), 1e-10, 1e-10),
    ("MLPRegressor", "single", dict(solver="sgd", learning_rate_init=0.01, alpha=1.0), 1e-10, 1e-10),
    ("MLPClassifier", "multiclass", dict(solver="sgd", momentum=0.0, learning_rate="invscaling",
                                          learning_rate_init=0.5), 1e-10, 1e-10),
]


def targets(kind, X, y):
    rng = np.random.RandomState(0)
    return {"multiclass": y, "binary": y % 2, "multilabel": (rng.rand(len(y), 3) < 0.4).astype(int),
            "single": X[:, :3] @ np.array([1.0, -2.0, 0.5]), "multi": X[:, :4] * 2 - 1}[kind]


@pytest.mark.parametrize("name,kind,params,loss_rtol,weight_atol", SAME_TRAINING)
def test_trains_like_scikit_learn(digits, name, kind, params, loss_rtol, weight_atol):
    X, y = digits[0][:400], digits[1][:400]
    ref, ours = fit_both(name, X, targets(kind, X, y), hidden_layer_sizes=(16,), max_iter=15, random_state=3,
                         **params)
    for attr in ("n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert getattr(ours, attr) == getattr(ref, attr), attr
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=loss_rtol)
    assert ours.loss_ == ours.loss_curve_[-1] and ours.best_loss_ == min(ours.loss_curve_)
    for c_ours, c_ref in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        assert c_ours.shape == c_ref.shape
        np.testing.assert_allclose(c_ours, c_ref, atol=weight_atol)


def test_first_epoch_starts_from_scikit_learns_weights(digits):
    # One epoch of SGD with a tiny rate barely moves the weights: they are scikit-learn's initial ones.
    X, y = digits
    ref, ours = fit_both("MLPClassifier", X, y, hidden_layer_sizes=(20, 10), solver="sgd", learning_rate_init=1e-12,
                         max_iter=1, random_state=7, activation="logistic")
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_accuracy_on_digits_within_one_point(digits):
    X_train, X_test, y_train, y_test = train_test_split(*digits, test_size=0.2, random_state=0)
    ref, ours = fit_both("MLPClassifier", X_train, y_train, hidden_layer_sizes=(64,), max_iter=60, random_state=0)
    acc_ref, acc_ours = ref.score(X_test, y_test), ours.score(X_test, y_test)
    assert acc_ours > 0.95
    assert abs(acc_ours - acc_ref) <= 0.01


def test_accuracy_on_spiral_within_one_point():
    X, y = datasets.spiral(classes=4, sigma=0.16, n_per_class=1000, seed=0)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=0)
    ref, ours = fit_both("MLPClassifier", X_train, y_train, hidden_layer_sizes=(32, 32), learning_rate_init=0.01,
                         max_iter=40, random_state=0)
    acc_ref, acc_ours = ref.score(X_test, y_test), ours.score(X_test, y_test)
    assert acc_ours > 0.9
    assert abs(acc_ours - acc_ref) <= 0.01


# -- stopping rules ---------------------------------------------------------------------------------
def test_tol_and_n_iter_no_change_stop_where_scikit_learn_does(digits):
    X, y = digits[0][:500], digits[1][:500]
    ref, ours = fit_both("MLPClassifier", X, y, hidden_layer_sizes=(16,), max_iter=300, tol=1e-2, n_iter_no_change=3,
                         random_state=0)
    assert ref.n_iter_ < 300
    assert abs(ours.n_iter_ - ref.n_iter_) <= 1
    curve = ours.loss_curve_
    assert len(curve) == ours.n_iter_
    # The rule itself: the last n_iter_no_change + 1 epochs each failed to beat the best before
    # them by tol, and the run did not stop earlier.
    best = np.minimum.accumulate(curve)
    worse = [curve[i] > best[i - 1] - 1e-2 for i in range(1, len(curve))]
    assert all(worse[-4:])
    assert ours.best_loss_ == min(curve)


def test_early_stopping_matches_scikit_learn(digits):
    X, y = digits
    ref, ours = fit_both("MLPClassifier", X, y, hidden_layer_sizes=(16,), max_iter=200, early_stopping=True,
                         validation_fraction=0.2, n_iter_no_change=4, tol=1e-3, random_state=0)
    assert ref.n_iter_ < 200 and abs(ours.n_iter_ - ref.n_iter_) <= 1
    assert len(ours.validation_scores_) == len(ours.loss_curve_) == ours.n_iter_
    n = min(len(ours.validation_scores_), len(ref.validation_scores_))
    np.testing.assert_allclose(ours.validation_scores_[:n], ref.validation_scores_[:n], atol=0.01)
    assert ours.best_loss_ is None
    assert ours.best_validation_score_ == max(ours.validation_scores_)
    # The best weights are restored: scoring the same held-out rows gives the best score.
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.2, random_state=0, stratify=None)
    assert abs(ours.best_validation_score_ - ref.best_validation_score_) <= 0.01


def test_adaptive_rate_divides_by_five(digits, capsys):
    X, y = digits[0][:300], digits[1][:300]
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.5,
                        momentum=0.0, tol=10.0, n_iter_no_change=1, max_iter=12, random_state=0, verbose=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out
    assert "Setting learning rate to 0.100000" in out and "Setting learning rate to 0.020000" in out


def test_convergence_warning(digits):
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\) reached"):
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(*digits)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# -- targets, dtypes, attributes ----------------------------------------------------------------------
def test_multilabel_and_multioutput(digits):
    X, y = digits[0][:400], digits[1][:400]
    Y = np.stack([y % 2, (y > 4).astype(int), (y == 0).astype(int)], axis=1)
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    assert clf.predict(X).shape == (400, 3) and set(np.unique(clf.predict(X))) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == (400, 3)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    assert clf.score(X, Y) > 0.9  # subset accuracy
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, random_state=0).fit(X, Y * 2.0 - 1.0)
    assert reg.predict(X).shape == (400, 3) and reg.out_activation_ == "identity"
    assert reg.score(X, Y * 2.0 - 1.0) > 0.8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_binary_uses_one_logistic_unit_and_string_labels(digits):
    X, y = digits[0][:300], digits[1][:300]
    labels = np.where(y % 2 == 0, "even", "odd")
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(X, labels)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1 and clf.coefs_[-1].shape == (16, 1)
    assert list(clf.classes_) == ["even", "odd"]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(digits, dtype):
    X, y = digits[0][:200].astype(dtype), digits[1][:200]
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf._net.dtype == dtype
    assert all(c.dtype == dtype for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X).dtype == dtype


def test_coefs_are_in_by_out_live_views(digits):
    X, y = digits[0][:200], digits[1][:200]
    clf = MLPClassifier(hidden_layer_sizes=(12, 7), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(64, 12), (12, 7), (7, 10)]
    assert [b.shape for b in clf.intercepts_] == [(12,), (7,), (10,)]
    # A NumPy forward pass with the reported weights gives predict_proba.
    a = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        a = np.maximum(a @ W + b, 0)
    z = a @ clf.coefs_[-1] + clf.intercepts_[-1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), p / p.sum(axis=1, keepdims=True), rtol=1e-10)
    clf.coefs_[-1][:] = 0.0  # live: zero output weights and biases give uniform probabilities
    clf.intercepts_ = [b for b in clf.intercepts_[:-1]] + [np.zeros(10)]
    np.testing.assert_allclose(clf.predict_proba(X[:3]), 0.1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "maxout"])
def test_extra_activations(digits, activation):
    X, y = digits[0][:400], digits[1][:400]
    clf = MLPClassifier(hidden_layer_sizes=(32,), activation=activation, learning_rate_init=0.01, max_iter=60,
                        random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    width = 64 if activation == "maxout" else 32  # two pieces per maxout unit
    assert clf.coefs_[0].shape == (64, width) and clf.coefs_[1].shape == (32, 10)


def test_sample_weight_is_repetition_for_full_batches(digits):
    X, y = digits[0][:60], digits[1][:60]
    w = np.arange(60) % 3
    params = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**params).fit(X, y, sample_weight=w)
        repeated = MLPClassifier(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# -- partial_fit and warm_start -------------------------------------------------------------------------
def test_partial_fit_and_warm_start(digits):
    X, y = digits
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        clf.partial_fit(X[:100], y[:100])
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    losses = [clf.loss_]
    for _ in range(20):
        clf.partial_fit(X, y)
        losses.append(clf.loss_)
        assert clf.n_iter_ == 1
    assert losses[-1] < losses[0] / 2 and clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="has classes not in"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 11]))
    warm = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, y)
        first = warm.loss_
        warm.fit(X, y)
    assert len(warm.loss_curve_) == 10 and warm.loss_ < first


def test_partial_fit_regressor_and_early_stopping_refused(digits):
    X, y = digits
    reg = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    reg.partial_fit(X, y.astype(float))
    assert reg.n_iter_ == 1 and reg.t_ == len(X)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPRegressor(early_stopping=True).partial_fit(X, y.astype(float))


# -- scikit-learn machinery --------------------------------------------------------------------------
def test_pickle_clone_pipeline_grid_search_cross_val(digits):
    X, y = digits[0][:300], digits[1][:300]
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(**params).fit(X, y)
        back = pickle.loads(pickle.dumps(clf))
        np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), rtol=1e-12)
        assert [c.tolist() for c in back.coefs_] == [c.tolist() for c in clf.coefs_]
        assert back.loss_curve_ == clf.loss_curve_
        fresh = clone(clf)
        assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "coefs_")
        pipe = make_pipeline(StandardScaler(), MLPClassifier(**params)).fit(X, y)
        assert pipe.score(X, y) > 0.9
        scores = cross_val_score(MLPClassifier(**params), X, y, cv=3)
        assert scores.shape == (3,) and scores.min() > 0.7
        grid = GridSearchCV(MLPClassifier(**params), {"alpha": [1e-4, 1e-1]}, cv=2, n_jobs=2).fit(X, y)
    assert grid.best_params_["alpha"] in (1e-4, 1e-1) and grid.best_estimator_.score(X, y) > 0.9


# -- bad input: the same errors as scikit-learn ----------------------------------------------------------
def error_of(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fn()
    except Exception as e:  # noqa: BLE001 - the test compares whatever is raised
        return type(e), str(e)
    return None, None


X4 = np.random.RandomState(0).rand(20, 4)
Y4 = np.arange(20) % 2
BAD = {
    "nan in X": lambda est: est.fit(np.where(X4 > 0.9, np.nan, X4), Y4),
    "inf in X": lambda est: est.fit(np.where(X4 > 0.9, np.inf, X4), Y4),
    "1-D X": lambda est: est.fit(X4[:, 0], Y4),
    "3-D X": lambda est: est.fit(X4.reshape(20, 2, 2), Y4),
    "no rows": lambda est: est.fit(np.empty((0, 4)), []),
    "no features": lambda est: est.fit(np.empty((20, 0)), Y4),
    "y length": lambda est: est.fit(X4, Y4[:10]),
    "y None": lambda est: est.fit(X4, None),
    "strings in X": lambda est: est.fit(np.full((20, 4), "a"), Y4),
    "complex X": lambda est: est.fit(X4 + 1j, Y4),
    "sample_weight shape": lambda est: est.fit(X4, Y4, sample_weight=np.ones(3)),
    "all-zero sample_weight": lambda est: est.fit(X4, Y4, sample_weight=np.zeros(20)),
    "predict before fit": lambda est: est.predict(X4),
    "features at predict": lambda est: est.set_params(max_iter=2).fit(X4, Y4).predict(X4[:, :3]),
    "negative alpha": lambda est: est.set_params(alpha=-1).fit(X4, Y4),
    "bad activation": lambda est: est.set_params(activation="softsign").fit(X4, Y4),
    "zero hidden units": lambda est: est.set_params(hidden_layer_sizes=(0,)).fit(X4, Y4),
    "bad batch_size": lambda est: est.set_params(batch_size=0).fit(X4, Y4),
    "validation set too small": lambda est: est.set_params(early_stopping=True, validation_fraction=0.01).fit(X4, Y4),
}


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_errors_match_scikit_learn(name, case):
    ref_type, ref_msg = error_of(lambda: BAD[case](getattr(sk, name)(random_state=0)))
    our_type, our_msg = error_of(lambda: BAD[case](getattr(mlpcore.sklearn, name)(random_state=0)))
    assert ref_type is not None
    assert our_type is ref_type
    if case == "bad activation":  # mlpcore accepts three more names; the sentence is the same
        strip = lambda m: re.sub(r"\{.*\}", "{...}", m)  # noqa: E731
        assert strip(our_msg) == strip(ref_msg) and "'leaky_relu'" in our_msg
    else:
        assert our_msg == ref_msg


def test_not_fitted_and_continuous_labels():
    with pytest.raises(NotFittedError):
        MLPClassifier().predict_proba(X4)
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X4, X4[:, 0])


def test_lbfgs_has_no_partial_fit():
    with pytest.raises(AttributeError) as info:
        MLPRegressor(solver="lbfgs").partial_fit
    assert "lbfgs is not stochastic" in str(info.value.__cause__)


def test_momentum_of_one_is_refused_with_the_parameter_name():
    # The engine's SGD needs momentum < 1 (scikit-learn allows 1, where velocities never decay).
    with pytest.raises(ValueError, match="'momentum' parameter"):
        MLPClassifier(solver="sgd", momentum=1.0).fit(X4, Y4)
