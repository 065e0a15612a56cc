"""Gradient checking: backpropagation's gradients against central finite differences, in float64.

For every weight w of the network, (L(w + h) - L(w - h)) / 2h approximates dL/dw with an error
of order h^2 (truncation) plus eps_64 * L / h (rounding); h = 1e-6 * max(1, |w|) balances the
two at about 1e-10 relative for smooth losses, far below the tolerance used here
(|backprop - numeric| <= atol + rtol * |numeric|, atol 1e-5 and rtol 1e-3, the defaults of
torch.autograd.gradcheck for float64). ReLU-like activations and mae/huber have kinks: a
weight whose +-h step crosses one can disagree without any bug, so check smooth activations
(tanh, sigmoid, gelu) when you want a clean pass on every weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

from . import model_inputs
from .backends import backprop
from .backends import numpy as oracle
from .backends.network import Network


@dataclass
class GradcheckRow:
    """One parameter array: the worst disagreement over the entries checked."""

    name: str  # "W1", "b1", ... (layers counted from 1)
    shape: tuple
    checked: int  # entries compared (all, or a seeded sample of large arrays)
    max_abs_error: float
    max_rel_error: float  # |backprop - numeric| / max(|numeric|, atol / rtol)
    passed: bool


@dataclass
class GradcheckResult:
    """The table `gradcheck` returns; ``passed`` is True when every row passed."""

    rows: list = field(default_factory=list)
    atol: float = 1e-5
    rtol: float = 1e-3
    step: float = 1e-6

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        lines = [f"{'param':<6} {'shape':<12} {'checked':>7} {'max abs err':>12} {'max rel err':>12}  result"]
        for r in self.rows:
            lines.append(f"{r.name:<6} {str(r.shape):<12} {r.checked:>7} {r.max_abs_error:>12.3e} "
                         f"{r.max_rel_error:>12.3e}  {'ok' if r.passed else 'FAIL'}")
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(f"{verdict}: |backprop - central difference| <= {self.atol:g} + {self.rtol:g} * "
                     f"|central difference|, step h = {self.step:g} * max(1, |w|), float64")
        return "\n".join(lines)


def gradcheck(model, X, y, *, atol=1e-5, rtol=1e-3, step=1e-6, max_checks=200, seed=0,
              gradients=None):
    """Check ``model``'s backpropagation on (X, y) against central differences, in float64.

    The gradients come from `fastmlp.backends.backprop.gradients` with the model's own kernels,
    run on a float64 copy of the network, so every backend can be checked; the numeric side
    uses the NumPy oracle's loss. Arrays with more than ``max_checks`` entries are checked on a seeded
    random sample of entries. ``gradients(net, X, y)`` may replace backprop (a list of arrays
    in the order W1, b1, W2, b2, ...), e.g. to see a wrong gradient flagged.
    Returns a `GradcheckResult` (prints as a per-parameter table).
    """
    X, y = model_inputs.check_xy(model, X, y, "X", "y")
    X = X.astype(np.float64)
    if y.dtype.kind == "f":
        y = y.astype(np.float64)
    net = Network([w.astype(np.float64) for w in model.weights],
                  [b.astype(np.float64) for b in model.biases],
                  list(model.network.activations), model.loss)
    analytic = (gradients or partial(backprop.gradients, model.backend))(net, X, y)
    rng = np.random.default_rng(seed)
    result = GradcheckResult(atol=atol, rtol=rtol, step=step)
    for j, (param, grad) in enumerate(zip(net.params, analytic)):
        name = f"{'Wb'[j % 2]}{j // 2 + 1}"
        flat_indices = np.arange(param.size)
        if param.size > max_checks:
            flat_indices = np.sort(rng.choice(param.size, max_checks, replace=False))
        abs_err = rel_err = 0.0
        ok = True
        for flat in flat_indices:
            idx = np.unravel_index(flat, param.shape)
            numeric = _central_difference(net, X, y, param, idx, step)
            err = abs(float(grad[idx]) - numeric)
            abs_err = max(abs_err, err)
            rel_err = max(rel_err, err / max(abs(numeric), atol / rtol))
            ok &= err <= atol + rtol * abs(numeric)
        result.rows.append(GradcheckRow(name, param.shape, len(flat_indices), abs_err, rel_err, bool(ok)))
    return result


def _loss(net, X, y) -> float:
    return oracle.loss_forward_backward(net.loss, backprop.forward(oracle, net, X).output, y)[0]


def _central_difference(net, X, y, param, idx, step) -> float:
    original = param[idx]
    h = step * max(1.0, abs(original))
    param[idx] = original + h
    plus = _loss(net, X, y)
    param[idx] = original - h
    minus = _loss(net, X, y)
    param[idx] = original
    return (plus - minus) / (2 * h)
