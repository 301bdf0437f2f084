"""The mlpcore command line, run as a user runs it: a subprocess, its exit code, its files."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mlpcore

CLI = [sys.executable, "-m", "mlpcore"]


def run(*args, cwd=None, timeout=300):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`mlpcore train` with no arguments, in an empty folder."""
    cwd = tmp_path_factory.mktemp("run")
    out = run("train", cwd=cwd)
    return cwd, out


def test_default_train_reaches_course_accuracy_and_writes_everything(default_run):
    cwd, out = default_run
    assert out.returncode == 0, out.stderr
    folder = cwd / "mlpcore-run"
    for name in ("model.safetensors", "config.toml", "history.csv", "history.json", "metrics.json",
                 "curves.png", "decision_boundary.png", "confusion_matrix.png"):
        assert (folder / name).stat().st_size > 0, name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97
    assert metrics["epochs"] == 100
    assert "test accuracy" in out.stdout and "confusion matrix" in out.stdout
    assert "Traceback" not in out.stderr
    # The saved model reproduces the reported test accuracy through `evaluate`.
    ev = run("evaluate", folder / "model.safetensors", "--config", folder / "config.toml", "--json", cwd=cwd)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    cm = np.array(metrics["confusion_matrix"]["matrix"])
    assert cm.sum() == 800 and np.trace(cm) / 800 == pytest.approx(metrics["test"]["accuracy"])


def test_history_files_match(default_run):
    cwd, _ = default_run
    folder = cwd / "mlpcore-run"
    h = json.loads((folder / "history.json").read_text())
    rows = (folder / "history.csv").read_text().splitlines()
    assert len(h["epoch"]) == 100 == len(rows) - 1
    assert float(rows[-1].split(",")[1]) == pytest.approx(h["loss"][-1])


def test_json_and_quiet_and_overrides(tmp_path):
    out = run("train", "--json", "--epochs", 3, "--hidden", "8", "--data.n_per_class", 50,
              "--out", tmp_path / "r")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["epochs"] == 3 and "model.safetensors" in result["files"]
    cfg = (tmp_path / "r" / "config.toml").read_text()
    assert "hidden = [8]" in cfg and "epochs = 3" in cfg
    quiet = run("train", "--quiet", "--epochs", 1, "--data.n_per_class", 20, "--output.plots", "false",
                "--out", tmp_path / "q")
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_config_file_with_flag_override(tmp_path):
    (tmp_path / "run.toml").write_text('[model]\nhidden = [16]\nactivation = "tanh"\n[training]\nepochs = 2\n'
                                       '[data]\nn_per_class = 30\n[output]\nplots = false\n')
    out = run("train", "--config", tmp_path / "run.toml", "--training.epochs", 4, "--json",
              "--out", tmp_path / "o")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["epochs"] == 4
    net = mlpcore.load(tmp_path / "o" / "model.safetensors")
    assert net.sizes == [2, 16, 4] and net.activations == ["tanh"]


@pytest.mark.parametrize("args, code, words", [
    (["train", "--epochs", "ten"], 2, "training.epochs must be an integer"),
    (["train", "--bogus"], 2, "unrecognized arguments"),
    (["train", "--model.activation", "softsign"], 2, "model.activation must be one of"),
    (["train", "--data", "csv"], 2, "data.path is required"),
    (["train", "--data", "csv", "--data.path", "missing.csv"], 1, "not found"),
    (["evaluate", "nope.safetensors"], 1, "nope.safetensors"),
    (["frobnicate"], 2, "invalid choice"),
])
def test_bad_input_gives_one_line_and_exit_code(tmp_path, args, code, words):
    out = run(*args, cwd=tmp_path)
    assert out.returncode == code, (out.stdout, out.stderr)
    assert words in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "mlpcore-run").exists()


def test_unknown_config_key_and_bad_csv(tmp_path):
    (tmp_path / "run.toml").write_text("[model]\nhiden = [3]\n")
    out = run("train", "--config", "run.toml", cwd=tmp_path)
    assert out.returncode == 2 and "unknown key model.hiden" in out.stderr
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n3,x,1\n")
    out = run("train", "--data", "csv", "--data.path", "d.csv", "--data.target", "label", cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "line 3" in out.stderr or "row 2" in out.stderr
    out = run("train", "--data", "csv", "--data.path", "d.csv", "--data.target", "klass", cwd=tmp_path)
    assert out.returncode == 1 and "klass" in out.stderr
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04" + b"\x00" * 16)
    out = run("train", "--data", "idx", "--data.path", "bad.idx", "--data.labels_path", "bad.idx", cwd=tmp_path)
    assert out.returncode == 1 and "magic" in out.stderr.lower()
    assert not (tmp_path / "mlpcore-run").exists()


def test_predict_writes_labels_and_probabilities(tmp_path):
    X = np.array([[0.0, 0.1], [0.5, -0.3], [-0.4, 0.2]])
    np.savetxt(tmp_path / "pts.csv", X, delimiter=",", header="x0,x1", comments="")
    run("train", "--quiet", "--epochs", 5, "--data.n_per_class", 50, "--output.plots", "false", cwd=tmp_path)
    out = run("predict", "mlpcore-run/model.safetensors", "pts.csv", "-o", "p.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "prediction,p_0,p_1,p_2,p_3" and len(lines) == 4
    net = mlpcore.load(tmp_path / "mlpcore-run" / "model.safetensors")
    probs = np.array([[float(v) for v in row.split(",")[1:]] for row in lines[1:]])
    np.testing.assert_allclose(probs, net.predict_proba(X), atol=1e-6)
    assert [int(row.split(",")[0]) for row in lines[1:]] == net.predict(X).tolist()


def test_predict_refuses_inputs_that_overflow_the_network(tmp_path):
    # A finite 1e38 overflows the float32 net: no "3,nan,nan,..." line and exit code 0, but one
    # line on stderr naming the row, exit code 1, nothing on stdout.
    mlpcore.MLP([2, 128, 4], "relu", seed=0).save(tmp_path / "m.safetensors")
    (tmp_path / "pts.csv").write_text("x0,x1\n0.1,0.2\n1e38,1e38\n-0.3,0.4\n")
    out = run("predict", "m.safetensors", "pts.csv", cwd=tmp_path)
    assert out.returncode == 1, out.stdout
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("mlpcore: error: the network's outputs are NaN or infinite for row 1 (1 of 3 rows): "
                               "the inputs overflowed the network; scale them"), lines[0]


def test_info():
    out = run("info", "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout)["eigen_version"].startswith("3.4")


def test_digits_standardized_reaches_97_percent(tmp_path):
    out = run("train", "--data", "digits", "--data.standardize", "true", "--hidden", "256,128", "--epochs", 60,
              "--json", "--out", tmp_path / "d")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["test"]["accuracy"] >= 0.97
    assert (tmp_path / "d" / "first_layer_weights.png").exists()
    net = mlpcore.load(tmp_path / "d" / "model.safetensors")
    assert net.input_scaling is not None


def test_sigint_keeps_outputs(tmp_path):
    import signal
    import time

    proc = subprocess.Popen([*CLI, "train", "--epochs", "100000", "--output.plots", "false", "--no-progress"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(3):  # the data/model/optimizer lines, printed before training starts
        assert proc.stdout.readline()
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stdout
    folder = tmp_path / "mlpcore-run"
    h = json.loads((folder / "history.json").read_text())
    assert h["interrupted"] is True and len(h["epoch"]) >= 1
    assert np.isfinite(mlpcore.load(folder / "model.safetensors").parameters).all()


def test_predict_writes_every_output_of_a_multi_output_model(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    np.savez(tmp_path / "m.npz", X=X, y=np.c_[X.sum(1), X[:, 0] - X[:, 1]] + 0.01)
    np.savez(tmp_path / "p.npz", X=X[:3])
    out = run("train", "--data", "npz", "--data.path", "m.npz", "--epochs", 5, "--quiet",
              "--output.plots", "false", "--out", "multi", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    res = run("predict", "multi/model.safetensors", "p.npz", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    net = mlpcore.load(tmp_path / "multi" / "model.safetensors")
    expected = net.predict(X[:3])
    assert expected.shape == (3, 2)
    got = np.array([[r["prediction_0"], r["prediction_1"]] for r in rows])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
