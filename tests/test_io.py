"""Model files: exact round trips, resumable training, atomic saves, and hostile files."""

import json
import zipfile

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import io as fio


def trained_model(backend="numpy", dtype="float64"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = (X.sum(axis=1) > 0).astype(np.int64)
    m = fm.MLP([3, 5, 2], activation="tanh", dtype=dtype, backend=backend, seed=7)
    m.fit(X, y, epochs=2, batch_size=10, optimizer=fm.optim.Adam(lr=0.01))
    return m, X, y


def all_arrays(model):
    net = model.network
    return net.weights + net.biases + net.slots_m + net.slots_v


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path, dtype):
    m, X, _ = trained_model(dtype=dtype)
    path = tmp_path / "model.npz"
    m.save(path)
    back = fm.MLP.load(path, backend="numpy")
    assert back.layer_sizes == m.layer_sizes and back.activations == m.activations
    assert back.loss == m.loss and back.dtype == m.dtype
    assert back.network.step == m.network.step and back.optimizer.config == m.optimizer.config
    for a, b in zip(all_arrays(m), all_arrays(back)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))


def test_resumed_training_equals_uninterrupted(tmp_path):
    m, X, y = trained_model()
    m.save(tmp_path / "checkpoint.npz")
    m.fit(X, y, epochs=1, batch_size=10)
    resumed = fm.MLP.load(tmp_path / "checkpoint.npz", backend="numpy")
    resumed.fit(X, y, epochs=1, batch_size=10)
    for a, b in zip(all_arrays(m), all_arrays(resumed)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", ["numpy", "cpp"])
@pytest.mark.parametrize("schedule", [
    fm.optim.CosineSchedule(total_steps=40, warmup_steps=5, min_lr=1e-4),
    fm.optim.StepSchedule(step_size=3, gamma=0.5),
    fm.optim.InvScalingSchedule(power_t=0.3),
])
def test_resumed_scheduled_training_equals_uninterrupted(tmp_path, backend, schedule):
    """The schedule is stored in the metadata and counts from the saved step, so a resumed
    scheduled run takes the same rates as one that never stopped."""
    if backend not in fm.backends.available_backends():
        pytest.skip(f"backend {backend} not available")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 3))
    y = (X.sum(axis=1) > 0).astype(np.int64)
    m = fm.MLP([3, 5, 2], activation="tanh", dtype="float64", backend=backend, seed=7)
    m.fit(X, y, epochs=2, batch_size=10, optimizer=fm.optim.SGD(lr=0.1, momentum=0.9),
          schedule=schedule)
    m.save(tmp_path / "checkpoint.npz")
    m.fit(X, y, epochs=1, batch_size=10)
    resumed = fm.MLP.load(tmp_path / "checkpoint.npz", backend=backend)
    assert resumed.schedule == m.schedule and resumed.schedule.name == schedule.name
    resumed.fit(X, y, epochs=1, batch_size=10)
    for a, b in zip(all_arrays(m), all_arrays(resumed)):
        np.testing.assert_array_equal(a, b)


def test_files_without_a_schedule_load_as_constant(saved, tmp_path):
    def drop(arrays):
        meta = json.loads(str(arrays["meta"]))
        del meta["schedule"]
        arrays["meta"] = np.array(json.dumps(meta))
    back = fm.MLP.load(rewrite(saved, tmp_path / "old.npz", drop), backend="numpy")
    assert back.schedule.name == "constant"


def test_untrained_model_round_trips_without_optimizer(tmp_path):
    m = fm.MLP([4, 3, 1], loss="mse", backend="numpy")
    m.save(tmp_path / "fresh.npz")
    back = fm.MLP.load(tmp_path / "fresh.npz", backend="numpy")
    assert back.optimizer is None
    np.testing.assert_array_equal(back.weights[1], m.weights[1])


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    m, _, _ = trained_model()
    path = tmp_path / "model.npz"
    m.save(path)
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fio.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        m.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


def rewrite(path, out, change):
    """Copy a model file, letting ``change(arrays)`` edit the dict of arrays first."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    np.savez(out, **arrays)
    return out


def set_meta(**fields):
    def change(arrays):
        meta = json.loads(str(arrays["meta"]))
        meta.update(fields)
        arrays["meta"] = np.array(json.dumps(meta))
    return change


@pytest.fixture
def saved(tmp_path):
    m, _, _ = trained_model()
    m.save(tmp_path / "good.npz")
    return tmp_path / "good.npz"


@pytest.mark.parametrize(
    "change, match",
    [
        (set_meta(format_version=99), "newer"),
        (set_meta(format="something.else"), "not a fastmlp model"),
        (set_meta(layer_sizes=[3, 6, 2]), "w0"),
        (set_meta(dtype="float32"), "w0"),
        (set_meta(activations=["swish"]), "metadata"),
        (set_meta(step=-3), "step"),
        (set_meta(schedule={"name": "cosine", "total_steps": 5, "warmup_steps": 9}), "warmup_steps"),
        (set_meta(schedule={"name": "sawtooth"}), "schedule"),
        (set_meta(schedule={"name": "step", "colour": 1}), "schedule"),
        (lambda a: a.pop("b1"), "b1"),
        (lambda a: a.pop("meta"), "meta"),
        (lambda a: a.update(w0=a["w0"][:, :2]), "w0"),
        (lambda a: a.update(w0=a["w0"].astype(np.float32)), "w0"),
        (lambda a: a.update(w1=np.full_like(a["w1"], np.nan)), "NaN"),
        (lambda a: a.update(extra=np.zeros(3)), "unexpected"),
        (lambda a: a.update(meta=np.array("{not json")), "JSON"),
        (set_meta(l2=-1.0), "metadata does not describe a valid model.*l2"),
        (set_meta(alpha=0.1), "metadata does not describe a valid model.*both 'l2' and 'alpha'"),
        (set_meta(dropout=[1.5]), "metadata does not describe a valid model.*dropout"),
        (lambda a: a.update(class_weight=np.array([1.0, -1.0])), "negative"),
        (lambda a: a.update(class_weight=np.ones(3)), "class_weight"),
        (lambda a: a.update(g0=np.zeros((3, 5))), "unexpected"),  # g slots without centered RMSprop
    ],
)
def test_inconsistent_files_are_rejected(saved, tmp_path, change, match):
    bad = rewrite(saved, tmp_path / "bad.npz", change)
    with pytest.raises(ValueError, match=match):
        fm.MLP.load(bad, backend="numpy")


def test_pickled_objects_are_refused(saved, tmp_path):
    bad = rewrite(saved, tmp_path / "pickled.npz", lambda a: a.update(w0=np.array([{"x": 1}], dtype=object)))
    with pytest.raises(ValueError, match="pickled.npz"):
        fm.MLP.load(bad, backend="numpy")


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, 0.9])
def test_truncated_files_are_rejected(saved, tmp_path, keep):
    data = saved.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[:cut])
    with pytest.raises(ValueError, match="truncated.npz"):
        fm.MLP.load(bad, backend="numpy")


def test_corrupt_bytes_are_rejected(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    for i in range(200, len(data) - 200, 97):
        data[i] ^= 0xFF
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt.npz"):
        fm.MLP.load(bad, backend="numpy")


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        fm.MLP.load(tmp_path / "nothing.npz", backend="numpy")
    with pytest.raises(ValueError, match=".npz"):
        fm.MLP([2, 1], loss="mse", backend="numpy").save(tmp_path / "model.pkl")


def test_file_is_a_plain_zip_of_npy(saved):
    with zipfile.ZipFile(saved) as z:
        assert sorted(z.namelist())[:3] == ["b0.npy", "b1.npy", "m0.npy"]


def test_version_1_files_load_with_the_old_behaviour(saved, tmp_path):
    """A file written before format version 2: no l2, dropout or class weights, and an
    optimizer record without dampening, centered or clip_norm."""
    def to_v1(arrays):
        meta = json.loads(str(arrays["meta"]))
        meta["format_version"] = 1
        for key in ("l2", "dropout"):
            meta.pop(key)
        for key in ("dampening", "centered", "clip_norm"):
            meta["optimizer"].pop(key)
        arrays["meta"] = np.array(json.dumps(meta))
    old = rewrite(saved, tmp_path / "v1.npz", to_v1)
    model = fm.MLP.load(old, backend="numpy")
    assert model.l2 == 0.0 and model.network.dropout == [] and model.network.class_weight is None
    opt = model.network.optimizer
    assert (opt.dampening, opt.centered, opt.clip_norm) == (0.0, False, None)
    assert model.network.slots_g == []
    current = fm.MLP.load(saved, backend="numpy")
    for a, b in zip(all_arrays(model), all_arrays(current)):
        np.testing.assert_array_equal(a, b)


def test_files_with_the_old_alpha_names_load(tmp_path):
    """Files saved before the renames hold the L2 penalty as "alpha" and RMSprop's smoothing as
    the optimizer's "alpha": they load to the same model, resume bit for bit, and save again
    under the new names."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((64, 3))
    y = (X.sum(axis=1) > 0).astype(np.int64)
    m = fm.MLP([3, 5, 2], activation="tanh", dtype="float64", backend="numpy", seed=7, l2=0.01)
    m.fit(X, y, epochs=2, batch_size=10, optimizer=fm.optim.RMSprop(alpha=0.9, momentum=0.5))
    m.save(tmp_path / "new.npz")

    def to_old_names(arrays):
        meta = json.loads(str(arrays["meta"]))
        meta["alpha"] = meta.pop("l2")
        meta["optimizer"]["alpha"] = meta["optimizer"].pop("smoothing")
        arrays["meta"] = np.array(json.dumps(meta))
    old = fm.MLP.load(rewrite(tmp_path / "new.npz", tmp_path / "old.npz", to_old_names), backend="numpy")
    assert old.l2 == 0.01 and old.network.optimizer.smoothing == 0.9
    assert old.optimizer.config == m.optimizer.config
    m.fit(X, y, epochs=1, batch_size=10)
    old.fit(X, y, epochs=1, batch_size=10)
    for a, b in zip(all_arrays(m), all_arrays(old)):
        np.testing.assert_array_equal(a, b)
    old.save(tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz", allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    assert meta["l2"] == 0.01 and meta["optimizer"]["smoothing"] == 0.9
    assert "alpha" not in meta and "alpha" not in meta["optimizer"]


def test_centered_rmsprop_file_needs_its_g_slots(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((32, 3)), rng.integers(0, 2, 32)
    m = fm.MLP([3, 4, 2], backend="numpy")
    m.fit(X, y, epochs=1, optimizer=fm.optim.RMSprop(centered=True))
    m.save(tmp_path / "m.npz")
    bad = rewrite(tmp_path / "m.npz", tmp_path / "bad.npz", lambda a: a.pop("g1"))
    with pytest.raises(ValueError, match="g1"):
        fm.MLP.load(bad, backend="numpy")


def test_the_format_writes_and_reads_plain_state_dicts(tmp_path):
    """io knows files, not models: a state dict goes in and the same dict comes out (the
    backend is the loader's choice, so files leave it out)."""
    m, _, _ = trained_model()
    state = m.state()
    fio.write_state(state, tmp_path / "state.npz")
    back = fio.read_state(tmp_path / "state.npz")
    assert back["config"] == {k: v for k, v in state["config"].items() if k != "backend"}
    assert (back["schedule"], back["fit_count"]) == (state["schedule"], state["fit_count"])
    assert back["optimizer"]["config"] == state["optimizer"]["config"]
    assert back["optimizer"]["step"] == state["optimizer"]["step"] and back["class_weight"] is None

    def arrays(s):
        o = s["optimizer"]
        return s["weights"] + s["biases"] + o["slots_m"] + o["slots_v"] + o["slots_g"]
    assert len(arrays(back)) == len(arrays(state)) == 12
    for a, b in zip(arrays(state), arrays(back)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
