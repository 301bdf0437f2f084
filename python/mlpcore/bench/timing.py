# SPDX-License-Identifier: MIT
"""Interleaved repetitions: every round runs each case once, in an order that rotates from round to
round, so drift and machine noise hit all cases alike and ratios can be paired within a round."""
from __future__ import annotations

import gc
import statistics
import time


def summary(values) -> dict:
    """Median, min and max of the runs, and the runs themselves."""
    values = [float(v) for v in values]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def paired(numerators, denominators) -> dict:
    """Ratio of the medians and the min–max of the ratios paired round by round."""
    pairs = [a / b for a, b in zip(numerators, denominators)]
    return {"median": statistics.median(numerators) / statistics.median(denominators),
            "paired_min": min(pairs), "paired_max": max(pairs)}


def interleaved(cases, rounds, threads, measure):
    """Run `measure(case, round)` for every case in every round (rotating order) with the case's
    thread count in force and the garbage collector off during the call (its garbage is collected
    after, outside the timing); {case.key: [results]}."""
    out = {c.key: [] for c in cases}
    for r in range(rounds):
        k = r % len(cases)
        for case in cases[k:] + cases[:k]:
            with threads(case.threads):
                enabled = gc.isenabled()
                gc.disable()
                try:
                    out[case.key].append(measure(case, r))
                finally:
                    if enabled:
                        gc.enable()
    return out


def time_block(run, units) -> float:
    t0 = time.perf_counter_ns()
    run(units)
    return (time.perf_counter_ns() - t0) / 1e9


def calibrate(run, block_seconds, warmup_seconds) -> int:
    """Warm `run` up for about `warmup_seconds`; return how many units fill one block."""
    units, elapsed, spent = 1, 0.0, 0.0
    while True:
        elapsed = time_block(run, units)
        spent += elapsed
        if spent >= warmup_seconds and (elapsed >= min(0.002, block_seconds / 4) or units >= 1 << 20):
            break
        if elapsed < min(0.002, block_seconds / 4):
            units *= 2
    return max(1, round(block_seconds * units / elapsed))
