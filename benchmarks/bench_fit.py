# SPDX-License-Identifier: MIT
"""Whole-epoch training throughput: ``mlpcore.Trainer.fit`` against PyTorch eager and scikit-learn.

Engines, each on the same data, net and settings (ReLU hidden layers, Adam lr 1e-3, batch 128,
float32 inputs, softmax cross-entropy, reshuffled every epoch):

``mlpcore``           ``Trainer(net, Adam(1e-3), batch_size=128, epochs=E, progress=False).fit(X, y)``
``torch-loop``        a plain tensor loop: ``torch.randperm`` each epoch, ``index_select`` per batch,
                      ``zero_grad`` / forward / ``CrossEntropyLoss`` / ``backward`` / ``step``
``torch-dataloader``  the same step over ``DataLoader(TensorDataset(X, y), batch_size=128,
                      shuffle=True)``, as users usually write it
``sklearn``           ``MLPClassifier(solver="adam", batch_size=128, learning_rate_init=1e-3,
                      max_iter=E, tol=0, n_iter_no_change=10**9, shuffle=True, alpha=0)``

Nets and data:

* ``2-128-4``: the course's spiral net on ``mlpcore.datasets.spiral()`` split 80/20 (3,200 training
  and 800 test rows), E = 100 epochs (20 with ``--quick``).
* ``784-256-128-10``: 60,000 × 784 float32 standard-normal rows (10,000 with ``--quick``) labelled
  by a fixed random linear teacher (argmax of ``X @ W``), so the task is learnable; a separate
  10,000-row test set from the same generator; E = 1 epoch per repetition.

mlpcore's nets start from ``init="xavier"``, U(±1/√fan_in): PyTorch's default for ``nn.Linear``
weights (scikit-learn uses Glorot's normalized uniform), so the accuracies compare like with like.

Every configuration (net × thread count) runs the engines interleaved, in a rotating order, for
several repetitions; each repetition is one complete ``fit`` (or loop) from a fresh model, seeded
by the repetition number, after one untimed warm-up run per engine. The table gives the median
samples/s with its min–max, the speed ratio mlpcore/engine (ratio of the medians, and the min–max
of the ratios paired within a repetition), and the test accuracy after the same epochs, so that
speed never hides a wrong result.

Threads (1 and 2 by default): ``mlpcore.set_num_threads``, ``torch.set_num_threads``, and
``threadpoolctl.threadpool_limits`` for NumPy's BLAS and the OpenMP runtimes scikit-learn uses.
Without threadpoolctl, scikit-learn's BLAS threads are left as they are and the output says so.

The last part measures what progress reporting and callbacks cost ``Trainer.fit``: the spiral net
over 200 epochs with ``progress=False``, ``progress=True`` (tqdm writing to ``os.devnull``: stderr
is redirected during the timing), a no-op callback, and both, interleaved; the overhead is the
median over repetitions of the paired per-epoch time ratio. The Python work of the bar and of the
callback (per epoch, and opening and closing the bar once per fit) is also timed on its own, since
the end-to-end difference is near the noise.

The machine may be shared: during every configuration the script measures how many cores other
processes kept busy (``/proc/stat`` minus its own CPU time), prints a warning above 0.1 cores and
stores the figure in the JSON; ``--wait-quiet`` waits for idle CPUs before starting.

Usage::

    python benchmarks/bench_fit.py                  # full run, about 3 minutes on 2 cores
    python benchmarks/bench_fit.py --quick          # smoke run, under a minute on an idle machine
    python benchmarks/bench_fit.py --json fit.json  # also write the results and machine details
    python benchmarks/bench_fit.py --threads 1 --repeats 3
    python benchmarks/bench_fit.py --wait-quiet 600  # on a shared machine: wait for idle CPUs first

Output: a table on the terminal, the speed targets (met / not met) and, with ``--json PATH``, a
JSON file holding every timing, the machine (CPU model, cores, load average before and after),
the versions (``mlpcore.build_info()``, PyTorch, scikit-learn, NumPy), the thread counts in
force and the git commit.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

import mlpcore
from mlpcore import datasets

try:
    import torch
except ImportError:  # the other engines still run
    torch = None
try:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
except ImportError:
    sklearn = None
try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    threadpool_limits = threadpool_info = None

BATCH = 128
LR = 1e-3
# PyTorch's nn.Linear draws its weights from U(±1/sqrt(fan_in)), mlpcore's "xavier": the same start,
# so the accuracies compare like with like. (mlpcore's default "he" gives the same speed; after one
# epoch on the Gaussian teacher data it is behind, e.g. 0.31 against 0.54 test accuracy at 10,000
# rows, and the same happens to PyTorch given He weights: an initialisation effect.)
MLPCORE_INIT = "xavier"

# Targets: minimum mlpcore/engine speed ratio per net (PyTorch means its faster variant here).
SPEED_TARGETS = {
    "2-128-4": {"torch": 15.0, "sklearn": 10.0},
    "784-256-128-10": {"torch": 1.5, "sklearn": 3.0},
}
OVERHEAD_TARGET_PERCENT = 2.0


@dataclass(frozen=True)
class Mode:
    repeats: int            # timed runs per engine and configuration
    spiral_epochs: int
    big_rows: int           # training rows of the 784-256-128-10 data
    big_test_rows: int
    big_epochs: int
    overhead_epochs: int    # epochs per fit in the progress/callback measurement
    overhead_repeats: int


FULL = Mode(repeats=7, spiral_epochs=100, big_rows=60_000, big_test_rows=10_000, big_epochs=1,
            overhead_epochs=200, overhead_repeats=21)
QUICK = Mode(repeats=2, spiral_epochs=20, big_rows=10_000, big_test_rows=2_000, big_epochs=1,
             overhead_epochs=200, overhead_repeats=5)


# -- data -----------------------------------------------------------------------------------------
def spiral_data():
    """(X_train, y_train, X_test, y_test): the course's 4-arm spiral split 80/20."""
    X, y = datasets.spiral(seed=0)
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
    return X_tr, y_tr, X_te, y_te


def teacher_data(n_train, n_test, d=784, classes=10, seed=0):
    """Gaussian rows labelled by a fixed random linear teacher: y = argmax(X @ W)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, d), dtype=np.float32)
    teacher = (rng.standard_normal((d, classes)) / np.sqrt(d)).astype(np.float32)
    y = (X @ teacher).argmax(axis=1).astype(np.int64)
    return (np.ascontiguousarray(X[:n_train]), y[:n_train].copy(),
            np.ascontiguousarray(X[n_train:]), y[n_train:].copy())


# -- engines: each returns (seconds for the whole training, test accuracy, extra dict) ------------
def run_mlpcore(sizes, data, epochs, seed):
    X, y, Xt, yt = data
    net = mlpcore.MLP(sizes, activation="relu", init=MLPCORE_INIT, seed=seed)
    trainer = mlpcore.Trainer(net, mlpcore.Adam(LR), batch_size=BATCH, epochs=epochs, progress=False,
                              seed=seed)
    t0 = time.perf_counter()
    history = trainer.fit(X, y)
    dt = time.perf_counter() - t0
    # Share of the fit spent in the per-epoch engine call (plus building each epoch's logs).
    return dt, float((net.predict(Xt) == yt).mean()), {"engine_seconds": float(sum(history.seconds))}


def _torch_model(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _torch_accuracy(model, Xt, yt):
    with torch.no_grad():
        return float((model(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())


def run_torch_loop(sizes, data, epochs, seed):
    X, y, Xt, yt = data
    torch.manual_seed(seed)
    model = _torch_model(sizes)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xg, yg = torch.from_numpy(X), torch.from_numpy(y)
    n = Xg.shape[0]
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, BATCH):
            idx = perm[start:start + BATCH]
            xb, yb = Xg.index_select(0, idx), yg.index_select(0, idx)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
    dt = time.perf_counter() - t0
    return dt, _torch_accuracy(model, Xt, yt), {}


def run_torch_dataloader(sizes, data, epochs, seed):
    X, y, Xt, yt = data
    torch.manual_seed(seed)
    model = _torch_model(sizes)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
    dt = time.perf_counter() - t0
    return dt, _torch_accuracy(model, Xt, yt), {}


def run_sklearn(sizes, data, epochs, seed):
    X, y, Xt, yt = data
    clf = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu", solver="adam",
                        batch_size=BATCH, learning_rate_init=LR, max_iter=epochs, tol=0.0,
                        n_iter_no_change=10**9, shuffle=True, alpha=0.0, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is reached on purpose
        t0 = time.perf_counter()
        clf.fit(X, y)
        dt = time.perf_counter() - t0
    return dt, float((clf.predict(Xt) == yt).mean()), {"n_iter": int(clf.n_iter_)}


def engines():
    out = [("mlpcore", run_mlpcore)]
    if torch is not None:
        out += [("torch-loop", run_torch_loop), ("torch-dataloader", run_torch_dataloader)]
    if sklearn is not None:
        out += [("sklearn", run_sklearn)]
    return out


# -- threads ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def thread_count(n):
    """Every engine at n threads; yields the counts actually in force."""
    limits = threadpool_limits(limits=n) if threadpool_limits is not None else contextlib.nullcontext()
    old_mlpcore = mlpcore.get_num_threads()
    old_torch = torch.get_num_threads() if torch is not None else None
    with limits:
        # After threadpool_limits, which also sets the OpenMP runtimes' defaults.
        mlpcore.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)
        state = {"requested": n, "mlpcore": mlpcore.get_num_threads(),
                 "torch": torch.get_num_threads() if torch is not None else None}
        if threadpool_info is not None:
            state["threadpoolctl"] = [{"prefix": p["prefix"], "user_api": p["user_api"],
                                       "num_threads": p["num_threads"]} for p in threadpool_info()]
        else:
            state["threadpoolctl"] = "not installed: NumPy/scikit-learn BLAS threads not limited"
        try:
            yield state
        finally:
            mlpcore.set_num_threads(old_mlpcore)
            if torch is not None:
                torch.set_num_threads(old_torch)


# -- other processes' CPU use --------------------------------------------------------------------------
class ForeignLoad:
    """Average number of cores other processes kept busy between start() and stop(): all CPU time
    the kernel counted (/proc/stat) minus this process's own. A shared machine makes timings
    unreliable; this says when it happened. None where /proc/stat is missing."""

    def start(self):
        self._t0, self._busy0, self._own0 = time.perf_counter(), self._busy(), self._own()
        return self

    def stop(self):
        busy = self._busy()
        if busy is None or self._busy0 is None:
            return None
        wall = time.perf_counter() - self._t0
        return max(0.0, ((busy - self._busy0) - (self._own() - self._own0)) / wall)

    @staticmethod
    def _busy():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is inside user

    @staticmethod
    def _own():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime


FOREIGN_WARN = 0.1  # cores


# -- the throughput table ---------------------------------------------------------------------------
def bench_config(net_name, sizes, data, epochs, threads, repeats):
    """One net at one thread count: all engines interleaved; returns one result dict per engine."""
    runs = engines()
    n_rows = data[0].shape[0]
    warm_rows = min(n_rows, 2048)
    warm = (data[0][:warm_rows], data[1][:warm_rows], data[2], data[3])
    for _, fn in runs:  # first-call costs (imports, allocator, thread pools) stay out of the timings
        fn(sizes, warm, 1, 0)
    load = ForeignLoad().start()
    rate = {name: [] for name, _ in runs}
    acc = {name: [] for name, _ in runs}
    extra = {name: [] for name, _ in runs}
    for r in range(repeats):
        k = r % len(runs)
        for name, fn in runs[k:] + runs[:k]:  # rotating order: drift and position hit all alike
            gc.collect()
            dt, a, ex = fn(sizes, data, epochs, r)
            rate[name].append(n_rows * epochs / dt)
            acc[name].append(a)
            extra[name].append({"seconds": dt, **ex})
    base = rate["mlpcore"]
    foreign = load.stop()
    results = []
    for name, _ in runs:
        paired = [b / x for b, x in zip(base, rate[name])]
        results.append({
            "net": net_name, "threads": threads, "engine": name, "epochs": epochs, "train_rows": n_rows,
            "samples_per_s": statistics.median(rate[name]), "min": min(rate[name]), "max": max(rate[name]),
            "runs_samples_per_s": rate[name],
            "mlpcore_ratio": statistics.median(base) / statistics.median(rate[name]),
            "paired_ratio_min": min(paired), "paired_ratio_max": max(paired),
            "test_accuracy": statistics.median(acc[name]), "test_accuracy_runs": acc[name],
            "runs": extra[name], "foreign_load_cores": foreign,
        })
    return results


def _fmt_rate(v):
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"


def print_table_header():
    print(f"{'net':15} {'thr':>3}  {'engine':16} {'samples/s':>10} {'(min–max)':>19}  "
          f"{'mlpcore/x':>9} {'(paired)':>13}  {'test acc':>8}")


def print_rows(results, converged=True):
    for res in results:
        span = f"{_fmt_rate(res['min'])}–{_fmt_rate(res['max'])}"
        ratio = paired = ""
        if res["engine"] != "mlpcore":
            ratio = f"{res['mlpcore_ratio']:8.2f}×"
            paired = f"{res['paired_ratio_min']:.2f}–{res['paired_ratio_max']:.2f}"
        print(f"{res['net']:15} {res['threads']:>3}  {res['engine']:16} "
              f"{_fmt_rate(res['samples_per_s']):>10} {span:>19}  {ratio:>9} {paired:>13}  "
              f"{res['test_accuracy']:8.4f}", flush=True)
    mine = next(r for r in results if r["engine"] == "mlpcore")
    if mine["foreign_load_cores"] is not None and mine["foreign_load_cores"] > FOREIGN_WARN:
        print(f"  !! other processes kept {mine['foreign_load_cores']:.2f} cores busy during these runs: "
              "the timings are disturbed", flush=True)
    best = max(r["test_accuracy"] for r in results)
    if mine["test_accuracy"] < best - 0.02:
        print(f"  !! mlpcore's test accuracy {mine['test_accuracy']:.4f} is more than 0.02 below the best "
              f"engine's {best:.4f}" + ("" if converged else " (few epochs: the nets have not converged)"),
              flush=True)
    share = [ex["engine_seconds"] / ex["seconds"] for ex in mine["runs"]]
    print(f"  (mlpcore: {100 * statistics.median(share):.1f} % of fit() time inside the per-epoch "
          "engine call)", flush=True)


def speed_targets(results):
    """One line per (net, threads, target): the ratio against the faster PyTorch variant and sklearn."""
    out = []
    order = list(SPEED_TARGETS)
    keys = sorted({(r["net"], r["threads"]) for r in results}, key=lambda k: (order.index(k[0]), k[1]))
    for net, threads in keys:
        rows = {r["engine"]: r for r in results if r["net"] == net and r["threads"] == threads}
        torch_rows = [rows[e] for e in ("torch-loop", "torch-dataloader") if e in rows]
        against = []
        if torch_rows:
            fastest = max(torch_rows, key=lambda r: r["samples_per_s"])
            against.append(("torch", fastest))
        if "sklearn" in rows:
            against.append(("sklearn", rows["sklearn"]))
        for kind, row in against:
            goal = SPEED_TARGETS[net][kind]
            out.append({"net": net, "threads": threads, "against": row["engine"], "target": goal,
                        "ratio": row["mlpcore_ratio"], "paired_min": row["paired_ratio_min"],
                        "paired_max": row["paired_ratio_max"], "met": row["mlpcore_ratio"] >= goal})
    return out


# -- progress bar and callback cost -------------------------------------------------------------------
def _noop_callback(trainer, logs):
    return None


def progress_overhead(epochs, repeats):
    """Per-epoch time of fit() on the spiral net with and without a progress bar / no-op callback."""
    X, y, _, _ = spiral_data()
    variants = [
        ("plain", {"progress": False}),
        ("progress", {"progress": True}),
        ("callback", {"progress": False, "callbacks": [_noop_callback]}),
        ("progress+callback", {"progress": True, "callbacks": [_noop_callback]}),
    ]
    per_epoch = {name: [] for name, _ in variants}
    load = ForeignLoad().start()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        for r in range(-1, repeats):  # r = -1: untimed warm-up (imports tqdm, starts its monitor)
            k = max(r, 0) % len(variants)
            for name, kw in variants[k:] + variants[:k]:
                net = mlpcore.MLP([2, 128, 4], activation="relu", init=MLPCORE_INIT, seed=max(r, 0))
                trainer = mlpcore.Trainer(net, mlpcore.Adam(LR), batch_size=BATCH, epochs=epochs,
                                          seed=max(r, 0), **kw)
                gc.collect()
                t0 = time.perf_counter()
                trainer.fit(X, y)
                dt = time.perf_counter() - t0
                if r >= 0:
                    per_epoch[name].append(dt / epochs)
    foreign = load.stop()
    plain = per_epoch["plain"]
    out = {"epochs_per_fit": epochs, "repeats": repeats, "foreign_load_cores": foreign,
           "plain_us_per_epoch": 1e6 * statistics.median(plain), "variants": {}}
    for name, _ in variants[1:]:
        paired = [100 * (v / p - 1) for v, p in zip(per_epoch[name], plain)]
        out["variants"][name] = {"us_per_epoch": 1e6 * statistics.median(per_epoch[name]),
                                 "overhead_percent": statistics.median(paired),
                                 "overhead_percent_min": min(paired), "overhead_percent_max": max(paired),
                                 "runs_us_per_epoch": [1e6 * t for t in per_epoch[name]]}
    out["plain_runs_us_per_epoch"] = [1e6 * t for t in plain]
    out["direct"] = _direct_cost(out["plain_us_per_epoch"], epochs)
    return out


def _direct_cost(plain_us, epochs):
    """The Python work of the bar and of one callback, timed without the engine: per epoch, and
    per fit (creating and closing the bar, spread over ``epochs``)."""
    try:
        from mlpcore.train import _ProgressBar  # the bar fit() uses (private: may move)
    except ImportError:
        return None
    logs = {"epoch": 1, "loss": 0.5, "train_accuracy": 0.9, "val_loss": float("nan"),
            "val_accuracy": float("nan"), "lr": LR, "seconds": 1e-3}
    callbacks = [_noop_callback]
    n = 200_000
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        n_setup = 300
        t0 = time.perf_counter()
        for _ in range(n_setup):
            bar = _ProgressBar(epochs)
            bar.advance(logs, "accuracy")
            bar.close()
        setup_us = (time.perf_counter() - t0) / n_setup * 1e6
        bar = _ProgressBar(10**9)
        t0 = time.perf_counter()
        for _ in range(n):
            bar.advance(logs, "accuracy")
        bar_us = (time.perf_counter() - t0) / n * 1e6
        bar.close()
    t0 = time.perf_counter()
    for _ in range(n):
        any(bool(cb(None, logs)) for cb in callbacks)
    cb_us = (time.perf_counter() - t0) / n * 1e6
    return {"bar_us_per_epoch": bar_us, "callback_us_per_epoch": cb_us, "bar_us_per_fit": setup_us,
            "percent_of_plain_epoch": 100 * (bar_us + cb_us + setup_us / epochs) / plain_us}


# -- machine and versions -------------------------------------------------------------------------------
def _git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(),
            "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "platform": platform.platform(), "python": platform.python_version()}


def versions():
    return {"mlpcore": mlpcore.__version__, "mlpcore_build": mlpcore.build_info(),
            "torch": getattr(torch, "__version__", None), "sklearn": getattr(sklearn, "__version__", None),
            "numpy": np.__version__,
            "threadpoolctl": (__import__("threadpoolctl").__version__
                              if threadpool_limits is not None else None)}


def wait_quiet(limit, window=5.0):
    """Return once two successive windows saw other processes use under FOREIGN_WARN cores."""
    deadline, calm = time.monotonic() + limit, 0
    while time.monotonic() < deadline:
        probe = ForeignLoad().start()
        time.sleep(window)
        cores = probe.stop()
        if cores is None:
            return
        calm = calm + 1 if cores < FOREIGN_WARN else 0
        if calm >= 2:
            return
        if not calm:
            print(f"waiting: other processes use {cores:.2f} cores", flush=True)
    print(f"still busy after {limit:.0f} s; starting anyway", flush=True)


# -- main -------------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller data, fewer epochs and repetitions")
    ap.add_argument("--json", metavar="PATH", help="write all results and machine details here")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, help="timed runs per engine and configuration")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                    help="first wait up to this long for other processes to leave the CPUs idle")
    args = ap.parse_args(argv)
    mode = QUICK if args.quick else FULL
    repeats = args.repeats or mode.repeats

    if args.wait_quiet > 0:
        wait_quiet(args.wait_quiet)
    started = time.time()
    load_before = os.getloadavg()
    info = machine_info()
    vers = versions()
    print(f"{info['cpu']}, {info['cpus_available']} CPUs available; load average {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"mlpcore {vers['mlpcore']} ({vers['mlpcore_build'].get('compiler')}, "
          f"native={vers['mlpcore_build'].get('native')}, openmp={vers['mlpcore_build'].get('openmp')}), "
          f"torch {vers['torch']}, scikit-learn {vers['sklearn']}, numpy {vers['numpy']}")
    if threadpool_limits is None:
        print("threadpoolctl is not installed: NumPy/scikit-learn BLAS threads are not limited")
    print(f"mode {'quick' if args.quick else 'full'}: {repeats} repetitions, batch {BATCH}, Adam lr {LR:g}\n")

    spiral = spiral_data()
    big = teacher_data(mode.big_rows, mode.big_test_rows)
    configs = [("2-128-4", [2, 128, 4], spiral, mode.spiral_epochs),
               ("784-256-128-10", [784, 256, 128, 10], big, mode.big_epochs)]

    results, thread_states = [], []
    print_table_header()
    for threads in args.threads:
        with thread_count(threads) as state:
            thread_states.append(state)
            for net_name, sizes, data, epochs in configs:
                rows = bench_config(net_name, sizes, data, epochs, threads, repeats)
                results.extend(rows)
                print_rows(rows, converged=not args.quick)

    targets = speed_targets(results)
    print("\nspeed targets (mlpcore/engine, ratio of medians; PyTorch = its faster variant):")
    for t in targets:
        print(f"  {t['net']:15} {t['threads']} thr  vs {t['against']:16} {t['ratio']:6.2f}× "
              f"(paired {t['paired_min']:.2f}–{t['paired_max']:.2f})  target ≥ {t['target']:g}×  "
              f"{'met' if t['met'] else 'NOT met'}")

    with thread_count(1):
        ov = progress_overhead(mode.overhead_epochs, repeats=mode.overhead_repeats)
    both = ov["variants"]["progress+callback"]
    print(f"\nprogress bar and callbacks, 2-128-4 spiral, {ov['epochs_per_fit']} epochs per fit, "
          f"{ov['repeats']} interleaved repetitions, 1 thread: plain {ov['plain_us_per_epoch']:.0f} µs "
          "per epoch")
    for name, v in ov["variants"].items():
        print(f"  {name:18} {v['us_per_epoch']:7.0f} µs per epoch  overhead {v['overhead_percent']:+.2f} % "
              f"(paired {v['overhead_percent_min']:+.2f} … {v['overhead_percent_max']:+.2f} %)")
    if ov["direct"] is not None:
        d = ov["direct"]
        print(f"  their own work: bar {d['bar_us_per_epoch']:.2f} µs + callback "
              f"{d['callback_us_per_epoch']:.2f} µs per epoch, + {d['bar_us_per_fit']:.0f} µs per fit to "
              f"open and close the bar = {d['percent_of_plain_epoch']:.3f} % of a plain epoch at "
              f"{ov['epochs_per_fit']} epochs per fit")
    if ov["foreign_load_cores"] is not None and ov["foreign_load_cores"] > FOREIGN_WARN:
        print(f"  !! other processes kept {ov['foreign_load_cores']:.2f} cores busy during these runs")
    ov["target_percent"] = OVERHEAD_TARGET_PERCENT
    ov["met"] = both["overhead_percent"] < OVERHEAD_TARGET_PERCENT
    print(f"  target: progress+callback < {OVERHEAD_TARGET_PERCENT:g} % of epoch time: "
          f"{'met' if ov['met'] else 'NOT met'} ({both['overhead_percent']:+.2f} %)")

    load_after = os.getloadavg()
    elapsed = time.time() - started
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
          f"total {elapsed:.0f} s")
    if args.json:
        doc = {
            "benchmark": "bench_fit", "command": [os.path.basename(sys.executable), *sys.argv],
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full", "settings": {**mode.__dict__, "repeats": repeats,
                                                                    "batch_size": BATCH, "lr": LR},
            "git": {"commit": _git("rev-parse", "HEAD"),
                    "modified_files": _git("status", "--porcelain", "--untracked-files=no").splitlines()},
            "machine": {**info, "load_average_before": load_before, "load_average_after": load_after},
            "versions": vers, "threads": thread_states, "elapsed_seconds": elapsed,
            "results": results, "speed_targets": targets, "progress_overhead": ov,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
