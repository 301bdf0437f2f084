"""Examples worked by hand: the course's cross-entropy example and a 3-2-1 sigmoid network.

The expected numbers are written out with their arithmetic (rounded to 6 significant digits),
so the tolerances are 5e-6 relative.
"""
import math

import numpy as np
import pytest

import mlpcore

HAND = dict(rel=5e-6)  # hand-rounded values carry 6 significant digits


def loss_of_logits(logits, target):
    """mlpcore's cross-entropy of one row of logits: a net with no hidden layer whose W = I, b = 0."""
    C = len(logits)
    net = mlpcore.MLP([C, C], dtype="float64", output="softmax")
    net.set_weights([(np.eye(C), np.zeros(C))])
    return net.loss(np.array([logits]), np.array([target]))


def test_course_cross_entropy_example():
    # The slide: predicted p = (0.775, 0.126, 0.039, 0.070), true class 0 (one-hot t = (1,0,0,0)).
    #   L = -sum_i t_i log p_i = -log p_0
    #     = -log2(0.775) = 0.367732 bits
    #     = -ln(0.775)   = 0.254892 nats   (= 0.367732 * ln 2)
    # mlpcore's cross-entropy takes logits and uses the natural log. softmax(log p) = p / sum(p),
    # and the slide's rounded p sums to 1.010, so softmax(log p)_0 = 0.775 / 1.010 and
    #   L = -ln(0.775 / 1.010) = 0.254892 + ln(1.010) = 0.254892 + 0.009950 = 0.264843 nats.
    p = np.array([0.775, 0.126, 0.039, 0.070])
    assert loss_of_logits(np.log(p), 0) == pytest.approx(0.264843, **HAND)

    # With the three other probabilities rescaled to share 1 - 0.775 = 0.225 (p sums to 1):
    q = np.concatenate([[0.775], p[1:] * 0.225 / p[1:].sum()])
    nats = loss_of_logits(np.log(q), 0)
    assert nats == pytest.approx(0.254892, **HAND)
    assert nats / math.log(2) == pytest.approx(0.367732, **HAND)
    assert round(nats / math.log(2), 4) == 0.3677  # the slide's 0.3677 bits

    # A probability target row gives the same value as the integer label.
    net = mlpcore.MLP([4, 4], dtype="float64")
    net.set_weights([(np.eye(4), np.zeros(4))])
    assert net.loss(np.log([q]), np.array([[1.0, 0.0, 0.0, 0.0]])) == pytest.approx(nats, rel=1e-14)


# A 3-2-1 network, sigmoid hidden units, sigmoid output, binary cross-entropy:
#   W1 = [[0.1, -0.2,  0.3],     b1 = [ 0.1, -0.1]
#         [0.4,  0.5, -0.6]]
#   W2 = [[0.7, -0.8]]           b2 = [0.2]
#   x  = [1, 2, 3],  target t = 1
W1 = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])
B1 = np.array([0.1, -0.1])
W2 = np.array([[0.7, -0.8]])
B2 = np.array([0.2])
X = np.array([[1.0, 2.0, 3.0]])
T = np.array([[1.0]])


def worked_net(dtype="float64"):
    net = mlpcore.MLP([3, 2, 1], "sigmoid", dtype=dtype, output="sigmoid")
    net.set_weights([(W1, B1), (W2, B2)])
    return net


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid_net_forward(dtype):
    # z1 = W1 x + b1:
    #   z1_0 = 0.1*1 - 0.2*2 + 0.3*3 + 0.1 = 0.1 - 0.4 + 0.9 + 0.1 =  0.7
    #   z1_1 = 0.4*1 + 0.5*2 - 0.6*3 - 0.1 = 0.4 + 1.0 - 1.8 - 0.1 = -0.5
    # h = sigmoid(z1) = (1/(1+e^-0.7), 1/(1+e^0.5)) = (0.668188, 0.377541)
    # z2 = 0.7*0.668188 - 0.8*0.377541 + 0.2 = 0.467732 - 0.302033 + 0.2 = 0.365699  (the logit)
    # p = sigmoid(0.365699) = 0.590419
    # L = -(t ln p + (1-t) ln(1-p)) = -ln 0.590419 = 0.526922
    net = worked_net(dtype)
    rel = 5e-6 if dtype == "float64" else 1e-5
    assert net.forward(X)[0, 0] == pytest.approx(0.365699, rel=rel)
    assert net.predict_proba(X)[0, 0] == pytest.approx(0.590419, rel=rel)
    assert net.loss(X, T) == pytest.approx(0.526922, rel=rel)
    assert net.predict(X)[0] == 1  # p > 0.5


def test_sigmoid_net_gradient():
    # dL/dz2 = p - t = 0.590419 - 1 = -0.409581
    # dL/dW2 = dL/dz2 * h = -0.409581 * (0.668188, 0.377541) = (-0.273677, -0.154633)
    # dL/db2 = -0.409581
    # dL/dh  = dL/dz2 * W2 = -0.409581 * (0.7, -0.8) = (-0.286707, 0.327665)
    # sigmoid'(z1) = h(1-h) = (0.668188*0.331812, 0.377541*0.622459) = (0.221713, 0.235004)
    # dL/dz1 = (-0.286707*0.221713, 0.327665*0.235004) = (-0.063567, 0.077002)
    # dL/dW1[1,2] = dL/dz1_1 * x_2 = 0.077002 * 3 = 0.231007
    # Flat layout: W1 (6 values, row-major), b1 (2), W2 (2), b2 (1).
    net = worked_net()
    value, grad = net.loss_and_grad(X, T)
    assert value == pytest.approx(0.526922, **HAND)
    assert grad.shape == (11,)
    assert grad[5] == pytest.approx(0.231007, **HAND)            # W1[1, 2]
    assert grad[8] == pytest.approx(-0.273677, **HAND)           # W2[0, 0]
    assert grad[10] == pytest.approx(-0.409581, **HAND)          # b2
    assert grad[6] == pytest.approx(-0.0635665, **HAND)          # b1[0] = dL/dz1_0 * 1


def test_sigmoid_net_sgd_update():
    # One plain SGD step with lr = 0.5: w <- w - lr * dL/dw
    #   W2[0,0]: 0.7  - 0.5*(-0.273677) = 0.7  + 0.136838 =  0.836838
    #   W2[0,1]: -0.8 - 0.5*(-0.154633) = -0.8 + 0.077317 = -0.722683
    #   W1[1,2]: -0.6 - 0.5*( 0.231007) = -0.6 - 0.115504 = -0.715504
    #   b2:      0.2  - 0.5*(-0.409581) = 0.2  + 0.204790 =  0.404790
    net = worked_net()
    before = net.train_step(X, T, mlpcore.SGD(lr=0.5))
    assert before == pytest.approx(0.526922, **HAND)  # train_step returns the loss before the update
    (w1, b1), (w2, b2) = net.get_weights()
    assert w2[0, 0] == pytest.approx(0.836838, **HAND)
    assert w2[0, 1] == pytest.approx(-0.722683, **HAND)
    assert w1[1, 2] == pytest.approx(-0.715504, **HAND)
    assert b2[0] == pytest.approx(0.404790, **HAND)
    # the step moved the output towards the target
    assert net.predict_proba(X)[0, 0] > 0.590419
