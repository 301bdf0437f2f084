"""Poisson regression: the engine's "exp" output and "poisson" loss, in MLP and MLPRegressor.

The loss's gradient is checked by finite differences in test_gradients.py (and
cpp/tests/test_gradients.cpp), its training against torch.nn.PoissonNLLLoss(log_input=True) in
test_torch_parity.py; here: the model, its file, and scikit-learn's MLPRegressor(loss="poisson").
"""
import warnings

import numpy as np
import pytest

import mlpcore


def counts(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.2)).astype(np.float64)
    return X, y, np.c_[y, rng.poisson(np.exp(0.3 * X[:, 2]))]


def test_exp_output_predicts_means_and_saves(tmp_path):
    X, _, Y = counts(20)
    net = mlpcore.MLP([4, 5, 2], activation="tanh", output="exp", dtype="float64", seed=1)
    assert net.loss_name == "poisson"
    np.testing.assert_allclose(net.predict(X), np.exp(net.forward(X)), rtol=1e-14)
    z = net.forward(X)
    assert net.loss(X, Y) == pytest.approx(np.mean(np.exp(z) - Y * z), rel=1e-13)
    with pytest.raises(ValueError, match="predict_proba needs output"):
        net.predict_proba(X)
    with pytest.raises(ValueError, match="'poisson' must be >= 0"):
        net.loss(X, -Y)
    path = tmp_path / "poisson.safetensors"
    net.save(path)
    back = mlpcore.load(path)
    assert back.output == "exp" and back.loss_name == "poisson"
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_trainer_fits_counts():
    X, y, _ = counts()
    net = mlpcore.MLP([4, 8, 1], activation="tanh", output="exp", dtype="float64", seed=0)
    before = net.loss(X, y[:, None])
    mlpcore.Trainer(net, mlpcore.Adam(lr=0.01), epochs=30, batch_size=32, seed=0, progress=False).fit(X, y[:, None])
    assert net.loss(X, y[:, None]) < before


sklearn = pytest.importorskip("sklearn")
from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from mlpcore.sklearn import MLPRegressor  # noqa: E402


@pytest.mark.parametrize("two_outputs", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("params", [dict(solver="lbfgs", max_iter=30), dict(solver="sgd", max_iter=20,
                                    learning_rate_init=0.01), dict(solver="adam", max_iter=20, alpha=0.1)])
def test_mlp_regressor_poisson_matches_scikit_learn(params, weighted, two_outputs):
    X, y, Y = counts()
    target = Y if two_outputs else y
    w = np.random.default_rng(5).uniform(0.2, 2.0, len(X)) if weighted else None
    fitted = []
    for cls in (sk.MLPRegressor, MLPRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted.append(cls(loss="poisson", hidden_layer_sizes=(10,), random_state=0, **params)
                          .fit(X, target, sample_weight=w))
    ref, ours = fitted
    assert ours.out_activation_ == ref.out_activation_ == "exp"
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-5, atol=1e-5)
    # scikit-learn weighs each batch's loss by its rows, mlpcore by its weight sum (docs/sklearn.md)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-6 if w is None or params["solver"] == "lbfgs" else 5e-3)
    assert ours.score(X, target) == pytest.approx(ref.score(X, target), abs=1e-5)


def test_mlp_regressor_poisson_refuses_negative_targets():
    X, y, _ = counts(20)
    with pytest.raises(ValueError, match="must be >= 0"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, y - 1)
