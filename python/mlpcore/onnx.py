"""Export an :class:`mlpcore.MLP` to ONNX (needs the optional extra: ``pip install mlpcore[onnx]``).

The graph computes what the engine computes, in the model's dtype: the stored input
standardisation, one ``Gemm`` per layer (initializers named like the model file's tensors,
``0.weight``, ``0.bias``, ``2.weight``, ...), each hidden layer's activation, and optionally a
``Softmax`` or ``Sigmoid`` on the logits. The batch dimension is dynamic.
"""
from __future__ import annotations

import json
import struct

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("mlpcore.onnx needs the 'onnx' package; install it with "
                      "`pip install mlpcore[onnx]`") from exc

from ._files import atomic_write
from .model import MLP, REGRESSION_OUTPUTS

__all__ = ["export", "to_onnx", "MIN_OPSET"]

MIN_OPSET = 13  # Softmax's axis semantics and the operator versions used here
OUTPUTS = ("logits", "probabilities")
_ELEM = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}


class _Graph:
    """Nodes and initializers under construction; every value gets a unique, readable name."""

    def __init__(self, dtype: np.dtype, opset: int):
        self.dtype, self.opset = dtype, opset
        self.nodes, self.initializers = [], []

    def const(self, name: str, value, dtype=None) -> str:
        arr = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, inputs, output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output, **attrs))
        return output

    def activation(self, name: str, z: str, prefix: str, net: MLP, units_out: int) -> str:
        out = f"{prefix}.out"
        double = self.dtype == np.float64
        if name == "identity":
            return self.node("Identity", [z], out)
        if name in ("sigmoid", "tanh", "relu"):
            return self.node({"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}[name], [z], out)
        if name == "leaky_relu":
            if not double:
                return self.node("LeakyRelu", [z], out, alpha=float(net.leaky_relu_slope))
            # ONNX attributes are float32: keep the slope in double as max(slope*z, z), the
            # engine's own formula (exact for 0 < slope < 1).
            slope = self.const(f"{prefix}.slope", net.leaky_relu_slope)
            return self.node("Max", [z, self.node("Mul", [z, slope], f"{prefix}.scaled")], out)
        if name == "elu":
            if not double:
                return self.node("Elu", [z], out, alpha=float(net.elu_alpha))
            # ONNX Runtime has no double Elu kernel, and the attribute would round alpha to
            # float32: z if z > 0 else alpha*(exp(min(z, 0)) - 1), in double throughout.
            zero, one = self.const(f"{prefix}.zero", 0.0), self.const(f"{prefix}.one", 1.0)
            alpha = self.const(f"{prefix}.alpha", net.elu_alpha)
            e = self.node("Exp", [self.node("Min", [z, zero], f"{prefix}.neg")], f"{prefix}.exp")
            neg = self.node("Mul", [self.node("Sub", [e, one], f"{prefix}.expm1"), alpha], f"{prefix}.elu_neg")
            return self.node("Where", [self.node("Greater", [z, zero], f"{prefix}.pos"), z, neg], out)
        if name == "maxout":
            # (n, units*k) -> (n, units, k), each unit's k pieces adjacent -> max over the pieces.
            k, units = net.maxout_pieces, units_out
            shape = self.const(f"{prefix}.shape", [0, units, k], np.int64)  # 0: keep the batch size
            pieces = self.node("Reshape", [z, shape], f"{prefix}.pieces")
            if self.opset < 18:  # axes became an input in opset 18
                return self.node("ReduceMax", [pieces], out, axes=[2], keepdims=0)
            axes = self.const(f"{prefix}.axes", [2], np.int64)
            return self.node("ReduceMax", [pieces, axes], out, keepdims=0)
        raise ValueError(f"activation {name!r} has no ONNX form")  # unreachable for engine models


def _file_metadata(net: MLP) -> dict:
    """The model file's ``__metadata__`` (architecture, classes, scaling, user metadata), read from
    the engine's own serialisation so the two formats describe a model with the same strings."""
    blob = net.to_bytes()
    (header_len,) = struct.unpack("<Q", blob[:8])
    return dict(json.loads(blob[8:8 + header_len])["__metadata__"])


def _check_options(net, opset, output, input_name, output_name):
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an mlpcore.MLP, got {type(net).__name__}")
    latest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= latest:
        raise ValueError(f"opset must be an int in [{MIN_OPSET}, {latest}] (this onnx package's newest), "
                         f"got {opset!r}")
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}; expected 'logits' or 'probabilities'")
    if output == "probabilities" and net.output in REGRESSION_OUTPUTS:
        raise ValueError("output='probabilities' needs a model whose output is 'softmax' or 'sigmoid'; "
                         "this model regresses (use output='logits')")
    for label, name in (("input_name", input_name), ("output_name", output_name)):
        if not isinstance(name, str) or not name:
            raise ValueError(f"{label} must be a non-empty string, got {name!r}")
    if input_name == output_name:
        raise ValueError(f"input_name and output_name must differ, both are {input_name!r}")


def to_onnx(net: MLP, *, opset: int = 17, output: str = "logits", fold_input_scaling: bool = False,
            input_name: str = "input", output_name: str | None = None):
    """Build an ONNX model computing ``net``'s logits or probabilities.

    Parameters
    ----------
    net : mlpcore.MLP
    opset : int, default 17
        ONNX opset of the default domain, from 13 to the installed onnx package's newest.
    output : {"logits", "probabilities"}, default "logits"
        ``"logits"`` returns what :meth:`MLP.forward` returns; ``"probabilities"`` appends a
        ``Softmax`` over the last axis (output ``softmax``) or a ``Sigmoid`` (output ``sigmoid``),
        matching :meth:`MLP.predict_proba`.
    fold_input_scaling : bool, default False
        With stored input scaling (:attr:`MLP.input_scaling`), the graph standardises its input as
        the engine does, ``(x - mean) * (1/scale)`` (``Sub`` then ``Mul``). ``True`` folds it into
        the first layer instead (``W' = W / scale``, ``b' = b - W' @ mean``, computed in float64):
        one ``Gemm`` fewer, equal up to rounding. Either way the graph takes raw inputs.
    input_name : str, default "input"
    output_name : str, optional
        Defaults to the value of ``output``.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model(full_check=True)``. Input ``(batch, n_inputs)``
        and output ``(batch, n_outputs)`` in the model's dtype (float32 -> ``tensor(float)``,
        float64 -> ``tensor(double)``); ``batch`` is dynamic. ``metadata_props`` holds the model
        file's metadata (``sizes``, ``activations``, ``output``, ``classes``, ``classes_kind``,
        ``input_mean``, ``input_scale``, ``dtype``, ... and :attr:`MLP.metadata`) plus
        ``onnx_output`` (the value of ``output``).

    Raises
    ------
    TypeError
        If ``net`` is not an :class:`mlpcore.MLP`.
    ValueError
        For an unknown option, ``output="probabilities"`` on a regression model, non-finite
        parameters, or user metadata using the key ``onnx_output``.

    Notes
    -----
    Float32 models use the ``LeakyRelu`` and ``Elu`` operators. ONNX stores their ``alpha`` as a
    float32 attribute and ONNX Runtime has no double ``Elu`` kernel, so float64 models spell them
    with elementwise operators in double: ``Max(z, slope*z)`` and
    ``Where(z > 0, z, alpha*(Exp(Min(z, 0)) - 1))``. Maxout is ``Reshape`` to
    ``(batch, units, k)`` then ``ReduceMax`` over the pieces (its ``axes`` is an attribute before
    opset 18 and an input from 18 on).
    """
    output_name = output if output_name is None else output_name
    _check_options(net, opset, output, input_name, output_name)
    opset = int(opset)
    meta = _file_metadata(net)  # also refuses NaN/inf parameters
    if "onnx_output" in meta:
        raise ValueError("metadata key 'onnx_output' is reserved for the ONNX export")
    meta["onnx_output"] = output

    dtype = net.dtype
    g = _Graph(dtype, opset)
    weights = net.get_weights()
    x = input_name
    scaling = net.input_scaling
    if scaling is not None:
        mean, scale = scaling  # float64, as stored
        if fold_input_scaling:
            W0 = weights[0][0].astype(np.float64) / scale
            b0 = weights[0][1].astype(np.float64) - W0 @ mean
            weights[0] = (W0.astype(dtype), b0.astype(dtype))
        else:
            # The engine's arithmetic: subtract mean (in the model's dtype), multiply by the
            # reciprocal of scale computed in double then rounded to the model's dtype.
            centred = g.node("Sub", [x, g.const("input_mean", mean)], "input.centred")
            x = g.node("Mul", [centred, g.const("input_inv_scale", 1.0 / scale)], "input.scaled")
    activations = net.activations
    for layer, (W, b) in enumerate(weights):
        index = 2 * layer  # the model file's (torch.nn.Sequential's) numbering
        W_name, b_name = g.const(f"{index}.weight", W), g.const(f"{index}.bias", b)
        if layer == len(weights) - 1:
            logits = output_name if output == "logits" else f"{index}.linear"
            x = g.node("Gemm", [x, W_name, b_name], logits, transB=1)
        else:
            z = g.node("Gemm", [x, W_name, b_name], f"{index}.linear", transB=1)
            x = g.activation(activations[layer], z, f"{index + 1}", net, net.sizes[layer + 1])
    if output == "probabilities":
        if net.output == "softmax":
            g.node("Softmax", [x], output_name, axis=-1)
        else:
            g.node("Sigmoid", [x], output_name)
    internal = {n.name for n in g.initializers} | {o for n in g.nodes for o in n.output} - {output_name}
    for label, name in (("input_name", input_name), ("output_name", output_name)):
        if name in internal:
            raise ValueError(f"{label} {name!r} is taken by a value inside the graph; choose another name")

    elem = _ELEM[dtype.name]
    graph = helper.make_graph(
        g.nodes, "mlpcore_mlp",
        [helper.make_tensor_value_info(input_name, elem, ["batch", net.n_inputs])],
        [helper.make_tensor_value_info(output_name, elem, ["batch", net.n_outputs])],
        initializer=g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    from . import __version__

    model = helper.make_model(graph, opset_imports=opsets, producer_name="mlpcore",
                              producer_version=__version__,
                              doc_string=f"mlpcore MLP {net.sizes}, activations {activations}, "
                                         f"output {net.output}; returns {output}")
    model.ir_version = helper.find_min_ir_version_for(opsets)  # the oldest IR that can hold it
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model, full_check=True)
    return model


def export(net: MLP, path, *, opset: int = 17, output: str = "logits", fold_input_scaling: bool = False,
           input_name: str = "input", output_name: str | None = None) -> None:
    """Write ``net`` as an ONNX file, atomically: any failure leaves an existing file untouched.

    The options are those of :func:`to_onnx`.

    Raises
    ------
    TypeError, ValueError
        As :func:`to_onnx` (nothing is written).
    OSError
        If the folder is missing or not writable.

    Examples
    --------
    >>> import mlpcore, mlpcore.onnx
    >>> net = mlpcore.MLP([4, 8, 3], activation="tanh")
    >>> mlpcore.onnx.export(net, "net.onnx", output="probabilities")  # doctest: +SKIP
    """
    model = to_onnx(net, opset=opset, output=output, fold_input_scaling=fold_input_scaling,
                    input_name=input_name, output_name=output_name)
    with atomic_write(path, "wb") as f:
        f.write(model.SerializeToString())
