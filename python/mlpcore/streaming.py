"""Training on data bigger than memory: the streamed epoch driver behind :meth:`Trainer.fit` when it
is given a source (a Parquet file or folder, a CSV, a ``.npy`` pair, an iterable of chunks).

One epoch (DESIGN.md §8):

1. The source's chunks are visited in a new order per (seed, epoch) (chunks held out for validation
   are skipped).
2. A background thread reads them (Arrow and NumPy release the GIL), encodes the targets and joins
   consecutive chunks into a *window* of about ``shuffle_buffer`` rows, which it puts on a queue of
   ``queue_size`` windows. Memory is bounded by the window size × (queue + 2), never by the file.
3. The main thread hands each window to the C++ epoch loop (GIL released), which shuffles its rows by
   (seed, epoch, window) and trains in mini-batches. A window holds whole batches, except the last one
   of the epoch, so batches only come up short where the in-memory loop's would.

Mixing: every batch draws from the rows of the window it belongs to, i.e. from ``shuffle_buffer /
chunk rows`` chunks picked at random for this epoch; rows of chunks that land in different windows
never share a batch in that epoch. A source that fits in one window is trained exactly as in memory
(same order, same batches, same weights bit for bit), with or without shuffling.
"""
from __future__ import annotations

import queue
import threading
import time

import numpy as np

from ._checks import check_number
from ._progress import RowBar
from .datasets._streaming import as_source
from .model import _poisson_sums, metric_from_loss

__all__ = ["fit_source", "evaluate_source", "DEFAULT_BUFFER_BYTES"]

#: Default bytes of features per window (the shuffle buffer): 64 MiB is 21k rows of 784 float32.
DEFAULT_BUFFER_BYTES = 64 << 20
#: Seconds between the engine's Ctrl-C checks while streaming. Each check takes the GIL, which the
#: reader thread holds while it converts chunks; at the in-memory 5 ms the engine waited for it about
#: half the time (784-256-128-10: 105k samples/s alone, 32-48k beside a busy Python thread).
_CHECK_INTERVAL = 0.1
_SENTINEL = object()


class _Window:
    __slots__ = ("X", "t", "w", "rows", "weight", "last")

    def __init__(self, X, t, w, last):
        self.X, self.t, self.w, self.last = X, t, w, last
        self.rows = X.shape[0]
        self.weight = float(self.rows if w is None else np.sum(w, dtype=np.float64))


def _concat(parts, k):
    if parts[0][k] is None:
        return None
    return parts[0][k] if len(parts) == 1 else np.concatenate([p[k] for p in parts])


class _Reader:
    """The background thread of one epoch: chunks in ``order`` -> windows of whole batches on a queue."""

    def __init__(self, source, order, prepare, window_rows, batch_size, queue_size):
        self._queue = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._args = (source, order, prepare, window_rows, batch_size)
        self._thread = threading.Thread(target=self._run, name="mlpcore-reader", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        source, order, prepare, window_rows, batch_size = self._args
        try:
            # A source that knows its largest chunk writes each chunk straight into the window's
            # buffer (one copy per row: Arrow columns -> rows); other chunks are concatenated.
            direct = order is not None and bool(getattr(source, "max_chunk_rows", None))
            buf = (np.empty((window_rows + source.max_chunk_rows, prepare.n_inputs), dtype=prepare.dtype)
                   if direct else None)
            items = iter(order) if direct else iter(source.chunks(order))
            parts, rows = [], 0
            for item in items:
                if self._stop.is_set():
                    return
                X, t, w = prepare(source.chunk(int(item), out=buf[rows:]) if direct else item)
                if X.shape[0] == 0:
                    continue
                parts.append((X, t, w))
                rows += X.shape[0]
                if rows >= window_rows:
                    X = buf[:rows] if direct else _concat(parts, 0)
                    t, w = _concat(parts, 1), _concat(parts, 2)
                    keep = rows % batch_size  # whole batches now, the rest goes on with the next chunks
                    cut = rows - keep
                    if not self._put(_Window(X[:cut], t[:cut], None if w is None else w[:cut], False)):
                        return
                    if direct:  # a fresh buffer: the queued window still uses the old one
                        buf = np.empty_like(buf)
                        buf[:keep] = X[cut:]
                        X = buf[:keep]
                    else:
                        X = X[cut:]
                    parts = [(X, t[cut:], None if w is None else w[cut:])] if keep else []
                    rows = keep
            if parts:
                X = buf[:rows] if direct else _concat(parts, 0)
                self._put(_Window(X, _concat(parts, 1), _concat(parts, 2), True))
            self._put(_SENTINEL)
        except BaseException as exc:  # handed to the main thread, raised there
            self._put(exc)

    def windows(self, should_stop):
        """Yield windows until the epoch ends; raises what the thread raised."""
        while True:
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                if should_stop():
                    return
                continue
            if item is _SENTINEL:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self):
        self._stop.set()
        while True:  # let a blocked put() see the stop flag
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()


def _orders(n_chunks, seed, epoch, shuffle, held_out):
    keep = np.array([i for i in range(n_chunks) if i not in held_out], dtype=np.int64)
    if not shuffle:
        return keep
    return np.random.default_rng([seed, epoch, 0x5eed]).permutation(keep)


def _held_out(source, fraction, seed):
    if fraction == 0:
        return set()
    try:
        n = len(source)
    except TypeError:
        raise ValueError("validation_split on a stream needs a source with a known number of chunks "
                         "(a file, a folder, a .npy pair or a list); give validation_data instead") from None
    n_val = int(round(n * fraction))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"validation_split={fraction} of {n} chunks leaves no chunks for training or validation")
    return set(np.random.default_rng(seed).permutation(n)[:n_val].tolist())


class _Moments:
    """Running sum of squared deviations of targets (Chan's merge), for R² over a stream, and the
    weighted sums behind the Poisson deviance's target term (see ``model.poisson_offset``)."""

    def __init__(self, poisson: bool = False):
        self.n, self.mean, self.m2 = 0, None, None
        self.poisson, self.ylogy_sum, self.weight_sum = poisson, 0.0, 0.0

    def add(self, t, w=None):
        if t.dtype.kind != "f" or t.ndim != 2 or t.shape[0] == 0:
            return
        if self.poisson:
            s, w_sum = _poisson_sums(t, w)
            self.ylogy_sum += s
            self.weight_sum += w_sum
        t64 = t.astype(np.float64)
        n_b, mean_b = t64.shape[0], t64.mean(axis=0)
        m2_b = ((t64 - mean_b) ** 2).sum(axis=0)
        if self.n == 0:
            self.n, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta ** 2 * (self.n * n_b / n)
        self.n = n

    @property
    def sst(self):
        return float(self.m2.sum()) if self.n else float("nan")

    @property
    def poisson_offset(self):
        return self.ylogy_sum / self.weight_sum if self.weight_sum > 0 else float("nan")


def _preparer(trainer):
    net = trainer.net
    from ._checks import as_matrix, as_weights

    def prepare(chunk):
        X, y, w = chunk
        if y is None:
            raise ValueError("the stream has no targets: give the target column (y=name or index)")
        X = as_matrix(X, net.dtype, "X", net.n_inputs)
        t = net.encode_targets(y, X.shape[0], trainer.loss)
        return X, t, as_weights(w, net.dtype, X.shape[0])

    prepare.n_inputs, prepare.dtype = net.n_inputs, net.dtype
    return prepare


def _set_classes(trainer, source):
    """Class labels for a classifier that has none yet: one pass over the targets (the target column
    alone where the format allows)."""
    net = trainer.net
    from .model import REGRESSION_LOSSES
    if trainer.loss in REGRESSION_LOSSES or net.classes is not None:
        return
    labels = []
    for y in source.targets():
        if y is None:
            raise ValueError("the stream has no targets: give the target column (y=name or index)")
        y = np.asarray(y)
        if y.ndim != 1:
            return  # probability or multi-label targets carry no class list
        labels.append(np.unique(y))
    uniq = np.unique(np.concatenate(labels))
    kinds = {u.dtype.kind for u in labels}
    if len(kinds) > 1 and "U" in kinds:
        raise ValueError("mixed types: the stream's targets are numbers in some chunks and text in others")
    n_classes = 2 if trainer.loss == "binary_cross_entropy" else net.n_outputs
    if uniq.dtype.kind in "iu" and uniq.min() >= 0 and uniq.max() < n_classes:
        uniq = np.arange(n_classes)
    if len(uniq) != n_classes:
        raise ValueError(f"the stream's targets hold {len(uniq)} distinct classes but the model has {n_classes}")
    net.classes = uniq


def _window_rows(n_features, buffer_bytes, batch_size, itemsize):
    width = n_features * itemsize
    rows = max(int(buffer_bytes // width), batch_size)
    return rows - rows % batch_size or batch_size


def evaluate_source(trainer, source, *, buffer_bytes=DEFAULT_BUFFER_BYTES, order=None):
    """(loss, metric) of the model over a stream: the loss weighted by each chunk's rows or weights,
    accuracy over all rows, R² with the targets' variance merged chunk by chunk, or the Poisson
    deviance with its target term summed chunk by chunk."""
    net, prepare = trainer.net, _preparer(trainer)
    order = range(len(source)) if order is None else order
    loss_sum = weight_sum = 0.0
    correct = counted = 0
    moments = _Moments(poisson=trainer.loss == "poisson")
    for chunk in source.chunks(order):
        X, t, w = prepare(chunk)
        if X.shape[0] == 0:
            continue
        loss, c, k = net._evaluate_block(X, t, w, trainer.loss)
        weight = X.shape[0] if w is None else float(np.sum(w, dtype=np.float64))
        loss_sum += loss * weight
        weight_sum += weight
        correct, counted = correct + c, counted + k
        moments.add(t, w)
    return _loss_and_metric(trainer, loss_sum, weight_sum, correct, counted, moments)


def _loss_and_metric(trainer, loss_sum, weight_sum, correct, counted, moments):
    """(weighted mean loss, accuracy, R² or Poisson deviance) from sums over the chunks or windows
    of a stream."""
    loss = loss_sum / weight_sum if weight_sum else float("nan")
    if trainer.loss == "poisson":
        return loss, metric_from_loss("poisson", loss, moments.poisson_offset, 0)
    if trainer.loss == "mse":
        sst = moments.sst
        return loss, (1.0 - loss * moments.n * moments.mean.size / sst if sst > 0 else float("nan"))
    return loss, (correct / counted if counted else float("nan"))


def fit_source(trainer, data, target=-1, *, shuffle_buffer=None, queue_size=2, buffer_bytes=None):
    """Train ``trainer.net`` on a stream for ``trainer.epochs`` epochs; see :meth:`Trainer.fit`.

    Parameters
    ----------
    trainer : Trainer
    data : path, (features.npy, targets.npy), Source, list or iterable of (X, y[, w]) chunks
    target : int or str, default -1
        Target column of a file.
    shuffle_buffer : int, optional
        Rows per window (rounded down to whole batches); default: ``buffer_bytes`` of features.
    queue_size : int, default 2
        Windows read ahead by the background thread.
    buffer_bytes : int, optional
        Bytes of features per window when ``shuffle_buffer`` is not given (default 64 MiB).

    Returns
    -------
    History
    """

    net = trainer.net
    source = as_source(data, target, dtype=net.dtype)
    if source.feature_names and source.n_features != net.n_inputs:
        raise ValueError(f"the stream has {source.n_features} features, the model expects {net.n_inputs}")
    queue_size = check_number(queue_size, "queue_size", low=1, integer=True)
    bs = trainer.batch_size
    if shuffle_buffer is not None:
        window = max(check_number(shuffle_buffer, "shuffle_buffer", low=1, integer=True) // bs, 1) * bs
    else:
        window = _window_rows(net.n_inputs, buffer_bytes or DEFAULT_BUFFER_BYTES, bs, net.dtype.itemsize)
    held_out = set() if trainer.validation_data is not None else _held_out(source, trainer.validation_split,
                                                                            trainer.seed)
    val_source, val_order = None, None
    if trainer.validation_data is not None:
        vd = trainer.validation_data
        val_source = as_source(vd if not isinstance(vd, (tuple, list)) or not _is_pair_of_arrays(vd) else [tuple(vd)],
                               target, dtype=net.dtype)
    elif held_out:
        val_source, val_order = source, sorted(held_out)
    _set_classes(trainer, source)
    prepare = _preparer(trainer)
    history = trainer._new_history()
    key = history.metric_key
    after_epoch = trainer._after_epoch(history)
    moments = _Moments(poisson=trainer.loss == "poisson")
    bar = RowBar(trainer.epochs, source.num_rows) if trainer.progress and trainer.epochs else None
    trainer._stop_requested, trainer._stop_signal = False, None
    previous = trainer._install_signal_handlers()
    reader = None
    try:
        for fit_epoch in range(trainer.epochs):
            lr = trainer.lr_schedule.lr(trainer.epoch, trainer.base_lr)
            trainer.optimizer.lr = lr
            snapshot = net.parameters.copy()
            t0 = time.perf_counter()
            try:
                order = _orders(len(source), trainer.seed, trainer.epoch, trainer.shuffle, held_out)
            except TypeError:
                order = None  # a plain iterable: chunks in the order it gives them
            reader = _Reader(source, order, prepare, window, bs, queue_size)
            loss_sum = weight_sum = 0.0
            correct = counted = batches = rows = 0
            stopped = False
            for k, win in enumerate(reader.windows(trainer._should_stop)):
                if fit_epoch == 0:
                    moments.add(win.t, win.w)
                # Window k of epoch e is shuffled by (seed, e * 2**20 + k): a single window, k = 0,
                # is the in-memory epoch's order.
                res = net.train_epoch(win.X, win.t, win.w, trainer.optimizer, loss=trainer.loss, batch_size=bs,
                                      shuffle=trainer.shuffle, seed=trainer.seed, epoch=trainer.epoch + (k << 20),
                                      should_stop=trainer._should_stop, check_finite=fit_epoch == 0,
                                      check_interval=_CHECK_INTERVAL)
                trainer._check_finite_loss(res, snapshot, history, batches_before=batches)
                loss_sum += res.loss * win.weight
                weight_sum += win.weight
                correct, counted = correct + res.correct, counted + res.counted
                batches, rows = batches + res.batches, rows + res.samples
                if bar is not None:
                    bar.rows(res.samples)
                if res.stopped or trainer._stop_requested:
                    stopped = True
                    break
            reader.close()
            reader = None
            if stopped or trainer._stop_requested:
                trainer._mark_interrupted(history)
                break
            trainer.epoch += 1
            loss, train_metric = _loss_and_metric(trainer, loss_sum, weight_sum, correct, counted, moments)
            val_loss = val_metric = float("nan")
            if val_source is not None:
                val_loss, val_metric = evaluate_source(trainer, val_source, order=val_order)
            logs = {"epoch": trainer.epoch, "loss": loss, f"train_{key}": train_metric, "val_loss": val_loss,
                    f"val_{key}": val_metric, "lr": lr, "seconds": time.perf_counter() - t0, "rows": rows}
            if bar is not None:
                bar.epoch(logs, key, rows)
            if trainer._stop_after(after_epoch(logs), history):
                break
    finally:
        if reader is not None:
            reader.close()
        trainer._restore_signal_handlers(previous)
        if bar is not None:
            bar.close()
    after_epoch.restore_best()
    return history


def _is_pair_of_arrays(vd):
    if len(vd) != 2 or not all(hasattr(a, "__len__") and not isinstance(a, str) for a in vd):
        return False
    try:
        return np.asarray(vd[0]).ndim == 2
    except ValueError:  # a list of two (X, y) chunks: its first item is ragged
        return False


