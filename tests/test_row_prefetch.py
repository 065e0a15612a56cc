"""The C++ engine asks for the next batch's (or block's) rows of X while it computes the current
one (gemm::RowPrefetch, through its strides), and a relu layer's step keeps only a. Neither may
change a result: an epoch and a full-batch gradient on X seen through a reversed, a Fortran-ordered
and a column-reversed view (negative row stride, column stride other than 1) are bitwise those on
a C-contiguous copy, under every instruction set; rows wide enough to be prefetched (64 doubles),
several batches and several blocks of rows."""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import Network, OptimizerConfig, get_backend

from isa_cases import isa  # noqa: F401 (the fixture: each ISA the machine runs)

cpp = get_backend("cpp")


def _net(rng, act):
    w = [rng.standard_normal((64, 37)) * 0.2, rng.standard_normal((37, 10)) * 0.2]
    b = [rng.standard_normal(37) * 0.1, rng.standard_normal(10) * 0.1]
    return Network(w, b, [act, "identity"], "cross_entropy",
                   OptimizerConfig("adam", lr=1e-3), l2=1e-4)


def _views(X):
    reversed_rows = np.ascontiguousarray(X[::-1])[::-1]
    fortran = np.asfortranarray(X)
    reversed_cols = np.ascontiguousarray(X[:, ::-1])[:, ::-1]
    assert reversed_rows.strides[0] < 0 and fortran.strides[1] != 8 and reversed_cols.strides[1] < 0
    return {"reversed rows": reversed_rows, "fortran": fortran, "reversed columns": reversed_cols}


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_epoch_on_any_view_is_bitwise_the_contiguous_one(isa, act):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1500, 64))
    y = rng.integers(0, 10, 1500)
    order = rng.permutation(1500)
    want = _net(np.random.default_rng(4), act)
    stats = cpp.train_epoch(want, X, y, order, 200)
    for name, view in _views(X).items():
        net = _net(np.random.default_rng(4), act)
        got = cpp.train_epoch(net, view, y, order, 200)
        assert got == stats, name
        for p, q in zip(net.params, want.params):
            assert np.array_equal(p, q), name


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_gradient_on_any_view_is_bitwise_the_contiguous_one(isa, act):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3000, 64))  # several of loss_gradient's row blocks
    y = rng.integers(0, 10, 3000)
    net = _net(np.random.default_rng(6), act)
    loss, penalty, grads = cpp.loss_gradient(net, X, y)
    for name, view in _views(X).items():
        got_loss, got_penalty, got = cpp.loss_gradient(net, view, y)
        assert (got_loss, got_penalty) == (loss, penalty), name
        for g, h in zip(got, grads):
            assert np.array_equal(g, h), name
