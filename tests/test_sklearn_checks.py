"""scikit-learn's own estimator checks on fastmlp.sklearn.MLPClassifier / MLPRegressor.

The instances under test are the two defaults, then small ones (max_iter <= 100,
hidden_layer_sizes=(10,)) covering the other paths, to keep the run short;
ConvergenceWarnings from those short fits are expected and silenced by the checks themselves.
Every check expected to fail is listed with its reason in EXPECTED_FAILED.
"""

import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# No check is expected to fail today for any instance below. Add one only with its reason,
# {"check_name": "why it cannot pass"}, returned for the instances it concerns.
EXPECTED_FAILED = {}


def expected_failed(estimator):
    """Checks expected to fail for one instance, each with its written reason."""
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


ESTIMATORS = [
    # scikit-learn's defaults: the drop-in passes with default parameters
    MLPClassifier(),
    MLPRegressor(),
    MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=20, random_state=0),
    # alpha=0 runs in the compiled engine even before fastmlp.MLP takes alpha; the last instance
    # (sklearn_compat) runs the per-batch loop
    MLPClassifier(hidden_layer_sizes=(10,), alpha=0.0, learning_rate_init=0.01, max_iter=100,
                  random_state=0),
    MLPRegressor(hidden_layer_sizes=(10,), alpha=0.0, solver="sgd", learning_rate_init=0.01,
                 max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=0.01, max_iter=100,
                 random_state=0, sklearn_compat=True),
    # class weights are row weights in the per-batch loop too
    # (check_class_weight_classifiers)
    MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=100, random_state=0,
                  sklearn_compat=True),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
