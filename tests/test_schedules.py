"""Learning-rate schedules: the formula against hand-computed rates, every backend's steps and
epochs against the NumPy oracle under every schedule, an epoch against its steps, bad fields, the
public API, and (when torch is importable) torch.optim.lr_scheduler."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import checks as check
from fastmlp.backends import ScheduleConfig
from fastmlp.backends import numpy as oracle_module
from test_train_agreement import (N_ROWS, OPTIMIZERS, SIZES, assert_networks_agree, make_data,
                                  make_network, up_y, upcast)
from tolerances import train_rtol

scheduled_lr = oracle_module.scheduled_lr

# Rates change within the 10 updates the tests run; cosine passes total_steps and clamps.
SCHEDULES = {
    "constant": ScheduleConfig(),
    "step": ScheduleConfig("step", step_size=3, gamma=0.5),
    "exponential": ScheduleConfig("exponential", gamma=0.8),
    "cosine": ScheduleConfig("cosine", total_steps=8, warmup_steps=3, min_lr=1e-3),
    "cosine_no_warmup": ScheduleConfig("cosine", total_steps=6),
    "invscaling": ScheduleConfig("invscaling", power_t=0.5),
}
SCHEDULED_OPTIMIZERS = ["sgd_nesterov_wd", "adamw", "rmsprop_momentum"]


def scheduled_network(schedule, opt="sgd_nesterov_wd", dtype=np.float64, seed=0, loss="mse"):
    net = make_network(loss=loss, optimizer=OPTIMIZERS[opt], dtype=dtype, seed=seed)
    net.schedule = ScheduleConfig(**vars(SCHEDULES[schedule]))
    return net


# --- the formula --------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule, t, want", [
    ("constant", 1, 0.1), ("constant", 1000, 0.1),
    ("step", 1, 0.1), ("step", 3, 0.1), ("step", 4, 0.05), ("step", 6, 0.05), ("step", 7, 0.025),
    ("exponential", 1, 0.1), ("exponential", 2, 0.08), ("exponential", 4, 0.1 * 0.512),
    # warmup: 0.1 * t / 3; then 0.001 + 0.099 * (1 + cos(pi * (t - 3) / 5)) / 2
    ("cosine", 1, 0.1 / 3), ("cosine", 2, 0.2 / 3), ("cosine", 3, 0.1),
    ("cosine", 4, 0.001 + 0.099 * (1 + math.cos(math.pi / 5)) / 2),
    ("cosine", 5, 0.001 + 0.099 * (1 + math.cos(2 * math.pi / 5)) / 2),
    ("cosine", 8, 0.001), ("cosine", 9, 0.001), ("cosine", 10**6, 0.001),
    ("cosine_no_warmup", 3, 0.05), ("cosine_no_warmup", 6, 0.0),
    ("invscaling", 1, 0.1), ("invscaling", 4, 0.05), ("invscaling", 100, 0.01),
])
def test_scheduled_lr_hand_computed(backend, schedule, t, want):
    got = backend.scheduled_lr(0.1, SCHEDULES[schedule], t)
    assert type(got) is float
    assert got == pytest.approx(want, rel=1e-15, abs=1e-18)


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_scheduled_lr_same_bits_in_every_backend(backend, schedule):
    """The three implementations do the same float64 operations in the same order."""
    for t in [1, 2, 3, 4, 5, 7, 8, 9, 50, 12345]:
        assert backend.scheduled_lr(0.37, SCHEDULES[schedule], t) == scheduled_lr(0.37, SCHEDULES[schedule], t)


def test_cosine_ends_at_min_lr_and_peaks_after_warmup():
    s = ScheduleConfig("cosine", total_steps=100, warmup_steps=10, min_lr=1e-4)
    rates = [scheduled_lr(0.01, s, t) for t in range(1, 121)]
    assert rates[9] == 0.01 and max(rates) == 0.01  # peak exactly at t = warmup_steps
    assert rates[99] == 1e-4 and all(r == 1e-4 for r in rates[99:])
    assert all(a < b for a, b in zip(rates[:9], rates[1:10]))  # warmup rises
    assert all(a > b for a, b in zip(rates[9:99], rates[10:100]))  # cosine falls


# --- training under a schedule agrees with the oracle -------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", SCHEDULED_OPTIMIZERS)
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_scheduled_train_steps_agree(backend, oracle, dtype, opt, schedule):
    net = scheduled_network(schedule, opt, dtype)
    ref = upcast(net)
    X, Y = make_data("mse", dtype)
    rtol = train_rtol(dtype, work=4 * (6 + sum(SIZES)))
    for k in range(4):
        rows = slice(6 * k, min(6 * k + 6, N_ROWS))
        loss, _ = backend.train_step(net, X[rows], Y[rows])
        ref_loss, _ = oracle.train_step(ref, X[rows].astype(np.float64), up_y(Y[rows]))
        tag = f"{backend.__name__} {np.dtype(dtype).name} {opt} {schedule} step {k + 1}"
        np.testing.assert_allclose(loss, ref_loss, rtol=rtol, err_msg=tag)
        assert_networks_agree(net, ref, rtol, tag)
    assert net.step == 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", SCHEDULED_OPTIMIZERS)
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_scheduled_train_epochs_agree(backend, oracle, dtype, opt, schedule):
    """Two epochs of 5 batches: 10 updates, past every schedule's first change."""
    net = scheduled_network(schedule, opt, dtype, seed=3, loss="cross_entropy")
    ref = upcast(net)
    X, Y = make_data("cross_entropy-labels", dtype, seed=4)
    rng = np.random.default_rng(5)
    rtol = train_rtol(dtype, work=10 * (5 + sum(SIZES)))
    for epoch in range(2):
        order = rng.permutation(N_ROWS)
        mean_loss, correct = backend.train_epoch(net, X, Y, order, 5)
        ref_loss, ref_correct = oracle.train_epoch(ref, X.astype(np.float64), Y, order, 5)
        tag = f"{backend.__name__} {np.dtype(dtype).name} {opt} {schedule} epoch {epoch + 1}"
        np.testing.assert_allclose(mean_loss, ref_loss, rtol=rtol, err_msg=tag)
        assert correct == ref_correct, tag
        assert_networks_agree(net, ref, rtol, tag)
    assert net.step == 10


@pytest.mark.parametrize("schedule", [s for s in SCHEDULES if s != "constant"])
def test_schedule_changes_training(oracle, schedule):
    """The schedule is really applied: the same steps without it end elsewhere."""
    net = scheduled_network(schedule)
    plain = net.copy()
    plain.schedule = ScheduleConfig()
    X, Y = make_data("mse", np.float64)
    for k in range(0, 20, 5):
        oracle.train_step(net, X[k:k + 5], Y[k:k + 5])
        oracle.train_step(plain, X[k:k + 5], Y[k:k + 5])
    assert not np.allclose(net.weights[0], plain.weights[0], rtol=1e-9, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_scheduled_epoch_equals_its_steps(backend, dtype, schedule):
    net = scheduled_network(schedule, "adamw", dtype, seed=11, loss="cross_entropy")
    net.step = 2  # a schedule counts from the network's step, not from the epoch's start
    X, Y = make_data("cross_entropy-labels", dtype, seed=12)
    order = np.random.default_rng(13).permutation(N_ROWS)
    by_steps = net.copy()
    mean_loss, _ = backend.train_epoch(net, X, Y, order, 4)
    total = 0.0
    for i in range(0, N_ROWS, 4):
        rows = order[i:i + 4]
        loss, _ = backend.train_step(by_steps, X[rows], Y[rows])
        total += loss * len(rows)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(mean_loss, total / N_ROWS, rtol=rtol)
    assert_networks_agree(net, by_steps, rtol, f"{backend.__name__} {schedule} epoch vs steps")


# --- bad fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, name", [
    (dict(name="sawtooth"), "schedule"),
    (dict(name="step", step_size=0), "step_size"),
    (dict(name="step", gamma=0.0), "gamma"),
    (dict(name="exponential", gamma=1.5), "gamma"),
    (dict(name="exponential", gamma=float("nan")), "gamma"),
    (dict(name="cosine", total_steps=0), "total_steps"),
    (dict(name="cosine", warmup_steps=-1, total_steps=5), "warmup_steps"),
    (dict(name="cosine", warmup_steps=5, total_steps=5), "warmup_steps"),
    (dict(name="cosine", total_steps=5, min_lr=-1e-3), "min_lr"),
    (dict(name="invscaling", power_t=-0.5), "power_t"),
])
def test_bad_schedule_fields_raise_naming_the_field(backend, fields, name):
    bad = ScheduleConfig(**fields)
    with pytest.raises(ValueError, match=name):
        check.schedule_config(bad)
    net = make_network()
    net.schedule = bad
    before = [w.copy() for w in net.weights]
    X, Y = make_data("mse", np.float64)
    with pytest.raises(ValueError, match=name):
        backend.train_step(net, X[:4], Y[:4])
    with pytest.raises(ValueError, match=name):
        backend.train_epoch(net, X, Y, np.arange(N_ROWS), 4)
    with pytest.raises(ValueError, match=name):
        backend.scheduled_lr(0.1, bad, 1)
    assert net.step == 0 and all(np.array_equal(a, b) for a, b in zip(before, net.weights))


def test_bad_fields_in_the_public_api():
    with pytest.raises(ValueError, match="step_size"):
        fm.optim.StepSchedule(step_size=0)
    with pytest.raises(ValueError, match="gamma"):
        fm.optim.ExponentialSchedule(gamma=2.0)
    with pytest.raises(ValueError, match="warmup_steps"):
        fm.optim.CosineSchedule(total_steps=10, warmup_steps=10)
    with pytest.raises(ValueError, match="power_t"):
        fm.optim.InvScalingSchedule(power_t=-1)
    with pytest.raises(TypeError, match="step_size"):
        fm.optim.StepSchedule(step_size=2.5)
    with pytest.raises(ValueError, match="choose one of"):
        fm.optim.get_schedule("sawtooth")
    with pytest.raises(ValueError, match="StepSchedule"):
        fm.optim.get_schedule("step")


# --- public API ---------------------------------------------------------------------------------


def test_fit_with_a_cosine_name_fills_total_steps():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    m = fm.MLP([3, 4, 2], activation="tanh", backend="numpy", dtype="float64", seed=0)
    m.fit(X, y, epochs=3, batch_size=8, optimizer=fm.optim.SGD(lr=0.1), schedule="cosine")
    assert m.schedule.name == "cosine" and m.schedule.total_steps == 3 * 7 == m.network.step
    assert scheduled_lr(0.1, m.schedule, m.network.step) == 0.0  # the last update took min_lr
    # None keeps the schedule; a new one replaces it
    m.fit(X, y, epochs=1, batch_size=8)
    assert m.schedule.name == "cosine" and m.network.step == 28
    m.fit(X, y, epochs=1, batch_size=8, schedule=fm.optim.StepSchedule(2, gamma=0.5))
    assert m.schedule == ScheduleConfig("step", step_size=2, gamma=0.5)


def test_schedule_objects():
    s = fm.optim.StepSchedule(step_size=2, gamma=0.5)
    assert [s.lr(1.0, t) for t in (1, 2, 3, 5)] == [1.0, 1.0, 0.5, 0.25]
    assert repr(s) == "StepSchedule(step_size=2, gamma=0.5)"
    assert "total_steps=None" in repr(fm.optim.CosineSchedule(warmup_steps=3))
    assert fm.optim.get_schedule("invscaling").config == ScheduleConfig("invscaling")
    assert fm.optim.get_schedule("constant").config == ScheduleConfig()


@pytest.mark.parametrize("name", ["cpp", "numba"])
def test_model_fit_with_schedule_agrees_across_backends(name):
    if name not in fm.backends.available_backends():
        pytest.skip(f"backend {name} not available")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 3))
    y = (X[:, 1] > 0).astype(np.int64)
    models = []
    for backend in ("numpy", name):
        m = fm.MLP([3, 5, 2], activation="relu", backend=backend, dtype="float64", seed=1)
        m.fit(X, y, epochs=2, batch_size=6, optimizer=fm.optim.Adam(lr=0.05),
              schedule=fm.optim.CosineSchedule(warmup_steps=4, min_lr=1e-3))
        models.append(m)
    for a, b in zip(models[0].weights, models[1].weights):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


# --- against torch.optim.lr_scheduler -----------------------------------------------------------


def _torch_rates(make_scheduler, n_updates, base_lr=0.1):
    """The rate torch uses for updates 1..n_updates with scheduler.step() after every update."""
    torch = pytest.importorskip("torch", reason="torch is not installed: no comparison with its schedulers")
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = make_scheduler(torch.optim.lr_scheduler, opt)
    rates = []
    for _ in range(n_updates):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def test_step_and_exponential_match_torch():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        step = _torch_rates(lambda S, o: S.StepLR(o, step_size=3, gamma=0.5), 20)
        expo = _torch_rates(lambda S, o: S.ExponentialLR(o, gamma=0.8), 20)
    for t in range(1, 21):
        assert scheduled_lr(0.1, SCHEDULES["step"], t) == pytest.approx(step[t - 1], rel=1e-12)
        assert scheduled_lr(0.1, SCHEDULES["exponential"], t) == pytest.approx(expo[t - 1], rel=1e-12)


def test_cosine_with_warmup_matches_torch_one_update_ahead():
    """Warmup equals LambdaLR((e + 1) / w); the cosine part equals torch's SequentialLR with
    CosineAnnealingLR(T_max=T - w) one update later (numpy.scheduled_lr's docstring)."""
    import warnings

    w, T, n = 3, 8, 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_rates = _torch_rates(lambda S, o: S.SequentialLR(o, [
            S.LambdaLR(o, lambda e: (e + 1) / w),
            S.CosineAnnealingLR(o, T_max=T - w, eta_min=1e-3)], milestones=[w]), n + 1)
    s = SCHEDULES["cosine"]
    for t in range(1, w + 1):
        assert scheduled_lr(0.1, s, t) == pytest.approx(torch_rates[t - 1], rel=1e-12)
    for t in range(w + 1, T + 1):
        assert scheduled_lr(0.1, s, t) == pytest.approx(torch_rates[t], rel=1e-12, abs=1e-15)


def test_invscaling_is_scikit_learns_formula():
    """scikit-learn: learning_rate_init / pow(t, power_t) (per epoch there, per update here)."""
    sgd = pytest.importorskip("sklearn.neural_network._stochastic_optimizers",
                              reason="scikit-learn is not installed")
    params = [np.zeros(2)]
    opt = sgd.SGDOptimizer(params, learning_rate_init=0.1, lr_schedule="invscaling", power_t=0.5)
    for t in (1, 4, 9, 100):
        opt.iteration_ends(t - 1)  # scikit-learn sets the rate from (time_step + 1) ** power_t
        assert scheduled_lr(0.1, SCHEDULES["invscaling"], t) == pytest.approx(opt.learning_rate, rel=1e-15)
