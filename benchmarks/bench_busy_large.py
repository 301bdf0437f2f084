# SPDX-License-Identifier: MIT
"""Large products on a busy machine: 1 and 2 engine threads, with and without a busy core.

Times the 784-256-128-10 ReLU net (float32, Adam) on random data: one training epoch over 8,192
rows at batch 1,024 and at batch 128, and predictions on 1,024 rows. Each case runs with
``mlpcore.set_num_threads(1)`` and ``(2)``, first on an idle machine, then while one
busy-spinning process keeps a core taken (as ``bench_busy_core.py`` does for the small net). The
thread counts alternate round by round so that drift hits both alike.

``--build LABEL=DIR`` (repeatable) times other builds of mlpcore in the same run: each build runs
in a worker process that imports mlpcore from DIR (e.g. ``pip install --target DIR`` of another
commit), and the rounds alternate between builds too. Without ``--build`` the installed mlpcore is
timed alone, labelled ``this``.

Prints, per phase, case and build, the median time over the rounds for 1 and 2 threads and the
2-thread/1-thread ratio. The aim: on a busy machine the ratio stays at or below 1.0; on an idle one
the 2-thread speed-up of these large products is kept.

    python benchmarks/bench_busy_large.py [--rounds 5] [--pin 1] [--build before=/tmp/base] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

SIZES = [784, 256, 128, 10]
ROWS = 8192
PREDICT_ROWS = 1024
PREDICT_CALLS = 20  # calls per predict run; the run's time is their median
CASES = ("train_b1024", "train_b128", "predict_1024")


# -- the worker: one build of mlpcore, driven over stdin/stdout -------------------------------------
def worker(build_dir: str | None) -> int:
    if build_dir:
        # An editable install's import hook would win over sys.path: drop it for this process.
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ScikitBuildRedirectingFinder"]
        sys.path.insert(0, build_dir)
    import numpy as np

    import mlpcore

    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=ROWS).astype(np.int32)
    predict_net = mlpcore.MLP(SIZES, "relu", seed=0)
    Xp = X[:PREDICT_ROWS]

    def run(case: str, threads: int) -> float:
        mlpcore.set_num_threads(threads)
        if case == "predict_1024":
            calls = []
            for _ in range(PREDICT_CALLS):
                start = time.perf_counter()
                predict_net.predict(Xp)
                calls.append(time.perf_counter() - start)
            return statistics.median(calls)
        batch = int(case.split("_b")[1])
        net = mlpcore.MLP(SIZES, "relu", seed=0)
        trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=1e-3), batch_size=batch, epochs=1, seed=0,
                                  progress=False)
        start = time.perf_counter()
        trainer.fit(X, y)
        return time.perf_counter() - start

    print(json.dumps({"file": mlpcore.__file__}), flush=True)
    for line in sys.stdin:
        case, threads = line.split()
        print(json.dumps({"seconds": run(case, int(threads))}), flush=True)
    return 0


class Worker:
    def __init__(self, label: str, build_dir: str | None):
        self.label = label
        cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + ([build_dir] if build_dir else [])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.file = json.loads(self.proc.stdout.readline())["file"]

    def time(self, case: str, threads: int) -> float:
        self.proc.stdin.write(f"{case} {threads}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["seconds"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def measure(workers: list[Worker], rounds: int) -> dict:
    times = {w.label: {c: {1: [], 2: []} for c in CASES} for w in workers}
    for w in workers:  # warm-up: first allocations, the thread pool
        for threads in (1, 2):
            w.time("predict_1024", threads)
            w.time("train_b1024", threads)
    for r in range(rounds):
        for case in CASES:
            for w in (workers if r % 2 == 0 else workers[::-1]):
                for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
                    times[w.label][case][threads].append(w.time(case, threads))
    return times


def summarise(times: dict) -> dict:
    out = {}
    for label, cases in times.items():
        out[label] = {}
        for case, by_threads in cases.items():
            med = {t: statistics.median(v) for t, v in by_threads.items()}
            out[label][case] = {"median_s": {str(t): m for t, m in med.items()},
                                "ratio_2_over_1": med[2] / med[1]}
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(argv[1] if len(argv) > 1 else None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed runs per case and thread count (default 5)")
    parser.add_argument("--pin", type=int, default=None, metavar="CPU",
                        help="pin the busy process to this CPU")
    parser.add_argument("--build", action="append", default=[], metavar="LABEL=DIR",
                        help="also time the mlpcore importable from DIR (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    from bench_busy_core import start_spinner  # here, not above: it imports mlpcore

    builds = [(label, path) for label, path in (b.split("=", 1) for b in args.build)] + [("this", None)]
    workers = [Worker(label, path) for label, path in builds]
    result = {"net": "784-256-128-10 relu, float32, Adam; train 8192 rows x 1 epoch; predict 1024 rows",
              "rounds": args.rounds, "pinned_cpu": args.pin,
              "builds": {w.label: w.file for w in workers}, "phases": {}}
    try:
        result["phases"]["idle"] = summarise(measure(workers, args.rounds))
        spinner = start_spinner(args.pin)
        try:
            time.sleep(0.2)  # let the spinner reach its loop
            result["phases"]["busy"] = summarise(measure(workers, args.rounds))
        finally:
            spinner.kill()
            spinner.wait()
    finally:
        for w in workers:
            w.close()

    for label, path in result["builds"].items():
        print(f"build {label}: {path}")
    print(f"{'phase':5} {'case':13} {'build':8} {'1 thread ms':>12} {'2 threads ms':>13} {'2/1':>6}")
    for phase, by_build in result["phases"].items():
        for case in CASES:
            for label, cases in by_build.items():
                r = cases[case]
                print(f"{phase:5} {case:13} {label:8} {r['median_s']['1'] * 1e3:12.1f} "
                      f"{r['median_s']['2'] * 1e3:13.1f} {r['ratio_2_over_1']:6.2f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
