# SPDX-License-Identifier: MIT
"""The report's three faces: a table on the terminal, a Markdown page, a PNG chart."""
from __future__ import annotations

import json
import os

from .._files import atomic_write


def _rate(v):
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k" if v >= 1e3 else f"{v:.0f}"


def _us(v):
    return f"{v / 1e3:.2f} ms" if v >= 1e4 else f"{v:.1f} µs"


def _ratio(r, paired=True):
    if r is None:
        return "—"
    return f"{r['median']:.2f}×" + (f" ({r['paired_min']:.2f}–{r['paired_max']:.2f})" if paired else "")


def _span(s, fmt):
    return f"{fmt(s['min'])}–{fmt(s['max'])}"


# -- terminal --------------------------------------------------------------------------------------------
def print_train_header(say):
    say("\ntraining throughput, whole epochs (samples/s median, min–max; mlpcore× = mlpcore's samples/s over "
        "the engine's, paired min–max)")
    say(f"{'net':18}{'batch':>6}{'thr':>4}  {'engine':17}{'samples/s':>10}  {'min–max':>17}{'GFLOP/s':>9}"
        f"  {'mlpcore×':>22}  {'test acc':>8}")


def print_train_rows(rows, say):
    for r in rows:
        s = r["samples_per_s"]
        say(f"{r['net']:18}{r['batch']:>6}{r['threads']:>4}  {r['engine']:17}{_rate(s['median']):>10}  "
            f"{_span(s, _rate):>17}{r['gflops']:>9.1f}  {_ratio(r['mlpcore_speedup']):>22}  "
            f"{r['test_accuracy']['median']:8.4f}")


def print_step_header(say):
    say("\none training step (µs median, min–max; mlpcore× = engine's time over mlpcore's)")
    say(f"{'net':18}{'batch':>6}{'thr':>4}  {'library':14}{'per step':>11}  {'min–max':>21}{'samples/s':>11}"
        f"{'GFLOP/s':>9}  {'mlpcore×':>22}")


def print_step_rows(rows, say):
    for r in rows:
        s = r["step_us"]
        say(f"{r['net']:18}{r['batch']:>6}{r['threads']:>4}  {r['library']:14}{_us(s['median']):>11}  "
            f"{_span(s, _us):>21}{_rate(r['samples_per_s']):>11}{r['gflops']:>9.1f}  "
            f"{_ratio(r['mlpcore_speedup']):>22}")


def print_predict_header(say):
    say("\nprediction latency (labels for a batch of rows; mlpcore× = engine's time over mlpcore's)")
    say(f"{'net':18}{'rows':>6}{'thr':>4}  {'library':9}{'latency':>11}  {'min–max':>21}  {'mlpcore×':>22}")


def print_predict_rows(rows, say):
    for r in rows:
        s = r["latency_us"]
        say(f"{r['net']:18}{r['rows']:>6}{r['threads']:>4}  {r['library']:9}{_us(s['median']):>11}  "
            f"{_span(s, _us):>21}  {_ratio(r['mlpcore_speedup']):>22}")


def print_accuracy_header(say):
    say("\ntest accuracy after the same epochs (1 thread; median, min–max over seeds)")
    say(f"{'data':8}{'net':18}{'epochs':>7}  {'engine':17}{'test acc':>9}  {'min–max':>15}{'samples/s':>11}")


def print_accuracy_rows(rows, say):
    for r in rows:
        a = r["test_accuracy"]
        say(f"{r['dataset']:8}{r['net']:18}{r['epochs']:>7}  {r['engine']:17}{a['median']:9.4f}  "
            f"{a['min']:.4f}–{a['max']:.4f}{_rate(r['samples_per_s']['median']):>11}")


def _target_name(t):
    return f"{t['net']} b{t['batch']} {t['threads']} thr"


def _met(t):
    return "not measured" if t["met"] is None else ("met" if t["met"] else "NOT met")


def print_targets(report, say):
    for key, when in (("peak", "before"), ("peak_after", "after")):
        p = report.get(key) or {}
        fma, gemm = (p.get("fma") or {}).get("gflops"), (p.get("gemm") or {}).get("gflops")
        if p:
            say(f"\none-core peak {when} the run: FMA probe " + (f"{fma:.0f} GFLOP/s" if fma else "unavailable") +
                (f", large matrix product {gemm:.0f} GFLOP/s ({p['gemm']['library']})" if gemm else ""))
    say("targets (training throughput over whole epochs, same run):")
    missing = [t for t in report.get("targets", []) if t["measured"] is None]
    if missing:
        say(f"  ({len(missing)} of {len(report['targets'])} not measured: their nets or threads are not in this run)")
    for t in report.get("targets", []):
        if t["measured"] is None:
            continue
        measured = "—" if t["measured"] is None else (
            f"{100 * t['measured']:.0f} %" if t["kind"] == "peak" else f"{t['measured']:.2f}×")
        goal = f"{100 * t['goal']:.0f} %" if t["kind"] == "peak" else f"{t['goal']:g}×"
        extra = ""
        if t["paired_min"] is not None:
            extra = f" (paired {t['paired_min']:.2f}–{t['paired_max']:.2f})"
        if t["kind"] == "peak" and t.get("fraction_of_fma_peak"):
            extra = f" ({t['gflops']:.0f} GFLOP/s; {100 * t['fraction_of_fma_peak']:.0f} % of the FMA probe)"
        say(f"  {_target_name(t):30} {t['description']:40} ≥ {goal:6} {measured:>8}{extra}  {_met(t)}")
    for w in report.get("warnings", []):
        say(f"  !! {w}")


# -- Markdown ---------------------------------------------------------------------------------------------
def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report, command, png_relative=None) -> str:
    """The whole page: how to regenerate it, machine and build, targets, then every section."""
    lines = _md_machine(report, command) + _md_targets(report, png_relative) + _md_sections(report)
    lines += ["## Warnings", ""]
    lines += [f"- {w}" for w in report["warnings"]] or ["None: no section saw other processes busy."]
    lines += ["", f"Total run time {report['elapsed_seconds']:.0f} s.", ""]
    return "\n".join(lines)


def _md_machine(report, command):
    m, b, v = report["machine"], report["build"], report["versions"]
    cm = b.get("cmake") or {}
    flags = " ".join(x for x in (cm.get("CMAKE_CXX_FLAGS_RELEASE"), cm.get("CMAKE_CXX_FLAGS")) if x)
    if cm.get("MLPCORE_NATIVE", "").upper() in ("ON", "TRUE", "1"):
        flags += " -march=native (MLPCORE_NATIVE)"
    lb, la = m["load_before"], m.get("load_after") or {}
    out = ["# Benchmarks", "",
           "mlpcore against PyTorch eager and scikit-learn on the same nets, data and settings, measured by "
           "`mlpcore bench` (the harness lives in `python/mlpcore/bench`; `benchmarks/README.md` "
           "describes the method). Regenerate this page, its JSON and its chart with:", "",
           "```bash", command, "```", ""]
    if report.get("noisy"):
        out += ["**The machine was shared while these numbers were taken**: other processes used CPU time "
                "during some sections (listed under [Warnings](#warnings)). Absolute figures are then low and "
                "noisy; the ratios, taken from interleaved runs of one process, are steadier but not immune.", ""]
    out += ["## Machine and build", "",
            f"- {report['date']}, mode `{report['mode']}`, commit `{(report['git'].get('commit') or '?')[:12]}`"
            + _modified(report["git"].get("modified_files")),
            f"- CPU: {m['model']}, {m['cpus_available']} of {m['logical_cpus']} logical CPUs available; "
            f"ISA flags {', '.join(m['isa_flags'])}",
            f"- Load from other processes: {_load(lb)} before, {_load(la)} after the run",
            f"- mlpcore {v['mlpcore']}: {b.get('compiler')}, Eigen {b.get('eigen_version')}, "
            f"native={b.get('native')}, OpenMP={b.get('openmp')}, SIMD {b.get('isa')}"
            + (f", flags `{flags}`" if flags else ""),
            f"- PyTorch {v.get('torch') or 'not installed'}, scikit-learn {v.get('sklearn') or 'not installed'}, "
            f"NumPy {v['numpy']}, threadpoolctl {v.get('threadpoolctl') or 'not installed'}, Python {v['python']}",
            f"- One-core peak before the run: {_peak_text(report.get('peak', {}))}"]
    if report.get("peak_after"):
        out += [f"- One-core peak after the run: {_peak_text(report['peak_after'])}; the targets use the higher "
                "figure of each kind"]
    out += ["",
            "Every engine: ReLU hidden layers, softmax cross-entropy, Adam (lr 1e-3), float32, reshuffled "
            "each epoch; threads set with `mlpcore.set_num_threads`, `torch.set_num_threads` and "
            "threadpoolctl. Engines, thread counts and seeds are interleaved in a rotating order; each "
            "figure is the median over the rounds with its min–max, and each ratio is taken within this run "
            "(ratio of the medians, then in brackets the min–max of the ratios paired round by round).", ""]
    return out


def _md_targets(report, png_relative):
    measured = [t for t in report["targets"] if t["met"] is not None]
    out = ["## Targets", "", "Training throughput over whole epochs; PyTorch means the faster of its two loops "
           f"in the same run. {sum(t['met'] for t in measured)} of {len(measured)} measured targets met"
           + (f" ({len(report['targets']) - len(measured)} not measured)." if len(measured) < len(report["targets"])
              else "."), ""]
    rows = []
    for t in report["targets"]:
        if t["kind"] == "peak":
            goal = f"≥ {100 * t['goal']:.0f} % of the matrix-product peak"
            got = "—" if t["measured"] is None else (
                f"{100 * t['measured']:.0f} % ({t['gflops']:.0f} GFLOP/s"
                + (f"; {100 * t['fraction_of_fma_peak']:.0f} % of the FMA probe)" if t.get("fraction_of_fma_peak")
                   else ")"))
        else:
            goal = f"≥ {t['goal']:g}×"
            got = "—" if t["measured"] is None else f"{t['measured']:.2f}× ({t['paired_min']:.2f}–{t['paired_max']:.2f})"
        rows.append([t["net"], t["batch"], t["threads"], t["description"] + (f" ({t['against']})" if t["against"]
                                                                         and t["kind"] != "peak" else ""),
                     goal, got, "**" + _met(t) + "**" if t["met"] is False else _met(t)])
    out += [_table(["net", "batch", "threads", "measure", "target", "measured", ""], rows), ""]
    if png_relative:
        out += [f"![training throughput and targets]({png_relative})", ""]
    return out


def _md_sections(report):
    out = []
    if report["train"]:
        out += ["## Training throughput", "", "Whole epochs through each engine's training loop, from a fresh "
                "model each round; test accuracy after the same epochs beside the speed.", ""]
        out += [_table(["net", "batch", "threads", "engine", "data (rows × epochs)", "samples/s", "min–max",
                        "GFLOP/s", "mlpcore ×", "test accuracy"],
                       [[r["net"], r["batch"], r["threads"], r["engine"],
                         f"{r['data']} ({r['train_rows']:,} × {r['epochs']})", _rate(r["samples_per_s"]["median"]),
                         _span(r["samples_per_s"], _rate), f"{r['gflops']:.1f}", _ratio(r["mlpcore_speedup"]),
                         f"{r['test_accuracy']['median']:.4f}"] for r in report["train"]]), ""]
        if report["scaling"]:
            out += ["Speed-up from 1 to more threads (samples/s ratio, paired min–max):", ""]
            out += [_table(["net", "batch", "engine", "threads", "speed-up"],
                           [[s["net"], s["batch"], s["engine"], s["threads"], _ratio(s["speedup_over_1_thread"])]
                            for s in report["scaling"]]), ""]
    if report["step"]:
        out += ["## One training step", "", "One step on a batch from a fixed pool: `net.train_step`, a PyTorch "
                "eager step, scikit-learn's `partial_fit` on one batch. mlpcore × = the engine's time over "
                "mlpcore's.", ""]
        out += [_table(["net", "batch", "threads", "library", "per step", "min–max", "GFLOP/s", "mlpcore ×"],
                       [[r["net"], r["batch"], r["threads"], r["library"], _us(r["step_us"]["median"]),
                         _span(r["step_us"], _us), f"{r['gflops']:.1f}", _ratio(r["mlpcore_speedup"])]
                        for r in report["step"]]), ""]
    if report["predict"]:
        out += ["## Prediction latency", "", "Labels for a batch of 1 or 1024 rows: `net.predict`, "
                "`model(X).argmax(1)` under `torch.inference_mode()`, `MLPClassifier.predict`.", ""]
        out += [_table(["net", "rows", "threads", "library", "latency", "min–max", "mlpcore ×"],
                       [[r["net"], r["rows"], r["threads"], r["library"], _us(r["latency_us"]["median"]),
                         _span(r["latency_us"], _us), _ratio(r["mlpcore_speedup"])] for r in report["predict"]]), ""]
    if report["accuracy"]:
        out += ["## Accuracy after the same epochs", "", "1 thread, batch 128; the spiral (`datasets.spiral()`, "
                "80/20 split) on 2-128-4 and the standardised digits (`datasets.load_digits()`, 80/20 split) on "
                "64-256-128-10; median over seeds.", ""]
        out += [_table(["data", "net", "epochs", "engine", "test accuracy", "min–max", "samples/s"],
                       [[r["dataset"], r["net"], r["epochs"], r["engine"], f"{r['test_accuracy']['median']:.4f}",
                         f"{r['test_accuracy']['min']:.4f}–{r['test_accuracy']['max']:.4f}",
                         _rate(r["samples_per_s"]["median"])] for r in report["accuracy"]]), ""]
    if report.get("overhead"):
        from .overhead import lines
        out += ["## Progress bar and callbacks in `Trainer.fit`", ""] + [f"- {x}" for x in lines(report["overhead"])]
        out += [""]
    return out


def _modified(entries):
    if not entries:
        return ""
    names = [e.split(None, 1)[-1] for e in entries]  # porcelain lines: "XY path"
    return " (modified tracked files: " + ", ".join(f"`{n}`" for n in names[:4]) + (", …" if len(names) > 4 else "") + ")"


def _load(sample):
    if not sample:
        return "?"
    cores = sample.get("foreign_cores")
    avg = sample.get("loadavg")
    return (f"{cores:.2f} cores" if cores is not None else "?") + (f" (load average {avg[0]:.2f})" if avg else "")


def _peak_text(p):
    fma, gemm = p.get("fma") or {}, p.get("gemm") or {}
    parts = []
    if fma.get("gflops"):
        parts.append(f"{fma['gflops']:.0f} GFLOP/s from the FMA probe ({fma['method']})")
    else:
        parts.append(f"FMA probe unavailable ({fma.get('error', '?')})")
    if gemm.get("gflops"):
        parts.append(f"{gemm['gflops']:.0f} GFLOP/s from a {gemm['method']} ({gemm['library']})")
    return "; ".join(parts)


# -- files -------------------------------------------------------------------------------------------------
def write_json(report, path):
    with atomic_write(path) as f:
        json.dump(report, f, indent=1)


def write_png(report, path):
    """Two panels: training samples/s per configuration and engine (log scale), and every target's
    measured value over its goal (1 = met). Needs matplotlib (Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = report["train"]
    configs = list(dict.fromkeys((r["net"], r["batch"], r["threads"]) for r in train))
    engines = list(dict.fromkeys(r["engine"] for r in train))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.5 * max(len(configs), 6) + 1.5),
                                   gridspec_kw={"width_ratios": [3, 2]})
    height = 0.8 / max(len(engines), 1)
    for j, engine in enumerate(engines):
        values = []
        for c in configs:
            row = next((r for r in train if (r["net"], r["batch"], r["threads"]) == c and r["engine"] == engine), None)
            values.append(row["samples_per_s"]["median"] if row else 0)
        ax1.barh([i + j * height for i in range(len(configs))], values, height=height, label=engine)
    ax1.set_yticks([i + 0.4 - height / 2 for i in range(len(configs))])
    ax1.set_yticklabels([f"{n} b{b} {t}thr" for n, b, t in configs])
    ax1.invert_yaxis()
    ax1.set_xscale("log")
    ax1.set_xlabel("training samples/s (whole epochs, median)")
    ax1.legend(loc="lower right", fontsize=8)
    measured = [t for t in report["targets"] if t["measured"] is not None]
    clip = 3.0
    ax2.barh(range(len(measured)), [min(t["measured"] / t["goal"], clip) for t in measured],
             color=["tab:green" if t["met"] else "tab:red" for t in measured])
    for i, t in enumerate(measured):
        text = f"{100 * t['measured']:.0f} %" if t["kind"] == "peak" else f"{t['measured']:.2f}×"
        ax2.text(min(t["measured"] / t["goal"], clip) + 0.03, i, text, va="center", fontsize=7)
    ax2.set_xlim(0, clip + 0.5)
    ax2.axvline(1.0, color="black", linewidth=1)
    ax2.set_yticks(range(len(measured)))
    ax2.set_yticklabels([f"{t['kind']} {t['net']} b{t['batch']} {t['threads']}thr" for t in measured], fontsize=8)
    ax2.invert_yaxis()
    ax2.set_xlabel(f"measured / target (≥ 1: met; bars cut at {clip:g})")
    fig.suptitle(f"mlpcore bench ({report['mode']}, {report['date']})", fontsize=10)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def relative(path, start_file):
    return os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(start_file)))
