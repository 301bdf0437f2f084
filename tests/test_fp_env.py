"""Training runs with subnormal numbers flushed to zero, and leaves the caller's floating-point
mode as it found it.

Subnormal floats are up to 100 times slower on x86; an L2 penalty drives dead units' weights
into that range. The engine sets flush-to-zero / denormals-are-zero for the duration of a
training call only.
"""
import numpy as np
import pytest

import mlpcore

TINY = np.float32(1e-40)  # a float32 subnormal (the smallest normal is about 1.18e-38)


def _net_with_a_subnormal_weight():
    net = mlpcore.MLP([2, 3, 2], "tanh", init="xavier", seed=0)
    weights = net.get_weights()
    W, b = weights[0]
    W[:, 1] = TINY  # input column 1 is always 0 below, so these weights get a zero gradient
    net.set_weights(weights)
    assert np.all(net.get_weights()[0][0][:, 1] == TINY)
    X = np.array([[0.5, 0.0], [-1.0, 0.0], [2.0, 0.0], [0.1, 0.0]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    return net, X, y


def _caller_keeps_subnormals():
    # Plain NumPy arithmetic in this thread: with FTZ/DAZ left on, both would read 0.
    return TINY * np.float32(1.0) != 0 and np.float32(1e-39) / np.float32(2.0) != 0


def test_train_step_flushes_subnormal_weights_and_restores_the_mode():
    net, X, y = _net_with_a_subnormal_weight()
    assert _caller_keeps_subnormals()
    net.train_step(X, y, mlpcore.SGD(lr=0.1))
    # w - lr * 0 with w subnormal: read as zero, so the stored weight becomes exactly 0.
    assert np.all(net.get_weights()[0][0][:, 1] == 0)
    assert _caller_keeps_subnormals()


@pytest.mark.parametrize("threads", [1, 2])
def test_trainer_epochs_flush_and_restore(threads):
    previous = mlpcore.get_num_threads()
    mlpcore.set_num_threads(threads)
    try:
        net, X, y = _net_with_a_subnormal_weight()
        mlpcore.Trainer(net, mlpcore.SGD(lr=0.1), batch_size=2, epochs=2, progress=False).fit(X, y)
        assert np.all(net.get_weights()[0][0][:, 1] == 0)
        assert _caller_keeps_subnormals()
    finally:
        mlpcore.set_num_threads(previous)


def test_prediction_is_not_affected():
    # Only training calls change the mode: a forward pass on subnormal weights keeps them.
    net, X, _ = _net_with_a_subnormal_weight()
    net.forward(X)
    assert np.all(net.get_weights()[0][0][:, 1] == TINY)
    assert _caller_keeps_subnormals()
