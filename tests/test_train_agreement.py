"""train_step / train_epoch of every backend against the NumPy oracle run in float64.

A small network (5-7-6-3 by default, hidden tanh then relu) is copied per backend; each copy
trains on the same batches; weights, biases, optimizer slots, the step counter and the returned
(loss, n_correct) must agree. float32 runs are compared against the float64 oracle started from
the same (upcast) float32 values. Tolerances: tolerances.train_rtol (float64: 1e3·u·work, work =
steps × (batch + Σ widths); float32: 1e-4), relative to each array's largest |value|.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import Network, OptimizerConfig
from tolerances import train_rtol

DTYPES = [np.float32, np.float64]
N_ROWS, SIZES = 23, (5, 7, 6, 3)

OPTIMIZERS = {
    "sgd": OptimizerConfig("sgd", lr=0.1),
    "sgd_nesterov_wd": OptimizerConfig("sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": OptimizerConfig("adam", lr=1e-2),
    "adamw": OptimizerConfig("adamw", lr=1e-2, weight_decay=0.1),
    "rmsprop_momentum": OptimizerConfig("rmsprop", lr=1e-2, momentum=0.5, weight_decay=0.01),
    # dampening from update 2 on, and clipping that engages (norms here are 0.3 to 5: most steps clip)
    "sgd_dampening_clip": OptimizerConfig("sgd", lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01,
                                          clip_norm=0.5),
    "rmsprop_centered": OptimizerConfig("rmsprop", lr=1e-2, momentum=0.5, weight_decay=0.01, centered=True),
    "adamw_clip": OptimizerConfig("adamw", lr=1e-2, weight_decay=0.1, clip_norm=0.2),
}
LOSSES = ["mse", "mae", "huber", "cross_entropy-labels", "cross_entropy-onehot", "binary_cross_entropy"]


def make_network(sizes=SIZES, activations=("tanh", "relu", "identity"), loss="mse",
                 optimizer=None, dtype=np.float64, seed=0) -> Network:
    """He-style random weights, small random biases; the last activation must be identity."""
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [(0.1 * rng.standard_normal(o)).astype(dtype) for o in sizes[1:]]
    return Network(weights, biases, list(activations), loss,
                   optimizer=OptimizerConfig(**vars(optimizer)) if optimizer else OptimizerConfig())


def make_data(loss_case, dtype, seed=1, n_rows=N_ROWS):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, SIZES[0])).astype(dtype)
    n_out = SIZES[-1]
    if loss_case.startswith("cross_entropy"):
        labels = rng.integers(0, n_out, n_rows)
        Y = labels if loss_case.endswith("labels") else np.eye(n_out, dtype=dtype)[labels]
    elif loss_case == "binary_cross_entropy":
        Y = rng.integers(0, 2, (n_rows, n_out)).astype(dtype)
    else:
        Y = rng.standard_normal((n_rows, n_out)).astype(dtype)
    return X, Y


def upcast(net: Network) -> Network:
    ref = net.copy()
    ref.weights = [w.astype(np.float64) for w in ref.weights]
    ref.biases = [b.astype(np.float64) for b in ref.biases]
    ref.slots_m = [s.astype(np.float64) for s in ref.slots_m]
    ref.slots_v = [s.astype(np.float64) for s in ref.slots_v]
    ref.slots_g = [s.astype(np.float64) for s in ref.slots_g]
    return ref


def up_y(Y):
    return Y if Y.dtype.kind in "iu" else Y.astype(np.float64)


def assert_networks_agree(got: Network, ref: Network, rtol: float, tag: str):
    assert got.step == ref.step, f"{tag}: step {got.step} != oracle {ref.step}"
    groups = [("weights", got.weights, ref.weights), ("biases", got.biases, ref.biases),
              ("slots_m", got.slots_m, ref.slots_m), ("slots_v", got.slots_v, ref.slots_v),
              ("slots_g", got.slots_g, ref.slots_g)]
    assert len(got.slots_g) == len(ref.slots_g), f"{tag}: slots_g count"
    for label, arrays, refs in groups:
        for i, (g, r) in enumerate(zip(arrays, refs)):
            assert g.dtype == got.dtype and g.shape == r.shape
            scale = float(np.abs(r).max()) if r.size else 0.0
            np.testing.assert_allclose(g, r, rtol=rtol, atol=rtol * scale, err_msg=f"{tag}: {label}[{i}]")


def loss_name(case):
    return case.split("-")[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("loss_case", LOSSES)
def test_train_step_agreement(backend, oracle, dtype, opt, loss_case):
    net = make_network(loss=loss_name(loss_case), optimizer=OPTIMIZERS[opt], dtype=dtype)
    ref = upcast(net)
    X, Y = make_data(loss_case, dtype)
    batches = [slice(0, 8), slice(8, 16), slice(16, 23)]  # the last one partial (7 rows)
    rtol = train_rtol(dtype, work=len(batches) * (8 + sum(SIZES)))
    for k, rows in enumerate(batches):
        loss, correct = backend.train_step(net, X[rows], Y[rows])
        ref_loss, ref_correct = oracle.train_step(ref, X[rows].astype(np.float64), up_y(Y[rows]))
        tag = f"{backend.__name__} {np.dtype(dtype).name} {opt} {loss_case} step {k + 1}"
        assert type(loss) is float and type(correct) is int, f"{tag}: returns (float, int)"
        np.testing.assert_allclose(loss, ref_loss, rtol=rtol, err_msg=tag + " loss")
        # n_correct compares argmax/sign decisions: equal unless an output sits within rounding
        # of a tie, which these seeded data do not produce
        assert correct == ref_correct, f"{tag}: n_correct {correct} != oracle {ref_correct}"
        assert_networks_agree(net, ref, rtol, tag)
    assert net.step == 3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("loss_case", LOSSES)
def test_train_epoch_agreement(backend, oracle, dtype, opt, loss_case):
    """Two epochs over a shuffled order, batch 5 over 23 rows: 4 full batches and one of 3."""
    net = make_network(loss=loss_name(loss_case), optimizer=OPTIMIZERS[opt], dtype=dtype, seed=3)
    ref = upcast(net)
    X, Y = make_data(loss_case, dtype, seed=4)
    rng = np.random.default_rng(5)
    rtol = train_rtol(dtype, work=10 * (5 + sum(SIZES)))
    for epoch in range(2):
        order = rng.permutation(N_ROWS)
        mean_loss, correct = backend.train_epoch(net, X, Y, order, 5)
        ref_loss, ref_correct = oracle.train_epoch(ref, X.astype(np.float64), up_y(Y), order, 5)
        tag = f"{backend.__name__} {np.dtype(dtype).name} {opt} {loss_case} epoch {epoch + 1}"
        assert type(mean_loss) is float and type(correct) is int
        np.testing.assert_allclose(mean_loss, ref_loss, rtol=rtol, err_msg=tag + " mean loss")
        assert correct == ref_correct, f"{tag}: n_correct {correct} != oracle {ref_correct}"
        assert_networks_agree(net, ref, rtol, tag)
    assert net.step == 10


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", [("sigmoid", "gelu"), ("leaky_relu", "softmax"), ("identity", "tanh")])
def test_train_epoch_other_activations(backend, oracle, dtype, hidden):
    net = make_network(activations=(*hidden, "identity"), loss="cross_entropy",
                       optimizer=OPTIMIZERS["adam"], dtype=dtype, seed=7)
    ref = upcast(net)
    X, Y = make_data("cross_entropy-labels", dtype, seed=8)
    X = np.asfortranarray(X)  # any strides for X
    Y = Y.astype(np.int32)  # labels of another integer dtype
    order = np.random.default_rng(9).permutation(N_ROWS)
    got = backend.train_epoch(net, X, Y, order, 4)
    want = oracle.train_epoch(ref, X.astype(np.float64), Y, order, 4)
    rtol = train_rtol(dtype, work=6 * (4 + sum(SIZES)))
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert got[1] == want[1]
    assert_networks_agree(net, ref, rtol, f"{backend.__name__} {hidden}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_epoch_equals_its_steps(backend, dtype):
    """train_epoch is train_step over X[order[i:i+bs]]: same weights, loss weighted by batch size.
    Repeated indices and a strided X are allowed."""
    net = make_network(loss="cross_entropy", optimizer=OPTIMIZERS["sgd_nesterov_wd"], dtype=dtype, seed=11)
    X, Y = make_data("cross_entropy-labels", dtype, seed=12)
    X = np.asfortranarray(X)
    order = np.array([3, 3, 22, 0, 7, 7, 7, 1, 15, 2, 9])
    by_steps = net.copy()
    mean_loss, correct = backend.train_epoch(net, X, Y, order, 4)
    total, total_correct = 0.0, 0
    for i in range(0, len(order), 4):
        rows = order[i:i + 4]
        loss, c = backend.train_step(by_steps, X[rows], Y[rows])
        total += loss * len(rows)
        total_correct += c
    rtol = 1e-5 if dtype == np.float32 else 1e-12  # same kernels, summation order of the mean only
    np.testing.assert_allclose(mean_loss, total / len(order), rtol=rtol)
    assert correct == total_correct
    assert_networks_agree(net, by_steps, rtol, "epoch vs steps")


@pytest.mark.parametrize("batch_size", [1, 23, 24, 1000])
def test_batch_size_extremes(backend, oracle, batch_size):
    """batch_size 1 (a step per row) and >= the data (one batch)."""
    net = make_network(loss="huber", optimizer=OPTIMIZERS["rmsprop_momentum"], dtype=np.float64, seed=13)
    ref = net.copy()
    X, Y = make_data("huber", np.float64, seed=14)
    order = np.random.default_rng(15).permutation(N_ROWS)
    got = backend.train_epoch(net, X, Y, order, batch_size)
    want = oracle.train_epoch(ref, X, Y, order, batch_size)
    n_steps = -(-N_ROWS // batch_size)
    rtol = train_rtol(np.float64, work=n_steps * (min(batch_size, N_ROWS) + sum(SIZES)))
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert net.step == n_steps
    assert_networks_agree(net, ref, rtol, f"batch_size {batch_size}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_epoch_changes_nothing(backend, dtype):
    net = make_network(loss="mse", optimizer=OPTIMIZERS["adam"], dtype=dtype)
    before = net.copy()
    X, Y = make_data("mse", dtype)
    mean_loss, correct = backend.train_epoch(net, X, Y, np.array([], dtype=np.int64), 5)
    assert (mean_loss, correct) == (0.0, 0)
    assert_networks_agree(net, before, 0.0, "empty epoch")


def test_backends_agree_on_a_real_epoch(backend, oracle):
    """A wider float32 network over 256 rows (GEMMs cross the 6/8-row register tiles) stays
    within 1e-4 of the float64 oracle after one epoch of 8 Adam steps."""
    sizes = (20, 64, 33, 10)
    rng = np.random.default_rng(21)
    net = make_network(sizes, ("relu", "tanh", "identity"), "cross_entropy", OPTIMIZERS["adam"], np.float32, 21)
    ref = upcast(net)
    X = rng.standard_normal((256, 20)).astype(np.float32)
    Y = rng.integers(0, 10, 256)
    order = rng.permutation(256)
    got = backend.train_epoch(net, X, Y, order, 32)
    want = oracle.train_epoch(ref, X.astype(np.float64), Y, order, 32)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4)
    assert got[1] == want[1]
    assert_networks_agree(net, ref, 1e-4, f"{backend.__name__} 20-64-33-10")
