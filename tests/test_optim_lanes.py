"""The C++ Adam and RMSprop steps run whole vectors of the active ISA (csrc/nn/optim_lanes_<isa>.cpp:
4, 8 or 16 floats), then a scalar loop for the last n % W elements (optim.cpp). Elements are
independent, so each must come out bit for bit as when it is updated alone (a 1-element array:
scalar only), under every ISA, for every option and several steps; and the same when the
slots are one array (statements load after the previous store)."""

import numpy as np
import pytest

from fastmlp.backends import cpp

DTYPES = [np.float32, np.float64]
ISAS = cpp.available_isas()
MODES = {"none": dict(), "coupled": dict(weight_decay=0.1), "decoupled": dict(weight_decay=0.1, decoupled=True)}


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test under each ISA this CPU has; restore the original afterwards."""
    before = cpp.isa()
    cpp.set_isa(request.param)
    try:
        yield request.param
    finally:
        cpp.set_isa(before)


def slots(rng, n, dtype):
    p = rng.standard_normal(n).astype(dtype)
    m = (0.1 * rng.standard_normal(n)).astype(dtype)
    v = (0.01 * rng.random(n)).astype(dtype)
    return p, m, v


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 17, 67])  # every lane count's tail
def test_vector_lanes_equal_scalar_elements(isa, dtype, mode, n, rng):
    p, m, v = slots(rng, n, dtype)
    alone = [(p[i:i + 1].copy(), m[i:i + 1].copy(), v[i:i + 1].copy()) for i in range(n)]
    for step in (1, 2, 7):
        g = rng.standard_normal(n).astype(dtype)
        g[::5] = 0.0  # v then shrinks only: sqrt of tiny values
        cpp.adam_step(p, g, m, v, step=step, lr=1e-3, **MODES[mode])
        for i, (pi, mi, vi) in enumerate(alone):
            cpp.adam_step(pi, g[i:i + 1].copy(), mi, vi, step=step, lr=1e-3, **MODES[mode])
    got = np.stack([p, m, v])
    want = np.stack([np.concatenate([a[k] for a in alone]) for k in range(3)])
    np.testing.assert_array_equal(got, want)  # bitwise: same operations, IEEE-rounded


@pytest.mark.parametrize("dtype", DTYPES)
def test_shared_slot_array_matches_scalar(isa, dtype, rng):
    """m and v the same array (a misuse cpp.adam_step refuses; the raw core still
    takes it): the vector path must still do what the scalar statements do, element by element."""
    def raw_adam(p, g, m, v):  # fastmlp._core directly: the Python wrapper refuses aliased slots
        cpp._core.adam_step(p, g, m, v, 3, 1e-2, 0.9, 0.999, 1e-8, 0.0, False)

    n = 37
    p = rng.standard_normal(n).astype(dtype)
    mv = (0.01 * rng.random(n)).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    p1, mv1 = p.copy(), mv.copy()
    raw_adam(p1, g, mv1, mv1)
    p_alone, mv_alone = p.copy(), mv.copy()
    for i in range(n):
        pi, si = p_alone[i:i + 1], mv_alone[i:i + 1]
        raw_adam(pi, g[i:i + 1].copy(), si, si)
    # bitwise, NaN included (m*b1 then v*b2 on one array can make the sum negative: sqrt NaN)
    np.testing.assert_array_equal(p1.view(np.uint8), p_alone.view(np.uint8))
    np.testing.assert_array_equal(mv1.view(np.uint8), mv_alone.view(np.uint8))


def test_the_wrapper_refuses_shared_slot_arrays():
    mv = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="m and v share memory"):
        cpp.adam_step(np.ones(4, np.float32), np.ones(4, np.float32), mv, mv, step=3, lr=1e-2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", list(MODES))
def test_every_isa_gives_the_same_bits(dtype, mode, rng):
    """The vector width changes which elements the scalar tail takes, never a bit."""
    n = 1000 + 7
    p0, m0, v0 = slots(rng, n, dtype)
    g = rng.standard_normal(n).astype(dtype)
    before, results = cpp.isa(), {}
    try:
        for name in ISAS:
            cpp.set_isa(name)
            p, m, v = p0.copy(), m0.copy(), v0.copy()
            for step in (1, 2):
                cpp.adam_step(p, g, m, v, step=step, lr=1e-3, **MODES[mode])
            results[name] = np.stack([p, m, v])
    finally:
        cpp.set_isa(before)
    for name in ISAS:
        np.testing.assert_array_equal(results[name], results["generic"], err_msg=name)


RMSPROP_MODES = {
    "plain": dict(),
    "decay": dict(weight_decay=0.1),
    "momentum": dict(momentum=0.9),
    "centered": dict(centered=True),
    "everything": dict(weight_decay=0.1, momentum=0.9, centered=True),
}


def rmsprop_slots(rng, n, dtype, centered):
    """param, square_avg, velocity, grad_avg (None unless centered)."""
    p = rng.standard_normal(n).astype(dtype)
    sq = (0.01 * rng.random(n)).astype(dtype)
    vel = (0.1 * rng.standard_normal(n)).astype(dtype)
    avg = (0.01 * rng.standard_normal(n)).astype(dtype) if centered else None
    return p, sq, vel, avg


def rmsprop(p, g, sq, vel, avg, mode):
    kw = {k: v for k, v in RMSPROP_MODES[mode].items() if k != "centered"}
    cpp.rmsprop_step(p, g, sq, vel, lr=1e-2, grad_avg=avg, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", list(RMSPROP_MODES))
@pytest.mark.parametrize("n", [1, 3, 8, 17, 67])
def test_rmsprop_vector_lanes_equal_scalar_elements(isa, dtype, mode, n, rng):
    centered = RMSPROP_MODES[mode].get("centered", False)
    arrays = rmsprop_slots(rng, n, dtype, centered)
    alone = [[None if a is None else a[i:i + 1].copy() for a in arrays] for i in range(n)]
    for _ in range(3):
        g = rng.standard_normal(n).astype(dtype)
        g[::4] = 0.0
        rmsprop(*arrays[:1], g, *arrays[1:], mode)
        for i, (pi, si, vi, ai) in enumerate(alone):
            rmsprop(pi, g[i:i + 1].copy(), si, vi, ai, mode)
    for k, got in enumerate(arrays):
        if got is not None:
            want = np.concatenate([a[k] for a in alone])
            np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))  # NaN too


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsprop_every_isa_gives_the_same_bits(dtype, rng):
    n = 1000 + 7
    arrays0 = rmsprop_slots(rng, n, dtype, True)
    g = rng.standard_normal(n).astype(dtype)
    before, results = cpp.isa(), {}
    try:
        for name in ISAS:
            cpp.set_isa(name)
            arrays = [a.copy() for a in arrays0]
            for _ in range(2):
                rmsprop(arrays[0], g, *arrays[1:], "everything")
            results[name] = np.stack(arrays)
    finally:
        cpp.set_isa(before)
    for name in ISAS:
        np.testing.assert_array_equal(results[name], results["generic"], err_msg=name)
