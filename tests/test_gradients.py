"""Backpropagation against central finite differences (float64) and the NumPy reference.

For every activation, every loss (cross-entropy with integer labels and with probability rows,
binary cross-entropy, MSE) and 1, 2 and 3 hidden layers, the gradient from
``MLP.loss_and_grad`` must match central differences of ``MLP.loss``:

* overall relative error ||a - b|| / ||a + b|| < 1e-6, and
* element by element |a_i - b_i| / max(|a_i| + |b_i|, FLOOR) < 1e-6.

With step H = 1e-5 the difference quotient's own error is about 1e-11 (round-off ~1e-16 / H
plus truncation ~H² |f'''|), so FLOOR = 1e-3 keeps entries that are zero or tiny from being
judged by round-off alone: they are checked to an absolute 1e-9.

ReLU, leaky ReLU and ELU (alpha != 1) have a kink at 0 and maxout one wherever two pieces tie;
a difference quotient across a kink is meaningless. Every case is drawn so that each hidden
pre-activation lies at least KINK_MARGIN from its kink (and each maxout winner leads the
runner-up by 2 * KINK_MARGIN). A step of H in one parameter moves any pre-activation by roughly
H times an activation times downstream weights, well under 1e-4, so no kink is crossed.
"""
import numpy as np
import pytest

import mlpcore
import reference as ref

H = 1e-5
KINK_MARGIN = 1e-3
TOL = 1e-6
FLOOR = 1e-3

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"]
LOSS_CASES = ["ce_labels", "ce_probs", "bce", "mse", "poisson"]
OUTPUT_AND_LOSS = {
    "ce_labels": ("softmax", "cross_entropy"),
    "ce_probs": ("softmax", "cross_entropy"),
    "bce": ("sigmoid", "binary_cross_entropy"),
    "mse": ("identity", "mse"),
    "poisson": ("exp", "poisson"),
}
KINKED = {"relu", "leaky_relu", "elu", "maxout"}


# -- helpers ----------------------------------------------------------------------------------------
def relative_error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a + b)


def elementwise_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), FLOOR))


def finite_difference_grad(net, X, y, loss, sample_weight=None):
    """Central differences of net.loss with respect to every parameter (restored exactly)."""
    p = net.parameters
    grad = np.empty(p.size)
    for i in range(p.size):
        original = p[i]
        p[i] = original + H
        up = net.loss(X, y, loss=loss, sample_weight=sample_weight)
        p[i] = original - H
        down = net.loss(X, y, loss=loss, sample_weight=sample_weight)
        p[i] = original
        grad[i] = (up - down) / (2 * H)
    return grad


def distance_to_kinks(weights, X, activations, slope, alpha, k):
    """Smallest distance of any hidden pre-activation to a kink of its activation."""
    _, cache = ref.forward(weights, X, activations, slope, alpha, k)
    smallest = np.inf
    for name, (_, Z) in zip(activations, cache):
        if name in ("relu", "leaky_relu", "elu"):  # ELU: f' jumps at 0 unless alpha = 1, f'' always
            smallest = min(smallest, np.abs(Z).min())
        elif name == "maxout":
            top2 = np.sort(Z.reshape(Z.shape[0], -1, k), axis=2)[:, :, -2:]
            smallest = min(smallest, (top2[:, :, 1] - top2[:, :, 0]).min() / 2)
    return smallest


def make_targets(loss_case, rng, n, C):
    if loss_case == "ce_labels":
        return rng.integers(0, C, size=n)
    if loss_case == "ce_probs":
        return rng.dirichlet(np.ones(C), size=n)
    if loss_case == "bce":
        return rng.uniform(0.0, 1.0, size=(n, C))
    if loss_case == "poisson":
        return rng.poisson(1.5, size=(n, C)).astype(np.float64)
    return rng.normal(size=(n, C))


def make_case(activations, loss_case, seed, *, n=6, n_in=3, width=4, n_out=3, k=2, slope=0.1,
              alpha=1.0, weighted=False):
    """A float64 net with random weights and biases, inputs and targets, away from every kink."""
    activations = list(activations)
    output, _ = OUTPUT_AND_LOSS[loss_case]
    widths = width if isinstance(width, list) else [width] * len(activations)
    sizes = [n_in] + widths + [n_out]
    for attempt in range(200):
        rng = np.random.default_rng([seed, attempt])
        net = mlpcore.MLP(sizes, activations, init="xavier_normal", seed=seed * 1000 + attempt,
                          dtype="float64", output=output, leaky_relu_slope=slope, elu_alpha=alpha,
                          maxout_pieces=k)
        net.set_weights([(W, rng.normal(scale=0.3, size=b.shape)) for W, b in net.get_weights()])
        X = rng.normal(size=(n, n_in))
        if KINKED.isdisjoint(activations) or \
                distance_to_kinks(net.get_weights(), X, activations, slope, alpha, k) > KINK_MARGIN:
            break
    else:
        raise AssertionError("could not draw a case away from the kinks")
    y = make_targets(loss_case, rng, n, n_out)
    w = None
    if weighted:
        w = rng.uniform(0.2, 3.0, size=n)
        w[1] = 0.0  # a zero weight must remove the row from loss and gradient
    return net, X, y, w


def check_case(net, X, y, loss, w, activations, k, slope=0.1, alpha=1.0):
    value, grad = net.loss_and_grad(X, y, loss=loss, sample_weight=w)
    assert np.all(np.isfinite(grad)) and np.linalg.norm(grad) > 0

    # Against central finite differences of the engine's own loss.
    numeric = finite_difference_grad(net, X, y, loss, w)
    assert relative_error(grad, numeric) < TOL
    assert elementwise_error(grad, numeric) < TOL

    # Against the NumPy reference (both float64; only summation order differs).
    weights = net.get_weights()
    logits_ref, _ = ref.forward(weights, X, activations, slope, alpha, k)
    np.testing.assert_allclose(net.forward(X), logits_ref, rtol=1e-12, atol=1e-13)
    value_ref, grad_ref = ref.loss_and_grad(weights, X, y, loss, activations, w, slope, alpha, k)
    assert value == pytest.approx(value_ref, rel=1e-12, abs=1e-14)
    assert net.loss(X, y, loss=loss, sample_weight=w) == pytest.approx(value_ref, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-13)


# -- the grid -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("loss_case", LOSS_CASES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(activation, loss_case, depth):
    acts = [activation] * depth
    seed = ACTIVATIONS.index(activation) * 100 + LOSS_CASES.index(loss_case) * 10 + depth
    net, X, y, w = make_case(acts, loss_case, seed)
    check_case(net, X, y, OUTPUT_AND_LOSS[loss_case][1], w, acts, k=2)


@pytest.mark.parametrize("loss_case", LOSS_CASES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_with_sample_weight(activation, loss_case):
    acts = [activation] * 2
    seed = 5000 + ACTIVATIONS.index(activation) * 10 + LOSS_CASES.index(loss_case)
    net, X, y, w = make_case(acts, loss_case, seed, n=7, weighted=True)
    check_case(net, X, y, OUTPUT_AND_LOSS[loss_case][1], w, acts, k=2)


@pytest.mark.parametrize("loss_case", ["ce_labels", "bce", "mse"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_on_wide_layers(activation, loss_case):
    # Widths above 16 take the engine's general matrix-product path, narrow ones row-wise
    # kernels; 6 -> 24 -> 18 -> 3 runs through each (24 -> 18 is 36 rows of pieces for maxout).
    acts = [activation] * 2
    seed = 8000 + ACTIVATIONS.index(activation) * 10 + LOSS_CASES.index(loss_case)
    net, X, y, w = make_case(acts, loss_case, seed, n=9, n_in=6, width=[24, 18], weighted=True)
    check_case(net, X, y, OUTPUT_AND_LOSS[loss_case][1], w, acts, k=2)


def test_gradient_after_a_larger_batch():
    # The workspace is sized by the largest batch seen; a smaller batch uses its top rows.
    acts = ["maxout", "relu"]
    net, X, y, _ = make_case(acts, "ce_labels", 8100, n=12, width=[20, 5], k=3)
    fresh = net.copy()
    net.loss_and_grad(X, y)
    value, grad = net.loss_and_grad(X[:5], y[:5])
    value_fresh, grad_fresh = fresh.loss_and_grad(X[:5], y[:5])
    assert value == pytest.approx(value_fresh, rel=1e-14)
    np.testing.assert_allclose(grad, grad_fresh, rtol=1e-13, atol=1e-16)
    check_case(net, X[:5], y[:5], "cross_entropy", None, acts, k=3)


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("loss_case", LOSS_CASES)
def test_maxout_with_more_pieces(k, loss_case):
    acts = ["maxout"] * 2
    net, X, y, w = make_case(acts, loss_case, 6000 + 10 * k + LOSS_CASES.index(loss_case), k=k)
    assert net.get_weights()[0][0].shape == (4 * k, 3)
    check_case(net, X, y, OUTPUT_AND_LOSS[loss_case][1], w, acts, k=k)


@pytest.mark.parametrize("loss_case", ["ce_labels", "mse"])
def test_non_default_slope_and_alpha(loss_case):
    # alpha != 1 makes ELU's derivative jump at 0 (1 vs alpha), so a wrong alpha shows.
    acts = ["leaky_relu", "elu", "leaky_relu"]
    net, X, y, w = make_case(acts, loss_case, 7000 + LOSS_CASES.index(loss_case), slope=0.25, alpha=0.6)
    check_case(net, X, y, OUTPUT_AND_LOSS[loss_case][1], w, acts, k=2, slope=0.25, alpha=0.6)


@pytest.mark.parametrize("loss_case", LOSS_CASES)
def test_mixed_activations_per_layer(loss_case):
    acts = ["tanh", "maxout", "leaky_relu"]
    net, X, y, w = make_case(acts, loss_case, 7100 + LOSS_CASES.index(loss_case), k=3, width=5,
                             weighted=True)
    assert net.activations == acts
    check_case(net, X, y, OUTPUT_AND_LOSS[loss_case][1], w, acts, k=3)


def test_unnormalised_probability_targets():
    # torch.nn.CrossEntropyLoss accepts target rows that do not sum to 1: l = -sum_c t_c log p_c.
    acts = ["tanh"]
    net, X, _, w = make_case(acts, "ce_probs", 7200)
    y = np.random.default_rng(1).uniform(0.0, 1.0, size=(X.shape[0], 3))
    check_case(net, X, y, "cross_entropy", w, acts, k=2)


def test_gradient_with_input_scaling():
    # The stored standardisation x' = (x - mean) / scale is part of the model's function.
    acts = ["tanh", "sigmoid"]
    net, X, y, w = make_case(acts, "ce_labels", 7300)
    mean, scale = np.array([0.5, -1.0, 2.0]), np.array([2.0, 0.5, 3.0])
    X_raw = X * scale + mean
    net.set_input_scaling(mean, scale)
    value, grad = net.loss_and_grad(X_raw, y)
    numeric = finite_difference_grad(net, X_raw, y, "cross_entropy")
    assert relative_error(grad, numeric) < TOL
    assert elementwise_error(grad, numeric) < TOL
    value_ref, grad_ref = ref.loss_and_grad(net.get_weights(), X, y, "cross_entropy", acts)
    assert value == pytest.approx(value_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-13)


# -- sample weights: what a weight means -----------------------------------------------------------
def test_zero_weight_removes_the_row_and_integer_weight_repeats_it():
    net, X, y, _ = make_case(["tanh"], "ce_labels", 7400, n=5)
    w = np.array([1.0, 0.0, 2.0, 1.0, 3.0])
    value, grad = net.loss_and_grad(X, y, sample_weight=w)
    rows = [0, 2, 2, 3, 4, 4, 4]  # row 1 dropped, row 2 twice, row 4 three times
    value_rep, grad_rep = net.loss_and_grad(X[rows], y[rows])
    assert value == pytest.approx(value_rep, rel=1e-13)
    np.testing.assert_allclose(grad, grad_rep, rtol=1e-11, atol=1e-14)


def test_uniform_weights_change_nothing():
    net, X, y, _ = make_case(["relu"], "bce", 7500)
    value, grad = net.loss_and_grad(X, y)
    value_w, grad_w = net.loss_and_grad(X, y, sample_weight=np.full(X.shape[0], 2.5))
    assert value == pytest.approx(value_w, rel=1e-13)
    np.testing.assert_allclose(grad, grad_w, rtol=1e-12, atol=1e-15)


def test_float32_gradient_close_to_float64():
    # The float32 engine runs the same code; its gradient agrees to single precision.
    net64, X, y, _ = make_case(["tanh", "relu"], "ce_labels", 7600, n=16, width=8)
    net32 = mlpcore.MLP(net64.sizes, net64.activations, dtype="float32", output="softmax")
    net32.set_weights(net64.get_weights())
    _, g64 = net64.loss_and_grad(X, y)
    _, g32 = net32.loss_and_grad(X.astype(np.float32), y)
    assert g32.dtype == np.float32
    assert relative_error(g32.astype(np.float64), g64) < 1e-5


# -- the weight penalty (scikit-learn's alpha) ---------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "maxout"])
def test_weight_penalty_gradient_and_value(activation, weighted):
    net, X, y, w = make_case([activation, "sigmoid"], "ce_labels", 7700, k=3, weighted=weighted)
    alpha = 0.37
    value0, grad0 = net.loss_and_grad(X, y, sample_weight=w)
    net.weight_penalty = alpha
    value, grad = net.loss_and_grad(X, y, sample_weight=w)
    numeric = finite_difference_grad(net, X, y, "cross_entropy", w)
    assert relative_error(grad, numeric) < TOL
    assert elementwise_error(grad, numeric) < TOL
    # Independent reference: alpha / (2 sum_w) * sum ||W||^2 on the weights only.
    sum_w = X.shape[0] if w is None else w.sum()
    weights = net.get_weights()
    assert value == pytest.approx(value0 + 0.5 * alpha * sum((W ** 2).sum() for W, _ in weights) / sum_w,
                                  rel=1e-12)
    expected = []
    for (W, b), (gW, gb) in zip(weights, _split(net, grad0)):
        expected += [(gW + alpha / sum_w * W).ravel(), gb]  # biases are not penalised
    np.testing.assert_allclose(grad, np.concatenate(expected), rtol=1e-12, atol=1e-14)
    assert net.copy().weight_penalty == alpha


def _split(net, flat):
    """A flat gradient cut into [(dW, db), ...] with the shapes of net.get_weights()."""
    out, at = [], 0
    for W, b in net.get_weights():
        out.append((flat[at:at + W.size].reshape(W.shape), flat[at + W.size:at + W.size + b.size]))
        at += W.size + b.size
    return out


def test_weight_penalty_enters_the_training_step_and_is_checked():
    net, X, y, _ = make_case(["relu"], "mse", 7800)
    net.weight_penalty = 2.0
    twin = net.copy()
    opt = mlpcore.SGD(lr=0.1)
    value = net.train_step(X, y, opt)
    expected_value, grad = twin.loss_and_grad(X, y)
    assert value == pytest.approx(expected_value, rel=1e-13)
    np.testing.assert_allclose(net.parameters, twin.parameters - 0.1 * grad, rtol=1e-13, atol=1e-15)
    for bad in (-1.0, float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match="weight_penalty"):
            net.weight_penalty = bad
