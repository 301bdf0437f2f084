"""A plain NumPy multi-layer perceptron: the oracle the engine is tested against.

Written for clarity, not speed. Layer l computes Z = A @ W.T + b (W shaped (out, in), or
(out*k, in) for maxout with unit j's k pieces in rows j*k .. j*k+k-1), then its activation; the
last layer is linear and returns logits. Losses and optimizer steps follow the definitions of
torch.nn.CrossEntropyLoss / BCEWithLogitsLoss / MSELoss and torch.optim.SGD / Adam / AdamW.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout")
LOSSES = ("cross_entropy", "binary_cross_entropy", "mse", "poisson")


# -- activations --------------------------------------------------------------------------------
def activate(name, z, slope=0.1, alpha=1.0, k=2):
    """Activation of pre-activations z (n, units), or (n, units*k) for maxout."""
    if name == "identity":
        return z
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "elu":
        return np.where(z > 0, z, alpha * np.expm1(z))
    if name == "maxout":
        n, cols = z.shape
        return z.reshape(n, cols // k, k).max(axis=2)
    raise ValueError(name)


def activation_grad(name, z, dL_da, slope=0.1, alpha=1.0, k=2):
    """dL/dz from dL/da, using the pre-activations z."""
    if name == "identity":
        return dL_da
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return dL_da * s * (1.0 - s)
    if name == "tanh":
        return dL_da * (1.0 - np.tanh(z) ** 2)
    if name == "relu":
        return dL_da * (z > 0)
    if name == "leaky_relu":
        return dL_da * np.where(z > 0, 1.0, slope)
    if name == "elu":
        return dL_da * np.where(z > 0, 1.0, alpha * np.exp(z))
    if name == "maxout":
        n, cols = z.shape
        pieces = z.reshape(n, cols // k, k)
        winner = pieces.argmax(axis=2)
        dL_dz = np.zeros_like(pieces)
        rows, units = np.indices(winner.shape)
        dL_dz[rows, units, winner] = dL_da
        return dL_dz.reshape(n, cols)
    raise ValueError(name)


# -- network --------------------------------------------------------------------------------------
def forward(weights, X, activations, slope=0.1, alpha=1.0, k=2):
    """Logits and the per-layer cache [(A_prev, Z)] for backward.

    weights: [(W, b), ...] as MLP.get_weights(); activations: one name per hidden layer.
    """
    acts = list(activations) + ["identity"]
    A = np.asarray(X, dtype=np.float64)
    cache = []
    for (W, b), name in zip(weights, acts):
        Z = A @ W.T + b
        cache.append((A, Z))
        A = activate(name, Z, slope, alpha, k)
    return A, cache


def backward(weights, cache, dL_dlogits, activations, slope=0.1, alpha=1.0, k=2):
    """Gradients [(dL_dW, dL_db), ...] from dL/dlogits."""
    acts = list(activations) + ["identity"]
    grads = [None] * len(weights)
    dL_dZ = dL_dlogits
    for l in range(len(weights) - 1, -1, -1):
        A_prev, _ = cache[l]
        grads[l] = (dL_dZ.T @ A_prev, dL_dZ.sum(axis=0))
        if l > 0:
            dL_dA = dL_dZ @ weights[l][0]
            dL_dZ = activation_grad(acts[l - 1], cache[l - 1][1], dL_dA, slope, alpha, k)
    return grads


def flatten(pairs):
    """Layer pairs (W, b) as one vector in the engine's layout: W row-major, then b, per layer."""
    return np.concatenate([np.concatenate([W.ravel(), b.ravel()]) for W, b in pairs])


def unflatten(flat, like):
    """Inverse of flatten, shaped like the pairs in `like`."""
    out, pos = [], 0
    for W, b in like:
        w_new = flat[pos:pos + W.size].reshape(W.shape)
        pos += W.size
        out.append((w_new, flat[pos:pos + b.size].copy()))
        pos += b.size
    return out


# -- losses ---------------------------------------------------------------------------------------
def _log_softmax(Z):
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _targets(loss, y, C):
    y = np.asarray(y)
    if loss == "cross_entropy" and y.ndim == 1:
        return np.eye(C)[y.astype(int)]
    return np.asarray(y, dtype=np.float64).reshape(len(y), C)


def loss_and_dlogits(loss, Z, y, sample_weight=None):
    """Mean loss (weighted: sum w_i l_i / sum w_i) and its gradient with respect to the logits Z.

    cross_entropy: l_i = -sum_c t_ic log softmax(z_i)_c (y: int labels or probability rows);
    binary_cross_entropy: l_i = mean_c BCE(sigmoid(z_ic), t_ic); mse: l_i = mean_c (z_ic - t_ic)^2;
    poisson: l_i = mean_c (exp(z_ic) - t_ic z_ic), the negative log-likelihood of counts t with
    mean exp(z) without the terms in t alone.
    """
    n, C = Z.shape
    T = _targets(loss, y, C)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if loss == "cross_entropy":
        per_row = -(T * _log_softmax(Z)).sum(axis=1)
        d_row = np.exp(_log_softmax(Z)) * T.sum(axis=1, keepdims=True) - T
    elif loss == "binary_cross_entropy":
        # -t log s(z) - (1-t) log(1-s(z)) = softplus(z) - t z
        per_row = (np.logaddexp(0.0, Z) - T * Z).mean(axis=1)
        d_row = (1.0 / (1.0 + np.exp(-Z)) - T) / C
    elif loss == "mse":
        per_row = ((Z - T) ** 2).mean(axis=1)
        d_row = 2.0 * (Z - T) / C
    elif loss == "poisson":
        per_row = (np.exp(Z) - T * Z).mean(axis=1)
        d_row = (np.exp(Z) - T) / C
    else:
        raise ValueError(loss)
    value = float((w * per_row).sum() / w.sum())
    return value, d_row * (w / w.sum())[:, None]


def loss_value(loss, Z, y, sample_weight=None):
    return loss_and_dlogits(loss, Z, y, sample_weight)[0]


def loss_and_grad(weights, X, y, loss, activations, sample_weight=None, slope=0.1, alpha=1.0, k=2):
    """Loss and the flat gradient (engine layout) of a network given as (W, b) pairs."""
    Z, cache = forward(weights, X, activations, slope, alpha, k)
    value, dZ = loss_and_dlogits(loss, Z, y, sample_weight)
    return value, flatten(backward(weights, cache, dZ, activations, slope, alpha, k))


# -- optimizers (torch.optim update rules, on flat float64 vectors) ---------------------------------
class SGD:
    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0):
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.weight_decay, self.dampening = weight_decay, dampening
        self.buf = None

    def step(self, p, g):
        g = g + self.weight_decay * p
        if self.momentum != 0:
            if self.buf is None:
                self.buf = g.copy()
            else:
                self.buf = self.momentum * self.buf + (1 - self.dampening) * g
            g = g + self.momentum * self.buf if self.nesterov else self.buf
        return p - self.lr * g


class Adam:
    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 decoupled=False):
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad, self.decoupled = weight_decay, amsgrad, decoupled
        self.t, self.m, self.v, self.v_max = 0, None, None, None

    def step(self, p, g):
        if self.m is None:
            self.m, self.v, self.v_max = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
        self.t += 1
        if self.decoupled:
            p = p * (1 - self.lr * self.weight_decay)
        else:
            g = g + self.weight_decay * p
        self.m = self.beta1 * self.m + (1 - self.beta1) * g
        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g
        v = self.v
        if self.amsgrad:
            self.v_max = np.maximum(self.v_max, self.v)
            v = self.v_max
        m_hat = self.m / (1 - self.beta1 ** self.t)
        denom = np.sqrt(v) / np.sqrt(1 - self.beta2 ** self.t) + self.eps
        return p - self.lr * m_hat / denom
