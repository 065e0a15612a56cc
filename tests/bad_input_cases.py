"""What the bad-input matrix's files share (tests/test_bad_input_matrix*.py): a row of the matrix
(`Case`), its expansion into one test per backend, the check every row runs, and the small data
set the model and file rows train on.

A row is one bad input at one entry point with the exception it must raise and a fragment of
the message that names the culprit. ``call(backend_name, tmp_path)`` raises it, or for command
line and subprocess rows returns a `CLIResult` whose exit status and stderr are checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest

import fastmlp as fm

BACKENDS = fm.available_backends()
SUBPROCESS_TIMEOUT = 120  # seconds; a CLI usage error answers in well under one


@dataclass
class Case:
    id: str
    where: str            # the entry point, as the docs table names it
    bad_input: str        # what is wrong, in words
    exc: type | tuple     # the exception (or one of these)
    match: str            # regex searched in the message (or in the CLI's stderr)
    call: object          # call(backend_name, tmp_path) -> raises (or returns a CLI result)
    per_backend: bool = True
    xfail: str | None = None  # a known bug, the fix proposed in the hardening report
    cli_exit: int | None = None  # CLI / subprocess rows: the exit status expected


@dataclass
class CLIResult:
    returncode: int
    stderr: str


def params(cases) -> list:
    """One pytest param per row and backend ("<id>-<backend>"), or one per row without a backend."""
    out = []
    for case in cases:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        if case.per_backend:
            out += [pytest.param(case, name, id=f"{case.id}-{name}", marks=marks) for name in BACKENDS]
        else:
            out.append(pytest.param(case, None, id=case.id, marks=marks))
    return out


def check(case, backend, tmp_path):
    """The row's call raises its exception with its message, or exits with its status and stderr."""
    if case.cli_exit is not None:
        result = case.call(backend, tmp_path)
        assert result.returncode == case.cli_exit, result.stderr[-2000:]
        assert re.search(case.match, result.stderr, re.MULTILINE), result.stderr[-2000:]
        assert "Traceback" not in result.stderr or case.cli_exit == 1, result.stderr[-2000:]
        return
    with pytest.raises(case.exc, match=case.match):
        case.call(backend, tmp_path)


def data(n=6):
    """n rows of 4 float32 features and labels of 3 classes, seeded."""
    rng = np.random.default_rng(2)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)
