"""The Trainer's History for the poisson loss: train/val mean Poisson deviance against scikit-learn's
mean_poisson_deviance, early stopping on it (lower is better), and the streamed and (simulated)
distributed loops recording what the in-memory loop records."""
import numpy as np
import pytest

import mlpcore
from mlpcore.distributed import DistributedTrainer
from mlpcore.train import _monitored

sklearn_metrics = pytest.importorskip("sklearn.metrics")
mean_poisson_deviance = sklearn_metrics.mean_poisson_deviance


def counts(n=240, seed=0, sign=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = rng.poisson(np.exp(sign * (0.8 * X[:, 0] - 0.5 * X[:, 1]) + 0.2)).astype(np.float64)
    w = rng.uniform(0.1, 2.0, size=n)
    return X, y, w


def sk_deviance(net, X, y, w=None):
    return mean_poisson_deviance(y, np.exp(net.forward(X)[:, 0]), sample_weight=w)


def make_net(seed=1):
    return mlpcore.MLP([3, 8, 1], "tanh", output="exp", dtype="float64", seed=seed)


@pytest.mark.parametrize("weighted", [False, True])
def test_full_batch_history_is_sklearns_deviance(weighted):
    # One batch per epoch: epoch e's training loss is measured at the weights epoch e - 1 left
    # (before the update), the validation deviance after the epoch (validation_data is a pair:
    # unweighted; weighted validation is checked below through validation_split).
    X, y, w = counts()
    Xt, yt, Xv, yv = X[:180], y[:180], X[180:], y[180:]
    wt = w[:180] if weighted else None
    net = make_net()
    seen = []

    def record(trainer, logs):
        seen.append((dict(logs), sk_deviance(net, Xt, yt, wt), sk_deviance(net, Xv, yv)))

    before = sk_deviance(net, Xt, yt, wt)
    trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=0.05), batch_size=1000, epochs=5, progress=False,
                              validation_data=(Xv, yv), callbacks=[record])
    history = trainer.fit(Xt, yt, sample_weight=wt)
    assert history.metric == "deviance" and history.metric_key == "deviance"
    assert list(history.as_dict()) == ["epoch", "loss", "train_deviance", "val_loss", "val_deviance", "lr",
                                       "seconds"]
    train_before = [before] + [s[1] for s in seen[:-1]]
    np.testing.assert_allclose(history.train_metric, train_before, rtol=1e-10)
    np.testing.assert_allclose(history.val_metric, [s[2] for s in seen], rtol=1e-10)
    for (logs, _, _), tr, va in zip(seen, history.train_metric, history.val_metric):
        assert logs["train_deviance"] == tr and logs["val_deviance"] == va
    assert history.train_metric[-1] < history.train_metric[0]


@pytest.mark.parametrize("weighted", [False, True])
def test_minibatch_history_with_a_frozen_model_is_sklearns_deviance(weighted):
    # lr = 0: the weights never change, so the epoch's batch losses (weighted by each batch's
    # weight sum) make the whole training set's deviance, and validation_split carries the
    # held-out rows' sample weights.
    X, y, w = counts()
    w = w if weighted else None
    net = make_net()
    trainer = mlpcore.Trainer(net, mlpcore.SGD(lr=0.0), batch_size=32, epochs=2, progress=False,
                              validation_split=0.25, seed=4)
    history = trainer.fit(X, y, sample_weight=w)
    n_val = round(len(X) * 0.25)
    perm = np.random.default_rng(4).permutation(len(X))  # Trainer._split's held-out rows
    vi, ti = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    pick = (lambda i: None if w is None else w[i])
    train_dev, val_dev = sk_deviance(net, X[ti], y[ti], pick(ti)), sk_deviance(net, X[vi], y[vi], pick(vi))
    np.testing.assert_allclose(history.train_metric, [train_dev] * 2, rtol=1e-10)
    np.testing.assert_allclose(history.val_metric, [val_dev] * 2, rtol=1e-10)
    assert trainer.evaluate(X[vi], y[vi], None if w is None else w[vi])["deviance"] == pytest.approx(
        history.val_metric[-1], rel=1e-12)


def test_deviance_monitors_are_lower_is_better():
    for key in ("val_deviance", "train_deviance"):
        value, better = _monitored({key: 1.0, "loss": 5.0}, key)
        assert value == 1.0 and better(0.5, 1.0, 0.0) and not better(1.5, 1.0, 0.0)
    assert mlpcore.EarlyStopping(monitor="val_deviance").monitor == "val_deviance"
    # another run's metric (here accuracy) falls back to the training loss
    assert _monitored({"loss": 2.0, "val_accuracy": 0.5}, "val_deviance")[0] == 2.0


def test_early_stopping_on_val_deviance_stops_when_it_rises():
    # Validation counts follow the opposite relation: once the net learns the training one,
    # the validation deviance rises and early stopping ends the run at the best epoch + patience.
    X, y, _ = counts(400)
    Xv, yv, _ = counts(200, seed=1, sign=-1.0)
    net = make_net()
    es = mlpcore.EarlyStopping(patience=3, monitor="val_deviance", restore_best=True)
    trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=0.02), batch_size=32, epochs=200, progress=False,
                              validation_data=(Xv, yv), early_stopping=es)
    history = trainer.fit(X, y)
    val = np.array(history.val_metric)
    best = int(np.argmin(val))
    assert history.stopped_early and len(history) < 200
    assert history.best_epoch == history.epoch[best]
    assert len(history) == best + 1 + es.patience
    assert (val[best + 1:] >= val[best]).all() and val[-1] > val[best]
    # restore_best put back the best epoch's weights
    assert sk_deviance(net, Xv, yv) == pytest.approx(val[best], rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_streamed_loop_records_the_in_memory_deviance(weighted):
    X, y, w = counts(300)
    Xv, yv, wv = counts(90, seed=2)
    w = w if weighted else None

    def run(train, val, **kw):
        net = make_net()
        trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=0.02), batch_size=30, epochs=3, shuffle=False,
                                  progress=False, validation_data=val)
        return net, trainer.fit(*train, **kw)

    ref_net, ref = run((X, y, w), (Xv, yv))
    chunks = [(X[i:i + 60], y[i:i + 60]) + (() if w is None else (w[i:i + 60],)) for i in range(0, 300, 60)]
    net, streamed = run((chunks,), [(Xv[:40], yv[:40]), (Xv[40:], yv[40:])], shuffle_buffer=90)
    assert streamed.metric == "deviance"
    np.testing.assert_allclose(net.parameters, ref_net.parameters, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(streamed.train_metric, ref.train_metric, rtol=1e-10)
    np.testing.assert_allclose(streamed.val_metric, ref.val_metric, rtol=1e-10)
    np.testing.assert_allclose(streamed.val_metric[-1], sk_deviance(net, Xv, yv), rtol=1e-10)
    # a weighted validation stream is weighted like sklearn's sample_weight
    _, weighted_val = run((chunks,), [(Xv, yv, wv)], shuffle_buffer=90)
    np.testing.assert_allclose(weighted_val.val_metric[-1], sk_deviance(net, Xv, yv, wv), rtol=1e-10)


@pytest.mark.parametrize("ranks", [1, 3])
def test_distributed_loop_records_the_in_memory_deviance(ranks):
    X, y, w = counts(300)
    Xv, yv, _ = counts(90, seed=2)

    def run(cls, **kw):
        net = make_net()
        trainer = cls(net, mlpcore.Adam(lr=0.02), batch_size=64, epochs=3, progress=False,
                      validation_data=(Xv, yv), **kw)
        return net, trainer.fit(X, y, sample_weight=w)

    _, ref = run(mlpcore.Trainer)
    net, dist = run(DistributedTrainer, simulate_ranks=ranks)
    assert dist.metric == "deviance"
    np.testing.assert_allclose(dist.train_metric, ref.train_metric, rtol=1e-10)
    np.testing.assert_allclose(dist.val_metric, ref.val_metric, rtol=1e-10)
    np.testing.assert_allclose(dist.val_metric[-1], sk_deviance(net, Xv, yv), rtol=1e-10)


def test_progress_bar_and_learning_curves_show_the_deviance():
    from mlpcore._progress import postfix

    logs = {"loss": 1.0, "train_deviance": 0.5, "val_loss": 1.2, "val_deviance": 0.7}
    assert postfix(logs, "deviance") == {"loss": "1.0000", "dev": "0.5000", "val_loss": "1.2000",
                                         "val_dev": "0.7000"}
    pytest.importorskip("matplotlib")
    from mlpcore.plot import learning_curves

    X, y, _ = counts()
    history = mlpcore.Trainer(make_net(), mlpcore.Adam(lr=0.02), epochs=3, progress=False,
                              validation_split=0.25).fit(X, y)
    fig = learning_curves(history)
    ax = fig.axes[1]
    assert ax.get_title() == "Poisson deviance"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), history.val_metric)
