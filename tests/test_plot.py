"""fastmlp.plot: every picture renders headless (Agg) to a PNG of the expected size, and what it
draws is the data it was given (line data, scatter points, image arrays), not just any picture.
Also `fastmlp train --plot` as a subprocess, and the lazy matplotlib import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="matplotlib not installed (pip install fastmlp[plot])")
matplotlib.use("Agg", force=True)  # no display in CI: everything below must work under Agg

import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402  (a dependency of matplotlib itself)

import fastmlp as fm  # noqa: E402
from fastmlp import plot  # noqa: E402

BACKEND = fm.available_backends()[0]
PYTHON_DIR = str(Path(fm.__file__).resolve().parents[1])
DPI = 50  # small PNGs keep the tests fast; the size check scales with it


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def png_size(fig, path, dpi=DPI):
    """Render ``fig`` to a PNG and return the PNG's (width, height) in pixels."""
    fig.savefig(path, dpi=dpi)
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def expected_size(fig, dpi=DPI):
    w, h = fig.get_size_inches()
    return round(w * dpi), round(h * dpi)


def line(ax, label):
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(found) == 1, f"no single line labelled {label!r} in {[ln.get_label() for ln in ax.get_lines()]}"
    return found[0]


@pytest.fixture(scope="module")
def moons_fit():
    X, y = fm.datasets.moons(n_samples=200, noise=0.1, seed=0)
    model = fm.MLP([2, 16, 16, 2], activation="tanh", backend=BACKEND, seed=0)
    snapshots = plot.WeightSnapshots(every=5)
    initial = [w.copy() for w in model.weights]
    history = model.fit(X, y, epochs=20, batch_size=16, optimizer=fm.optim.Adam(lr=1e-2),
                        validation_data=(X[:50], y[:50]), callbacks=[snapshots])
    return model, X, y, history, snapshots, initial


# --- learning curves ---------------------------------------------------------------------------


def test_history_lines_are_the_recorded_values(moons_fit, tmp_path):
    _, _, _, history, _, _ = moons_fit
    fig = plot.history(history)
    assert png_size(fig, tmp_path / "h.png") == expected_size(fig)
    loss_ax, metric_ax = fig.axes
    epochs = np.arange(1, 21)
    for ax, train, val in ((loss_ax, history.loss, history.val_loss),
                           (metric_ax, history.metric, history.val_metric)):
        np.testing.assert_array_equal(line(ax, "train").get_xdata(), epochs)
        np.testing.assert_array_equal(line(ax, "train").get_ydata(), train)
        np.testing.assert_array_equal(line(ax, "validation").get_ydata(), val)
        # epoch 1's training value includes the first, untrained steps: the axis says how each is measured
        assert ax.get_xlabel() == "epoch\ntrain: mean over the epoch's steps; validation: after the epoch"
    assert metric_ax.get_ylabel() == "accuracy"


def test_regression_history_has_validation_r2_only(tmp_path):
    X, y = fm.datasets.house_prices(n_samples=200, seed=0)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    model = fm.MLP([8, 16, 1], loss="mse", backend=BACKEND, seed=0)
    history = model.fit(X, y, epochs=3, validation_data=(X, y))
    fig = plot.history(history)
    loss_ax, r2_ax = fig.axes
    assert [ln.get_label() for ln in r2_ax.get_lines()] == ["validation"]
    assert r2_ax.get_xlabel() == "epoch" and "validation: after the epoch" in loss_ax.get_xlabel()
    np.testing.assert_array_equal(line(r2_ax, "validation").get_ydata(), history.val_metric)
    no_validation = model.fit(X, y, epochs=2)
    fig = plot.history(no_validation)  # no metric at all: one panel
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="no metric"):
        plot.metric_curve(no_validation)


def test_curves_draw_into_the_given_axes(moons_fit):
    history = moons_fit[3]
    fig, (a, b) = plt.subplots(1, 2)
    assert plot.loss_curve(history, ax=a) is a
    assert plot.metric_curve(history, ax=b) is b
    assert plot.history(history, ax=[a, b]) is fig


def test_save_history_writes_the_file_without_pyplot(moons_fit, tmp_path):
    history = moons_fit[3]
    path = tmp_path / "curves.png"
    fig = plot.save_history(history, path, dpi=DPI)
    assert fig not in [plt.figure(n) for n in plt.get_fignums()]  # detached: not a pyplot window
    with Image.open(path) as image:
        assert image.size == expected_size(fig)
    np.testing.assert_array_equal(line(fig.axes[0], "train").get_ydata(), history.loss)


# --- decision boundaries -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xor", "moons", "circles", "spirals"])
def test_decision_boundary_shows_predictions_and_points(name, tmp_path):
    X, y = getattr(fm.datasets, name)(seed=0)
    n_classes = int(y.max()) + 1
    model = fm.MLP([2, 32, 32, n_classes], backend=BACKEND, seed=0)
    model.fit(X, y, epochs=60, batch_size=32, optimizer=fm.optim.Adam(lr=1e-2))
    resolution = 80
    ax = plot.decision_boundary(model, X, y, resolution=resolution, padding=0.5)
    assert png_size(ax.figure, tmp_path / "b.png") == expected_size(ax.figure)

    points = ax.collections[-1]
    # the points are X converted to the model's float32: equal to float32 rounding (rtol 1e-7)
    np.testing.assert_allclose(points.get_offsets(), X, rtol=1e-7, atol=0)
    np.testing.assert_array_equal(points.get_array(), y)

    image = ax.images[-1].get_array()
    assert image.shape == (resolution, resolution)
    xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, resolution)
    ys = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, resolution)
    gx, gy = np.meshgrid(xs, ys)
    np.testing.assert_array_equal(image, model.predict(np.column_stack([gx.ravel(), gy.ravel()]))
                                  .reshape(resolution, resolution))
    # orientation: the pixel under each training point shows (nearly always) the model's
    # prediction for that point; a transposed or flipped image would fail this
    left, right, bottom, top = ax.images[-1].get_extent()
    col = ((X[:, 0] - left) / (right - left) * resolution).astype(int).clip(0, resolution - 1)
    row = ((X[:, 1] - bottom) / (top - bottom) * resolution).astype(int).clip(0, resolution - 1)
    assert np.mean(image[row, col] == model.predict(X)) > 0.9  # points near a boundary may differ


def test_regression_surface_is_the_predicted_value():
    X, y = fm.datasets.moons(n_samples=100, seed=1)
    target = X[:, 0] - X[:, 1]
    model = fm.MLP([2, 8, 1], loss="mse", backend=BACKEND, seed=0)
    model.fit(X, target, epochs=5)
    ax = plot.decision_boundary(model, X, target, resolution=20)
    values = ax.images[-1].get_array()
    assert values.dtype.kind == "f" and np.ptp(values) > 0
    np.testing.assert_array_equal(ax.collections[-1].get_array(), target.astype(np.float32))


def test_snapshots_small_multiples_and_model_left_alone(moons_fit, tmp_path):
    model, X, y, _, snapshots, initial = moons_fit
    assert snapshots.epochs == [0, 5, 10, 15, 20]
    for w0, w in zip(snapshots.weights[0], initial):
        np.testing.assert_array_equal(w0, w)
    for w_last, w in zip(snapshots.weights[-1], model.weights):
        np.testing.assert_array_equal(w_last, w)
    own = [w.copy() for w in model.weights]
    fig = plot.boundary_snapshots(model, snapshots, X, y, max_panels=3, cols=3, resolution=30)
    assert png_size(fig, tmp_path / "s.png") == expected_size(fig)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["epoch 0", "epoch 10", "epoch 20"]
    for w, w_after in zip(own, model.weights):
        np.testing.assert_array_equal(w, w_after)  # plotting a snapshot restores the weights
    last = panels[-1].images[-1].get_array()
    first = panels[0].images[-1].get_array()
    np.testing.assert_array_equal(last, plot.decision_boundary(model, X, y, resolution=30).images[-1].get_array())
    assert np.any(first != last)  # the boundary moved during training


def test_animation_has_one_frame_per_snapshot(moons_fit, tmp_path):
    model, X, y, _, snapshots, _ = moons_fit
    path = tmp_path / "boundary.gif"
    animation = plot.animate_boundary(model, snapshots, X, y, path=path, resolution=20, dpi=DPI)
    with Image.open(path) as gif:
        assert gif.n_frames == len(snapshots)
        assert gif.size == expected_size(animation._fig)
    ax = animation._fig.axes[0]
    assert ax.get_title() == "epoch 20"  # the last frame drawn
    final = plot.decision_boundary(model, X, y, resolution=20).images[-1].get_array()
    np.testing.assert_array_equal(ax.images[-1].get_array(), final)


# --- weights, gradients, lr finder -------------------------------------------------------------


def test_first_layer_weights_are_the_reshaped_columns(tmp_path):
    X, y, _, _ = fm.datasets.load_mnist_small()
    model = fm.MLP([784, 12, 10], backend=BACKEND, seed=0)
    model.fit(X[:512], y[:512], epochs=1)
    fig = plot.first_layer_weights(model)
    assert png_size(fig, tmp_path / "w.png") == expected_size(fig)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 12
    for j, ax in enumerate(panels):
        np.testing.assert_array_equal(ax.images[0].get_array(), model.weights[0][:, j].reshape(28, 28))
        low, high = ax.images[0].get_clim()
        assert low == -high == -np.abs(model.weights[0][:, j]).max()
    assert len([ax for ax in plot.first_layer_weights(model, n_units=5).axes if ax.images]) == 5
    with pytest.raises(ValueError, match="image_shape"):
        plot.first_layer_weights(model, image_shape=(20, 20))
    with pytest.raises(ValueError, match="n_units"):
        plot.first_layer_weights(model, n_units=13)


def _hand_gradient_norms(model, X, y):
    """||dL/dW1||, ||dL/dW2|| of a 2-layer tanh network with mse, by hand in float64."""
    w1, b1, w2, b2 = (p.astype(np.float64) for p in model.network.params)
    h = np.tanh(X @ w1 + b1)
    out = h @ w2 + b2
    g_out = 2 * (out - y.reshape(out.shape)) / out.size
    g_w2 = h.T @ g_out
    g_h = g_out @ w2.T * (1 - h ** 2)
    g_w1 = X.T @ g_h
    return np.array([np.linalg.norm(g_w1), np.linalg.norm(g_w2)])


def test_gradient_norms_recorded_and_plotted(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    model = fm.MLP([2, 8, 1], activation="tanh", loss="mse", backend=BACKEND, seed=0)
    expected_start = _hand_gradient_norms(model, X, y)
    recorder, history = plot.record_gradient_norms(model, X, y, epochs=6, probe_size=64, batch_size=8,
                                                   optimizer=fm.optim.SGD(lr=0.05))
    assert history.epochs == 6
    np.testing.assert_array_equal(recorder.epochs, np.arange(7))
    assert recorder.weight_norms.shape == recorder.bias_norms.shape == (7, 2)
    # float32 backprop against float64 by hand: a few float32 ulps on sums of 64 rows
    np.testing.assert_allclose(recorder.weight_norms[0], expected_start, rtol=1e-4)
    np.testing.assert_allclose(recorder.weight_norms[-1], _hand_gradient_norms(model, X, y), rtol=1e-4)
    assert recorder.weight_norms[-1, 1] < recorder.weight_norms[0, 1]  # training shrinks the gradient

    ax = plot.gradient_norms(recorder)
    assert png_size(ax.figure, tmp_path / "g.png") == expected_size(ax.figure)
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log"
    for layer, ln in enumerate(ax.get_lines()):
        np.testing.assert_array_equal(ln.get_xdata(), recorder.epochs)
        np.testing.assert_array_equal(ln.get_ydata(), recorder.weight_norms[:, layer])
    biases_ax = plot.gradient_norms(recorder, biases=True)
    np.testing.assert_array_equal(biases_ax.get_lines()[0].get_ydata(), recorder.bias_norms[:, 0])


def test_gradient_norms_continue_across_fits():
    X, y = fm.datasets.xor(n_samples=40, seed=0)
    model = fm.MLP([2, 4, 2], backend=BACKEND, seed=0)
    recorder = plot.GradientNorms(X[:8], y[:8], every=2)
    model.fit(X, y, epochs=4, callbacks=[recorder])
    model.fit(X, y, epochs=2, callbacks=[recorder])
    np.testing.assert_array_equal(recorder.epochs, [0, 2, 4, 6])


def test_lr_find_plot_shows_the_sweep(tmp_path):
    X, y = fm.datasets.moons(n_samples=200, seed=0)
    result = fm.lr_find(fm.MLP([2, 16, 2], activation="tanh", backend=BACKEND, seed=0), X, y,
                        start_lr=1e-4, end_lr=1e2, num_steps=60)
    ax = plot.lr_find(result)
    assert png_size(ax.figure, tmp_path / "lr.png") == expected_size(ax.figure)
    assert ax.get_xscale() == "log"
    np.testing.assert_array_equal(line(ax, "loss").get_xdata(), result.lrs)
    np.testing.assert_array_equal(line(ax, "loss").get_ydata(), result.losses)
    np.testing.assert_array_equal(line(ax, "smoothed").get_ydata(), result.smoothed)
    suggestion = ax.get_lines()[-1]
    assert list(suggestion.get_xdata()) == [result.suggested_lr] * 2
    assert f"{result.suggested_lr:.1e} for adam" in suggestion.get_label()  # fit's default optimizer
    assert ax.get_title() == "learning-rate range test, adam"


def test_lr_sweep_plot_draws_each_named_run(tmp_path):
    result = fm.explain(example="house")
    ax = plot.lr_sweep(result)
    assert png_size(ax.figure, tmp_path / "sweep.png") == expected_size(ax.figure)
    entries = result.as_dict()["lr_sweep"]["rates"]
    assert len(ax.get_lines()) == len(entries) and ax.get_yscale() == "log"
    for ln, entry in zip(ax.get_lines(), entries):
        assert entry["label"] in ln.get_label() and entry["run_verdict"] in ln.get_label()
        np.testing.assert_array_equal(ln.get_ydata(), entry["run_curve"])
    with pytest.raises(TypeError, match="explanation"):
        plot.lr_sweep({"loss": []})


# --- bad input ---------------------------------------------------------------------------------


def test_bad_input_names_the_argument(moons_fit):
    model, X, y, history, snapshots, _ = moons_fit
    with pytest.raises(TypeError, match="history"):
        plot.history({"loss": [1.0]})
    with pytest.raises(ValueError, match="history is empty"):
        plot.loss_curve(fm.History())
    with pytest.raises(TypeError, match="ax"):
        plot.loss_curve(history, ax="left")
    with pytest.raises(ValueError, match="ax"):
        plot.history(history, ax=[plt.subplots()[1]])  # needs two Axes, got one
    with pytest.raises(ValueError, match="X must have shape"):
        plot.decision_boundary(model, np.zeros((5, 3)), None)
    three_inputs = fm.MLP([3, 4, 2], backend=BACKEND)
    with pytest.raises(ValueError, match="model must take 2 inputs"):
        plot.decision_boundary(three_inputs, X, y)
    with pytest.raises(ValueError, match="y has 3 rows"):
        plot.decision_boundary(model, X, y[:3])
    with pytest.raises(ValueError, match="resolution"):
        plot.decision_boundary(model, X, y, resolution=1)
    with pytest.raises(ValueError, match="weights do not fit"):
        plot.decision_boundary(model, X, y, weights=[np.zeros((3, 3))] * 3, biases=model.biases)
    with pytest.raises(ValueError, match="snapshots is empty"):
        plot.boundary_snapshots(model, plot.WeightSnapshots(), X, y)
    with pytest.raises(TypeError, match="snapshots"):
        plot.animate_boundary(model, [1, 2], X, y)
    with pytest.raises(ValueError, match="every"):
        plot.WeightSnapshots(every=0)
    with pytest.raises(ValueError, match="fps"):
        plot.animate_boundary(model, snapshots, X, y, fps=0)
    with pytest.raises(TypeError, match="recorder"):
        plot.gradient_norms(history)
    with pytest.raises(ValueError, match="recorder is empty"):
        plot.gradient_norms(plot.GradientNorms(X, y))
    with pytest.raises(TypeError, match="result"):
        plot.lr_find(history)


def test_missing_matplotlib_names_the_extra(monkeypatch, moons_fit):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    with pytest.raises(ImportError, match=r"fastmlp\[plot\]"):
        plot.loss_curve(moons_fit[3])


def _env():
    return dict(os.environ, MPLBACKEND="Agg",
                PYTHONPATH=os.pathsep.join(filter(None, [PYTHON_DIR, os.environ.get("PYTHONPATH")])))


def test_import_fastmlp_does_not_import_matplotlib():
    code = "import sys, fastmlp, fastmlp.plot; sys.exit('matplotlib' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr or "matplotlib was imported by import fastmlp.plot"


# --- fastmlp train --plot --------------------------------------------------------------------


def test_cli_train_plot_writes_the_curves(tmp_path):
    path = tmp_path / "out.png"
    # the default data set (the shipped MNIST subset), one epoch
    proc = subprocess.run([sys.executable, "-m", "fastmlp.cli", "train", "--plot", str(path), "--epochs", "1",
                           "--backend", BACKEND, "--quiet"],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"saved plot to {path}" in proc.stdout
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (1000, 400)  # save_history: two 5 x 4 inch panels at 100 dpi
        assert len(np.unique(np.asarray(image.convert("L")))) > 10  # drawn on, not blank


@pytest.mark.parametrize("args, message, code", [
    (["--plot", "{tmp}/no/such/dir/x.png"], "does not exist", 1),
    (["--plot", "{tmp}/x.unknownformat"], "must end in one of", 1),
    (["--plot", "{tmp}/x.png", "--epochs", "0"], "--epochs >= 1", 2),
])
def test_cli_train_plot_bad_target_fails_before_training(tmp_path, args, message, code):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    argv = ["train", "--dataset", "xor", "--epochs", "1", "--backend", BACKEND, "--quiet", *args]
    proc = subprocess.run([sys.executable, "-m", "fastmlp.cli", *argv], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == code
    assert message in proc.stderr
    assert "test accuracy" not in proc.stdout  # nothing trained
