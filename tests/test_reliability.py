"""Files are never lost, signals end runs cleanly, and pickles keep the whole training state.

Each test reproduces a defect users hit: a run folder that deleted the files beside it, SIGTERM
that wrote nothing, temporaries left by a killed save, a Trainer that forgot Adam's moments in a
pickle, flag prefixes taken for other flags.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mlpcore
from mlpcore import datasets
from mlpcore._files import atomic_write, remove_stale_temps

CLI = [sys.executable, "-m", "mlpcore"]


def run(*args, cwd=None, timeout=300):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def experiment(tmp_path):
    """A user's folder: data, notes and a config that points at the data."""
    folder = tmp_path / "experiment"
    folder.mkdir()
    X, y = datasets.spiral(n_per_class=50, seed=0)
    np.savetxt(folder / "data.csv", np.c_[X, y], delimiter=",", header="x0,x1,label", comments="", fmt="%.6g")
    (folder / "NOTES.md").write_text("my notes\n")
    (folder / "config.toml").write_text('[data]\nsource = "csv"\npath = "experiment/data.csv"\ntarget = "label"\n'
                                        "[training]\nepochs = 2\n[output]\nplots = false\n")
    return tmp_path, folder


# -- output folders ---------------------------------------------------------------------------------------
def test_run_into_a_users_folder_keeps_every_file(experiment):
    cwd, folder = experiment
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    out = run("train", "--config", "experiment/config.toml", "--out", "experiment", "--no-progress", cwd=cwd)
    assert out.returncode == 2, out.stderr
    assert "config.toml" in out.stderr and "--overwrite" in out.stderr and "Traceback" not in out.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing written, nothing gone

    # --overwrite replaces only the names a run writes; the data and the notes stay.
    out = run("train", "--config", "experiment/config.toml", "--out", "experiment", "--no-progress", "--overwrite",
              cwd=cwd)
    assert out.returncode == 0, out.stderr
    assert (folder / "data.csv").read_bytes() == before["data.csv"]
    assert (folder / "NOTES.md").read_bytes() == before["NOTES.md"]
    assert (folder / "model.safetensors").is_file() and (folder / "mlpcore-run.json").is_file()
    # ...and the run can be repeated from its own config: the data is still there.
    again = run("train", "--config", "experiment/config.toml", "--out", "experiment", "--no-progress", cwd=cwd)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no staging left


def test_current_folder_as_output(experiment):
    cwd, folder = experiment
    (cwd / "source.py").write_text("print('keep me')\n")
    for out_arg in (".", str(cwd)):
        out = run("train", "--config", "experiment/config.toml", "--out", out_arg, "--no-progress", cwd=cwd)
        assert out.returncode == 0, out.stderr
        assert (cwd / "source.py").read_text() == "print('keep me')\n"
        assert (folder / "data.csv").is_file() and (folder / "NOTES.md").is_file()
        assert mlpcore.load(cwd / "model.safetensors").n_inputs == 2
    manifest = json.loads((cwd / "mlpcore-run.json").read_text())
    assert "source.py" not in manifest["files"] and "model.safetensors" in manifest["files"]


def test_a_rerun_removes_only_unchanged_files_of_the_previous_run(tmp_path):
    args = ("train", "--data", "spiral", "--data.n_per_class", "30", "--epochs", "1", "--no-progress", "--out", "run")
    assert run(*args, "--output.plots", "true", cwd=tmp_path).returncode == 0
    folder = tmp_path / "run"
    assert (folder / "curves.png").is_file() and (folder / "decision_boundary.png").is_file()
    (folder / "decision_boundary.png").write_bytes(b"edited by the user")  # no longer mlpcore's file
    (folder / "mine.txt").write_text("keep")
    out = run(*args, "--output.plots", "false", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not (folder / "curves.png").exists()  # the old run's unchanged plot is gone
    assert (folder / "decision_boundary.png").read_bytes() == b"edited by the user"
    assert (folder / "mine.txt").read_text() == "keep"
    # A model file the user replaced is in the way of the next run until --overwrite.
    (folder / "model.safetensors").write_bytes(b"not ours")
    blocked = run(*args, cwd=tmp_path)
    assert blocked.returncode == 2 and "model.safetensors" in blocked.stderr
    assert (folder / "model.safetensors").read_bytes() == b"not ours"


def test_a_hostile_manifest_cannot_delete_outside_the_folder(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "run"
    folder.mkdir()
    entry = {"bytes": len("precious"), "sha256": __import__("hashlib").sha256(b"precious").hexdigest()}
    (folder / "mlpcore-run.json").write_text(json.dumps(
        {"format": "mlpcore-run", "version": 1, "files": {"../victim.txt": entry, str(victim): entry}}))
    out = run("train", "--data.n_per_class", "20", "--epochs", "1", "--no-progress", "--out", "run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert victim.read_text() == "precious"


def test_output_is_a_file(tmp_path):
    (tmp_path / "out").write_text("x")
    out = run("train", "--epochs", "1", "--no-progress", "--out", "out", cwd=tmp_path)
    assert out.returncode == 2 and "is a file" in out.stderr
    assert (tmp_path / "out").read_text() == "x"


def test_predict_output_never_replaces_the_input_or_an_unasked_file(tmp_path):
    net = mlpcore.MLP([2, 4, 3], seed=0)
    net.save(tmp_path / "m.safetensors")
    np.savetxt(tmp_path / "points.csv", np.random.default_rng(0).normal(size=(5, 2)), delimiter=",")
    original = (tmp_path / "points.csv").read_bytes()
    out = run("predict", "m.safetensors", "points.csv", "-o", "points.csv", "--overwrite", cwd=tmp_path)
    assert out.returncode == 2 and "input" in out.stderr
    assert (tmp_path / "points.csv").read_bytes() == original
    (tmp_path / "p.csv").write_text("mine")
    out = run("predict", "m.safetensors", "points.csv", "-o", "p.csv", cwd=tmp_path)
    assert out.returncode == 2 and "--overwrite" in out.stderr
    assert (tmp_path / "p.csv").read_text() == "mine"
    out = run("predict", "m.safetensors", "points.csv", "-o", "p.csv", "--overwrite", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "p.csv").read_text().splitlines()[0].startswith("prediction")
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


# -- signals and leftovers ---------------------------------------------------------------------------------
def _start_long_training(tmp_path):
    proc = subprocess.Popen([*CLI, "train", "--epochs", "100000", "--no-progress", "--out", "run",
                             "--output.plots", "false"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # The optimizer line is printed just before training starts.
    line = ""
    deadline = time.monotonic() + 60
    while "optimizer:" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert "optimizer:" in line, proc.stderr.read()
    time.sleep(0.5)
    return proc


def test_sigterm_during_training_writes_a_loadable_run_and_exits_143(tmp_path):
    proc = _start_long_training(tmp_path)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["signal"] == "SIGTERM"
    assert 0 < metrics["epochs"] < 100000
    manifest = json.loads((tmp_path / "run" / "mlpcore-run.json").read_text())
    assert manifest["interrupted"] is True and manifest["signal"] == "SIGTERM"
    net = mlpcore.load(tmp_path / "run" / "model.safetensors")
    X, _ = datasets.spiral(n_per_class=10, seed=1)
    assert np.isfinite(net.predict_proba(X)).all()
    assert "interrupted" in stdout


def test_sigint_still_exits_130(tmp_path):
    proc = _start_long_training(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["signal"] == "SIGINT"


def test_a_killed_saves_temporaries_are_removed_by_the_next_save(tmp_path):
    # A real SIGKILL in the middle of saving a large model, then a save to the same place.
    target = tmp_path / "big.safetensors"
    code = ("import mlpcore, sys\nnet = mlpcore.MLP([2000, 4000, 2000, 10], seed=0)\nprint('ready', flush=True)\n"
            f"while True:\n    net.save({str(target)!r})\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob("big.safetensors.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.kill()
    proc.communicate()
    # Whether or not the kill landed mid-write, plant the leftovers a killed writer leaves, with a
    # process id that no longer exists; a live writer's temporary must survive.
    pid = dead_pid()
    (tmp_path / f"big.safetensors.tmp-{pid}-0").write_bytes(b"partial")
    (tmp_path / f"big.safetensors.tmp-{pid}-ab12cd34").write_bytes(b"partial, from Python")
    live = tmp_path / f"big.safetensors.tmp-{os.getpid()}-7"
    live.write_bytes(b"a save in progress")
    unrelated = tmp_path / "big.safetensors.tmp-notes"
    unrelated.write_text("not a temporary of ours")
    mlpcore.MLP([3, 2], seed=1).save(target)  # the C++ writer cleans up
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["big.safetensors", live.name, unrelated.name]), left
    assert mlpcore.load(target).n_inputs == 3


def test_python_writers_clean_up_after_killed_writers_and_failures(tmp_path):
    target = tmp_path / "history.json"
    pid = dead_pid()
    stale = tmp_path / f"history.json.tmp-{pid}-0011aabb"
    stale.write_text("{")
    with atomic_write(target) as f:
        f.write("{}")
    assert not stale.exists() and target.read_text() == "{}"
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("half")
        raise RuntimeError("disk on fire")
    assert target.read_text() == "{}"  # the previous file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]
    # A staging folder of a killed run is removed too.
    folder = tmp_path / f"run.tmp-{pid}-deadbeef"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"x")
    assert remove_stale_temps(tmp_path / "run") == [str(folder)]


def test_sigkilled_training_run_leaves_nothing_the_next_run_keeps(tmp_path):
    proc = _start_long_training(tmp_path)
    proc.kill()
    proc.communicate()
    # Simulate the worst case: a killed run's staging folder, inside and beside the output.
    pid = dead_pid()
    (tmp_path / f"run.tmp-{pid}-0a0b0c0d").mkdir()
    out = run("train", "--epochs", "1", "--no-progress", "--out", "run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (tmp_path / "run" / f".mlpcore-staging.tmp-{pid}-01020304").mkdir()
    out = run("train", "--epochs", "1", "--no-progress", "--out", "run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert not [p for p in (tmp_path / "run").iterdir() if ".tmp-" in p.name]


# -- pickles keep the whole state --------------------------------------------------------------------------
@pytest.mark.parametrize("make_opt", [
    lambda: mlpcore.Adam(lr=1e-2),
    lambda: mlpcore.Adam(lr=1e-2, amsgrad=True),
    lambda: mlpcore.AdamW(lr=1e-2),
    lambda: mlpcore.SGD(lr=0.05, momentum=0.9, nesterov=True),
    lambda: mlpcore.SGD(lr=0.05),
], ids=["adam", "amsgrad", "adamw", "sgd-nesterov", "sgd"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_pickled_trainer_continues_bit_identically(make_opt, dtype):
    X, y = datasets.spiral(n_per_class=60, seed=0)
    net = mlpcore.MLP([2, 16, 4], activation="relu", init="he", seed=3, dtype=dtype)
    trainer = mlpcore.Trainer(net, make_opt(), batch_size=32, epochs=2, progress=False,
                              lr_schedule=mlpcore.ReduceLROnPlateau(patience=1, monitor="loss"))
    trainer.fit(X, y)
    copy = pickle.loads(pickle.dumps(trainer))
    assert copy.optimizer.steps == trainer.optimizer.steps > 0
    trainer.fit(X, y)
    copy.fit(X, y)
    assert copy.epoch == trainer.epoch == 4
    np.testing.assert_array_equal(copy.net.parameters, trainer.net.parameters)


def test_optimizer_state_dict_round_trip_and_errors():
    X, y = datasets.spiral(n_per_class=20, seed=0)
    net = mlpcore.MLP([2, 8, 4], seed=0)
    opt = mlpcore.Adam(lr=1e-2)
    for _ in range(3):
        net.train_step(X, y, opt)
    state = opt.state_dict()
    assert state["steps"] == 3 and state["size"] == net.n_params
    assert sorted(state["buffers"]) == ["exp_avg", "exp_avg_sq"]
    fresh = mlpcore.Adam(lr=1e-2)
    fresh.load_state_dict(state)
    net2 = mlpcore.MLP([2, 8, 4], seed=0)
    net2.parameters[...] = net.parameters
    net.train_step(X, y, opt)
    net2.train_step(X, y, fresh)
    np.testing.assert_array_equal(net.parameters, net2.parameters)
    bad = dict(state, buffers={"exp_avg": state["buffers"]["exp_avg"][:-1], "exp_avg_sq": state["buffers"]["exp_avg_sq"]})
    with pytest.raises(ValueError, match="exp_avg"):
        mlpcore.Adam().load_state_dict(bad)
    with pytest.raises(ValueError, match="buffers"):
        mlpcore.Adam(amsgrad=True).load_state_dict(state)
    with pytest.raises(ValueError, match="dtype"):
        mlpcore.Adam().load_state_dict(dict(state, dtype="float16"))


def test_a_pickled_estimator_continues_bit_identically():
    from mlpcore.sklearn import MLPClassifier

    X, y = datasets.spiral(n_per_class=40, seed=0)
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
    copy = pickle.loads(pickle.dumps(clf))
    for _ in range(3):
        clf.partial_fit(X, y)
        copy.partial_fit(X, y)
    for a, b in zip(clf.coefs_ + clf.intercepts_, copy.coefs_ + copy.intercepts_):
        np.testing.assert_array_equal(a, b)


# -- flags --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [("--epoch", "5"), ("--optimizer.l", "0.5"), ("--hid", "8")])
def test_flag_prefixes_are_usage_errors(tmp_path, flags):
    out = run("train", *flags, "--no-progress", cwd=tmp_path)
    assert out.returncode == 2
    assert f"unrecognized arguments: {flags[0]}" in out.stderr
    assert not (tmp_path / "mlpcore-run").exists()


def test_float_labels_stay_numbers(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b,label\n1,2,0.5\n3,4,1.5\n5,6,0.5\n7,8,2.5\n")
    X, y, names = datasets.read_csv(path, target="label")
    assert y.dtype == np.float64 and y.tolist() == [0.5, 1.5, 0.5, 2.5]
    whole = tmp_path / "w.csv"
    whole.write_text("a,b,label\n1,2,1.0\n3,4,2.0\n5,6,1.0\n")
    assert datasets.read_csv(whole, target="label")[1].dtype.kind == "i"
    # Non-integer numbers make a regression run, never string classes.
    rows = "\n".join(f"{i},{i % 7},{(i % 5) / 2}" for i in range(60))
    path.write_text("a,b,label\n" + rows + "\n")
    out = run("train", "--data", "csv", "--data.path", path, "--data.target", "label", "--epochs", "2",
              "--no-progress", "--json", "--out", tmp_path / "run", "--output.plots", "false", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "r2" in json.loads(out.stdout)["test"]
