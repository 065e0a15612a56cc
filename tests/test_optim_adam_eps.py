"""Adam's ``eps_on_raw_moment``: scikit-learn's epsilon placement, ``lr sqrt(1 - b2^t) / (1 -
b1^t) * m / (sqrt(v) + eps)``, next to PyTorch's default. The oracle is held against
scikit-learn's own AdamOptimizer; every backend against the oracle, bitwise (same statements in
the same order, the step size rounded once from float64) in the kernel, and to rounding in
whole epochs (whose matrix products sum in each backend's order); the option round-trips through saved models and files without it still load."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import OptimizerConfig
from test_train_agreement import SIZES, assert_networks_agree, make_data, make_network
from tolerances import train_rtol

DTYPES = [np.float32, np.float64]


def test_oracle_matches_sklearns_adam(oracle, rng):
    stochastic = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    p0 = rng.standard_normal(11)
    theirs = [p0.copy()]
    opt = stochastic.AdamOptimizer(theirs, learning_rate_init=0.01, epsilon=1e-3)
    p, m, v = p0.copy(), np.zeros(11), np.zeros(11)
    for step in range(1, 8):
        g = rng.standard_normal(11) * 1e-2  # small gradients: eps weighs in, the placements differ
        opt.update_params(theirs, [g.copy()])
        oracle.adam_step(p, g, m, v, step=step, lr=0.01, eps=1e-3, eps_on_raw_moment=True)
        # float64, the same ~10 roundings per step, grouped differently (lr m / d vs lr (m / d))
        np.testing.assert_allclose(p, theirs[0], rtol=1e-13, atol=1e-15, err_msg=f"step {step}")
    torch_form = p0.copy()
    m, v = np.zeros(11), np.zeros(11)
    oracle.adam_step(torch_form, g, m, v, step=1, lr=0.01, eps=1e-3)
    first = p0.copy()
    m, v = np.zeros(11), np.zeros(11)
    oracle.adam_step(first, g, m, v, step=1, lr=0.01, eps=1e-3, eps_on_raw_moment=True)
    assert np.abs(torch_form - first).max() > 1e-4, "the two placements differ visibly"


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_is_the_oracle_bitwise(backend, oracle, rng, dtype, decoupled):
    p = rng.standard_normal(1001).astype(dtype)  # odd: vector lanes and the scalar tail
    state = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
    ref = [a.copy() for a in state]
    for step in range(1, 6):
        g = (rng.standard_normal(p.shape) * 1e-3).astype(dtype)
        hyper = dict(step=step, lr=0.01, eps=1e-4, weight_decay=0.01, decoupled=decoupled,
                     eps_on_raw_moment=True)
        backend.adam_step(state[0], g, state[1], state[2], **hyper)
        oracle.adam_step(ref[0], g, ref[1], ref[2], **hyper)
        for got, want in zip(state, ref):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_epochs_agree_with_the_oracle(backend, oracle, name):
    """Whole epochs with the option, an L2 penalty and sample weights; also the epoch's
    row-weighted loss and its L2 part (what the scikit-learn engine reports) agree."""
    config = OptimizerConfig(name, lr=1e-2, eps=1e-3, weight_decay=0.01, eps_on_raw_moment=True)
    ours, ref = make_network(optimizer=config, seed=2), make_network(optimizer=config, seed=2)
    ours.l2 = ref.l2 = 0.1
    X, Y = make_data("mse", np.float64, seed=3)
    sw = np.random.default_rng(5).uniform(0.5, 2.0, len(X))
    order = np.random.default_rng(4).permutation(len(X))
    n_steps = 2 * -(-len(X) // 16)
    rtol = train_rtol(np.float64, work=n_steps * (16 + sum(SIZES)))
    for _ in range(2):
        got = backend.train_epoch(ours, X, Y, order, 16, sw)
        want = oracle.train_epoch(ref, X, Y, order, 16, sw)
        for field in ("mean_loss", "rows_mean_loss", "rows_mean_penalty"):
            np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=rtol,
                                       err_msg=field)
        assert 0 < want.rows_mean_penalty < want.rows_mean_loss != want.mean_loss
    assert_networks_agree(ours, ref, rtol, f"{name} eps_on_raw_moment")
    torch_form = make_network(optimizer=OptimizerConfig(name, lr=1e-2, eps=1e-3), seed=2)
    torch_form.l2 = 0.1
    for _ in range(2):
        oracle.train_epoch(torch_form, X, Y, order, 16, sw)
    assert np.abs(torch_form.weights[0] - ref.weights[0]).max() > 1e3 * rtol


def test_bad_flag_is_named(backend):
    p = np.zeros(3)
    with pytest.raises(TypeError, match=r"^eps_on_raw_moment must be a bool, got int"):
        backend.adam_step(p, p.copy(), p.copy(), p.copy(), step=1, lr=0.1, eps_on_raw_moment=1)
    with pytest.raises(TypeError, match=r"^eps_on_raw_moment must be a bool, got str"):
        fm.optim.Adam(eps_on_raw_moment="yes")


def test_public_optimizers_save_the_option_and_old_files_load(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((64, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    for opt in (fm.optim.Adam(eps_on_raw_moment=True), fm.optim.AdamW(eps_on_raw_moment=True)):
        assert "eps_on_raw_moment=True" in repr(opt)
        model = fm.MLP([3, 5, 2], backend="numpy", seed=1, dtype="float64")
        model.fit(X, y, epochs=2, batch_size=16, optimizer=opt)
        model.save(tmp_path / "m.npz")
        twin = fm.MLP.load(tmp_path / "m.npz", backend="numpy")
        assert twin.network.optimizer.eps_on_raw_moment is True
    # a file written before the option: its optimizer metadata has no such field
    model = fm.MLP([3, 5, 2], backend="numpy", seed=1, dtype="float64")
    model.fit(X, y, epochs=1, batch_size=16, optimizer=fm.optim.Adam())
    model.save(tmp_path / "new.npz")
    with zipfile.ZipFile(tmp_path / "new.npz") as src, zipfile.ZipFile(tmp_path / "old.npz", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "meta.npy":
                data = _without_field(data)
            dst.writestr(info, data)
    old = fm.MLP.load(tmp_path / "old.npz", backend="numpy")
    assert old.network.optimizer.eps_on_raw_moment is False


def _without_field(meta_npy: bytes) -> bytes:
    """The metadata member (a 0-d unicode array of JSON) without "eps_on_raw_moment" in the
    optimizer's settings."""
    doc = json.loads(str(np.load(io.BytesIO(meta_npy))[()]))
    assert "eps_on_raw_moment" in doc["optimizer"]
    del doc["optimizer"]["eps_on_raw_moment"]
    out = io.BytesIO()
    np.save(out, np.array(json.dumps(doc)))
    return out.getvalue()
