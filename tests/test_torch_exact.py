"""fastmlp's train_step equals PyTorch (autograd + torch.optim + lr_scheduler) step for step.

Same float64 weights, same batches: after 1 and after 10 updates every weight and bias of every
backend's network equals the torch model's to 1e-12 relative (to the array's largest entry).
Why 1e-12: both sides compute the same float64 formulas; they differ only in summation order
inside matrix products and reductions (a few ulps, ~1e-16 relative per operation) and in
transcendental rounding; ten updates of a smooth network keep that below ~1e-14. A wrong rule
(bias correction, where weight decay enters, the schedule's step count) is off by >= 1e-4.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (pip install fastmlp[torch])")

from fastmlp.backends import Network, OptimizerConfig, ScheduleConfig  # noqa: E402

RTOL = 1e-12
SIZES = [7, 11, 6, 4]
ACTIVATIONS = ["tanh", "relu", "identity"]
BATCH = 16
TORCH_ACT = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}

# (fastmlp OptimizerConfig fields, torch.optim class, its keyword arguments)
OPTIMIZERS = {
    "sgd": (dict(name="sgd", lr=0.1), torch.optim.SGD, dict(lr=0.1)),
    "sgd-momentum": (dict(name="sgd", lr=0.05, momentum=0.9), torch.optim.SGD,
                     dict(lr=0.05, momentum=0.9)),
    "sgd-nesterov-wd": (dict(name="sgd", lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
                        torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    "adam": (dict(name="adam", lr=0.01), torch.optim.Adam, dict(lr=0.01)),
    "adam-wd": (dict(name="adam", lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.05),
                torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    "adamw": (dict(name="adamw", lr=0.01, weight_decay=0.1), torch.optim.AdamW,
              dict(lr=0.01, weight_decay=0.1)),
    "rmsprop": (dict(name="rmsprop", lr=0.01), torch.optim.RMSprop, dict(lr=0.01)),
    "rmsprop-momentum-wd": (dict(name="rmsprop", lr=0.005, smoothing=0.9, momentum=0.7, weight_decay=0.01),
                            torch.optim.RMSprop, dict(lr=0.005, alpha=0.9, momentum=0.7, weight_decay=0.01)),
}

# Cases that wait for engine fields (dampening, centered, clip_norm): they run as soon as
# OptimizerConfig has the field; clip_norm is torch.nn.utils.clip_grad_norm_ over all parameters.
ENGINE_EXTRAS = {
    "sgd-dampening": (dict(name="sgd", lr=0.05, momentum=0.9, dampening=0.3), torch.optim.SGD,
                      dict(lr=0.05, momentum=0.9, dampening=0.3), None),
    "rmsprop-centered": (dict(name="rmsprop", lr=0.005, centered=True, momentum=0.5),
                         torch.optim.RMSprop, dict(lr=0.005, centered=True, momentum=0.5), None),
    "adam-clip-norm": (dict(name="adam", lr=0.01, clip_norm=0.5), torch.optim.Adam, dict(lr=0.01), 0.5),
    "sgd-clip-norm": (dict(name="sgd", lr=0.1, momentum=0.9, clip_norm=0.1), torch.optim.SGD,
                      dict(lr=0.1, momentum=0.9), 0.1),
}

SCHEDULES = {
    "constant": (dict(name="constant"), None),
    "step": (dict(name="step", step_size=3, gamma=0.5),
             lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)),
    "exponential": (dict(name="exponential", gamma=0.8),
                    lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)),
}

LOSSES = {"cross_entropy": torch.nn.CrossEntropyLoss(), "mse": torch.nn.MSELoss(),
          "binary_cross_entropy": torch.nn.BCEWithLogitsLoss()}


def _data(loss, rng, n_batches):
    X = rng.normal(size=(n_batches * BATCH, SIZES[0]))
    if loss == "cross_entropy":
        Y = rng.integers(0, SIZES[-1], size=len(X))
    elif loss == "binary_cross_entropy":
        Y = (rng.random((len(X), SIZES[-1])) < 0.5).astype(np.float64)
    else:
        Y = rng.normal(size=(len(X), SIZES[-1]))
    return X, Y


def _start(rng):
    weights = [rng.normal(scale=1 / np.sqrt(a), size=(a, b)) for a, b in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.normal(scale=0.1, size=b) for b in SIZES[1:]]
    return weights, biases


def _torch_model(weights, biases):
    layers = []
    for i, (w, b) in enumerate(zip(weights, biases)):
        lin = torch.nn.Linear(*w.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)
        if ACTIVATIONS[i] in TORCH_ACT:
            layers.append(TORCH_ACT[ACTIVATIONS[i]]())
    return torch.nn.Sequential(*layers)


def _run_both(backend, opt_fields, torch_cls, torch_kwargs, sched_fields, make_sched, loss, steps,
              rng, clip_norm=None):
    weights, biases = _start(rng)
    X, Y = _data(loss, rng, steps)
    net = Network([w.copy() for w in weights], [b.copy() for b in biases], list(ACTIVATIONS), loss,
                  optimizer=OptimizerConfig(**opt_fields), schedule=ScheduleConfig(**sched_fields))
    model = _torch_model(weights, biases)
    opt = torch_cls(model.parameters(), **torch_kwargs)
    sched = make_sched(opt) if make_sched else None
    for s in range(steps):
        rows = slice(s * BATCH, (s + 1) * BATCH)
        ours_loss, _ = backend.train_step(net, np.ascontiguousarray(X[rows]), np.ascontiguousarray(Y[rows]))
        opt.zero_grad()
        target = torch.from_numpy(Y[rows])
        theirs_loss = LOSSES[loss](model(torch.from_numpy(X[rows])), target)
        theirs_loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        if sched:
            sched.step()
        # the loss is computed before the update on both sides, from identical weights
        assert ours_loss == pytest.approx(theirs_loss.item(), rel=RTOL)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for i, lin in enumerate(linears):
        w_t, b_t = lin.weight.detach().numpy().T, lin.bias.detach().numpy()
        np.testing.assert_allclose(net.weights[i], w_t, rtol=0, atol=RTOL * np.abs(w_t).max())
        np.testing.assert_allclose(net.biases[i], b_t, rtol=0, atol=RTOL * np.abs(b_t).max())


@pytest.mark.parametrize("steps", [1, 10])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_train_step_equals_torch(backend, optimizer, schedule, steps, rng):
    torch.set_num_threads(1)
    opt_fields, torch_cls, torch_kwargs = OPTIMIZERS[optimizer]
    sched_fields, make_sched = SCHEDULES[schedule]
    _run_both(backend, opt_fields, torch_cls, torch_kwargs, sched_fields, make_sched,
              "cross_entropy", steps, rng)


@pytest.mark.parametrize("loss", ["mse", "binary_cross_entropy"])
@pytest.mark.parametrize("optimizer", ["sgd-nesterov-wd", "adamw"])
def test_other_losses_equal_torch(backend, optimizer, loss, rng):
    opt_fields, torch_cls, torch_kwargs = OPTIMIZERS[optimizer]
    _run_both(backend, opt_fields, torch_cls, torch_kwargs, {"name": "constant"}, None, loss, 10, rng)


@pytest.mark.parametrize("steps", [1, 10])
@pytest.mark.parametrize("case", list(ENGINE_EXTRAS))
def test_engine_extras_equal_torch(backend, case, steps, rng):
    opt_fields, torch_cls, torch_kwargs, clip_norm = ENGINE_EXTRAS[case]
    _run_both(backend, opt_fields, torch_cls, torch_kwargs, {"name": "constant"}, None,
              "cross_entropy", steps, rng, clip_norm=clip_norm)
