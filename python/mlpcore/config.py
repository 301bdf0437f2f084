"""Run configuration: a TOML file with sections [data], [model], [optimizer], [training] and
[output], read into frozen dataclasses, and the objects a run is made of, built from it.

The [model], [optimizer] and [training] keys restate nothing: their defaults are read from the
signatures of the classes they build (MLP, Adam, SGD, Trainer, the schedules, EarlyStopping),
their choices from the engine's and the classes' own lists, and their ranges are checked by
building those objects, whose messages are given back naming the key. Only the key types, and
the [data] and [output] keys that no class owns, are checked here."""
from __future__ import annotations

import dataclasses
import inspect
import math
import os
import sys
from dataclasses import dataclass, field, fields, replace

from ._checks import DTYPES
from .model import ACTIVATIONS, INITS, MLP, PRECISIONS
from .optim import OPTIMIZERS, SGD, Adam
from .train import _MONITORS, _SCHEDULES, EarlyStopping, ReduceLROnPlateau, StepLR, Trainer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ConfigError", "DataConfig", "ModelConfig", "OptimizerConfig", "TrainingConfig", "OutputConfig",
           "RunConfig", "load_config", "dump_config", "parse_value"]


class ConfigError(ValueError):
    """A configuration key is unknown or its value is not allowed; the message names the key."""


# Each field's metadata: "check" -> (kind, constraint), see _check.
def _f(default, kind, *, choices=None, low=None, high=None, low_open=False, high_open=False, doc=""):
    meta = {"kind": kind, "choices": choices, "low": low, "high": high, "low_open": low_open,
            "high_open": high_open, "doc": doc}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def _of(owner, param, kind, *, choices=None, doc=""):
    """A key whose default is `owner`'s own default for `param`, checked by building `owner`."""
    default = inspect.signature(owner).parameters[param].default
    return _f(default, kind, choices=choices, doc=doc)


DATA_SOURCES = ("spiral", "xor", "moons", "circles", "blobs", "digits", "csv", "tsv", "parquet", "feather", "npy",
                "npz", "idx")


@dataclass(frozen=True)
class DataConfig:
    source: str = _f("spiral", "str", choices=DATA_SOURCES, doc="built-in generator or file format")
    path: str = _f("", "str", doc="data file (csv, tsv, parquet file or folder, feather, npy, npz), "
                                  "or the IDX images file")
    labels_path: str = _f("", "str", doc="IDX labels file, or the npy targets file")
    target: str = _f("-1", "str", doc="target column of a csv/tsv/parquet/feather file: a name or an index "
                                      "(negative counts from the end)")
    classes: int = _f(4, "int", low=2, high=1000, doc="spiral/blobs: number of classes")
    sigma: float = _f(0.16, "float", low=0, doc="spiral: noise")
    n_per_class: int = _f(1000, "int", low=1, high=10_000_000, doc="spiral: points per class")
    n_samples: int = _f(1000, "int", low=4, high=10_000_000, doc="xor/moons/circles/blobs: points")
    noise: float = _f(0.1, "float", low=0, doc="xor/moons/circles: noise")
    test_size: float = _f(0.2, "float", low=0, high=1, low_open=True, high_open=True, doc="held-out fraction")
    stratify: bool = _f(True, "bool", doc="keep class proportions in the split")
    standardize: bool = _f(False, "bool", doc="fit a standardizer on the training split; stored in the model")
    stream: str = _f("auto", "str", choices=("auto", "yes", "no"),
                     doc="stream a data file in chunks instead of loading it; auto: when it would not fit "
                         "in memory")
    seed: int = _f(0, "int", low=0, doc="data generation and split seed")


@dataclass(frozen=True)
class ModelConfig:
    hidden: list = _f([128], "int_list", low=1, doc="hidden layer widths")
    activation: str = _of(MLP, "activation", "str", choices=ACTIVATIONS, doc="hidden activation")
    init: str = _of(MLP, "init", "str", choices=INITS, doc="weight initializer")
    dtype: str = _of(MLP, "dtype", "str", choices=tuple(DTYPES))
    leaky_relu_slope: float = _of(MLP, "leaky_relu_slope", "float")
    elu_alpha: float = _of(MLP, "elu_alpha", "float")
    maxout_pieces: int = _of(MLP, "maxout_pieces", "int")
    init_scale: float = _of(MLP, "init_scale", "float", doc="std of init='random'")
    seed: int = _of(MLP, "seed", "int", doc="weight initialisation seed")
    dropout: float = _of(MLP, "dropout", "floats", doc="dropout probability in training: one value for every "
                                                       "hidden layer, or a list with one per hidden layer")
    precision: str = _of(MLP, "precision", "str", choices=PRECISIONS,
                         doc="matrix products in float32, or bf16 with float32 accumulation "
                             "(AMX/AVX512-BF16)")


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = _f("adam", "str", choices=tuple(OPTIMIZERS))
    lr: float = _of(Adam, "lr", "float", doc="learning rate (the default is Adam's)")
    beta1: float = _f(inspect.signature(Adam).parameters["betas"].default[0], "float", doc="adam/adamw")
    beta2: float = _f(inspect.signature(Adam).parameters["betas"].default[1], "float", doc="adam/adamw")
    eps: float = _of(Adam, "eps", "float", doc="adam/adamw")
    weight_decay: float = _of(Adam, "weight_decay", "float")
    amsgrad: bool = _of(Adam, "amsgrad", "bool", doc="adam/adamw")
    momentum: float = _of(SGD, "momentum", "float", doc="sgd only")
    nesterov: bool = _of(SGD, "nesterov", "bool", doc="sgd only")


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = _of(Trainer, "epochs", "int")
    batch_size: int = _of(Trainer, "batch_size", "int")
    shuffle: bool = _of(Trainer, "shuffle", "bool")
    seed: int = _of(Trainer, "seed", "int", doc="shuffling seed")
    validation_split: float = _of(Trainer, "validation_split", "float",
                                  doc="fraction of the training split held out for validation (0: use the test split)")
    lr_schedule: str = _f("constant", "str", choices=tuple(_SCHEDULES))
    step_size: int = _of(StepLR, "step_size", "int", doc="step schedule: epochs per decay")
    gamma: float = _of(StepLR, "gamma", "float", doc="step/exponential decay factor")
    min_lr: float = _of(ReduceLROnPlateau, "min_lr", "float", doc="cosine/plateau floor")
    plateau_patience: int = _of(ReduceLROnPlateau, "patience", "int")
    plateau_factor: float = _of(ReduceLROnPlateau, "factor", "float")
    early_stopping: bool = _f(False, "bool")
    patience: int = _of(EarlyStopping, "patience", "int", doc="early stopping patience")
    min_delta: float = _of(EarlyStopping, "min_delta", "float")
    monitor: str = _of(EarlyStopping, "monitor", "str", choices=_MONITORS)
    threads: int = _f(0, "int", low=0, doc="matrix-product threads (0: all cores)")


@dataclass(frozen=True)
class OutputConfig:
    dir: str = _f("mlpcore-run", "str", doc="output folder")
    plots: bool = _f(True, "bool", doc="write the PNG figures (needs matplotlib)")


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


_SECTION_TYPES = {"data": DataConfig, "model": ModelConfig, "optimizer": OptimizerConfig,
                  "training": TrainingConfig, "output": OutputConfig}


def _check(key: str, f: dataclasses.Field, value):
    m = f.metadata
    kind = m["kind"]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if kind == "str":
        if key.endswith(".target") and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        if m["choices"] and value not in m["choices"]:
            raise ConfigError(f"{key} must be one of {', '.join(m['choices'])}; got {value!r}")
        return value
    if kind == "int_list":
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise ConfigError(f"{key} must be a list of integers, got {value!r}")
        for v in value:
            if v < m["low"]:
                raise ConfigError(f"{key} entries must be >= {m['low']}, got {v}")
        return list(value)
    if kind == "floats":  # a number, or a list of numbers (one per hidden layer)
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in items):
            raise ConfigError(f"{key} must be a number or a list of numbers, got {value!r}")
        return [float(v) for v in value] if isinstance(value, list) else float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be finite, got {value!r}")
    low, high = m["low"], m["high"]
    if low is not None and (value < low or (m["low_open"] and value == low)):
        raise ConfigError(f"{key} must be {'>' if m['low_open'] else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (m["high_open"] and value == high)):
        raise ConfigError(f"{key} must be {'<' if m['high_open'] else '<='} {high}, got {value!r}")
    return value


def from_dict(data: dict, base: RunConfig | None = None) -> RunConfig:
    """A RunConfig from nested dicts (as TOML gives), over `base` (default: the defaults)."""
    base = base or RunConfig()
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a table of sections")
    sections = {}
    for name, values in data.items():
        if name not in _SECTION_TYPES:
            raise ConfigError(f"unknown section [{name}]; expected one of: {', '.join(_SECTION_TYPES)}")
        if not isinstance(values, dict):
            raise ConfigError(f"[{name}] must be a table of keys")
        cls = _SECTION_TYPES[name]
        known = {f.name: f for f in fields(cls)}
        updates = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"unknown key {name}.{key}; [{name}] accepts: {', '.join(known)}")
            updates[key] = _check(f"{name}.{key}", known[key], value)
        sections[name] = replace(getattr(base, name), **updates)
    cfg = replace(base, **sections)
    _check_by_building(cfg)
    return cfg


# -- config -> objects -----------------------------------------------------------------------------
def build_model(m: ModelConfig, sizes, output: str = "softmax") -> MLP:
    """The network of [model] for layer widths ``sizes`` = [inputs, *m.hidden, outputs]."""
    return MLP(sizes, m.activation, init=m.init, seed=m.seed, dtype=m.dtype, output=output,
               leaky_relu_slope=m.leaky_relu_slope, elu_alpha=m.elu_alpha, maxout_pieces=m.maxout_pieces,
               init_scale=m.init_scale, dropout=m.dropout, precision=m.precision)


def build_optimizer(o: OptimizerConfig):
    """The optimizer of [optimizer]: Adam, AdamW (decoupled decay) or SGD."""
    if o.name == "sgd":
        return SGD(lr=o.lr, momentum=o.momentum, nesterov=o.nesterov, weight_decay=o.weight_decay)
    return OPTIMIZERS[o.name](lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=o.weight_decay,
                              amsgrad=o.amsgrad)


def build_schedule(t: TrainingConfig):
    """The learning-rate schedule of [training] (None for a constant rate)."""
    make = {"constant": lambda: None,
            "step": lambda: _SCHEDULES["step"](t.step_size, t.gamma),
            "exponential": lambda: _SCHEDULES["exponential"](t.gamma),
            "cosine": lambda: _SCHEDULES["cosine"](t.epochs, t.min_lr),
            "plateau": lambda: ReduceLROnPlateau(t.plateau_factor, t.plateau_patience, monitor="val_loss",
                                                 min_lr=t.min_lr)}
    return make[t.lr_schedule]()


def build_early_stopping(t: TrainingConfig, regression: bool = False):
    """EarlyStopping of [training] (None when off); a regression run monitors val_loss instead of
    an accuracy."""
    if not t.early_stopping:
        return None
    monitor = "val_loss" if regression and "accuracy" in t.monitor else t.monitor
    return EarlyStopping(t.patience, t.min_delta, monitor)


def build_trainer(cfg: RunConfig, net: MLP, optimizer, *, validation_data=None, regression=False,
                  progress=True, cls=Trainer, **extra) -> Trainer:
    """The Trainer of [training] for ``net``; ``validation_data`` (the test split) is used for
    monitoring only when training.validation_split is 0. ``cls`` and ``extra`` choose another
    trainer class and its own arguments (the CLI's DistributedTrainer and its communicator)."""
    t = cfg.training
    return cls(net, optimizer, batch_size=t.batch_size, epochs=t.epochs, shuffle=t.shuffle, seed=t.seed,
               validation_data=None if t.validation_split else validation_data,
               validation_split=t.validation_split, early_stopping=build_early_stopping(t, regression),
               lr_schedule=build_schedule(t), progress=progress, **extra)


def _check_by_building(cfg: RunConfig) -> None:
    """Build every object the config describes (a one-unit network for [model]) so their own
    checks apply; a refusal becomes a ConfigError naming the key. Each check lists the parameters
    whose key has another name."""
    t = cfg.training
    if t.early_stopping and t.validation_split == 0:
        raise ConfigError("training.early_stopping needs training.validation_split > 0 "
                          "(early stopping must not tune on the test split)")
    checks = [("model", {}, lambda: build_model(cfg.model, [1, *([1] * len(cfg.model.hidden)), 1])),
              # every key is checked, also those of the optimizer not chosen
              ("optimizer", {}, lambda: [build_optimizer(replace(cfg.optimizer, name=name)) for name in OPTIMIZERS]),
              ("training", {"t_max": "epochs"}, lambda: build_schedule(t)),
              ("training", {}, lambda: EarlyStopping(t.patience, t.min_delta, t.monitor)),
              ("training", {"factor": "plateau_factor", "patience": "plateau_patience"},
               lambda: ReduceLROnPlateau(t.plateau_factor, t.plateau_patience, min_lr=t.min_lr)),
              ("training", {}, lambda: Trainer(MLP([1, 1]), SGD(), batch_size=t.batch_size, epochs=t.epochs,
                                               seed=t.seed, validation_split=t.validation_split, progress=False))]
    for section, renamed, build in checks:
        try:
            build()
        except (ValueError, TypeError) as e:
            message = str(e)
            param = message.split(" ", 1)[0]
            key = renamed.get(param, param)
            if key in {f.name for f in fields(_SECTION_TYPES[section])}:
                raise ConfigError(f"{section}.{key}{message[len(param):]}") from None
            raise ConfigError(f"[{section}]: {message}") from None


def load_config(path) -> RunConfig:
    """Read and validate a TOML run file.

    Raises
    ------
    ConfigError
        Unknown section/key, wrong type or value (the message names the key), or invalid TOML.
    OSError
        The file cannot be read.
    """
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{os.fspath(path)} is not valid TOML: {e}") from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"{os.fspath(path)} is not UTF-8 text (byte {e.start} of the file: "
                              f"{e.object[e.start:e.start + 1]!r}); TOML files must be UTF-8") from None
    return from_dict(data)


def parse_value(key: str, text: str):
    """A command-line string for `section.key` converted to the field's type and validated."""
    section, _, name = key.partition(".")
    cls = _SECTION_TYPES.get(section)
    known = {f.name: f for f in fields(cls)} if cls else {}
    if name not in known:
        raise ConfigError(f"unknown key {key}")
    kind = known[name].metadata["kind"]
    try:
        if kind == "bool":
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            value = low in ("true", "1", "yes")
        elif kind == "int":
            value = int(text)
        elif kind == "float":
            value = float(text)
        elif kind == "int_list":
            value = [int(v) for v in text.replace(" ", "").split(",") if v != ""]
        elif kind == "floats":
            parts = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
            value = parts if "," in text else float(text)
        else:
            value = text
    except ValueError:
        what = {"bool": "true or false", "int": "an integer", "float": "a number",
                "int_list": "comma-separated integers", "floats": "a number or comma-separated numbers"}[kind]
        raise ConfigError(f"{key} must be {what}, got {text!r}") from None
    return _check(key, known[name], value)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def dump_config(cfg: RunConfig) -> str:
    """The configuration as TOML text that load_config reads back to an equal RunConfig."""
    lines = ["# mlpcore run configuration (effective values)"]
    for section in _SECTION_TYPES:
        lines.append(f"\n[{section}]")
        for f in fields(_SECTION_TYPES[section]):
            lines.append(f"{f.name} = {_toml_value(getattr(getattr(cfg, section), f.name))}")
    return "\n".join(lines) + "\n"


def field_docs():
    """(key, default, kind, allowed, doc) for every field, for the CLI help and the docs table."""
    out = []
    for section, cls in _SECTION_TYPES.items():
        for f in fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out.append((f"{section}.{f.name}", default, f.metadata))
    return out
