"""The network learns: XOR with one hidden layer, not without one; a small regression.

Fixed seeds, full-batch steps; each test runs well under a second.
"""
import numpy as np

import mlpcore

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_one_hidden_layer_learns_xor():
    net = mlpcore.MLP([2, 8, 2], "tanh", init="xavier", seed=0)
    opt = mlpcore.Adam(lr=0.05)
    for _ in range(300):
        net.train_step(XOR_X, XOR_Y, opt)
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)
    assert net.loss(XOR_X, XOR_Y) < 0.05
    assert np.all(net.predict_proba(XOR_X)[np.arange(4), XOR_Y] > 0.9)


def test_xor_with_relu_and_sgd():
    net = mlpcore.MLP([2, 16, 2], "relu", init="he", seed=1)
    opt = mlpcore.SGD(lr=0.2, momentum=0.9)
    for _ in range(300):
        net.train_step(XOR_X, XOR_Y, opt)
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)
    assert net.loss(XOR_X, XOR_Y) < 0.05


def test_no_hidden_layer_cannot_learn_xor():
    # A softmax over linear functions has a linear decision boundary: at most 3 of the 4 XOR
    # points are on the right side, however long it trains.
    net = mlpcore.MLP([2, 2], seed=0)
    opt = mlpcore.Adam(lr=0.05)
    for _ in range(2000):
        net.train_step(XOR_X, XOR_Y, opt)
    accuracy = np.mean(net.predict(XOR_X) == XOR_Y)
    assert accuracy <= 0.75
    # The cross-entropy is convex in (W, b) and its gradient vanishes at W = 0, b = 0 for XOR's
    # symmetric data, so the best a linear model can reach is ln 2 = 0.6931 per point.
    assert net.loss(XOR_X, XOR_Y) > 0.693


def test_small_regression_reaches_threshold():
    # y = sin(x) on [-3, 3], 64 points; a zero predictor has MSE mean(sin²) ~ 0.5.
    x = np.linspace(-3, 3, 64, dtype=np.float32).reshape(-1, 1)
    y = np.sin(x)
    net = mlpcore.MLP([1, 32, 1], "tanh", init="xavier", seed=2, output="identity")
    opt = mlpcore.Adam(lr=0.01)
    for _ in range(1000):
        net.train_step(x, y, opt)
    assert net.loss(x, y) < 1e-3
    assert np.abs(net.predict(x) - y[:, 0]).max() < 0.1
