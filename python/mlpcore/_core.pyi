# SPDX-License-Identifier: MIT
"""Type stub of mlpcore._core, the compiled engine (private: use the mlpcore package).

Hot methods map NumPy memory without copying: ``X`` must be a C-contiguous array of the model's
dtype (float32 for the ``*32`` classes, float64 for the ``*64`` ones), anything else raises
TypeError. ``y`` is a C-contiguous int32 array of labels ``(n,)`` or a C-contiguous array of
targets ``(n, outputs)`` in the model's dtype; ``sample_weight`` is None or a C-contiguous
``(n,)`` array in the model's dtype.
"""
from collections.abc import Callable, Sequence
from typing import ClassVar, Generic, SupportsFloat, SupportsInt, TypeVar

from typing_extensions import Self

import numpy as np
from numpy.typing import NDArray

_F32 = NDArray[np.float32]
_F64 = NDArray[np.float64]
_A = TypeVar("_A", _F32, _F64)

class IoError(OSError):
    """The file system refused (cannot open, read, write or rename a model file)."""

class ModelFormatError(ValueError):
    """A model file that is malformed, hostile or inconsistent with its architecture."""

class Loss:
    cross_entropy: ClassVar[Loss]
    binary_cross_entropy: ClassVar[Loss]
    mse: ClassVar[Loss]
    poisson: ClassVar[Loss]
    __members__: ClassVar[dict[str, Loss]]
    def __init__(self, value: SupportsInt) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    def __index__(self) -> int: ...
    def __int__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

def loss_from_string(arg0: str) -> Loss: ...

class EpochResult:
    """What one train_epoch call did."""
    @property
    def loss(self) -> float: ...
    @property
    def batches(self) -> int: ...
    @property
    def samples(self) -> int: ...
    @property
    def correct(self) -> int: ...
    @property
    def counted(self) -> int: ...
    @property
    def stopped(self) -> bool: ...
    @property
    def non_finite(self) -> bool: ...
    @property
    def bad_batch(self) -> int: ...

class _Optimizer(Generic[_A]):
    """What Optimizer32 and Optimizer64 share (stub-only base); arrays are _F32 / _F64."""
    lr: float
    @property
    def steps(self) -> int: ...
    @property
    def state_size(self) -> int: ...
    def reset(self) -> None: ...
    def state(self) -> dict[str, _A]:
        """Live views of the state vectors by name (momentum_buffer; exp_avg, exp_avg_sq[,
        max_exp_avg_sq]); empty before a step."""
    def restore(self, steps: SupportsInt, n: SupportsInt) -> None:
        """Zeroed state of `steps` steps on n parameters, to be filled through state()."""

class _Sgd(Generic[_A]):
    def __init__(self, lr: SupportsFloat, momentum: SupportsFloat, dampening: SupportsFloat,
                 weight_decay: SupportsFloat, nesterov: bool) -> None: ...
    @property
    def momentum_buffer(self) -> _A: ...

class _Adam(Generic[_A]):
    def __init__(self, lr: SupportsFloat, beta1: SupportsFloat, beta2: SupportsFloat, eps: SupportsFloat,
                 weight_decay: SupportsFloat, amsgrad: bool, decoupled: bool) -> None: ...
    @property
    def exp_avg(self) -> _A: ...
    @property
    def exp_avg_sq(self) -> _A: ...

class Optimizer32(_Optimizer[_F32]):
    """Optimizer state over a float32 network's flat parameters (bound on the first step)."""

class Sgd32(Optimizer32, _Sgd[_F32]): ...
class Adam32(Optimizer32, _Adam[_F32]): ...

class Optimizer64(_Optimizer[_F64]):
    """Optimizer state over a float64 network's flat parameters (bound on the first step)."""

class Sgd64(Optimizer64, _Sgd[_F64]): ...
class Adam64(Optimizer64, _Adam[_F64]): ...

_O = TypeVar("_O", Optimizer32, Optimizer64)

class _Mlp(Generic[_A, _O]):
    """What Mlp32 and Mlp64 share (a stub-only base: the module binds each class on its own);
    arrays are _F32 / _F64 and optimizers Optimizer32 / Optimizer64 by class."""
    @property
    def dtype(self) -> str: ...
    @property
    def sizes(self) -> list[int]: ...
    @property
    def activations(self) -> list[str]: ...
    @property
    def leaky_relu_slope(self) -> float: ...
    @property
    def elu_alpha(self) -> float: ...
    @property
    def maxout_pieces(self) -> int: ...
    @property
    def output(self) -> str: ...
    @property
    def dropout(self) -> list[float]:
        """Dropout probability of each hidden layer (training only)."""
    @property
    def dropout_seed(self) -> int: ...
    @dropout_seed.setter
    def dropout_seed(self, seed: SupportsInt) -> None: ...
    @property
    def dropout_step(self) -> int:
        """The training step whose masks the next update uses; advances with every update."""
    @dropout_step.setter
    def dropout_step(self, step: SupportsInt) -> None: ...
    def dropout_mask(self, layer: SupportsInt, X: _A, step: SupportsInt) -> _A:
        """``(n, units)`` multipliers (0 or 1/(1-p)) of hidden layer ``layer`` at ``step`` for the
        input rows ``X`` (n, n_inputs): each row's mask is keyed on its values, not its position."""
    @property
    def n_params(self) -> int: ...
    def layer_slices(self) -> list[tuple[int, int, int, int]]:
        """``(weight_offset, rows, cols, bias_offset)`` of each layer in the flat buffer."""
    @property
    def params(self) -> _A:
        """Live, writable view of the flat parameters; it keeps this model alive."""
    @property
    def grads(self) -> _A:
        """Live view of the flat gradient buffer; it keeps this model alive."""
    def initialize(self, init: str, seed: SupportsInt, init_scale: SupportsFloat) -> None: ...
    def forward(self, X: _A) -> _A: ...
    def forward_dropout(self, X: _A, step: SupportsInt) -> _A:
        """Logits with training step ``step``'s dropout masks (no output check)."""
    def predict_proba(self, X: _A) -> _A: ...
    def loss(self, X: _A, y: np.ndarray, sample_weight: _A | None, loss: str) -> float: ...
    def evaluate(self, X: _A, y: np.ndarray, sample_weight: _A | None,
                 loss: str) -> tuple[float, int, int]:
        """``(mean loss, correct, counted)`` over the batch."""
    def loss_and_grad(self, X: _A, y: np.ndarray, sample_weight: _A | None, loss: str,
                      dropout_step: SupportsInt | None = None) -> float:
        """With ``dropout_step``, training's loss and gradient with that step's dropout masks."""
    def train_step(self, X: _A, y: np.ndarray, sample_weight: _A | None, loss: Loss,
                   optimizer: _O) -> float: ...
    def train_epoch(self, X: _A, y: np.ndarray, sample_weight: _A | None, loss: Loss,
                    optimizer: _O, batch_size: SupportsInt, shuffle: bool, seed: SupportsInt,
                    epoch: SupportsInt, should_stop: Callable[[], bool] | None = None,
                    check_finite: bool = True, check_interval: SupportsFloat = 0.005) -> EpochResult: ...
    def validate_epoch(self, X: _A, y: np.ndarray, sample_weight: _A | None, loss: Loss,
                       batch_size: SupportsInt) -> None:
        """train_epoch's checks of its inputs, without training (raises ValueError)."""
    def train_epoch_sharded(self, X: _A, y: np.ndarray, sample_weight: _A | None, loss: Loss,
                            optimizer: _O, batch_size: SupportsInt, shuffle: bool, seed: SupportsInt,
                            epoch: SupportsInt, rank: SupportsInt, parts: SupportsInt, reducer: object = None,
                            should_stop: Callable[[], bool] | None = None,
                            check_finite: bool = True) -> EpochResult:
        """One epoch on part `rank` of `parts` of each global batch; `reducer` has reduce(totals)
        and optionally layer_ready(layer, offset, size); None runs all parts here in order."""
    def set_input_scaling(self, arg0: Sequence[SupportsFloat], arg1: Sequence[SupportsFloat]) -> None: ...
    @property
    def input_mean(self) -> list[float]: ...
    @property
    def input_scale(self) -> list[float]: ...
    def set_classes(self, arg0: Sequence[str], arg1: str) -> None: ...
    @property
    def classes(self) -> list[str]: ...
    @property
    def classes_kind(self) -> str: ...
    metadata: dict[str, str]
    def save(self, arg0: str) -> None: ...
    @property
    def precision(self) -> str:
        """Either "float32" or "bf16" (bf16 operands, float32 accumulation); settable, not saved."""
    @precision.setter
    def precision(self, value: str) -> None: ...
    @property
    def weight_penalty(self) -> float:
        """L2 penalty on the weights (scikit-learn's alpha); settable."""
    @weight_penalty.setter
    def weight_penalty(self, alpha: SupportsFloat) -> None: ...
    def penalty(self, weight_sum: SupportsFloat) -> float:
        """The weight penalty's value at the current weights for a batch of weight sum ``weight_sum``."""
    def serialize(self) -> bytes: ...
    def copy(self) -> Self: ...

class Mlp32(_Mlp[_F32, Optimizer32]):
    """A float32 network: spec, one flat parameter buffer, its gradient and a workspace."""
    def __init__(self, sizes: Sequence[SupportsInt], activations: Sequence[str],
                 leaky_relu_slope: SupportsFloat, elu_alpha: SupportsFloat, maxout_pieces: SupportsInt,
                 output: str, init: str, seed: SupportsInt, init_scale: SupportsFloat,
                 dropout: Sequence[SupportsFloat] = ...) -> None: ...

class Mlp64(_Mlp[_F64, Optimizer64]):
    """A float64 network: spec, one flat parameter buffer, its gradient and a workspace."""
    def __init__(self, sizes: Sequence[SupportsInt], activations: Sequence[str],
                 leaky_relu_slope: SupportsFloat, elu_alpha: SupportsFloat, maxout_pieces: SupportsInt,
                 output: str, init: str, seed: SupportsInt, init_scale: SupportsFloat,
                 dropout: Sequence[SupportsFloat] = ...) -> None: ...

class Perceptron32:
    """float32 perceptron units (Rosenblatt's rule, one-vs-rest); weights K x F, bias K."""
    def __init__(self, n_units: SupportsInt, n_features: SupportsInt, eta0: SupportsFloat, penalty: str,
                 alpha: SupportsFloat, fit_intercept: bool) -> None: ...
    @property
    def weights(self) -> _F32:
        """Live (n_units, n_features) view."""
    @property
    def bias(self) -> _F32:
        """Live (n_units,) view."""
    @staticmethod
    def row_keys(X: _F32, labels: NDArray[np.int32]) -> NDArray[np.uint64]:
        """One content key per row (equal rows, equal keys) for train_epoch's shuffling."""
    def train_epoch(self, X: _F32, labels: NDArray[np.int32], sample_weight: _F32 | None,
                    positive_weight: _F64 | None, negative_weight: _F64 | None,
                    active: NDArray[np.uint8] | None, shuffle: bool, seed: SupportsInt,
                    epoch: SupportsInt, row_keys: NDArray[np.uint64] | None = None) -> tuple[list[float], float, int]:
        """One epoch (GIL released): per-unit loss sums, presentations (sum of weights), updates."""

class Perceptron64:
    """float64 perceptron units; see Perceptron32."""
    def __init__(self, n_units: SupportsInt, n_features: SupportsInt, eta0: SupportsFloat, penalty: str,
                 alpha: SupportsFloat, fit_intercept: bool) -> None: ...
    @property
    def weights(self) -> _F64: ...
    @property
    def bias(self) -> _F64: ...
    @staticmethod
    def row_keys(X: _F64, labels: NDArray[np.int32]) -> NDArray[np.uint64]:
        """One content key per row (equal rows, equal keys) for train_epoch's shuffling."""
    def train_epoch(self, X: _F64, labels: NDArray[np.int32], sample_weight: _F64 | None,
                    positive_weight: _F64 | None, negative_weight: _F64 | None,
                    active: NDArray[np.uint8] | None, shuffle: bool, seed: SupportsInt,
                    epoch: SupportsInt, row_keys: NDArray[np.uint64] | None = None) -> tuple[list[float], float, int]: ...

class LrSchedule:
    """scikit-learn's SGD learning-rate schedules."""
    constant: ClassVar[LrSchedule]
    invscaling: ClassVar[LrSchedule]
    adaptive: ClassVar[LrSchedule]
    __members__: ClassVar[dict[str, LrSchedule]]
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class ValidationScore:
    """The early-stopping score: accuracy (classifiers) or R^2 (regressors)."""
    accuracy: ClassVar[ValidationScore]
    r2: ClassVar[ValidationScore]
    __members__: ClassVar[dict[str, ValidationScore]]
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class EstimatorFitOptions:
    """The rules of one fit_estimator call (cpp/include/mlpcore/estimator_fit.hpp)."""
    batch_size: int
    shuffle: bool
    max_iter: int
    tol: float
    n_iter_no_change: float
    sgd: bool
    schedule: LrSchedule
    lr_init: float
    power_t: float
    grad_factor: float
    data_factor: float
    loss_offset: float
    early_stopping: bool
    score: ValidationScore
    check_interval: float
    def __init__(self) -> None: ...

class EstimatorFitState:
    """State carried between fit_estimator calls; the lists hold this call's epochs."""
    n_iter: int
    t: int
    lr: float
    best_loss: float
    best_validation_score: float
    no_improvement_count: int
    def __init__(self) -> None: ...
    @property
    def loss(self) -> float: ...
    @property
    def loss_curve(self) -> list[float]: ...
    @property
    def validation_scores(self) -> list[float]: ...

class EstimatorFitResult:
    """How a fit_estimator call ended."""
    @property
    def converged(self) -> bool: ...
    @property
    def interrupted(self) -> bool: ...
    @property
    def diverged(self) -> bool: ...

def fit_estimator(net: Mlp32 | Mlp64, X: _F32 | _F64, y: NDArray[np.int32] | _F32 | _F64,
                  sample_weight: _F32 | _F64 | None, loss: Loss, optimizer: Optimizer32 | Optimizer64,
                  options: EstimatorFitOptions, state: EstimatorFitState, key: NDArray[np.uint32],
                  pos: SupportsInt, val_X: _F32 | _F64 | None, val_labels: NDArray[np.int32] | None,
                  val_y: _F64 | None, val_weight: _F64 | None, best_params: _F32 | _F64,
                  log: Callable[[str], object] | None) -> tuple[EstimatorFitResult, int]:
    """scikit-learn's stochastic fit, whole, in the engine with the GIL released. ``key``/``pos``:
    NumPy's MT19937 state (624 uint32, updated in place; the new position is returned).
    Validation (early stopping): ``val_X`` (m, n_inputs) in the model's dtype, and int32 class
    indices (softmax) or float64 targets (m, n_outputs), float64 weights or None.
    ``best_params`` (n_params,) receives the best-scoring parameters. ``log`` gets the verbose
    lines (the GIL taken per line). Ctrl-C ends the fit with ``interrupted`` set."""

def load(path: str) -> Mlp32 | Mlp64:
    """Read a model file; raises ModelFormatError (a ValueError) or IoError (an OSError)."""

def deserialize(data: bytes) -> Mlp32 | Mlp64:
    """Parse the bytes of a model file (what ``serialize`` returns)."""

def build_info() -> dict[str, str | bool | int | None]: ...
def choices() -> dict[str, list[str] | dict[str, str]]: ...
def defaults() -> dict[str, dict[str, float | int | bool | str | tuple[float, float]]]: ...
def set_num_threads(n: SupportsInt) -> None: ...
def get_num_threads() -> int: ...
def parallel_regions() -> int:
    """OpenMP parallel regions the engine has entered in this process (for tests)."""
def bf16_unavailable_reason() -> str:
    """Why precision "bf16" cannot run here (what the CPU or engine lacks), or ""."""
def _bf16_limit(engine: str) -> None:
    """Test-only: cap the bf16 engine ("none", "avx512_bf16", "amx" = no cap) as if the CPU lacked
    the faster ones."""
