# SPDX-License-Identifier: MIT
"""mlpcore.bench: the harness behind ``mlpcore bench``.

Speed and accuracy of mlpcore against PyTorch eager (a plain tensor loop and the DataLoader loop)
and scikit-learn's MLPClassifier, each when installed, on one grid of nets: training throughput
over whole epochs, one-step latency, prediction latency at batch 1 and 1024, and test accuracy
after the same epochs (the spiral and the digits), at 1 and 2 threads, with the machine, the build,
the load from other processes and the one-core arithmetic peak recorded. Output: a table on the
terminal, and optionally JSON, a Markdown page and a PNG chart.

Importing this package is cheap (argument definitions only); ``run`` imports the engines.

Use ``mlpcore bench [options]``, ``python -m mlpcore.bench [options]``, or from Python::

    import argparse
    from mlpcore import bench
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    bench.run(parser.parse_args(["--smoke"]))
"""
from __future__ import annotations

import argparse
import json
import shlex

from .._files import write_text

__all__ = ["DESCRIPTION", "add_arguments", "run", "main"]

DESCRIPTION = ("Benchmark mlpcore against PyTorch eager and scikit-learn: training throughput over whole "
               "epochs, one-step and prediction latency, and test accuracy after the same epochs.")
SECTIONS = ("train", "step", "predict", "accuracy")
EXTRA_SECTIONS = ("overhead",)  # on request only
ENGINE_CHOICES = ("mlpcore", "torch", "torch-loop", "torch-dataloader", "sklearn", "mlpcore-bf16",
                  "torch-autocast")


def _net(text):
    from .data import parse_net

    try:
        return parse_net(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Define the benchmark's options on `parser` (``mlpcore bench`` and ``python -m mlpcore.bench``)."""
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="less data, fewer epochs and rounds: the whole grid in under a minute")
    size.add_argument("--smoke", action="store_true",
                      help="a tiny grid (2-16-4, 12-24-3) and minimal runs: checks the harness, measures nothing")
    parser.add_argument("--net", type=_net, action="append", default=[], metavar="SIZES[:BATCH]",
                        help="add a net to the grid, e.g. 784-512-10:256 (batch 128 when omitted); repeatable")
    parser.add_argument("--no-default-grid", action="store_true",
                        help="only the nets given with --net")
    parser.add_argument("--threads", type=_positive, nargs="+", default=[1, 2], metavar="N",
                        help="thread counts (default: 1 2)")
    parser.add_argument("--engines", nargs="+", choices=ENGINE_CHOICES, metavar="NAME",
                        help=f"only these engines ({', '.join(ENGINE_CHOICES)}; mlpcore always runs)")
    parser.add_argument("--bf16", action="store_true",
                        help="also measure mixed precision: mlpcore-bf16 (MLP(precision='bf16')) and "
                        "torch-autocast (torch.autocast('cpu', dtype=torch.bfloat16)) in the training and "
                        "accuracy sections")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS + EXTRA_SECTIONS, default=list(SECTIONS),
                        metavar="NAME", help=f"these parts ({', '.join(SECTIONS + EXTRA_SECTIONS)}; default: all "
                        "but overhead, the cost of progress bars and callbacks in Trainer.fit)")
    parser.add_argument("--boundary", action="store_true",
                        help="also time the raw engine call and the C++ epoch loop per step (step section)")
    parser.add_argument("--repeats", type=_positive, metavar="N", help="rounds per measurement (default 5, quick 2)")
    parser.add_argument("--json", metavar="PATH", help="write every measurement and the machine record as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the results as a Markdown page")
    parser.add_argument("--png", metavar="PATH", help="write a chart (needs matplotlib)")
    parser.add_argument("--from-json", metavar="PATH",
                        help="measure nothing: write --markdown/--png again from a saved --json report")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before each timed section, wait up to this long for other processes to leave "
                        "the CPUs idle (a shared machine)")
    return parser


def command_line(args) -> str:
    """The ``mlpcore bench`` command that reproduces `args`."""
    parts = ["mlpcore", "bench"]
    if args.quick:
        parts.append("--quick")
    if args.smoke:
        parts.append("--smoke")
    for spec in args.net:
        parts += ["--net", f"{spec.name}:{spec.batch}"]
    if args.no_default_grid:
        parts.append("--no-default-grid")
    if args.threads != [1, 2]:
        parts += ["--threads", *map(str, args.threads)]
    if args.engines:
        parts += ["--engines", *args.engines]
    if args.bf16:
        parts.append("--bf16")
    if list(args.sections) != list(SECTIONS):
        parts += ["--sections", *args.sections]
    if args.boundary:
        parts.append("--boundary")
    if args.repeats:
        parts += ["--repeats", str(args.repeats)]
    if args.wait_quiet:
        parts += ["--wait-quiet", f"{args.wait_quiet:g}"]
    for flag in ("json", "markdown", "png"):
        if getattr(args, flag):
            parts += [f"--{flag}", getattr(args, flag)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args) -> int:
    """Run the benchmark described by parsed `args`; print the tables, write the files; exit code 0."""
    from . import data, harness

    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("schema") != harness.SCHEMA:
            raise ValueError(f"{args.from_json}: not an mlpcore bench report ({harness.SCHEMA})")
        return _write(saved, saved["command"], args, json_too=False)
    mode = harness.SMOKE if args.smoke else harness.QUICK if args.quick else harness.FULL
    if args.repeats:
        mode = harness.Mode(**{**mode.__dict__, "repeats": args.repeats})
    base = data.SMOKE_GRID if args.smoke else data.DEFAULT_GRID
    grid = list(dict.fromkeys(([] if args.no_default_grid else list(base)) + list(args.net)))
    if not grid:
        raise ValueError("the grid is empty: give --net or drop --no-default-grid")
    engines = None
    if args.engines:
        engines = {"mlpcore", *args.engines}
    if args.bf16:
        engines = (engines or {"mlpcore", "torch", "sklearn"}) | {"mlpcore-bf16", "torch-autocast"}
    bench = harness.Run(mode, grid, list(dict.fromkeys(args.threads)), engines=engines, sections=args.sections,
                        boundary=args.boundary, wait_quiet=args.wait_quiet)
    command = command_line(args)
    print(f"{command}\n{', '.join(s.label for s in grid)}; threads {', '.join(map(str, bench.thread_counts))}; "
          f"engines {', '.join(bench.engines.train_names)}", flush=True)
    return _write(bench(argv=command), command, args, json_too=True)


def _write(result, command, args, json_too):
    from . import report

    if json_too and args.json:
        report.write_json(result, args.json)
        print(f"wrote {args.json}")
    png_written = False
    if args.png:
        try:
            report.write_png(result, args.png)
            png_written = True
            print(f"wrote {args.png}")
        except ImportError:
            print("no chart: matplotlib is not installed")
    if args.markdown:
        png = report.relative(args.png, args.markdown) if png_written else None
        write_text(args.markdown, report.markdown(result, command, png))
        print(f"wrote {args.markdown}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlpcore.bench", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
