"""Perceptron: Rosenblatt's 1958 learning rule as a scikit-learn classifier, epochs in C++."""
from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .. import _core
from ._validation import _fit_context, dense, resolve_class_weight, validate_data

__all__ = ["Perceptron"]

_ENGINES = {np.dtype(np.float32): _core.Perceptron32, np.dtype(np.float64): _core.Perceptron64}


class Perceptron(ClassifierMixin, BaseEstimator):
    """The perceptron (Rosenblatt, 1958), with scikit-learn's ``Perceptron`` interface.

    Each class has a threshold unit ``z = w·x + b`` that fires (1) when ``z > 0``. Samples are
    presented one at a time and a unit's weights move only when it is wrong, by the perceptron
    learning rule ``w += eta0 * (t - o) * x`` and ``b += eta0 * (t - o)`` (target ``t`` and output
    ``o`` in {0, 1}). Two classes use one unit; more classes one unit per class, one-vs-rest, and
    predict the class of the largest ``z``. The loop runs in C++ with the GIL released.

    Parameters
    ----------
    penalty : {None, 'l2', 'l1'}, default=None
        'l2' shrinks the weights by ``1 - eta0 * alpha`` before each presentation; 'l1' pulls them
        towards zero by the cumulative truncated gradient (weights stop at zero).
    alpha : float, default=1e-4
        Penalty strength.
    fit_intercept : bool, default=True
        Learn the bias ``b`` (the threshold); False keeps it at 0.
    max_iter : int, default=1000
        Epochs at most.
    tol : float or None, default=1e-3
        A unit stops once its epoch loss (the sum of ``max(0, -y z)``, ``y = ±1``) has not fallen
        below its best minus ``tol * n_samples`` for ``n_iter_no_change`` epochs in a row. None
        trains ``max_iter`` epochs.
    shuffle : bool, default=True
        Visit the samples in a new random order each epoch. The order depends on
        ``random_state``, the epoch and each row's content, so it does not depend on the order
        of the rows in ``X``.
    verbose : int, default=0
        Print a line per epoch.
    eta0 : float, default=1.0
        Learning rate (step size).
    n_jobs : int or None, default=None
        Accepted for compatibility; all classes train in one pass of the C++ loop.
    random_state : int, RandomState instance or None, default=0
    n_iter_no_change : int, default=5
    class_weight : dict, 'balanced' or None, default=None
        Scales each unit's step by the weight of its target's class ({class: weight}; 'balanced'
        uses ``W / (n_classes * W_class)``, W the sample-weight sums, the row counts without
        sample weights, over the classes present in the call's data, so ``partial_fit`` balances
        each batch where scikit-learn refuses 'balanced'). With more than two classes a unit's
        "rest" samples have weight 1, as in scikit-learn.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        Epochs run (the largest over the units).
    t_ : int
        Sample presentations, ``n_iter_ * n_samples + 1`` after ``fit`` as in scikit-learn.
    n_features_in_, feature_names_in_

    Notes
    -----
    ``sample_weight`` counts presentations: a sample of weight 3 is presented three times in a
    row, exactly as three copies of it would be, and a fractional part as one step scaled by it.
    (scikit-learn instead scales a single step.)

    Examples
    --------
    >>> import numpy as np
    >>> from mlpcore.sklearn import Perceptron
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> Perceptron().fit(X, [0, 0, 0, 1]).predict(X)   # AND is linearly separable
    array([0, 0, 0, 1])
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, None, None, closed="neither"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
    }

    def __init__(self, *, penalty=None, alpha=0.0001, fit_intercept=True, max_iter=1000, tol=1e-3,
                 shuffle=True, verbose=0, eta0=1.0, n_jobs=None, random_state=0, n_iter_no_change=5,
                 class_weight=None, warm_start=False):
        self.penalty = penalty
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start

    # -- fitting ----------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the units on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 data trains in float32, anything else in float64; sparse input is densified.
        y : array-like of shape (n_samples,)
        coef_init : ndarray of shape (n_units, n_features), optional
        intercept_init : ndarray of shape (n_units,), optional
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative; see the Notes of the class.

        Returns
        -------
        self
        """
        if self.warm_start and hasattr(self, "coef_"):
            coef_init = self.coef_ if coef_init is None else coef_init
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        else:
            for name in ("classes_", "coef_", "intercept_", "t_", "_epochs"):
                self.__dict__.pop(name, None)
        X, y, sample_weight = self._validate(X, y, sample_weight, reset=True)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(classes)} class")
        self.classes_ = classes
        self._train(X, y, sample_weight, self.max_iter, coef_init, intercept_init, self.class_weight)
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn("Maximum number of iteration reached before convergence. Consider increasing "
                          "max_iter to improve the fit.", ConvergenceWarning)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
        first = not hasattr(self, "classes_")
        X, y, sample_weight = self._validate(X, y, sample_weight, reset=first)
        _check_partial_fit_first_call(self, classes)
        if len(self.classes_) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(self.classes_)} class")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if len(unseen):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                             f"'y' has {np.unique(y)}.")
        coef, intercept = (None, None) if first else (self.coef_, self.intercept_)
        self._train(X, y, sample_weight, 1, coef, intercept, self.class_weight)
        return self

    def _validate(self, X, y, sample_weight, reset):
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                             accept_large_sparse=False, reset=reset)
        X = dense(X, X.dtype)
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
            sample_weight = np.ascontiguousarray(sample_weight, dtype=X.dtype)
        return X, y, sample_weight

    def _train(self, X, y, sample_weight, epochs, coef_init, intercept_init, class_weight):
        n_samples, n_features = X.shape
        n_classes = len(self.classes_)
        n_units = 1 if n_classes == 2 else n_classes
        cw = compute_class_weight(resolve_class_weight(class_weight, y, sample_weight), classes=self.classes_, y=y)
        if n_units == 1:
            positive, negative = np.array([cw[1]]), np.array([cw[0]])
        else:
            positive, negative = np.ascontiguousarray(cw, dtype=np.float64), np.ones(n_units)
        engine = _ENGINES[X.dtype](n_units, n_features, float(self.eta0), self.penalty or "none", float(self.alpha),
                                   bool(self.fit_intercept))
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=X.dtype).reshape(n_units, -1)
            if coef_init.shape != (n_units, n_features):
                raise ValueError(f"Provided coef_init does not match dataset: expected shape "
                                 f"{(n_units, n_features)}, got {coef_init.shape}")
            engine.weights[...] = coef_init
        if intercept_init is not None and self.fit_intercept:
            intercept_init = np.asarray(intercept_init, dtype=X.dtype).reshape(-1)
            if intercept_init.shape != (n_units,):
                raise ValueError(f"Provided intercept_init does not match dataset: expected shape "
                                 f"({n_units},), got {intercept_init.shape}")
            engine.bias[...] = intercept_init
        labels = np.searchsorted(self.classes_, y).astype(np.int32)
        keys = type(engine).row_keys(X, labels) if self.shuffle else None
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        active = np.ones(n_units, dtype=np.uint8)
        best = np.full(n_units, np.inf)
        no_improvement = np.zeros(n_units, dtype=int)
        unit_epochs = np.zeros(n_units, dtype=int)
        first_epoch = self.__dict__.get("_epochs", 0)
        start = time.perf_counter()
        for epoch in range(epochs):
            losses, presentations, _ = engine.train_epoch(X, labels, sample_weight, positive, negative, active,
                                                          bool(self.shuffle), seed, first_epoch + epoch, keys)
            losses = np.asarray(losses)
            unit_epochs += active.astype(bool)
            if self.tol is not None and epochs > 1:
                # scikit-learn's rule per unit, with presentations in place of the sample count.
                worse = active.astype(bool) & (losses > best - self.tol * presentations)
                no_improvement = np.where(worse, no_improvement + 1, np.where(active.astype(bool), 0, no_improvement))
                best = np.where(active.astype(bool), np.minimum(best, losses), best)
                active[no_improvement >= self.n_iter_no_change] = 0
            if self.verbose:
                w = engine.weights
                print(f"-- Epoch {first_epoch + epoch + 1}\nNorm: {np.linalg.norm(w):.2f}, NNZs: "
                      f"{np.count_nonzero(w)}, Bias: {engine.bias.mean():.6f}, T: {int(presentations)}, "
                      f"Avg. loss: {losses.mean() / max(presentations, 1e-300):.6f}\nTotal training time: "
                      f"{time.perf_counter() - start:.2f} seconds.")
            if not active.any():
                if self.verbose:
                    print(f"Convergence after {epoch + 1} epochs took {time.perf_counter() - start:.2f} seconds")
                break
        self._epochs = first_epoch + int(unit_epochs.max())
        self.n_iter_ = int(unit_epochs.max())
        self.coef_ = engine.weights.copy()
        self.intercept_ = engine.bias.copy()
        self.t_ = self.__dict__.get("t_", 1) + self.n_iter_ * n_samples

    # -- prediction -------------------------------------------------------------------------------
    def decision_function(self, X):
        """``z = X @ coef_.T + intercept_``: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        X = dense(X, self.coef_.dtype)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The class whose unit fires (two classes: ``z > 0``) or has the largest ``z``."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
