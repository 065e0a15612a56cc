"""`checks.all_finite`: the model's NaN/inf scan without a full-size temporary."""

import numpy as np
import pytest

from fastmlp.checks import all_finite


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (5000, 301), (13,)])
def test_finds_one_bad_element_anywhere(dtype, bad, shape):
    rng = np.random.default_rng(0)
    arr = rng.standard_normal(shape).astype(dtype)
    assert all_finite(arr)
    for flat_index in (0, arr.size // 2, arr.size - 1):
        poisoned = arr.copy()
        poisoned.flat[flat_index] = bad
        assert not all_finite(poisoned)


def test_cancelling_infinities_and_overflowing_sums():
    assert not all_finite(np.array([[np.inf, -np.inf]]))  # inf + -inf = nan, still caught
    # finite float64 values whose sum overflows: the exact fallback must say "finite"
    assert all_finite(np.full((4, 3), 1e308))
    assert not all_finite(np.array([[1e308, 1e308], [np.nan, 0.0]]))


def test_empty_is_finite():
    assert all_finite(np.empty((0, 5), np.float32))
