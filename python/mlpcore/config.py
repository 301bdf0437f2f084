"""Run configuration: a TOML file with sections [data], [model], [optimizer], [training] and
[output], read into frozen dataclasses. Every key is checked; unknown keys are refused."""
from __future__ import annotations

import dataclasses
import math
import os
import sys
from dataclasses import dataclass, field, fields, replace

from .model import ACTIVATIONS, INITS

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
    activation: str = _f("relu", "str", choices=ACTIVATIONS, doc="hidden activation")
    init: str = _f("he", "str", choices=INITS, doc="weight initializer")
    dtype: str = _f("float32", "str", choices=("float32", "float64"))
    leaky_relu_slope: float = _f(0.1, "float", low=0, high=1, low_open=True, high_open=True)
    elu_alpha: float = _f(1.0, "float", low=0, low_open=True)
    maxout_pieces: int = _f(2, "int", low=2, high=64)
    init_scale: float = _f(0.01, "float", low=0, low_open=True, doc="std of init='random'")
    seed: int = _f(0, "int", low=0, doc="weight initialisation seed")


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = _f("adam", "str", choices=("adam", "adamw", "sgd"))
    lr: float = _f(1e-3, "float", low=0, low_open=True)
    beta1: float = _f(0.9, "float", low=0, high=1, high_open=True)
    beta2: float = _f(0.999, "float", low=0, high=1, high_open=True)
    eps: float = _f(1e-8, "float", low=0, low_open=True)
    weight_decay: float = _f(0.0, "float", low=0)
    amsgrad: bool = _f(False, "bool")
    momentum: float = _f(0.9, "float", low=0, high=1, high_open=True, doc="sgd only")
    nesterov: bool = _f(False, "bool", doc="sgd only")


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = _f(100, "int", low=1, high=1_000_000)
    batch_size: int = _f(128, "int", low=1)
    shuffle: bool = _f(True, "bool")
    seed: int = _f(0, "int", low=0, doc="shuffling seed")
    validation_split: float = _f(0.0, "float", low=0, high=1, high_open=True,
                                 doc="fraction of the training split held out for validation (0: use the test split)")
    lr_schedule: str = _f("constant", "str", choices=("constant", "step", "exponential", "cosine", "plateau"))
    step_size: int = _f(30, "int", low=1, doc="step schedule: epochs per decay")
    gamma: float = _f(0.1, "float", low=0, high=1, low_open=True, doc="step/exponential decay factor")
    min_lr: float = _f(0.0, "float", low=0, doc="cosine/plateau floor")
    plateau_patience: int = _f(10, "int", low=0)
    plateau_factor: float = _f(0.1, "float", low=0, high=1, low_open=True, high_open=True)
    early_stopping: bool = _f(False, "bool")
    patience: int = _f(10, "int", low=1, doc="early stopping patience")
    min_delta: float = _f(0.0, "float", low=0)
    monitor: str = _f("val_loss", "str", choices=("val_loss", "val_accuracy", "loss", "train_accuracy"))
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
    return replace(base, **sections)


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
        else:
            value = text
    except ValueError:
        what = {"bool": "true or false", "int": "an integer", "float": "a number",
                "int_list": "comma-separated integers"}[kind]
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
