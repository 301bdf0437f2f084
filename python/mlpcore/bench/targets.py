# SPDX-License-Identifier: MIT
"""The speed targets, checked against one run's training-throughput rows (whole epochs).

"vs PyTorch" means mlpcore's samples/s over the faster of the two PyTorch loops measured in the
same run at the same thread count (the stricter comparison); "vs scikit-learn" likewise against
MLPClassifier. The peak target compares mlpcore's achieved arithmetic rate while training (FLOPs
per sample × samples/s, see data.train_flops_per_sample) with the measured one-core peak: the
large-matrix-product rate (``gemm``) decides met / not met, and the fraction of the raw FMA
instruction throughput (``fma``) is given beside it; each is the higher of the figures measured
before and after the run.
"""
from __future__ import annotations

TARGETS = (
    # (kind, net, batch, threads, goal)
    ("torch", "2-128-4", 128, 1, 15.0),
    ("torch", "784-256-128-10", 128, 1, 1.75),
    ("torch", "784-256-128-10", 1024, 1, 1.5),
    ("peak", "784-256-128-10", 1024, 1, 0.75),
    ("torch", "784-1024-1024-10", 256, 1, 1.4),
    ("torch", "784-256-128-10", 128, 2, 1.3),
    ("torch", "784-256-128-10", 1024, 2, 1.3),
    ("torch", "784-1024-1024-10", 256, 2, 1.3),
    ("scaling", "784-256-128-10", 128, 2, 1.7),
    ("scaling", "784-256-128-10", 1024, 2, 1.7),
    ("scaling", "784-1024-1024-10", 256, 2, 1.7),
    ("sklearn", "2-128-4", 128, 1, 10.0),
    ("sklearn", "2-128-4", 128, 2, 10.0),
    ("sklearn", "784-256-128-10", 128, 1, 3.0),
    ("sklearn", "784-256-128-10", 128, 2, 3.0),
)

DESCRIBE = {
    "torch": "mlpcore / PyTorch eager, samples/s",
    "sklearn": "mlpcore / scikit-learn, samples/s",
    "scaling": "mlpcore 2 threads / 1 thread, samples/s",
    "peak": "mlpcore GFLOP/s / one-core peak",
}


def best_peak(report, kind):
    """The higher of the peaks measured before and after the run (GFLOP/s), or None."""
    values = [((report.get(key) or {}).get(kind) or {}).get("gflops") for key in ("peak", "peak_after")]
    values = [v for v in values if v]
    return max(values) if values else None


def _row(rows, net, batch, threads, engine):
    for r in rows:
        if r["net"] == net and r["batch"] == batch and r["threads"] == threads and r["engine"] == engine:
            return r
    return None


def evaluate(report) -> list:
    """One entry per target: the measured value (None when its rows were not measured) and met."""
    train, out = report.get("train", []), []
    for kind, net, batch, threads, goal in TARGETS:
        entry = {"kind": kind, "net": net, "batch": batch, "threads": threads, "goal": goal,
                 "description": DESCRIBE[kind], "against": None, "measured": None, "paired_min": None,
                 "paired_max": None, "met": None}
        mine = _row(train, net, batch, threads, "mlpcore")
        if kind in ("torch", "sklearn") and mine is not None:
            names = ("torch-loop", "torch-dataloader") if kind == "torch" else ("sklearn",)
            theirs = [r for r in (_row(train, net, batch, threads, n) for n in names) if r is not None]
            if theirs:
                fastest = max(theirs, key=lambda r: r["samples_per_s"]["median"])
                ratio = fastest["mlpcore_speedup"]
                entry.update(against=fastest["engine"], measured=ratio["median"], paired_min=ratio["paired_min"],
                             paired_max=ratio["paired_max"])
        elif kind == "scaling":
            for s in report.get("scaling", []):
                if s["net"] == net and s["batch"] == batch and s["engine"] == "mlpcore" and s["threads"] == threads:
                    ratio = s["speedup_over_1_thread"]
                    entry.update(against="mlpcore 1 thread", measured=ratio["median"],
                                 paired_min=ratio["paired_min"], paired_max=ratio["paired_max"])
        elif kind == "peak" and mine is not None:
            gemm, fma = best_peak(report, "gemm"), best_peak(report, "fma")
            if gemm:
                entry.update(against=f"matrix-product peak {gemm:.0f} GFLOP/s", measured=mine["gflops"] / gemm,
                             gflops=mine["gflops"], gemm_peak_gflops=gemm,
                             fraction_of_fma_peak=mine["gflops"] / fma if fma else None, fma_peak_gflops=fma)
        if entry["measured"] is not None:
            entry["met"] = bool(entry["measured"] >= goal)
        out.append(entry)
    return out
