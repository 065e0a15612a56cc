"""scikit-learn drop-in estimators trained by fastmlp (needs the sklearn extra).

    from fastmlp.sklearn import MLPClassifier, MLPRegressor

Same parameters, defaults, attributes and methods as ``sklearn.neural_network``'s, plus
per-layer activations, dropout, weight_decay, class_weight, schedules, validation_data and a
validation-loss curve. With scikit-learn's parameters they give scikit-learn's numbers (same
random_state, float64: loss_curve_ and coefs_ to rounding) at the compiled engine's speed;
``sklearn_compat=True`` runs the same rules batch by batch in NumPy, as a reference.
"""

try:
    import scipy  # noqa: F401
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("fastmlp.sklearn needs scikit-learn and scipy: "
                      "pip install 'fastmlp[sklearn]'") from exc

from ._classifier import MLPClassifier  # noqa: E402
from ._regressor import MLPRegressor  # noqa: E402


def register_onnx_converters() -> None:
    """Register fastmlp's estimators with skl2onnx, so that ``skl2onnx.to_onnx(pipeline, X[:1])``
    exports a Pipeline holding them (needs ``pip install "fastmlp[onnx]"``)."""
    from ._onnx import register_onnx_converters as register

    register(MLPClassifier, MLPRegressor)


__all__ = ["MLPClassifier", "MLPRegressor", "register_onnx_converters"]
