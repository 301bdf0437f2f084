# SPDX-License-Identifier: MIT
"""What progress reporting and callbacks cost ``Trainer.fit`` (the ``overhead`` section).

The spiral net (2-128-4, batch 128) trains for E epochs per fit with ``progress=False``,
``progress=True`` (tqdm writing to ``os.devnull``: stderr is redirected during the timing), a no-op
callback, and both, interleaved over repetitions; the overhead of a variant is the median over
repetitions of its per-epoch time over the plain one's, minus one. The end-to-end difference is
near the noise, so the Python work of the bar and of the callback is also timed on its own (per
epoch, and opening and closing the bar once per fit).
"""
from __future__ import annotations

import contextlib
import gc
import os
import statistics
import time

import mlpcore

from .data import spiral_split
from .engines import LR, MLPCORE_INIT
from .machine import ForeignLoad

TARGET_PERCENT = 2.0


def _noop_callback(trainer, logs):
    return None


VARIANTS = (("plain", {"progress": False}), ("progress", {"progress": True}),
            ("callback", {"progress": False, "callbacks": [_noop_callback]}),
            ("progress+callback", {"progress": True, "callbacks": [_noop_callback]}))


def measure(epochs: int, repeats: int) -> dict:
    X, y, _, _ = spiral_split()
    per_epoch = {name: [] for name, _ in VARIANTS}
    load = ForeignLoad().start()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        for r in range(-1, repeats):  # r = -1: untimed warm-up (imports tqdm, starts its monitor)
            k = max(r, 0) % len(VARIANTS)
            for name, kw in VARIANTS[k:] + VARIANTS[:k]:
                net = mlpcore.MLP([2, 128, 4], activation="relu", init=MLPCORE_INIT, seed=max(r, 0))
                trainer = mlpcore.Trainer(net, mlpcore.Adam(LR), batch_size=128, epochs=epochs, seed=max(r, 0), **kw)
                gc.collect()
                t0 = time.perf_counter()
                trainer.fit(X, y)
                if r >= 0:
                    per_epoch[name].append((time.perf_counter() - t0) / epochs)
    plain = per_epoch["plain"]
    out = {"epochs_per_fit": epochs, "repeats": repeats, "foreign_load_cores": load.stop(),
           "plain_us_per_epoch": 1e6 * statistics.median(plain), "target_percent": TARGET_PERCENT,
           "plain_runs_us_per_epoch": [1e6 * t for t in plain], "variants": {}}
    for name, _ in VARIANTS[1:]:
        paired = [100 * (v / p - 1) for v, p in zip(per_epoch[name], plain)]
        out["variants"][name] = {"us_per_epoch": 1e6 * statistics.median(per_epoch[name]),
                                 "overhead_percent": statistics.median(paired),
                                 "overhead_percent_min": min(paired), "overhead_percent_max": max(paired),
                                 "runs_us_per_epoch": [1e6 * t for t in per_epoch[name]]}
    out["direct"] = _direct_cost(out["plain_us_per_epoch"], epochs)
    out["met"] = out["variants"]["progress+callback"]["overhead_percent"] < TARGET_PERCENT
    return out


def _direct_cost(plain_us, epochs, n=100_000):
    """The Python work of the bar and one callback without the engine: per epoch, and per fit."""
    try:
        from mlpcore._progress import EpochBar  # the bar fit() uses (private: may move)
    except ImportError:
        return None
    logs = {"epoch": 1, "loss": 0.5, "train_accuracy": 0.9, "val_loss": float("nan"),
            "val_accuracy": float("nan"), "lr": LR, "seconds": 1e-3}
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        n_setup = 200
        t0 = time.perf_counter()
        for _ in range(n_setup):
            bar = EpochBar(epochs)
            bar.advance(logs, "accuracy")
            bar.close()
        setup_us = (time.perf_counter() - t0) / n_setup * 1e6
        bar = EpochBar(10**9)
        t0 = time.perf_counter()
        for _ in range(n):
            bar.advance(logs, "accuracy")
        bar_us = (time.perf_counter() - t0) / n * 1e6
        bar.close()
    callbacks = [_noop_callback]
    t0 = time.perf_counter()
    for _ in range(n):
        any(bool(cb(None, logs)) for cb in callbacks)
    cb_us = (time.perf_counter() - t0) / n * 1e6
    return {"bar_us_per_epoch": bar_us, "callback_us_per_epoch": cb_us, "bar_us_per_fit": setup_us,
            "percent_of_plain_epoch": 100 * (bar_us + cb_us + setup_us / epochs) / plain_us}


def lines(ov) -> list:
    """The section as text lines (terminal and Markdown alike)."""
    out = [f"2-128-4 on the spiral, {ov['epochs_per_fit']} epochs per fit, {ov['repeats']} interleaved "
           f"repetitions, 1 thread: plain {ov['plain_us_per_epoch']:.0f} µs per epoch"]
    for name, v in ov["variants"].items():
        out.append(f"{name}: {v['us_per_epoch']:.0f} µs per epoch, overhead {v['overhead_percent']:+.2f} % "
                   f"(paired {v['overhead_percent_min']:+.2f} … {v['overhead_percent_max']:+.2f} %)")
    d = ov.get("direct")
    if d:
        out.append(f"their own work: bar {d['bar_us_per_epoch']:.2f} µs + callback {d['callback_us_per_epoch']:.2f} µs "
                   f"per epoch, + {d['bar_us_per_fit']:.0f} µs per fit to open and close the bar = "
                   f"{d['percent_of_plain_epoch']:.3f} % of a plain epoch")
    both = ov["variants"]["progress+callback"]["overhead_percent"]
    out.append(f"target: progress+callback < {ov['target_percent']:g} % of epoch time: "
               f"{'met' if ov['met'] else 'NOT met'} ({both:+.2f} %)")
    return out
