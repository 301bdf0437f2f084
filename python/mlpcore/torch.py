"""PyTorch round trip (needs the optional extra: ``pip install mlpcore[torch]``).

:func:`to_torch` builds a ``torch.nn.Sequential`` computing the same function as an
:class:`mlpcore.MLP`, numbered like the model file: ``Linear`` modules at even indices (so the
state dict's names are the file's tensor names, ``0.weight``, ``0.bias``, ``2.weight``, ...),
activation modules at odd indices. :func:`from_torch` reads such a ``Sequential`` back.

Importing :mod:`mlpcore` never imports torch; this module does (``import torch`` below is the
top-level PyTorch package, not this module).
"""
from __future__ import annotations

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("mlpcore.torch needs PyTorch; install it with `pip install mlpcore[torch]`") from exc

from .model import MLP, REGRESSION_OUTPUTS

__all__ = ["Maxout", "StandardizedLinear", "from_torch", "to_torch"]

_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class Maxout(torch.nn.Module):
    """Maxout over groups of ``pieces`` adjacent features: ``(..., units*k) -> (..., units)``,
    each output the largest of its unit's k pieces (mlpcore's layout: unit j's pieces are
    features ``j*k .. j*k+k-1``). Put it after a ``Linear(in, units*k)``. No parameters.

    Parameters
    ----------
    pieces : int >= 2
    """

    def __init__(self, pieces: int = 2):
        super().__init__()
        if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 2:
            raise ValueError(f"pieces must be an int >= 2, got {pieces!r}")
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.pieces:
            raise ValueError(f"Maxout with {self.pieces} pieces needs a last dimension divisible by "
                             f"{self.pieces}, got {x.shape[-1]}")
        return x.unflatten(-1, (-1, self.pieces)).amax(dim=-1)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


class StandardizedLinear(torch.nn.Linear):
    """A ``Linear`` layer that first standardises its input as mlpcore's engine does,
    ``(x - mean) * (1/scale)``, then computes ``x @ W.T + b``.

    ``mean`` and ``scale`` (shape ``(in_features,)``) are kept in float64 as non-persistent
    buffers: they are part of the module (``copy.deepcopy``, ``torch.save(module)``) but not of
    its state dict, whose names stay ``weight`` and ``bias``. They are fixed, not trained.
    """

    def __init__(self, in_features: int, out_features: int, mean, scale, bias: bool = True,
                 device=None, dtype=None):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        mean = torch.as_tensor(np.asarray(mean, dtype=np.float64), device=device)
        scale = torch.as_tensor(np.asarray(scale, dtype=np.float64), device=device)
        if mean.shape != (in_features,) or scale.shape != (in_features,):
            raise ValueError(f"mean and scale must have shape ({in_features},), got {tuple(mean.shape)} "
                             f"and {tuple(scale.shape)}")
        if not (torch.isfinite(mean).all() and torch.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("mean must be finite and scale finite and > 0")
        self.register_buffer("input_mean", mean, persistent=False)
        self.register_buffer("input_scale", scale, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The reciprocal in the buffers' precision, then rounded to x's dtype: the engine's steps.
        inv_scale = (1.0 / self.input_scale).to(x.dtype)
        return super().forward((x - self.input_mean.to(x.dtype)) * inv_scale)

    def extra_repr(self) -> str:
        return super().extra_repr() + ", standardized input"


def _activation_module(name: str, net: MLP) -> torch.nn.Module:
    if name == "leaky_relu":
        return torch.nn.LeakyReLU(net.leaky_relu_slope)
    if name == "elu":
        return torch.nn.ELU(net.elu_alpha)
    if name == "maxout":
        return Maxout(net.maxout_pieces)
    return {"identity": torch.nn.Identity, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
            "relu": torch.nn.ReLU}[name]()


def to_torch(net: MLP, output: str = "logits", *, dropout: bool = False) -> torch.nn.Sequential:
    """A ``torch.nn.Sequential`` computing the same function as ``net``, with copies of its
    parameters, in its dtype (float32 or float64), on the CPU.

    Module ``2*l`` is layer ``l``'s ``torch.nn.Linear`` (a :class:`StandardizedLinear` for layer
    0 when the model has input scaling), module ``2*l+1`` its activation (``Identity``,
    ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU(slope)``, ``ELU(alpha)`` or :class:`Maxout`
    after a ``Linear(in, units*k)``). The state dict therefore has the model file's tensor
    names and loads from it with ``load_state_dict``.

    Parameters
    ----------
    net : mlpcore.MLP
    output : {"logits", "probabilities"}, default "logits"
        ``"probabilities"`` appends ``Softmax(dim=-1)`` (output ``softmax``) or ``Sigmoid``
        (output ``sigmoid``), so the module returns what :meth:`MLP.predict_proba` returns.
    dropout : bool, default False
        By default the export is the inference network: no dropout modules, as ``predict``
        computes. With True, module ``2*l+1`` of a hidden layer that drops is
        ``Sequential(activation, Dropout(p))``: active in ``train()`` mode, the identity in
        ``eval()``; the state dict's names do not change.

    Returns
    -------
    torch.nn.Sequential
        Either way its attribute ``mlpcore_dropout`` holds :attr:`MLP.dropout` (one probability
        per hidden layer), which :func:`from_torch` reads back when the module has no ``Dropout``.

    Raises
    ------
    ValueError
        For an unknown ``output``, or ``"probabilities"`` on a regression model.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an mlpcore.MLP, got {type(net).__name__}")
    if output not in ("logits", "probabilities"):
        raise ValueError(f"unknown output {output!r}; expected 'logits' or 'probabilities'")
    if output == "probabilities" and net.output in REGRESSION_OUTPUTS:
        raise ValueError("output='probabilities' needs a model whose output is 'softmax' or 'sigmoid'; "
                         "this model regresses (use output='logits')")
    dtype = _TORCH_DTYPES[net.dtype.name]
    weights, activations, scaling = net.get_weights(), net.activations, net.input_scaling
    modules = []
    for layer, (W, b) in enumerate(weights):
        rows, cols = W.shape
        if layer == 0 and scaling is not None:
            linear = StandardizedLinear(cols, rows, scaling[0], scaling[1], dtype=dtype)
        else:
            linear = torch.nn.Linear(cols, rows, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if layer < len(activations):
            act = _activation_module(activations[layer], net)
            if dropout and net.dropout[layer] > 0:
                act = torch.nn.Sequential(act, torch.nn.Dropout(net.dropout[layer]))
            modules.append(act)
    if output == "probabilities":
        modules.append(torch.nn.Softmax(dim=-1) if net.output == "softmax" else torch.nn.Sigmoid())
    seq = torch.nn.Sequential(*modules)
    seq.mlpcore_dropout = list(net.dropout)
    return seq


# -- reading a Sequential back ------------------------------------------------------------------
_SIMPLE = {torch.nn.Identity: "identity", torch.nn.Sigmoid: "sigmoid", torch.nn.Tanh: "tanh",
           torch.nn.ReLU: "relu"}


def _describe(position: int, key: str, module) -> str:
    where = f"module {position}" if key == str(position) else f"module {position} ({key!r})"
    return f"{where}, {type(module).__name__}"


def _same(kind: str, seen: dict, value, position: int, key: str, module) -> None:
    """The engine has one leaky ReLU slope, one ELU alpha and one maxout piece count per model."""
    first = seen.setdefault(kind, (value, position))
    if first[0] != value:
        raise ValueError(f"{_describe(position, key, module)}: {kind} is {value} but module {first[1]} uses "
                         f"{first[0]}; mlpcore models have one {kind} for all layers")


def _hidden_slot(items, position: int, seen: dict):
    """(activation name, dropout p, modules used) for what sits between two Linear layers: an
    activation, an activation then ``Dropout``, ``Sequential(activation, Dropout)`` (what
    :func:`to_torch` builds with ``dropout=True``), or a lone ``Dropout`` (identity activation)."""
    def rate(at, dropout):
        if not 0 <= dropout.p < 1:
            raise ValueError(f"{_describe(at, items[at][0], dropout)}: mlpcore's dropout needs p in [0, 1), "
                             f"got {dropout.p}")
        return float(dropout.p)

    key, module = items[position]
    if type(module) is torch.nn.Dropout:
        return "identity", rate(position, module), 1
    inner = list(module._modules.items()) if type(module) is torch.nn.Sequential else None
    if inner is not None and len(inner) == 2 and type(inner[1][1]) is torch.nn.Dropout:
        name = _hidden_activation(inner[0][1], position, key, seen)
        if name is not None:
            return name, rate(position, inner[1][1]), 1
    name = _hidden_activation(module, position, key, seen)
    if name is None:
        raise ValueError(f"{_describe(position, key, module)} is not a supported activation; "
                         f"supported: {_SUPPORTED}")
    if position + 1 < len(items) and type(items[position + 1][1]) is torch.nn.Dropout:
        return name, rate(position + 1, items[position + 1][1]), 2
    return name, 0.0, 1


def _hidden_activation(module, position: int, key: str, seen: dict):
    """The activation name of a module between two Linear layers, or None if unsupported."""
    for cls, name in _SIMPLE.items():
        if type(module) is cls:
            return name
    if type(module) is torch.nn.LeakyReLU:
        slope = float(module.negative_slope)
        if not 0 < slope < 1:
            raise ValueError(f"{_describe(position, key, module)}: negative_slope must be in (0, 1), got {slope}")
        _same("leaky_relu_slope", seen, slope, position, key, module)
        return "leaky_relu"
    if type(module) is torch.nn.ELU:
        alpha = float(module.alpha)
        if not alpha > 0:
            raise ValueError(f"{_describe(position, key, module)}: alpha must be > 0, got {alpha}")
        _same("elu_alpha", seen, alpha, position, key, module)
        return "elu"
    if type(module) is Maxout:
        if module.pieces > 64:
            raise ValueError(f"{_describe(position, key, module)}: mlpcore supports 2 to 64 maxout pieces, "
                             f"got {module.pieces}")
        _same("maxout_pieces", seen, module.pieces, position, key, module)
        return "maxout"
    return None


_SUPPORTED = ("Linear layers separated by one activation each (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, "
              "ELU, mlpcore.torch.Maxout), each optionally followed by Dropout, optionally ending with "
              "Softmax(dim=-1) or Sigmoid")


def _output_kind(module, position: int, key: str):
    if type(module) is torch.nn.Softmax:
        if module.dim not in (-1, 1):
            raise ValueError(f"{_describe(position, key, module)}: a trailing Softmax must act on the last "
                             f"dimension (dim=-1 or 1), got dim={module.dim}")
        return "softmax"
    if type(module) is torch.nn.Sigmoid:
        return "sigmoid"
    return None


def from_torch(module, *, output: str | None = None) -> MLP:
    """An :class:`mlpcore.MLP` with the architecture and parameters of a ``torch.nn.Sequential``.

    The ``Sequential`` must be ``Linear, activation, Linear, ..., Linear`` with an optional
    trailing ``Softmax(dim=-1)`` or ``Sigmoid`` that gives the output kind. Activations:
    ``Identity``, ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU`` (one slope in (0, 1) for all
    layers), ``ELU`` (one alpha > 0), :class:`Maxout` (one piece count, 2 to 64; the ``Linear``
    before it has ``units*k`` outputs). The first ``Linear`` may be a :class:`StandardizedLinear`,
    whose mean and scale become :attr:`MLP.input_scaling`. A ``Linear`` without bias gets zero
    biases. The dtype (float32 or float64) is that of the parameters. A ``Dropout(p)`` after a
    hidden activation (or alone, for an identity activation, or with it in a two-module
    ``Sequential``) sets that layer's :attr:`MLP.dropout` to ``p``; without any, the module's
    ``mlpcore_dropout`` attribute (see :func:`to_torch`) is used when present.

    Parameters
    ----------
    module : torch.nn.Sequential
    output : {"softmax", "sigmoid", "identity"}, optional
        The model's output kind. Defaults to the trailing module's kind, else ``"softmax"``
        (what a ``Sequential`` ending in a ``Linear`` means is not recorded in it: pass
        ``"identity"`` for a regressor and ``"sigmoid"`` for independent binary outputs).

    Returns
    -------
    mlpcore.MLP

    Raises
    ------
    TypeError
        If ``module`` is not a ``torch.nn.Sequential``.
    ValueError
        For an unsupported or misplaced module (the message names its index and type), widths
        that do not chain, inconsistent activation parameters, parameters that are not float32
        or float64 (or mix them), non-finite parameters, or an ``output`` contradicting the
        trailing module.
    """
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"from_torch needs a torch.nn.Sequential of {_SUPPORTED}; got {type(module).__name__}")
    if output is not None and output not in ("softmax", "sigmoid", "identity"):
        raise ValueError(f"unknown output {output!r}; expected 'softmax', 'sigmoid' or 'identity'")
    items = list(module._modules.items())
    if not items:
        raise ValueError("the Sequential is empty; expected " + _SUPPORTED)
    linears, activations, rates, seen = [], [], [], {}
    trailing = None
    position = 0
    while position < len(items):
        key, child = items[position]
        if type(child) not in (torch.nn.Linear, StandardizedLinear):
            if position == 0:
                raise ValueError(f"{_describe(position, key, child)}: the first module must be a Linear layer; "
                                 f"supported: {_SUPPORTED}")
            raise ValueError(f"{_describe(position, key, child)} is not supported here: expected a Linear "
                             f"layer; supported: {_SUPPORTED}")
        if type(child) is StandardizedLinear and position != 0:
            raise ValueError(f"{_describe(position, key, child)}: only the first layer may standardise its input")
        linears.append((position, key, child))
        if position + 1 == len(items):
            break
        key, nxt = items[position + 1]
        if type(nxt) in (torch.nn.Linear, StandardizedLinear):
            raise ValueError(f"{_describe(position + 1, key, nxt)} follows a Linear layer directly; put an "
                             "activation between them (torch.nn.Identity() for none)")
        if position + 2 == len(items):  # after the last Linear: only an output module
            trailing = _output_kind(nxt, position + 1, key)
            if trailing is None:
                raise ValueError(f"{_describe(position + 1, key, nxt)} is not supported after the last Linear "
                                 "layer: mlpcore's last layer is linear; only a trailing Softmax(dim=-1) or "
                                 "Sigmoid is allowed (it sets the output kind)")
            break
        name, rate, step = _hidden_slot(items, position + 1, seen)
        activations.append(name)
        rates.append(rate)
        position += 1 + step

    if output is not None and trailing is not None and output != trailing:
        raise ValueError(f"output={output!r} contradicts the trailing {type(items[-1][1]).__name__} "
                         f"(output {trailing!r})")
    kind = output or trailing or "softmax"

    dtypes = {p.dtype for _, _, lin in linears for p in lin.parameters()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in _DTYPES:
        raise ValueError("the Linear layers' parameters must all be float32 or all float64, got "
                         + ", ".join(sorted(str(d) for d in dtypes)))
    dtype = _DTYPES[next(iter(dtypes))]

    pieces = seen.get("maxout_pieces", (2, None))[0]
    sizes = [linears[0][2].in_features]
    weights = []
    for layer, (position, key, lin) in enumerate(linears):
        if lin.in_features != sizes[-1]:
            raise ValueError(f"{_describe(position, key, lin)} has in_features={lin.in_features} but the layer "
                             f"before it outputs {sizes[-1]}")
        units = lin.out_features
        if layer < len(activations) and activations[layer] == "maxout":
            if units % pieces:
                raise ValueError(f"{_describe(position, key, lin)} has out_features={units}, which is not a "
                                 f"multiple of the following Maxout's {pieces} pieces")
            units //= pieces
        sizes.append(units)
        W = lin.weight.detach().cpu().numpy()
        b = np.zeros(lin.out_features, dtype=W.dtype) if lin.bias is None else lin.bias.detach().cpu().numpy()
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError(f"{_describe(position, key, lin)} has NaN or infinite parameters")
        weights.append((W, b))

    kept = getattr(module, "mlpcore_dropout", None)  # what to_torch records when it builds no Dropout
    if not any(rates) and isinstance(kept, (list, tuple)) and len(kept) == len(rates):
        rates = list(kept)
    net = MLP(sizes, activation=activations, dtype=dtype, output=kind, init="xavier",
              leaky_relu_slope=seen.get("leaky_relu_slope", (0.1,))[0],
              elu_alpha=seen.get("elu_alpha", (1.0,))[0], maxout_pieces=pieces, dropout=rates)
    net.set_weights(weights)
    first = linears[0][2]
    if type(first) is StandardizedLinear:
        net.set_input_scaling(first.input_mean.detach().cpu().double().numpy(),
                              first.input_scale.detach().cpu().double().numpy())
    return net
