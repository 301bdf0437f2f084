"""mlpcore.sklearn.Perceptron: the perceptron rule against a plain NumPy loop, the course's two
images (learned) and XOR (not learnable), weights as repetitions, stopping, and scikit-learn's
Perceptron as a reference for behaviour and errors."""
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import linear_model as sk
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlpcore import datasets
from mlpcore.sklearn import Perceptron


def reference_epochs(X, y, epochs, eta=1.0, penalty=None, alpha=1e-4, classes=None):
    """The rule in plain NumPy, rows in order: unit k fires when w_k·x + b_k > 0 and, when wrong,
    moves by eta * (t - o) * x. L2 shrinks w by (1 - eta*alpha) first; L1 is the cumulative
    truncated gradient (Tsuruoka et al. 2009)."""
    classes = np.unique(y) if classes is None else classes
    K = 1 if len(classes) == 2 else len(classes)
    W, b = np.zeros((K, X.shape[1])), np.zeros(K)
    u, q = np.zeros(K), np.zeros((K, X.shape[1]))
    for _ in range(epochs):
        for x, label in zip(X, y):
            for k in range(K):
                t = int(label == classes[1]) if K == 1 else int(label == classes[k])
                o = int(W[k] @ x + b[k] > 0)
                if penalty == "l2":
                    W[k] *= 1 - eta * alpha
                W[k] += eta * (t - o) * x
                b[k] += eta * (t - o)
                if penalty == "l1":
                    u[k] += eta * alpha
                    for j in range(X.shape[1]):
                        before = W[k, j]
                        if before > 0:
                            W[k, j] = max(0.0, before - (u[k] + q[k, j]))
                        elif before < 0:
                            W[k, j] = min(0.0, before + (u[k] - q[k, j]))
                        q[k, j] += W[k, j] - before
    return W, b


@pytest.mark.parametrize("penalty", [None, "l2", "l1"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_rule_matches_numpy_reference(penalty, n_classes):
    X, y = make_blobs(n_samples=40, centers=n_classes, n_features=3, cluster_std=3.0, random_state=0)
    clf = Perceptron(shuffle=False, max_iter=4, tol=None, eta0=0.5, penalty=penalty, alpha=0.05).fit(X, y)
    W, b = reference_epochs(X, y, 4, eta=0.5, penalty=penalty, alpha=0.05)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-12, atol=1e-12)
    assert clf.n_iter_ == 4 and clf.t_ == 4 * 40 + 1


def test_learns_the_two_images():
    X, y = datasets.two_images()
    clf = Perceptron(random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.n_iter_ < clf.max_iter  # converged: no ConvergenceWarning
    # The clean cross and circle are classified, with weights excitatory on the circle's pixels
    # and inhibitory on the cross's (the two templates share no pixel).
    templates = datasets.two_images_templates().reshape(2, -1)
    np.testing.assert_array_equal(clf.predict(templates), [0, 1])
    w = clf.coef_[0]
    assert w[templates[1] == 1].mean() > 0 > w[templates[0] == 1].mean()


@pytest.mark.parametrize("seed", range(5))
def test_fails_on_xor(seed):
    X, y = datasets.xor()
    clf = Perceptron(random_state=seed, max_iter=200, tol=None).fit(X, y)  # tol=None: all 200 epochs
    assert clf.n_iter_ == 200
    # No line separates XOR: at least one of the four points is always wrong.
    assert clf.score(X, y) <= 0.75


def test_integer_weights_are_repetitions_and_row_order_is_irrelevant():
    X, y = make_blobs(n_samples=30, centers=3, n_features=4, cluster_std=4.0, random_state=1)
    w = np.arange(30) % 4
    perm = np.random.RandomState(0).permutation(30)
    params = dict(max_iter=10, tol=None, penalty="l2", alpha=0.01, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = Perceptron(**params).fit(X[perm], y[perm], sample_weight=w[perm])
        repeated = Perceptron(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_array_equal(weighted.coef_, repeated.coef_)
    np.testing.assert_array_equal(weighted.intercept_, repeated.intercept_)


def test_convergence_warning_only_with_tol():
    X, y = datasets.xor()
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration reached"):
        Perceptron(max_iter=3, tol=1e-3, n_iter_no_change=5).fit(X, y)


def test_tol_stops_and_compares_with_scikit_learn():
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=1.0, random_state=0)
    ours = Perceptron().fit(X, y)
    ref = sk.Perceptron().fit(X, y)
    assert ours.n_iter_ < 1000 and ref.n_iter_ < 1000
    assert ours.score(X, y) >= ref.score(X, y) - 0.05
    assert ours.coef_.shape == ref.coef_.shape == (3, 2) and ours.intercept_.shape == (3,)
    binary = Perceptron().fit(X, y == 1)
    assert binary.coef_.shape == (1, 2) and binary.decision_function(X).shape == (300,)
    np.testing.assert_array_equal(binary.predict(X), binary.decision_function(X) > 0)


def test_class_weight():
    X, y = make_blobs(n_samples=200, centers=2, cluster_std=6.0, random_state=0)
    plain = Perceptron(random_state=0).fit(X, y)
    favour = Perceptron(random_state=0, class_weight={0: 50.0, 1: 0.01}).fit(X, y)
    assert np.mean(favour.predict(X) == 0) > np.mean(plain.predict(X) == 0)
    counts = np.bincount(y[:150])
    balanced = Perceptron(class_weight="balanced").fit(X[:150], y[:150])
    explicit = Perceptron(class_weight={c: 150 / (2 * counts[c]) for c in (0, 1)}).fit(X[:150], y[:150])
    np.testing.assert_array_equal(balanced.coef_, explicit.coef_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_partial_fit_pickle_pipeline(dtype):
    X, y = make_blobs(n_samples=120, centers=3, cluster_std=1.0, random_state=0)
    X = X.astype(dtype)
    clf = Perceptron().fit(X, y)
    assert clf.coef_.dtype == dtype
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.decision_function(X), clf.decision_function(X))
    assert clone(clf).get_params() == clf.get_params()
    inc = Perceptron()
    with pytest.raises(ValueError, match="classes must be passed"):
        inc.partial_fit(X, y)
    for _ in range(5):
        inc.partial_fit(X, y, classes=[0, 1, 2])
    assert inc.score(X, y) > 0.8 and inc.t_ == 5 * 120 + 1
    assert make_pipeline(StandardScaler(), Perceptron()).fit(X, y).score(X, y) > 0.8
    assert cross_val_score(Perceptron(), X, y, cv=3).min() > 0.7


X4 = np.random.RandomState(0).rand(20, 4)
Y4 = np.arange(20) % 2
BAD = {
    "nan": lambda e: e.fit(np.where(X4 > 0.9, np.nan, X4), Y4),
    "1-D X": lambda e: e.fit(X4[:, 0], Y4),
    "one class": lambda e: e.fit(X4, np.ones(20)),
    "continuous y": lambda e: e.fit(X4, X4[:, 0]),
    "no rows": lambda e: e.fit(np.empty((0, 4)), []),
    "features at predict": lambda e: e.fit(X4, Y4).predict(X4[:, :3]),
    "negative eta0": lambda e: e.set_params(eta0=-1.0).fit(X4, Y4),
    "bad penalty": lambda e: e.set_params(penalty="l3").fit(X4, Y4),
    "all-zero sample_weight": lambda e: e.fit(X4, Y4, sample_weight=np.zeros(20)),
    "predict before fit": lambda e: e.predict(X4),
}


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test compares whatever is raised
        return type(e), str(e)
    return None, None


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_errors_match_scikit_learn(case):
    ref_type, ref_msg = error_of(lambda: BAD[case](sk.Perceptron()))
    our_type, our_msg = error_of(lambda: BAD[case](Perceptron()))
    assert ref_type is not None and our_type is ref_type
    if case == "continuous y":  # scikit-learn's Perceptron prints the values; both say the same
        assert our_msg.startswith("Unknown label type: continuous") and ref_msg.startswith("Unknown label type")
    elif case == "bad penalty":  # the allowed set is smaller (no elasticnet); the sentence is the same
        assert our_msg.startswith("The 'penalty' parameter of Perceptron must be a str among") and "'l3'" in our_msg
    else:
        assert our_msg == ref_msg
