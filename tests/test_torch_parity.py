"""The engine against PyTorch: same initial weights, same batches, same optimizer settings.

An equivalent ``torch.nn.Sequential`` gets mlpcore's initial weights (maxout is a small module:
``Linear(in, out*k)`` whose output is viewed as ``(n, out, k)`` and maxed over the last axis,
matching mlpcore's layout of each unit's k pieces in adjacent rows). Both then take 20 steps on
the same batches; per-step losses and final weights must agree to float32 rounding.

Tolerance. One float32 step differs between the two libraries only by rounding: summation order
in the matrix products (relative ~sqrt(width) * eps, eps = 2**-23 ~ 1.2e-7) and the order of a
few element-wise operations in the update. Training feeds each step's difference into the next,
and Adam divides by sqrt(v), which can amplify differences of small gradients; over 20 steps we
allow a growth of about 100x: RTOL = 1e-5 on losses and weights, with ATOL = 1e-6 for weights
near zero (the weights are of order 0.1-1). The observed worst case is ~1e-6. A wrong formula
(a dropped momentum or Nesterov term, L2 decay in place of decoupled decay, a missing bias
correction) moves the weights by 1e-2 or more within 20 steps, far above this tolerance.
"""
import numpy as np
import pytest
import torch

import mlpcore
import reference as ref
from netcases import ACTIVATIONS

RTOL = 1e-5
ATOL = 1e-6
STEPS = 20
BATCH = 16
SIZES = [5, 12, 10, 3]
WIDE = [6, 24, 18, 3]
SLOPE, ALPHA, K = 0.1, 1.0, 2


pytestmark = pytest.mark.usefixtures("torch_one_thread")


class Maxout(torch.nn.Module):
    def __init__(self, n_in, n_out, k):
        super().__init__()
        self.linear = torch.nn.Linear(n_in, n_out * k)
        self.n_out, self.k = n_out, k

    def forward(self, x):
        return self.linear(x).view(x.shape[0], self.n_out, self.k).max(dim=-1).values


def torch_activation(name):
    return {
        "identity": torch.nn.Identity(),
        "sigmoid": torch.nn.Sigmoid(),
        "tanh": torch.nn.Tanh(),
        "relu": torch.nn.ReLU(),
        "leaky_relu": torch.nn.LeakyReLU(SLOPE),
        "elu": torch.nn.ELU(ALPHA),
    }[name]


def torch_copy(net, dtype=torch.float32):
    """A torch.nn.Sequential computing the same function as `net`, with its current weights."""
    weights = net.get_weights()
    acts = net.activations
    modules = []
    for l, (W, b) in enumerate(weights):
        act = acts[l] if l < len(acts) else None  # the output layer is linear
        if act == "maxout":  # W: (units*k, in), b: (units*k,), one bias per piece
            block = Maxout(W.shape[1], W.shape[0] // K, K)
            linear = block.linear
        else:
            block = linear = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.astype(np.float64)))
            linear.bias.copy_(torch.from_numpy(b.astype(np.float64)))
        modules.append(block)
        if act is not None and act != "maxout":
            modules.append(torch_activation(act))
    return torch.nn.Sequential(*modules).to(dtype)


def torch_weights(model):
    """Parameters in mlpcore's flat layout (W row-major then b, per layer)."""
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def torch_loss(loss, logits, y, w=None):
    """The batch loss as torch.nn.functional computes it; with sample weights w the per-sample
    losses (mean over outputs for BCE and MSE) are averaged as sum(w * l) / sum(w)."""
    if loss in ("cross_entropy", "ce_probs"):
        per_sample = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    elif loss == "binary_cross_entropy":
        per_sample = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(1)
    elif loss == "poisson":  # e^z - y z, mlpcore's poisson without torch's eps and Stirling terms
        per_sample = torch.nn.PoissonNLLLoss(log_input=True, reduction="none")(logits, y).mean(1)
    else:
        per_sample = torch.nn.functional.mse_loss(logits, y, reduction="none").mean(1)
    if w is None:
        # the plain mean reduction, exactly as a torch user writes it
        return {"cross_entropy": torch.nn.functional.cross_entropy,
                "ce_probs": torch.nn.functional.cross_entropy,
                "binary_cross_entropy": torch.nn.functional.binary_cross_entropy_with_logits,
                "mse": torch.nn.functional.mse_loss,
                "poisson": torch.nn.PoissonNLLLoss(log_input=True)}[loss](logits, y)
    return (per_sample * w).sum() / w.sum()


# name: (kind, hyper-parameters); the three libraries spell them alike
OPTIMIZERS = {
    "adam": ("adam", dict(lr=1e-2)),
    "adam_l2": ("adam", dict(lr=1e-2, weight_decay=0.05)),
    "adam_amsgrad": ("adam", dict(lr=1e-2, betas=(0.8, 0.99), amsgrad=True)),
    "adamw": ("adamw", dict(lr=1e-2, weight_decay=0.1)),
    "adamw_amsgrad": ("adamw", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    "sgd": ("sgd", dict(lr=0.05)),
    "sgd_momentum": ("sgd", dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov_wd": ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_dampening_wd": ("sgd", dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.02)),
}


def make_optimizers(opt_name, torch_params):
    """(mlpcore optimizer, torch optimizer) with the same settings."""
    kind, kw = OPTIMIZERS[opt_name]
    ours = {"sgd": mlpcore.SGD, "adam": mlpcore.Adam, "adamw": mlpcore.AdamW}[kind](**kw)
    theirs = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind](
        torch_params, **kw)
    return ours, theirs


def make_reference_optimizer(opt_name):
    kind, kw = OPTIMIZERS[opt_name]
    return ref.SGD(**kw) if kind == "sgd" else ref.Adam(**kw, decoupled=kind == "adamw")


OUTPUT_FOR_LOSS = {"cross_entropy": "softmax", "ce_probs": "softmax", "binary_cross_entropy": "sigmoid",
                   "mse": "identity", "poisson": "exp"}


def batches(loss, seed, sizes=SIZES, weighted=False):
    """STEPS batches (X, y, sample_weight or None); ce_probs is cross-entropy with probability rows."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(STEPS):
        X = rng.normal(size=(BATCH, sizes[0])).astype(np.float32)
        if loss == "cross_entropy":
            y = rng.integers(0, sizes[-1], size=BATCH)
        elif loss == "ce_probs":
            y = rng.dirichlet(np.ones(sizes[-1]), size=BATCH).astype(np.float32)
        elif loss == "binary_cross_entropy":
            y = (rng.uniform(size=(BATCH, sizes[-1])) < 0.5).astype(np.float32)
        elif loss == "poisson":  # e^z grows fast: smaller inputs keep SGD with momentum stable
            X *= 0.5
            y = rng.poisson(1.5, size=(BATCH, sizes[-1])).astype(np.float32)
        else:
            y = rng.normal(size=(BATCH, sizes[-1])).astype(np.float32)
        w = rng.uniform(0.0, 2.0, size=BATCH).astype(np.float32) if weighted else None
        out.append((X, y, w))
    return out


def run_both(activation, opt_name, loss="cross_entropy", seed=0, sizes=SIZES, weighted=False):
    net = mlpcore.MLP(sizes, activation, init="he", seed=seed, output=OUTPUT_FOR_LOSS[loss],
                      leaky_relu_slope=SLOPE, elu_alpha=ALPHA, maxout_pieces=K)
    model = torch_copy(net)
    initial = net.parameters.copy()
    np.testing.assert_array_equal(torch_weights(model), initial)
    opt, topt = make_optimizers(opt_name, model.parameters())
    ours, theirs = [], []
    for X, y, w in batches(loss, seed + 1, sizes, weighted):
        name = "cross_entropy" if loss == "ce_probs" else loss
        ours.append(net.train_step(X, y, opt, loss=name, sample_weight=w))
        ty = torch.from_numpy(y.astype(np.int64) if loss == "cross_entropy" else y)
        topt.zero_grad()
        value = torch_loss(loss, model(torch.from_numpy(X)), ty, None if w is None else torch.from_numpy(w))
        value.backward()
        topt.step()
        theirs.append(value.item())
    # the run did train: the weights moved by far more than the tolerance
    assert np.abs(net.parameters - initial).max() > 1e3 * ATOL
    return net, model, np.array(ours), np.array(theirs)


def assert_same_run(net, model, ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=0)
    np.testing.assert_allclose(net.parameters, torch_weights(model), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_training_matches_torch(activation, opt_name):
    assert_same_run(*run_both(activation, opt_name))


@pytest.mark.parametrize("loss", ["ce_probs", "binary_cross_entropy", "mse", "poisson"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "maxout"])
@pytest.mark.parametrize("opt_name", ["adam", "sgd_momentum"])
def test_other_losses_match_torch(activation, loss, opt_name):
    assert_same_run(*run_both(activation, opt_name, loss=loss, seed=3))


@pytest.mark.parametrize("loss", ["cross_entropy", "ce_probs", "binary_cross_entropy", "mse", "poisson"])
@pytest.mark.parametrize("activation", ["elu", "maxout"])
def test_sample_weight_matches_torch(activation, loss):
    assert_same_run(*run_both(activation, "adam", loss=loss, seed=4, weighted=True))


@pytest.mark.parametrize("opt_name", ["adam", "sgd_nesterov_wd"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_wide_layers_match_torch(activation, opt_name):
    # Widths above 16 take the engine's general matrix-product path; narrow ones take row-wise
    # kernels. [6, 24, 18, 3] exercises both: 6 inputs (narrow), 24 -> 18 (general; 36 rows for
    # maxout), 18 -> 3 (few outputs).
    assert_same_run(*run_both(activation, opt_name, seed=8, sizes=WIDE))


@pytest.mark.parametrize("sizes", [SIZES, WIDE])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_matches_torch(activation, sizes):
    net = mlpcore.MLP(sizes, activation, init="xavier", seed=11, maxout_pieces=K)
    net.set_weights([(W, np.random.default_rng(l).normal(scale=0.5, size=b.shape))
                     for l, (W, b) in enumerate(net.get_weights())])
    X = np.random.default_rng(12).normal(size=(64, sizes[0])).astype(np.float32)
    with torch.no_grad():
        expected = torch_copy(net)(torch.from_numpy(X)).numpy()
    # a handful of float32 roundings per output: a few eps relative to the activations' size
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-5, atol=1e-6)

    net64 = mlpcore.MLP(sizes, activation, dtype="float64", maxout_pieces=K)
    net64.set_weights(net.get_weights())
    X64 = X.astype(np.float64)
    with torch.no_grad():
        expected64 = torch_copy(net64, torch.float64)(torch.from_numpy(X64)).numpy()
    np.testing.assert_allclose(net64.forward(X64), expected64, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_float64_steps_match_the_reference(opt_name):
    # In float64 the engine's update rule must agree with the NumPy reference to ~1e-12, so any
    # difference in the formula (not just rounding) would show.
    acts = ["tanh", "maxout"]
    net = mlpcore.MLP(WIDE, acts, init="he", seed=5, dtype="float64", maxout_pieces=K)
    weights = net.get_weights()
    params = ref.flatten(weights)
    opt, _ = make_optimizers(opt_name, [torch.zeros(1)])
    ref_opt = make_reference_optimizer(opt_name)
    for X, y, _ in batches("cross_entropy", 6, WIDE):
        X = X.astype(np.float64)
        value = net.train_step(X, y, opt)
        value_ref, grad_ref = ref.loss_and_grad(ref.unflatten(params, weights), X, y, "cross_entropy", acts,
                                                k=K)
        assert value == pytest.approx(value_ref, rel=1e-12)
        params = ref_opt.step(params, grad_ref)
        np.testing.assert_allclose(net.parameters, params, rtol=1e-11, atol=1e-13)
    assert opt.steps == STEPS


# -- dropout: the engine's masks applied in torch, and torch's own Dropout's scaling ---------------
def torch_forward_masked(model, x, masks):
    """model(x) with each hidden layer's output multiplied by masks[l] (a (batch, units) tensor):
    inverted dropout with a given mask, as nn.Dropout computes it (input * mask/(1-p))."""
    hidden = 0
    for module in model:
        x = module(x)
        if not isinstance(module, torch.nn.Linear):  # an activation module or a Maxout block
            x = x * masks[hidden]
            hidden += 1
    return x


@pytest.mark.parametrize("activation", ["tanh", "relu", "maxout"])
@pytest.mark.parametrize("sizes", [SIZES, WIDE])
def test_dropout_training_matches_torch_with_the_engines_masks(activation, sizes):
    rates = [0.5, 0.2]
    net = mlpcore.MLP(sizes, activation, init="he", seed=2, maxout_pieces=K, dropout=rates)
    model = torch_copy(net)
    opt, topt = make_optimizers("adam", model.parameters())
    ours, theirs, kept = [], [], []
    for X, y, _ in batches("cross_entropy", 9, sizes):
        # the masks this step will draw, read before it is taken
        masks = [torch.from_numpy(net.dropout_mask(l, X)) for l in range(len(rates))]
        kept.append(float((masks[0] > 0).float().mean()))
        ours.append(net.train_step(X, y, opt))
        topt.zero_grad()
        value = torch.nn.functional.cross_entropy(torch_forward_masked(model, torch.from_numpy(X), masks),
                                                  torch.from_numpy(y.astype(np.int64)))
        value.backward()
        topt.step()
        theirs.append(value.item())
    assert net.dropout_step == STEPS
    assert 0.3 < np.mean(kept) < 0.7  # the first layer did drop about half its units
    assert_same_run(net, model, np.array(ours), np.array(theirs))
    # Without the masks torch's run differs by far more than the tolerance: the masks matter.
    plain = torch_copy(mlpcore.MLP(sizes, activation, init="he", seed=2, maxout_pieces=K))
    popt = torch.optim.Adam(plain.parameters(), lr=1e-2)
    for X, y, _ in batches("cross_entropy", 9, sizes):
        popt.zero_grad()
        torch.nn.functional.cross_entropy(plain(torch.from_numpy(X)), torch.from_numpy(y.astype(np.int64))).backward()
        popt.step()
    assert np.abs(torch_weights(plain) - net.parameters).max() > 1e3 * ATOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_dropout_mask_is_torch_dropouts_mask_kind(p, dtype):
    # torch.nn.Dropout(p) in training multiplies each input by 0 or 1/(1-p) computed in the
    # tensor's dtype, dropping with probability p. The engine's masks take the same two values,
    # bit for bit, and drop at the same rate (both within 5 binomial standard deviations of p).
    torch.manual_seed(0)
    ones = torch.ones(400, 250, dtype=dtype)
    factors = torch.nn.Dropout(p).train()(ones).numpy()
    name = "float32" if dtype == torch.float32 else "float64"
    X = np.random.default_rng(0).normal(size=(400, 3))
    mask = mlpcore.MLP([3, 250, 2], dropout=p, seed=1, dtype=name).dropout_mask(0, X, step=3)
    assert set(np.unique(factors).tolist()) == set(np.unique(mask).tolist())
    sd = np.sqrt(p * (1 - p) / mask.size)
    for m in (factors, mask):
        assert abs(float((m == 0).mean()) - p) < 5 * sd


def test_dropout_export_to_torch_trains_and_evaluates_like_the_engine():
    net = mlpcore.MLP([5, 12, 10, 3], "tanh", seed=4, dropout=[0.5, 0.25])
    X = np.random.default_rng(5).normal(size=(32, 5)).astype(np.float32)
    plain = mlpcore.torch.to_torch(net)  # inference: no Dropout modules
    assert not any(isinstance(m, torch.nn.Dropout) for m in plain.modules())
    assert plain.mlpcore_dropout == [0.5, 0.25]
    trainable = mlpcore.torch.to_torch(net, dropout=True)
    drops = [m for m in trainable.modules() if isinstance(m, torch.nn.Dropout)]
    assert [d.p for d in drops] == [0.5, 0.25]
    assert list(trainable.state_dict()) == list(plain.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias",
                                                                       "4.weight", "4.bias"]
    with torch.no_grad():
        np.testing.assert_allclose(trainable.eval()(torch.from_numpy(X)).numpy(), net.forward(X), rtol=1e-5, atol=1e-6)
        assert not np.allclose(trainable.train()(torch.from_numpy(X)).numpy(), net.forward(X), atol=1e-3)
    for module in (plain, trainable):
        assert mlpcore.torch.from_torch(module).dropout == [0.5, 0.25]
    # A hand-written torch net with Dropout after the activation, or alone (identity activation).
    seq = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                              torch.nn.Linear(8, 6), torch.nn.Dropout(0.1), torch.nn.Linear(6, 2))
    back = mlpcore.torch.from_torch(seq)
    assert back.dropout == [0.3, 0.1] and back.activations == ["relu", "identity"]
    with torch.no_grad():
        np.testing.assert_allclose(back.forward(X), seq.eval()(torch.from_numpy(X)).numpy(), rtol=1e-5, atol=1e-6)


# -- Poisson: loss and gradient of one batch against torch.nn.PoissonNLLLoss(log_input=True) ------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("outputs", [1, 3])
def test_poisson_loss_and_gradient_match_torch(dtype, weighted, outputs):
    rng = np.random.default_rng(outputs)
    sizes = [4, 16, 8, outputs]
    X = (0.5 * rng.normal(size=(40, 4))).astype(dtype)
    y = rng.poisson(2.0, size=(40, outputs)).astype(dtype)
    w = rng.uniform(0.0, 2.0, size=40).astype(dtype) if weighted else None
    net = mlpcore.MLP(sizes, "tanh", output="exp", seed=6, dtype=dtype)
    # torch_copy passes the weights through float32 modules: keep them float32 numbers
    net.set_weights([(W.astype(np.float32), b.astype(np.float32)) for W, b in net.get_weights()])
    value, grad = net.loss_and_grad(X, y, sample_weight=w)
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    model = torch_copy(net, tdtype)
    logits = model(torch.from_numpy(X))
    if w is None:
        loss = torch.nn.PoissonNLLLoss(log_input=True)(logits, torch.from_numpy(y))
    else:
        per_sample = torch.nn.PoissonNLLLoss(log_input=True, reduction="none")(logits, torch.from_numpy(y)).mean(1)
        loss = (per_sample * torch.from_numpy(w)).sum() / torch.from_numpy(w).sum()
    loss.backward()
    theirs = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-12, 1e-14)
    assert value == pytest.approx(loss.item(), rel=rtol)
    np.testing.assert_allclose(grad, theirs, rtol=rtol, atol=atol)
    # The predicted means are torch's exp of the logits.
    with torch.no_grad():
        np.testing.assert_allclose(net.predict(X).reshape(40, -1), torch.exp(model(torch.from_numpy(X))).numpy(),
                                   rtol=rtol * 10, atol=0)
