"""loss_gradient: the full-batch loss and gradient, every backend against the float64 oracle,
against PyTorch's autograd, and in the C++ backend's blocks of rows.

Tolerances: the gradient of one batch is the gradient train_step takes, whose error is
tolerances.train_rtol for one step (float64: 1e3·u·(rows + Σ widths); float32: 1e-4), relative
to each array's largest |value|; a wrong formula, a dropped block or a block counted twice is
off by a whole block's share (>= 1e-3 here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastmlp.backends import Network, get_backend
from fastmlp.errors import NonFiniteLossError
from tolerances import train_rtol

SIZES = (7, 11, 6, 4)
LOSSES = ["mse", "mae", "huber", "poisson", "cross_entropy-labels", "cross_entropy-onehot",
          "binary_cross_entropy"]


def make_network(loss, dtype=np.float64, l2=0.0, sizes=SIZES, seed=0, **kw):
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((i, o)) * np.sqrt(1.0 / i)).astype(dtype)
               for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [(0.1 * rng.standard_normal(o)).astype(dtype) for o in sizes[1:]]
    return Network(weights, biases, ["tanh", "relu", "identity"][-len(weights):], loss, l2=l2, **kw)


def make_data(loss_case, n_rows, dtype=np.float64, seed=1, n_in=SIZES[0], n_out=SIZES[-1]):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_in)).astype(dtype)
    if loss_case.startswith("cross_entropy"):
        labels = rng.integers(0, n_out, n_rows)
        return X, labels if loss_case.endswith("labels") else np.eye(n_out, dtype=dtype)[labels]
    if loss_case == "binary_cross_entropy":
        return X, rng.integers(0, 2, (n_rows, n_out)).astype(dtype)
    if loss_case == "poisson":
        return X, rng.poisson(2.0, (n_rows, n_out)).astype(dtype)
    return X, rng.standard_normal((n_rows, n_out)).astype(dtype)


def upcast(net):
    """The same network in float64 (no optimizer state: loss_gradient reads none)."""
    cw = None if net.class_weight is None else np.asarray(net.class_weight, np.float64)
    return Network([w.astype(np.float64) for w in net.weights],
                   [b.astype(np.float64) for b in net.biases], list(net.activations), net.loss,
                   l2=net.l2, class_weight=cw)


def up(a):
    return None if a is None else (a if a.dtype.kind in "iu" else a.astype(np.float64))


def assert_gradients_agree(got, want, rtol, tag):
    np.testing.assert_allclose(got.loss, want.loss, rtol=rtol, err_msg=f"{tag}: loss")
    np.testing.assert_allclose(got.penalty, want.penalty, rtol=rtol, atol=1e-300,
                               err_msg=f"{tag}: penalty")
    assert len(got.grads) == len(want.grads)
    for i, (g, w) in enumerate(zip(got.grads, want.grads)):
        assert g.shape == w.shape, f"{tag}: grads[{i}] shape"
        scale = float(np.abs(w).max())
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale, err_msg=f"{tag}: grads[{i}]")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss_case", LOSSES)
@pytest.mark.parametrize("n_rows", [1, 2, 13, 257])
def test_every_backend_gives_the_oracles_loss_and_gradient(backend, oracle, dtype, loss_case,
                                                          n_rows):
    loss = loss_case.split("-")[0]
    net = make_network(loss, dtype, l2=0.3)
    X, Y = make_data(loss_case, n_rows, dtype)
    sw = np.random.default_rng(2).uniform(0.2, 2.0, n_rows).astype(dtype)
    for weights in (None, sw):
        got = backend.loss_gradient(net, X, Y, weights)
        want = oracle.loss_gradient(upcast(net), X.astype(np.float64), up(Y), up(weights))
        assert all(g.dtype == dtype for g in got.grads)
        rtol = train_rtol(dtype, work=n_rows + sum(SIZES))
        assert_gradients_agree(got, want, rtol, f"{backend.__name__} {loss_case} {n_rows}")


def test_gradient_is_what_train_step_descends(backend):
    """Plain SGD with rate 1 moves each parameter by minus the gradient: train_step's update
    is w - g, so (w - w') is loss_gradient's g to a rounding of w."""
    from fastmlp.backends import OptimizerConfig

    net = make_network("cross_entropy", l2=0.1, optimizer=OptimizerConfig("sgd", lr=1.0))
    X, y = make_data("cross_entropy-labels", 31)
    g = backend.loss_gradient(net, X, y)
    before = [p.copy() for p in net.params]
    loss, _ = backend.train_step(net, X, y)
    assert loss == pytest.approx(g.loss, rel=1e-14)
    for b, p, grad in zip(before, net.params, g.grads):
        np.testing.assert_allclose(b - p, grad, rtol=0, atol=4 * np.finfo(np.float64).eps * np.abs(b).max())


def test_gradient_matches_torch_autograd():
    """The weighted cross-entropy, class weights and L2 penalty through PyTorch's autograd in
    float64: same loss and gradient (1e-12 relative: a few hundred rows of float64 sums)."""
    torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install torch)")
    net = make_network("cross_entropy", l2=0.05, class_weight=np.array([1.0, 2.0, 0.5, 1.5]))
    X, y = make_data("cross_entropy-labels", 300)
    sw = np.random.default_rng(4).uniform(0.1, 3.0, 300)
    params = [torch.tensor(p, requires_grad=True) for p in net.params]
    h = torch.tensor(X)
    for i, act in enumerate((torch.tanh, torch.relu, None)):
        h = h @ params[2 * i] + params[2 * i + 1]
        h = act(h) if act else h
    rows = torch.nn.functional.cross_entropy(h, torch.tensor(y), reduction="none")
    row_weight = torch.tensor(sw) * torch.tensor(net.class_weight)[torch.tensor(y)]
    total = row_weight.sum()
    loss = (rows * row_weight).sum() / total
    loss = loss + 0.5 * net.l2 * sum((w * w).sum() for w in params[0::2]) / total
    loss.backward()
    for name in ("cpp", "numba", "numpy"):
        try:
            backend = get_backend(name)
        except ImportError:
            continue
        got = backend.loss_gradient(net, X, y, sw)
        assert got.loss == pytest.approx(loss.item(), rel=1e-12), name
        for i, (g, p) in enumerate(zip(got.grads, params)):
            want = p.grad.numpy()
            np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12 * np.abs(want).max(),
                                       err_msg=f"{name} grads[{i}]")


def test_out_receives_the_gradient_and_nothing_else_changes(backend):
    net = make_network("mse", l2=0.2)
    X, Y = make_data("mse", 40)
    before = [p.copy() for p in net.params]
    step = net.step
    fresh = backend.loss_gradient(net, X, Y)
    out = [np.full_like(p, np.nan) for p in net.params]  # poison: every element must be written
    again = backend.loss_gradient(net, X, Y, out=out)
    assert all(a is b for a, b in zip(again.grads, out))
    for a, b in zip(again.grads, fresh.grads):
        np.testing.assert_array_equal(a, b)
    assert again.loss == fresh.loss and again.penalty == fresh.penalty
    for b, p in zip(before, net.params):
        np.testing.assert_array_equal(b, p)
    assert net.step == step


def test_dropout_is_not_applied(backend):
    """The loss of the network as it predicts: a network with dropout gives the same numbers."""
    plain = make_network("cross_entropy")
    dropping = make_network("cross_entropy", dropout=[0.5, 0.5, 0.0], seed=0)
    X, y = make_data("cross_entropy-labels", 20)
    a, b = backend.loss_gradient(plain, X, y), backend.loss_gradient(dropping, X, y)
    assert a.loss == b.loss
    for g, h in zip(a.grads, b.grads):
        np.testing.assert_array_equal(g, h)


def test_bad_arguments_are_named(backend):
    net = make_network("mse")
    X, Y = make_data("mse", 10)
    with pytest.raises(ValueError, match="features"):
        backend.loss_gradient(net, X[:, :3], Y)
    with pytest.raises(TypeError, match="out must be a list"):
        backend.loss_gradient(net, X, Y, out=np.empty(3))
    with pytest.raises(ValueError, match="one array per parameter"):
        backend.loss_gradient(net, X, Y, out=[np.empty_like(p) for p in net.params][:-1])
    wrong = [np.empty_like(p) for p in net.params]
    wrong[2] = np.empty((3, 3))
    with pytest.raises(ValueError, match=r"out\[2\] must have shape"):
        backend.loss_gradient(net, X, Y, out=wrong)
    aliased = [np.empty_like(p) for p in net.params]
    aliased[0] = net.weights[0]
    with pytest.raises(ValueError, match=r"out\[0\] must not overlap input net.params\[0\]"):
        backend.loss_gradient(net, X, Y, out=aliased)
    with pytest.raises(ValueError, match="output must not be empty"):
        backend.loss_gradient(net, X[:0], Y[:0])


def test_a_non_finite_loss_raises(backend):
    net = make_network("mse")
    X, Y = make_data("mse", 10)
    Y[3, 1] = np.inf
    with pytest.raises(NonFiniteLossError):
        backend.loss_gradient(net, X, Y)
    with pytest.raises(NonFiniteLossError):  # every weight 0: the weighted mean's 0 / 0
        backend.loss_gradient(net, X, np.zeros_like(Y), np.zeros(10))


BLOCKS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from fastmlp import _core
    from fastmlp.backends import cpp as cpp_backend, get_backend
    from test_loss_gradient import make_network, make_data, upcast, up
    cpp, oracle = get_backend("cpp"), get_backend("numpy")
    # 1,000 rows: blocks of 256 (the least) under a 64 KiB L2, the last one 232 rows; rows
    # 256-511 of weight 0 make a whole block that adds nothing
    for loss_case, dtype in (("cross_entropy-labels", np.float64), ("mse", np.float64),
                             ("binary_cross_entropy", np.float64), ("cross_entropy-labels", np.float32)):
        net = make_network(loss_case.split("-")[0], dtype, l2=0.1, sizes=(9, 40, 30, 4))
        X, Y = make_data(loss_case, 1000, dtype, n_in=9)
        sw = np.random.default_rng(5).uniform(0.5, 2.0, 1000).astype(dtype)
        sw[256:512] = 0.0
        for weights in (None, sw):
            got = cpp.loss_gradient(net, X, Y, weights)
            want = oracle.loss_gradient(upcast(net), X.astype(np.float64), up(Y), up(weights))
            raw = _core.loss_gradient(  # the core's own result says how many blocks ran
                **cpp_backend._network_args(net, np.zeros(1, np.int64)), X=X, Y=Y,
                sample_weight=np.empty(0, dtype) if weights is None else weights,
                grads=[np.empty_like(p) for p in net.params])
            print(json.dumps([loss_case, np.dtype(dtype).name, raw.blocks, got.loss, want.loss, got.penalty,
                              want.penalty, [float(np.abs(g - w).max() / np.abs(w).max())
                                             for g, w in zip(got.grads, want.grads)]]))
""")


def test_cpp_blocks_of_rows_add_up_to_the_whole(tmp_path):
    """With FASTMLP_CACHES saying L2 is 64 KiB, the C++ backend runs 1,000 rows in blocks of
    256 (fresh process: the caches are read once); the blocks' sums divided by the total
    weight give the oracle's one-batch numbers, a zero-weight block included: float64 to a
    few ulps of the gauge (1e-13), float32 within train_rtol's 1e-4 (sums of 256 rows in
    float32: gamma_256 * u32 ~ 1.5e-5 of the gauge at worst)."""
    pytest.importorskip("fastmlp._core", reason="the C++ core is not built")
    tests_dir = os.path.dirname(__file__)
    env = dict(os.environ, FASTMLP_CACHES="32K,64K,1M")
    done = subprocess.run([sys.executable, "-c", BLOCKS_SCRIPT, tests_dir], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 8
    blocks = []
    for line in lines:
        case, dtype, n_blocks, got, want, got_pen, want_pen, errors = json.loads(line)
        blocks.append(n_blocks)
        rtol = 1e-13 if dtype == "float64" else train_rtol(np.float32, 0)
        assert got == pytest.approx(want, rel=rtol), case
        assert got_pen == pytest.approx(want_pen, rel=rtol), case
        assert max(errors) < rtol, (case, dtype, errors)
    assert blocks == [4, 3] * 4, "1,000 rows in blocks of 256 (one of them all weight 0)"


def test_cpp_gives_the_same_bits_at_any_thread_count():
    """The C++ blocks' GEMMs split over threads by whole tiles and sum each element alike, and
    the loss and the block sums run on one thread: 1, 2 and 3 threads give the same bits."""
    cpp = get_backend("cpp")
    net = make_network("cross_entropy", l2=0.2, sizes=(30, 200, 150, 4))
    X, y = make_data("cross_entropy-labels", 3000, n_in=30, n_out=4)
    sw = np.random.default_rng(6).uniform(0.5, 2.0, 3000)
    before, min_macs = cpp.get_num_threads(), cpp.parallel_min_macs()
    try:
        cpp.set_parallel_min_macs(0)  # every product splits, whatever the default threshold
        results = []
        for threads in (1, 2, 3):
            cpp.set_num_threads(threads)
            results.append(cpp.loss_gradient(net, X, y, sw))
    finally:
        cpp.set_num_threads(before)
        cpp.set_parallel_min_macs(min_macs)
    for other in results[1:]:
        assert other.loss == results[0].loss
        for g, h in zip(other.grads, results[0].grads):
            np.testing.assert_array_equal(g, h)


def test_numba_blocks_of_rows_add_up_to_the_whole():
    """Numba runs rows in blocks too (here of 256: each a compiled call of a few ms, so Ctrl-C
    lands between them), a block of weight 0 included: the oracle's one-batch numbers to a few
    ulps of the gauge (1e-13)."""
    try:
        numba_backend = get_backend("numba")
    except ImportError as exc:
        pytest.skip(f"numba backend not available: {exc}")
    oracle = get_backend("numpy")
    net = make_network("cross_entropy", l2=0.1, sizes=(9, 200, 150, 4))
    X, y = make_data("cross_entropy-labels", 1000, n_in=9)
    sw = np.random.default_rng(5).uniform(0.5, 2.0, 1000)
    sw[256:512] = 0.0
    for weights in (None, sw):
        got = numba_backend.loss_gradient(net, X, y, weights)
        want = oracle.loss_gradient(net, X, y, weights)
        assert got.loss == pytest.approx(want.loss, rel=1e-13)
        assert got.penalty == pytest.approx(want.penalty, rel=1e-13)
        for g, w in zip(got.grads, want.grads):
            assert np.abs(g - w).max() <= 1e-13 * np.abs(w).max()
