"""Training: whole epochs run in the C++ engine with the GIL released; this module handles labels,
validation, schedules, early stopping, callbacks, progress and Ctrl-C between epochs."""
from __future__ import annotations

import csv
import json
import math
import signal
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ._files import atomic_write
from ._checks import as_matrix, as_weights, check_number
from ._checks import is_stream as _is_stream
from ._progress import EpochBar
from .model import MLP, _choice, metric_from_loss, metric_name, target_statistic

__all__ = [
    "Trainer",
    "History",
    "EarlyStopping",
    "ConstantLR",
    "StepLR",
    "ExponentialLR",
    "CosineLR",
    "ReduceLROnPlateau",
    "NonFiniteLossError",
]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite. ``epoch`` and ``batch`` say where; the model holds the
    weights of the last good epoch and ``history`` the epochs completed before."""

    def __init__(self, message, epoch, batch, history):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.history = history


# -- learning-rate schedules ----------------------------------------------------------------------
class ConstantLR:
    """lr(epoch) = base_lr."""

    def lr(self, epoch: int, base_lr: float) -> float:
        return base_lr

    def update(self, metrics: dict) -> None:
        """Called after each epoch with its logs (only stateful schedules use it)."""

    def __repr__(self):
        return f"{type(self).__name__}()"


class StepLR(ConstantLR):
    """lr(epoch) = base_lr * gamma ** (epoch // step_size) (epochs count from 0)."""

    def __init__(self, step_size: int = 30, gamma: float = 0.1):
        self.step_size = check_number(step_size, "step_size", low=1, integer=True)
        self.gamma = check_number(gamma, "gamma", low=0, high=1, low_open=True)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)

    def __repr__(self):
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma:g})"


class ExponentialLR(ConstantLR):
    """lr(epoch) = base_lr * gamma ** epoch."""

    def __init__(self, gamma: float = 0.95):
        self.gamma = check_number(gamma, "gamma", low=0, high=1, low_open=True)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** epoch

    def __repr__(self):
        return f"ExponentialLR(gamma={self.gamma:g})"


class CosineLR(ConstantLR):
    """lr(epoch) = min_lr + (base_lr - min_lr) * (1 + cos(pi * min(epoch, t_max) / t_max)) / 2."""

    def __init__(self, t_max: int = 100, min_lr: float = 0.0):
        self.t_max = check_number(t_max, "t_max", low=1, integer=True)
        self.min_lr = check_number(min_lr, "min_lr", low=0)

    def lr(self, epoch, base_lr):
        e = min(epoch, self.t_max)
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * e / self.t_max)) / 2

    def __repr__(self):
        return f"CosineLR(t_max={self.t_max}, min_lr={self.min_lr:g})"


class ReduceLROnPlateau(ConstantLR):
    """Multiply the rate by ``factor`` (not below ``min_lr``) once ``monitor`` has not improved by
    more than ``min_delta`` for ``patience`` epochs in a row; then wait ``patience`` again.
    ``monitor`` falls back from a validation metric to the training loss when there is no
    validation data."""

    def __init__(self, factor: float = 0.1, patience: int = 10, min_delta: float = 1e-4,
                 monitor: str = "val_loss", min_lr: float = 0.0):
        self.factor = check_number(factor, "factor", low=0, high=1, low_open=True, high_open=True)
        self.patience = check_number(patience, "patience", low=0, integer=True)
        self.min_delta = check_number(min_delta, "min_delta", low=0)
        self.monitor = _choice(monitor, _MONITORS, "monitor")
        self.min_lr = check_number(min_lr, "min_lr", low=0)
        self._scale = 1.0
        self._best = None
        self._wait = 0

    def lr(self, epoch, base_lr):
        return max(base_lr * self._scale, self.min_lr)

    def update(self, metrics):
        value, better = _monitored(metrics, self.monitor)
        if value is None:
            return
        if self._best is None or better(value, self._best, self.min_delta):
            self._best = value
            self._wait = 0
        else:
            self._wait += 1
            if self._wait >= self.patience:
                self._scale *= self.factor
                self._wait = 0

    def __repr__(self):
        return (f"ReduceLROnPlateau(factor={self.factor:g}, patience={self.patience}, "
                f"monitor={self.monitor!r})")


_SCHEDULES = {"constant": ConstantLR, "step": StepLR, "exponential": ExponentialLR, "cosine": CosineLR,
              "plateau": ReduceLROnPlateau}
_MONITORS = ("val_loss", "val_accuracy", "val_r2", "val_deviance", "loss", "train_accuracy", "train_r2",
             "train_deviance")
# Monitors that improve by falling; the others (accuracy, R²) improve by rising.
_LOWER_IS_BETTER = ("loss", "deviance")


def _monitored(logs: dict, monitor: str):
    """(value, better) for the monitored metric, falling back to the training loss."""
    value = logs.get(monitor)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        monitor, value = "loss", logs.get("loss")
    if monitor.endswith(_LOWER_IS_BETTER):
        return value, lambda new, best, delta: new < best - delta
    return value, lambda new, best, delta: new > best + delta


# -- early stopping ---------------------------------------------------------------------------------
class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    patience : int >= 1, default 10
    min_delta : float >= 0, default 0.0
    monitor : str, default "val_loss"
        ``val_loss``, ``val_accuracy``, ``val_r2``, ``val_deviance``, ``loss``, ``train_accuracy``,
        ``train_r2`` or ``train_deviance`` (losses and deviances must fall, accuracy and R² rise);
        without validation data the training loss is used.
    restore_best : bool, default True
        Put back the weights of the best epoch when training ends.
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, monitor: str = "val_loss",
                 restore_best: bool = True):
        self.patience = check_number(patience, "patience", low=1, integer=True)
        self.min_delta = check_number(min_delta, "min_delta", low=0)
        self.monitor = _choice(monitor, _MONITORS, "monitor")
        self.restore_best = bool(restore_best)

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta:g}, "
                f"monitor={self.monitor!r}, restore_best={self.restore_best})")


# -- history ------------------------------------------------------------------------------------------
@dataclass
class History:
    """Per-epoch record of a :meth:`Trainer.fit` call.

    Each list has one entry per completed epoch. ``train_accuracy`` is measured on each batch as
    it is trained (before its update); ``val_*`` are measured after the epoch. For regression
    the metric is R² (``train_r2``/``val_r2``, variance-weighted over outputs) instead of
    accuracy; for the ``poisson`` loss it is the mean Poisson deviance (``train_deviance``/
    ``val_deviance``, sample-weighted, lower is better; the training one from the same batch
    losses as ``loss``). Missing values are NaN. ``interrupted`` is True when Ctrl-C (SIGINT), SIGTERM or a
    stop request ended training early; ``signal`` then names the signal ("SIGINT", "SIGTERM").
    """

    metric: str = "accuracy"
    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_metric: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    interrupted: bool = False
    signal: str | None = None
    stopped_early: bool = False
    best_epoch: int | None = None

    def __len__(self):
        return len(self.epoch)

    def _append(self, logs):
        self.epoch.append(logs["epoch"])
        self.loss.append(logs["loss"])
        self.train_metric.append(logs[f"train_{self.metric_key}"])
        self.val_loss.append(logs["val_loss"])
        self.val_metric.append(logs[f"val_{self.metric_key}"])
        self.lr.append(logs["lr"])
        self.seconds.append(logs["seconds"])

    @property
    def metric_key(self) -> str:
        return self.metric if self.metric in ("accuracy", "deviance") else "r2"

    def as_dict(self) -> dict:
        """Columns as lists: epoch, loss, train_<metric>, val_loss, val_<metric>, lr, seconds."""
        k = self.metric_key
        return {"epoch": list(self.epoch), "loss": list(self.loss), f"train_{k}": list(self.train_metric),
                "val_loss": list(self.val_loss), f"val_{k}": list(self.val_metric), "lr": list(self.lr),
                "seconds": list(self.seconds)}

    def to_csv(self, path) -> None:
        """Write one row per epoch (atomically)."""
        cols = self.as_dict()
        with atomic_write(path, newline="") as f:
            w = csv.writer(f)
            w.writerow(list(cols))
            for row in zip(*cols.values()):
                w.writerow(["" if isinstance(v, float) and math.isnan(v) else repr(v) if isinstance(v, float)
                            else v for v in row])

    def to_json(self, path) -> None:
        """Write the columns and the flags as JSON (NaN as null), atomically."""
        data = {k: [None if isinstance(v, float) and math.isnan(v) else v for v in col]
                for k, col in self.as_dict().items()}
        data.update(metric=self.metric, interrupted=self.interrupted, signal=self.signal,
                    stopped_early=self.stopped_early,
                    best_epoch=self.best_epoch)
        with atomic_write(path) as f:
            json.dump(data, f, indent=1)


class _AfterEpoch:
    """What follows every epoch, in memory and streamed: record the logs, step the schedule, call the
    callbacks, track early stopping. Calling it with an epoch's logs says whether to stop."""

    def __init__(self, trainer, history):
        self.trainer, self.history = trainer, history
        self.best_value, self.best_params, self.wait = None, None, 0

    def __call__(self, logs) -> bool:
        trainer, history, es = self.trainer, self.history, self.trainer.early_stopping
        history._append(logs)
        trainer.lr_schedule.update(logs)
        stop = any(bool(cb(trainer, logs)) for cb in trainer.callbacks)
        if es is not None:
            value, better = _monitored(logs, es.monitor)
            if self.best_value is None or better(value, self.best_value, es.min_delta):
                self.best_value, self.wait, history.best_epoch = value, 0, trainer.epoch
                if es.restore_best:
                    self.best_params = trainer.net.parameters.copy()
            else:
                self.wait += 1
                if self.wait >= es.patience:
                    history.stopped_early = stop = True
        return stop

    def restore_best(self) -> None:
        es = self.trainer.early_stopping
        if es is not None and es.restore_best and self.best_params is not None:
            self.trainer.net.parameters[...] = self.best_params


# -- the trainer ----------------------------------------------------------------------------------------
class Trainer:
    """Mini-batch training of an :class:`MLP`, whole epochs at a time in the C++ engine.

    Parameters
    ----------
    net : MLP
    optimizer : SGD or Adam
        Its learning rate is the base rate of ``lr_schedule``.
    loss : str, optional
        Defaults to the loss matching ``net.output``.
    batch_size : int, default 128
    epochs : int, default 100
        Epochs per :meth:`fit` call.
    shuffle : bool, default True
        Reshuffle each epoch (the order depends only on ``seed`` and the epoch number).
    seed : int, default 0
        Seeds shuffling and the validation split.
    validation_data : (X_val, y_val), optional
    validation_split : float in [0, 1), default 0.0
        Hold out this fraction of ``X`` (a seeded random subset) when ``validation_data`` is None.
    early_stopping : EarlyStopping, optional
    lr_schedule : str or schedule, optional
        ``"constant"``, ``"step"``, ``"exponential"``, ``"cosine"``, ``"plateau"`` or an instance of
        :class:`StepLR`, :class:`ExponentialLR`, :class:`CosineLR`, :class:`ReduceLROnPlateau`.
    callbacks : sequence of callables ``cb(trainer, logs) -> bool | None``
        Called after each epoch with the epoch's logs; returning True stops training.
    progress : bool, default True
        Show a progress bar (tqdm) with live loss and accuracy.

    Notes
    -----
    Ctrl-C (SIGINT) or SIGTERM during :meth:`fit` finishes the current batch and returns the
    History with ``interrupted=True`` and ``signal`` naming it; the model is usable. The same signal
    a second time gives up at once (KeyboardInterrupt; SystemExit(143) for SIGTERM). Handlers
    are installed only while ``fit`` runs, in the main thread, and restored afterwards.
    A Trainer pickles whole: the model, the optimizer's moments and step count, the schedule
    and the epoch count, so an unpickled copy continues bit-identically.
    ``fit`` called again continues training (epochs, optimizer state and schedule carry on).
    """

    def __init__(self, net: MLP, optimizer, loss=None, batch_size=128, epochs=100, shuffle=True, seed=0,
                 validation_data=None, validation_split=0.0, early_stopping=None, lr_schedule=None,
                 callbacks=(), progress=True):
        if not isinstance(net, MLP):
            raise TypeError(f"net must be an mlpcore.MLP, got {type(net).__name__}")
        if not hasattr(optimizer, "_engine"):
            raise TypeError(f"optimizer must be mlpcore.SGD or mlpcore.Adam, got {type(optimizer).__name__}")
        self.net = net
        self.optimizer = optimizer
        self.loss = net._loss(loss)
        self.batch_size = check_number(batch_size, "batch_size", low=1, integer=True)
        self.epochs = check_number(epochs, "epochs", low=0, integer=True)
        self.shuffle = bool(shuffle)
        self.seed = check_number(seed, "seed", low=0, high=2**64 - 1, integer=True)
        if validation_data is not None and not _is_stream(validation_data) and (
                not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2):
            raise ValueError("validation_data must be a pair (X_val, y_val) or a data source")
        self.validation_data = validation_data
        self.validation_split = check_number(validation_split, "validation_split", low=0, high=1, high_open=True)
        if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
            raise TypeError("early_stopping must be an mlpcore.train.EarlyStopping")
        self.early_stopping = early_stopping
        if lr_schedule is None:
            lr_schedule = ConstantLR()
        elif isinstance(lr_schedule, str):
            lr_schedule = _SCHEDULES[_choice(lr_schedule, tuple(_SCHEDULES), "lr_schedule")]()
        elif not isinstance(lr_schedule, ConstantLR):
            raise TypeError("lr_schedule must be a name or a schedule from mlpcore.train")
        self.lr_schedule = lr_schedule
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not callable(cb):
                raise TypeError(f"callbacks must be callables, got {cb!r}")
        self.progress = bool(progress)
        self.base_lr = optimizer.lr
        self.epoch = 0  # epochs trained so far, over all fit calls
        self._stop_requested = False
        self._stop_signal = None

    # -- evaluation ----------------------------------------------------------------------------
    def _prepare(self, X, y, sample_weight=None, learn_classes=False):
        X = as_matrix(X, self.net.dtype, "X", self.net.n_inputs)
        t = self.net.encode_targets(y, X.shape[0], self.loss, learn_classes=learn_classes)
        w = as_weights(sample_weight, self.net.dtype, X.shape[0])
        return X, t, w

    def _metric_name(self):
        return metric_name(self.loss)

    def evaluate(self, X, y, sample_weight=None) -> dict:
        """Loss and accuracy (R² for mse, mean Poisson deviance for poisson) of the model on a
        data set, with this trainer's loss; the same as ``net.evaluate(X, y, sample_weight, loss)``.

        Returns
        -------
        dict
            ``{"loss": float, "accuracy": float}``, ``{"loss": float, "r2": float}`` or
            ``{"loss": float, "deviance": float}``.
        """
        return self.net.evaluate(X, y, sample_weight, loss=self.loss)

    # -- the loop -----------------------------------------------------------------------------------
    def _split(self, X, t, w):
        if self.validation_data is not None:
            Xv, tv, wv = self._prepare(*self.validation_data)
            return X, t, w, Xv, tv, wv
        if self.validation_split > 0:
            n = X.shape[0]
            n_val = int(round(n * self.validation_split))
            if n_val < 1 or n_val >= n:
                raise ValueError(f"validation_split={self.validation_split} leaves no rows for training or validation")
            perm = np.random.default_rng(self.seed).permutation(n)
            vi, ti = np.sort(perm[:n_val]), np.sort(perm[n_val:])
            pick = (lambda a, i: None if a is None else np.ascontiguousarray(a[i]))
            return pick(X, ti), pick(t, ti), pick(w, ti), pick(X, vi), pick(t, vi), pick(w, vi)
        return X, t, w, None, None, None

    def _install_signal_handlers(self):
        """While fit runs (main thread only): SIGINT and SIGTERM ask the engine to stop after the
        current batch; the same signal a second time gives up at once (KeyboardInterrupt, or
        SystemExit(143) for SIGTERM). Returns the previous handlers, to restore."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum, frame):
            if self._stop_requested:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                if signum == signal.SIGTERM:
                    raise SystemExit(128 + signal.SIGTERM)
                raise KeyboardInterrupt
            self._stop_requested = True
            self._stop_signal = signal.Signals(signum).name

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        return previous

    @staticmethod
    def _restore_signal_handlers(previous) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    # The epoch policy, shared by the in-memory loop below and the streamed one (streaming.py).
    def _check_finite_loss(self, res, snapshot, history, batches_before: int = 0) -> None:
        """After a non-finite loss: put back the weights of the epoch's start and raise."""
        if not res.non_finite:
            return
        self.net.parameters[...] = snapshot
        batch = batches_before + res.bad_batch + 1
        raise NonFiniteLossError(
            f"the loss became {res.loss} at epoch {self.epoch + 1}, batch {batch}; the weights of the last "
            f"good epoch ({self.epoch}) were kept — try a lower learning rate", self.epoch + 1, batch, history)

    def _mark_interrupted(self, history) -> None:
        history.interrupted, history.signal = True, self._stop_signal

    def _stop_after(self, stop: bool, history) -> bool:
        """Whether training ends after this epoch (a callback, early stopping or a signal; agreed
        with the other processes in distributed training)."""
        if not self._agree_stop(stop or self._stop_requested):
            return False
        if self._stop_requested:
            self._mark_interrupted(history)
        return True

    def fit(self, X, y=None, sample_weight=None, **stream) -> History:
        """Train for ``epochs`` epochs (or until early stopping, a callback, or Ctrl-C).

        Parameters
        ----------
        X : array-like, shape (n, n_inputs), or a data source
            Converted once to a C-contiguous array of the model's dtype. A source streams data
            bigger than memory (see :func:`mlpcore.streaming.fit_source` and docs/large-data.md):
            a Parquet file or folder, a Feather, CSV/TSV or ``.npy`` file, a pair of ``.npy``
            paths, an :mod:`mlpcore.datasets` source, or a list or iterable of ``(X, y[, w])``
            chunks. ``validation_data`` may then be a source too.
        y : array-like, shape (n,) or (n, n_outputs)
            Class labels (ints or strings; stored in the model as ``net.classes``), 0/1 or
            probability targets, or regression targets. For a file source: the target column
            (name or index, default the last).
        sample_weight : array-like, shape (n,), optional
        **stream
            Streaming options (``shuffle_buffer``, ``queue_size``, ``buffer_bytes``).

        Returns
        -------
        History

        Raises
        ------
        ValueError
            Bad shapes, labels, NaN/inf.
        NonFiniteLossError
            The loss became NaN/inf; the weights of the last good epoch are kept.
        """
        if _is_stream(X):
            from .streaming import fit_source

            return fit_source(self, X, -1 if y is None else y, **stream)
        if stream:
            raise TypeError(f"streaming options {sorted(stream)} need a data source, not arrays")
        X, t, w = self._prepare(X, y, sample_weight, learn_classes=True)
        X, t, w, Xv, tv, wv = self._split(X, t, w)
        # Once per fit: what turns a mean loss into R² or the Poisson deviance (NaN otherwise).
        stat_train = target_statistic(t, w, self.loss)
        stat_val = target_statistic(tv, wv, self.loss) if tv is not None else float("nan")
        n_elems = t.size
        history = History(metric=self._metric_name())
        key = history.metric_key
        after_epoch = _AfterEpoch(self, history)
        bar = self._progress_bar()
        self._stop_requested = False
        self._stop_signal = None
        previous = self._install_signal_handlers()
        try:
            for fit_epoch in range(self.epochs):
                lr = self.lr_schedule.lr(self.epoch, self.base_lr)
                self.optimizer.lr = lr
                snapshot = self.net.parameters.copy()
                t0 = time.perf_counter()
                # The engine scans X for NaN/inf in the first epoch of this call; later epochs
                # reuse the same array and skip the scan.
                res = self._run_epoch(X, t, w, check_finite=fit_epoch == 0)
                self._check_finite_loss(res, snapshot, history)
                if res.stopped:
                    self._mark_interrupted(history)
                    break
                self.epoch += 1
                if self.loss in ("mse", "poisson"):
                    train_metric = metric_from_loss(self.loss, res.loss, stat_train, n_elems)
                else:
                    train_metric = res.correct / res.counted if res.counted else float("nan")
                val_loss = val_metric = float("nan")
                if Xv is not None:
                    val_loss, val_metric = self.net._evaluate_encoded(Xv, tv, wv, self.loss, stat_val)
                logs = {"epoch": self.epoch, "loss": res.loss, f"train_{key}": train_metric, "val_loss": val_loss,
                        f"val_{key}": val_metric, "lr": lr, "seconds": time.perf_counter() - t0}
                if bar is not None:
                    bar.advance(logs, key)
                if self._stop_after(after_epoch(logs), history):
                    break
        finally:
            self._restore_signal_handlers(previous)
            if bar is not None:
                bar.close()
        after_epoch.restore_best()
        return history

    def _new_history(self) -> "History":
        return History(metric=self._metric_name())

    def _after_epoch(self, history) -> "_AfterEpoch":
        return _AfterEpoch(self, history)

    def _should_stop(self) -> bool:
        return self._stop_requested

    # Seams for mlpcore.distributed.DistributedTrainer, which runs its part of each global batch
    # and makes the stop decision with the other processes.
    def _run_epoch(self, X, t, w, check_finite):
        return self.net.train_epoch(X, t, w, self.optimizer, loss=self.loss, batch_size=self.batch_size,
                                    shuffle=self.shuffle, seed=self.seed, epoch=self.epoch,
                                    should_stop=self._should_stop, check_finite=check_finite)

    def _agree_stop(self, stop: bool) -> bool:
        return stop

    def _progress_bar(self):
        if not self.progress or self.epochs == 0:
            return None
        return EpochBar(self.epochs)
