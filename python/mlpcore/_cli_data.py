"""The command line's large-data paths: whether to stream a data file, ``mlpcore train`` on a stream
(test split = a seeded fraction of the chunks) and ``mlpcore predict`` from a stream to a CSV or
Parquet file, chunk by chunk, through :func:`mlpcore._files.atomic_write`."""
from __future__ import annotations

import os
import time

import numpy as np

STREAMABLE = ("csv", "tsv", "parquet", "feather", "npy")


def available_memory() -> int:
    """Bytes of memory available to a new allocation (Linux MemAvailable; else a guess of 4 GiB)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def estimated_bytes(d) -> int:
    """Bytes of float32 features a data file would take in memory."""
    if os.path.isdir(d.path):
        return sum(os.path.getsize(os.path.join(d.path, p)) for p in os.listdir(d.path)) * 2
    size = os.path.getsize(d.path)
    return size * 2 if d.source in ("parquet", "feather") else size  # text: ~1 byte per float32 byte


def should_stream(d) -> bool:
    """Stream when asked, or (``data.stream = auto``) when the data would take more than a third of
    the available memory (the in-memory path holds the data about three times: read, split, train)."""
    if d.source not in STREAMABLE or d.stream == "no" or not d.path or not os.path.exists(d.path):
        return False  # the in-memory loader reports a missing path or file
    if d.stream == "yes" or os.path.isdir(d.path):
        return True
    return estimated_bytes(d) * 3 > available_memory()


def _source(d, dtype):
    from .datasets._streaming import as_source

    if not d.path or not os.path.exists(d.path):
        raise FileNotFoundError(f"data file not found: {d.path!r}")
    target = int(d.target) if d.target.lstrip("-").isdigit() else d.target
    if d.source == "npy":
        if not d.labels_path:
            from .config import ConfigError

            raise ConfigError("data.labels_path (the targets .npy) is required for data.source = 'npy'")
        return as_source((d.path, d.labels_path), dtype=dtype)
    return as_source(d.path, target, dtype=dtype, **({"delimiter": "\t"} if d.source == "tsv" else {}))


def train_streamed(cfg, args, rep, run_dir) -> int:
    """``mlpcore train`` on a stream: classes (or regression) from one pass over the targets, the
    standardizer (if asked) from one pass over the features, then the epochs; the run folder as
    the in-memory path writes it."""
    from ._run import exit_code, write_run
    from .config import build_model, build_optimizer, build_trainer
    from .datasets._streaming import Subset
    from .preprocessing import Standardizer

    d, m_cfg = cfg.data, cfg.model
    source = _source(d, m_cfg.dtype)
    test_chunks, train_chunks = Subset.split(source, d.test_size, d.seed)
    train, test = Subset(source, train_chunks), Subset(source, test_chunks)
    labels = np.unique(np.concatenate([np.unique(y) for y in train.targets()]))
    regression = labels.dtype.kind == "f"
    n_out, output = (1, "identity") if regression else (len(labels), "softmax")
    sizes = [source.n_features, *m_cfg.hidden, n_out]
    net = build_model(m_cfg, sizes, output)
    if not regression:
        net.classes = labels
    if d.standardize:
        Standardizer().fit_stream(train).apply_to(net)
    trainer = build_trainer(cfg, net, build_optimizer(cfg.optimizer), validation_data=test, regression=regression,
                            progress=not (rep.quiet or args.no_progress))
    rep.say(f"data:      {d.source} file {d.path} (streamed): {source.n_features} features, "
            f"{'regression' if regression else f'{n_out} classes'}; {len(train_chunks)} chunks train / "
            f"{len(test_chunks)} test{', standardized' if d.standardize else ''}")
    rep.say(f"model:     {'-'.join(map(str, sizes))} {m_cfg.activation}, {net.n_params} parameters, {m_cfg.dtype}")
    t0 = time.perf_counter()
    history = trainer.fit(train)
    seconds = time.perf_counter() - t0
    from .streaming import evaluate_source

    key = "r2" if regression else "accuracy"
    test_loss, test_metric = evaluate_source(trainer, test)
    metrics = {"test": {"loss": test_loss, key: test_metric}, "epochs": trainer.epoch, "seconds": seconds,
               "interrupted": history.interrupted, "signal": history.signal,
               "stopped_early": history.stopped_early, "best_epoch": history.best_epoch, "streamed": True}
    out_dir = cfg.output.dir
    files = write_run(run_dir, cfg, net, history, metrics, None, None, None, None,
                      {"name": f"{d.source} file {d.path}"}, regression)
    if rep.as_json:
        import json

        print(json.dumps({**metrics, "output_dir": out_dir, "files": files}))
    else:
        rep.say(f"trained {trainer.epoch} epochs in {seconds:.2f} s{' (interrupted)' if history.interrupted else ''}")
        rep.say(f"test {key}: {test_metric:.4f}   test loss: {test_loss:.4f}")
        rep.say(f"wrote {out_dir}/: {', '.join(files)}")
    return exit_code(history)


def predict_streamed(net, path, output, kind, *, target=None) -> int:
    """Predictions of ``net`` for every row of a data file, written chunk by chunk to ``output``
    (``.parquet`` or CSV by its extension); memory stays at one chunk. Returns the number of rows."""
    import pyarrow as pa

    from ._files import atomic_write
    from .datasets._streaming import as_source

    if target is not None and target.lstrip("-").isdigit():
        target = int(target)
    source = as_source(path, target, dtype=net.dtype, **({"delimiter": "\t"} if kind == "tsv" else {}))
    to_parquet = os.fspath(output).lower().endswith((".parquet", ".pq"))
    rows = 0
    with atomic_write(output, "wb") as f:
        writer = None
        for X, _, _ in source:
            table = pa.table(_prediction_columns(net, X))
            if to_parquet:
                import pyarrow.parquet as pq

                writer = writer or pq.ParquetWriter(f, table.schema)
                writer.write_table(table)
            else:
                import pyarrow.csv as pcsv

                pcsv.write_csv(table, f, pcsv.WriteOptions(include_header=rows == 0, quoting_style="needed"))
            rows += X.shape[0]
        if writer is not None:
            writer.close()
    return rows


def _prediction_columns(net, X) -> dict:
    pred = np.asarray(net.predict(X))
    cols = {"prediction": pred} if pred.ndim == 1 else {f"prediction_{j}": pred[:, j] for j in range(pred.shape[1])}
    from .model import REGRESSION_OUTPUTS
    if net.output not in REGRESSION_OUTPUTS:
        proba = net.predict_proba(X)
        names = net.classes.tolist() if net.classes is not None else list(range(proba.shape[1]))
        if proba.shape[1] == len(names):
            cols.update({f"p_{c}": proba[:, j] for j, c in enumerate(names)})
    return cols
