"""Bad input to every kernel of every backend: a clear exception that names the argument, never
a crash, a hang or a silently wrong result (docs/bad_inputs.md).
Every backend must raise the same exception type; `match` pins the argument's name."""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import Network, OptimizerConfig

# ">f8": big-endian float64 is not the native float64 the kernels read
BAD_DTYPES = [np.int64, np.int32, np.float16, object, np.bool_, np.complex128, ">f8"]
BAD_DTYPE_IDS = ["int64", "int32", "float16", "object", "bool", "complex128", "float64-big-endian"]
F = np.float64


def arr(shape, dtype=F, fill=0.5):
    return np.full(shape, fill, dtype=dtype)


def readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


# --- matmul ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=BAD_DTYPE_IDS)
def test_matmul_wrong_dtype(backend, bad):
    with pytest.raises(TypeError, match=r"^a must"):
        backend.matmul(arr((3, 4), bad, 1), arr((4, 2)))
    with pytest.raises(TypeError, match=r"^b must"):
        backend.matmul(arr((3, 4)), arr((4, 2), bad, 1))
    with pytest.raises(TypeError, match=r"^out must have dtype"):
        backend.matmul(arr((3, 4)), arr((4, 2)), out=arr((3, 2), bad, 0))


def test_matmul_bad_arguments(backend):
    a, b = arr((3, 4)), arr((4, 2))
    with pytest.raises(TypeError, match=r"^a must be a numpy.ndarray"):
        backend.matmul([[1.0]], b)
    with pytest.raises(TypeError, match=r"a=float32, b=float64"):
        backend.matmul(a.astype(np.float32), b)
    with pytest.raises(ValueError, match=r"^a must be 2-D"):
        backend.matmul(arr(4), b)
    with pytest.raises(ValueError, match=r"^b must be 2-D"):
        backend.matmul(a, arr((4, 2, 1)))
    with pytest.raises(ValueError, match=r"inner dimensions differ"):
        backend.matmul(a, arr((3, 2)))
    with pytest.raises(ValueError, match=r"inner dimensions differ.*trans_a=True"):
        backend.matmul(a, b, trans_a=True)
    with pytest.raises(ValueError, match=r"^out must have shape \(3, 2\)"):
        backend.matmul(a, b, out=arr((2, 3)))
    with pytest.raises(ValueError, match=r"^out must be C-contiguous"):
        backend.matmul(a, b, out=np.asfortranarray(arr((3, 2))))
    with pytest.raises(ValueError, match=r"^out must be C-contiguous"):
        backend.matmul(a, b, out=arr((3, 4))[:, ::2])
    with pytest.raises(ValueError, match=r"^out must be writable"):
        backend.matmul(a, b, out=readonly(arr((3, 2))))
    sq = arr((4, 4), fill=1.0)
    with pytest.raises(ValueError, match=r"^out must not overlap input a"):
        backend.matmul(sq, arr((4, 4)), out=sq)
    with pytest.raises(ValueError, match=r"^out must not overlap input b"):
        backend.matmul(arr((4, 4)), sq, out=sq)
    with pytest.raises(ValueError, match=r"beta must be 0 when out is not given"):
        backend.matmul(a, b, beta=1.0)
    with pytest.raises(ValueError, match=r"^alpha must be finite"):
        backend.matmul(a, b, alpha=float("nan"))
    with pytest.raises(ValueError, match=r"^beta must be finite"):
        backend.matmul(a, b, out=arr((3, 2)), beta=float("inf"))
    with pytest.raises(TypeError, match=r"^alpha must be a real number"):
        backend.matmul(a, b, alpha="2")


def test_matmul_failed_call_leaves_out_alone(backend):
    out = arr((3, 2), fill=7.0)
    with pytest.raises(TypeError):
        backend.matmul(arr((3, 4)).astype(np.float32), arr((4, 2)), out=out)
    assert (out == 7.0).all()


@pytest.mark.timeout(60)
def test_matmul_huge_output_raises_before_computing(backend):
    """A 4-EiB zero-stride view is legal NumPy; its product must fail on allocation, not hang."""
    a = np.broadcast_to(np.float32(1), (2**40, 2**20))
    b = np.broadcast_to(np.float32(1), (2**20, 2))
    with pytest.raises((MemoryError, ValueError, OverflowError)):
        backend.matmul(a, b)


# --- activations and dense layers -------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=BAD_DTYPE_IDS)
def test_activation_wrong_dtype(backend, bad):
    with pytest.raises(TypeError, match=r"^z must"):
        backend.activation_forward("relu", arr((2, 3), bad, 1))
    with pytest.raises(TypeError, match=r"^grad_a must"):
        backend.activation_backward("relu", arr((2, 3)), arr((2, 3)), arr((2, 3), bad, 1))


def test_activation_bad_arguments(backend):
    z = arr((2, 3))
    with pytest.raises(ValueError, match=r"activation 'swish' is unknown; choose one of identity, relu, "
                                         r"leaky_relu, sigmoid, tanh, gelu, softmax"):
        backend.activation_forward("swish", z)
    with pytest.raises(ValueError, match=r"choose one of"):
        backend.activation_backward("swish", z, z, z)
    with pytest.raises(TypeError, match=r"^activation must be a str"):
        backend.activation_forward(None, z)
    with pytest.raises(ValueError, match=r"^z must be 2-D"):
        backend.activation_forward("tanh", arr(3))
    with pytest.raises(ValueError, match=r"^a must have shape \(2, 3\)"):
        backend.activation_backward("tanh", z, arr((3, 2)), z)
    with pytest.raises(ValueError, match=r"^grad_a must have shape"):
        backend.activation_backward("tanh", z, z, arr((2, 4)))
    with pytest.raises(TypeError, match=r"a=float32"):
        backend.activation_backward("tanh", z, z.astype(np.float32), z)


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=BAD_DTYPE_IDS)
def test_dense_wrong_dtype(backend, bad):
    x, w, b = arr((5, 4)), arr((4, 3)), arr(3)
    with pytest.raises(TypeError, match=r"^x must"):
        backend.dense_forward(arr((5, 4), bad, 1), w, b, "relu")
    with pytest.raises(TypeError, match=r"^w must"):
        backend.dense_forward(x, arr((4, 3), bad, 1), b, "relu")
    with pytest.raises(TypeError, match=r"^b must"):
        backend.dense_forward(x, w, arr(3, bad, 1), "relu")
    with pytest.raises(TypeError, match=r"^out_z must have dtype"):
        backend.dense_forward(x, w, b, "relu", out_z=arr((5, 3), bad, 0))
    z = arr((5, 3))
    with pytest.raises(TypeError, match=r"^grad_a must"):
        backend.dense_backward(x, w, z, z, arr((5, 3), bad, 1), "relu")
    with pytest.raises(TypeError, match=r"^z must"):
        backend.dense_backward(x, w, arr((5, 3), bad, 1), z, z, "relu")


def test_dense_forward_bad_arguments(backend):
    x, w, b = arr((5, 4)), arr((4, 3)), arr(3)
    with pytest.raises(ValueError, match=r"^x must be 2-D"):
        backend.dense_forward(arr(4), w, b, "relu")
    with pytest.raises(ValueError, match=r"^b must be 1-D"):
        backend.dense_forward(x, w, arr((1, 3)), "relu")
    with pytest.raises(ValueError, match=r"x has 4 features but w has 5 rows"):
        backend.dense_forward(x, arr((5, 3)), b, "relu")
    with pytest.raises(ValueError, match=r"^b must have shape \(3,\)"):
        backend.dense_forward(x, w, arr(4), "relu")
    with pytest.raises(TypeError, match=r"w=float32"):
        backend.dense_forward(x, w.astype(np.float32), b, "relu")
    with pytest.raises(ValueError, match=r"choose one of"):
        backend.dense_forward(x, w, b, "relu6")
    with pytest.raises(ValueError, match=r"^out_z must have shape"):
        backend.dense_forward(x, w, b, "relu", out_z=arr((3, 5)))
    with pytest.raises(ValueError, match=r"^out_a must be C-contiguous"):
        backend.dense_forward(x, w, b, "relu", out_a=np.asfortranarray(arr((5, 3))))
    with pytest.raises(ValueError, match=r"^out_a must be writable"):
        backend.dense_forward(x, w, b, "relu", out_a=readonly(arr((5, 3))))
    with pytest.raises(ValueError, match=r"^out_a must not overlap input out_z"):
        o = arr((5, 3))
        backend.dense_forward(x, w, b, "relu", out_z=o, out_a=o)
    sq = arr((3, 3))
    with pytest.raises(ValueError, match=r"^out_z must not overlap input x"):
        backend.dense_forward(sq, arr((3, 3)), b, "relu", out_z=sq)
    with pytest.raises(ValueError, match=r"^out_a must not overlap input w"):
        backend.dense_forward(arr((3, 3)), sq, b, "relu", out_a=sq)


def test_dense_backward_bad_arguments(backend):
    x, w, z = arr((5, 4)), arr((4, 3)), arr((5, 3))
    with pytest.raises(ValueError, match=r"^grad_a must have shape \(5, 3\)"):
        backend.dense_backward(x, w, z, z, arr((5, 2)), "tanh")
    with pytest.raises(ValueError, match=r"^z must have shape"):
        backend.dense_backward(x, w, arr((4, 3)), z, z, "tanh")
    with pytest.raises(ValueError, match=r"x has 4 features but w has 3 rows"):
        backend.dense_backward(x, arr((3, 3)), z, z, z, "tanh")
    with pytest.raises(ValueError, match=r"^a must be 2-D"):
        backend.dense_backward(x, w, z, arr(3), z, "tanh")
    with pytest.raises(TypeError, match=r"x=float32"):
        backend.dense_backward(x.astype(np.float32), w, z, z, z, "tanh")
    with pytest.raises(ValueError, match=r"choose one of"):
        backend.dense_backward(x, w, z, z, z, "elu")


# --- losses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=BAD_DTYPE_IDS)
def test_loss_wrong_dtype(backend, bad):
    with pytest.raises(TypeError, match=r"^output must"):
        backend.loss_forward_backward("mse", arr((4, 2), bad, 1), arr((4, 2)))
    if np.dtype(bad).kind not in "iu":  # integer targets are labels (tested below)
        with pytest.raises(TypeError, match=r"^target must"):
            backend.loss_forward_backward("mse", arr((4, 2)), arr((4, 2), bad, 1))
        with pytest.raises(TypeError, match=r"^target must"):
            backend.loss_forward_backward("cross_entropy", arr((4, 2)), arr((4, 2), bad, 1))


def test_loss_bad_arguments(backend):
    out = arr((4, 3))
    with pytest.raises(ValueError, match=r"loss 'hinge' is unknown; choose one of mse, cross_entropy, "
                                         r"binary_cross_entropy, mae, huber"):
        backend.loss_forward_backward("hinge", out, out.copy())
    with pytest.raises(TypeError, match=r"^loss must be a str"):
        backend.loss_forward_backward(3, out, out.copy())
    with pytest.raises(ValueError, match=r"^target must have shape \(4, 3\)"):
        backend.loss_forward_backward("mse", out, arr((4, 2)))
    with pytest.raises(ValueError, match=r"^target must have shape \(4,\)"):
        backend.loss_forward_backward("cross_entropy", out, np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=r"^target labels must lie in \[0, 3\)"):
        backend.loss_forward_backward("cross_entropy", out, np.array([0, 1, 3, 2]))
    with pytest.raises(ValueError, match=r"^target labels must lie in \[0, 3\)"):
        backend.loss_forward_backward("cross_entropy", out, np.array([0, -1, 1, 2]))
    with pytest.raises(TypeError, match=r"^target dtype float32 must match output dtype float64"):
        backend.loss_forward_backward("mse", out, out.astype(np.float32))
    with pytest.raises(TypeError, match=r"^target must be float32/float64"):
        backend.loss_forward_backward("mse", out, np.zeros((4, 3), np.int64))
    with pytest.raises(ValueError, match=r"^output must be 2-D"):
        backend.loss_forward_backward("mse", arr(4), arr(4))
    with pytest.raises(ValueError, match=r"^output must not be empty"):
        backend.loss_forward_backward("mse", arr((0, 3)), arr((0, 3)))


# --- optimizers -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=BAD_DTYPE_IDS)
def test_optimizer_wrong_dtype(backend, bad):
    p = arr(5)
    with pytest.raises(TypeError, match=r"^grad must"):
        backend.sgd_step(p, arr(5, bad, 1), arr(5), lr=0.1)
    with pytest.raises(TypeError, match=r"^param must"):
        backend.adam_step(arr(5, bad, 1), arr(5), arr(5), arr(5), step=1, lr=0.1)
    with pytest.raises(TypeError, match=r"square_avg="):
        backend.rmsprop_step(p, arr(5), arr(5, bad, 1), arr(5), lr=0.1)


def test_optimizer_bad_arguments(backend):
    p, g = arr(5), arr(5)
    with pytest.raises(ValueError, match=r"^param must be C-contiguous and writable"):
        backend.sgd_step(readonly(p), g, arr(5), lr=0.1)
    with pytest.raises(ValueError, match=r"^velocity must be C-contiguous and writable"):
        backend.sgd_step(p, g, arr(10)[::2], lr=0.1)
    with pytest.raises(ValueError, match=r"^m must be C-contiguous and writable"):
        backend.adam_step(p, g, readonly(arr(5)), arr(5), step=1, lr=0.1)
    with pytest.raises(ValueError, match=r"^param must have shape \(5,\)"):
        backend.sgd_step(arr(4), g, arr(4), lr=0.1)
    with pytest.raises(ValueError, match=r"^v must have shape"):
        backend.adam_step(p, g, arr(5), arr((5, 1)), step=1, lr=0.1)
    with pytest.raises(TypeError, match=r"velocity=float32"):
        backend.rmsprop_step(p, g, arr(5), arr(5, np.float32), lr=0.1)
    before = p.copy()
    with pytest.raises(ValueError):
        backend.sgd_step(p, g, readonly(arr(5)), lr=0.1)
    assert np.array_equal(p, before), "a rejected step must not touch param"


# --- train_step / train_epoch ------------------------------------------------------------------


def tiny_net(dtype=F, loss="cross_entropy", **opt):
    rng = np.random.default_rng(0)
    w = [rng.standard_normal((4, 5)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)]
    b = [np.zeros(5, dtype), np.zeros(3, dtype)]
    return Network(w, b, ["relu", "identity"], loss, optimizer=OptimizerConfig(**opt))


def batch(n=6, dtype=F):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 4)).astype(dtype), rng.integers(0, 3, n)


@pytest.mark.parametrize("field,value,match", [
    ("lr", 0.0, r"^lr must be > 0"), ("lr", -0.1, r"^lr must be > 0"),
    ("lr", float("nan"), r"^lr must be finite"), ("lr", float("inf"), r"^lr must be finite"),
    ("momentum", 1.0, r"^momentum must be < 1"), ("momentum", 1.5, r"^momentum must be < 1"),
    ("momentum", -0.1, r"^momentum must be >= 0"), ("weight_decay", -1e-3, r"^weight_decay must be >= 0"),
    ("beta1", 1.0, r"^beta1 must be < 1"), ("beta2", 1.0, r"^beta2 must be < 1"),
    ("eps", 0.0, r"^eps must be > 0"), ("smoothing", 1.0, r"^smoothing \(RMSprop's alpha\) must be < 1"),
    ("name", "lbfgs", r"optimizer 'lbfgs' is unknown; choose one of sgd, adam, adamw, rmsprop"),
])
def test_impossible_hyperparameters(backend, field, value, match):
    net = tiny_net(**{field: value})
    before = net.copy()
    x, y = batch()
    with pytest.raises(ValueError, match=match):
        backend.train_step(net, x, y)
    with pytest.raises(ValueError, match=match):
        backend.train_epoch(net, x, y, np.arange(6), 2)
    assert net.step == before.step and all(np.array_equal(a, b) for a, b in zip(net.params, before.params))


def test_nesterov_needs_momentum(backend):
    x, y = batch()
    with pytest.raises(ValueError, match=r"nesterov"):
        backend.train_step(tiny_net(nesterov=True), x, y)


def test_train_bad_batch_arguments(backend):
    net = tiny_net()
    x, y = batch()
    with pytest.raises(ValueError, match=r"^batch_size must be >= 1"):
        backend.train_epoch(net, x, y, np.arange(6), 0)
    with pytest.raises(TypeError, match=r"^batch_size must be an int"):
        backend.train_epoch(net, x, y, np.arange(6), 2.0)
    with pytest.raises(ValueError, match=r"^y labels must lie in \[0, 3\)"):
        backend.train_step(net, x, np.array([0, 1, 2, 3, 0, 1]))
    with pytest.raises(ValueError, match=r"^Y labels must lie in \[0, 3\)"):
        backend.train_epoch(net, x, np.array([0, 1, 2, -1, 0, 1]), np.arange(6), 2)
    with pytest.raises(ValueError, match=r"^order indices must lie in \[0, 6\)"):
        backend.train_epoch(net, x, y, np.array([0, 6]), 2)
    with pytest.raises(ValueError, match=r"^order indices must lie in \[0, 6\)"):
        backend.train_epoch(net, x, y, np.array([-1, 2]), 2)
    with pytest.raises(TypeError, match=r"^order must be an integer"):
        backend.train_epoch(net, x, y, np.arange(6.0), 2)
    with pytest.raises(ValueError, match=r"^order must be 1-D"):
        backend.train_epoch(net, x, y, np.arange(6).reshape(2, 3), 2)
    with pytest.raises(TypeError, match=r"^x dtype float32 must match the network dtype float64"):
        backend.train_step(net, x.astype(np.float32), y)
    with pytest.raises(TypeError, match=r"^X dtype float32 must match the network dtype float64"):
        backend.train_epoch(net, x.astype(np.float32), y, np.arange(6), 2)
    with pytest.raises(TypeError, match=r"^x must have dtype"):
        backend.train_step(net, x.astype(np.int64), y)
    with pytest.raises(ValueError, match=r"^x has 3 features, the network takes 4"):
        backend.train_step(net, x[:, :3], y)
    with pytest.raises(ValueError, match=r"^y has 5 rows, x has 6"):
        backend.train_step(net, x, y[:5])
    with pytest.raises(TypeError, match=r"^y must be a numpy.ndarray"):
        backend.train_step(net, x, list(y))
    with pytest.raises(ValueError, match=r"^target must have shape"):  # one-hot with wrong width
        backend.train_step(net, x, np.eye(4)[y])
    assert net.step == 0


def test_train_bad_network(backend):
    x, y = batch()
    net = tiny_net()
    net.activations[-1] = "relu"
    with pytest.raises(ValueError, match=r"last activation must be 'identity'"):
        backend.train_step(net, x, y)
    net = tiny_net()
    net.activations[0] = "swish"
    with pytest.raises(ValueError, match=r"choose one of"):
        backend.train_step(net, x, y)
    net = tiny_net()
    net.loss = "hinge"
    with pytest.raises(ValueError, match=r"choose one of"):
        backend.train_step(net, x, y)
    net = tiny_net()
    net.weights[1] = net.weights[1].astype(np.float32)
    with pytest.raises(TypeError, match=r"layer 1 dtype"):
        backend.train_step(net, x, y)
    net = tiny_net()
    net.weights[0] = np.asfortranarray(net.weights[0])
    with pytest.raises(ValueError, match=r"weights\[0\] and biases\[0\] must be C-contiguous"):
        backend.train_step(net, x, y)
    net = tiny_net()
    net.weights[1] = np.zeros((6, 3))
    with pytest.raises(ValueError, match=r"weights\[1\] takes 6 inputs"):
        backend.train_step(net, x, y)
    net = tiny_net()
    net.slots_v = net.slots_v[:2]
    with pytest.raises(ValueError, match=r"slots_v needs 4 arrays"):
        backend.train_step(net, x, y)
    net = tiny_net()
    net.weights[0] = net.weights[0].astype(np.int64)
    with pytest.raises(TypeError, match=r"weights\[0\] must have dtype"):
        backend.train_step(net, x, y)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the NaN is the point
def test_non_finite_loss_stops_before_updating(backend):
    """A NaN in x gives a NaN loss: FloatingPointError, and the network is left untouched."""
    net = tiny_net(name="adam", lr=0.1)
    before = net.copy()
    x, y = batch()
    x[2, 1] = np.nan
    with pytest.raises(FloatingPointError):
        backend.train_step(net, x, y)
    assert net.step == 0
    for got, old in zip(net.params + net.slots_m + net.slots_v, before.params + before.slots_m + before.slots_v):
        assert np.array_equal(got, old)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_non_finite_loss_in_epoch_names_the_batch(backend):
    """Batches before the bad one are applied, the bad one is not, and the error names it."""
    net = tiny_net(name="sgd", lr=0.1)
    x, y = batch(12)
    x[9, 0] = np.inf  # row 9 is in batch 2 of order 0..11 with batch_size 4
    with pytest.raises(FloatingPointError, match=r"batch 2"):
        backend.train_epoch(net, x, y, np.arange(12), 4)
    ref = tiny_net(name="sgd", lr=0.1)
    backend.train_epoch(ref, x[:8], y[:8], np.arange(8), 4)
    assert net.step == ref.step == 2
    for got, want in zip(net.params, ref.params):
        assert np.array_equal(got, want)
