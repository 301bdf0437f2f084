"""scikit-learn's own estimator checks on mlpcore.sklearn's estimators, with default parameters
(and with solver="lbfgs" for the MLPs, class_weight="balanced" for the classifiers) and no check declared as an expected failure.

check_estimator runs each check and reports it; a check may only be skipped when it says the
environment lacks what it needs (pandas, the array-API switch), never because the estimator
failed it. The estimators' tags must equal scikit-learn's own estimators' tags, so the same
checks run as for scikit-learn's MLPClassifier, MLPRegressor and Perceptron.
"""
import pytest

pytest.importorskip("sklearn")

import sklearn.linear_model
import sklearn.neural_network
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_estimator

import mlpcore.sklearn

# Skips that depend on what is installed, not on the estimator.
ENVIRONMENT_SKIPS = ("pandas is not installed", "SCIPY_ARRAY_API is not set", "does not have a decision_function")

REFERENCES = {"MLPClassifier": sklearn.neural_network.MLPClassifier,
              "MLPRegressor": sklearn.neural_network.MLPRegressor,
              "Perceptron": sklearn.linear_model.Perceptron}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_tags_match_scikit_learn(name):
    assert get_tags(getattr(mlpcore.sklearn, name)()) == get_tags(REFERENCES[name]())


ESTIMATORS = [(name, {}) for name in sorted(REFERENCES)] + [
    ("MLPClassifier", {"solver": "lbfgs"}), ("MLPRegressor", {"solver": "lbfgs"}),
    ("MLPClassifier", {"class_weight": "balanced"}), ("Perceptron", {"class_weight": "balanced"}),
    ("MLPClassifier", {"dropout": 0.2}), ("MLPRegressor", {"dropout": 0.2})]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # defaults on tiny data
@pytest.mark.parametrize("name,params", ESTIMATORS, ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items())
                         if isinstance(v, dict) else v)
def test_check_estimator_passes(name, params):
    results = check_estimator(getattr(mlpcore.sklearn, name)(**params), on_fail=None, on_skip=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []
    for r in results:
        if r["status"] == "skipped":
            assert any(reason in str(r["exception"]) for reason in ENVIRONMENT_SKIPS), (r["check_name"], r["exception"])
        else:
            assert r["status"] == "passed", r
        assert r["expected_to_fail"] is False
    ran = {r["check_name"] for r in results if r["status"] == "passed"}
    assert len(results) >= 60
    assert {"check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data",
            "check_estimators_pickle", "check_fit_idempotent", "check_n_features_in_after_fitting",
            "check_estimators_nan_inf", "check_supervised_y_2d", "check_dtype_object"} <= ran
    if name != "MLPRegressor":
        assert {"check_classifiers_train", "check_classifiers_one_label_sample_weights"} <= ran
    if name == "Perceptron" or "class_weight" in params:
        assert "check_class_weight_classifiers" in ran
