"""MLPClassifier and MLPRegressor: scikit-learn's multi-layer perceptrons on mlpcore's engine.

Longer than the usual module: both estimators share the preparation of a fit (validation,
initialisation in scikit-learn's order, the validation split, the mapping of the objective onto
the engine), the lbfgs driver and the bookkeeping around the engine's stochastic fit
(``fit_estimator``, cpp/src/estimator_fit.cpp, which runs scikit-learn's epoch loop whole).

How the objective maps onto the engine. The engine's data-loss gradients are a constant ``k``
times scikit-learn's: 1 for softmax cross-entropy, ``1/n_outputs`` for logistic outputs (the
engine averages binary cross-entropy over outputs, scikit-learn sums), and ``2/n_outputs`` for
squared error (scikit-learn's gradient is that of half the squared error summed over outputs).
With the weight penalty ``k * alpha`` the engine's gradients are ``k`` times scikit-learn's: Adam
with ``eps = k * epsilon`` takes the same steps and SGD uses ``lr / k``. Reported losses are the
engine's divided by ``k``, except for squared error, where scikit-learn's reported loss averages
(not sums) over outputs: there the engine reports each batch's data part halved and its L2 part
divided by ``k``.
"""
from __future__ import annotations

import functools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d, compute_class_weight, compute_sample_weight
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from threadpoolctl import ThreadpoolController

from .. import _core
from ..model import LOSSES, MLP
from ..optim import SGD, Adam
from ._validation import _fit_context, dense, resolve_class_weight, validate_data

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's hidden activation names -> the engine's.
_ENGINE_ACTIVATION = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                      "leaky_relu": "leaky_relu", "elu": "elu", "maxout": "maxout"}
# out_activation_ -> (engine output, engine loss)
_ENGINE_OUTPUT = {"softmax": ("softmax", "cross_entropy"), "logistic": ("sigmoid", "binary_cross_entropy"),
                  "identity": ("identity", "mse"), "exp": ("exp", "poisson")}
_STOCHASTIC = ("sgd", "adam")
_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large values and "
               "need to be preprocessed.")


def _print_line(line: str) -> None:
    print(line)


@functools.lru_cache(maxsize=None)
def _blas_controller() -> ThreadpoolController:
    """The BLAS libraries loaded (scipy's among them), found once: finding them takes ~1.5 ms."""
    return ThreadpoolController()


def _dropout_rates(dropout, n_hidden: int) -> list:
    """The per-hidden-layer rates ``MLP(dropout=...)`` stores for ``dropout``."""
    rates = [float(p) for p in np.atleast_1d(np.asarray(dropout, dtype=float))]
    return rates * n_hidden if len(rates) == 1 else rates


class _BaseMLP(BaseEstimator):
    """Shared training loop; see MLPClassifier for the parameters."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ENGINE_ACTIVATION))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    }

    # -- fitted views of the engine's parameters -------------------------------------------------
    def _engine_net(self) -> MLP:
        net = self.__dict__.get("_net")
        if net is None:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet")
        return net

    # Before the first fit, coefs_ / intercepts_ may be given by hand (as scikit-learn allows,
    # then continuing with partial_fit or warm_start): the lists are kept as given, and the
    # next fit builds the network from them (_adopt_given_weights).
    @property
    def coefs_(self) -> list:
        """Weight matrices, ``coefs_[i]`` shaped ``(n_in, n_out)`` as scikit-learn stores them:
        live views of the engine's parameters (writing into them changes the model). A maxout
        layer has ``n_out * 2`` columns, each unit's two pieces adjacent."""
        if "_net" not in self.__dict__ and "_given_coefs" in self.__dict__:
            return self._given_coefs
        return [w.T for w, _ in self._engine_net()._slices()]

    @coefs_.setter
    def coefs_(self, value) -> None:
        if "_net" not in self.__dict__:
            self._given_coefs = value
            return
        net = self._engine_net()
        net.set_weights([(np.asarray(c).T, b) for c, (_, b) in zip(value, net.get_weights())])

    @property
    def intercepts_(self) -> list:
        """Bias vectors, ``intercepts_[i]`` shaped ``(n_out,)``; live views like :attr:`coefs_`."""
        if "_net" not in self.__dict__ and "_given_intercepts" in self.__dict__:
            return self._given_intercepts
        return [b for _, b in self._engine_net()._slices()]

    @intercepts_.setter
    def intercepts_(self, value) -> None:
        if "_net" not in self.__dict__:
            self._given_intercepts = value
            return
        net = self._engine_net()
        net.set_weights([(w, np.asarray(b)) for (w, _), b in zip(net.get_weights(), value)])

    def _adopt_given_weights(self, dtype) -> None:
        """Builds the network from hand-set coefs_ / intercepts_ (and out_activation_)."""
        coefs = [np.asarray(c, dtype=dtype) for c in self.__dict__.pop("_given_coefs")]
        intercepts = [np.asarray(b, dtype=dtype).reshape(-1) for b in self.__dict__.pop("_given_intercepts")]
        if len(coefs) != len(intercepts) or any(c.ndim != 2 for c in coefs):
            raise ValueError("coefs_ must be a list of 2-D arrays, one per layer, as long as intercepts_")
        sizes = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
        out = getattr(self, "out_activation_", None)
        if out not in _ENGINE_OUTPUT:
            raise ValueError(f"set out_activation_ to one of {sorted(_ENGINE_OUTPUT)} with coefs_, got {out!r}")
        net = MLP(sizes, activation=_ENGINE_ACTIVATION[self.activation], dtype=np.dtype(dtype).name,
                  output=_ENGINE_OUTPUT[out][0], init="xavier", dropout=self.dropout)
        net.set_weights([(c.T, b) for c, b in zip(coefs, intercepts)])
        self._net = net
        self._best_params = net.parameters.copy()
        self.n_layers_ = len(sizes)
        for name, value in (("n_iter_", 0), ("t_", 0)):
            if name not in self.__dict__:
                setattr(self, name, value)

    # -- fitting ----------------------------------------------------------------------------------
    def _loss_factor(self) -> float:
        """k with engine gradient = k * scikit-learn gradient (see the module docstring)."""
        return {"softmax": 1.0, "logistic": 1.0, "identity": 2.0, "exp": 1.0}[self.out_activation_] / (
            1.0 if self.out_activation_ == "softmax" else self.n_outputs_)

    def _loss_offset(self, y, sample_weight) -> float:
        """What scikit-learn's reported loss adds to the engine's / k: for Poisson, the terms of
        the half deviance in y alone, sum over outputs of the weighted mean of y log y - y."""
        if self.out_activation_ != "exp":
            return 0.0
        y_log_y = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        return float(np.average(y_log_y - y, weights=sample_weight, axis=0).sum())

    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        hidden = list(hidden)
        if np.any(np.array(hidden) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden)
        resume = self.warm_start or incremental
        if resume and "_net" not in self.__dict__ and "_given_coefs" in self.__dict__ \
                and "_given_intercepts" in self.__dict__:
            self._adopt_given_weights(np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64)
        first_pass = "_net" not in self.__dict__ or not resume
        X, y = self._validate_input(X, y, incremental, reset=first_pass, sample_weight=sample_weight)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        class_factor = self.__dict__.pop("_class_factor", None)
        if class_factor is not None:  # class_weight multiplies sample_weight, as in linear models
            class_factor = class_factor.astype(X.dtype)
            sample_weight = class_factor if sample_weight is None else sample_weight * class_factor
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1]] + hidden + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        elif self._net.sizes != layer_units or self._net.dtype != X.dtype:
            raise ValueError(f"cannot continue training a network of sizes {self._net.sizes} "
                             f"({self._net.dtype}) on data that needs {layer_units} ({X.dtype}); "
                             "set warm_start=False to start afresh")
        elif self._net.dropout != _dropout_rates(self.dropout, len(hidden)):
            raise ValueError(f"cannot continue training with dropout={self.dropout!r}: the network was "
                             f"built with dropout {self._net.dropout}; set warm_start=False to start afresh")
        if self.solver == "lbfgs":
            if any(self._net.dropout):
                raise ValueError("solver='lbfgs' cannot train with dropout (its line search needs a fixed "
                                 "objective); use solver='adam' or 'sgd', or dropout=0")
            self._fit_lbfgs(X, y, sample_weight)
        else:
            self._fit_stochastic(X, y, sample_weight, incremental)
        if not np.isfinite(self._net.parameters).all():
            raise ValueError(_NON_FINITE)
        return self

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        output = _ENGINE_OUTPUT[self.out_activation_][0]
        net = MLP(layer_units, activation=_ENGINE_ACTIVATION[self.activation], dtype=np.dtype(dtype).name,
                  output=output, init="xavier", dropout=self.dropout)
        # scikit-learn's initialisation, drawn in its order from the same random state, so that the
        # same random_state starts from the same weights: U(±sqrt(f / (fan_in + fan_out))), f = 2
        # for logistic and 6 otherwise, for weights and biases.
        factor = 2.0 if self.activation == "logistic" else 6.0
        weights = []
        for i, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
            bound = np.sqrt(factor / (fan_in + fan_out))
            width = fan_out * net.maxout_pieces if self.activation == "maxout" and i < len(layer_units) - 2 \
                else fan_out
            coef = self._random_state.uniform(-bound, bound, (fan_in, width))
            intercept = self._random_state.uniform(-bound, bound, width)
            weights.append((coef.T, intercept))
        net.set_weights(weights)
        if any(net.dropout):  # masks follow random_state too (drawn last: dropout=0 draws as scikit-learn)
            net.dropout_seed = int(self._random_state.randint(0, 2**31 - 1))
        self._net = net
        self._best_params = net.parameters.copy()
        if self.solver in _STOCHASTIC:  # as scikit-learn: lbfgs keeps no curve or stopping state
            self._initialize_stopping()

    def _initialize_stopping(self):
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _engine_targets(self, y) -> np.ndarray:
        if self.out_activation_ == "softmax":
            return np.ascontiguousarray(np.argmax(y, axis=1), dtype=np.int32)
        return np.ascontiguousarray(y, dtype=self._net.dtype)

    def _new_optimizer(self, k):
        if self.solver == "sgd":
            return SGD(lr=self.learning_rate_init / k, momentum=self.momentum,
                       nesterov=bool(self.nesterovs_momentum and self.momentum > 0))
        return Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon * k)

    def _fit_lbfgs(self, X, y, sample_weight):
        """Full-batch L-BFGS: scipy's L-BFGS-B drives, the engine computes the objective and its
        gradient over the flat parameter buffer. scikit-learn's objective is the engine's divided
        by k (see the module docstring), so the driver sees the same numbers as scikit-learn's."""
        net = self._net
        k = self._loss_factor()
        net.weight_penalty = self.alpha * k
        loss = _ENGINE_OUTPUT[self.out_activation_][1]
        X = np.ascontiguousarray(X)
        t = self._engine_targets(y)
        w = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=net.dtype)
        self._offset = self._loss_offset(y, sample_weight)
        params, grads = net.parameters, net.gradients
        if self.out_activation_ == "identity" and self.n_outputs_ > 1 and self.alpha > 0:
            # engine = 2 * data + (2 / C) * l2 while scikit-learn reports data + l2 (its gradient
            # stays the engine's / k): add back the part of l2 the division removes.
            weight_sum = X.shape[0] if w is None else float(w.sum())
            scale = 1.0 - 1.0 / self.n_outputs_

            def reported(value):
                return value / 2.0 + scale * net._penalty(weight_sum) / k
        else:
            def reported(value):
                return value / k + self._offset

        def objective(packed):
            params[...] = packed
            value = net._loss_and_grad_block(X, t, w, loss)
            return reported(value), grads / k

        # L-BFGS-B's update works on vectors of n_params values through BLAS: threads only cost
        # there, and on a busy machine a threaded BLAS waiting for its workers made the driver
        # ~50x slower than the engine's gradient (measured); one BLAS thread for the driver.
        with _blas_controller().limit(limits=1, user_api="blas"):
            result = scipy.optimize.minimize(objective, params.astype(np.float64), method="L-BFGS-B", jac=True,
                                             options={"maxfun": self.max_fun, "maxiter": self.max_iter,
                                                      "gtol": self.tol})
        self.n_iter_ = min(int(result.nit), self.max_iter)
        if result.status != 0:
            hint = (f" Increase max_iter (now {self.max_iter}) or max_fun (now {self.max_fun})"
                    if self.n_iter_ == self.max_iter or result.nfev >= self.max_fun else "")
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={result.status}): "
                          f"{result.message}.{hint}; scaling the data may also help.", ConvergenceWarning)
        self.loss_ = float(result.fun)
        params[...] = result.x

    def _fit_stochastic(self, X, y, sample_weight, incremental):
        """SGD / Adam: the whole loop of epochs, stopping rules, schedules and early stopping
        runs in the engine (``fit_estimator``, cpp/src/estimator_fit.cpp) in one call."""
        if "loss_curve_" not in self.__dict__:  # warm start after an lbfgs fit
            self._initialize_stopping()
        k = self._loss_factor()
        if not incremental or "_optimizer" not in self.__dict__:
            self._optimizer = self._new_optimizer(k)
            self._lr = float(self.learning_rate_init)
        self._net.weight_penalty = self.alpha * k
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        dtype = self._net.dtype
        val = (None, None, None, None)
        if early_stopping:
            # The same split scikit-learn makes (stratified for single-output classifiers).
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            parts = train_test_split(*arrays, random_state=self._random_state,
                                     test_size=self.validation_fraction, stratify=stratify)
            X_train, X_val, y_train, y_val = parts[:4]
            sw_train, sw_val = (None, None) if sample_weight is None else parts[4:]
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            X_val = np.ascontiguousarray(X_val, dtype=dtype)
            sw_val = None if sw_val is None else np.ascontiguousarray(sw_val, dtype=np.float64)
            if self.out_activation_ == "softmax":
                val = (X_val, np.ascontiguousarray(np.argmax(y_val, axis=1), dtype=np.int32), None, sw_val)
            else:
                val = (X_val, None, np.ascontiguousarray(y_val, dtype=np.float64), sw_val)
        else:
            X_train, y_train, sw_train = X, y, sample_weight
        X_train = np.ascontiguousarray(X_train, dtype=dtype)
        t_train = self._engine_targets(y_train)
        if sw_train is not None:
            sw_train = np.ascontiguousarray(sw_train, dtype=dtype)
        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        options = _core.EstimatorFitOptions()
        options.batch_size = batch_size
        options.shuffle = bool(self.shuffle)
        options.max_iter = 1 if incremental else int(self.max_iter)
        options.tol = float(self.tol)
        options.n_iter_no_change = float(self.n_iter_no_change)
        options.sgd = self.solver == "sgd"
        options.schedule = getattr(_core.LrSchedule, self.learning_rate)
        options.lr_init = float(self.learning_rate_init)
        options.power_t = float(self.power_t)
        options.grad_factor = k
        # Squared error is reported as half the mean over outputs: the engine's data loss / 2.
        options.data_factor = 2.0 if self.out_activation_ == "identity" else k
        options.loss_offset = self._loss_offset(y_train, sw_train)
        options.early_stopping = early_stopping
        options.score = _core.ValidationScore.accuracy if is_classifier(self) else _core.ValidationScore.r2
        state = _core.EstimatorFitState()
        state.t = int(self.t_)
        state.lr = self._lr
        state.no_improvement_count = int(self.__dict__.get("_no_improvement_count", 0))
        if getattr(self, "best_loss_", None) is not None:
            state.best_loss = float(self.best_loss_)
        if getattr(self, "best_validation_score_", None) is not None:
            state.best_validation_score = float(self.best_validation_score_)
        rng = self._random_state
        rng_state = rng.get_state(legacy=True)
        key = np.array(rng_state[1], dtype=np.uint32)
        net = self._net
        result, pos = _core.fit_estimator(
            net._net, X_train, t_train, sw_train, LOSSES[_ENGINE_OUTPUT[self.out_activation_][1]],
            self._optimizer._engine(np.dtype(dtype).name), options, state, key, int(rng_state[2]), *val, self._best_params,
            _print_line if self.verbose else None)
        if self.shuffle:  # the generator moves on as scikit-learn's shuffles move it
            rng.set_state(("MT19937", key, pos) + tuple(rng_state[3:]))
        self.n_iter_ = state.n_iter
        self.t_ = state.t
        self._lr = state.lr
        if self.solver == "sgd":
            self._optimizer.lr = state.lr / k  # the engine already runs at this rate
            self._optimizer.learning_rate = state.lr  # scikit-learn's name and scale
        self._no_improvement_count = state.no_improvement_count
        self.loss_curve_.extend(state.loss_curve)
        if state.n_iter:
            self.loss_ = state.loss
        if early_stopping:
            self.validation_scores_.extend(state.validation_scores)
            self.best_validation_score_ = state.best_validation_score
        else:
            self.best_loss_ = state.best_loss
        if result.diverged and not early_stopping:
            raise ValueError(_NON_FINITE)
        if result.interrupted:
            warnings.warn("Training interrupted by user.")
        elif not incremental and not result.converged and state.n_iter == self.max_iter:
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the optimization "
                          "hasn't converged yet." % self.max_iter, ConvergenceWarning)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 data trains in float32, anything else in float64. Sparse input is densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. {self.solver} is not "
                                 "stochastic.")
        return True

    # -- prediction -------------------------------------------------------------------------------
    def _forward(self, X, check_input=True) -> np.ndarray:
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        net = self._net
        X = dense(X, net.dtype)
        if self.out_activation_ == "identity":
            return net.forward(X)
        if self.out_activation_ == "exp":
            return net.predict(X).reshape(X.shape[0], -1)
        return net.predict_proba(X)

    def _score_with_function(self, X, y, sample_weight, score_function):
        try:
            y_pred = self._predict(X, check_input=False)
        except ValueError:  # X is validated: outputs that overflowed, which scikit-learn scores NaN
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Width of each hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'elu', 'maxout'}, default='relu'
        Hidden activation. Beyond scikit-learn's four: ``leaky_relu`` max(0.1x, x), ``elu``
        (x if x >= 0 else e^x - 1) and ``maxout`` (the larger of two linear pieces per unit).
    solver : {'adam', 'sgd', 'lbfgs'}, default='adam'
        'lbfgs' is full-batch L-BFGS (scipy's L-BFGS-B driving the engine's loss and gradient):
        at most ``max_iter`` iterations and ``max_fun`` loss evaluations, stopping when the largest
        gradient component falls to ``tol``; it sets no ``loss_curve_`` and ignores the batch,
        schedule, momentum, Adam and early-stopping parameters, as scikit-learn does.
    alpha : float, default=1e-4
        L2 penalty as scikit-learn defines it: ``alpha / (2 * sum_w) * sum ||W||^2`` added to each
        batch's loss (weights only, not biases; ``sum_w`` the batch's sample-weight sum).
    batch_size : int or 'auto', default='auto'
        'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        SGD's schedule: 'invscaling' sets ``learning_rate_init / (t_ + 1) ** power_t`` after each
        epoch; 'adaptive' divides the rate by 5 when ``n_iter_no_change`` epochs do not improve.
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change
        As in scikit-learn. The same ``random_state`` draws the same initial weights, validation
        split and epoch orders as scikit-learn does.
    max_fun : int, default=15000
        'lbfgs' only: the most loss-and-gradient evaluations.
    dropout : float or array-like of float in [0, 1), default=0
        Not in scikit-learn: inverted dropout of the hidden layers while training ('sgd' and
        'adam'; 'lbfgs' refuses it, a full-batch line search needs a fixed objective), one rate
        for every hidden layer or one per hidden layer (``MLP(dropout=...)``). ``predict`` and
        the validation score of ``early_stopping`` use every unit. 0 trains as scikit-learn.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, n_iter_, t_
        As in scikit-learn (losses include the L2 term). With 'lbfgs', ``n_iter_`` counts its
        iterations, ``loss_`` is the final loss, and the other four are not set.
    coefs_ : list of ndarray, ``coefs_[i]`` shaped (n_in, n_out)
    intercepts_ : list of ndarray, ``intercepts_[i]`` shaped (n_out,)
    n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    _parameter_constraints: dict = {**_BaseMLP._parameter_constraints,
                                    "class_weight": [StrOptions({"balanced"}), dict, list, None]}

    __doc__ = """Multi-layer perceptron classifier, scikit-learn's ``MLPClassifier`` on mlpcore's engine.

    Multiclass targets train a softmax output, binary targets one logistic unit, and 2-D 0/1
    targets (multi-label) one logistic unit per label, exactly as scikit-learn does.
    """ + _PARAMS_DOC + """    class_weight : dict, list of dict, 'balanced' or None, default=None
        Not in scikit-learn's MLPClassifier: weights of the classes, multiplied into
        ``sample_weight`` as scikit-learn's linear models do (each sample's weight is its
        sample weight times its class's weight). ``{label: weight}`` (every label must be a
        class of ``y``; missing classes weigh 1), or 'balanced': ``n_samples / (n_classes *
        weight(class))``. Multi-label targets: each label is a 0/1 output and a sample's factor is
        the product of its labels' weights (``sklearn.utils.compute_sample_weight``), given as
        'balanced' or a list of one ``{0: w0, 1: w1}`` dict per label. 'balanced' counts the
        classes by sample weight (so integer weights equal repeated rows), over the classes present
        in the data of the call: in ``partial_fit`` it balances each batch.
""" + _ATTRS_DOC + """
    classes_ : ndarray of shape (n_classes,)

    Examples
    --------
    >>> from mlpcore.sklearn import MLPClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, class_weight=None, dropout=0.0):
        self.class_weight = class_weight
        self.dropout = dropout
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    def _validate_input(self, X, y, incremental, reset, sample_weight=None):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        X = dense(X, X.dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        if self.class_weight is not None:
            self._class_factor = self._class_weight_factor(y, sample_weight)
        return X, self._binarize(y)

    def _binarize(self, y) -> np.ndarray:
        """``LabelBinarizer.transform(y)`` as bools (n, n_outputs), without its per-call target
        checks for single-label y (the labels were checked against classes_ above)."""
        classes = self.classes_
        if y.ndim != 1 or self._label_binarizer.y_type_ not in ("binary", "multiclass") or len(classes) < 2:
            return self._label_binarizer.transform(y).astype(bool)
        index = np.searchsorted(classes, y)
        if len(classes) == 2:
            return (index == 1).reshape(-1, 1)
        out = np.zeros((len(y), len(classes)), dtype=bool)
        out[np.arange(len(y)), index] = True
        return out

    def _class_weight_factor(self, y, sample_weight) -> np.ndarray:
        """Each sample's class weight (n_samples,): the weight of its class for single-label
        targets ('balanced' from this call's data, see resolve_class_weight); for multi-label
        targets the product over labels of each label's weight for its 0/1 value
        (``compute_sample_weight``, a list of one dict per label)."""
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return compute_sample_weight(self.class_weight, y)
        if isinstance(self.class_weight, list):
            raise ValueError("class_weight must be 'balanced' or a dict for single-label targets; a list of "
                             "dicts (one per label) is for multi-label targets")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, y.reshape(-1, 1))
        class_weight = resolve_class_weight(self.class_weight, y, sample_weight)
        weights = compute_class_weight(class_weight, classes=self.classes_, y=y)
        return weights[np.searchsorted(self.classes_, y)]

    def predict(self, X):
        """Predicted classes, shape (n_samples,) or (n_samples, n_classes) for multi-label."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self)
        y_pred = self._forward(X)
        if self.out_activation_ == "logistic":
            # A logistic unit's probability lies strictly between 0 and 1, but rounds to exactly
            # 1 (or 0) once |z| passes ~37 in float64: keep the nearest representable values
            # inside, as the multi-label check of scikit-learn requires.
            info = np.finfo(y_pred.dtype)
            np.clip(y_pred, info.smallest_subnormal, 1.0 - info.epsneg, out=y_pred)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor, scikit-learn's ``MLPRegressor`` on mlpcore's engine.

    Minimises half the mean squared error (plus the L2 term) with an identity output; 2-D
    targets give one output per column.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error': half the mean squared error, identity output. 'poisson': half the
        Poisson deviance with a log link, as scikit-learn: the output is ``exp`` of the last
        layer (``out_activation_ == 'exp'``), the engine minimises the mean of ``e^z - y z``
        (targets must be >= 0), and ``loss_`` adds back the terms in ``y`` alone.
    """ + _PARAMS_DOC.split("----------\n", 1)[1] + _ATTRS_DOC

    _parameter_constraints: dict = {**_BaseMLP._parameter_constraints,
                                    "loss": [StrOptions({"squared_error", "poisson"})]}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 max_fun=15000, dropout=0.0):
        self.loss = loss
        self.dropout = dropout
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    def _validate_input(self, X, y, incremental, reset, sample_weight=None):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), reset=reset)
        X = dense(X, X.dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward(X, check_input=check_input)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, r2_score)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
