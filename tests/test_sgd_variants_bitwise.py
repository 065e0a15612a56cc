"""The C++ SGD step is compiled once per option combination (csrc/nn/optim.cpp sgd_step: the
options as compile-time constants, so the loop vectorizes). Each combination must still do the
NumPy oracle's operations in its order: every one is an IEEE-rounded elementwise op in the
array's dtype, so the results agree bit for bit, float32 included, over several steps."""

import itertools

import numpy as np
import pytest

from fastmlp.backends import cpp
from fastmlp.backends import numpy as oracle

DTYPES = [np.float32, np.float64]
# nesterov only with momentum and without dampening (torch's rule, which the checks enforce)
COMBOS = [(mom, nest, wd, damp) for mom, nest, wd, damp in
          itertools.product([0.0, 0.9], [False, True], [0.0, 0.01], [0.0, 0.3])
          if not nest or (mom and not damp)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum, nesterov, weight_decay, dampening", COMBOS)
def test_sgd_matches_oracle_bitwise(dtype, momentum, nesterov, weight_decay, dampening, rng):
    n = 1000 + 7  # vector body and a scalar tail
    p = rng.standard_normal(n).astype(dtype)
    vel = np.zeros(n, dtype)
    p_ref, vel_ref = p.copy(), vel.copy()
    kw = dict(lr=0.05, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
              dampening=dampening)
    for step in (1, 2, 3):
        g = rng.standard_normal(n).astype(dtype)
        cpp.sgd_step(p, g, vel, step=step, **kw)
        oracle.sgd_step(p_ref, g, vel_ref, step=step, **kw)
    np.testing.assert_array_equal(p, p_ref)
    np.testing.assert_array_equal(vel, vel_ref)
