"""MLP.state() and MLP.from_state: a plain dict holds the whole model, and the model it builds
trains on exactly as the original would (bitwise), without drawing random weights."""

import copy
import json

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import init as fm_init


def _trained(optimizer=None, loss="cross_entropy", **fit):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((48, 4))
    y = rng.integers(0, 3, 48) if loss == "cross_entropy" else rng.standard_normal(48)
    model = fm.MLP([4, 6, 3 if loss == "cross_entropy" else 1], loss=loss, dtype="float64",
                   backend="numpy", seed=5, l2=0.01, dropout=0.1)
    model.fit(X, y, epochs=2, batch_size=8, optimizer=optimizer or fm.optim.Adam(lr=0.01), **fit)
    return model, X, y


def _arrays(state):
    record = state["optimizer"] or {}
    return (state["weights"] + state["biases"] + record.get("slots_m", []) + record.get("slots_v", [])
            + record.get("slots_g", []))


@pytest.mark.parametrize("optimizer", [fm.optim.Adam(lr=0.01), fm.optim.RMSprop(centered=True),
                                       fm.optim.SGD(lr=0.1, momentum=0.9)])
def test_from_state_resumes_training_bit_for_bit(optimizer):
    model, X, y = _trained(optimizer, class_weight="balanced", schedule="cosine")
    twin = fm.MLP.from_state(model.state())
    model.fit(X, y, epochs=1, batch_size=8)
    twin.fit(X, y, epochs=1, batch_size=8)
    assert twin.network.step == model.network.step and twin.schedule == model.schedule
    for a, b in zip(_arrays(model.state()), _arrays(twin.state())):
        np.testing.assert_array_equal(a, b)


def test_state_is_plain_data_and_from_state_copies_it():
    model, X, _ = _trained()
    state = model.state()
    json.dumps({k: v for k, v in state.items() if k in ("config", "schedule", "fit_count")})
    json.dumps(state["optimizer"]["config"])
    assert state["config"]["backend"] == "numpy" and state["fit_count"] == 1
    assert state["config"]["dropout"] == [0.1] and state["config"]["l2"] == 0.01
    before = model.predict_proba(X)
    twin = fm.MLP.from_state(state)
    state["weights"][0][...] = 0.0  # the state holds the model's own arrays ...
    np.testing.assert_array_equal(twin.predict_proba(X), before)  # ... the new model copies
    assert not np.shares_memory(twin.weights[0], model.weights[0])


def test_from_state_draws_no_random_weights(monkeypatch):
    model, _, _ = _trained()
    state = model.state()

    def refuse(*args, **kwargs):
        raise AssertionError("from_state drew random weights")

    monkeypatch.setattr(fm_init, "initialize", refuse)
    twin = fm.MLP.from_state(state, backend="cpp" if "cpp" in fm.available_backends() else "numpy")
    np.testing.assert_array_equal(twin.weights[1], model.weights[1])


def test_an_untrained_state_has_no_optimizer_and_keeps_its_weights():
    model = fm.MLP([3, 2], loss="mse", backend="numpy", seed=1)
    twin = fm.MLP.from_state(model.state())
    assert model.state()["optimizer"] is None and twin.optimizer is None and twin.seed == 1
    np.testing.assert_array_equal(twin.weights[0], model.weights[0])


def _broken(change):
    model, _, _ = _trained()
    state = copy.deepcopy(model.state())
    change(state)
    return state


@pytest.mark.parametrize("change,error,match", [
    (lambda s: s.pop("weights"), ValueError, "lacks 'weights'"),
    (lambda s: s.update(colour=1), ValueError, r"unexpected keys \['colour'\]"),
    (lambda s: s["config"].update(loss="hinge"), ValueError, "config metadata does not describe a valid model"),
    (lambda s: s["config"].pop("seed"), ValueError, "lacks 'seed'"),
    (lambda s: s["config"].update(init="lecun"), ValueError, "init 'lecun' is unknown"),
    (lambda s: s["weights"].pop(), ValueError, "weights holds 1 arrays, the model needs 2"),
    (lambda s: s["weights"].__setitem__(0, s["weights"][0].T), ValueError, r"weights\[0\] is float64\(6, 4\)"),
    (lambda s: s["biases"].__setitem__(1, s["biases"][1].astype(np.float32)), ValueError, r"biases\[1\] is float32"),
    (lambda s: s["optimizer"]["slots_m"][2].fill(np.nan), ValueError, r"slots_m\[2\] holds NaN"),
    (lambda s: s["optimizer"].update(slots_g=s["optimizer"]["slots_m"]), ValueError, "not centered RMSprop"),
    (lambda s: s["optimizer"].update(step=-1), ValueError, "'step' must be an int"),
    (lambda s: s["optimizer"]["config"].update(name="lion"), ValueError, "unknown optimizer 'lion'"),
    (lambda s: s.update(schedule={"name": "sawtooth"}), ValueError, "bad schedule settings"),
    (lambda s: s.update(class_weight=np.array([1.0, -1.0, 1.0])), ValueError, "negative"),
    (lambda s: s.update(fit_count=True), ValueError, "'fit_count' must be an int"),
    (lambda s: s.update(weights=np.zeros((2, 4, 6))), TypeError, "weights must be a list of arrays"),
])
def test_a_bad_state_names_what_is_wrong(change, error, match):
    with pytest.raises(error, match=match):
        fm.MLP.from_state(_broken(change))


def test_from_state_refuses_what_is_no_state():
    with pytest.raises(TypeError, match="state must be a dict"):
        fm.MLP.from_state([("weights", [])])
    model, _, _ = _trained()
    with pytest.raises(ValueError, match="backend"):
        fm.MLP.from_state(model.state(), backend="gpu")
