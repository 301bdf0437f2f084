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

__all__ = ["validate_data", "_fit_context", "dense"]


def dense(X, dtype) -> np.ndarray:
    """X (validated, possibly sparse) as the C-contiguous array of ``dtype`` the engine maps."""
    if sp.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=dtype)
