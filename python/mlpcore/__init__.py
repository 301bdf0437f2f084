"""mlpcore: fast multi-layer perceptrons on a C++/Eigen engine.

The engine (forward, backpropagation, losses, SGD/Adam and the training loop) runs in C++;
this package is the thin layer over it. Importing it does no work beyond loading the engine.
"""
from ._isa import select_engine as _select_engine

_core, _engine = _select_engine()  # the compiled engine for this CPU, see _isa.py
from ._core import build_info as _build_info, get_num_threads, set_num_threads as _set_num_threads  # noqa: E402
from .model import MLP, load
from .optim import SGD, Adam, AdamW
from .train import (
    ConstantLR,
    CosineLR,
    EarlyStopping,
    ExponentialLR,
    History,
    NonFiniteLossError,
    ReduceLROnPlateau,
    StepLR,
    Trainer,
)

from ._version import __version__  # noqa: E402

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "ConstantLR",
    "CosineLR",
    "EarlyStopping",
    "ExponentialLR",
    "History",
    "NonFiniteLossError",
    "ReduceLROnPlateau",
    "StepLR",
    "Trainer",
    "datasets",
    "plot",
    "build_info",
    "get_num_threads",
    "load",
    "set_num_threads",
    "__version__",
]


def build_info() -> dict:
    """How the engine was built and how it runs now.

    Returns
    -------
    dict
        ``version``, ``eigen_version``, ``compiler``, ``isa`` (the SIMD instruction sets Eigen
        vectorises with), ``native`` (built for this host's instruction set), ``engine`` (the
        compiled engine in use: ``native``, or in a portable build ``baseline``, ``avx2`` or
        ``avx512``, chosen for this CPU at import), ``openmp``, ``num_threads`` (threads
        used by matrix products) and ``bf16`` (the engine of ``precision="bf16"``: ``"amx"``,
        ``"avx512_bf16"``, or None where this CPU or engine has neither).
    """
    info = dict(_build_info())
    info["engine"] = _engine
    return info


def set_num_threads(n: int) -> None:
    """Set the number of threads matrix products use (default: the available cores).

    The OpenMP limit of the calling thread caps it at every call: ``OMP_NUM_THREADS`` and
    ``threadpoolctl.threadpool_limits(n)`` (which sets that limit in the engine's libgomp) lower
    the count used, so nested parallelism (joblib, Dask, MPI ranks) does not oversubscribe.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"number of threads must be a positive int, got {n!r}")
    _set_num_threads(n)


def __getattr__(name):
    # Submodules on first use: `mlpcore.datasets`, `mlpcore.plot` (matplotlib is optional),
    # `mlpcore.onnx` and `mlpcore.torch` (their extras are optional).
    if name in ("datasets", "plot", "config", "onnx", "torch", "sklearn"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mlpcore' has no attribute {name!r}")
