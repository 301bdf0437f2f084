"""scikit-learn helpers the estimators share, with fallbacks for older scikit-learn releases."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older releases keep it as a method
    def validate_data(estimator, X="no_validation", y="no_validation", **kwargs):
        return estimator._validate_data(X, y, **kwargs)

try:  # scikit-learn >= 1.3
    from sklearn.base import _fit_context
except ImportError:  # pragma: no cover
    def _fit_context(prefer_skip_nested_validation):
        def wrap(method):
            def fit(estimator, *args, **kwargs):
                if hasattr(estimator, "_validate_params"):
                    estimator._validate_params()
                return method(estimator, *args, **kwargs)
            return fit
        return wrap

__all__ = ["validate_data", "_fit_context", "dense", "resolve_class_weight"]


def dense(X, dtype) -> np.ndarray:
    """X (validated, possibly sparse) as the C-contiguous array of ``dtype`` the engine maps."""
    if sp.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=dtype)


def resolve_class_weight(class_weight, y, sample_weight=None):
    """class_weight as a ``{label: weight}`` dict (or None): 'balanced' becomes
    ``W / (n_classes * W_c)`` over the classes present in ``y`` (shape (n_samples,)), with
    ``W_c`` the sample-weight sum of class c and W of all (counts without sample weights), so
    that integer sample weights and repeated rows give the same weights; a class whose samples
    all weigh 0 gets 1. A dict is returned as given (scikit-learn's compute_class_weight checks
    its labels)."""
    if not isinstance(class_weight, str):
        return class_weight
    present, index = np.unique(y, return_inverse=True)
    totals = np.bincount(index, weights=sample_weight, minlength=len(present)).astype(np.float64)
    safe = np.where(totals > 0, totals, 1.0)
    weights = np.where(totals > 0, totals.sum() / (len(present) * safe), 1.0)
    return {label: float(w) for label, w in zip(present.tolist(), weights)}
