"""fastmlp.MLP.to_onnx and ``fastmlp export``: the graph onnxruntime runs gives predict's and
predict_proba's numbers for every activation, loss and dtype.

Tolerances: tests/onnx_checks.py's per-element worst-case bound for two implementations of the
same network. For float64 it comes to about 1e-14 of the values' size (a few dozen ulps of the
dot products' gauge), i.e. machine precision; for float32 about 1e-6 of it (the same recipe with
u = 2^-24, growing with each layer's width K as γ_K does). Labels must agree except where the
deciding values lie within the bound of a tie.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import fastmlp as fm  # noqa: E402
from fastmlp import onnx_export  # noqa: E402
from fastmlp.cli import main  # noqa: E402
from onnx_checks import assert_close, assert_labels_agree, network_bound, run  # noqa: E402
from tolerances import TRANSCENDENTAL_RTOL, unit_roundoff  # noqa: E402

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax")
LOSSES = ("cross_entropy", "binary_cross_entropy", "mse", "mae", "huber", "poisson")
DTYPES = ("float32", "float64")


def _model(activation, loss, dtype, sizes=(6, 17, 9, 4), seed=0):
    """A network with random weights and biases (the initializer leaves biases at 0)."""
    model = fm.MLP(list(sizes), activation=activation, loss=loss, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for b in model.biases:
        b[...] = rng.normal(0, 0.5, b.shape)
    return model


def _check_against_fastmlp(model, X, proto):
    onnx.checker.check_model(proto, full_check=True)
    out = run(proto, X)
    layers = network_bound(X, model.weights, model.biases, model.hidden_activations + ["identity"],
                           model.dtype)
    scores, _, score_err, _ = layers[-1]
    loss, u, rtol = model.loss, unit_roundoff(model.dtype), TRANSCENDENTAL_RTOL[model.dtype]
    if loss == "cross_entropy":
        assert set(out) == {"label", "probabilities"}
        proba = model.predict_proba(X)
        p_ref = np.exp(scores - scores.max(1, keepdims=True))
        p_ref /= p_ref.sum(1, keepdims=True)
        bound = p_ref * 2 * (score_err.max(1, keepdims=True) + 4 * u * scores.shape[1] + rtol)
        assert_close(out["probabilities"], proba, bound, "probabilities")
        top2 = np.sort(scores, axis=1)[:, -2:]
        near_tie = (top2[:, 1] - top2[:, 0]) <= 2 * score_err.max(axis=1)
        assert out["label"].dtype == np.int64
        assert_labels_agree(out["label"], model.predict(X), near_tie, "label")
    elif loss == "binary_cross_entropy":
        assert set(out) == {"label", "probabilities"}
        p_ref = 1 / (1 + np.exp(-scores))
        bound = 0.25 * score_err + 2 * rtol * p_ref  # sigmoid's slope <= 1/4, plus its rounding
        assert_close(out["probabilities"], model.predict_proba(X), bound, "probabilities")
        labels = model.predict(X)
        near_tie = np.abs(scores) <= score_err
        assert_labels_agree(out["label"], labels, near_tie.reshape(labels.shape), "label")
    else:
        assert set(out) == {"predictions"}
        pred = model.predict(X)
        if loss == "poisson":
            rate = np.exp(scores)
            bound = rate * (1.01 * score_err + 2 * rtol)
        else:
            bound = score_err
        assert_close(out["predictions"], pred, bound.reshape(pred.shape), "predictions")
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_loss_and_dtype_matches_predict(activation, loss, dtype):
    model = _model(activation, loss, dtype, seed=ACTIVATIONS.index(activation))
    X = np.random.default_rng(7).normal(0, 2, (64, 6)).astype(dtype)  # fresh data, never trained on
    proto = model.to_onnx()
    out = _check_against_fastmlp(model, X, proto)
    values = out.get("probabilities", out.get("predictions"))
    assert values.dtype == np.dtype(dtype)
    if dtype == "float64":  # machine precision: a few dozen roundings of 1.1e-16 on O(10) gauges
        expected = model.predict_proba(X) if model.is_classifier else model.predict(X)
        assert np.abs(values - expected).max() <= 1e-12 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_output_heads_have_predicts_shapes(dtype):
    X = np.random.default_rng(3).normal(size=(40, 6)).astype(dtype)
    for loss in ("binary_cross_entropy", "mse", "poisson"):
        model = _model("tanh", loss, dtype, sizes=(6, 5, 1))
        out = _check_against_fastmlp(model, X, model.to_onnx())
        key = "label" if loss == "binary_cross_entropy" else "predictions"
        assert out[key].shape == (40,)


def test_per_layer_activations_and_a_trained_network():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    model = fm.MLP([5, 16, 12, 8, 3], activation=["gelu", "leaky_relu", "tanh"], dtype="float64", seed=1)
    model.fit(X, y, epochs=20, batch_size=32, optimizer=fm.optim.Adam(lr=1e-2))
    out = _check_against_fastmlp(model, rng.normal(size=(100, 5)), model.to_onnx())
    assert out["probabilities"].shape == (100, 3)


def test_float64_gelu_polynomials_match_erf_everywhere():
    """The float64 Phi(z) pieces (onnxruntime has no float64 Erf) against math.erf on a fine grid
    over and beyond the fitted range: within 4e-15 absolute (a few ulps of 1; the Chebyshev fit
    reaches ~2e-15)."""
    model = fm.MLP([1, 1, 1], activation="gelu", loss="mse", dtype="float64")
    model.weights[0][...] = 1.0
    model.weights[1][...] = 1.0
    z = np.linspace(-12, 12, 48001).reshape(-1, 1)
    got = run(model.to_onnx(), z)["predictions"]
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in z.ravel()])
    err = np.abs(got - z.ravel() * phi)
    assert np.all(err <= 4e-15 * np.maximum(np.abs(z.ravel()), 1)), float(err.max())


def test_metadata_names_and_opset():
    model = _model("relu", "cross_entropy", "float32")
    proto = model.to_onnx(name="digits")
    meta = onnx_export.metadata(proto)
    assert meta == {"layer_sizes": [6, 17, 9, 4], "activations": ["relu", "relu", "softmax"],
                    "loss": "cross_entropy", "dtype": "float32", "classes": [0, 1, 2, 3]}
    assert proto.graph.name == "digits"
    assert [i.name for i in proto.graph.input] == ["X"]
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", onnx_export.DEFAULT_OPSET)]
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gemm", "Relu", "Softmax", "ArgMax", "Gather"} <= ops


@pytest.mark.parametrize("opset", [onnx_export.MIN_OPSET, 21])
def test_other_opsets_run(opset):
    model = _model("gelu", "poisson", "float64")
    X = np.random.default_rng(1).normal(size=(20, 6))
    proto = model.to_onnx(opset=opset)
    assert proto.opset_import[0].version == opset
    _check_against_fastmlp(model, X, proto)


def test_bad_arguments_name_themselves():
    model = _model("relu", "mse", "float32")
    with pytest.raises(ValueError, match="opset"):
        model.to_onnx(opset=5)
    with pytest.raises(ValueError, match="opset"):
        model.to_onnx(opset="17")
    with pytest.raises(ValueError, match="name"):
        model.to_onnx(name="")


def test_writes_the_file_atomically(tmp_path, monkeypatch):
    model = _model("sigmoid", "binary_cross_entropy", "float64")
    path = tmp_path / "m.onnx"
    proto = model.to_onnx(path)
    assert onnx.load(str(path)) == proto
    with pytest.raises(FileNotFoundError, match="missing"):
        model.to_onnx(tmp_path / "missing" / "m.onnx")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        model.to_onnx(tmp_path / "other.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no partial or temporary file


def test_without_onnx_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "fastmlp\[onnx\]"'):
        _model("relu", "mse", "float32").to_onnx()


def test_the_core_imports_without_onnx():
    code = ("import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None; "
            "sys.modules['skl2onnx'] = None; import fastmlp, fastmlp.sklearn, fastmlp.cli; print('ok')")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# --- the command line -----------------------------------------------------------------------


def test_cli_export_writes_a_graph_that_predicts(tmp_path, capsys):
    model = _model("tanh", "cross_entropy", "float32")
    model.save(tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "wrote" in capsys.readouterr().out
    proto = onnx.load(str(tmp_path / "m.onnx"))
    X = np.random.default_rng(5).normal(size=(30, 6)).astype(np.float32)
    _check_against_fastmlp(model, X, proto)


def test_cli_export_errors_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "m.onnx")
    assert main(["export", str(tmp_path / "absent.npz"), "--onnx", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent.npz" in err and "does not exist" in err
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    assert main(["export", str(tmp_path / "junk.npz"), "--onnx", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "junk.npz" in err and "Traceback" not in err
    _model("relu", "mse", "float32").save(tmp_path / "m.npz")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(tmp_path / "m.npz"), "--onnx", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "fastmlp[onnx]"' in err
    assert not (tmp_path / "m.onnx").exists()
