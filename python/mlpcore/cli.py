"""The ``mlpcore`` command line: train, evaluate, predict, info.

Exit codes: 0 success, 1 runtime error (bad data, unreadable file, diverged training),
2 usage or configuration error, 130 interrupted by Ctrl-C, 143 stopped by SIGTERM (a train run
still writes its outputs, marked interrupted). Errors print one line; ``--debug`` shows the
traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

import numpy as np

from .metrics import confusion_counts
from ._files import atomic_write
from ._run import RUN_FILES, _json_default, exit_code, planned_files, write_run
from ._rundir import OutputInTheWay, RunDir
from .config import DATA_SOURCES, ConfigError, RunConfig, field_docs, from_dict, load_config, parse_value



class UsageError(Exception):
    pass


class Terminated(Exception):
    """SIGTERM arrived outside training (training itself stops cleanly and writes its outputs)."""


class _Parser(argparse.ArgumentParser):
    # No prefixes: an unknown or shortened flag is a usage error (exit 2), never silently taken
    # for the flag it begins (`--epoch 5` is not `--epochs 5`).
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, exit code 2 (raised, so main() decides)
        raise UsageError(message)


# -- data ---------------------------------------------------------------------------------------------
def load_data(d):
    """(X, y, info) for a DataConfig; info has "name" and optionally "image_shape"."""
    from . import datasets

    info = {"name": d.source}
    if d.source == "spiral":
        X, y = datasets.spiral(classes=d.classes, sigma=d.sigma, n_per_class=d.n_per_class, seed=d.seed)
        info["name"] = f"spiral ({d.classes} arms, sigma {d.sigma:g}, {d.n_per_class} points per arm)"
    elif d.source == "xor":
        X, y = datasets.xor(n=d.n_samples, noise=d.noise, seed=d.seed)
    elif d.source == "moons":
        X, y = datasets.moons(n=d.n_samples, noise=d.noise, seed=d.seed)
    elif d.source == "circles":
        X, y = datasets.circles(n=d.n_samples, noise=d.noise, seed=d.seed)
    elif d.source == "blobs":
        X, y = datasets.blobs(n=d.n_samples, centers=d.classes, seed=d.seed)
    elif d.source == "digits":
        X, y = datasets.load_digits()
        info.update(name="digits (8x8 images)", image_shape=(8, 8))
    else:
        if not d.path:
            raise ConfigError(f"data.path is required for data.source = '{d.source}'")
        if not os.path.exists(d.path):
            raise FileNotFoundError(f"data file not found: {d.path}")
        info["name"] = f"{d.source} file {d.path}"
        if d.source in ("csv", "tsv", "parquet", "feather"):
            target = int(d.target) if d.target.lstrip("-").isdigit() else d.target
            X, y, _names = datasets.read_table(d.path, target, kind=d.source)
        elif d.source == "npy":
            X, y = datasets.read_npy(d.path, d.labels_path or None)
            if y is None:
                raise ConfigError("data.labels_path (the targets .npy) is required for data.source = 'npy'")
        elif d.source == "npz":
            X, y = datasets.read_npz(d.path)
        else:
            if not d.labels_path:
                raise ConfigError("data.labels_path is required for data.source = 'idx'")
            X, y = datasets.load_idx_pair(d.path, d.labels_path)
            side = int(round(np.sqrt(X.shape[1])))
            if side * side == X.shape[1]:
                info["image_shape"] = (side, side)
    return X, y, info


def _is_regression(y) -> bool:
    y = np.asarray(y)
    return y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y)))


# -- output ---------------------------------------------------------------------------------------------
class Reporter:
    def __init__(self, quiet: bool, as_json: bool):
        self.quiet = quiet or as_json
        self.as_json = as_json

    def say(self, text=""):
        if not self.quiet:
            print(text, flush=True)


def _confusion_table(matrix, labels) -> str:
    labels = [str(c) for c in labels]
    width = max(6, max(len(s) for s in labels), len(str(int(matrix.max()))) + 1)
    head = "true\\pred".ljust(width + 2) + "".join(s.rjust(width + 1) for s in labels)
    rows = [head] + [labels[i].ljust(width + 2) + "".join(str(int(v)).rjust(width + 1) for v in matrix[i])
                     for i in range(len(labels))]
    return "\n".join(rows)


def cmd_train(args) -> int:
    cfg = _config_from_args(args)
    rep = Reporter(args.quiet, args.json)
    import mlpcore
    from . import datasets
    from .config import build_model, build_optimizer, build_trainer

    comm = rank = None
    if args.distributed:  # every rank runs this command; rank 0 prints and writes
        from .distributed import DistributedTrainer, on_rank0, threads_per_rank, world

        comm = world()
        rank = comm.Get_rank()
        if rank != 0:
            rep.quiet, rep.as_json = True, False
    t_cfg, m_cfg = cfg.training, cfg.model
    out_dir = cfg.output.dir
    run_dir = RunDir(out_dir, overwrite=args.overwrite)
    run_dir.check(RUN_FILES)  # before reading data: a refused folder costs nothing
    if t_cfg.threads:
        mlpcore.set_num_threads(t_cfg.threads)
    elif comm is not None:
        mlpcore.set_num_threads(threads_per_rank(comm))

    from . import _cli_data

    if _cli_data.should_stream(cfg.data):
        if comm is not None:
            raise ConfigError("--distributed reads the data into memory on every rank; streamed data "
                              "(data.stream = yes, or a file too large for memory) is not supported there yet")
        return _cli_data.train_streamed(cfg, args, rep, run_dir)
    X, y, info = load_data(cfg.data)
    regression = _is_regression(y)
    run_dir.check(planned_files(cfg, X.shape[1], regression, info))
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, test_size=cfg.data.test_size, seed=cfg.data.seed,
                                                       stratify=cfg.data.stratify and not regression)
    if regression:
        n_out, output = (1 if np.ndim(y) == 1 else np.shape(y)[1]), "identity"
    else:
        n_out, output = len(np.unique(y)), "softmax"
    sizes = [X.shape[1], *m_cfg.hidden, n_out]
    net = build_model(m_cfg, sizes, output)
    if not regression:
        net.classes = np.unique(y)
    if cfg.data.standardize:
        datasets.Standardizer().fit(X_tr).apply_to(net)
    opt = build_optimizer(cfg.optimizer)
    extra = {} if comm is None else {"cls": DistributedTrainer, "comm": comm}
    trainer = build_trainer(cfg, net, opt, validation_data=(X_te, y_te), regression=regression,
                            progress=not (rep.quiet or args.no_progress), **extra)
    act = m_cfg.activation
    rep.say(f"data:      {info['name']}: {X.shape[0]} samples, {X.shape[1]} features, "
            f"{'regression' if regression else f'{n_out} classes'}; train {len(X_tr)} / test {len(X_te)}"
            f"{', standardized' if cfg.data.standardize else ''}")
    rep.say(f"model:     {'-'.join(map(str, sizes))} {act}, init {m_cfg.init}, {net.n_params} parameters, "
            f"{m_cfg.dtype}{', bf16 products' if m_cfg.precision == 'bf16' else ''}")
    rep.say(f"optimizer: {opt!r}; batch {t_cfg.batch_size}, {t_cfg.epochs} epochs; validation: "
            + (f"{t_cfg.validation_split:g} of the training split" if t_cfg.validation_split
               else "the test split (monitoring only)"))

    t0 = time.perf_counter()
    history = trainer.fit(X_tr, y_tr)
    seconds = time.perf_counter() - t0
    train_m = trainer.evaluate(X_tr, y_tr)
    test_m = trainer.evaluate(X_te, y_te)
    key = "r2" if regression else "accuracy"
    metrics = {"train": train_m, "test": test_m, "epochs": trainer.epoch, "seconds": seconds,
               "interrupted": history.interrupted, "signal": history.signal, "stopped_early": history.stopped_early,
               "best_epoch": history.best_epoch, "samples_per_second": len(X_tr) * len(history) / max(seconds, 1e-9)}
    confusion = labels = None
    if not regression:
        confusion, labels = confusion_counts(y_te, net.predict(X_te), labels=net.classes)
        metrics["confusion_matrix"] = {"labels": labels.tolist(), "matrix": confusion.tolist()}

    def write():
        return write_run(run_dir, cfg, net, history, metrics, X_te, y_te, confusion, labels, info, regression)

    files = write() if comm is None else on_rank0(comm, write)

    if rep.as_json:
        print(json.dumps({**metrics, "output_dir": out_dir, "files": files}, default=_json_default))
    else:
        state = " (interrupted)" if history.interrupted else " (early stop, best epoch %d)" % history.best_epoch \
            if history.stopped_early else ""
        rep.say(f"trained {trainer.epoch} epochs in {seconds:.2f} s{state}")
        rep.say(f"train {key}: {train_m[key]:.4f}   test {key}: {test_m[key]:.4f}   test loss: {test_m['loss']:.4f}")
        if confusion is not None:
            rep.say("confusion matrix (test split):")
            rep.say(_confusion_table(confusion, labels))
        rep.say(f"wrote {out_dir}/: {', '.join(files)}")
    return exit_code(history)


def cmd_evaluate(args) -> int:
    import mlpcore
    from . import datasets

    cfg = _config_from_args(args)
    net = mlpcore.load(args.model)
    X, y, info = load_data(cfg.data)
    if args.split != "all":
        parts = datasets.train_test_split(X, y, test_size=cfg.data.test_size, seed=cfg.data.seed,
                                          stratify=cfg.data.stratify and not _is_regression(y))
        X, y = (parts[0], parts[2]) if args.split == "train" else (parts[1], parts[3])
    result = {"model": args.model, "data": info["name"], "split": args.split, "samples": int(X.shape[0]),
              **net.evaluate(X, y)}
    if args.json:
        print(json.dumps(result, default=_json_default))
    elif not args.quiet:
        for k, v in result.items():
            print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
    return 0


def cmd_predict(args) -> int:
    import mlpcore
    from . import datasets

    net = mlpcore.load(args.model)
    if not os.path.exists(args.input):
        raise FileNotFoundError(f"input file not found: {args.input}")
    if args.output:
        _check_output_file(args.output, args.overwrite, inputs=(args.input, args.model))
    kind = datasets.file_kind(args.input)
    if args.output and not args.json and (kind in ("parquet", "feather", "npy") or args.output.endswith(".parquet")
                                          or os.path.getsize(args.input) > 256 << 20):
        from ._cli_data import predict_streamed

        rows = predict_streamed(net, args.input, args.output, kind, target=args.target)  # chunk by chunk, never the whole file
        if not args.quiet:
            print(f"wrote {rows} predictions to {args.output}")
        return 0
    if args.input.endswith(".npz"):
        with np.load(args.input, allow_pickle=False) as z:
            if "X" not in z.files:
                raise ValueError(f"{args.input} has no array 'X' (arrays: {', '.join(z.files)})")
            X = z["X"]
    else:
        X = datasets.read_csv_features(args.input)
    pred = np.asarray(net.predict(X))
    if pred.ndim == 1:
        header, columns = ["prediction"], [pred]
    else:  # several outputs (multi-output regression, multi-label): one column each
        header = [f"prediction_{j}" for j in range(pred.shape[1])]
        columns = [pred[:, j] for j in range(pred.shape[1])]
    from .model import REGRESSION_OUTPUTS
    if net.output not in REGRESSION_OUTPUTS:
        proba = net.predict_proba(X)
        names = net.classes.tolist() if net.classes is not None else list(range(proba.shape[1]))
        if proba.shape[1] == len(names):
            header += [f"p_{c}" for c in names]
            columns += [proba[:, j] for j in range(proba.shape[1])]
    if args.json:
        rows = [{h: (c[i].item() if isinstance(c[i], np.generic) else c[i]) for h, c in zip(header, columns)}
                for i in range(len(X))]
        if args.output:
            with atomic_write(args.output) as f:
                json.dump(rows, f)
            print(json.dumps({"output": args.output, "rows": len(rows)}))
        else:
            print(json.dumps(rows))
        return 0
    def write_rows(out):
        out.write(",".join(map(str, header)) + "\n")
        for i in range(len(X)):
            out.write(",".join(f"{c[i]:.7g}" if isinstance(c[i], (float, np.floating)) else str(c[i])
                               for c in columns) + "\n")

    if args.output:
        with atomic_write(args.output) as out:
            write_rows(out)
    else:
        write_rows(sys.stdout)
    if args.output and not args.quiet:
        print(f"wrote {len(X)} predictions to {args.output}")
    return 0


def _check_output_file(path, overwrite, inputs=()) -> None:
    """Refuse to write over an input, a folder, or (without --overwrite) any existing file."""
    for source in inputs:
        if os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise OutputInTheWay(f"-o {path} is the input file {source}; choose another output file")
    if os.path.isdir(path):
        raise OutputInTheWay(f"-o {path} is a folder; give a file name")
    if os.path.lexists(path) and not overwrite:
        raise OutputInTheWay(f"-o {path} exists; pass --overwrite to replace it, or choose another file")


def cmd_info(args) -> int:
    import mlpcore

    info = mlpcore.build_info()
    if args.json:
        print(json.dumps(info))
    elif not args.quiet:
        for k, v in info.items():
            print(f"{k}: {v}")
    return 0


def cmd_bench(args) -> int:
    from . import bench

    parser = _Parser(prog="mlpcore bench", description=bench.DESCRIPTION)
    bench.add_arguments(parser)
    return bench.run(parser.parse_args(args.bench_args))


# -- arguments ------------------------------------------------------------------------------------------------
ALIASES = {"training.epochs": ["--epochs"], "training.batch_size": ["--batch-size"], "optimizer.lr": ["--lr"],
           "model.hidden": ["--hidden"], "model.activation": ["--activation"], "data.source": ["--data"], "data.target": ["--target"], "data.stream": ["--stream"],
           "output.dir": ["--out"], "model.init": ["--init"], "optimizer.name": ["--optimizer"],
           "model.precision": ["--precision"]}


def _add_config_flags(p, sections):
    g = p.add_argument_group("configuration (override the TOML file; see docs/configuration.md)")
    for key, default, meta in field_docs():
        if key.split(".")[0] not in sections:
            continue
        allowed = f" {{{', '.join(meta['choices'])}}}" if meta["choices"] else ""
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        g.add_argument(f"--{key}", *ALIASES.get(key, []), dest=f"cfg:{key}", metavar="V",
                       help=f"{meta['doc'] or key}{allowed} (default {shown})")


def _config_from_args(args) -> RunConfig:
    cfg = load_config(args.config) if getattr(args, "config", None) else RunConfig()
    updates = {}
    for dest, text in vars(args).items():
        if dest.startswith("cfg:") and text is not None:
            key = dest[4:]
            section, name = key.split(".")
            if key == "data.source" and text not in DATA_SOURCES:  # --data FILE: the format from the name
                from .datasets import file_kind

                kind = file_kind(text) if (os.path.exists(text) or "." in os.path.basename(text)) else None
                if kind is not None:
                    updates.setdefault("data", {})["path"] = text
                    text = kind
            updates.setdefault(section, {})[name] = parse_value(key, text)
    return from_dict(updates, cfg)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mlpcore", description="Train, evaluate and use multi-layer perceptrons.")
    p.add_argument("--version", action="version", version=f"mlpcore {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _Parser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="print nothing but errors")
    common.add_argument("--json", action="store_true", help="print one JSON object with the results")
    common.add_argument("--debug", action="store_true", help="show tracebacks")

    t = sub.add_parser("train", parents=[common], help="train a network (default: the course's spiral set-up)",
                       description="Train an MLP. With no arguments: the 4-arm spiral, 2-128-4 ReLU, He init, "
                                   "Adam lr 1e-3, batch 128, 100 epochs.")
    t.add_argument("--config", metavar="FILE", help="TOML run file")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--overwrite", action="store_true",
                   help="replace files in the output folder that mlpcore did not write (only the names a run "
                        "writes; other files are always kept)")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel training on MPI ranks, launched as `mpiexec -n N mlpcore train ...` "
                        "(extra `mpi`); training.batch_size is the global batch; rank 0 prints and writes")
    _add_config_flags(t, ("data", "model", "optimizer", "training", "output"))
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", parents=[common], help="metrics of a saved model on a data set")
    e.add_argument("model", help="model file")
    e.add_argument("--config", metavar="FILE", help="TOML run file (e.g. the run's config.toml) for [data]")
    e.add_argument("--split", choices=("test", "train", "all"), default="test",
                   help="which part of the data set (split as in training; default test)")
    _add_config_flags(e, ("data",))
    e.set_defaults(func=cmd_evaluate)

    r = sub.add_parser("predict", parents=[common], help="predict labels and probabilities for a CSV/NPZ file")
    r.add_argument("model", help="model file")
    r.add_argument("input", help="features: CSV/TSV (header optional), Parquet, Feather, .npy, or .npz with an array X")
    r.add_argument("-o", "--output", help="CSV or .parquet file to write (default: standard output); Parquet, "
                   "Feather, .npy and large inputs are streamed to it chunk by chunk")
    r.add_argument("--target", metavar="COLUMN", help="a target column of the input to leave out (name or index)")
    r.add_argument("--overwrite", action="store_true", help="replace the -o file if it exists")
    r.set_defaults(func=cmd_predict)

    i = sub.add_parser("info", parents=[common], help="build information")
    i.set_defaults(func=cmd_info)

    # Options are mlpcore.bench's own (see `mlpcore bench --help`): everything after `bench` goes to it.
    b = sub.add_parser("bench", help="speed and accuracy against PyTorch and scikit-learn (docs/benchmarks.md)",
                       add_help=False, prefix_chars="\0")
    b.add_argument("bench_args", nargs="*")
    b.set_defaults(func=cmd_bench)
    return p


def _version():
    from . import __version__

    return __version__


def _raise_terminated(signum, frame):
    raise Terminated


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    # SIGTERM (kill, batch schedulers, containers) unwinds like an exception, so staged outputs and
    # temporary files are removed; during training the Trainer turns it into a clean stop instead.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return args.func(args)
    except (UsageError, ConfigError, OutputInTheWay) as e:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"mlpcore: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlpcore: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("mlpcore: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except Exception as e:  # noqa: BLE001 - the CLI's contract: one line, exit code 1
        if debug:
            raise
        msg = str(e) or type(e).__name__
        if isinstance(e, OSError) and e.filename and str(e.filename) not in msg:
            msg = f"{msg}: {e.filename}"
        print(f"mlpcore: error: {msg.splitlines()[0] if msg else type(e).__name__}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
