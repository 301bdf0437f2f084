"""PyTorch round trip: mlpcore.torch.to_torch(net) builds an equivalent torch.nn.Sequential,
mlpcore.torch.from_torch(module) reads one back.

Checks: the Sequential computes the engine's outputs (1,000 inputs, every activation, float32 and
float64, with input scaling) within 1e-5; its state dict has the model file's tensor names and
loads from the file; to_torch -> from_torch returns identical parameters, activations, their
parameters, dtype, output kind and input scaling; a network trained in PyTorch (Adam, its own
initialisation) and imported predicts what PyTorch predicts; unsupported modules are refused with
a message naming their index and type. Tolerances as in test_onnx.py.
"""
import subprocess
import sys

import numpy as np
import pytest
import safetensors.torch
import torch

import mlpcore
import mlpcore.torch
from mlpcore.torch import Maxout, StandardizedLinear
from netcases import ALPHA, CASES, K, N, SLOPE, raw_inputs
from netcases import make_net as _make_net


def make_net(case, seed=5, **kwargs):
    return _make_net(case, seed=seed, **kwargs)


ATOL = 1e-5
pytestmark = pytest.mark.usefixtures("torch_one_thread")
TORCH_TYPES = {"identity": torch.nn.Identity, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
               "relu": torch.nn.ReLU, "leaky_relu": torch.nn.LeakyReLU, "elu": torch.nn.ELU, "maxout": Maxout}
nn = torch.nn


def torch_out(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES)
def test_to_torch_computes_the_engine_outputs_and_round_trips(case, dtype):
    net = make_net(case, dtype=dtype, output="sigmoid")
    module = mlpcore.torch.to_torch(net)
    acts = net.activations
    # Linear layers at even indices, activations at odd ones: the model file's numbering.
    assert len(module) == 2 * len(acts) + 1
    assert type(module[0]) is StandardizedLinear
    for l, name in enumerate(acts):
        assert isinstance(module[2 * l], nn.Linear) and type(module[2 * l + 1]) is TORCH_TYPES[name]
    assert all(p.dtype == getattr(torch, dtype) for p in module.parameters())
    X = raw_inputs(net)
    assert np.abs(torch_out(module, X) - net.forward(X)).max() <= ATOL * max(1.0, np.abs(net.forward(X)).max())
    probabilities = mlpcore.torch.to_torch(net, output="probabilities")
    assert type(probabilities[-1]) is nn.Sigmoid
    assert np.abs(torch_out(probabilities, X) - net.predict_proba(X)).max() <= ATOL

    back = mlpcore.torch.from_torch(probabilities)
    assert np.array_equal(back.parameters, net.parameters)
    assert (back.sizes, back.activations, back.output, back.dtype) == (net.sizes, acts, "sigmoid", net.dtype)
    if "leaky_relu" in acts:
        assert back.leaky_relu_slope == SLOPE
    if "elu" in acts:
        assert back.elu_alpha == ALPHA
    if "maxout" in acts:
        assert back.maxout_pieces == K
    for ours, theirs in zip(back.input_scaling, net.input_scaling):
        assert np.array_equal(ours, theirs)
    assert np.array_equal(back.forward(X), net.forward(X))


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_output_kinds(output):
    net = make_net("tanh", output=output, scaled=False)
    module = mlpcore.torch.to_torch(net)
    assert type(module[-1]) is nn.Linear and type(module[0]) is nn.Linear
    assert mlpcore.torch.from_torch(module, output=output).output == output
    assert mlpcore.torch.from_torch(module).output == "softmax"  # a bare Sequential does not say
    if output == "identity":
        with pytest.raises(ValueError, match="this model regresses"):
            mlpcore.torch.to_torch(net, output="probabilities")
    else:
        trailing = mlpcore.torch.to_torch(net, output="probabilities")
        assert type(trailing[-1]) is {"softmax": nn.Softmax, "sigmoid": nn.Sigmoid}[output]
        assert mlpcore.torch.from_torch(trailing).output == output
        other = "sigmoid" if output == "softmax" else "softmax"
        with pytest.raises(ValueError, match=f"output='{other}' contradicts the trailing"):
            mlpcore.torch.from_torch(trailing, output=other)
    with pytest.raises(ValueError, match="unknown output 'proba'"):
        mlpcore.torch.to_torch(net, output="proba")


def test_state_dict_has_the_model_file_names(tmp_path):
    saved = make_net("maxout", dtype="float64")
    saved.save(tmp_path / "net.safetensors")
    tensors = safetensors.torch.load_file(str(tmp_path / "net.safetensors"))
    assert list(mlpcore.torch.to_torch(saved).state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    # A module of another model (no scaling) takes the file's tensors as they are (strict).
    module = mlpcore.torch.to_torch(make_net("maxout", dtype="float64", seed=99, scaled=False))
    assert set(tensors) == set(module.state_dict())
    module.load_state_dict(tensors)
    loaded = [p.detach().numpy() for p in module.parameters()]
    expected = [a for W, b in saved.get_weights() for a in (W, b)]
    assert all(np.array_equal(a, b) for a, b in zip(loaded, expected))
    X = raw_inputs(saved)
    mean, scale = saved.input_scaling
    assert np.abs(torch_out(module, (X - mean) / scale) - saved.forward(X)).max() <= 1e-12


def test_standardized_linear_keeps_scaling_out_of_the_state_dict_and_fixed_in_training():
    net = make_net("relu")
    module = mlpcore.torch.to_torch(net)
    first = module[0]
    assert set(dict(first.named_buffers())) == {"input_mean", "input_scale"}
    assert first.input_mean.dtype == torch.float64  # stored exactly as the model stores them
    assert list(first.state_dict()) == ["weight", "bias"]
    # Fine-tune in torch: the weights move, the standardisation does not, and the result
    # imports back with its scaling.
    X = raw_inputs(net, 64)
    y = torch.from_numpy((X[:, 0] > net.input_scaling[0][0]).astype(np.int64))
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(module(torch.from_numpy(X)), y).backward()
        opt.step()
    assert np.array_equal(first.input_mean.numpy(), net.input_scaling[0])
    back = mlpcore.torch.from_torch(module)
    assert not np.array_equal(back.parameters, net.parameters)
    assert np.array_equal(back.input_scaling[1], net.input_scaling[1])
    assert np.abs(back.forward(X) - torch_out(module, X)).max() <= ATOL


def train_in_torch(module, X, y, steps=150, lr=1e-2):
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(module(Xt), yt).backward()
        opt.step()
    return module


def test_a_network_trained_in_torch_predicts_the_same_after_import():
    X, y = mlpcore.datasets.spiral(classes=4, n_per_class=100, seed=0)
    X, y = np.ascontiguousarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(2, 48), Maxout(3), nn.Linear(16, 24), nn.LeakyReLU(0.05),
                           nn.Linear(24, 24), nn.ELU(0.5), nn.Linear(24, 4))
    train_in_torch(module, X, y)
    net = mlpcore.torch.from_torch(module)
    assert (net.sizes, net.activations) == ([2, 16, 24, 24, 4], ["maxout", "leaky_relu", "elu"])
    assert (net.leaky_relu_slope, net.elu_alpha, net.maxout_pieces) == (0.05, 0.5, 3)
    assert net.dtype == np.float32 and net.output == "softmax"
    test = np.random.default_rng(1).uniform(-1.2, 1.2, size=(N, 2)).astype(np.float32)
    logits = torch_out(module, test)
    probs = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    assert np.abs(net.predict_proba(test) - probs).max() <= ATOL
    # Same decisions wherever the top two classes are not within rounding of each other.
    top2 = np.sort(logits, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    assert clear.sum() > 0.99 * N
    assert np.array_equal(net.predict(test)[clear], logits.argmax(axis=1)[clear])
    assert (net.predict(X) == y).mean() > 0.7  # it did learn the spiral


def test_a_float64_network_with_trailing_sigmoid():
    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(3, 8, bias=False), nn.Tanh(), nn.Linear(8, 2), nn.Sigmoid()).double()
    net = mlpcore.torch.from_torch(module)
    assert net.dtype == np.float64 and net.output == "sigmoid"
    assert np.array_equal(net.get_weights()[0][1], np.zeros(8))  # a missing bias is zero
    X = np.random.default_rng(2).normal(size=(N, 3))
    assert np.abs(net.predict_proba(X) - torch_out(module, X)).max() <= 1e-12
    with pytest.raises(ValueError, match="must all be float32 or all float64, got torch.float16"):
        mlpcore.torch.from_torch(module.half())


def test_no_hidden_layer():
    net = mlpcore.MLP([6, 1], output="sigmoid", dtype="float64", seed=2)
    module = mlpcore.torch.to_torch(net, output="probabilities")
    assert [type(m) for m in module] == [nn.Linear, nn.Sigmoid]
    back = mlpcore.torch.from_torch(module)
    assert (back.sizes, back.activations, back.output) == ([6, 1], [], "sigmoid")
    assert np.array_equal(back.parameters, net.parameters) and back.input_scaling is None
    X = raw_inputs(net)
    assert np.abs(torch_out(module, X) - net.predict_proba(X)).max() <= 1e-12


def test_maxout_module():
    with pytest.raises(ValueError, match="pieces must be an int >= 2"):
        Maxout(1)
    x = torch.arange(24.0).reshape(2, 3, 4)
    assert torch.equal(Maxout(2)(x), torch.arange(1.0, 24.0, 2).reshape(2, 3, 2))
    with pytest.raises(ValueError, match="divisible by 3"):
        Maxout(3)(x)
    assert repr(Maxout(4)) == "Maxout(pieces=4)"


def L(i, o):
    return nn.Linear(i, o)


BAD = [
    (nn.Linear(2, 2), TypeError, "needs a torch.nn.Sequential .* got Linear"),
    (nn.ModuleList([L(2, 2)]), TypeError, "got ModuleList"),
    (nn.Sequential(), ValueError, "the Sequential is empty"),
    (nn.Sequential(nn.ReLU(), L(2, 2)), ValueError, "module 0, ReLU: the first module must be a Linear"),
    (nn.Sequential(nn.Sequential(L(2, 2))), ValueError, "module 0, Sequential: the first module must be"),
    (nn.Sequential(nn.Conv1d(1, 1, 3)), ValueError, "module 0, Conv1d: the first module must be a Linear"),
    (nn.Sequential(L(2, 4), nn.AlphaDropout(0.5), L(4, 2)), ValueError, "module 1, AlphaDropout is not a supported"),
    (nn.Sequential(L(2, 4), nn.Tanh(), nn.Dropout(1.0), L(4, 2)), ValueError, r"module 2, Dropout: .*p in \[0, 1\), got 1.0"),
    (nn.Sequential(L(2, 4), nn.BatchNorm1d(4), L(4, 2)), ValueError, "module 1, BatchNorm1d is not a supported"),
    (nn.Sequential(L(2, 4), L(4, 2)), ValueError, r"module 1, Linear follows a Linear layer directly; .*\(torch.nn.Identity\(\) for none\)"),
    (nn.Sequential(L(2, 4), nn.ReLU(), nn.ReLU(), L(4, 2)), ValueError, "module 2, ReLU is not supported here: expected a Linear"),
    (nn.Sequential(L(2, 4), nn.ReLU()), ValueError, "module 1, ReLU is not supported after the last Linear"),
    (nn.Sequential(L(2, 4), nn.LogSoftmax(dim=1)), ValueError, "module 1, LogSoftmax is not supported after the last"),
    (nn.Sequential(L(2, 4), nn.Softmax(dim=0)), ValueError, r"module 1, Softmax: .*dim=-1 or 1\), got dim=0"),
    (nn.Sequential(L(2, 4), nn.LeakyReLU(0.1), L(4, 4), nn.LeakyReLU(0.3), L(4, 2)), ValueError,
     "module 3, LeakyReLU: leaky_relu_slope is 0.3 but module 1 uses 0.1; mlpcore models have one"),
    (nn.Sequential(L(2, 4), nn.ELU(1.0), L(4, 4), nn.ELU(0.5), L(4, 2)), ValueError,
     "module 3, ELU: elu_alpha is 0.5 but module 1 uses 1.0"),
    (nn.Sequential(L(2, 4), Maxout(2), L(2, 6), Maxout(3), L(2, 2)), ValueError,
     "module 3, Maxout: maxout_pieces is 3 but module 1 uses 2"),
    (nn.Sequential(L(2, 4), nn.LeakyReLU(1.5), L(4, 2)), ValueError, r"module 1, LeakyReLU: negative_slope must be in \(0, 1\)"),
    (nn.Sequential(L(2, 4), nn.ELU(0.0), L(4, 2)), ValueError, "module 1, ELU: alpha must be > 0"),
    (nn.Sequential(L(2, 4), Maxout(65), L(4, 2)), ValueError, "module 1, Maxout: mlpcore supports 2 to 64"),
    (nn.Sequential(L(2, 5), Maxout(2), L(2, 2)), ValueError, "module 0, Linear has out_features=5, which is not a multiple"),
    (nn.Sequential(L(2, 4), nn.ReLU(), L(3, 2)), ValueError, "module 2, Linear has in_features=3 but the layer before it outputs 4"),
    (nn.Sequential(L(2, 4), nn.ReLU(), StandardizedLinear(4, 2, [0] * 4, [1] * 4)), ValueError,
     "module 2, StandardizedLinear: only the first layer may standardise"),
    (nn.Sequential(L(2, 4), nn.ReLU(), L(4, 2).double()), ValueError,
     "must all be float32 or all float64, got torch.float32, torch.float64"),
    (nn.Sequential(L(2, 4), nn.GELU(), L(4, 2)), ValueError, "module 1, GELU is not a supported activation"),
]


@pytest.mark.parametrize("module, error, match", BAD, ids=[m[2].split(":")[0][:40] for m in BAD])
def test_unsupported_modules_are_named(module, error, match):
    with pytest.raises(error, match=match):
        mlpcore.torch.from_torch(module)


def test_named_modules_are_reported_by_name_and_position():
    from collections import OrderedDict

    module = nn.Sequential(OrderedDict([("fc1", L(2, 4)), ("drop", nn.AlphaDropout(0.1)), ("fc2", L(4, 2))]))
    with pytest.raises(ValueError, match=r"module 1 \('drop'\), AlphaDropout is not a supported activation"):
        mlpcore.torch.from_torch(module)


def test_non_finite_parameters_are_refused():
    module = nn.Sequential(L(2, 4), nn.ReLU(), L(4, 2))
    with torch.no_grad():
        module[2].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="module 2, Linear has NaN or infinite parameters"):
        mlpcore.torch.from_torch(module)


def test_bad_output_argument():
    with pytest.raises(ValueError, match="unknown output 'logits'; expected 'softmax', 'sigmoid' or 'identity'"):
        mlpcore.torch.from_torch(nn.Sequential(L(2, 2)), output="logits")
    with pytest.raises(TypeError, match="net must be an mlpcore.MLP"):
        mlpcore.torch.to_torch("net")


def test_importing_mlpcore_does_not_import_torch_and_missing_torch_is_explained():
    code = ("import sys\nimport mlpcore\nnet = mlpcore.MLP([2, 3, 2])\nnet.forward([[0.0, 1.0]])\n"
            "assert 'torch' not in sys.modules, 'mlpcore imported torch'\n"
            "sys.modules['torch'] = None\n"
            "try:\n    import mlpcore.torch\nexcept ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and "pip install mlpcore[torch]" in lines[0]


def test_the_old_method_names_still_work_with_a_deprecation_warning():
    net = make_net("tanh")
    with pytest.warns(DeprecationWarning, match="mlpcore.torch.to_torch"):
        module = net.to_torch()
    with pytest.warns(DeprecationWarning, match="mlpcore.torch.from_torch"):
        back = mlpcore.MLP.from_torch(module)
    np.testing.assert_array_equal(back.parameters, net.parameters)
