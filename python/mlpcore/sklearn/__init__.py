"""scikit-learn estimators on mlpcore's engine: swap one import and keep the rest of the code.

>>> from mlpcore.sklearn import MLPClassifier   # instead of sklearn.neural_network
>>> from mlpcore.sklearn import Perceptron      # instead of sklearn.linear_model

The estimators take scikit-learn's parameters with their meaning, fill the same fitted
attributes, and work with clone, pickle, Pipeline, GridSearchCV and cross_val_score. The
training loops run in C++ (whole epochs per call, the GIL released); docs/sklearn.md says what
differs. Importing this module needs scikit-learn (``pip install mlpcore[sklearn]``).
"""
from ._mlp import MLPClassifier, MLPRegressor
from ._perceptron import Perceptron

__all__ = ["MLPClassifier", "MLPRegressor", "Perceptron"]
