"""Optional safetensors export/import (fastmlp.safetensors_io): bit-exact round trips of weights
and optimizer state, training resumed from a file equal to uninterrupted training, atomic saves,
and every damaged or foreign file refused with a ValueError naming it."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import fastmlp as fm

st = pytest.importorskip("safetensors.numpy", reason="safetensors is not installed")
from fastmlp.safetensors_io import load_safetensors, save_safetensors  # noqa: E402


def data(n=48):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n)


def trained(dtype="float32", backend="cpp", epochs=2):
    X, y = data()
    m = fm.MLP([6, 8, 3], dtype=dtype, backend=backend, seed=1)
    m.fit(X.astype(dtype), y, epochs=epochs, batch_size=8, optimizer=fm.optim.Adam(lr=1e-2),
          schedule="cosine")
    return m


def state(model):
    net = model.network
    return [a.tobytes() for a in net.params + net.slots_m + net.slots_v] + [net.step]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path, backend, dtype):
    name = backend.__name__.rsplit(".", 1)[-1]
    m = trained(dtype)
    save_safetensors(m, tmp_path / "m.safetensors")
    again = load_safetensors(tmp_path / "m.safetensors", backend=name)
    assert state(again) == state(m)
    assert again.layer_sizes == m.layer_sizes and again.dtype == m.dtype
    assert vars(again.network.schedule) == vars(m.network.schedule)
    assert again.backend_name == name


def test_resumed_training_equals_uninterrupted(tmp_path):
    X, y = data()
    straight = trained(epochs=2)
    straight.fit(X, y, epochs=2, batch_size=8)
    half = trained(epochs=2)
    save_safetensors(half, tmp_path / "half.safetensors")
    resumed = load_safetensors(tmp_path / "half.safetensors")
    resumed.fit(X, y, epochs=2, batch_size=8)
    assert state(resumed) == state(straight)


def test_file_is_plain_safetensors_with_fastmlp_metadata(tmp_path):
    m = trained()
    path = tmp_path / "m.safetensors"
    save_safetensors(m, path)
    tensors = st.load_file(path)
    assert sorted(tensors) == sorted([f"{k}{i}" for i in range(2) for k in "wb"]
                                     + [f"{k}{j}" for j in range(4) for k in "mv"])
    np.testing.assert_array_equal(tensors["w1"], m.weights[1])
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "fastmlp.MLP" and '"layer_sizes": [6, 8, 3]' in meta["fastmlp_meta"]


def test_untrained_model_round_trips(tmp_path):
    m = fm.MLP([3, 2], loss="mse", seed=4)
    save_safetensors(m, tmp_path / "u.safetensors")
    again = load_safetensors(tmp_path / "u.safetensors")
    assert again.optimizer is None and state(again) == state(m)


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    old = trained(epochs=1)
    save_safetensors(old, path)
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_safetensors(trained(epochs=2), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def _rewrite(tmp_path, tensors=None, metadata=None, drop=None):
    """The saved file rewritten with tensors / metadata entries replaced (or one tensor dropped)."""
    path = tmp_path / "m.safetensors"
    save_safetensors(trained(), path)
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    arrays.update(tensors or {})
    meta.update(metadata or {})
    if drop:
        arrays.pop(drop)
    path.write_bytes(st.save(arrays, metadata=meta))
    return path


def _newer_meta():
    import json

    m = trained()
    from fastmlp import io as fio  # the .npz writer's metadata, with a newer version number
    meta = {"format": fio.FORMAT, "format_version": fio.FORMAT_VERSION + 1, "layer_sizes": m.layer_sizes,
            "activations": m.hidden_activations, "loss": m.loss, "dtype": "float32", "init": "auto",
            "seed": 1}
    return json.dumps(meta)


@pytest.mark.parametrize("damage,match", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), r"not a readable safetensors file"),
    (lambda p: p.write_bytes(b"\xff" * 8 + b"{not json"), r"not a readable safetensors file"),
    (lambda p: p.write_bytes(b""), r"not a readable safetensors file"),
], ids=["truncated", "garbage-header", "empty"])
def test_damaged_files_are_refused(tmp_path, damage, match):
    path = tmp_path / "m.safetensors"
    save_safetensors(trained(), path)
    damage(path)
    with pytest.raises(ValueError, match=match) as info:
        load_safetensors(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("change,match", [
    (dict(tensors={"w0": np.zeros((5, 8), np.float32)}), r"array 'w0' is float32\(5, 8\), expected float32\(6, 8\)"),
    (dict(tensors={"b1": np.zeros(3, np.float64)}), r"array 'b1' is float64"),
    (dict(tensors={"w1": np.full((8, 3), np.inf, np.float32)}), r"array 'w1' holds NaN or infinity"),
    (dict(tensors={"extra": np.zeros(2, np.float32)}), r"unexpected arrays \['extra'\]"),
    (dict(tensors={"meta": np.zeros(2, np.float32)}), r"unexpected tensor 'meta'"),
    (dict(drop="v3"), r"missing array 'v3'"),
    (dict(metadata={"format": "something.else"}), r"not a fastmlp model"),
    (dict(metadata={"fastmlp_meta": "{oops"}), r"corrupt metadata JSON"),
    (dict(metadata={"fastmlp_meta": "NEWER"}), r"format_version \d+ is newer than this fastmlp reads"),
], ids=["wrong-shape", "wrong-dtype", "inf", "extra-tensor", "meta-tensor", "missing-slot",
        "foreign-format", "bad-json", "newer-version"])
def test_inconsistent_files_are_refused(tmp_path, change, match):
    if change.get("metadata", {}).get("fastmlp_meta") == "NEWER":
        change = dict(metadata={"fastmlp_meta": _newer_meta()})
    path = _rewrite(tmp_path, **change)
    with pytest.raises(ValueError, match=match) as info:
        load_safetensors(path)
    assert str(path) in str(info.value)


def test_foreign_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    path.write_bytes(st.save({"weight": np.ones((2, 2), np.float32)}))
    with pytest.raises(ValueError, match=r"other.safetensors: not a fastmlp model"):
        load_safetensors(path)


def test_bad_paths(tmp_path):
    with pytest.raises(ValueError, match=r"path must end in .safetensors"):
        save_safetensors(trained(), tmp_path / "m.npz")
    with pytest.raises(FileNotFoundError, match=r"no model file at"):
        load_safetensors(tmp_path / "missing.safetensors")


def test_missing_package_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match=r"pip install safetensors"):
        save_safetensors(trained(), tmp_path / "m.safetensors")
