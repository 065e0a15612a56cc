"""Inputs that used to give silently wrong results, tracebacks or misleading messages:
loss targets outside the loss's domain, a corrupt MNIST label file, the command line's user
errors, messages that describe the input wrongly, and the memory a freshly built model costs."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import datasets as ds
from fastmlp.cli import main as cli_main


# --- loss targets --------------------------------------------------------------------------------

def test_cross_entropy_2d_targets_must_be_distributions(backend):
    out = np.zeros((2, 3))
    with pytest.raises(ValueError, match="rows must sum to 1 .*row 1 sums to 3"):
        backend.loss_forward_backward("cross_entropy", out, np.array([[1.0, 0, 0], [1, 1, 1]]))
    with pytest.raises(ValueError, match="target must be >= 0 for cross_entropy"):
        backend.loss_forward_backward("cross_entropy", out, np.array([[2.0, -1, 0], [1, 0, 0]]))
    loss, _ = backend.loss_forward_backward("cross_entropy", out, np.array([[0.2, 0.3, 0.5], [0, 1, 0]]))
    assert loss == pytest.approx(np.log(3))  # a proper distribution is still accepted


def test_binary_cross_entropy_targets_lie_in_unit_interval(backend):
    out = np.zeros((2, 1))
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\] for binary_cross_entropy.*\[-3.0, 7.0\]"):
        backend.loss_forward_backward("binary_cross_entropy", out, np.array([[7.0], [-3.0]]))


def test_fit_refuses_targets_a_loss_cannot_mean():
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
        fm.MLP([2, 1], loss="binary_cross_entropy").fit(X, np.array([7.0, -3, 0, 1]), epochs=1)
    with pytest.raises(ValueError, match="y rows must sum to 1"):
        fm.MLP([2, 2]).fit(X, np.array([[3.0, 1], [0, 1], [1, 0], [1, 0]]), epochs=1)


def test_a_nan_label_is_called_nan_not_a_dtype():
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        fm.MLP([2, 2]).fit(np.ones((3, 2)), np.array([0.0, np.nan, 1.0]), epochs=1)


def test_a_finite_value_beyond_float32_is_not_called_nan():
    X = np.ones((3, 2))
    X[1, 0] = 1e300
    with pytest.raises(ValueError, match="beyond float32's range .*1e\\+300"):
        fm.MLP([2, 2]).fit(X, np.array([0, 1, 0]), epochs=1)


def test_big_endian_float32_is_called_float32(backend):
    x = np.ones((2, 2), ">f4")
    with pytest.raises(TypeError, match=r"a must have dtype float32 or float64 in native byte order, got float32 in big-endian"):
        backend.matmul(x, np.ones((2, 2), np.float32))


# --- data files ----------------------------------------------------------------------------------

def _idx(arr: np.ndarray) -> bytes:
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(">u1").tobytes()


def _mnist_dir(root, labels, test_side=28):
    root.mkdir()
    for split, side in (("train", 28), ("t10k", test_side)):
        (root / f"{split}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(_idx(np.zeros((len(labels), side, side), np.uint8))))
        (root / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(np.asarray(labels))))
    return root


def test_a_corrupt_mnist_label_file_is_refused(tmp_path):
    d = _mnist_dir(tmp_path / "m", [0, 1, 255, 3])
    with pytest.raises(ValueError, match="holds label 255; MNIST labels are the digits 0 to 9"):
        ds.load_mnist(d, kind="train")  # was: a 256-class model without a word


# --- the command line ----------------------------------------------------------------------------

@pytest.mark.parametrize("args,code,message", [
    (["--threads", "5000"], 2, "--threads: expected a positive integer up to 1024"),
    (["--seed", str(10**23)], 2, "--seed: expected an integer from 0 to 2\\*\\*64 - 1"),
    (["--lr", "1e30"], 1, "training diverged .*try a smaller --lr"),
    (["--layers", "100000000,100000000"], 1, "parameters do not fit in memory"),
    (["--save", "missing-folder/m.npz"], 1, "--save .*folder 'missing-folder' does not exist"),
    (["--save", "m.pt"], 1, r"--save must end in \.npz"),
])
def test_user_errors_get_one_line_not_a_traceback(args, code, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    got = cli_main(["train", "--dataset", "xor", "--epochs", "3", "--quiet", *args])
    err = capsys.readouterr().err
    assert got == code
    assert "Traceback" not in err
    import re

    assert re.search(message, err), err


def test_save_is_checked_before_training(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert cli_main(["train", "--dataset", "xor", "--epochs", "3", "--save", "nope/m.npz"]) == 1
    assert "test accuracy" not in capsys.readouterr().out  # nothing trained, nothing lost


def test_test_images_of_another_size_are_a_clear_error(tmp_path, capsys):
    d = _mnist_dir(tmp_path / "m", [0, 1, 2, 3], test_side=20)
    assert cli_main(["train", "--dataset", "mnist", "--data-dir", str(d), "--epochs", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "test data has 400 features per row, the training data 784" in err and "Traceback" not in err


# --- memory --------------------------------------------------------------------------------------

def test_building_a_big_model_costs_about_its_weights():
    # VmHWM (peak resident memory) in a fresh process; was 3x the weights (a float64 draw, a
    # temporary, and two zero-filled optimizer slots)
    code = """
import numpy as np, fastmlp as fm
from fastmlp.backends import numpy as _
def hwm(): return int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) * 1024
base = hwm()
fm.MLP([4096, 4096, 10], backend='numpy')
print((hwm() - base) / (4096 * 4096 * 4))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 1.5  # 1 for the weights, plus an 8 MiB float64 block (0.125)


def test_the_blockwise_draw_equals_one_draw():
    from fastmlp import init

    for he in (True, False):
        for dtype in (np.float32, np.float64):
            want = (init.he_normal if he else init.glorot_uniform)(3000, 700, np.random.default_rng(5))
            got = init._draw(3000, 700, np.random.default_rng(5), he, np.dtype(dtype))
            assert got.tobytes() == want.astype(dtype).tobytes()  # bitwise: same stream, same rounding


# --- integers beyond C++ ------------------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda b: b.dropout_mask(1, 2**64, 0, 0.5, (2, 2), np.float32), r"step must be <= 9223372036854775807"),
    (lambda b: b.dropout_mask(1, 1, 2**70, 0.5, (2, 2), np.float32), r"layer must be <= "),
    (lambda b: b.dropout_mask(2**64, 1, 0, 0.5, (2, 2), np.float32), r"seed must be <= 18446744073709551615"),
    (lambda b: b.scheduled_lr(0.1, fm.optim.CosineSchedule(10).config, 2**64), r"t must be <= "),
])
def test_integers_beyond_int64_are_named(backend, call, match):
    with pytest.raises(ValueError, match=match):  # was: nanobind's "incompatible function arguments"
        call(backend)


def test_model_integers_beyond_their_range_are_named():
    with pytest.raises(ValueError, match="seed must be <= 18446744073709551615"):
        fm.MLP([2, 2], seed=2**64)
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="step_size must be <= "):
        fm.MLP([2, 2]).fit(X, y, epochs=1, schedule=fm.optim.StepSchedule(2**63))
    m = fm.MLP([2, 2])
    m.fit(X, y, epochs=1)
    m.network.step = 2**63  # was: OverflowError "Python int too large to convert to C long"
    with pytest.raises(ValueError, match="step must be <= 9007199254740992"):
        m.fit(X, y, epochs=1)
