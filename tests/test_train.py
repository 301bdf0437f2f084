"""Trainer: learning, history, schedules, early stopping, warm start, labels, failures, Ctrl-C."""
import math
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mlpcore
from mlpcore import CosineLR, EarlyStopping, ExponentialLR, ReduceLROnPlateau, StepLR, Trainer, datasets


def two_blobs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(-1.5, 1.0, (n // 2, 2)), rng.normal(1.5, 1.0, (n // 2, 2))].astype(np.float32)
    y = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    return X, y


def test_fit_learns_and_records_every_epoch():
    X, y = two_blobs()
    net = mlpcore.MLP([2, 16, 2], seed=0)
    tr = Trainer(net, mlpcore.Adam(lr=1e-2), batch_size=32, epochs=15, validation_split=0.25, progress=False)
    h = tr.fit(X, y)
    assert len(h) == 15 and h.epoch == list(range(1, 16))
    assert h.loss[-1] < h.loss[0]
    assert h.val_metric[-1] > 0.85 and h.train_metric[-1] > 0.85
    assert all(s > 0 for s in h.seconds) and h.lr == [1e-2] * 15
    assert not h.interrupted and not h.stopped_early


def test_epoch_loss_equals_numpy_mean_of_batch_losses_without_shuffle():
    # With shuffle off and one batch per epoch, the epoch's loss is the loss before the update,
    # which a separate evaluation of the starting weights reproduces.
    X, y = two_blobs(64)
    net = mlpcore.MLP([2, 8, 2], seed=3, dtype="float64")
    before = net.loss(X, y)
    before_acc = float(np.mean(net.predict(X) == y))
    tr = Trainer(net, mlpcore.SGD(lr=0.1), batch_size=64, epochs=1, shuffle=False, progress=False)
    h = tr.fit(X, y)
    assert h.loss[0] == pytest.approx(before, rel=1e-12)
    # Running accuracy is measured on the batch before its update.
    assert h.train_metric[0] == before_acc


def test_string_labels_are_stored_and_predicted():
    X, y = two_blobs()
    labels = np.where(y == 0, "cat", "dog")
    net = mlpcore.MLP([2, 8, 2], seed=0)
    Trainer(net, mlpcore.Adam(1e-2), epochs=10, progress=False).fit(X, labels)
    assert net.classes.tolist() == ["cat", "dog"]
    assert np.mean(net.predict(X) == labels) > 0.9
    with pytest.raises(ValueError, match="not classes"):
        Trainer(net, mlpcore.Adam(), epochs=1, progress=False).fit(X, np.where(y == 0, "cat", "cow"))


def test_wrong_class_count_is_refused():
    X, y = two_blobs()
    net = mlpcore.MLP([2, 8, 3], seed=0)
    with pytest.raises(ValueError, match="2 distinct classes"):
        Trainer(net, mlpcore.Adam(), epochs=1, progress=False).fit(X, np.where(y == 0, "a", "b"))


def test_warm_start_continues_epochs_and_optimizer_state():
    X, y = two_blobs()
    net = mlpcore.MLP([2, 8, 2], seed=0)
    opt = mlpcore.Adam(1e-2)
    tr = Trainer(net, opt, batch_size=50, epochs=3, progress=False)
    tr.fit(X, y)
    h2 = tr.fit(X, y)
    assert h2.epoch == [4, 5, 6] and opt.steps == 6 * 8
    # The same six epochs in one call give the same weights (shuffles depend on seed and epoch).
    net_b = mlpcore.MLP([2, 8, 2], seed=0)
    Trainer(net_b, mlpcore.Adam(1e-2), batch_size=50, epochs=6, progress=False).fit(X, y)
    np.testing.assert_array_equal(net.parameters, net_b.parameters)


@pytest.mark.parametrize("schedule, formula", [
    (StepLR(step_size=3, gamma=0.5), lambda e: 0.1 * 0.5 ** (e // 3)),
    (ExponentialLR(gamma=0.9), lambda e: 0.1 * 0.9 ** e),
    (CosineLR(t_max=8, min_lr=0.01), lambda e: 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * min(e, 8) / 8)) / 2),
    ("constant", lambda e: 0.1),
])
def test_learning_rate_schedules_follow_their_formula(schedule, formula):
    X, y = two_blobs(100)
    net = mlpcore.MLP([2, 4, 2], seed=0)
    h = Trainer(net, mlpcore.SGD(lr=0.1), epochs=10, lr_schedule=schedule, progress=False).fit(X, y)
    np.testing.assert_allclose(h.lr, [formula(e) for e in range(10)], rtol=1e-12)


def test_reduce_on_plateau_cuts_after_patience():
    sched = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.0, monitor="loss")
    seen = []
    for loss in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8]:
        seen.append(sched.lr(0, 1.0))
        sched.update({"loss": loss})
    # no improvement on epochs 3 and 4 -> cut before epoch 5; again after 5 and 6 -> cut before 7
    assert seen == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25]


def test_early_stopping_restores_best_weights():
    X, y = two_blobs(200)
    Xv, yv = two_blobs(200, seed=1)
    net = mlpcore.MLP([2, 32, 2], seed=0)
    snapshots = {}

    def keep(trainer, logs):
        snapshots[logs["epoch"]] = trainer.net.parameters.copy()

    # A large learning rate makes the validation loss noisy, so it stops improving quickly.
    tr = Trainer(net, mlpcore.SGD(lr=2.0), batch_size=8, epochs=200, validation_data=(Xv, yv),
                 early_stopping=EarlyStopping(patience=3), callbacks=[keep], progress=False)
    h = tr.fit(X, y)
    assert h.stopped_early and len(h) < 200
    best = int(np.nanargmin(h.val_loss)) + 1
    assert h.best_epoch == best and len(h) == best + 3
    np.testing.assert_array_equal(net.parameters, snapshots[best])
    assert net.loss(Xv, yv) == pytest.approx(h.val_loss[best - 1], rel=1e-5)


def test_callback_can_stop_training():
    X, y = two_blobs(100)
    h = Trainer(mlpcore.MLP([2, 4, 2]), mlpcore.Adam(), epochs=50, progress=False,
                callbacks=[lambda tr, logs: logs["epoch"] >= 4]).fit(X, y)
    assert len(h) == 4


def test_non_finite_loss_names_epoch_and_batch_and_keeps_last_good_weights():
    X, y = two_blobs(256)
    X = X * 1e3
    net = mlpcore.MLP([2, 64, 2], activation="relu", seed=0)
    tr = Trainer(net, mlpcore.SGD(lr=1e6), batch_size=32, epochs=5, progress=False)
    with pytest.raises(mlpcore.NonFiniteLossError, match=r"epoch \d+, batch \d+") as info:
        tr.fit(X, y)
    err = info.value
    assert err.epoch >= 1 and err.batch >= 1
    assert np.isfinite(net.parameters).all()
    assert len(err.history) == err.epoch - 1


def test_regression_reports_r2():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (400, 1)).astype(np.float32)
    y = np.sin(X[:, 0]) + 0.05 * rng.standard_normal(400)
    net = mlpcore.MLP([1, 32, 1], activation="tanh", output="identity", init="xavier", seed=0)
    tr = Trainer(net, mlpcore.Adam(1e-2), batch_size=32, epochs=60, validation_split=0.2, progress=False)
    h = tr.fit(X, y)
    assert h.metric == "r2" and h.val_metric[-1] > 0.95
    r2 = tr.evaluate(X, y)["r2"]
    pred = net.predict(X)
    ref = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2 == pytest.approx(ref, abs=1e-5)


def test_evaluate_matches_numpy():
    X, y = two_blobs()
    net = mlpcore.MLP([2, 8, 2], seed=1)
    Trainer(net, mlpcore.Adam(1e-2), epochs=3, progress=False).fit(X, y)
    res = Trainer(net, mlpcore.Adam(), progress=False).evaluate(X, y)
    assert res["accuracy"] == pytest.approx(np.mean(net.predict(X) == y))
    p = net.predict_proba(X).astype(np.float64)
    assert res["loss"] == pytest.approx(-np.mean(np.log(p[np.arange(len(y)), y])), rel=1e-4)


def test_history_files(tmp_path):
    X, y = two_blobs(100)
    h = Trainer(mlpcore.MLP([2, 4, 2]), mlpcore.Adam(), epochs=3, progress=False).fit(X, y)
    h.to_csv(tmp_path / "h.csv")
    h.to_json(tmp_path / "h.json")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0].split(",") == ["epoch", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
    assert len(lines) == 4
    import json

    data = json.loads((tmp_path / "h.json").read_text())
    assert data["loss"] == h.loss and data["val_loss"] == [None] * 3 and data["interrupted"] is False


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size"), ({"epochs": -1}, "epochs"), ({"validation_split": 1.0}, "validation_split"),
    ({"lr_schedule": "bogus"}, "lr_schedule"), ({"validation_data": (1, 2, 3)}, "validation_data"),
])
def test_bad_trainer_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Trainer(mlpcore.MLP([2, 2]), mlpcore.Adam(), **kwargs)


def test_sigint_stops_cleanly_and_keeps_model_and_history(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, threading, numpy as np, mlpcore
        rng = np.random.default_rng(0)
        X = rng.normal(size=(20000, 32)).astype(np.float32); y = rng.integers(0, 4, 20000)
        net = mlpcore.MLP([32, 256, 256, 4], seed=0)
        def ready(trainer, logs):
            if logs["epoch"] == 1:
                threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        tr = mlpcore.Trainer(net, mlpcore.Adam(), batch_size=64, epochs=10000, progress=False, callbacks=[ready])
        h = tr.fit(X, y)
        net.save(r"{tmp_path / 'm.safetensors'}"); h.to_json(r"{tmp_path / 'h.json'}")
        print("interrupted", h.interrupted, len(h))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    flag, epochs = out.stdout.split()[1:]
    assert flag == "True" and 1 <= int(epochs) < 10000
    net = mlpcore.load(tmp_path / "m.safetensors")
    assert np.isfinite(net.parameters).all()


def test_evaluating_needs_no_optimizer_and_changes_nothing():
    X, y = datasets.spiral(n_per_class=30, seed=0)
    net = mlpcore.MLP([2, 8, 4], seed=0)
    before = net.parameters.copy()
    result = net.evaluate(X, y)
    assert set(result) == {"loss", "accuracy"} and 0 <= result["accuracy"] <= 1
    assert net.classes is None and np.array_equal(net.parameters, before)
    # Labels that are not class indices need the classes a fit stores; evaluation never invents them.
    with pytest.raises(ValueError, match="no classes yet"):
        net.evaluate(X, np.array(["a", "b", "c", "d"])[y])
    assert net.classes is None
    trainer = mlpcore.Trainer(net, mlpcore.Adam(), epochs=1, progress=False)
    trainer.fit(X, np.array(["a", "b", "c", "d"])[y])
    assert net.evaluate(X, np.array(["a", "b", "c", "d"])[y]) == trainer.evaluate(X, np.array(["a", "b", "c", "d"])[y])
