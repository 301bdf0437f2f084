"""precision="bf16": the matrix products on bfloat16 operands with float32 accumulation (AMX tiles
or AVX512-BF16), against float64 references, on both engines, the refusal where neither exists,
and training accuracy against float32.

Tolerances. bf16 keeps 8 significant bits, so rounding an operand to nearest changes it by a
relative u ≤ 2⁻⁸, and a product of two rounded operands by ≤ 2u + u² ≈ 2·2⁻⁸. Summing K
products in float32 adds at most K·2⁻²⁴ relative to Σ|a·b|. So one product's entry is within
(2·2⁻⁸ + K·2⁻²⁴)·Σ_k|a_ik·b_kj| of the exact value (the bound below, elementwise), and within
K·2⁻²⁴·Σ|a·b| of the exact product of the *rounded* operands. A gradient of a net of L layers goes
through at most 2L products (forward, then back), each adding a relative error ≤ 2·2⁻⁸ to first
order; with smooth activations that do not amplify errors (tanh, sigmoid: |f'| ≤ 1) the norm-wise
relative error of every layer's gradient is below 2L·2·2⁻⁸. ReLU and maxout add a term the
first-order argument misses: a unit whose pre-activation lies within the rounding error of the
kink may fall on the other side, switching its derivative between 0 and 1 (or its winning piece);
for them the bound is doubled.
"""
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

import mlpcore
from mlpcore import _core, datasets
from mlpcore.config import ConfigError, ModelConfig, build_model, load_config

U = 2.0 ** -8  # bf16 unit roundoff (8 significant bits)
ENGINE = mlpcore.build_info()["bf16"]
pytestmark = pytest.mark.skipif(ENGINE is None, reason="this CPU has neither AMX-BF16 nor AVX512-BF16")
ENGINES = ["amx", "avx512_bf16"] if ENGINE == "amx" else ["avx512_bf16"]


@pytest.fixture(params=ENGINES)
def engine(request):
    _core._bf16_limit(request.param)
    assert mlpcore.build_info()["bf16"] == request.param
    yield request.param
    _core._bf16_limit("amx")


@pytest.fixture
def no_bf16():
    _core._bf16_limit("none")
    yield
    _core._bf16_limit("amx")


def to_bf16(a):
    """Round float32 values to the nearest bfloat16 (ties to even), as float64."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def layer(n_in, n_out, seed):
    net = mlpcore.MLP([n_in, n_out], output="identity", seed=seed, precision="bf16")
    rng = np.random.default_rng(seed)
    net.parameters[:] = rng.standard_normal(net.n_params).astype(np.float32)
    return net, rng.standard_normal((1023, n_in)).astype(np.float32)


@pytest.mark.parametrize("rows", [1, 15, 17, 1023])
@pytest.mark.parametrize("n_in,n_out", [(1, 3), (37, 23), (100, 45), (33, 70)])
def test_forward_matches_float64(engine, rows, n_in, n_out):
    net, X = layer(n_in, n_out, seed=rows + n_in)
    X = X[:rows]
    p = net.parameters.astype(np.float64)
    W, b = p[:n_in * n_out].reshape(n_out, n_in), p[n_in * n_out:]
    Z = net.forward(X).astype(np.float64)
    X64 = X.astype(np.float64)
    exact = X64 @ W.T + b
    mag = np.abs(X64) @ np.abs(W).T
    # The bias is added in float32 after the product: one more rounding of the sum.
    bias_rounding = 2.0 ** -23 * (np.abs(exact) + np.abs(b))
    assert np.all(np.abs(Z - exact) <= (2 * U + n_in * 2.0 ** -24) * mag + bias_rounding)
    rounded = to_bf16(X) @ to_bf16(W).T + b
    assert np.all(np.abs(Z - rounded) <= n_in * 2.0 ** -24 * mag + 2.0 ** -23 * (np.abs(rounded) + np.abs(b)))
    if n_in > 1:  # the operands really were rounded: float32 products would sit ~2⁻²⁴ from exact
        assert np.max(np.abs(Z - exact) / (mag + 1e-30)) > 2.0 ** -14


def param_slices(net):
    """Each layer's W and b in the flat buffer (W: dense_out × in, then b)."""
    start = 0
    for i, (n_in, units) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        maxout = i < len(net.activations) and net.activations[i] == "maxout"
        rows = units * (net.maxout_pieces if maxout else 1)
        yield slice(start, start + rows * n_in)
        yield slice(start + rows * n_in, start + rows * n_in + rows)
        start += rows * (n_in + 1)


def nets(sizes, activation, seed):
    n32 = mlpcore.MLP(sizes, activation=activation, seed=seed)
    n64 = mlpcore.MLP(sizes, activation=activation, seed=seed, dtype="float64")
    n64.parameters[:] = n32.parameters
    return n32, n64


@pytest.mark.parametrize("rows", [1, 15, 17, 1023])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "maxout"])
def test_gradients_match_float64(engine, rows, activation):
    sizes = [37, 45, 29, 11]
    n32, n64 = nets(sizes, activation, seed=rows)
    rng = np.random.default_rng(rows)
    X = rng.standard_normal((rows, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], rows)
    loss64, g64 = n64.loss_and_grad(X.astype(np.float64), y)
    loss32, g32 = n32.loss_and_grad(X, y)
    n32.precision = "bf16"
    loss16, g16 = n32.loss_and_grad(X, y)
    L = len(sizes) - 1
    bound = 2 * L * 2 * U * (2 if activation in ("relu", "maxout") else 1)
    assert abs(loss16 - loss64) <= bound * abs(loss64)
    for part in param_slices(n32):
        a, ref = g16[part], g64[part]
        if np.linalg.norm(ref) < 1e-6 * np.linalg.norm(g64):  # a vanishing gradient (dead units)
            continue
        err = np.linalg.norm(a - ref) / np.linalg.norm(ref)
        assert err <= bound, (part, err, bound)
    # ... and float32 itself is far closer: bf16 did change the products.
    assert np.linalg.norm(g32 - g64) < np.linalg.norm(g16 - g64)


def test_engines_agree_and_differ_from_float32():
    if len(ENGINES) < 2:
        pytest.skip("only one bf16 engine on this CPU")
    net, X = layer(100, 45, seed=3)
    out = {}
    for e in ENGINES:
        _core._bf16_limit(e)
        out[e] = net.forward(X).astype(np.float64)
    _core._bf16_limit("amx")
    mag = np.abs(X.astype(np.float64)) @ np.abs(net.parameters[:4500].reshape(45, 100).astype(np.float64)).T
    # The same rounded operands; only the float32 summation order differs.
    assert np.all(np.abs(out["amx"] - out["avx512_bf16"]) <= 2 * 100 * 2.0 ** -24 * mag + 1e-6)


def test_refused_without_amx_or_avx512_bf16(no_bf16):
    assert mlpcore.build_info()["bf16"] is None
    with pytest.raises(ValueError, match="needs a CPU with AMX-BF16 or AVX512-BF16; missing here"):
        mlpcore.MLP([4, 8, 3], precision="bf16")
    net = mlpcore.MLP([4, 8, 3])
    with pytest.raises(ValueError, match="AMX-BF16 or AVX512-BF16"):
        net.precision = "bf16"
    assert net.precision == "float32"


def test_engine_lost_after_choosing_bf16_raises_not_crashes():
    net = mlpcore.MLP([4, 8, 3], precision="bf16")
    _core._bf16_limit("none")
    try:
        with pytest.raises(RuntimeError, match="AMX-BF16 or AVX512-BF16"):
            net.predict(np.zeros((2, 4), np.float32))
    finally:
        _core._bf16_limit("amx")
    assert net.predict(np.zeros((2, 4), np.float32)).shape == (2,)


def test_bad_precision_values():
    with pytest.raises(ValueError, match="unknown precision 'fp16'; expected one of: 'float32', 'bf16'"):
        mlpcore.MLP([4, 3], precision="fp16")
    with pytest.raises(ValueError, match="needs a float32 model"):
        mlpcore.MLP([4, 3], dtype="float64", precision="bf16")
    with pytest.raises(ValueError, match="precision must be a name"):
        mlpcore.MLP([4, 3], precision=16)


def test_precision_is_kept_by_copy_and_pickle_but_not_the_model_file(tmp_path):
    net = mlpcore.MLP([4, 8, 3], precision="bf16")
    assert net.copy().precision == "bf16"
    assert pickle.loads(pickle.dumps(net)).precision == "bf16"
    net.save(tmp_path / "m.safetensors")
    loaded = mlpcore.load(tmp_path / "m.safetensors")
    assert loaded.precision == "float32"
    np.testing.assert_array_equal(loaded.parameters, net.parameters)  # float32 on disk
    assert "precision" not in repr(loaded) and "precision='bf16'" in repr(net)


def test_choices_config_and_build_info():
    assert _core.choices()["precision"] == ["float32", "bf16"]
    assert mlpcore.build_info()["bf16"] in ("amx", "avx512_bf16")
    assert build_model(ModelConfig(hidden=[8], precision="bf16"), [4, 8, 3]).precision == "bf16"


def test_config_refuses_bf16_naming_the_key(tmp_path, no_bf16):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nprecision = "bf16"\n')
    with pytest.raises(ConfigError, match="precision"):
        load_config(path)


def test_cli_trains_in_bf16(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mlpcore", "train", "--data", "spiral", "--epochs", "2",
                           "--precision", "bf16", "--output.plots", "false", "--no-progress"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "bf16 products" in proc.stdout


def accuracy_pair(X, y, sizes, epochs, batch, seed=0):
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
    out = {}
    for precision in ("float32", "bf16"):
        net = mlpcore.MLP(sizes, seed=seed, precision=precision)
        mlpcore.Trainer(net, mlpcore.Adam(1e-3), batch_size=batch, epochs=epochs, progress=False,
                        seed=seed).fit(X_tr, y_tr)
        out[precision] = 100 * float(np.mean(net.predict(X_te) == y_te))
    return out


def test_spiral_accuracy_within_half_a_point_of_float32():
    X, y = datasets.spiral(classes=4, n_per_class=1000, seed=0)
    acc = accuracy_pair(X, y, [2, 128, 128, 4], epochs=60, batch=64)
    assert acc["float32"] > 90
    assert abs(acc["bf16"] - acc["float32"]) <= 0.5, acc


def test_digits_accuracy_within_half_a_point_of_float32():
    X, y = datasets.load_digits(scale=True)
    acc = accuracy_pair(X, y, [64, 128, 10], epochs=40, batch=32)
    assert acc["float32"] > 94
    assert abs(acc["bf16"] - acc["float32"]) <= 0.5, acc


def test_bench_measures_bf16_engines(tmp_path):
    pytest.importorskip("torch")
    from mlpcore import cli

    path = tmp_path / "bench.json"
    code = cli.main(["bench", "--smoke", "--bf16", "--sections", "train", "accuracy", "--threads", "1",
                     "--json", str(path)])
    assert code == 0
    report = json.loads(path.read_text())
    assert {"mlpcore-bf16", "torch-autocast"} <= set(report["engines"]["measured"])
    for section in ("train", "accuracy"):
        rows = {(r["engine"], r["net"]): r for r in report[section]}
        for (engine, net), r in rows.items():
            if engine == "mlpcore-bf16":  # same epochs, same seed: the accuracy of float32 within noise
                fp32 = rows[("mlpcore", net)]["test_accuracy"]["median"]
                assert abs(r["test_accuracy"]["median"] - fp32) <= 0.05
        assert any(engine == "torch-autocast" for engine, _ in rows)
