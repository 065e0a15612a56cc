"""Model files lose nothing and cost nothing they do not hold.

Saving: NaN weights are refused before a good file is replaced; a SIGTERM mid-save leaves no
temporary file; a SIGKILLed writer's leftovers are removed by the next save; permission bits
follow the umask or the replaced file; a symlink's target is replaced, not the link; a bad
path is refused before any work. Loading: the member list, metadata and headers are checked
against each other before any array is decompressed or any layer built.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import fastmlp as fm


def small_model(dtype="float32"):
    m = fm.MLP([3, 5, 2], dtype=dtype, backend="numpy", seed=1)
    X = np.random.default_rng(0).standard_normal((32, 3)).astype(dtype)
    m.fit(X, (X[:, 0] > 0).astype(int), epochs=1, batch_size=8, optimizer=fm.optim.Adam(lr=0.01))
    return m


def members(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def write_zip(path, arrays, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compress) as z:
        for name, arr in arrays:
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(arr), allow_pickle=False)


def with_meta(arrays, **fields):
    meta = json.loads(str(arrays["meta"]))
    meta.update(fields)
    return {**arrays, "meta": np.array(json.dumps(meta))}


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- saving ------------------------------------------------------------------------------------

def test_save_refuses_nan_weights_and_keeps_the_good_file(tmp_path):
    m = small_model()
    m.save(tmp_path / "m.npz")
    good = (tmp_path / "m.npz").read_bytes()
    m.network.weights[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity in 'w1'.*not saved"):
        m.save(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").read_bytes() == good
    assert leftovers(tmp_path) == []


def test_save_checks_the_path_before_writing(tmp_path):
    m = small_model()
    with pytest.raises(FileNotFoundError, match="folder .*does not exist"):
        m.save(tmp_path / "missing" / "m.npz")
    with pytest.raises(ValueError, match=r"must end in \.npz"):
        m.save(tmp_path / "m.pt")
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        m.save(tmp_path / "d.npz")


def test_mode_follows_the_umask_and_the_replaced_file(tmp_path):
    m = small_model()
    old = os.umask(0o027)
    try:
        m.save(tmp_path / "new.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640  # 0666 & ~027
    target = tmp_path / "shared.npz"
    target.write_bytes(b"")
    os.chmod(target, 0o644)
    m.save(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644  # was 0600 (mkstemp's)


def test_saving_through_a_symlink_replaces_its_target(tmp_path):
    m = small_model()
    real, link = tmp_path / "real.npz", tmp_path / "link.npz"
    real.write_bytes(b"old")
    link.symlink_to(real)
    m.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert fm.MLP.load(real).layer_sizes == [3, 5, 2]


def test_sigterm_during_save_leaves_no_temporary_file(tmp_path):
    # a child saves a 16 MB model in a loop; each SIGTERM must kill it by the signal and leave
    # only whole files behind
    code = textwrap.dedent(f"""
        import sys, fastmlp as fm
        m = fm.MLP([2000, 2000, 2], backend="numpy", seed=0)
        print("ready", flush=True)
        while True:
            m.save({str(tmp_path / 'big.npz')!r})
    """)
    for delay in (0.05, 0.2, 0.35):
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == -signal.SIGTERM  # it still dies of the signal
        child.stdout.close()
        assert leftovers(tmp_path) == []
    if (tmp_path / "big.npz").exists():
        assert fm.MLP.load(tmp_path / "big.npz").layer_sizes == [2000, 2000, 2]


def test_the_next_save_removes_a_killed_writers_temporary_file(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".m.npz.{dead.pid}.abc123.tmp"  # SIGKILL leaves such a file behind
    orphan.write_bytes(b"partial")
    small_model().save(tmp_path / "m.npz")
    assert leftovers(tmp_path) == []


# --- loading -----------------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    small_model().save(tmp_path / "good.npz")
    return members(tmp_path / "good.npz")


def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_lying_layer_sizes_are_refused_before_building(saved, tmp_path):
    bad = tmp_path / "lie.npz"
    write_zip(bad, with_meta(saved, layer_sizes=[100000, 100000, 2]).items())
    def load():
        with pytest.raises(ValueError, match=r"array 'w0' is float32\(3, 5\), expected float32\(100000, 100000\)"):
            fm.MLP.load(bad)
    assert peak_bytes(load) < 10 << 20  # was: a 40 GB model built before any shape was compared


@pytest.mark.parametrize("n_layers,match", [
    (50_000, "describes 49999 layers but the file holds 2 weight arrays"),
    (1_000_000, r"metadata entry holds \d+ bytes, more than 1048576"),  # refused by its size
])
def test_absurd_layer_counts_in_the_metadata_are_refused_at_once(saved, tmp_path, n_layers, match):
    bad = tmp_path / "deep.npz"
    write_zip(bad, with_meta(saved, layer_sizes=[2] * n_layers).items())

    def load():
        with pytest.raises(ValueError, match=match):
            fm.MLP.load(bad)
    # refused from the metadata alone: no model of that depth is built (its layer objects and
    # arrays would take hundreds of MB), so loading stays within a few MB
    assert peak_bytes(load) < 10 << 20


def test_a_zip_bomb_is_refused_from_the_directory(saved, tmp_path):
    bad = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, arr in saved.items():
            with z.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
        with z.open("zzz.npy", "w", force_zip64=True) as f:  # 80 MB of zeros, ~80 KB stored
            chunk = bytes(1 << 20)
            for _ in range(80):
                f.write(chunk)
    assert bad.stat().st_size < 1 << 20
    def load():
        with pytest.raises(ValueError, match="unexpected arrays.*zzz"):
            fm.MLP.load(bad)
    assert peak_bytes(load) < 10 << 20


def test_an_inflating_expected_member_is_refused(saved, tmp_path):
    bad = tmp_path / "bomb2.npz"
    big = with_meta(saved, layer_sizes=[3000, 3000, 2], dtype="float64")
    fake = {"meta": big["meta"], "w0": np.zeros((3000, 3000)), "b0": np.zeros(3000),
            "w1": np.zeros((3000, 2)), "b1": np.zeros(2)}
    fake["meta"] = with_meta(fake, optimizer=None)["meta"]
    write_zip(bad, fake.items(), zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="'w0.npy' would inflate .* zip bomb"):
        fm.MLP.load(bad)


def test_duplicate_member_names_are_refused(saved, tmp_path):
    bad = tmp_path / "dup.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile itself warns on writing
        write_zip(bad, list(saved.items()) + [("w0", saved["w0"] * 2)])
    with pytest.raises(ValueError, match="'w0.npy' appears twice"):
        fm.MLP.load(bad)


def test_a_step_counter_near_int64_is_refused(saved, tmp_path):
    bad = tmp_path / "step.npz"
    write_zip(bad, with_meta(saved, step=2**63 - 2).items())
    with pytest.raises(ValueError, match=r"'step' must be an int in \[0, 9007199254740992\]"):
        fm.MLP.load(bad)


def test_big_endian_arrays_load_as_their_type(saved, tmp_path):
    path = tmp_path / "be.npz"
    swapped = {k: (v.astype(v.dtype.newbyteorder(">")) if v.dtype.kind == "f" else v)
               for k, v in saved.items()}
    write_zip(path, swapped.items())
    m = fm.MLP.load(path, backend="numpy")
    assert m.network.weights[0].dtype == np.float32 and m.network.weights[0].dtype.isnative
    np.testing.assert_array_equal(m.network.weights[0], saved["w0"])


def test_a_folder_is_called_a_folder(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        fm.MLP.load(tmp_path / "d.npz")


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")
def test_ctrl_c_just_after_the_temporary_file_is_created_leaves_nothing(tmp_path, monkeypatch):
    # The window between mkstemp creating the file and the writer holding its name: a
    # KeyboardInterrupt there used to orphan the temporary file.
    import tempfile

    from fastmlp import _atomic

    real = tempfile.mkstemp

    def mkstemp_then_ctrl_c(*args, **kwargs):
        made = real(*args, **kwargs)
        # To the main thread itself, which runs the handler before pthread_kill returns: inside
        # the window, whichever thread the kernel would have picked for a process-wide kill.
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        return made

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_then_ctrl_c)
    (tmp_path / "m.npz").write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        _atomic.write_atomically(tmp_path / "m.npz", lambda f: f.write(b"new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert (tmp_path / "m.npz").read_bytes() == b"old"
