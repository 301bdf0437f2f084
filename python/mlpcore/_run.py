"""One run's outputs: the files ``mlpcore train`` writes into its run folder, and its exit code.
Shared by the in-memory and the streamed paths of the command line (cli.py, _cli_data.py)."""
from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np

from ._files import write_text
from .config import dump_config

RUN_FILES = ("model.safetensors", "config.toml", "history.csv", "history.json", "metrics.json")


def planned_files(cfg, n_inputs, regression, info) -> list:
    """The names a train run writes (plots only if matplotlib can be imported)."""
    names = list(RUN_FILES)
    if cfg.output.plots and _have_matplotlib():
        names.append("curves.png")
        if not regression:
            names.append("confusion_matrix.png")
            if n_inputs == 2:
                names.append("decision_boundary.png")
        if "image_shape" in info:
            names.append("first_layer_weights.png")
    return names


def _have_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


# -- commands -----------------------------------------------------------------------------------------------
def exit_code(history) -> int:
    """0, or 130 / 143 when Ctrl-C / SIGTERM ended training (the outputs are written either way)."""
    if history.interrupted:
        return 128 + signal.SIGTERM if history.signal == "SIGTERM" else 130
    return 0


def write_run(run_dir, cfg, net, history, metrics, X_te, y_te, confusion, labels, info, regression) -> list:
    """Every output of a run, written into a staging folder and moved into ``run_dir`` file by
    file (see mlpcore._rundir). Returns the names written."""
    staging = run_dir.stage()
    try:
        _write_outputs(staging, cfg, net, history, metrics, X_te, y_te, confusion, labels, info, regression)
        return run_dir.publish({"interrupted": history.interrupted, "signal": history.signal})
    except BaseException:
        run_dir.discard()
        raise


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _write_outputs(folder, cfg, net, history, metrics, X_te, y_te, confusion, labels, info, regression):
    files = []

    def path(name):
        files.append(name)
        return os.path.join(folder, name)

    net.save(path("model.safetensors"))
    write_text(path("config.toml"), dump_config(cfg))
    history.to_csv(path("history.csv"))
    history.to_json(path("history.json"))
    write_text(path("metrics.json"), json.dumps(metrics, indent=1, default=_json_default))
    if cfg.output.plots and len(history):
        try:
            from . import plot
        except ImportError as e:
            print(f"mlpcore: plots skipped ({e})", file=sys.stderr)
            return files

        plot.learning_curves(history, path=path("curves.png"), title=f"{info['name']}")
        if net.n_inputs == 2 and not regression and X_te is not None:
            plot.decision_boundary(net, X_te, y_te, path=path("decision_boundary.png"),
                                   title="decision boundary (test split)")
        if confusion is not None:
            plot.confusion_matrix(y_te, net.predict(X_te), labels=labels, path=path("confusion_matrix.png"))
        if "image_shape" in info:
            plot.first_layer_weights(net, info["image_shape"], path=path("first_layer_weights.png"))
    return files


