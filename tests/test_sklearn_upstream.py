# SPDX-License-Identifier: MIT
"""scikit-learn's own MLP tests (``sklearn/neural_network/tests/test_mlp.py`` of the installed
scikit-learn) run against ``mlpcore.sklearn``.

The file is loaded from the installed wheel at collection time, never copied: while it executes,
``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` are mlpcore's, so its imports, its
parametrisations and its bodies all use them. Every one of its tests runs here. The tests that
cannot pass because they read scikit-learn's private internals are listed in PRIVATE with the
reason, and are strict xfails: one that starts passing, or any other test that fails, fails
this suite.
"""
from __future__ import annotations

import importlib.util
import inspect
import os

import pytest

sklearn = pytest.importorskip("sklearn")
import sklearn.neural_network as sk_nn  # noqa: E402

from mlpcore.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

UPSTREAM = os.path.join(os.path.dirname(sk_nn.__file__), "tests", "test_mlp.py")

# Test name -> why it cannot pass against mlpcore: what private internal it reads.
PRIVATE = {
    "test_gradient": "calls the private _loss_grad_lbfgs(theta, X, Y, None, activations, deltas, coef_grads, "
                     "intercept_grads) with scikit-learn's per-layer work buffers, which mlpcore's flat-buffer "
                     "engine does not have (its gradients are checked by finite differences in test_gradients.py "
                     "and test_sklearn_mlp.py)",
}


def _load_upstream():
    spec = importlib.util.spec_from_file_location("sklearn_upstream_test_mlp", UPSTREAM)
    module = importlib.util.module_from_spec(spec)
    saved = sk_nn.MLPClassifier, sk_nn.MLPRegressor
    sk_nn.MLPClassifier, sk_nn.MLPRegressor = MLPClassifier, MLPRegressor
    try:
        spec.loader.exec_module(module)
    finally:
        sk_nn.MLPClassifier, sk_nn.MLPRegressor = saved
    return module


if not os.path.exists(UPSTREAM):  # pragma: no cover - wheels without their tests
    pytest.skip(f"scikit-learn ships no {UPSTREAM}", allow_module_level=True)

_upstream = _load_upstream()
UPSTREAM_TESTS = sorted(name for name, obj in vars(_upstream).items()
                        if name.startswith("test_") and inspect.isfunction(obj))


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest fixture (its default value, 42)."""
    return 42


def _adopt(name):
    test = getattr(_upstream, name)
    if name in PRIVATE:
        test = pytest.mark.xfail(reason=PRIVATE[name], strict=True)(test)
    return test


for _name in UPSTREAM_TESTS:
    globals()[_name] = _adopt(_name)


def test_upstream_names_point_at_mlpcore():
    assert _upstream.MLPClassifier is MLPClassifier
    assert _upstream.MLPRegressor is MLPRegressor
    assert sk_nn.MLPClassifier is not MLPClassifier  # restored after loading


def test_private_list_names_upstream_tests():
    assert set(PRIVATE) <= set(UPSTREAM_TESTS)
    assert len(UPSTREAM_TESTS) > 30
