"""Weight initializers: each draws from the documented distribution, biases start at zero, and
the seed alone decides the weights.

The layers are large (~10^6 and ~3.6 * 10^5 weights), so sample statistics are tight. With N
draws from a zero-mean distribution of variance s², the sample mean has standard deviation
s / sqrt(N) and the sample variance a relative standard deviation of sqrt((kurtosis - 1) / N)
(kurtosis 1.8 for a uniform, 3 for a normal). Every check allows 6 standard deviations, so a
correct initializer fails with probability below 1e-8, while a wrong formula (fan_in and fan_out
swapped, a missing factor 2 or 3, uniform instead of normal) is off by many times that.
"""
import numpy as np
import pytest

import mlpcore

SIZES = [800, 1200, 300]  # asymmetric fans: layer 0 is 800 -> 1200, layer 1 is 1200 -> 300
SIGMAS = 6.0
SCALE = 0.05  # init_scale for "random"


def expected(init, fan_in, fan_out):
    """(kind, a): U(-a, a) or N(0, a²) as documented."""
    return {
        "xavier": ("uniform", 1.0 / np.sqrt(fan_in)),
        "normalized_xavier": ("uniform", np.sqrt(6.0 / (fan_in + fan_out))),
        "xavier_normal": ("normal", np.sqrt(2.0 / (fan_in + fan_out))),
        "he": ("normal", np.sqrt(2.0 / fan_in)),
        "he_uniform": ("uniform", np.sqrt(6.0 / fan_in)),
        "random": ("normal", SCALE),
    }[init]


def check_distribution(w, kind, a):
    w = w.astype(np.float64).ravel()
    n = w.size
    variance = a * a / 3.0 if kind == "uniform" else a * a
    kurtosis = 1.8 if kind == "uniform" else 3.0
    assert abs(w.mean()) < SIGMAS * np.sqrt(variance / n)
    assert abs(np.mean(w * w) / variance - 1.0) < SIGMAS * np.sqrt((kurtosis - 1.0) / n)
    if kind == "uniform":
        # bounds respected (up to the float32 rounding of a) and nearly reached: the largest of
        # N draws falls short of a by about a/N, so 1e-4 relative has probability ~e^-100
        assert np.abs(w).max() <= a * (1 + 1e-6)
        assert np.abs(w).max() > a * (1 - 1e-4)
        assert w.min() < -a * (1 - 1e-4) and w.max() > a * (1 - 1e-4)
        inner = 0.5  # fraction of |w| < a/2
    else:
        inner = 0.6826894921370859  # fraction of |w| < sigma
        # a normal's tails, which a uniform (at most 1.73 sd) never has; P(|w| > 3.5 sd) = 4.7e-4,
        # so at least ~28 such draws are expected in the 60000+ weights tested here
        assert np.abs(w).max() > 3.5 * a
    fraction = np.mean(np.abs(w) < (a / 2 if kind == "uniform" else a))
    assert abs(fraction - inner) < SIGMAS * np.sqrt(inner * (1 - inner) / n)


INITS = ["xavier", "normalized_xavier", "xavier_normal", "he", "he_uniform", "random"]


@pytest.mark.parametrize("init", INITS)
def test_initializer_matches_formula(init):
    net = mlpcore.MLP(SIZES, "tanh", init=init, seed=3, init_scale=SCALE)
    for l, (W, b) in enumerate(net.get_weights()):
        fan_in, fan_out = SIZES[l], SIZES[l + 1]
        assert W.shape == (fan_out, fan_in)
        np.testing.assert_array_equal(b, 0)
        check_distribution(W, *expected(init, fan_in, fan_out))


@pytest.mark.parametrize("init", ["normalized_xavier", "xavier_normal"])
def test_maxout_fan_out_counts_units(init):
    # A maxout layer of 400 units with k = 3 holds 1200 rows of pieces; fan_out is still 400.
    k = 3
    net = mlpcore.MLP([500, 400, 10], "maxout", init=init, seed=4, maxout_pieces=k)
    (W0, b0), (W1, b1) = net.get_weights()
    assert W0.shape == (400 * k, 500) and b0.shape == (400 * k,)
    assert W1.shape == (10, 400)
    np.testing.assert_array_equal(b0, 0)
    np.testing.assert_array_equal(b1, 0)
    check_distribution(W0, *expected(init, 500, 400))
    kind, a_pieces = expected(init, 500, 400 * k)
    # the rejected alternative (fan_out = pieces) is far outside the tolerance
    sd = np.sqrt(np.mean(W0.astype(np.float64) ** 2))
    assert abs(sd / a_pieces - (np.sqrt(1 / 3) if kind == "uniform" else 1.0)) > 0.1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("init", INITS)
def test_same_seed_same_weights(init, dtype):
    sizes = [30, 40, 20, 5]
    a = mlpcore.MLP(sizes, "relu", init=init, seed=123, dtype=dtype)
    b = mlpcore.MLP(sizes, "relu", init=init, seed=123, dtype=dtype)
    c = mlpcore.MLP(sizes, "relu", init=init, seed=124, dtype=dtype)
    assert a.parameters.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    for (Wa, _), (Wc, _) in zip(a.get_weights(), c.get_weights()):
        assert np.mean(Wa == Wc) < 0.01  # draws from unrelated streams (almost) never coincide
    # initialize() with the same arguments reproduces the constructor's draw
    c.initialize(init, seed=123)
    np.testing.assert_array_equal(a.parameters, c.parameters)


def test_initialize_resets_biases():
    net = mlpcore.MLP([4, 6, 2], "tanh", seed=1)
    net.parameters[:] = 1.0
    net.initialize("he", seed=1)
    for _, b in net.get_weights():
        np.testing.assert_array_equal(b, 0)
    np.testing.assert_array_equal(net.parameters, mlpcore.MLP([4, 6, 2], "tanh", seed=1).parameters)


def test_random_init_uses_init_scale():
    small = mlpcore.MLP([200, 300, 1], init="random", seed=2, init_scale=0.01)
    large = mlpcore.MLP([200, 300, 1], init="random", seed=2, init_scale=0.5)
    check_distribution(small.get_weights()[0][0], "normal", 0.01)
    check_distribution(large.get_weights()[0][0], "normal", 0.5)
    default = mlpcore.MLP([200, 300, 1], init="random", seed=2)
    check_distribution(default.get_weights()[0][0], "normal", 0.01)  # the course's N(0, 0.01²)
