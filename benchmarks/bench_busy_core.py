# SPDX-License-Identifier: MIT
"""Training on a busy machine: 1 and 2 engine threads while another process spins on a core.

Starts one busy-spinning process (pinned to a core with ``--pin CPU``, else wherever the OS puts
it), then trains the course's 2-128-4 ReLU net on the 4-arm spiral (4,000 points, batch 128, Adam,
float32) for a few epochs with ``mlpcore.set_num_threads(1)`` and ``(2)``, alternating the two in
every round so that drift hits both alike. Prints the median time of a run per thread count, the
2-thread/1-thread ratio of the medians (with the min-max of the ratios paired round by round) and
the engine's count of OpenMP parallel regions entered during the timed runs.

The aim: 2 threads take no more than twice the 1-thread time. A net this small gains nothing from a
second thread; when the engine opens parallel regions anyway, its threads wait for the descheduled
core and training runs many times slower.

    python benchmarks/bench_busy_core.py [--epochs 20] [--rounds 7] [--pin 1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import mlpcore
from mlpcore import _core


def train_once(X, y, threads: int, epochs: int) -> float:
    mlpcore.set_num_threads(threads)
    net = mlpcore.MLP([2, 128, 4], "relu", init="xavier", seed=0)
    trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=1e-3), batch_size=128, epochs=epochs, seed=0, progress=False)
    start = time.perf_counter()
    trainer.fit(X, y)
    return time.perf_counter() - start


def start_spinner(pin: int | None) -> subprocess.Popen:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    if pin is not None:
        os.sched_setaffinity(spinner.pid, {pin})
    return spinner


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs per timed run (default 20)")
    parser.add_argument("--rounds", type=int, default=7, help="timed runs per thread count (default 7)")
    parser.add_argument("--pin", type=int, default=None, metavar="CPU", help="pin the busy process to this CPU")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    X, y = mlpcore.datasets.spiral(seed=0)  # 4 classes x 1000 points
    previous = mlpcore.get_num_threads()
    spinner = start_spinner(args.pin)
    times: dict[int, list[float]] = {1: [], 2: []}
    try:
        time.sleep(0.2)  # let the spinner reach its loop
        for threads in (1, 2):
            train_once(X, y, threads, 1)  # warm-up: first allocations, thread pool
        regions_before = _core.parallel_regions()
        for r in range(args.rounds):
            for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
                times[threads].append(train_once(X, y, threads, args.epochs))
        regions = _core.parallel_regions() - regions_before
    finally:
        spinner.kill()
        spinner.wait()
        mlpcore.set_num_threads(previous)

    med = {t: statistics.median(v) for t, v in times.items()}
    paired = [b / a for a, b in zip(times[1], times[2])]
    result = {
        "net": "2-128-4 relu, spiral 4000 points, batch 128, Adam, float32",
        "epochs": args.epochs, "rounds": args.rounds, "pinned_cpu": args.pin,
        "median_s": {str(t): m for t, m in med.items()},
        "min_s": {str(t): min(v) for t, v in times.items()},
        "max_s": {str(t): max(v) for t, v in times.items()},
        "ratio_2_over_1": med[2] / med[1],
        "ratio_paired_min_max": [min(paired), max(paired)],
        "parallel_regions": regions,
        "build": mlpcore.build_info(),
    }
    print(f"busy process: pid {spinner.pid}, " + (f"pinned to CPU {args.pin}" if args.pin is not None else "not pinned"))
    for t in (1, 2):
        print(f"{t} thread{'s' if t > 1 else ' '}: median {med[t] * 1e3:8.1f} ms per {args.epochs} epochs "
              f"(min {min(times[t]) * 1e3:.1f}, max {max(times[t]) * 1e3:.1f}, {args.rounds} runs)")
    print(f"2/1 thread ratio: {result['ratio_2_over_1']:.2f} (paired {min(paired):.2f}-{max(paired):.2f}); "
          f"aim <= 2.0; parallel regions entered in timed runs: {regions}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
