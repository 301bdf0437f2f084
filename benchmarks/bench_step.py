# SPDX-License-Identifier: MIT
"""Per-step training speed: mlpcore against PyTorch eager on the same nets and batches.

For each configuration (layer sizes, batch size, thread count) the script builds one mlpcore
network and a ``torch.nn.Sequential`` copy of it (same weights), pre-generates a fixed pool of
synthetic batches, and times, in interleaved blocks so that machine noise hits every engine alike:

``mlpcore``        ``net.train_step(X, y, opt)``: the public Python API, one engine call per step
``mlpcore-core``   ``net._net.train_step(...)``: the raw extension call (no Python-side checks)
``mlpcore-epoch``  ``net._net.train_epoch(...)``: the whole loop in C++, reported per step
``torch``          ``zero_grad(set_to_none=True); loss = CE(model(X), y); loss.backward(); step()``

All use Adam(lr=1e-3, default betas), float32 and cross-entropy over integer labels. Results are a
table on the terminal and, with ``--json PATH``, a JSON file with the machine and build details.

Each configuration also records the arithmetic rate of the mlpcore step (multiply-adds of the
forward pass, the weight gradients and the input gradients of all but the first layer, which no
engine computes) and how many cores other processes kept busy while it ran: on a shared machine
that number says which rows to distrust (``!!`` in the table).

Usage::

    python benchmarks/bench_step.py                 # full run (about 3.5 minutes on 2 cores)
    python benchmarks/bench_step.py --quick         # < 30 s smoke run
    python benchmarks/bench_step.py --json out.json --threads 1 2
    python benchmarks/bench_step.py --wait-quiet 600  # shared machine: wait for idle CPUs first
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import mlpcore
from mlpcore.model import LOSSES

try:
    import torch
except ImportError:  # the mlpcore rows still run
    torch = None

LR = 1e-3
# (name, sizes, batch): the configurations of the core-engine speed targets.
CONFIGS = [
    ("2-128-4", [2, 128, 4], 128),
    ("784-256-128-10", [784, 256, 128, 10], 128),
    ("784-256-128-10", [784, 256, 128, 10], 1024),
]
# Minimum torch/mlpcore speed-up of the public train_step, per (name, batch).
TARGETS = {("2-128-4", 128): 15.0, ("784-256-128-10", 128): 1.5, ("784-256-128-10", 1024): 1.5}
OMP_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS")
FOREIGN_WARN = 0.1  # cores used by other processes above which a configuration is flagged


@dataclass
class Mode:
    repeats: int          # timed blocks per engine
    block_seconds: float  # wall time each block aims for
    warmup_seconds: float
    pool: int             # batches in the pre-generated pool
    epoch_rows: int       # rows of the train_epoch dataset (at least 16 batches)


FULL = Mode(repeats=15, block_seconds=0.25, warmup_seconds=0.5, pool=32, epoch_rows=12800)
QUICK = Mode(repeats=4, block_seconds=0.04, warmup_seconds=0.05, pool=8, epoch_rows=3200)


@dataclass
class Timing:
    engine: str
    steps_per_block: int
    per_step_us: list = field(default_factory=list)

    def summary(self, batch: int) -> dict:
        med = statistics.median(self.per_step_us)
        return {"engine": self.engine, "steps_per_block": self.steps_per_block,
                "blocks": len(self.per_step_us),
                "median_us": med, "min_us": min(self.per_step_us), "max_us": max(self.per_step_us),
                "samples_per_s": batch / med * 1e6, "per_step_us": self.per_step_us}


# -- machine description ---------------------------------------------------------------------------
def _git(*args) -> str:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        done = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, check=True)
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def step_flops(sizes, batch) -> float:
    """Floating-point operations of one training step (2 per multiply-add): Z = A·Wᵀ and
    dL_dW = dL_dZᵀ·A for every layer, dL_dA = dL_dZ·W for every layer but the first."""
    weights = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2.0 * batch * (2 * sum(weights) + sum(weights[1:]))


def _extension() -> dict:
    """Which compiled engine was measured (the file, its size, time and hash): with modified
    tracked files or an editable install, the commit alone does not say."""
    path = getattr(mlpcore._core, "__file__", None)
    if not path or not os.path.exists(path):
        return {"path": path}
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    st = os.stat(path)
    mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(st.st_mtime))
    return {"path": path, "bytes": st.st_size, "mtime": mtime, "sha256": digest[:16]}


def _openmp_runtime():
    """The OpenMP runtime(s) mapped into this process. mlpcore and PyTorch share one libgomp:
    whichever was imported first supplies it."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "omp" in line.rsplit("/", 1)[-1]}
    except OSError:
        return None
    return sorted(libs)


class ForeignCpu:
    """Cores kept busy by other processes between start() and stop(): the machine's busy time
    (/proc/stat) minus this process's CPU time, over the wall time. None without /proc/stat."""

    def start(self):
        self._wall, self._busy0, self._own0 = time.perf_counter(), self._machine_busy(), self._own()
        return self

    def stop(self):
        busy = self._machine_busy()
        if busy is None or self._busy0 is None:
            return None
        wall = time.perf_counter() - self._wall
        return max(0.0, ((busy - self._busy0) - (self._own() - self._own0)) / wall)

    @staticmethod
    def _machine_busy():
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait

    @staticmethod
    def _own():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime


def wait_quiet(limit_seconds, window=3.0):
    """Wait (at most `limit_seconds`) until two successive windows see other processes use fewer
    than FOREIGN_WARN cores."""
    deadline, calm = time.monotonic() + limit_seconds, 0
    while time.monotonic() < deadline and calm < 2:
        probe = ForeignCpu().start()
        time.sleep(window)
        cores = probe.stop()
        if cores is None:
            return
        calm = calm + 1 if cores < FOREIGN_WARN else 0
        if calm < 2:
            print(f"waiting for idle CPUs: other processes use {cores:.2f} cores", flush=True)


def environment() -> dict:
    env = {
        "commit": _git("rev-parse", "HEAD"),
        "tracked_files_modified": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "mlpcore_version": mlpcore.__version__,
        "build_info": mlpcore.build_info(),
        "extension": _extension(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_start": _loadavg(),
        "env": {k: os.environ[k] for k in OMP_ENV if k in os.environ},
    }
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_num_threads_default"] = torch.get_num_threads()
        env["torch_num_interop_threads"] = torch.get_num_interop_threads()
    env["openmp_runtime"] = _openmp_runtime()
    return env


# -- data and engines ------------------------------------------------------------------------------
def make_pool(sizes, batch, count, seed):
    """`count` batches (X float32 (batch, in) C-contiguous, y int32 labels) from a seeded generator."""
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((batch, sizes[0]), dtype=np.float32) for _ in range(count)]
    ys = [rng.integers(0, sizes[-1], size=batch, dtype=np.int32) for _ in range(count)]
    return xs, ys


def torch_copy(net):
    """An nn.Sequential(Linear, ReLU, ..., Linear) holding `net`'s weights."""
    layers = []
    weights = net.get_weights()
    for i, (w, b) in enumerate(weights):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i + 1 < len(weights):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def build_engines(sizes, batch, xs, ys, mode, seed, with_torch):
    """name -> run(steps) closures; each engine owns its own network and optimizer state."""
    loss_enum = LOSSES["cross_entropy"]
    pool = len(xs)
    engines = {}

    net_api = mlpcore.MLP(sizes, activation="relu", init="he", seed=seed)
    opt_api = mlpcore.Adam(lr=LR)

    def run_api(steps, state=[0]):
        i = state[0]
        for _ in range(steps):
            net_api.train_step(xs[i], ys[i], opt_api)
            i = (i + 1) % pool
        state[0] = i
    engines["mlpcore"] = run_api

    net_core = mlpcore.MLP(sizes, activation="relu", init="he", seed=seed)
    engine_core = net_core._net
    adam_core = mlpcore.Adam(lr=LR)._engine("float32")

    def run_core(steps, state=[0]):
        i = state[0]
        step = engine_core.train_step
        for _ in range(steps):
            step(xs[i], ys[i], None, loss_enum, adam_core)
            i = (i + 1) % pool
        state[0] = i
    engines["mlpcore-core"] = run_core

    # The epoch loop: a dataset of whole batches (>= 16 of them), shuffled each epoch in C++.
    n_batches = max(16, -(-mode.epoch_rows // batch))
    X_epoch = np.ascontiguousarray(np.concatenate(xs * (-(-n_batches // pool)))[: n_batches * batch])
    y_epoch = np.ascontiguousarray(np.concatenate(ys * (-(-n_batches // pool)))[: n_batches * batch])
    net_epoch = mlpcore.MLP(sizes, activation="relu", init="he", seed=seed)
    engine_epoch = net_epoch._net
    adam_epoch = mlpcore.Adam(lr=LR)._engine("float32")

    def run_epoch(epochs, state=[0]):
        for _ in range(epochs):
            r = engine_epoch.train_epoch(X_epoch, y_epoch, None, loss_enum, adam_epoch, batch, True, seed,
                                         state[0])
            state[0] += 1
            assert r.batches == n_batches and not r.non_finite
    engines["mlpcore-epoch"] = run_epoch

    if with_torch:
        model = torch_copy(mlpcore.MLP(sizes, activation="relu", init="he", seed=seed))
        criterion = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        txs = [torch.from_numpy(x) for x in xs]
        tys = [torch.from_numpy(y.astype(np.int64)) for y in ys]

        def run_torch(steps, state=[0]):
            i = state[0]
            for _ in range(steps):
                optimizer.zero_grad(set_to_none=True)
                loss = criterion(model(txs[i]), tys[i])
                loss.backward()
                optimizer.step()
                i = (i + 1) % pool
            state[0] = i
        engines["torch"] = run_torch
    return engines, n_batches


def check_same_computation(sizes, xs, ys, seed):
    """First-step loss of mlpcore and of the torch copy on the same batch (they must agree)."""
    net = mlpcore.MLP(sizes, activation="relu", init="he", seed=seed)
    model = torch_copy(net)
    ours = net.train_step(xs[0], ys[0], mlpcore.Adam(lr=LR))
    with torch.no_grad():
        theirs = torch.nn.CrossEntropyLoss()(model(torch.from_numpy(xs[0])),
                                             torch.from_numpy(ys[0].astype(np.int64))).item()
    if not np.isclose(ours, theirs, rtol=1e-4, atol=1e-5):
        raise RuntimeError(f"first-step losses differ: mlpcore {ours} vs torch {theirs}")
    return ours, theirs


# -- timing ----------------------------------------------------------------------------------------
def _time_block(run, units) -> float:
    t0 = time.perf_counter_ns()
    run(units)
    return (time.perf_counter_ns() - t0) / 1e9


def calibrate(run, block_seconds, warmup_seconds) -> int:
    """Warm up for about `warmup_seconds`, then return how many units fill one block."""
    units, elapsed, spent = 1, 0.0, 0.0
    while spent < warmup_seconds or elapsed < 0.005:
        elapsed = _time_block(run, units)
        spent += elapsed
        if elapsed < 0.005:
            units *= 2
    per_unit = elapsed / units
    return max(1, round(block_seconds / per_unit))


def measure(engines, mode, n_batches) -> dict:
    """Interleaved blocks: every round runs one block of each engine, rotating the order."""
    names = list(engines)
    blocks = {name: calibrate(engines[name], mode.block_seconds, mode.warmup_seconds) for name in names}
    timings = {}
    for name in names:
        steps = blocks[name] * (n_batches if name == "mlpcore-epoch" else 1)
        timings[name] = Timing(name, steps)
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for r in range(mode.repeats):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                seconds = _time_block(engines[name], blocks[name])
                timings[name].per_step_us.append(seconds / timings[name].steps_per_block * 1e6)
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings


def run(args) -> dict:
    mode = QUICK if args.quick else FULL
    if args.repeats:
        mode.repeats = args.repeats
    with_torch = torch is not None and not args.no_torch
    env = environment()
    print_header(env)
    report = {"environment": env, "mode": "quick" if args.quick else "full",
              "settings": {"repeats": mode.repeats, "block_seconds": mode.block_seconds, "pool": mode.pool,
                           "optimizer": f"Adam(lr={LR}, betas=(0.9, 0.999), eps=1e-8)", "dtype": "float32",
                           "loss": "cross_entropy", "activation": "relu", "gc_disabled_in_blocks": True},
              "results": []}
    for threads in args.threads:
        for name, sizes, batch in CONFIGS:
            if args.configs and name not in args.configs:
                continue
            if args.wait_quiet > 0:
                wait_quiet(args.wait_quiet)
            foreign = ForeignCpu().start()
            mlpcore.set_num_threads(threads)
            if with_torch:
                torch.set_num_threads(threads)
            xs, ys = make_pool(sizes, batch, mode.pool, seed=args.seed)
            check = check_same_computation(sizes, xs, ys, args.seed) if with_torch else None
            engines, n_batches = build_engines(sizes, batch, xs, ys, mode, args.seed, with_torch)
            timings = measure(engines, mode, n_batches)
            flops = step_flops(sizes, batch)
            entry = {"config": name, "sizes": sizes, "batch": batch, "threads": threads,
                     "foreign_load_cores": foreign.stop(), "step_gflop": flops / 1e9,
                     "mlpcore_threads": mlpcore.get_num_threads(),
                     "torch_threads": torch.get_num_threads() if with_torch else None,
                     "n_params": mlpcore.MLP(sizes).n_params, "epoch_batches": n_batches,
                     "first_step_loss": check,
                     "engines": {k: t.summary(batch) for k, t in timings.items()}}
            for summary in entry["engines"].values():
                summary["gflop_per_s"] = flops / summary["median_us"] / 1e3
            if with_torch:
                t_torch = entry["engines"]["torch"]["median_us"]
                entry["ratio_torch_over"] = {k: t_torch / v["median_us"] for k, v in entry["engines"].items()
                                             if k != "torch"}
                # The same ratio from each round's paired blocks, to show its spread.
                paired = [a / b for a, b in zip(timings["torch"].per_step_us, timings["mlpcore"].per_step_us)]
                entry["ratio_paired_mlpcore"] = {"median": statistics.median(paired), "min": min(paired),
                                                 "max": max(paired)}
                target = TARGETS.get((name, batch))
                entry["target"] = target
                met = None if target is None else entry["ratio_torch_over"]["mlpcore"] >= target
                entry["target_met"] = met
            report["results"].append(entry)
            print_entry(entry)
    report["environment"]["loadavg_end"] = _loadavg()
    return report


def print_header(env):
    bi = env["build_info"]
    print(f"commit {env['commit'][:12]}{' (modified tracked files)' if env['tracked_files_modified'] else ''}"
          f"  cpu {env['cpu_model']} ({env['cpu_count']} cpus)  load {env['loadavg_start']}")
    print(f"mlpcore {env['mlpcore_version']}  eigen {bi.get('eigen_version')}  {bi.get('compiler')}  "
          f"native={bi.get('native')} openmp={bi.get('openmp')}  isa {bi.get('isa')}")
    if "torch" in env:
        print(f"torch {env['torch']} (default threads {env['torch_num_threads_default']})")
    print(f"openmp runtime {', '.join(env.get('openmp_runtime') or ['?'])}")
    print(f"{'config':<16}{'batch':>6}{'thr':>4}  {'engine':<14}{'median µs':>11}{'min–max µs':>20}"
          f"{'samples/s':>13}{'GFLOP/s':>9}{'torch/x':>9}")


def print_entry(e):
    for name, s in e["engines"].items():
        ratio = e.get("ratio_torch_over", {}).get(name)
        print(f"{e['config']:<16}{e['batch']:>6}{e['threads']:>4}  {name:<14}{s['median_us']:>11.1f}"
              f"{s['min_us']:>10.1f}–{s['max_us']:<9.1f}{s['samples_per_s']:>13,.0f}"
              f"{s['gflop_per_s']:>9.1f}"
              f"{'' if ratio is None else f'{ratio:>8.2f}x'}")
    if e["foreign_load_cores"] is not None and e["foreign_load_cores"] > FOREIGN_WARN:
        print(f"{'':<26}!! other processes kept {e['foreign_load_cores']:.2f} cores busy during these runs")
    if e.get("target") is not None:
        p = e["ratio_paired_mlpcore"]
        print(f"{'':<26}target torch/mlpcore >= {e['target']:g}x: "
              f"{'met' if e['target_met'] else 'NOT met'} (paired rounds {p['min']:.2f}–{p['max']:.2f}x)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short run (< 30 s) with fewer, shorter blocks")
    ap.add_argument("--json", metavar="PATH", help="write the results and environment as JSON")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)")
    ap.add_argument("--configs", nargs="+", choices=sorted({c[0] for c in CONFIGS}), help="only these nets")
    ap.add_argument("--repeats", type=int, help="timed blocks per engine (default 15, quick 4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true", help="time mlpcore only")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                    help="before each configuration, wait up to this long for idle CPUs")
    args = ap.parse_args(argv)
    if any(t < 1 for t in args.threads):
        ap.error("--threads must be positive")
    report = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
