"""The multi-layer perceptron: a Python face over the engine's model (mlpcore._core)."""
from __future__ import annotations

import os

import numpy as np

from . import _core
from ._checks import as_matrix, as_targets, as_weights, check_number, resolve_dtype
from .metrics import _positions

__all__ = ["MLP", "load"]

# Every name comes from the engine, which validates them (cpp/src/spec.cpp holds the one list).
_CHOICES = _core.choices()
ACTIVATIONS = tuple(_CHOICES["activation"])
INITS = tuple(_CHOICES["init"])
OUTPUTS = tuple(_CHOICES["output"])
LOSSES = {name: _core.loss_from_string(name) for name in _CHOICES["loss"]}
LOSS_FOR_OUTPUT = dict(_CHOICES["loss_for_output"])
PRECISIONS = tuple(_CHOICES["precision"])
_OUTPUT_FOR_LOSS = {v: k for k, v in LOSS_FOR_OUTPUT.items()}
# Outputs that regress (values, not classes), and their losses, which take dense targets.
REGRESSION_OUTPUTS = ("identity", "exp")
REGRESSION_LOSSES = tuple(LOSS_FOR_OUTPUT[o] for o in REGRESSION_OUTPUTS)
_ENGINES = {"float32": _core.Mlp32, "float64": _core.Mlp64}


def total_sum_of_squares(t) -> float:
    """Σ (t - mean(t))² over (n, outputs) float targets, for R² (NaN for class indices)."""
    if t.dtype.kind != "f" or t.ndim != 2:
        return float("nan")
    t64 = t.astype(np.float64)
    return float(((t64 - t64.mean(axis=0)) ** 2).sum())


def _poisson_sums(t, w) -> tuple:
    """(Σ w·mean_outputs(y log y - y), Σ w) over (n, outputs) Poisson targets, 0 log 0 = 0, in
    float64 (w None: all ones); summed per chunk for a stream."""
    t64 = t.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(t64 > 0, t64 * np.log(np.where(t64 > 0, t64, 1.0)), 0.0)
    row = (ylogy - t64).mean(axis=1)
    if w is None:
        return float(row.sum()), float(row.shape[0])
    w64 = w.astype(np.float64)
    return float(np.dot(w64, row)), float(w64.sum())


def poisson_offset(t, w) -> float:
    """mean(y log y - y) over (n, outputs) Poisson targets, weighted like the loss (NaN when the
    weights sum to 0). The engine's Poisson loss is mean(e^z - y z); per element the deviance is
    2 (y log y - y - y z + e^z), so mean deviance = 2 (loss + poisson_offset(t, w))."""
    s, w_sum = _poisson_sums(t, w)
    return s / w_sum if w_sum > 0 else float("nan")


def metric_name(loss: str) -> str:
    """The History/evaluate metric of a loss: "r2" for mse, "deviance" (mean Poisson deviance,
    lower is better) for poisson, "accuracy" otherwise."""
    return {"mse": "r2", "poisson": "deviance"}.get(loss, "accuracy")


def target_statistic(t, w, loss: str) -> float:
    """What turns a mean loss into the metric (see :meth:`MLP._evaluate_encoded`), once per data
    set: the targets' total sum of squares for mse, :func:`poisson_offset` for poisson."""
    if loss == "poisson":
        return poisson_offset(t, w)
    return total_sum_of_squares(t)


def metric_from_loss(loss: str, value: float, stat: float, n_elems: int) -> float:
    """R² (mse) or mean Poisson deviance (poisson) from a weighted mean loss ``value`` over
    ``n_elems`` target elements and the data set's :func:`target_statistic` ``stat``."""
    if loss == "poisson":
        return 2.0 * (value + stat)
    return 1.0 - value * n_elems / stat if stat > 0 else float("nan")


def _choice(value, allowed, name):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of: {', '.join(map(repr, allowed))}")
    return value


class MLP:
    """A multi-layer perceptron whose numeric work runs in mlpcore's C++ engine.

    Layer ``l`` computes ``Z = A @ W.T + b`` (``W`` shaped ``(out, in)`` like ``torch.nn.Linear``)
    followed by the layer's activation; the last layer returns logits.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_inputs, hidden..., n_outputs]``; at least two entries.
    activation : str or sequence of str, default "relu"
        Activation of the hidden layers, one name for all or one per hidden layer: ``identity``,
        ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu`` (``max(slope*x, x)``), ``elu``, ``maxout``.
    init : str, default "he"
        Weight initializer: ``xavier`` U(±1/√fan_in), ``normalized_xavier`` U(±√(6/(fan_in+fan_out))),
        ``xavier_normal`` N(0, 2/(fan_in+fan_out)), ``he`` N(0, 2/fan_in), ``he_uniform``
        U(±√(6/fan_in)), ``random`` N(0, init_scale²). Biases start at zero.
    seed : int, default 0
        Seed of mlpcore's own generator: the same seed gives the same weights on every platform.
    dtype : {"float32", "float64"}, default "float32"
    output : {"softmax", "sigmoid", "identity", "exp"}, default "softmax"
        What the logits mean: class probabilities by softmax (loss ``cross_entropy``), independent
        probabilities by sigmoid (``binary_cross_entropy``), values (regression, ``mse``), or the
        logarithm of a mean (``exp``, the log link of Poisson regression: ``predict`` gives
        ``e^z``, loss ``poisson`` = mean of ``e^z - y z`` over samples and outputs, ``y >= 0``).
    leaky_relu_slope : float in (0, 1), default 0.1
    elu_alpha : float > 0, default 1.0
    maxout_pieces : int in [2, 64], default 2
        A maxout unit outputs the largest of its k linear pieces, max(w1ᵀx+b1, ..., wkᵀx+bk).
    init_scale : float > 0, default 0.01
        Standard deviation for ``init="random"``.
    dropout : float or sequence of float in [0, 1), default 0
        Inverted dropout in training: each unit of a hidden layer's output is zeroed with
        probability ``p`` and the others are scaled by ``1 / (1 - p)``; one value (or a
        one-element list) for every hidden layer, or one value per hidden layer. Only training steps drop (``train_step``, ``Trainer.fit``,
        and ``loss_and_grad``/``forward`` given a ``dropout_step``); ``forward``, ``predict`` and
        ``evaluate`` use every unit. The masks follow from (``seed``, the training step, layer,
        the input row's values, unit), so they are the same for any thread count, batch order or
        process split, and equal rows in a batch share a mask (see :meth:`dropout_mask`).
        Saved in the model file; 0 costs nothing.
    precision : {"float32", "bf16"}, default "float32"
        How the matrix products run. ``"bf16"`` (float32 models only) rounds their operands to
        bfloat16 and accumulates in float32 on AMX tiles or AVX512-BF16 (``build_info()["bf16"]``),
        several times faster on large layers; weights, gradients, optimizer state, loss and
        softmax stay float32, and so do model files. A run-time setting: not saved with the model
        (pickles keep it). See ``docs/precision.md``.

    Raises
    ------
    ValueError
        For an invalid size, name or parameter, naming it.

    Examples
    --------
    >>> import numpy as np, mlpcore
    >>> net = mlpcore.MLP([2, 16, 3], activation="tanh", seed=1)
    >>> net.forward(np.zeros((5, 2), dtype=np.float32)).shape
    (5, 3)
    """

    def __init__(self, sizes, activation="relu", *, init="he", seed=0, dtype="float32", output="softmax",
                 leaky_relu_slope=0.1, elu_alpha=1.0, maxout_pieces=2, init_scale=0.01, dropout=0.0,
                 precision="float32"):
        try:
            sizes = list(sizes)
        except TypeError:
            raise ValueError(f"sizes must be a sequence of layer widths, got {sizes!r}") from None
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least the input and output widths, got {sizes!r}")
        for i, s in enumerate(sizes):
            check_number(s, f"sizes[{i}]", integer=True)
        n_hidden = len(sizes) - 2
        if isinstance(activation, str):
            acts = [activation] * n_hidden
        else:
            try:
                acts = list(activation)
            except TypeError:
                raise ValueError(f"activation must be a name or a list of names, got {activation!r}") from None
            if len(acts) != n_hidden:
                raise ValueError(f"activation lists {len(acts)} names but the network has {n_hidden} hidden layers")
        for name, value in [*(("activation", a) for a in acts), ("activation", activation), ("init", init),
                            ("output", output)]:
            if not isinstance(value, str) and not (name == "activation" and value is activation):
                raise ValueError(f"{name} must be a name, got {value!r}")
        dt = resolve_dtype(dtype)
        # Python converts; the engine checks every range and name (cpp/src/spec.cpp) with its messages.
        seed = check_number(seed, "seed", low=0, high=2**64 - 1, integer=True)
        for name, value in (("leaky_relu_slope", leaky_relu_slope), ("elu_alpha", elu_alpha),
                            ("init_scale", init_scale)):
            check_number(value, name)
        check_number(maxout_pieces, "maxout_pieces", integer=True)
        if isinstance(dropout, (str, bytes)):
            raise ValueError(f"dropout must be a number or a list of numbers, got {dropout!r}")
        try:
            rates = [float(check_number(p, f"dropout[{i}]")) for i, p in enumerate(dropout)]
        except TypeError:
            rates = [float(check_number(dropout, "dropout"))]
        self._net = _ENGINES[dt.name]([int(s) for s in sizes], acts, float(leaky_relu_slope), float(elu_alpha),
                                      int(maxout_pieces), output, init, int(seed), float(init_scale), rates)
        self._dtype = dt
        self._io = (int(sizes[0]), int(sizes[-1]))  # (n_inputs, n_outputs), cached for the hot path
        if precision != "float32":
            self.precision = precision

    @classmethod
    def _wrap(cls, engine) -> "MLP":
        self = cls.__new__(cls)
        self._net = engine
        self._dtype = np.dtype(engine.dtype)
        self._io = (engine.sizes[0], engine.sizes[-1])
        return self

    # -- description -----------------------------------------------------------------------------
    @property
    def sizes(self) -> list:
        """Layer widths ``[n_inputs, hidden..., n_outputs]``."""
        return list(self._net.sizes)

    @property
    def activations(self) -> list:
        """Activation name of each hidden layer."""
        return list(self._net.activations)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def output(self) -> str:
        return self._net.output

    @property
    def precision(self) -> str:
        """``"float32"`` or ``"bf16"``: how the matrix products run (see the class parameters).
        Settable at any time; setting ``"bf16"`` raises ValueError on a float64 model or where
        the CPU has neither AMX-BF16 nor AVX512-BF16, naming what is missing."""
        return self._net.precision

    @precision.setter
    def precision(self, value: str) -> None:
        if not isinstance(value, str):
            raise ValueError(f"precision must be a name, got {value!r}")
        self._net.precision = value  # the engine checks the name and the CPU (cpp/src/spec.cpp, bf16/cpu.cpp)

    @property
    def loss_name(self) -> str:
        """The loss matching ``output`` (used when ``loss`` is not given)."""
        return LOSS_FOR_OUTPUT[self._net.output]

    @property
    def leaky_relu_slope(self) -> float:
        return self._net.leaky_relu_slope

    @property
    def elu_alpha(self) -> float:
        return self._net.elu_alpha

    @property
    def maxout_pieces(self) -> int:
        return self._net.maxout_pieces

    @property
    def dropout(self) -> list:
        """Dropout probability of each hidden layer in training (zeros when there is none)."""
        return list(self._net.dropout)

    @property
    def dropout_seed(self) -> int:
        """Seed of the dropout masks: the model's ``seed`` (and ``initialize``'s), settable to
        draw other masks with the same weights; a loaded or unpickled model has 0."""
        return self._net.dropout_seed

    @dropout_seed.setter
    def dropout_seed(self, seed) -> None:
        self._net.dropout_seed = check_number(seed, "dropout_seed", low=0, high=2**64 - 1, integer=True)

    @property
    def dropout_step(self) -> int:
        """The training-step counter that picks the next dropout masks: it advances by one with
        every applied update (``train_step``, each batch of ``Trainer.fit``). Settable, to replay
        a step's masks; a loaded or unpickled model starts at 0."""
        return self._net.dropout_step

    @dropout_step.setter
    def dropout_step(self, step) -> None:
        self._net.dropout_step = check_number(step, "dropout_step", low=0, high=2**64 - 1, integer=True)

    def dropout_mask(self, layer: int, X, step=None) -> np.ndarray:
        """The multipliers training step ``step`` (default: the next, :attr:`dropout_step`)
        applies to hidden layer ``layer``'s outputs for the input rows ``X``.

        Each row's mask is drawn from a hash of (:attr:`dropout_seed`, ``step``, ``layer``, the
        row's input values, unit), not of its position: it does not depend on where the row sits
        in the batch or on the other rows, and two equal rows get the same mask (they are the same
        sample, so a row of sample weight 2 trains exactly like the row given twice).

        Parameters
        ----------
        layer : int
            A hidden layer, ``0 .. len(sizes) - 3``.
        X : array-like, shape (n, n_inputs)
            The rows as training receives them (before the model's own input scaling), converted
            like :meth:`forward` converts them.
        step : int, optional
            The training step; default :attr:`dropout_step`.

        Returns
        -------
        ndarray, shape (n, units), the model's dtype
            0 (dropped) or ``1 / (1 - p)`` (kept); all ones for a layer without dropout.

        Raises
        ------
        ValueError
            For a layer that is not hidden, or X with another number of columns.

        Examples
        --------
        >>> net = MLP([2, 8, 3], dropout=0.5, seed=0)
        >>> m = net.dropout_mask(0, [[1.0, 2.0], [0.5, 0.0], [1.0, 2.0]])
        >>> m.shape, bool((m[0] == m[2]).all())
        ((3, 8), True)
        """
        step = self._net.dropout_step if step is None else check_number(step, "step", low=0, integer=True)
        return self._net.dropout_mask(check_number(layer, "layer", integer=True), self._input(X), int(step))

    @property
    def n_inputs(self) -> int:
        return self._io[0]

    @property
    def n_outputs(self) -> int:
        return self._io[1]

    @property
    def n_params(self) -> int:
        return self._net.n_params

    def __repr__(self) -> str:
        acts = self.activations
        act = acts[0] if acts and all(a == acts[0] for a in acts) else acts
        drop = self.dropout
        shown = f", dropout={drop[0] if len(set(drop)) == 1 else drop!r}" if any(drop) else ""
        prec = f", precision={self.precision!r}" if self.precision != "float32" else ""
        return (f"MLP({self.sizes}, activation={act!r}, output={self.output!r}{shown}, "
                f"dtype='{self._dtype.name}'{prec}, n_params={self.n_params})")

    # -- parameters --------------------------------------------------------------------------------
    @property
    def parameters(self) -> np.ndarray:
        """All weights and biases as one live, writable view of the engine's flat buffer
        (shape ``(n_params,)``; layer after layer, ``W`` row-major then ``b``). Writing to it
        changes the model; copy it to keep a snapshot."""
        return self._net.params

    @property
    def gradients(self) -> np.ndarray:
        """Gradient of the last :meth:`loss_and_grad` or :meth:`train_step`, a live view laid out
        like :attr:`parameters`."""
        return self._net.grads

    def _slices(self):
        p = self._net.params
        for w_off, rows, cols, b_off in self._net.layer_slices():
            yield p[w_off:w_off + rows * cols].reshape(rows, cols), p[b_off:b_off + rows]

    def get_weights(self) -> list:
        """Copies of each layer's ``(W, b)``: ``W`` shaped ``(out, in)`` and ``b`` shaped ``(out,)``;
        a maxout layer has one row and one bias per piece, ``(out*k, in)`` and ``(out*k,)``, each
        unit's k pieces adjacent."""
        return [(w.copy(), b.copy()) for w, b in self._slices()]

    def set_weights(self, weights) -> None:
        """Replace all parameters from a list of ``(W, b)`` pairs shaped as :meth:`get_weights`.

        Raises
        ------
        ValueError
            If the number of layers, a shape, or a value (NaN/inf) does not fit.
        """
        weights = list(weights)
        slices = list(self._slices())
        if len(weights) != len(slices):
            raise ValueError(f"weights has {len(weights)} layers, model has {len(slices)}")
        staged = []
        for l, ((w_new, b_new), (w, b)) in enumerate(zip(weights, slices)):
            w_new = np.asarray(w_new, dtype=self._dtype)
            b_new = np.asarray(b_new, dtype=self._dtype)
            if w_new.shape != w.shape:
                raise ValueError(f"layer {l} weight has shape {w_new.shape}, expected {w.shape}")
            if b_new.shape != b.shape:
                raise ValueError(f"layer {l} bias has shape {b_new.shape}, expected {b.shape}")
            if not (np.isfinite(w_new).all() and np.isfinite(b_new).all()):
                raise ValueError(f"layer {l} weights contain NaN or infinity")
            staged.append((w_new, b_new))
        for (w_new, b_new), (w, b) in zip(staged, slices):
            w[...] = w_new
            b[...] = b_new

    def initialize(self, init="he", seed=0, init_scale=0.01) -> None:
        """Draw fresh weights (biases zero) with an initializer; see the class parameters."""
        _choice(init, INITS, "init")
        self._net.initialize(init, check_number(seed, "seed", low=0, integer=True),
                             check_number(init_scale, "init_scale", low=0, low_open=True))

    # -- input scaling and classes -------------------------------------------------------------
    def set_input_scaling(self, mean, scale) -> None:
        """Store a standardisation ``x' = (x - mean) / scale`` (each of shape ``(n_inputs,)``) that
        the model applies to every input, in training and prediction; ``None`` clears it."""
        if mean is None and scale is None:
            self._net.set_input_scaling([], [])
            return
        mean = np.asarray(mean, dtype=np.float64).ravel()
        scale = np.asarray(scale, dtype=np.float64).ravel()
        self._net.set_input_scaling(mean.tolist(), scale.tolist())

    @property
    def input_scaling(self):
        """``(mean, scale)`` arrays of the stored standardisation, or ``None``."""
        mean = self._net.input_mean
        return None if not mean else (np.array(mean), np.array(self._net.input_scale))

    @property
    def weight_penalty(self) -> float:
        """L2 penalty on the weights, not the biases (scikit-learn's ``alpha``); default 0.

        With ``alpha > 0`` the training objective (``loss``, ``loss_and_grad``, ``train_step`` and
        ``Trainer.fit``) is the data loss plus ``alpha / (2 * sum_w) * sum_l ||W_l||^2``, where
        ``sum_w`` is the batch's sum of sample weights (its row count without them); every weight
        gradient gains ``alpha / sum_w * W_l``. Unlike an optimizer's ``weight_decay`` it leaves
        the biases alone and shrinks as batches grow. Kept by ``copy()``; not saved in model
        files or pickles.
        """
        return self._net.weight_penalty

    @weight_penalty.setter
    def weight_penalty(self, alpha) -> None:
        self._net.weight_penalty = check_number(alpha, "weight_penalty", low=0)

    @property
    def classes(self):
        """Class labels stored with the model (an array of ints or strings), or ``None``."""
        labels = self._net.classes
        if not labels:
            return None
        if self._net.classes_kind == "int":
            return np.array([int(c) for c in labels])
        return np.array(labels)

    @classes.setter
    def classes(self, labels) -> None:
        if labels is None:
            self._net.set_classes([], "")
            return
        arr = np.asarray(labels)
        if arr.ndim != 1 or len(np.unique(arr)) != len(arr):
            raise ValueError("classes must be a 1-D sequence of distinct labels")
        kind = "int" if arr.dtype.kind in "iub" else "str"
        self._net.set_classes([str(int(c)) if kind == "int" else str(c) for c in arr.tolist()], kind)

    @property
    def metadata(self) -> dict:
        """Free-form string metadata saved with the model."""
        return dict(self._net.metadata)

    @metadata.setter
    def metadata(self, value: dict) -> None:
        self._net.metadata = {str(k): str(v) for k, v in dict(value).items()}

    # -- inference ---------------------------------------------------------------------------------
    def _input(self, X) -> np.ndarray:
        return as_matrix(X, self._dtype, "X", self.n_inputs)

    def forward(self, X, *, dropout_step=None) -> np.ndarray:
        """Logits for a batch.

        Parameters
        ----------
        X : array-like, shape (n, n_inputs)
            Converted to a C-contiguous array of the model's dtype when it is not one already
            (ints and float64 are converted for a float32 model; strings and objects are refused).
        dropout_step : int, optional
            Logits as training step ``dropout_step`` computes them, each hidden output multiplied
            by that step's :meth:`dropout_mask` for X's rows. By default no unit is dropped
            (inference). No output check is made in this mode.

        Returns
        -------
        ndarray, shape (n, n_outputs), the model's dtype

        Raises
        ------
        ValueError
            Wrong number of columns, no rows, or NaN/inf in X. Also when finite inputs overflow
            inside the network (1e38 in float32, say) so that some logits come out NaN or
            infinite: the message names the first such rows and how many there are, and no
            logits are returned. Scale such inputs (e.g. standardize each feature) first.
            ``predict`` and ``predict_proba`` raise the same error.
        """
        if dropout_step is not None:
            step = check_number(dropout_step, "dropout_step", low=0, high=2**64 - 1, integer=True)
            return self._net.forward_dropout(self._input(X), int(step))
        return self._net.forward(self._input(X))

    __call__ = forward

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities, shape ``(n, n_outputs)``: softmax rows, or independent sigmoids.

        A row's probabilities depend on its logits alone: the same bits on every call.

        Raises
        ------
        ValueError
            For an identity (regression) output, and for the inputs :meth:`forward` refuses,
            including finite inputs that overflow the network (the message names the rows);
            the result never holds NaN.
        """
        if self.output in REGRESSION_OUTPUTS:
            raise ValueError("predict_proba needs output 'softmax' or 'sigmoid'; this model regresses")
        return self._net.predict_proba(self._input(X))

    def predict(self, X) -> np.ndarray:
        """Predictions, shape ``(n,)``: the class label (or index) of the largest probability for
        softmax; for sigmoid, the 0/1 decision per output (``(n,)`` labels when there is one
        output, else ``(n, n_outputs)``); for identity, the outputs (``(n,)`` when single).

        Raises ``ValueError`` for the inputs :meth:`forward` refuses, including finite inputs
        that overflow the network, rather than returning an arbitrary class."""
        out = self.forward(X)
        if self.output == "softmax":
            idx = out.argmax(axis=1)
        elif self.output == "sigmoid":
            idx = (out > 0).astype(np.int64)
            if out.shape[1] != 1:
                return idx
            idx = idx[:, 0]
        else:
            if self.output == "exp":  # the predicted means e^z, by the engine's output transform
                out = self._net.predict_proba(self._input(X))
            return out[:, 0] if out.shape[1] == 1 else out
        classes = self.classes
        return idx if classes is None else classes[idx]

    # -- training ---------------------------------------------------------------------------------
    def _loss(self, loss):
        if loss is None:
            return LOSS_FOR_OUTPUT[self._net.output]
        name = _choice(loss, tuple(LOSSES), "loss")
        needed = _OUTPUT_FOR_LOSS[name]
        if needed != self._net.output:
            raise ValueError(f"loss '{name}' needs output='{needed}', but this model's output is "
                             f"'{self.output}'")
        return name

    def _batch(self, X, y, loss, sample_weight):
        name = self._loss(loss)
        X = as_matrix(X, self._dtype, "X", self._io[0])
        t = as_targets(y, self._dtype, name, self._io[1], X.shape[0])
        return name, X, t, None if sample_weight is None else as_weights(sample_weight, self._dtype, X.shape[0])

    def loss(self, X, y, loss=None, sample_weight=None) -> float:
        """Mean loss on a batch (weighted by ``sample_weight`` when given); no gradient.

        ``y`` is ``(n,)`` integer class indices or ``(n, n_outputs)`` targets; ``loss`` defaults
        to the one matching ``output``.
        """
        name, X, t, w = self._batch(X, y, loss, sample_weight)
        return self._net.loss(X, t, w, name)

    def loss_and_grad(self, X, y, loss=None, sample_weight=None, *, dropout_step=None):
        """Loss on a batch and its gradient with respect to :attr:`parameters`.

        With ``dropout_step`` (an int) the loss and gradient are those of training step
        ``dropout_step``, with its dropout masks (see :meth:`dropout_mask`): a fixed mask, so the
        same step gives the same function of the parameters. By default no unit is dropped.

        Returns
        -------
        (float, ndarray of shape (n_params,))
            The gradient is a copy; :attr:`gradients` is the live buffer.
        """
        name, X, t, w = self._batch(X, y, loss, sample_weight)
        if dropout_step is not None:
            dropout_step = int(check_number(dropout_step, "dropout_step", low=0, high=2**64 - 1, integer=True))
        value = self._net.loss_and_grad(X, t, w, name, dropout_step)
        return value, self._net.grads.copy()

    def train_step(self, X, y, optimizer, loss=None, sample_weight=None) -> float:
        """One training step in a single engine call: forward, loss, backward, update.

        Parameters
        ----------
        X : array-like, shape (n, n_inputs)
        y : array-like, shape (n,) integer class indices, or (n, n_outputs) targets
        optimizer : mlpcore.SGD or mlpcore.Adam
            Its state binds to this network on the first step.
        loss : str, optional
            ``cross_entropy``, ``binary_cross_entropy`` or ``mse``; must match ``output``.
        sample_weight : array-like, shape (n,), optional

        Returns
        -------
        float
            The batch loss before the update.

        Raises
        ------
        ValueError
            Bad shapes, labels out of range, NaN/inf, or a non-finite loss (the parameters are
            then left unchanged).
        """
        name, X, t, w = self._batch(X, y, loss, sample_weight)
        return self._net.train_step(X, t, w, LOSSES[name], optimizer._engine(self._net.dtype))

    # -- targets and evaluation --------------------------------------------------------------------
    def encode_targets(self, y, n_rows: int, loss=None, *, learn_classes: bool = False) -> np.ndarray:
        """``y`` in the engine's form: int32 class indices, shape (n,), for ``cross_entropy``;
        (n, n_outputs) targets in the model's dtype otherwise.

        Class labels (numbers or strings) map through :attr:`classes`. A model without classes
        reads integer labels in ``[0, n_classes)`` as indices; with ``learn_classes`` (what
        ``Trainer.fit`` passes) it stores the labels it sees as its classes, else other labels
        are refused. Nothing else about the model changes.

        Raises
        ------
        ValueError
            Wrong row count, NaN/inf, labels that are not classes, targets of the wrong width.
        """
        name = self._loss(loss)
        arr = np.asarray(y)
        if arr.shape[:1] != (n_rows,):
            raise ValueError(f"y has {arr.shape[0] if arr.ndim else 0} rows but X has {n_rows}")
        if name in REGRESSION_LOSSES or arr.ndim == 2:
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"y must be numeric for loss '{name}', got dtype {arr.dtype}")
            t = np.ascontiguousarray(arr.reshape(n_rows, -1), dtype=self._dtype)
            if t.shape[1] != self.n_outputs:
                raise ValueError(f"y has {t.shape[1]} columns, model has {self.n_outputs} outputs")
            return t
        if arr.ndim != 1:
            raise ValueError(f"y must be 1-D class labels or 2-D targets, got shape {arr.shape}")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError("y contains NaN or infinity")
        n_classes = 2 if name == "binary_cross_entropy" else self.n_outputs
        if name == "binary_cross_entropy" and self.n_outputs != 1:
            raise ValueError(f"1-D labels with binary_cross_entropy need 1 output; the model has {self.n_outputs} "
                             "(pass 0/1 targets of shape (n, outputs) for multi-label)")
        classes = self.classes
        if classes is None:
            if arr.dtype.kind in "iub" and arr.size and arr.min() >= 0 and arr.max() < n_classes:
                classes = np.arange(n_classes)
            elif not learn_classes:
                raise ValueError("y holds labels that are not class indices 0.."
                                 f"{n_classes - 1} and the model has no classes yet: train it first "
                                 "(Trainer.fit stores them) or set net.classes")
            else:
                classes = np.unique(arr)
                if len(classes) != n_classes:
                    raise ValueError(f"y has {len(classes)} distinct classes but the model has {n_classes} "
                                     f"({'1 sigmoid output' if n_classes == 2 and self.n_outputs == 1 else 'outputs'})")
            if learn_classes:
                self.classes = classes
        idx = _positions(arr, classes, "y")
        if name == "binary_cross_entropy":
            return np.ascontiguousarray(idx.reshape(-1, 1), dtype=self._dtype)
        return idx.astype(np.int32)

    def evaluate(self, X, y, sample_weight=None, loss=None) -> dict:
        """Loss and accuracy (R² for regression) on a data set; needs no optimizer and changes
        nothing.

        Parameters
        ----------
        X : array-like, shape (n, n_inputs)
        y : array-like, shape (n,) class labels, or (n, n_outputs) targets
        sample_weight : array-like, shape (n,), optional

        Returns
        -------
        dict
            ``{"loss": float, "accuracy": float}``; ``{"loss": float, "r2": float}`` for mse;
            ``{"loss": float, "deviance": float}`` for poisson, the mean Poisson deviance
            ``2 * mean(y log(y / mu) - y + mu)`` of the predicted means ``mu = e^z`` (over samples
            weighted by ``sample_weight``, and outputs), as ``sklearn.metrics.mean_poisson_deviance``.
        """
        name = self._loss(loss)
        X = as_matrix(X, self._dtype, "X", self._io[0])
        t = self.encode_targets(y, X.shape[0], name)
        w = as_weights(sample_weight, self._dtype, X.shape[0])
        value, metric = self._evaluate_encoded(X, t, w, name, target_statistic(t, w, name))
        return {"loss": value, metric_name(name): metric}

    def _evaluate_encoded(self, X, t, w, loss: str, stat: float):
        """(loss, accuracy, R² or Poisson deviance) for arrays already in the engine's form;
        ``stat`` is :func:`target_statistic` of (t, w)."""
        value, correct, counted = self._evaluate_block(X, t, w, loss)
        if loss in ("mse", "poisson"):
            return value, metric_from_loss(loss, value, stat, t.size)
        return value, correct / counted if counted else float("nan")

    def train_epoch(self, X, t, w, optimizer, *, loss: str, batch_size: int, shuffle: bool, seed: int,
                    epoch: int, should_stop=None, check_finite: bool = True, check_interval: float = 0.005):
        """One epoch in the engine with the GIL released, on arrays in the engine's form (``X``
        C-contiguous in the model's dtype, ``t`` from :meth:`encode_targets`, ``w`` None or (n,)).

        Mini-batches follow the order of (``seed``, ``epoch``) when ``shuffle``. Between batches,
        at most every ``check_interval`` seconds, the loop takes the GIL to run signal handlers
        (Ctrl-C) and ask ``should_stop``. Returns the engine's EpochResult: ``loss``,
        ``correct``, ``counted``, ``stopped``, ``non_finite`` and ``bad_batch``. Most users want
        :class:`mlpcore.Trainer`.
        """
        return self._net.train_epoch(X, t, w, LOSSES[loss], optimizer._engine(self._dtype.name), batch_size,
                                     shuffle, seed, epoch, should_stop, check_finite=check_finite,
                                     check_interval=check_interval)

    # -- data-parallel training (mlpcore.distributed) ----------------------------------------------
    def _validate_epoch(self, X, t, w, loss, batch_size) -> None:
        """The engine's checks of an epoch's inputs (raises ValueError), without training."""
        self._net.validate_epoch(X, t, w, LOSSES[loss], batch_size)

    def _train_epoch_sharded(self, X, t, w, loss, optimizer, batch_size, shuffle, seed, epoch, rank,
                             parts, reducer, should_stop, check_finite):
        """One epoch on part ``rank`` of ``parts`` of each global batch; see
        ``train_epoch_sharded`` in cpp/include/mlpcore/epoch.hpp."""
        return self._net.train_epoch_sharded(X, t, w, LOSSES[loss], optimizer._engine(self._dtype.name), batch_size,
                                             shuffle, seed, epoch, rank, parts, reducer, should_stop, check_finite)

    def _evaluate_block(self, X, t, w, loss):
        """(mean loss, correct, counted) of arrays in the engine's form (see :meth:`train_epoch`)."""
        return self._net.evaluate(X, t, w, loss)

    def _loss_and_grad_block(self, X, t, w, loss, dropout_step=None) -> float:
        """:meth:`loss_and_grad` on arrays in the engine's form (see :meth:`train_epoch`), without
        the conversions; the gradient is left in the live :attr:`gradients` buffer."""
        return self._net.loss_and_grad(X, t, w, loss, dropout_step)

    def _penalty(self, weight_sum: float) -> float:
        """The weight penalty's value at the current weights for a batch of weight sum ``weight_sum``."""
        return self._net.penalty(weight_sum)

    # -- persistence -------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the model file (safetensors-compatible) atomically: the previous file at ``path``
        survives any failure.

        Raises
        ------
        OSError
            If the folder is missing or not writable.
        """
        self._net.save(os.fspath(path))

    def to_bytes(self) -> bytes:
        """The model file's bytes (what :meth:`save` writes), for storing the model elsewhere."""
        return self._net.serialize()

    def copy(self) -> "MLP":
        """An independent copy (parameters, scaling, classes, precision)."""
        return MLP._wrap(self._net.copy())

    def __getstate__(self):
        state = {"model": self._net.serialize()}
        if self.precision != "float32":
            state["precision"] = self.precision
        return state

    def __setstate__(self, state):
        net = _core.deserialize(state["model"])
        self._net = net
        self._dtype = np.dtype(net.dtype)
        self._io = (net.sizes[0], net.sizes[-1])
        if "precision" in state:
            self.precision = state["precision"]

    # -- PyTorch: moved to mlpcore.torch, which alone owns the conversion ----------------------------
    def to_torch(self, output="logits"):
        """Deprecated: use :func:`mlpcore.torch.to_torch` ``(net, output=...)``."""
        return _moved("to_torch")(self, output=output)

    @classmethod
    def from_torch(cls, module, *, output=None) -> "MLP":
        """Deprecated: use :func:`mlpcore.torch.from_torch` ``(module, output=...)``."""
        return _moved("from_torch")(module, output=output)


def _moved(name):
    # Looked up by name at call time: mlpcore.torch imports this module, never the other way.
    import importlib
    import warnings

    warnings.warn(f"MLP.{name} is deprecated; use mlpcore.torch.{name}", DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module("mlpcore.torch"), name)


def load(path) -> MLP:
    """Read a model file written by :meth:`MLP.save` (or by the C++ API).

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        If it is not a valid mlpcore model file (the message says what is wrong).
    """
    return MLP._wrap(_core.load(os.fspath(path)))
