"""The README's code blocks, run as a reader pasting them into a file would run them.

Every fenced ``python`` block runs as a script in a fresh interpreter (in a temporary directory,
matplotlib without a display) and must do what its comments say. Blocks that cannot run here
(they install packages, need a cluster, or train for minutes) are listed in SKIPPED with the
reason; the test asserts that list, so a new block cannot slip through unrun. The sample outputs
(``text`` blocks) are checked against what the code prints now.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fastmlp as fm

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# the fastmlp this test imports (an installed wheel in CI, the source tree in development)
PYTHON_PATH = str(Path(fm.__file__).resolve().parents[1])

# (section heading, index of the block within the section) -> why it does not run in the tests
SKIPPED = {
    ("Two commands", 0): "creates a virtual environment and pip-installs the package (network)",
    ("Two commands", 2): "pip-installs the test extras and runs the whole suite",
    ("Command line", 0): "shell commands that train or benchmark for up to minutes each, one needing "
                         "Fashion-MNIST files; tests/test_cli.py runs every subcommand",
    ("Many machines", 0): "needs a dask scheduler at tcp://scheduler:8786",
    ("Contributing: a fast rebuild loop", 0): "pip-installs build tools and rebuilds the C++ core (network)",
}


def blocks():
    """(section, index in section, language, code) of every fenced block of the README."""
    found, section, counts = [], "", {}
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("```"):
            lang = line[3:].strip()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            index = counts.get(section, 0)
            counts[section] = index + 1
            found.append((section, index, lang, "\n".join(lines[i + 1:end])))
            i = end
        i += 1
    return found


def _code_blocks():
    return [(s, i, lang, code) for s, i, lang, code in blocks() if lang in ("python", "bash", "sh", "console")]


def test_every_code_block_runs_or_is_skipped_for_a_listed_reason():
    code = {(s, i): lang for s, i, lang, _ in _code_blocks()}
    assert set(code) == set(SKIPPED) | set(PYTHON_CHECKS), \
        "a code block was added or removed: give it a check in PYTHON_CHECKS, or a reason in SKIPPED"
    assert not set(SKIPPED) & set(PYTHON_CHECKS)
    assert all(code[key] == "python" for key in PYTHON_CHECKS)
    assert sorted(SKIPPED) == sorted([  # the list itself, so that skipping one more is a visible change
        ("Command line", 0), ("Contributing: a fast rebuild loop", 0), ("Many machines", 0),
        ("Two commands", 0), ("Two commands", 2)])


def _run(code: str, tmp_path: Path) -> str:
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=PYTHON_PATH + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _in_python(out: str, tmp_path: Path):
    accuracy = float(re.search(r"^test: \{'loss': [0-9.e-]+, 'accuracy': ([0-9.]+)\}$", out, re.M).group(1))
    assert accuracy > 0.9  # 5 epochs on the shipped subset: ~0.96
    assert (tmp_path / "mnist.npz").is_file() and (tmp_path / "history.png").stat().st_size > 10_000
    assert "PASSED" in out  # gradcheck
    assert "lr_find with adam" in out
    assert "One training step of a 2-2-1 network on the XOR truth table" in out  # print(fm.explain())
    assert "# One training step of a 2-8-2 network on your batch (2 rows)" in out  # the markdown


def _sklearn(out: str, tmp_path: Path):
    assert float(out.split()[0]) > 0.8  # the score on held-out moons
    assert "[[" in out  # predict_proba's rows


def _onnx(out: str, tmp_path: Path):
    # each print shows onnxruntime's labels, then fastmlp's own predict: the same five classes
    for line in out.strip().splitlines():
        left, right = line.split("] [")
        assert left.strip("[ ").split() == right.strip("] ").split(), line
    assert (tmp_path / "moons.onnx").is_file()


# (section, index) -> what the block's output must show
PYTHON_CHECKS = {
    ("Deploy: ONNX", 0): _onnx,
    ("In Python", 0): _in_python,
    ("scikit-learn drop-in", 0): _sklearn,
}


@pytest.mark.slow  # the In Python block trains MNIST-small for 5 epochs: ~10 s with the C++ core
@pytest.mark.parametrize("key", sorted(PYTHON_CHECKS))
def test_python_block_runs_and_does_what_it_says(key, tmp_path):
    if key == ("In Python", 0) and "cpp" not in fm.available_backends():
        pytest.skip("the block uses backend='cpp', which is not built here")
    code = next(c for s, i, lang, c in _code_blocks() if (s, i) == key)
    PYTHON_CHECKS[key](_run(code, tmp_path), tmp_path)


def test_explain_excerpt_is_what_fastmlp_explain_prints():
    excerpt = next(c for s, i, lang, c in blocks() if s == "Seeing how a network learns" and lang == "text")
    printed = set(fm.explain().to_text(width=100).splitlines())
    for line in excerpt.splitlines():
        if line not in ("...", ""):
            assert line in printed, line


def test_train_sample_output_matches_the_cli():
    """The sample output's data and model lines are what `fastmlp train` prints; its numbers
    were generated by running it (the README says on which machine)."""
    sample = next(c for s, i, lang, c in blocks() if s == "Two commands" and lang == "text")
    from fastmlp.cli_train import VALIDATION_SPLIT

    X, y, X_test, y_test = fm.datasets.load_mnist_small()
    n_val = -(-int(VALIDATION_SPLIT * 100) * len(X) // 100)
    assert (f"{len(X) - n_val} train + {n_val} validation (held out of the {len(X)} training rows), "
            f"{len(X_test)} test (scored once, after training)") in sample
    assert "model: 784-256-128-10 relu, loss cross_entropy, float32, backend cpp" in sample
    lines = sample.splitlines()
    assert sum(line.startswith("  val_loss") for line in lines) == 2 and lines[-2].startswith("test accuracy")
    correct, total = map(int, re.search(r"\((\d+)/(\d+)\)", sample).groups())
    assert f"test accuracy {correct / total:.4f}" in sample and total == len(X_test)
