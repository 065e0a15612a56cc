"""The ``fastmlp`` command line: info, train on every kind of data set, option errors, --save."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastmlp
from fastmlp import backends
from fastmlp.cli import main

PYTHON_DIR = str(Path(fastmlp.__file__).resolve().parents[1])


def _float(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not found in:\n{text}"
    return float(m.group(1))


# --- info -----------------------------------------------------------------------------------


def test_info_in_process(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "fastmlp:" in out and fastmlp.__version__ in out
    for label in ("Python:", "NumPy:", "backends:", "CPU features:"):
        assert label in out
    assert "numpy" in out.split("backends:")[1].splitlines()[0]


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out[out.index("{"):])
    assert data["fastmlp"] == fastmlp.__version__ and "numpy" in data["backends"]
    assert isinstance(data["cpu_flags"], list)


def test_info_subprocess():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [PYTHON_DIR, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "fastmlp.cli", "info"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "fastmlp:" in proc.stdout and "NumPy:" in proc.stdout


def test_version_and_no_command(capsys):
    assert main(["--version"]) == 0
    assert fastmlp.__version__ in capsys.readouterr().out
    assert main([]) == 2
    assert "train" in capsys.readouterr().err


# --- train on generated data ----------------------------------------------------------------


def test_train_xor_numpy_reaches_100_percent(capsys):
    assert main(["train", "--dataset", "xor", "--epochs", "100", "--backend", "numpy", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert _float(r"test accuracy ([0-9.]+)", out) == 1.0
    assert "wall time" in out
    assert "epoch" not in out.split("wall time")[0]  # --quiet: no header, no progress


@pytest.mark.parametrize("dataset, minimum", [("moons", 0.95), ("circles", 0.95), ("spirals", 0.85)])
def test_train_toy_classifiers(capsys, dataset, minimum):
    assert main(["train", "--dataset", dataset, "--backend", "numpy", "--quiet"]) == 0
    assert _float(r"test accuracy ([0-9.]+)", capsys.readouterr().out) >= minimum


def test_train_house_prices_reports_rmse_and_r2(capsys):
    argv = ["train", "--dataset", "house-prices", "--backend", "numpy", "--epochs", "60", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert _float(r"R\^2 ([-0-9.]+)", out) > 0.8
    assert _float(r"test RMSE ([0-9.]+)", out) > 0


def test_train_options_are_used(capsys):
    argv = ["train", "--dataset", "moons", "--n-samples", "120", "--layers", "5,3", "--activation", "tanh",
            "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--epochs", "3", "--batch-size", "7",
            "--dtype", "float64", "--backend", "numpy", "--seed", "4"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "86 train + 10 validation (held out of the 96 training rows), 24 test (scored once, after training)" in out
    assert "2-5-3-2 tanh" in out and "float64" in out and "seed 4" in out
    assert "SGD(lr=0.1, momentum=0.9" in out and "batch 7, 3 epochs" in out


def test_regularisation_options_reach_the_model(capsys):
    argv = ["train", "--dataset", "moons", "--n-samples", "120", "--layers", "16", "--optimizer", "sgd",
            "--lr", "0.1", "--dropout", "0.2", "--l2", "0.001", "--clip-norm", "1.5", "--epochs", "2",
            "--backend", "numpy"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "dropout 0.2" in out and "l2 0.001" in out and "clip_norm=1.5" in out


def test_alpha_option_is_a_deprecated_alias_of_l2(capsys):
    argv = ["train", "--dataset", "xor", "--epochs", "1", "--alpha", "0.001", "--backend", "numpy"]
    with pytest.warns(FutureWarning, match="--l2") as caught:
        assert main(argv) == 0
    assert len(caught) == 1 and "l2 0.001" in capsys.readouterr().out

def test_train_is_reproducible(capsys):
    argv = ["train", "--dataset", "spirals", "--epochs", "5", "--backend", "numpy", "--quiet", "--seed", "2"]
    assert main(argv) == 0 and main(argv) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("test accuracy")]
    assert len(lines) == 2 and lines[0] == lines[1]


def test_save_writes_a_loadable_model(tmp_path, capsys):
    path = tmp_path / "xor.npz"
    argv = ["train", "--dataset", "xor", "--backend", "numpy", "--quiet", "--save", str(path)]
    assert main(argv) == 0
    assert "saved model to" in capsys.readouterr().out
    model = fastmlp.MLP.load(path)
    assert model.layer_sizes[0] == 2 and model.layer_sizes[-1] == 2
    X, y = fastmlp.datasets.xor(4)
    np.testing.assert_array_equal(model.predict(X), y)


def test_cpp_missing_falls_back_with_a_note(monkeypatch, capsys):
    real = backends.get_backend

    def no_cpp(name="cpp"):  # numba refused too: its first JIT compile takes ~10 s
        if name in ("cpp", "numba"):
            raise ImportError(f"backend {name!r} is not available: simulated")
        return real(name)

    monkeypatch.setattr(backends, "get_backend", no_cpp)
    assert main(["train", "--dataset", "xor", "--epochs", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "C++ backend is not available" in captured.err and "using 'numpy'" in captured.err
    assert "test accuracy" in captured.out


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["train", "--optimizer", "lbfgs"],
    ["train", "--dataset", "iris"],
    ["train", "--epochs", "-1"],
    ["train", "--epochs", "ten"],
    ["train", "--batch-size", "0"],
    ["train", "--lr", "0"],
    ["train", "--lr", "nan"],
    ["train", "--layers", "256,x"],
    ["train", "--layers", "256,0"],
    ["train", "--momentum", "1.5", "--optimizer", "sgd"],
    ["train", "--momentum", "0.9"],                 # adam has no momentum option
    ["train", "--n-samples", "100"],                # not a generated data set
    ["train", "--dataset", "xor", "--data-dir", "."],
    ["train", "--backend", "cuda"],
    ["train", "--threads", "0"],
    ["train", "--dropout", "1"],
    ["train", "--l2", "-1"],
    ["train", "--alpha", "-1"],
    ["train", "--l2", "0.1", "--alpha", "0.1"],
    ["train", "--clip-norm", "0"],
    ["train", "--no-such-option"],
    ["frobnicate"],
], ids=lambda a: " ".join(a[1:]) or a[0])
def test_bad_options_exit_2_with_a_message(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_bad_option_subprocess_exit_2():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [PYTHON_DIR, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "fastmlp.cli", "train", "--epochs", "-3"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "--epochs" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_data_dir_exits_1(tmp_path, capsys):
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_mnist_without_data_dir_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASTMLP_DATA", str(tmp_path))  # an empty cache
    assert main(["train", "--dataset", "fashion-mnist"]) == 1
    assert "needs --data-dir" in capsys.readouterr().err


def test_corrupt_idx_exits_1(tmp_path, capsys):
    for stem in fastmlp.datasets.MNIST_FILES.values():
        (tmp_path / stem).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")  # claims 9 bytes, has 3
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "truncated" in err and "train-images-idx3-ubyte" in err


# --- MNIST ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_mnist_small_one_epoch(capsys):
    assert main(["train", "--epochs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert _float(r"test accuracy ([0-9.]+)", out) > 0.90


@pytest.mark.slow
def test_train_default_config_reaches_95_percent(capsys):
    if "cpp" not in backends.available_backends():
        pytest.skip("the C++ backend is not built; the default run would take minutes on numpy")
    assert main(["train", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert _float(r"test accuracy ([0-9.]+)", out) > 0.95
