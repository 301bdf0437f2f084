"""The C++ package end to end: Python trains and saves models; examples/embed, copied to a clean
folder and built against (a) a `cmake --install` prefix of the source tree and (b) the installed
Python package's CMake folder (`python -m mlpcore --cmakedir`), loads them, reads CSV inputs and
prints predictions that equal Python's.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import mlpcore
from cmake_support import REPO, CppBuild, run, tail

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout")
FLOAT32_EPS = float(np.finfo(np.float32).eps)


@dataclass
class Example:
    exe: Path
    configure_log: str


def _build_example(cpp_build: CppBuild, work: Path, defines: list[str]) -> Example:
    source = work / "src"
    shutil.copytree(REPO / "examples" / "embed", source)  # a clean folder, away from the repository
    build = work / "build"
    configure = run([cpp_build.cmake, "-S", str(source), "-B", str(build), "-G", "Ninja",
                     f"-DCMAKE_MAKE_PROGRAM={cpp_build.ninja}", "-DCMAKE_BUILD_TYPE=Release",
                     "-DCMAKE_IGNORE_PREFIX_PATH=/usr", *defines])
    assert configure.returncode == 0, "configuring examples/embed failed:\n" + tail(configure.stdout)
    result = run([cpp_build.cmake, "--build", str(build), "--parallel", "2"])
    assert result.returncode == 0, "building examples/embed failed:\n" + tail(result.stdout)
    exe = build / "embed_predict"
    assert exe.is_file()
    return Example(exe=exe, configure_log=configure.stdout)


@pytest.fixture(scope="module")
def examples(cpp_build: CppBuild, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The example built once against each form of the package ('install', 'wheel'), and the
    two package folders ('prefix', 'wheel_dir')."""
    work = tmp_path_factory.mktemp("embed")
    prefix = work / "prefix"
    install = run([cpp_build.cmake, "--install", str(cpp_build.build_dir), "--prefix", str(prefix)])
    assert install.returncode == 0, "cmake --install failed:\n" + tail(install.stdout)
    assert (prefix / "lib" / "cmake" / "mlpcore" / "mlpcoreConfig.cmake").is_file()
    assert (prefix / "include" / "mlpcore" / "mlpcore.hpp").is_file()
    # (a) the install prefix; Eigen from cmeel-eigen's prefix, named like a system Eigen would be.
    installed = _build_example(cpp_build, work / "a", [f"-DCMAKE_PREFIX_PATH={prefix};{cpp_build.prefix}"])
    # (b) the Python package's copy: only its folder, Eigen found by the package config itself.
    cmakedir = subprocess.run([sys.executable, "-m", "mlpcore", "--cmakedir"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert cmakedir.returncode == 0, cmakedir.stderr
    wheel_dir = Path(cmakedir.stdout.strip())
    assert (wheel_dir / "mlpcoreConfig.cmake").is_file() and (wheel_dir / "mlpcoreConfigVersion.cmake").is_file()
    wheel = _build_example(cpp_build, work / "b", [f"-Dmlpcore_DIR={wheel_dir}"])
    return {"install": installed, "wheel": wheel, "prefix": prefix, "wheel_dir": wheel_dir}


def _predict_cpp(example: Example, model: Path, csv: Path) -> tuple[list[list[str]], str]:
    """The example's output rows (split at commas) and its standard error (the model summary)."""
    result = run([str(example.exe), str(model), str(csv)], stderr_to_stdout=False)
    assert result.returncode == 0, result.stderr
    rows = [line.split(",") for line in result.stdout.splitlines()]
    return rows, result.stderr


def _write_csv(path: Path, X: np.ndarray, header: bool = True) -> None:
    lines = [",".join(f"x{j}" for j in range(X.shape[1]))] if header else []
    lines += [",".join(repr(float(v)) for v in row) for row in X]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("package", ["install", "wheel"])
def test_packages_find_eigen_from_cmeel(examples, cpp_build: CppBuild, package: str) -> None:
    log = examples[package].configure_log
    line = next((ln for ln in log.splitlines() if "mlpcore 0.1.0 from" in ln), None)
    assert line is not None, tail(log)
    where = {"install": examples["prefix"], "wheel": examples["wheel_dir"]}[package]
    mlpcore_dir = Path(line.split(" from ")[1].split(";")[0].strip()).resolve()
    assert mlpcore_dir.is_relative_to(Path(where).resolve()), line
    eigen_dir = Path(line.split(" from ")[-1].strip()).resolve()
    assert eigen_dir.is_relative_to(cpp_build.prefix), line


@pytest.mark.parametrize("package", ["install", "wheel"])
def test_trained_classifier_predicts_like_python(examples, tmp_path: Path, package: str) -> None:
    X, y = mlpcore.datasets.spiral(classes=4, n_per_class=150, seed=3)
    names = np.array(["north", "east", "south", "west"])
    net = mlpcore.MLP([2, 32, 4], activation="tanh", seed=1)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    net.set_input_scaling(mean, scale)
    net.classes = names
    mlpcore.Trainer(net, mlpcore.Adam(lr=0.01), batch_size=32, epochs=20, seed=0, progress=False).fit(X, names[y])
    model = tmp_path / "spiral.safetensors"
    net.save(model)
    Xt = X[::7]
    csv = tmp_path / "inputs.csv"
    _write_csv(csv, Xt)

    rows, summary = _predict_cpp(examples[package], model, csv)
    assert "2-32-4" in summary and "north, east, south, west" in summary and "x' = (x - mean) / scale" in summary
    assert len(rows) == len(Xt)
    labels = [r[0] for r in rows]
    proba = np.array([[float(v) for v in r[1:]] for r in rows])
    assert labels == list(net.predict(Xt))
    # The C++ program predicts one sample at a time, Python a batch: equal to float32 rounding.
    np.testing.assert_allclose(proba, net.predict_proba(Xt), rtol=4 * FLOAT32_EPS, atol=4 * FLOAT32_EPS)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_same_probabilities(examples, tmp_path: Path, activation: str) -> None:
    rng = np.random.default_rng(ACTIVATIONS.index(activation))
    net = mlpcore.MLP([6, 24, 16, 5], activation=activation, init="xavier", seed=4, maxout_pieces=3,
                      leaky_relu_slope=0.2, elu_alpha=0.7)
    net.set_input_scaling(rng.normal(size=6), rng.uniform(0.5, 2.0, size=6))
    model = tmp_path / f"{activation}.safetensors"
    net.save(model)
    X = rng.normal(scale=2.0, size=(1000, 6)).astype(np.float32)
    csv = tmp_path / "inputs.csv"
    _write_csv(csv, X, header=False)
    rows, _ = _predict_cpp(examples["install"], model, csv)
    proba = np.array([[float(v) for v in r[1:]] for r in rows])
    assert proba.shape == (1000, 5)
    assert np.abs(proba - net.predict_proba(X)).max() <= 1e-5
    assert [int(r[0]) for r in rows] == list(net.predict(X))


def test_float64_binary_sigmoid_and_regression(examples, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 3))
    binary = mlpcore.MLP([3, 8, 1], activation="elu", output="sigmoid", dtype="float64", seed=2)
    binary.classes = [-5, 12]
    binary.save(tmp_path / "binary.safetensors")
    regression = mlpcore.MLP([3, 8, 2], activation="relu", output="identity", seed=2)
    regression.save(tmp_path / "regression.safetensors")
    csv = tmp_path / "inputs.csv"
    _write_csv(csv, X)

    rows, summary = _predict_cpp(examples["wheel"], tmp_path / "binary.safetensors", csv)
    assert "float64" in summary
    assert [int(r[0]) for r in rows] == list(binary.predict(X))
    # float64 models print 17 significant digits: the same doubles.
    np.testing.assert_allclose([[float(r[1])] for r in rows], binary.predict_proba(X), rtol=1e-15, atol=1e-15)

    rows, _ = _predict_cpp(examples["wheel"], tmp_path / "regression.safetensors", csv)
    got = np.array([[float(v) for v in r] for r in rows])
    np.testing.assert_allclose(got, regression.forward(X), rtol=4 * FLOAT32_EPS, atol=4 * FLOAT32_EPS)


def test_example_reports_bad_files_and_inputs(examples, tmp_path: Path) -> None:
    net = mlpcore.MLP([2, 4, 3], seed=0)
    model = tmp_path / "m.safetensors"
    net.save(model)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(model.read_bytes()[:-4])
    csv = tmp_path / "inputs.csv"
    _write_csv(csv, np.zeros((2, 2)))
    result = run([str(examples["install"].exe), str(broken), str(csv)], stderr_to_stdout=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: invalid model file: ") and "broken.safetensors" in result.stderr

    wide = tmp_path / "wide.csv"
    _write_csv(wide, np.zeros((2, 3)))
    result = run([str(examples["install"].exe), str(model), str(wide)], stderr_to_stdout=False)
    assert result.returncode == 1 and "line 2 has 3 values, the model expects 2" in result.stderr
