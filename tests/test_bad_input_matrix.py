"""The bad-input matrix as one table (docs/bad_inputs.md is the same table in prose).

Every row is one bad input at one entry point -- kernel API, model, optimizers, thread count,
file loader, command line, environment -- with the exception it must raise and a fragment of
the message that names the culprit (the argument, the option, the variable or the file). Each
row runs once per backend (the kernel API of that backend, ``MLP(backend=...)``,
``MLP.load(backend=...)``, ``fastmlp train --backend ...``), so no backend may crash, hang or
return numbers where another raises. Rows whose entry point has no backend (the optimizer
classes, ``set_num_threads``) run once.

The rows run in one file per entry point (tests/test_bad_input_matrix_kernels.py, _model, _files,
_cli, _sklearn; bad_input_cases.py is how a row runs); this file holds them together.
`python tests/test_bad_input_matrix.py` prints the markdown table of docs/bad_inputs.md;
`test_docs_table_matches` keeps the two in step.
"""

from __future__ import annotations

from pathlib import Path

import test_bad_input_matrix_cli
import test_bad_input_matrix_files
import test_bad_input_matrix_kernels
import test_bad_input_matrix_model
import test_bad_input_matrix_sklearn

DOCS_TABLE = Path(__file__).resolve().parents[1] / "docs" / "bad_inputs.md"

# the docs table's order: kernel API, model, file loader, command line and environment, estimators
CASES = (test_bad_input_matrix_kernels.CASES + test_bad_input_matrix_model.CASES
         + test_bad_input_matrix_files.CASES + test_bad_input_matrix_cli.CASES
         + test_bad_input_matrix_sklearn.CASES)


def test_enough_distinct_cases():
    """At least 40 bad inputs; ids are unique so the docs table can key on them."""
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40


def markdown_table() -> str:
    lines = ["| id | input | where | exception | message contains |", "|---|---|---|---|---|"]
    for c in CASES:
        if c.cli_exit is not None:
            exc = f"exit {c.cli_exit}"
        elif isinstance(c.exc, tuple):
            exc = " or ".join(e.__name__ for e in c.exc)
        else:
            exc = c.exc.__name__
        if c.xfail:
            exc += " (known bug, see below)"
        fragment = c.match.lstrip("^").replace("\\", "").replace("|", "\\|")
        lines.append(f"| {c.id} | {c.bad_input} | {c.where} | {exc} | `{fragment}` |")
    return "\n".join(lines)


def test_docs_table_matches():
    """docs/bad_inputs.md carries exactly this table (regenerate: python tests/test_bad_input_matrix.py)."""
    assert markdown_table() in DOCS_TABLE.read_text(), (
        "docs/bad_inputs.md is out of date: paste the output of python tests/test_bad_input_matrix.py")


if __name__ == "__main__":
    print(markdown_table())
