"""Imports run downward (docs/layout.md): backends/ reaches outside itself only for names.py,
checks/, errors.py and the compiled core; names.py, errors.py and checks/ reach for nothing
above them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fastmlp
from fastmlp import names

PACKAGE = Path(fastmlp.__file__).parent


def fastmlp_imports(path: Path) -> set:
    """The fastmlp modules ``path`` imports (relative imports resolved), anywhere in the file."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - node.level + (path.name == "__init__.py")]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        found |= {t for t in targets if t == "fastmlp" or t.startswith("fastmlp.")}
    return found


def outside(path: Path, room: str, allowed: tuple) -> list:
    return sorted(m for m in fastmlp_imports(path)
                  if not m.startswith(room) and not any(m == a or m.startswith(a + ".") for a in allowed))


@pytest.mark.parametrize("path", sorted((PACKAGE / "backends").glob("*.py")), ids=lambda p: p.name)
def test_backends_import_only_names_checks_errors_and_the_core(path):
    allowed = ("fastmlp.names", "fastmlp.checks", "fastmlp.errors", "fastmlp._core")
    assert outside(path, "fastmlp.backends", allowed) == []


@pytest.mark.parametrize("path", sorted((PACKAGE / "checks").glob("*.py")) + [PACKAGE / "names.py", PACKAGE / "errors.py"],
                         ids=lambda p: p.name)
def test_names_and_checks_import_nothing_above_them(path):
    assert outside(path, "fastmlp.checks", ("fastmlp.names",)) == []


def test_the_scan_sees_relative_imports():
    assert "fastmlp.names" in fastmlp_imports(PACKAGE / "backends" / "numba_losses.py")
    assert "fastmlp.checks" in fastmlp_imports(PACKAGE / "backends" / "numpy.py")


def test_codes_are_positions_in_the_name_tuples():
    for tuple_, code in ((names.ACTIVATIONS, names.ACTIVATION_CODE), (names.LOSSES, names.LOSS_CODE),
                         (names.OPTIMIZERS, names.OPTIMIZER_CODE), (names.SCHEDULES, names.SCHEDULE_CODE)):
        assert list(code) == list(tuple_) and list(code.values()) == list(range(len(tuple_)))


def test_numba_constants_are_the_names_codes():
    pytest.importorskip("numba")
    from fastmlp.backends import numba_activations, numba_losses, numba_optim, numba_schedule

    for module, tuple_, code in ((numba_activations, names.ACTIVATIONS, names.ACTIVATION_CODE),
                                 (numba_losses, names.LOSSES, names.LOSS_CODE),
                                 (numba_optim, names.OPTIMIZERS, names.OPTIMIZER_CODE),
                                 (numba_schedule, names.SCHEDULES, names.SCHEDULE_CODE)):
        for name in tuple_:
            assert getattr(module, name.upper()) == code[name]
