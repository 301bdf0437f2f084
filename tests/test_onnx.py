"""ONNX export, checked by running the exported graph in ONNX Runtime.

For every activation (and a network mixing all of them), every output kind, float32 and float64,
with input scaling stored in the model, mlpcore, ONNX Runtime and PyTorch (``to_torch``) must
give the same probabilities (the outputs, for regression) on 1,000 inputs, within 1e-5, and all
three must match a float64 NumPy forward pass (tests/reference.py) of the same weights.

Tolerance. The three float32 computations differ only in summation order and in the libraries'
exp/tanh: a few float32 ulps of the logits (|logits| ~ 1-10, ulp ~ 1e-7-1e-6). The observed worst
case is ~1e-6 for logits and ~3e-7 for probabilities, float64 ~1e-14. A wrong weight layout,
a missing input scaling, a maxout grouping by the wrong axis or a wrong slope changes the outputs
by 1e-2 or more.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import mlpcore
import mlpcore.onnx
import mlpcore.torch
import reference as ref
from netcases import ALPHA, CASES, K, N, SLOPE, make_net
from netcases import raw_inputs as inputs

ATOL = 1e-5
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def session(model_or_path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    source = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else str(model_or_path)
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


def run(model_or_path, X):
    sess = session(model_or_path)
    return sess.run(None, {sess.get_inputs()[0].name: X})[0]


def reference_outputs(net, X, probabilities):
    """A float64 NumPy forward pass with the model's weights: standardise, layers, output."""
    mean, scale = net.input_scaling
    Xs = (X.astype(np.float64) - mean) / scale
    weights = [(W.astype(np.float64), b.astype(np.float64)) for W, b in net.get_weights()]
    Z, _ = ref.forward(weights, Xs, net.activations, SLOPE, ALPHA, K)
    if not probabilities or net.output == "identity":
        return Z
    if net.output == "sigmoid":
        return 1.0 / (1.0 + np.exp(-Z))
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
@pytest.mark.parametrize("case", CASES)
def test_mlpcore_onnxruntime_and_torch_agree(case, output, dtype, tmp_path):
    net = make_net(case, output, dtype)
    X = inputs(net)
    kind = "logits" if output == "identity" else "probabilities"
    path = tmp_path / "net.onnx"
    mlpcore.onnx.export(net, path, output=kind)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)

    ours = net.forward(X) if output == "identity" else net.predict_proba(X)
    theirs = run(path, X)
    with torch.no_grad():
        torch_out = mlpcore.torch.to_torch(net, output=kind)(torch.from_numpy(X)).numpy()
    assert theirs.dtype == ours.dtype == torch_out.dtype == np.dtype(dtype)
    assert theirs.shape == ours.shape == (N, 4)
    assert np.abs(theirs - ours).max() <= ATOL
    assert np.abs(torch_out - ours).max() <= ATOL
    # The independent oracle, in float64; float32 logits are allowed their float32 rounding.
    expected = reference_outputs(net, X, kind == "probabilities")
    tol = ATOL if dtype == "float64" or kind == "probabilities" else 1e-5 * max(1.0, np.abs(expected).max())
    assert np.abs(ours - expected).max() <= tol
    # The logits graph agrees too (classification models).
    if kind == "probabilities":
        logits = run(mlpcore.onnx.to_onnx(net, output="logits"), X)
        assert np.abs(logits - net.forward(X)).max() <= ATOL * max(1.0, np.abs(logits).max())


def op_types(model):
    return [n.op_type for n in model.graph.node]


def attribute(node, name):
    return onnx.helper.get_attribute_value(next(a for a in node.attribute if a.name == name))


def test_float32_graph_uses_the_named_operators():
    net = make_net("mixed")
    model = mlpcore.onnx.to_onnx(net, output="probabilities")
    ops = op_types(model)
    assert ops[:2] == ["Sub", "Mul"]  # input standardisation, the engine's (x - mean) * (1/scale)
    assert ops.count("Gemm") == 8 and ops[-1] == "Softmax"
    for op in ("Sigmoid", "Tanh", "Relu", "LeakyRelu", "Elu", "Identity", "Reshape", "ReduceMax"):
        assert op in ops
    nodes = {n.op_type: n for n in model.graph.node}
    assert attribute(nodes["LeakyRelu"], "alpha") == pytest.approx(SLOPE, rel=1e-7)
    assert attribute(nodes["Elu"], "alpha") == pytest.approx(ALPHA, rel=1e-7)
    assert attribute(nodes["ReduceMax"], "axes") == [2]  # an attribute before opset 18
    assert attribute(nodes["ReduceMax"], "keepdims") == 0
    assert attribute(nodes["Softmax"], "axis") == -1
    gemms = [n for n in model.graph.node if n.op_type == "Gemm"]
    assert all(attribute(n, "transB") == 1 for n in gemms)
    # Initializers carry the model file's tensor names and the engine's values.
    init = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for layer, (W, b) in enumerate(net.get_weights()):
        assert np.array_equal(init[f"{2 * layer}.weight"], W)
        assert np.array_equal(init[f"{2 * layer}.bias"], b)
    mean, scale = net.input_scaling
    assert np.array_equal(init["input_mean"], mean.astype(np.float32))
    assert np.array_equal(init["input_inv_scale"], (1.0 / scale).astype(np.float32))


def test_float64_graph_keeps_activation_parameters_in_double():
    model = mlpcore.onnx.to_onnx(make_net("mixed", dtype="float64"))
    ops = op_types(model)
    assert "LeakyRelu" not in ops and "Elu" not in ops  # float32 attributes; no double Elu kernel
    assert {"Max", "Where", "Exp", "Min"} <= set(ops)
    init = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    slopes = [v for name, v in init.items() if name.endswith(".slope")]
    alphas = [v for name, v in init.items() if name.endswith(".alpha")]
    assert slopes == [np.float64(SLOPE)] and alphas == [np.float64(ALPHA)]
    assert all(t.data_type == onnx.TensorProto.DOUBLE for t in model.graph.initializer
               if not t.name.endswith((".shape", ".axes")))


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_opsets(opset, dtype):
    net = make_net("mixed", dtype=dtype)
    model = mlpcore.onnx.to_onnx(net, opset=opset, output="probabilities")
    assert [(o.domain, o.version) for o in model.opset_import] == [("", opset)]
    assert model.ir_version == onnx.helper.find_min_ir_version_for([onnx.helper.make_opsetid("", opset)])
    reduce_max = next(n for n in model.graph.node if n.op_type == "ReduceMax")
    if opset < 18:
        assert len(reduce_max.input) == 1 and attribute(reduce_max, "axes") == [2]
    else:
        assert len(reduce_max.input) == 2 and all(a.name != "axes" for a in reduce_max.attribute)
    X = inputs(net)
    assert np.abs(run(model, X) - net.predict_proba(X)).max() <= ATOL


def test_dynamic_batch_dimension():
    net = make_net("maxout")
    model = mlpcore.onnx.to_onnx(net)
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and not dims[0].HasField("dim_value")
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 6
    assert model.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 4
    sess = session(model)
    for n in (1, 7, 1000):
        X = inputs(net, n, seed=n)
        (got,) = sess.run(None, {"input": X})
        assert got.shape == (n, 4)
        assert np.abs(got - net.forward(X)).max() <= ATOL
    assert sess.run(None, {"input": np.zeros((0, 6), np.float32)})[0].shape == (0, 4)  # an empty batch


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_hidden_layer_and_a_single_output(dtype):
    net = mlpcore.MLP([6, 1], output="sigmoid", dtype=dtype, seed=2)
    net.set_input_scaling(np.arange(6.0), np.arange(1.0, 7.0))
    model = mlpcore.onnx.to_onnx(net, output="probabilities")
    assert op_types(model) == ["Sub", "Mul", "Gemm", "Sigmoid"]
    X = inputs(net)
    got = run(model, X)
    assert got.shape == (N, 1)
    assert np.abs(got - net.predict_proba(X)).max() <= ATOL
    assert np.abs(got - reference_outputs(net, X, True)).max() <= ATOL


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_folded_input_scaling(dtype):
    net = make_net("mixed", dtype=dtype)
    model = mlpcore.onnx.to_onnx(net, output="probabilities", fold_input_scaling=True)
    consumers = [n.op_type for n in model.graph.node if "input" in n.input]
    assert consumers == ["Gemm"] and model.graph.node[0].op_type == "Gemm"
    init = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    W, b = net.get_weights()[0]
    mean, scale = net.input_scaling
    # W' = W / scale (column-wise), b' = b - W' mean: the same affine map of the raw input.
    np.testing.assert_allclose(init["0.weight"], W / scale, rtol=1e-6)
    np.testing.assert_allclose(init["0.bias"], b - (W / scale) @ mean, rtol=1e-5, atol=1e-5)
    X = inputs(net)
    assert np.abs(run(model, X) - net.predict_proba(X)).max() <= ATOL


def test_without_input_scaling_the_graph_starts_with_a_gemm():
    net = make_net("relu", scaled=False)
    model = mlpcore.onnx.to_onnx(net, fold_input_scaling=True)
    assert op_types(model) == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    assert "input_mean" not in {p.key for p in model.metadata_props}
    X = np.random.default_rng(1).normal(size=(50, 6)).astype(np.float32)
    assert np.abs(run(model, X) - net.forward(X)).max() <= ATOL


def test_metadata_matches_the_model_file(tmp_path):
    net = make_net("maxout", output="sigmoid")
    net.classes = ["cat", "dog", "emu", "yak"]
    net.metadata = {"author": "Ada", "dataset": "toy"}
    model = mlpcore.onnx.to_onnx(net, output="probabilities")
    props = {p.key: p.value for p in model.metadata_props}
    net.save(tmp_path / "net.safetensors")
    blob = (tmp_path / "net.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", blob[:8])
    file_meta = json.loads(blob[8:8 + header_len])["__metadata__"]
    assert props == {**file_meta, "onnx_output": "probabilities"}
    assert json.loads(props["classes"]) == ["cat", "dog", "emu", "yak"]
    assert json.loads(props["sizes"]) == [6, 16, 12, 4]
    assert json.loads(props["activations"]) == ["maxout", "maxout"]
    assert props["output"] == "sigmoid" and props["dtype"] == "float32" and props["author"] == "Ada"
    np.testing.assert_array_equal(json.loads(props["input_mean"]), net.input_scaling[0])
    assert model.producer_name == "mlpcore" and model.producer_version == mlpcore.__version__
    # ONNX Runtime exposes it to the consumer.
    custom = session(model).get_modelmeta().custom_metadata_map
    assert custom["classes"] == props["classes"] and custom["onnx_output"] == "probabilities"


def test_loaded_model_exports_the_same_graph(tmp_path):
    net = make_net("elu", output="softmax")
    net.save(tmp_path / "net.safetensors")
    back = mlpcore.load(tmp_path / "net.safetensors")
    a = mlpcore.onnx.to_onnx(net, output="probabilities")
    b = mlpcore.onnx.to_onnx(back, output="probabilities")
    assert a.SerializeToString() == b.SerializeToString()


def test_custom_names():
    net = make_net("tanh", scaled=False)
    model = mlpcore.onnx.to_onnx(net, input_name="x", output_name="scores")
    sess = session(model)
    assert [i.name for i in sess.get_inputs()] == ["x"] and [o.name for o in sess.get_outputs()] == ["scores"]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(output="proba"), ValueError, "unknown output 'proba'"),
    (dict(opset=12), ValueError, r"opset must be an int in \[13, "),
    (dict(opset=1000), ValueError, "opset must be an int"),
    (dict(opset="17"), ValueError, "opset must be an int"),
    (dict(opset=True), ValueError, "opset must be an int"),
    (dict(input_name=""), ValueError, "input_name must be a non-empty string"),
    (dict(output_name=3), ValueError, "output_name must be a non-empty string"),
    (dict(input_name="logits"), ValueError, "input_name and output_name must differ"),
    (dict(input_name="0.weight"), ValueError, "input_name '0.weight' is taken"),
    (dict(output_name="input_mean"), ValueError, "output_name 'input_mean' is taken"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        mlpcore.onnx.to_onnx(make_net("relu"), **kwargs)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(TypeError, match="net must be an mlpcore.MLP, got Sequential"):
        mlpcore.onnx.to_onnx(torch.nn.Sequential(torch.nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="needs a model whose output is 'softmax' or 'sigmoid'"):
        mlpcore.onnx.export(make_net("relu", output="identity"), tmp_path / "x.onnx", output="probabilities")
    net = make_net("relu")
    net.metadata = {"onnx_output": "x"}
    with pytest.raises(ValueError, match="'onnx_output' is reserved"):
        mlpcore.onnx.to_onnx(net)
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"previous model")
    net = make_net("relu")
    net.parameters[3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        mlpcore.onnx.export(net, path)
    assert path.read_bytes() == b"previous model"

    net = make_net("relu")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(mlpcore._files.os, "replace", failing_replace)  # the shared atomic writer
    with pytest.raises(OSError, match="disk full"):
        mlpcore.onnx.export(net, path)
    assert path.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]  # no temporary left behind
    monkeypatch.undo()

    mlpcore.onnx.export(net, path)
    X = inputs(net)
    assert np.abs(run(path, X) - net.forward(X)).max() <= ATOL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]
    with pytest.raises(FileNotFoundError):
        mlpcore.onnx.export(net, tmp_path / "missing" / "net.onnx")
    with pytest.raises(IsADirectoryError):
        mlpcore.onnx.export(net, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]


def test_exported_file_gets_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    path = tmp_path / "net.onnx"
    mlpcore.onnx.export(make_net("relu"), path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_missing_onnx_gives_a_clear_import_error():
    code = ("import sys\nsys.modules['onnx'] = None\nimport mlpcore\n"
            "assert 'onnx' not in [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None]\n"
            "try:\n    import mlpcore.onnx\nexcept ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install mlpcore[onnx]" in done.stdout
