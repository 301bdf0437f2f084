"""The Python/C++ boundary: zero-copy views and their lifetime, hot calls that refuse to copy, the
type stub against the built module, and a silent import. The one test file that touches
mlpcore._core directly."""
from __future__ import annotations

import ast
import gc
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import mlpcore
from mlpcore import _core

STUB = pathlib.Path(mlpcore.__file__).with_name("_core.pyi")


def tanh_reference(params, sizes, X):
    """NumPy forward of a tanh network from the flat buffer (W row-major then b, layer by layer)."""
    A = np.asarray(X, np.float64)
    p = np.asarray(params, np.float64)
    offset = 0
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = p[offset:offset + n_out * n_in].reshape(n_out, n_in)
        offset += n_out * n_in
        b = p[offset:offset + n_out]
        offset += n_out
        A = A @ W.T + b
        if l + 2 < len(sizes):
            A = np.tanh(A)
    assert offset == len(p)
    return A


# -- zero-copy views -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parameters_is_a_live_view(dtype):
    sizes = [3, 5, 4, 2]
    net = mlpcore.MLP(sizes, activation="tanh", dtype=dtype, seed=0)
    p1, p2 = net.parameters, net.parameters
    assert p1.dtype == np.dtype(dtype) and p1.shape == (net.n_params,)
    assert p1.flags.c_contiguous and p1.flags.writeable
    assert np.shares_memory(p1, p2)
    assert p1.ctypes.data == p2.ctypes.data

    X = np.random.default_rng(0).normal(size=(6, 3)).astype(dtype)
    new = np.random.default_rng(1).normal(size=net.n_params)
    p1[...] = new
    tol = 1e-5 if dtype == "float32" else 1e-12
    expected = tanh_reference(new.astype(dtype), sizes, X)
    np.testing.assert_allclose(net.forward(X), expected, rtol=tol, atol=tol)
    p2[0] += 1.0  # through the other access: the same buffer
    assert p1[0] == np.asarray(new[0], dtype) + np.asarray(1.0, dtype)
    np.testing.assert_allclose(net.forward(X), tanh_reference(p1.copy(), sizes, X), rtol=tol, atol=tol)
    # The weights the model reports are the ones written.
    W0, b0 = net.get_weights()[0]
    assert np.array_equal(W0.ravel(), p1[:15]) and np.array_equal(b0, p1[15:20])


def test_gradients_is_a_live_view():
    net = mlpcore.MLP([3, 4, 2], seed=0)
    g1 = net.gradients
    X = np.ones((2, 3), np.float32)
    _, copy = net.loss_and_grad(X, np.array([0, 1]))
    assert np.shares_memory(g1, net.gradients)
    assert np.array_equal(g1, copy)
    assert not np.shares_memory(copy, g1)


def test_views_keep_the_engine_alive():
    net = mlpcore.MLP([3, 5, 2], activation="tanh", seed=4)
    expected = net.parameters.copy()
    params, grads = net.parameters, net.gradients
    assert isinstance(params.base, _core.Mlp32)
    del net
    gc.collect()
    junk = [np.full(10_000, 7.0) for _ in range(50)]  # reuse freed memory if any was freed
    assert np.array_equal(params, expected)
    assert grads.shape == params.shape
    engine = params.base
    X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    params[...] = 0.5
    np.testing.assert_allclose(engine.forward(X), tanh_reference(params.copy(), [3, 5, 2], X), rtol=1e-5)
    del junk, engine
    gc.collect()
    assert np.all(params == 0.5)


def test_get_weights_returns_copies():
    net = mlpcore.MLP([3, 4, 2], seed=0)
    before = net.parameters.copy()
    weights = net.get_weights()
    for W, b in weights:
        assert not np.shares_memory(W, net.parameters) and not np.shares_memory(b, net.parameters)
        W[...] = 9.0
        b[...] = 9.0
    assert np.array_equal(net.parameters, before)


def test_copies_and_unpickled_models_own_their_memory():
    net = mlpcore.MLP([3, 4, 2], seed=0)
    for other in (net.copy(), pickle.loads(pickle.dumps(net))):
        assert not np.shares_memory(other.parameters, net.parameters)
        other.parameters[...] = 0
        assert np.any(net.parameters != 0)


def test_optimizer_state_is_returned_as_copies():
    net = mlpcore.MLP([3, 4, 2], seed=0)
    adam = _core.Adam32(1e-3, 0.9, 0.999, 1e-8, 0.0, False, False)
    X = np.ones((2, 3), np.float32)
    net._net.train_step(X, np.array([0, 1], np.int32), None, _core.Loss.cross_entropy, adam)
    m = adam.exp_avg
    m[...] = 123.0
    assert not np.any(adam.exp_avg == 123.0)


# -- hot calls refuse to copy ----------------------------------------------------------------------
def _hot_calls(engine, X, y, w=None, opt=None):
    loss = _core.Loss.cross_entropy
    return {
        "forward": lambda: engine.forward(X),
        "predict_proba": lambda: engine.predict_proba(X),
        "loss": lambda: engine.loss(X, y, w, "cross_entropy"),
        "evaluate": lambda: engine.evaluate(X, y, w, "cross_entropy"),
        "loss_and_grad": lambda: engine.loss_and_grad(X, y, w, "cross_entropy"),
        "train_step": lambda: engine.train_step(X, y, w, loss, opt),
        "train_epoch": lambda: engine.train_epoch(X, y, w, loss, opt, 2, True, 0, 0),
    }


@pytest.mark.parametrize("model_dtype", ["float32", "float64"])
def test_wrong_float_type_into_hot_calls_raises(model_dtype):
    net = mlpcore.MLP([3, 4, 2], seed=0, dtype=model_dtype)
    other = np.float64 if model_dtype == "float32" else np.float32
    X = np.ones((4, 3), other)
    y = np.array([0, 1, 0, 1], np.int32)
    opt = (_core.Sgd32 if model_dtype == "float32" else _core.Sgd64)(0.1, 0.0, 0.0, 0.0, False)
    before = net.parameters.copy()
    for name, call in _hot_calls(net._net, X, y, opt=opt).items():
        with pytest.raises(TypeError):
            call()
    assert np.array_equal(net.parameters, before)
    assert opt.steps == 0


LAYOUTS = ["fortran", "transposed", "column_stride", "row_stride", "negative_stride"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_c_contiguous_into_hot_calls_raises(layout):
    net = mlpcore.MLP([3, 4, 2], seed=0)
    base = np.arange(24, dtype=np.float32).reshape(8, 3) / 24
    X = {
        "fortran": np.asfortranarray(base),
        "transposed": np.ascontiguousarray(base.T).T,
        "column_stride": np.repeat(base, 2, axis=1)[:, ::2],
        "row_stride": np.repeat(base, 2, axis=0)[::2],
        "negative_stride": base[::-1],
    }[layout]
    assert not X.flags.c_contiguous
    y = np.zeros(8, np.int32)
    opt = _core.Sgd32(0.1, 0.0, 0.0, 0.0, False)
    for name, call in _hot_calls(net._net, X, y, opt=opt).items():
        with pytest.raises(TypeError):
            call()
    # The public API converts once and gives the contiguous result.
    assert np.array_equal(net.forward(X), net._net.forward(np.ascontiguousarray(X)))


def test_targets_and_weights_of_wrong_type_into_hot_calls_raise():
    net = mlpcore.MLP([3, 4, 2], seed=0)
    X = np.ones((4, 3), np.float32)
    y32 = np.array([0, 1, 0, 1], np.int32)
    opt = _core.Sgd32(0.1, 0.0, 0.0, 0.0, False)
    for bad_y in (y32.astype(np.int64), y32.astype(np.float32), np.repeat(y32, 2)[::2]):
        for name, call in _hot_calls(net._net, X, bad_y, opt=opt).items():
            if name in ("forward", "predict_proba"):
                continue
            with pytest.raises(TypeError, match="y must be a C-contiguous"):
                call()
    for bad_w in (np.ones(4, np.float64), np.ones(8, np.float32)[::2]):
        for name, call in _hot_calls(net._net, X, y32, w=bad_w, opt=opt).items():
            if name in ("forward", "predict_proba"):
                continue
            with pytest.raises(TypeError, match="sample_weight must be a C-contiguous"):
                call()
    assert opt.steps == 0


def test_hot_call_with_exact_types_matches_public_api():
    net = mlpcore.MLP([3, 4, 2], seed=0)
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1], np.int32)
    assert np.array_equal(net._net.forward(X), net.forward(X))
    assert net._net.loss(X, y, None, "cross_entropy") == net.loss(X, y)


def test_exception_types():
    assert issubclass(_core.ModelFormatError, ValueError)
    assert issubclass(_core.IoError, OSError)
    with pytest.raises(_core.ModelFormatError, match="invalid model file"):
        _core.deserialize(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(_core.IoError):
        _core.load("/nonexistent-folder/model.safetensors")
    with pytest.raises(_core.ModelFormatError):
        mlpcore.load(os.devnull)


# -- threads: only work that can use them starts a parallel region ---------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_small_net_enters_no_parallel_region(engine_two_threads, dtype):
    # The course's 2-128-4 net: every product is far below the ~2M multiply-adds that pay for a
    # team of threads, so with 2 threads allowed it must still run on the calling thread alone
    # (a region waits for a busy second core: 10-20x slower training on a loaded machine).
    X, y = mlpcore.datasets.spiral(n_per_class=100, seed=0, dtype=dtype)
    net = mlpcore.MLP([2, 128, 4], seed=0, dtype=dtype)
    opt = mlpcore.Adam()
    before = _core.parallel_regions()
    net.train_step(X[:128], y[:128], opt)
    mlpcore.Trainer(net, opt, batch_size=128, epochs=2, progress=False).fit(X, y)  # C++ train_epoch
    net.forward(X)
    net.predict(X)
    net.predict_proba(X)
    assert _core.parallel_regions() == before


def test_large_product_counts_its_parallel_region(engine_two_threads):
    # The counter does see regions: 256 x 512 x 1024 multiply-adds per forward product (split in
    # two regions: packing the operands, then the product's tiles).
    net = mlpcore.MLP([512, 1024, 10], seed=0)
    X = np.ones((256, 512), np.float32)
    before = _core.parallel_regions()
    net.forward(X)
    after = _core.parallel_regions()
    assert after > before
    mlpcore.set_num_threads(1)
    net.forward(X)
    assert _core.parallel_regions() == after


# -- the type stub matches the built module --------------------------------------------------------
def _public(names):
    return {n for n in names if not n.startswith("_")}


def _stub_tree():
    return ast.parse(STUB.read_text(encoding="utf-8"), filename=str(STUB))


def _stub_top_level(tree):
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names[t.id] = node
    return names


def _class_members(node: ast.ClassDef):
    members = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            members[item.name] = item
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            members[item.target.id] = item
    return members


def _signature_names(doc: str, name: str):
    """Parameter names from pybind11's first docstring line ``name(a: T, b: U = ...) -> R``."""
    line = doc.splitlines()[0]
    assert line.startswith(name + "("), line
    depth, start, parts = 0, len(name) + 1, []
    for i in range(start, len(line)):
        c = line[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            if depth == 0:
                parts.append(line[start:i])
                break
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(line[start:i])
            start = i + 1
    return [p.split(":")[0].split("=")[0].strip() for p in parts if p.strip()]


def test_stub_exists_and_parses():
    assert STUB.is_file()
    _stub_tree()


def test_stub_top_level_names_match_module():
    stub = _public(_stub_top_level(_stub_tree()))
    module = _public(dir(_core))
    assert stub == module, f"only in stub: {sorted(stub - module)}; only in module: {sorted(module - stub)}"


def _stub_only_bases(node: ast.ClassDef, top: dict):
    """The stub's private base classes of `node` (e.g. _Mlp[_F32, Optimizer32]): members written
    once for classes the module binds separately; the module has no such class."""
    for base in node.bases:
        target = base.value if isinstance(base, ast.Subscript) else base
        if isinstance(target, ast.Name) and target.id.startswith("_"):
            yield top[target.id]


def _members_with_stub_bases(node: ast.ClassDef, top: dict):
    members = {}
    for base in _stub_only_bases(node, top):
        members.update(_class_members(base))
    members.update(_class_members(node))
    return members


def test_stub_classes_match_module():
    tree = _stub_tree()
    top = _stub_top_level(tree)
    for name, node in top.items():
        if not isinstance(node, ast.ClassDef) or name.startswith("_"):
            continue
        cls = getattr(_core, name)
        assert isinstance(cls, type), name
        stub_bases = [ast.unparse(b) for b in node.bases if not ast.unparse(b).startswith("_")]
        assert stub_bases == [b.__name__ for b in cls.__bases__ if b.__name__ != "pybind11_object"], name
        stub_members = _public(_members_with_stub_bases(node, top))
        module_members = _public(vars(cls))
        assert stub_members == module_members, (
            f"{name}: only in stub {sorted(stub_members - module_members)}, "
            f"only in module {sorted(module_members - stub_members)}")


def test_stub_signatures_match_module():
    tree = _stub_tree()
    top = _stub_top_level(tree)
    checked = 0
    for name, node in top.items():
        if isinstance(node, ast.FunctionDef) and not name.startswith("_"):
            pairs = [(name, node, getattr(_core, name))]
        elif isinstance(node, ast.ClassDef) and not name.startswith("_"):
            cls = getattr(_core, name)
            pairs = [(f"{name}.{m}", fn, vars(cls)[m]) for m, fn in _members_with_stub_bases(node, top).items()
                     if isinstance(fn, ast.FunctionDef) and m in vars(cls)
                     and not isinstance(vars(cls)[m], property) and (m == "__init__" or not m.startswith("_"))
                     and not any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)]
        else:
            continue
        for label, fn, obj in pairs:
            doc = getattr(obj, "__doc__", None) or ""
            short = label.rsplit(".", 1)[-1]
            if not doc.startswith(short + "("):
                continue  # not a pybind11 function (e.g. inherited Python slot)
            expected = _signature_names(doc, short)
            got = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
            assert got == expected, f"{label}: stub {got}, module {expected}"
            checked += 1
    assert checked >= 30


# -- importing does nothing visible ----------------------------------------------------------------
def test_import_is_silent(tmp_path):
    code = ("import sys, mlpcore\n"
            "heavy = sorted(m for m in ('torch', 'matplotlib', 'sklearn', 'tqdm', 'mlpcore.plot',"
            " 'mlpcore.datasets') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONWARNINGS", "MLPCORE"))}
    run = subprocess.run([sys.executable, "-W", "error", "-X", "dev", "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""
    assert os.listdir(tmp_path) == []
