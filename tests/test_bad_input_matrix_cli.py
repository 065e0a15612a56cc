"""The bad-input matrix, subprocess rows: bad options to `fastmlp train` (on every backend) and a
bad FASTMLP_ISA in the environment, each in a fresh interpreter whose exit status and stderr are
checked (bad_input_cases.py: how a row runs; test_bad_input_matrix.py: the whole table, as
docs/bad_inputs.md carries it)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bad_input_cases import SUBPROCESS_TIMEOUT, Case, CLIResult, check, params


def cli(*argv, env=None):
    def run(backend, tmp):
        full_env = {k: v for k, v in os.environ.items() if k != "FASTMLP_ISA"}
        full_env.update(env or {})
        args = [sys.executable, "-m", "fastmlp", *argv]
        if backend is not None:
            args += ["--backend", backend]
        proc = subprocess.run(args, capture_output=True, text=True, env=full_env, cwd=tmp,
                              timeout=SUBPROCESS_TIMEOUT)
        return CLIResult(proc.returncode, proc.stderr)
    return run


def isa_env(code):
    """Run ``code`` in a fresh interpreter with FASTMLP_ISA=avx1024 (the choice is made once per
    process); returns its stderr's last line, where the exception is."""
    def run(backend, tmp):
        env = {**os.environ, "FASTMLP_ISA": "avx1024"}
        proc = subprocess.run([sys.executable, "-c", code.format(backend=backend)], capture_output=True,
                              text=True, env=env, timeout=SUBPROCESS_TIMEOUT)
        return CLIResult(proc.returncode, proc.stderr)
    return run


CASES = [
    # command line (subprocess)
    Case("cli-lr-zero", "fastmlp train", "--lr 0", None, r"argument --lr: expected a positive finite number",
         cli("train", "--lr", "0"), cli_exit=2),
    Case("cli-lr-nan", "fastmlp train", "--lr nan", None, r"argument --lr: expected a positive finite number",
         cli("train", "--lr", "nan"), cli_exit=2),
    Case("cli-batch-size-0", "fastmlp train", "--batch-size 0", None, r"argument --batch-size: expected a positive",
         cli("train", "--batch-size", "0"), cli_exit=2),
    Case("cli-epochs-negative", "fastmlp train", "--epochs -1", None, r"argument --epochs: expected an integer >= 0",
         cli("train", "--epochs=-1"), cli_exit=2),
    Case("cli-momentum-one", "fastmlp train", "--optimizer sgd --momentum 1", None,
         r"argument --momentum: expected a number in \[0, 1\)", cli("train", "--optimizer", "sgd", "--momentum", "1"),
         cli_exit=2),
    Case("cli-threads-zero", "fastmlp train", "--threads 0", None, r"argument --threads: expected a positive",
         cli("train", "--threads", "0"), cli_exit=2),
    Case("cli-unknown-optimizer", "fastmlp train", "--optimizer lbfgs", None,
         r"argument --optimizer: invalid choice: 'lbfgs'", cli("train", "--optimizer", "lbfgs"), cli_exit=2),
    Case("cli-isa", "fastmlp train", "FASTMLP_ISA=avx1024 in the environment", None,
         r"^fastmlp train: error: FASTMLP_ISA='avx1024'",
         cli("train", "--dataset", "xor", "--epochs", "1", "-q", env={"FASTMLP_ISA": "avx1024"}),
         cli_exit=2, per_backend=False),
    # environment
    Case("env-isa-kernel", "kernel matmul (cpp)", "FASTMLP_ISA=avx1024 in the environment", None,
         r"ValueError: FASTMLP_ISA='avx1024' names no instruction set fastmlp knows; choose one of",
         isa_env("import numpy as np, fastmlp.backends.cpp as c; c.matmul(np.ones((2, 2)), np.ones((2, 2)))"),
         cli_exit=1, per_backend=False),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case,backend", params(CASES))
def test_bad_input(case, backend, tmp_path):
    check(case, backend, tmp_path)
