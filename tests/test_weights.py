"""Sample weights and class weights: the oracle's definition, every backend against it, the
training kernels and MLP.fit.

Definition (backends/numpy.py loss_forward_backward): loss = sum_i s_i l_i / sum_i s_i with
s_i = sample_weight[i] * class_weight[label_i], l_i row i's loss.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import Network, OptimizerConfig
from test_train_agreement import assert_networks_agree, make_data, make_network, up_y, upcast
from tolerances import train_rtol

LOSS_CASES = ["mse", "mae", "huber", "binary_cross_entropy", "cross_entropy-labels", "cross_entropy-onehot"]
DTYPES = [np.float32, np.float64]

# Weighted loss vs the float64 oracle on the same (upcast) inputs. The weighted mean adds two
# sums over <= 40 rows and a division to the unweighted loss's work, all backward stable; with
# exp/log in the terms, float64 stays well within 1e-12 (~4500 u) and float32 within 2e-5
# (~340 u32: 40-term sums in float32 give <= 40 u each, the per-row means n_out u more). A wrong
# weight or a missing normalisation changes the loss by O(1) relative.
LOSS_RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def case(rng, loss_case, dtype, batch=37, n_out=4):
    name = loss_case.split("-")[0]
    output = (2 * rng.standard_normal((batch, n_out))).astype(dtype)
    if name == "cross_entropy":
        labels = rng.integers(0, n_out, batch)
        target = labels if loss_case.endswith("labels") else np.eye(n_out, dtype=dtype)[labels]
    elif name == "binary_cross_entropy":
        target = rng.random((batch, n_out)).astype(dtype)
    else:
        target = (output + 1.5 * rng.standard_normal((batch, n_out))).astype(dtype)
    return name, output, target


def weights_for(rng, name, batch, n_out, kind):
    sw = rng.uniform(0.1, 3.0, batch) if kind in ("sample", "both") else None
    cw = rng.uniform(0.2, 2.0, n_out) if kind in ("class", "both") and name == "cross_entropy" else None
    return sw, cw


def up(a):
    return a if a is None or a.dtype.kind in "iu" else a.astype(np.float64)


WEIGHT_CASES = [(loss, kind) for loss in LOSS_CASES for kind in ("sample", "class", "both")
                if kind == "sample" or loss.startswith("cross_entropy")]  # class weights: CE only


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss_case,kind", WEIGHT_CASES, ids=[f"{l}-{k}" for l, k in WEIGHT_CASES])
def test_weighted_loss_vs_oracle(backend, oracle, rng, dtype, kind, loss_case):
    name, output, target = case(rng, loss_case, dtype)
    sw, cw = weights_for(rng, name, *output.shape, kind)
    loss, grad = backend.loss_forward_backward(name, output, target, sample_weight=sw, class_weight=cw)
    ref_loss, ref_grad = oracle.loss_forward_backward(name, up(output), up(target), sample_weight=sw,
                                                      class_weight=cw)
    assert type(loss) is float and grad.dtype == dtype and grad.shape == output.shape
    rtol = LOSS_RTOL[dtype]
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol)
    # the gradient is elementwise given the weights' shares: same rtol, relative to its largest entry
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=rtol * np.abs(ref_grad).max())


@pytest.mark.parametrize("loss_case", LOSS_CASES)
def test_integer_weights_repeat_rows(oracle, rng, loss_case):
    """A sample weight of k is the row repeated k times (an independent statement of the
    weighted mean), for the loss and for the gradient summed over the copies."""
    name, output, target = case(rng, loss_case, np.float64, batch=9)
    counts = rng.integers(1, 4, 9)
    loss, grad = oracle.loss_forward_backward(name, output, target, sample_weight=counts.astype(float))
    rep_loss, rep_grad = oracle.loss_forward_backward(name, np.repeat(output, counts, axis=0),
                                                      np.repeat(target, counts, axis=0))
    folded = np.add.reduceat(rep_grad, np.concatenate([[0], np.cumsum(counts)[:-1]]), axis=0)
    # float64, <= 27 terms summed in two orders: 1e-13 is ~450 u
    np.testing.assert_allclose(loss, rep_loss, rtol=1e-13)
    np.testing.assert_allclose(grad, folded, rtol=1e-13, atol=1e-16)


def test_class_weight_matches_torch(oracle, rng):
    torch = pytest.importorskip("torch")
    output = rng.standard_normal((13, 5))
    labels = rng.integers(0, 5, 13)
    cw = rng.uniform(0.1, 3.0, 5)
    out_t = torch.tensor(output, requires_grad=True)
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor(cw))(out_t, torch.tensor(labels))
    ref.backward()
    loss, grad = oracle.loss_forward_backward("cross_entropy", output, labels, class_weight=cw)
    for target in (labels, np.eye(5)[labels]):  # one-hot rows take their 1's class weight
        loss, grad = oracle.loss_forward_backward("cross_entropy", output, target, class_weight=cw)
        # float64, two summation orders of 13 rows: 1e-13 is ~450 u
        np.testing.assert_allclose(loss, ref.item(), rtol=1e-13)
        np.testing.assert_allclose(grad, out_t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss_case", LOSS_CASES)
def test_uniform_weights_are_no_weights(backend, rng, loss_case):
    name, output, target = case(rng, loss_case, np.float64)
    loss, grad = backend.loss_forward_backward(name, output, target)
    w_loss, w_grad = backend.loss_forward_backward(name, output, target, sample_weight=np.full(37, 2.5))
    # float64, the same terms summed per row first: 1e-13 ~ 450 u
    np.testing.assert_allclose(w_loss, loss, rtol=1e-13)
    np.testing.assert_allclose(w_grad, grad, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("loss_case", LOSS_CASES)
def test_weighted_gradient_vs_finite_differences(oracle, rng, loss_case):
    """float64 central differences of the weighted loss w.r.t. each output, atol 1e-7 / rtol 1e-5:
    h = 1e-6 gives truncation O(h^2) ~ 1e-12 and cancellation O(u/h) ~ 1e-10; mae/huber
    differences are kept > 1e-3 from their kinks."""
    name, output, target = case(rng, loss_case, np.float64, batch=6, n_out=3)
    if name in ("mae", "huber"):
        d = output - target
        d = np.where(np.abs(np.abs(d) - 1) < 1e-2, d + 0.1, d)
        target = output - np.where(np.abs(d) < 1e-2, 0.5, d)
    sw, cw = weights_for(rng, name, 6, 3, "both")
    _, grad = oracle.loss_forward_backward(name, output, target, sw, cw)
    fd = np.empty_like(output)
    for idx in np.ndindex(output.shape):
        plus, minus = output.copy(), output.copy()
        plus[idx] += 1e-6
        minus[idx] -= 1e-6
        fd[idx] = (oracle.loss_forward_backward(name, plus, target, sw, cw)[0]
                   - oracle.loss_forward_backward(name, minus, target, sw, cw)[0]) / 2e-6
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_zero_weights_give_nan(backend):
    out = np.zeros((3, 2))
    loss, grad = backend.loss_forward_backward("mse", out, out + 1, sample_weight=np.zeros(3))
    assert np.isnan(loss) and np.isnan(grad).all()


def test_bad_weights(backend):
    out = np.zeros((3, 2))
    labels = np.array([0, 1, 1])
    with pytest.raises(ValueError, match=r"^sample_weight must be >= 0"):
        backend.loss_forward_backward("mse", out, out, sample_weight=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=r"^sample_weight must be finite"):
        backend.loss_forward_backward("mse", out, out, sample_weight=np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"^sample_weight must have shape \(3,\)"):
        backend.loss_forward_backward("mse", out, out, sample_weight=np.ones(4))
    with pytest.raises(TypeError, match=r"^sample_weight must be a numpy.ndarray"):
        backend.loss_forward_backward("mse", out, out, sample_weight=[1, 1, 1])
    with pytest.raises(TypeError, match=r"^sample_weight must hold real numbers"):
        backend.loss_forward_backward("mse", out, out, sample_weight=np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match=r"^class_weight needs the cross_entropy loss"):
        backend.loss_forward_backward("mse", out, out, class_weight=np.ones(2))
    with pytest.raises(ValueError, match=r"^class_weight must have shape \(2,\)"):
        backend.loss_forward_backward("cross_entropy", out, labels, class_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"^class_weight must be >= 0"):
        backend.loss_forward_backward("cross_entropy", out, labels, class_weight=np.array([1.0, -2.0]))
    with pytest.raises(ValueError, match=r"one-hot"):
        backend.loss_forward_backward("cross_entropy", out, np.full((3, 2), 0.5), class_weight=np.ones(2))


# --- training kernels --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss_case", ["mse", "binary_cross_entropy", "cross_entropy-labels",
                                       "cross_entropy-onehot"])
def test_weighted_epoch_agreement(backend, oracle, dtype, loss_case):
    name = loss_case.split("-")[0]
    net = make_network(loss=name, optimizer=OptimizerConfig("adam", lr=1e-2), dtype=dtype, seed=3)
    if name == "cross_entropy":
        net.class_weight = np.array([0.5, 2.0, 1.25])
    ref = upcast(net)
    X, Y = make_data(loss_case, dtype, seed=4)
    sw = np.random.default_rng(6).uniform(0.0, 2.0, len(X))
    order = np.random.default_rng(5).permutation(len(X))
    rtol = train_rtol(dtype, work=10 * (5 + 21))
    for epoch in range(2):
        got = backend.train_epoch(net, X, Y, order, 5, sample_weight=sw)
        want = oracle.train_epoch(ref, X.astype(np.float64), up_y(Y), order, 5, sample_weight=sw)
        np.testing.assert_allclose(got[0], want[0], rtol=rtol)
        assert got[1] == want[1]
        assert_networks_agree(net, ref, rtol, f"{backend.__name__} {loss_case} weighted epoch {epoch}")
    step = backend.train_step(net, X[:7], Y[:7], sample_weight=sw[:7])
    ref_step = oracle.train_step(ref, X[:7].astype(np.float64), up_y(Y[:7]), sample_weight=sw[:7])
    np.testing.assert_allclose(step[0], ref_step[0], rtol=rtol)
    assert_networks_agree(net, ref, rtol, "weighted step")


def test_epoch_mean_is_weighted_by_batch_weight(backend, oracle):
    """The epoch's loss is sum_batches loss_b * W_b / sum_b W_b (W_b the batch's total weight)."""
    net = make_network(loss="mse", optimizer=OptimizerConfig("sgd", lr=0.05), seed=8)
    by_steps = net.copy()
    X, Y = make_data("mse", np.float64, seed=9)
    sw = np.random.default_rng(10).uniform(0.5, 2.0, len(X))
    order = np.random.default_rng(11).permutation(len(X))
    mean_loss, _ = backend.train_epoch(net, X, Y, order, 6, sample_weight=sw)
    total, weight = 0.0, 0.0
    for i in range(0, len(order), 6):
        rows = order[i:i + 6]
        loss, _ = backend.train_step(by_steps, X[rows], Y[rows], sample_weight=sw[rows])
        total += loss * sw[rows].sum()
        weight += sw[rows].sum()
    np.testing.assert_allclose(mean_loss, total / weight, rtol=1e-12)  # float64, summation order
    assert_networks_agree(net, by_steps, 1e-12, "weighted epoch vs steps")


def test_weights_change_training(backend):
    """Weights reach the update: upweighting half the rows moves the weights differently."""
    net_a = make_network(loss="mse", optimizer=OptimizerConfig("sgd", lr=0.1), seed=12)
    net_b = net_a.copy()
    X, Y = make_data("mse", np.float64, seed=13)
    sw = np.where(np.arange(len(X)) % 2, 5.0, 1.0)
    backend.train_step(net_a, X, Y)
    backend.train_step(net_b, X, Y, sample_weight=sw)
    assert not np.allclose(net_a.weights[0], net_b.weights[0], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_zero_weight_batch_raises_and_leaves_the_network(backend):
    net = make_network(loss="mse", optimizer=OptimizerConfig("sgd", lr=0.1), seed=14)
    before = net.copy()
    X, Y = make_data("mse", np.float64, seed=15)
    with pytest.raises(FloatingPointError, match=r"batch 0"):
        backend.train_step(net, X[:4], Y[:4], sample_weight=np.zeros(4))
    assert_networks_agree(net, before, 0.0, "zero-weight step")
    with pytest.raises(ValueError, match=r"^sample_weight must have shape \(23,\)"):
        backend.train_epoch(net, X, Y, np.arange(23), 5, sample_weight=np.ones(22))
    net.class_weight = np.ones(2)
    with pytest.raises(ValueError, match=r"class_weight needs the cross_entropy loss"):
        backend.train_step(net, X[:4], Y[:4])


# --- MLP.fit -----------------------------------------------------------------------------------


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(np.int64)  # imbalanced: about 20 % class 1
    X = rng.standard_normal((n, 2)) + 1.5 * y[:, None]
    return X.astype(np.float32), y


def test_balanced_class_weight_is_sklearns():
    from sklearn.utils.class_weight import compute_class_weight

    X, y = blobs()
    model = fm.MLP([2, 8, 3], backend="numpy", dtype="float64")  # class 2 never occurs
    model.fit(X, y, epochs=1, class_weight="balanced")
    want = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    np.testing.assert_allclose(model.network.class_weight[:2], want, rtol=1e-15)
    assert model.network.class_weight[2] == 1.0


def test_fit_class_weight_forms_agree():
    X, y = blobs()
    results = []
    for cw in ({1: 4.0}, np.array([1.0, 4.0])):
        model = fm.MLP([2, 8, 2], backend="numpy", dtype="float64", seed=1)
        history = model.fit(X, y, epochs=2, batch_size=16, class_weight=cw)
        results.append((history.loss, model.weights[0].copy()))
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])


def test_fit_with_class_weight_raises_minority_recall(backend):
    X, y = blobs(400, seed=2)
    recalls = []
    for cw in (None, "balanced"):
        model = fm.MLP([2, 8, 2], backend=backend.__name__.rsplit(".", 1)[-1], seed=3)
        model.fit(X, y, epochs=5, batch_size=16, optimizer=fm.optim.Adam(lr=1e-2), class_weight=cw)
        recalls.append(np.mean(model.predict(X[y == 1]) == 1))
    assert recalls[1] > recalls[0]


def test_fit_sample_weight_matches_kernel_epoch():
    """fit hands sample_weight to train_epoch: the History's loss is that weighted mean."""
    X, y = blobs()
    sw = np.random.default_rng(4).uniform(0.5, 2.0, len(X))
    model = fm.MLP([2, 8, 2], backend="numpy", dtype="float64", seed=5)
    twin = fm.MLP([2, 8, 2], backend="numpy", dtype="float64", seed=5)
    history = model.fit(X, y, epochs=1, batch_size=16, sample_weight=sw, shuffle=False,
                        optimizer="sgd")
    twin._set_optimizer("sgd")
    want, _ = twin.backend.train_epoch(twin.network, X.astype(np.float64), y, np.arange(len(X)), 16,
                                       sample_weight=sw)
    assert history.loss[0] == want


def test_progress_bar_loss_is_weighted_alike(capsys):
    X, y = blobs()
    sw = np.random.default_rng(6).uniform(0.5, 2.0, len(X))
    a = fm.MLP([2, 8, 2], backend="numpy", dtype="float64", seed=7)
    b = fm.MLP([2, 8, 2], backend="numpy", dtype="float64", seed=7)
    la = a.fit(X, y, epochs=1, sample_weight=sw, class_weight="balanced").loss
    lb = b.fit(X, y, epochs=1, sample_weight=sw, class_weight="balanced", verbose=1).loss
    np.testing.assert_allclose(la, lb, rtol=1e-12)  # the bar sums chunks in another order


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(sample_weight=np.ones(5)), ValueError, r"^sample_weight must have shape \(120,\)"),
    (dict(sample_weight=-np.ones(120)), ValueError, r"^sample_weight must be >= 0"),
    (dict(sample_weight=np.zeros(120)), ValueError, r"every row weight 0"),
    (dict(sample_weight=np.full(120, np.nan)), ValueError, r"NaN"),
    (dict(class_weight="auto"), ValueError, r"^class_weight must be 'balanced'"),
    (dict(class_weight={5: 1.0}), ValueError, r"^class_weight keys must be labels in \[0, 2\)"),
    (dict(class_weight=np.ones(3)), ValueError, r"^class_weight must have shape \(2,\)"),
    (dict(class_weight={0: -1.0}), ValueError, r"^class_weight must be >= 0"),
    (dict(class_weight={0: 0.0, 1: 0.0}), ValueError, r"every row weight 0"),
])
def test_fit_rejects_bad_weights(kwargs, error, match):
    X, y = blobs()
    model = fm.MLP([2, 4, 2], backend="numpy")
    with pytest.raises(error, match=match):
        model.fit(X, y, epochs=1, **kwargs)


def test_class_weight_needs_cross_entropy():
    X, y = blobs()
    model = fm.MLP([2, 4, 1], loss="mse", backend="numpy")
    with pytest.raises(ValueError, match=r"class_weight needs the cross_entropy loss"):
        model.fit(X, y.astype(float), epochs=1, class_weight="balanced")


def test_class_weight_is_saved(tmp_path):
    X, y = blobs()
    model = fm.MLP([2, 4, 2], backend="numpy", dtype="float64")
    model.fit(X, y, epochs=1, class_weight={1: 3.0})
    model.save(tmp_path / "m.npz")
    loaded = fm.MLP.load(tmp_path / "m.npz", backend="numpy")
    assert np.array_equal(loaded.network.class_weight, [1.0, 3.0])
