"""loss_forward_backward of every backend against the float64 oracle.

The loss is a mean (a reduction): its bound grows with the number of terms, γ_{n+4} on the mean
of per-element gauges, plus the transcendental rtol for exp/log-based losses; the gradient is
elementwise with a gauge that covers the (softmax − target) / (sigmoid − target) cancellation
(tolerances.loss_bounds states each).
"""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import available_backends
from tolerances import assert_within, loss_bounds

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 4), (7, 3), (64, 10), (257, 5)]
ALIASES = {"squared_error": "mse", "log_loss": "cross_entropy", "bce": "binary_cross_entropy"}


def make_case(rng, name, shape, dtype, target_kind):
    batch, n_out = shape
    output = (2 * rng.standard_normal(shape)).astype(dtype)
    if name == "cross_entropy":
        labels = rng.integers(0, n_out, batch)
        if target_kind == "labels":
            return output, labels.astype(np.int64)
        if target_kind == "labels_int32":
            return output, labels.astype(np.int32)
        if target_kind == "labels_uint8":
            return output, labels.astype(np.uint8)
        if target_kind == "onehot":
            return output, np.eye(n_out, dtype=dtype)[labels]
        p = rng.random(shape) + 0.1  # soft probabilities
        return output, (p / p.sum(axis=1, keepdims=True)).astype(dtype)
    if name == "binary_cross_entropy":
        if target_kind == "hard":
            return output, rng.integers(0, 2, shape).astype(dtype)
        return output, rng.random(shape).astype(dtype)
    # regression: |diff| both below and above huber's delta 1
    return output, (output + 1.5 * rng.standard_normal(shape)).astype(dtype)


CASES = [("mse", "values"), ("mae", "values"), ("huber", "values"),
         ("cross_entropy", "labels"), ("cross_entropy", "labels_int32"),
         ("cross_entropy", "labels_uint8"), ("cross_entropy", "onehot"), ("cross_entropy", "soft"),
         ("binary_cross_entropy", "hard"), ("binary_cross_entropy", "soft")]


def check_loss(backend, oracle, name, output, target, tag):
    dtype = output.dtype
    canon = ALIASES.get(name, name)
    before = (output.copy(), target.copy())
    loss, grad = backend.loss_forward_backward(name, output, target)
    assert np.array_equal(output, before[0]) and np.array_equal(target, before[1]), "loss modified its inputs"
    assert type(loss) is float, f"loss must be a Python float, got {type(loss).__name__}"
    assert isinstance(grad, np.ndarray) and grad.dtype == dtype and grad.shape == output.shape
    assert not np.shares_memory(grad, output)
    tgt64 = target if target.dtype.kind in "iu" else target.astype(np.float64)
    ref_loss, ref_grad = oracle.loss_forward_backward(name, output.astype(np.float64), tgt64)
    bl, bg = loss_bounds(canon, output, target, dtype)
    tag = f"{backend.__name__} {name} {np.dtype(dtype).name} {tag}"
    assert np.isfinite(loss) and np.isfinite(grad).all(), f"{tag}: non-finite loss/grad"
    assert_within(np.array(loss), np.array(ref_loss), bl, tag + " loss")
    assert_within(grad, ref_grad, bg, tag + " grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,target_kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_loss_vs_oracle(backend, oracle, rng, dtype, shape, name, target_kind):
    output, target = make_case(rng, name, shape, dtype, target_kind)
    check_loss(backend, oracle, name, output, target, f"{target_kind} {shape}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,target_kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_loss_strided_inputs(backend, oracle, rng, dtype, name, target_kind):
    """F-ordered output, every-other-row/reversed targets and labels."""
    output, target = make_case(rng, name, (26, 5), dtype, target_kind)
    output = np.asfortranarray(output[::2])
    target = target[::-2][::-1] if target.ndim == 1 else target[1::2][:, ::-1]  # stride 2 / negative
    assert not target.flags.c_contiguous
    check_loss(backend, oracle, name, output, target, "strided")


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_loss_aliases(backend, oracle, rng, alias):
    canon = ALIASES[alias]
    output, target = make_case(rng, canon, (9, 4), np.float64, "labels" if canon == "cross_entropy" else "soft")
    loss_a, grad_a = backend.loss_forward_backward(alias, output, target)
    loss_c, grad_c = backend.loss_forward_backward(canon, output, target)
    assert loss_a == loss_c and np.array_equal(grad_a, grad_c)
    check_loss(backend, oracle, alias, output, target, "alias")


@pytest.mark.parametrize("dtype", DTYPES)
def test_onehot_equals_labels(backend, rng, dtype):
    """cross_entropy with one-hot targets is the same function as with integer labels."""
    output, labels = make_case(rng, "cross_entropy", (33, 7), dtype, "labels")
    loss_l, grad_l = backend.loss_forward_backward("cross_entropy", output, labels)
    loss_h, grad_h = backend.loss_forward_backward("cross_entropy", output, np.eye(7, dtype=dtype)[labels])
    u = np.finfo(dtype).eps
    np.testing.assert_allclose(loss_h, loss_l, rtol=64 * u)  # two summation orders of 33 terms
    np.testing.assert_allclose(grad_h, grad_l, rtol=8 * u, atol=8 * u / 33)


@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_logits_are_finite(backend, dtype):
    """Logits of ±1e4 (far beyond exp's range): loss and grad finite and right, not inf/NaN."""
    out = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]], dtype)
    loss, grad = backend.loss_forward_backward("cross_entropy", out, np.array([1, 1]))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    # row 0: label 1 is 2e4 below the max -> loss 2e4; row 1: correct and certain -> 0
    np.testing.assert_allclose(loss, 1e4, rtol=1e-6)
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-7)
    onehot = np.array([[0, 1, 0], [0, 1, 0]], dtype)
    loss_h, grad_h = backend.loss_forward_backward("cross_entropy", out, onehot)
    np.testing.assert_allclose(loss_h, 1e4, rtol=1e-6)
    assert np.isfinite(grad_h).all()

    out = np.array([[1e4, -1e4, 1e4, -1e4]], dtype)
    tgt = np.array([[0.0, 1.0, 1.0, 0.0]], dtype)
    loss, grad = backend.loss_forward_backward("binary_cross_entropy", out, tgt)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    np.testing.assert_allclose(loss, 2e4 / 4, rtol=1e-6)  # two confidently wrong, two right
    np.testing.assert_allclose(grad, [[0.25, -0.25, 0.0, 0.0]], atol=1e-7)
    for name in ("mse", "mae", "huber"):
        loss, grad = backend.loss_forward_backward(name, out, tgt)
        assert np.isfinite(loss) and np.isfinite(grad).all(), name


@pytest.mark.parametrize("dtype", DTYPES)
def test_known_values(backend, dtype):
    """Hand-computed values (independent of the oracle)."""
    out = np.array([[0.0, 2.0], [1.5, -1.0]], dtype)
    tgt = np.array([[0.5, 0.0], [0.0, -1.0]], dtype)
    # diffs -0.5, 2, 1.5, 0
    checks = {
        "mse": ((0.25 + 4 + 2.25 + 0) / 4, np.array([[-0.5, 2], [1.5, 0]]) * 2 / 4),
        "mae": ((0.5 + 2 + 1.5 + 0) / 4, np.array([[-1, 1], [1, 0]]) / 4),
        "huber": ((0.125 + 1.5 + 1.0 + 0) / 4, np.array([[-0.5, 1], [1, 0]]) / 4),
    }
    for name, (want_loss, want_grad) in checks.items():
        loss, grad = backend.loss_forward_backward(name, out, tgt)
        np.testing.assert_allclose(loss, want_loss, rtol=8 * np.finfo(dtype).eps, err_msg=name)
        np.testing.assert_allclose(grad, want_grad, rtol=8 * np.finfo(dtype).eps, err_msg=name)
    # cross-entropy of two equal logits is log 2 whichever the label; grad (1/2 - onehot)/batch
    loss, grad = backend.loss_forward_backward("cross_entropy", np.zeros((2, 2), dtype), np.array([0, 1]))
    np.testing.assert_allclose(loss, np.log(2), rtol=1e-6)
    np.testing.assert_allclose(grad, [[-0.25, 0.25], [0.25, -0.25]], rtol=1e-6)
    # bce at output 0 is log 2 whatever the target; grad (1/2 - t)/n
    loss, grad = backend.loss_forward_backward("binary_cross_entropy", np.zeros((1, 2), dtype),
                                               np.array([[1.0, 0.25]], dtype))
    np.testing.assert_allclose(loss, np.log(2), rtol=1e-6)
    np.testing.assert_allclose(grad, [[-0.25, 0.125]], rtol=1e-6)


@pytest.mark.skipif("cpp" not in available_backends(), reason="the C++ core is not built")
@pytest.mark.parametrize("bad", [-1, 3, 2**40])
def test_core_itself_refuses_labels_out_of_range(bad):
    # The kernels index the output by label; Python checks labels first, and the binding checks
    # them again, so even a direct _core call cannot read or write out of bounds.
    from fastmlp import _core, names

    output = np.zeros((2, 3))
    labels = np.array([0, bad], dtype=np.int64)
    empty = np.empty(0)
    with pytest.raises(ValueError, match="labels must lie in"):
        _core.loss_forward_backward(names.LOSS_CODE["cross_entropy"], output, labels,
                                    np.empty((2, 3)), empty, empty)
