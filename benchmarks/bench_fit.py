# SPDX-License-Identifier: MIT
"""Whole-epoch training throughput: ``mlpcore.Trainer.fit`` against PyTorch eager and scikit-learn.

Engines, each on the same data, net and settings (Adam lr 1e-3, batch 128, ReLU, float32):

``mlpcore``          ``Trainer(net, Adam(1e-3), batch_size=128, epochs=E, progress=False).fit(X, y)``
``torch-loop``       a plain tensor loop over a fresh ``torch.randperm`` each epoch
``torch-dataloader`` ``DataLoader(TensorDataset(X, y), batch_size=128, shuffle=True)``, as users write it
``sklearn``          ``MLPClassifier(solver="adam", batch_size=128, max_iter=E, tol=0, alpha=0)``

Nets: the course's spiral net 2-128-4 (3,200 training rows), and 784-256-128-10 on synthetic
60,000 × 784 data labelled by a fixed random linear teacher. Engines are interleaved and
repeated; the table gives the median samples/s (min–max) and the ratio mlpcore/engine from the
same run, plus each engine's test accuracy on the spiral after the same epochs. It also measures
what progress bars and callbacks cost the Trainer.

Usage::

    python benchmarks/bench_fit.py                # full run (a few minutes)
    python benchmarks/bench_fit.py --quick        # about a minute
    python benchmarks/bench_fit.py --json fit.json
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

import mlpcore
from mlpcore import datasets

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
except ImportError:  # pragma: no cover
    MLPClassifier = None


def spiral_data():
    X, y = datasets.spiral(seed=0)
    return datasets.train_test_split(X, y, test_size=0.2, seed=0, stratify=True)


def synthetic_data(n=60_000, d=784, k=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    teacher = rng.standard_normal((d, k)).astype(np.float32)
    y = (X @ teacher).argmax(axis=1).astype(np.int64)
    return X, X[:2000], y, y[:2000]


def run_mlpcore(sizes, X, y, Xt, yt, epochs, seed=0):
    net = mlpcore.MLP(sizes, "relu", init="he", seed=seed)
    tr = mlpcore.Trainer(net, mlpcore.Adam(1e-3), batch_size=128, epochs=epochs, progress=False, seed=seed)
    t0 = time.perf_counter()
    tr.fit(X, y)
    dt = time.perf_counter() - t0
    return dt, tr.evaluate(Xt, yt)["accuracy"]


def torch_model(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def run_torch(sizes, X, y, Xt, yt, epochs, loader, seed=0):
    torch.manual_seed(seed)
    model = torch_model(sizes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    Xg, yg = torch.from_numpy(X), torch.from_numpy(y)
    t0 = time.perf_counter()
    if loader:
        dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xg, yg), batch_size=128, shuffle=True)
        for _ in range(epochs):
            for xb, yb in dl:
                opt.zero_grad(set_to_none=True)
                lossf(model(xb), yb).backward()
                opt.step()
    else:
        n = len(Xg)
        for _ in range(epochs):
            perm = torch.randperm(n)
            for s in range(0, n, 128):
                idx = perm[s:s + 128]
                opt.zero_grad(set_to_none=True)
                lossf(model(Xg[idx]), yg[idx]).backward()
                opt.step()
    dt = time.perf_counter() - t0
    with torch.no_grad():
        acc = float((model(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())
    return dt, acc


def run_sklearn(sizes, X, y, Xt, yt, epochs, seed=0):
    clf = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), solver="adam", batch_size=128,
                        learning_rate_init=1e-3, max_iter=epochs, tol=0.0, n_iter_no_change=10**9,
                        alpha=0.0, shuffle=True, random_state=seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    dt = time.perf_counter() - t0
    return dt, float((clf.predict(Xt) == yt).mean())


def set_threads(n):
    mlpcore.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(n)
    except ImportError:
        return contextlib.nullcontext()


def progress_overhead(repeats, epochs):
    """Seconds per epoch of fit() with and without a progress bar and a no-op callback."""
    X, Xt, y, yt = spiral_data()
    variants = [("plain", {}), ("progress+callback", {"progress": True, "callbacks": [lambda t, logs: None]})]
    times = {name: [] for name, _ in variants}
    for r in range(repeats):
        for name, kw in variants:  # interleaved, so drift hits both alike
            net = mlpcore.MLP([2, 128, 4], seed=r)
            tr = mlpcore.Trainer(net, mlpcore.Adam(1e-3), epochs=epochs, **{"progress": False, **kw})
            with contextlib.redirect_stderr(io.StringIO()):
                t0 = time.perf_counter()
                tr.fit(X, y)
                times[name].append((time.perf_counter() - t0) / epochs)
    out = {name: statistics.median(t) for name, t in times.items()}
    out["overhead_percent"] = 100 * (out["progress+callback"] / out["plain"] - 1)
    # The end-to-end difference is close to the run-to-run noise, so also time the per-epoch
    # work itself: one progress-bar advance and one callback call.
    from mlpcore.train import _ProgressBar

    logs = {"epoch": 1, "loss": 0.5, "train_accuracy": 0.9, "val_loss": float("nan"),
            "val_accuracy": float("nan"), "lr": 1e-3, "seconds": 1e-3}
    callbacks = [lambda trainer, logs: None]
    with contextlib.redirect_stderr(io.StringIO()):
        bar = _ProgressBar(10**9)
        n = 100_000
        t0 = time.perf_counter()
        for _ in range(n):
            bar.advance(logs, "accuracy")
            any(bool(cb(None, logs)) for cb in callbacks)
        out["direct_us_per_epoch"] = (time.perf_counter() - t0) / n * 1e6
        bar.close()
    out["direct_percent"] = 100 * out["direct_us_per_epoch"] * 1e-6 / out["plain"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int)
    args = ap.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 3)
    spiral_epochs = 20 if args.quick else 100
    big_epochs = 1
    big_rows = 20_000 if args.quick else 60_000

    sp = spiral_data()
    big = synthetic_data(n=big_rows)
    configs = [("2-128-4", [2, 128, 4], sp, spiral_epochs), ("784-256-128-10", [784, 256, 128, 10], big, big_epochs)]
    engines = [("mlpcore", lambda s, d, e, r: run_mlpcore(s, d[0], d[2], d[1], d[3], e, r))]
    if torch is not None:
        engines += [("torch-loop", lambda s, d, e, r: run_torch(s, d[0], d[2], d[1], d[3], e, False, r)),
                    ("torch-dataloader", lambda s, d, e, r: run_torch(s, d[0], d[2], d[1], d[3], e, True, r))]
    if MLPClassifier is not None:
        engines += [("sklearn", lambda s, d, e, r: run_sklearn(s, d[0], d[2], d[1], d[3], e, r))]

    results = []
    print(f"{'net':16} thr  {'engine':17} {'samples/s':>12} {'min–max':>23}  {'acc':>6}  {'mlpcore/x':>9}")
    for threads in args.threads:
        with set_threads(threads):
            for name, sizes, data, epochs in configs:
                rows = {e: [] for e, _ in engines}
                accs = {e: [] for e, _ in engines}
                for r in range(repeats):
                    for ename, fn in engines:  # interleaved: noise hits every engine alike
                        dt, acc = fn(sizes, data, epochs, r)
                        rows[ename].append(len(data[0]) * epochs / dt)
                        accs[ename].append(acc)
                base = statistics.median(rows["mlpcore"])
                for ename, _ in engines:
                    med = statistics.median(rows[ename])
                    res = {"net": name, "threads": threads, "engine": ename, "epochs": epochs,
                           "samples_per_s": med, "min": min(rows[ename]), "max": max(rows[ename]),
                           "test_accuracy": statistics.median(accs[ename]), "mlpcore_ratio": base / med}
                    results.append(res)
                    print(f"{name:16} {threads:>3}  {ename:17} {med:>12,.0f} {min(rows[ename]):>11,.0f}–"
                          f"{max(rows[ename]):<11,.0f} {res['test_accuracy']:>6.3f}  {base / med:>8.2f}x")
    ov = progress_overhead(repeats, 50 if args.quick else 200)
    print(f"progress bar + callback: {ov['overhead_percent']:+.2f} % of epoch time end to end "
          f"({ov['plain'] * 1e6:.0f} vs {ov['progress+callback'] * 1e6:.0f} µs per spiral epoch); "
          f"their own work: {ov['direct_us_per_epoch']:.2f} µs per epoch = {ov['direct_percent']:.3f} %")
    if args.json:
        info = {"mlpcore": mlpcore.build_info(), "torch": getattr(torch, "__version__", None),
                "load_average": os.getloadavg(),
                "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                         cwd=os.path.dirname(__file__)).stdout.strip(),
                "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                             if line.startswith("model name")), "unknown")}
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": results, "progress_overhead": ov}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
