"""``fastmlp explain`` as a user runs it: subprocesses, exit codes, key lines, bad options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastmlp
from fastmlp.cli import main
from fastmlp.explain import explain

PYTHON_DIR = str(Path(fastmlp.__file__).resolve().parents[1])


def _run(*args, columns=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [PYTHON_DIR, os.environ.get("PYTHONPATH")])))
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "fastmlp", "explain", *args], capture_output=True,
                          text=True, env=env, timeout=180)


def _stdout(proc) -> str:
    """stdout without the notice an editable install built with editable.rebuild=true prints on
    import ("Running cmake --build & --install in ..."): a development artifact, not fastmlp's."""
    return "".join(line for line in proc.stdout.splitlines(keepends=True)
                   if not line.startswith("Running cmake --build"))


def test_default_run_prints_the_step():
    proc = _run(columns=72)
    assert proc.returncode == 0, proc.stderr
    out = _stdout(proc)
    assert out.startswith("One training step of a 2-2-1 network on the XOR truth table")
    for line in ["2. Forward pass", "z1 = x W1 + b1", "delta2 = dL/dz2 = (p - t) / N",
                 "The batch loss went down", "8. Three implementations, the same numbers"]:
        assert line in out, line
    assert max(len(line) for line in out.splitlines()) <= 72  # the terminal's width, from COLUMNS


def test_json_run_has_the_library_numbers():
    proc = _run("--example", "house", "--seed", "2", "--format", "json", "--backend", "numpy", "--lr", "0.5")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(_stdout(proc))
    expected = explain(example="house", seed=2, backend="numpy", lr=0.5).as_dict()
    assert data["backend"] == "numpy" and data["lr"] == 0.5
    # the NumPy oracle is deterministic: the same float64 numbers in another process
    assert data["backends"]["numpy"] == expected["backends"]["numpy"]
    assert data["lr_sweep"]["rates"] == expected["lr_sweep"]["rates"]


def test_width_and_output_file(tmp_path):
    proc = _run("--width", "45", "--example", "house")
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in _stdout(proc).splitlines()) <= 45
    target = tmp_path / "step.html"
    proc = _run("--format", "html", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {target}" in _stdout(proc)
    page = target.read_text(encoding="utf-8")
    assert page.startswith('<div class="fastmlp-explain">') and page.rstrip().endswith("</div>")


def test_bad_option_exits_2_naming_it():
    proc = _run("--lr", "-0.1")
    assert proc.returncode == 2
    assert "--lr" in proc.stderr and "positive" in proc.stderr


@pytest.mark.parametrize("argv, option", [
    (["--lr", "0"], "--lr"),
    (["--lr", "fast"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--example", "mnist"], "--example"),
    (["--format", "pdf"], "--format"),
    (["--backend", "gpu"], "--backend"),
    (["--seed", "-3"], "--seed"),
    (["--width", "10"], "--width"),
    (["--width", "80", "--format", "json"], "--width"),
    (["--unknown"], "--unknown"),
])
def test_bad_options_in_process(capsys, argv, option):
    assert main(["explain", *argv]) == 2
    assert option in capsys.readouterr().err


def test_unwritable_output_exits_1(capsys, tmp_path):
    assert main(["explain", "--format", "json", "-o", str(tmp_path / "missing" / "x.json")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_markdown_in_process(capsys):
    assert main(["explain", "--format", "markdown", "--example", "house"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# One training step of a 3-2-1 network on house prices")
    assert "| 100 steps: the loss | crawls | falls steadily | diverges |" in out
