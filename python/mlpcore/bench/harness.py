# SPDX-License-Identifier: MIT
"""The benchmark run: sections (training throughput, one step, prediction, accuracy), the peak
probe, the machine record and the targets, gathered into one report dictionary."""
from __future__ import annotations

import datetime
import gc
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

import mlpcore  # noqa: F401  (before torch: the process then uses the system's OpenMP runtime for both)

from . import data, machine, peak, timing
from .engines import LR, MLPCORE_INIT, Engines

SCHEMA = "mlpcore-bench/1"


@dataclass(frozen=True)
class Mode:
    name: str
    repeats: int            # rounds per section
    spiral_epochs: int      # epochs per timed fit on the spiral
    teacher_epochs: int     # epochs per timed fit on teacher data
    teacher_flops: float    # training FLOPs one teacher-data fit aims for (sets the row count)
    teacher_min_batches: int
    teacher_max_rows: int
    test_rows: int
    step_block: float       # seconds per timed block of steps / predictions
    predict_block: float
    warmup: float           # seconds of warm-up per step/predict case
    pool: int               # batches in the step pool
    acc_spiral_epochs: int
    acc_digits_epochs: int
    acc_repeats: int
    peak_level: int
    load_sample: float      # seconds of load sampling before and after
    overhead: tuple         # (epochs per fit, repetitions) of the progress/callback section


FULL = Mode("full", 5, 20, 2, 5e10, 16, 60_000, 10_000, 0.2, 0.05, 0.3, 8, 100, 50, 3, 0, 2.0, (200, 21))
QUICK = Mode("quick", 2, 4, 1, 4e9, 8, 60_000, 2_000, 0.03, 0.01, 0.04, 4, 30, 20, 1, 1, 0.5, (200, 5))
SMOKE = Mode("smoke", 1, 1, 1, 2e7, 2, 512, 200, 0.002, 0.001, 0.002, 2, 10, 5, 1, 2, 0.1, (5, 1))
MODES = {m.name: m for m in (FULL, QUICK, SMOKE)}
PREDICT_ROWS = (1, 1024)


@dataclass(frozen=True)
class Case:
    key: tuple
    threads: int


class Run:
    """One benchmark run; call() returns the report."""

    def __init__(self, mode, grid, threads, engines=None, sections=None, boundary=False, wait_quiet=0.0,
                 say=print):
        self.mode, self.grid, self.thread_counts, self.say = mode, list(grid), list(threads), say
        self.boundary, self.wait_quiet = boundary, wait_quiet
        self.sections = list(sections or ("train", "step", "predict", "accuracy"))
        self.torch = machine.optional("torch")
        self.sklearn = machine.optional("sklearn")
        if self.sklearn is not None:
            machine.optional("sklearn.neural_network")
        self.engines = Engines(self.torch, self.sklearn, engines)
        self.threads = machine.Threads(self.torch)  # after the imports: it finds their thread pools
        self.warnings = []
        self._teacher = {}

    # -- data ---------------------------------------------------------------------------------------
    def dataset(self, spec):
        """(X_train, y_train, X_test, y_test, epochs) for a grid entry."""
        m = self.mode
        if spec.data == "spiral":
            n_per_class = 1000 if m.name != "smoke" else 50
            return (*data.spiral_split(n_per_class=n_per_class), m.spiral_epochs)
        per_fit = data.train_flops_per_sample(spec.sizes) * m.teacher_epochs
        rows = int(min(m.teacher_max_rows, max(m.teacher_min_batches * spec.batch, m.teacher_flops / per_fit)))
        key = (spec.sizes[0], spec.sizes[-1])
        have = self._teacher.get(key)
        if have is None or have[0].shape[0] < rows:
            have = data.teacher_data(max(rows, m.teacher_min_batches * 128), m.test_rows, *key)
            self._teacher[key] = have
        X, y, Xt, yt = have
        return X[:rows], y[:rows], Xt, yt, m.teacher_epochs

    def warn(self, text):
        self.warnings.append(text)
        self.say(f"  !! {text}")

    def _quiet(self):
        """Before a section: wait (at most --wait-quiet seconds) for the other processes to rest."""
        if self.wait_quiet > 0:
            machine.wait_quiet(self.wait_quiet, window=2.0, say=lambda text: self.say(f"  ({text})"))

    def _timed(self, where, measure):
        """Run `measure()` with the other processes' load recorded: (result, foreign cores). With
        --wait-quiet it first waits for idle CPUs, and a disturbed measurement is taken once more
        (after waiting again); the less disturbed of the two is kept."""
        best = None
        for attempt in range(2 if self.wait_quiet > 0 else 1):
            if attempt:
                self.say(f"  ({where}: other processes kept {best[1]:.2f} cores busy; measuring again)")
            self._quiet()
            load = machine.ForeignLoad().start()
            result = measure()
            cores = load.stop()
            if best is None or (cores is not None and best[1] is not None and cores < best[1]):
                best = (result, cores)
            if best[1] is None or best[1] <= machine.FOREIGN_WARN:
                break
        self._check_load(where, best[1])
        return best

    def _check_load(self, where, cores):
        if cores is not None and cores > machine.FOREIGN_WARN:
            self.warn(f"{where}: other processes kept {cores:.2f} cores busy: timings disturbed")

    # -- training over whole epochs --------------------------------------------------------------------
    def train_section(self, spec, dataset, epochs, thread_counts, rounds, what):
        X, y, Xt, yt = dataset
        cases = [Case((name, t), t) for name in self.engines.train_names for t in thread_counts]
        warm_rows = min(X.shape[0], 4 * spec.batch)
        warm = (X[:warm_rows], y[:warm_rows], Xt[:64], yt[:64])
        for case in cases:  # first-call costs (thread pools, allocators, imports) stay out
            with self.threads(case.threads):
                self.engines.fit(case.key[0], spec.sizes, warm, spec.batch, 1, 0)
        runs, foreign = self._timed(f"{what} {spec.label}", lambda: timing.interleaved(
            cases, rounds, self.threads,
            lambda c, r: self.engines.fit(c.key[0], spec.sizes, dataset, spec.batch, epochs, r)))
        rows = X.shape[0]
        flops = data.train_flops_per_sample(spec.sizes)
        rate = {k: [rows * epochs / s for s, _ in v] for k, v in runs.items()}
        out = []
        for case in cases:
            name, t = case.key
            row = {"net": spec.name, "sizes": list(spec.sizes), "batch": spec.batch, "threads": t, "engine": name,
                   "data": spec.data, "train_rows": rows, "test_rows": int(Xt.shape[0]), "epochs": epochs,
                   "samples_per_s": timing.summary(rate[case.key]),
                   "seconds": timing.summary([s for s, _ in runs[case.key]]),
                   "test_accuracy": timing.summary([a for _, a in runs[case.key]]),
                   "gflops": statistics.median(rate[case.key]) * flops / 1e9,
                   "foreign_load_cores": foreign,
                   "mlpcore_speedup": None}
            if name != "mlpcore" and ("mlpcore", t) in rate:
                row["mlpcore_speedup"] = timing.paired(rate[("mlpcore", t)], rate[case.key])
            out.append(row)
        scaling = []
        if 1 in thread_counts:
            for name in self.engines.train_names:
                for t in thread_counts:
                    if t != 1:
                        scaling.append({"net": spec.name, "batch": spec.batch, "engine": name, "threads": t,
                                        "speedup_over_1_thread": timing.paired(rate[(name, t)], rate[(name, 1)])})
        return out, scaling

    # -- one step and prediction (blocks of calls) ---------------------------------------------------------
    def _blocks(self, cases, make, block, rounds, where):
        """Calibrate and time blocks of calls; make(case) -> (run, calls per unit of run);
        ({key: per-call seconds list}, {key: calls per block}, foreign load)."""
        runners, units, per_unit = {}, {}, {}
        for case in cases:
            with self.threads(case.threads):
                runners[case.key], per_unit[case.key] = make(case)
                units[case.key] = timing.calibrate(runners[case.key], block, self.mode.warmup)
        per_call, foreign = self._timed(where, lambda: timing.interleaved(
            cases, rounds, self.threads,
            lambda c, r: timing.time_block(runners[c.key], units[c.key]) / (units[c.key] * per_unit[c.key])))
        return per_call, {k: units[k] * per_unit[k] for k in units}, foreign

    def step_section(self, spec, rounds):
        rng = np.random.default_rng(0)
        xs = [rng.standard_normal((spec.batch, spec.sizes[0]), dtype=np.float32) for _ in range(self.mode.pool)]
        ys = [rng.integers(0, spec.sizes[-1], size=spec.batch).astype(np.int64) for _ in range(self.mode.pool)]
        libraries = self.engines.libraries + (["mlpcore-core", "mlpcore-epoch"] if self.boundary else [])
        cases = [Case((lib, t), t) for lib in libraries for t in self.thread_counts]
        per_call, units, foreign = self._blocks(
            cases, lambda c: self.engines.step(c.key[0], spec.sizes, xs, ys, 0), self.mode.step_block, rounds,
            f"step {spec.label}")
        flops = data.train_flops_per_sample(spec.sizes) * spec.batch
        out = []
        for case in cases:
            lib, t = case.key
            us = [1e6 * s for s in per_call[case.key]]
            row = {"net": spec.name, "sizes": list(spec.sizes), "batch": spec.batch, "threads": t, "library": lib,
                   "step_us": timing.summary(us), "steps_per_block": units[case.key],
                   "samples_per_s": spec.batch / statistics.median(us) * 1e6,
                   "gflops": flops / statistics.median(us) / 1e3, "foreign_load_cores": foreign,
                   "mlpcore_speedup": None}
            if lib != "mlpcore" and ("mlpcore", t) in per_call:
                row["mlpcore_speedup"] = timing.paired(per_call[case.key], per_call[("mlpcore", t)])
            out.append(row)
        return out

    def predict_section(self, sizes, rounds):
        out = []
        label = "-".join(map(str, sizes))
        for n_rows in PREDICT_ROWS:
            X = np.random.default_rng(1).standard_normal((n_rows, sizes[0]), dtype=np.float32)
            cases = [Case((lib, t), t) for lib in self.engines.libraries for t in self.thread_counts]
            per_call, units, foreign = self._blocks(
                cases, lambda c: (self.engines.predict(c.key[0], sizes, X, 0), 1), self.mode.predict_block, rounds,
                f"predict {label} rows {n_rows}")
            for case in cases:
                lib, t = case.key
                row = {"net": label, "sizes": list(sizes), "rows": n_rows, "threads": t, "library": lib,
                       "latency_us": timing.summary([1e6 * s for s in per_call[case.key]]),
                       "calls_per_block": units[case.key], "foreign_load_cores": foreign, "mlpcore_speedup": None}
                if lib != "mlpcore" and ("mlpcore", t) in per_call:
                    row["mlpcore_speedup"] = timing.paired(per_call[case.key], per_call[("mlpcore", t)])
                out.append(row)
        return out

    def accuracy_section(self):
        """Test accuracy after the same epochs: the spiral (2-128-4) and the digits (64-256-128-10)."""
        m = self.mode
        out = []
        sets = [("spiral", data.NetSpec((2, 128, 4), 128), m.acc_spiral_epochs, data.spiral_split)]
        if self.sklearn is not None:
            sets.append(("digits", data.NetSpec((64, 256, 128, 10), 128), m.acc_digits_epochs, data.digits_split))
        else:
            self.warn("the digits accuracy needs scikit-learn (mlpcore.datasets.load_digits): skipped")
        for name, spec, epochs, load in sets:
            rows, _ = self.train_section(spec, load(), epochs, [1], m.acc_repeats, f"accuracy {name}")
            for row in rows:
                row["dataset"] = name
            out.extend(rows)
        return out

    # -- the whole run ----------------------------------------------------------------------------------
    def __call__(self, argv=None):
        # The libraries' own objects (tens of thousands) move to the permanent generation, so the
        # garbage collections between timed runs stay short.
        gc.freeze()
        try:
            started = time.time()
            report = self._record(argv)
            self.say("measuring the arithmetic peak of one core ...")
            self._quiet()
            report["peak"] = peak.measure(self.mode.peak_level, self.torch, self.threads)
            self._sections(report)
            # The clock of a shared machine moves: the peak is measured again at the end, and the
            # targets use the higher figure of each kind.
            self._quiet()
            report["peak_after"] = peak.measure(self.mode.peak_level, self.torch, self.threads)
            from .targets import evaluate
            from .report import print_targets
            report["targets"] = evaluate(report)
            report["machine"]["load_after"] = machine.sample_load(self.mode.load_sample)
            self._check_load("after the run", report["machine"]["load_after"]["foreign_cores"])
            report["elapsed_seconds"] = time.time() - started
            report["warnings"] = self.warnings
            report["noisy"] = any("cores busy" in w for w in self.warnings)
            print_targets(report, self.say)
            return report
        finally:
            gc.unfreeze()

    def _record(self, argv) -> dict:
        """The run's settings, machine, build, versions and thread counts."""
        m = self.mode
        report = {"schema": SCHEMA, "command": argv if argv is not None else " ".join(sys.argv),
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "mode": m.name, "settings": {**m.__dict__, "threads": self.thread_counts, "lr": LR,
                                               "optimizer": "Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)",
                                               "activation": "relu", "loss": "cross_entropy", "dtype": "float32",
                                               "mlpcore_init": MLPCORE_INIT, "sections": self.sections},
                  "grid": [{"net": s.name, "sizes": list(s.sizes), "batch": s.batch, "data": s.data}
                           for s in self.grid]}
        cpu = machine.cpu()
        report["machine"] = {**cpu, "load_before": machine.sample_load(m.load_sample)}
        report["build"] = machine.build()
        report["git"] = machine.git()
        report["versions"] = {**self.engines.versions, "numpy": np.__version__,
                              "threadpoolctl": self.threads.threadpoolctl, "python": cpu["python"]}
        report["engines"] = {"measured": self.engines.train_names, "libraries": self.engines.libraries,
                             "skipped": self.engines.skipped}
        report["threads"] = [self.threads.state(t) for t in self.thread_counts]
        report["openmp_runtimes"] = machine.openmp_runtimes()
        report["environment"] = machine.environment()
        if self.threads.controller is None:
            self.warn("threadpoolctl is not installed: NumPy/scikit-learn BLAS threads are not limited")
        if max(self.thread_counts) > (cpu["cpus_available"] or 1):
            self.warn(f"{max(self.thread_counts)} threads asked for but only {cpu['cpus_available']} CPUs available")
        self._check_load("before the run", report["machine"]["load_before"]["foreign_cores"])
        for name, reason in self.engines.skipped.items():
            self.say(f"  (engine {name} skipped: {reason})")
        return report

    def _sections(self, report):
        """Run the chosen sections, printing each table as it fills."""
        from . import report as rep

        m = self.mode
        for key in ("train", "scaling", "step", "predict", "accuracy"):
            report[key] = []
        if "train" in self.sections:
            rep.print_train_header(self.say)
            for spec in self.grid:
                *dataset, epochs = self.dataset(spec)
                rows, scaling = self.train_section(spec, tuple(dataset), epochs, self.thread_counts, m.repeats,
                                                   "train")
                report["train"] += rows
                report["scaling"] += scaling
                rep.print_train_rows(rows, self.say)
        if "step" in self.sections:
            rep.print_step_header(self.say)
            for spec in self.grid:
                rows = self.step_section(spec, m.repeats + 2)
                report["step"] += rows
                rep.print_step_rows(rows, self.say)
        if "predict" in self.sections:
            rep.print_predict_header(self.say)
            for sizes in dict.fromkeys(s.sizes for s in self.grid):
                rows = self.predict_section(sizes, m.repeats + 2)
                report["predict"] += rows
                rep.print_predict_rows(rows, self.say)
        if "accuracy" in self.sections:
            rep.print_accuracy_header(self.say)
            report["accuracy"] = self.accuracy_section()
            rep.print_accuracy_rows(report["accuracy"], self.say)
            self._check_accuracy(report["accuracy"])
        if "overhead" in self.sections:
            from . import overhead
            self._quiet()
            with self.threads(1):
                report["overhead"] = overhead.measure(*m.overhead)
            self._check_load("overhead", report["overhead"]["foreign_load_cores"])
            self.say("\nprogress bar and callbacks, cost in Trainer.fit:")
            for line in overhead.lines(report["overhead"]):
                self.say(f"  {line}")

    def _check_accuracy(self, rows):
        """Speed must not hide a wrong result: flag mlpcore well below the best engine."""
        groups = {}
        for row in rows:
            groups.setdefault((row.get("dataset", row["data"]), row["net"], row["batch"], row["threads"]),
                              []).append(row)
        for (dataset, net, batch, threads), group in groups.items():
            mine = [r for r in group if r["engine"] == "mlpcore"]
            if not mine or len(group) < 2:
                continue
            best = max(r["test_accuracy"]["median"] for r in group)
            acc = mine[0]["test_accuracy"]["median"]
            if acc < best - 0.02:
                self.warn(f"{dataset} {net} b{batch} {threads} thr: mlpcore's test accuracy {acc:.4f} is more "
                          f"than 0.02 below the best engine's {best:.4f}")
