"""Networks and inputs shared by the interoperability tests (ONNX, PyTorch round trip): every
activation with non-default parameters, a mixed deep net, and optional input scaling."""
from __future__ import annotations

import numpy as np

import mlpcore

N = 1000
SLOPE, ALPHA, K = 0.2, 0.7, 3
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"]
MIXED = ["sigmoid", "maxout", "elu", "leaky_relu", "tanh", "relu", "identity"]
CASES = ACTIVATIONS + ["mixed"]


def make_net(case, output="softmax", dtype="float32", scaled=True, seed=3):
    """6 inputs, 4 outputs: two hidden layers of `case`, or seven of mixed kinds for "mixed"."""
    if case == "mixed":
        sizes, activation = [6, 16, 14, 12, 10, 12, 14, 16, 4], MIXED
    else:
        sizes, activation = [6, 16, 12, 4], case
    net = mlpcore.MLP(sizes, activation=activation, output=output, dtype=dtype, seed=seed,
                      leaky_relu_slope=SLOPE, elu_alpha=ALPHA, maxout_pieces=K)
    if scaled:
        rng = np.random.default_rng(seed)
        net.set_input_scaling(rng.normal(0, 5, size=6), rng.uniform(0.3, 8.0, size=6))
    return net


def raw_inputs(net, n=N, seed=0):
    """Raw inputs around the stored scaling: standardised values ~ N(0, 1.5²)."""
    rng = np.random.default_rng(seed)
    mean, scale = net.input_scaling if net.input_scaling is not None else (0.0, 1.0)
    return (mean + scale * 1.5 * rng.standard_normal((n, net.n_inputs))).astype(net.dtype)
