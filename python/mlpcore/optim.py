"""Optimizers: configuration objects whose state lives in the C++ engine, in the network's flat
parameter layout (one vectorised pass per step).

Python only converts the arguments to numbers; the engine validates every range (SgdConfig and
AdamConfig in cpp/src/spec.cpp), so its messages are the ones users see. The defaults in the
signatures below are the engine's (tests/test_architecture.py checks they agree)."""
from __future__ import annotations

import numpy as np

from . import _core
from ._checks import check_number

__all__ = ["SGD", "Adam", "AdamW"]


class _Optimizer:
    """Holds hyper-parameters; the engine state is created on the first step with a network and
    stays bound to that network's parameter count and dtype."""

    _kinds: dict

    def __init__(self):
        self._state = None
        self._dtype = None
        self._make("float64")  # validate the hyper-parameters now, with the engine's messages

    def _make(self, dtype):
        return self._kinds[dtype](**self._engine_args())

    def _engine(self, dtype: str):
        if dtype == self._dtype:  # the hot path: already bound
            return self._state
        if self._state is None:
            self._state = self._make(dtype)
            self._dtype = dtype
        elif dtype != self._dtype:
            raise ValueError(f"this optimizer is bound to a {self._dtype} network; got a {dtype} one")
        return self._state

    @property
    def lr(self) -> float:
        """Learning rate (settable, e.g. by a schedule)."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        value = check_number(value, "lr")
        if self._state is not None:
            self._state.lr = value  # the engine refuses a negative rate
        else:
            self._kinds["float64"](**{**self._engine_args(), "lr": value})
        self._lr = value

    @property
    def steps(self) -> int:
        """Updates applied so far."""
        return 0 if self._state is None else self._state.steps

    def _state_arrays(self, dtype: str) -> list:
        """Live views of the engine's state vectors (empty before the first step)."""
        return list(self._engine(dtype).state().values())

    def _restore(self, dtype: str, steps: int, n_params: int) -> None:
        """Zeroed state of ``steps`` steps on ``n_params`` parameters, to be filled through
        :meth:`_state_arrays`; ``steps == 0`` forgets the state."""
        self._engine(dtype).restore(steps, n_params)

    def reset(self) -> None:
        """Forget the state (moments, step count); the next step may use another network."""
        self._state = None
        self._dtype = None

    def state_dict(self) -> dict:
        """The engine state: ``{"dtype", "steps", "size", "buffers": {name: array}}``.

        ``buffers`` are copies in the network's flat parameter layout (SGD with momentum:
        ``momentum_buffer``; Adam: ``exp_avg``, ``exp_avg_sq`` and with amsgrad
        ``max_exp_avg_sq``), each of shape (size,); ``dtype`` is None before the first step.
        """
        if self._state is None or self._state.steps == 0:
            return {"dtype": None, "steps": 0, "size": 0, "buffers": {}}
        buffers = {name: view.copy() for name, view in self._state.state().items()}
        return {"dtype": self._dtype, "steps": self._state.steps, "size": self._state.state_size, "buffers": buffers}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` of an optimizer of the same kind and configuration, so
        training continues exactly where it stopped.

        Raises
        ------
        ValueError
            A missing key, an unknown dtype, or buffers whose names or sizes do not fit.
        """
        try:
            dtype, steps, size, buffers = (state[k] for k in ("dtype", "steps", "size", "buffers"))
        except (KeyError, TypeError):
            raise ValueError("optimizer state must be a dict with dtype, steps, size and buffers") from None
        self.reset()
        if dtype is None:
            return
        if dtype not in self._kinds:
            raise ValueError(f"optimizer state dtype must be one of {sorted(self._kinds)}, got {dtype!r}")
        engine = self._make(dtype)
        engine.restore(int(steps), int(size))
        views, given = engine.state(), dict(buffers)
        if list(views) != list(given):
            raise ValueError(f"optimizer state buffers are {list(given)}, this optimizer keeps {list(views)}")
        for name, view in views.items():
            values = np.asarray(given[name])
            if values.shape != view.shape:
                raise ValueError(f"optimizer state buffer '{name}' has shape {values.shape}, expected {view.shape}")
            view[...] = values
        self._state, self._dtype = engine, dtype

    def __getstate__(self):
        d = self.__dict__.copy()
        d["_state"] = self.state_dict()  # moments and step count travel with the pickle
        d["_dtype"] = None
        return d

    def __setstate__(self, d):
        saved = d.pop("_state")
        self.__dict__.update(d)
        self._state = None
        self.load_state_dict(saved)


class SGD(_Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    Each step, with g the gradient of the flat parameters p::

        g = g + weight_decay * p
        buf = g  (first step)  or  momentum * buf + (1 - dampening) * g
        g = g + momentum * buf  (nesterov)  or  buf
        p = p - lr * g

    Parameters
    ----------
    lr : float, default 0.01
    momentum : float in [0, 1), default 0
    dampening : float in [0, 1), default 0
    weight_decay : float >= 0, default 0 (L2 penalty added to the gradient)
    nesterov : bool, default False (needs momentum > 0 and dampening = 0)

    Raises
    ------
    ValueError
        Naming the hyper-parameter that is out of range.
    """

    _kinds = {"float32": _core.Sgd32, "float64": _core.Sgd64}

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0):
        self._lr = check_number(lr, "lr")
        self.momentum = check_number(momentum, "momentum")
        self.dampening = check_number(dampening, "dampening")
        self.weight_decay = check_number(weight_decay, "weight_decay")
        self.nesterov = bool(nesterov)
        super().__init__()

    def _engine_args(self):
        return dict(lr=self._lr, momentum=self.momentum, dampening=self.dampening,
                    weight_decay=self.weight_decay, nesterov=self.nesterov)

    def __repr__(self):
        return (f"SGD(lr={self._lr:g}, momentum={self.momentum:g}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay:g})")


class Adam(_Optimizer):
    """Adam (Kingma & Ba, 2015) with ``torch.optim.Adam``'s numerics.

    Each step t, with g the gradient of the flat parameters p::

        g = g + weight_decay * p              (decoupled=False: L2 penalty)
        p = p * (1 - lr * weight_decay)       (decoupled=True: AdamW)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_hat = max(v_hat, v) if amsgrad else v
        p = p - lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

    Parameters
    ----------
    lr : float >= 0, default 1e-3
    betas : (float, float), each in [0, 1), default (0.9, 0.999)
    eps : float > 0, default 1e-8 (added after the square root)
    weight_decay : float >= 0, default 0
    amsgrad : bool, default False
    decoupled : bool, default False (True gives AdamW)

    Raises
    ------
    ValueError
        Naming the hyper-parameter that is out of range.
    """

    _kinds = {"float32": _core.Adam32, "float64": _core.Adam64}

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 decoupled=False):
        self._lr = check_number(lr, "lr")
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair of numbers, got {betas!r}") from None
        self.betas = (check_number(b1, "beta1"), check_number(b2, "beta2"))
        self.eps = check_number(eps, "eps")
        self.weight_decay = check_number(weight_decay, "weight_decay")
        self.amsgrad = bool(amsgrad)
        self.decoupled = bool(decoupled)
        super().__init__()

    def _engine_args(self):
        return dict(lr=self._lr, beta1=self.betas[0], beta2=self.betas[1], eps=self.eps,
                    weight_decay=self.weight_decay, amsgrad=self.amsgrad, decoupled=self.decoupled)

    def __repr__(self):
        name = "AdamW" if self.decoupled else "Adam"
        return (f"{name}(lr={self._lr:g}, betas={self.betas}, eps={self.eps:g}, "
                f"weight_decay={self.weight_decay:g}, amsgrad={self.amsgrad})")


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         decoupled=True)


# The names the configuration and the command line accept, and the classes they build.
OPTIMIZERS = {"adam": Adam, "adamw": AdamW, "sgd": SGD}
