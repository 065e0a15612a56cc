"""scikit-learn's own MLP tests, run against fastmlp's estimators.

scikit-learn's installed ``neural_network/tests/test_mlp.py`` is read at test time (never
copied into this repository); only its import of MLPClassifier / MLPRegressor is rewritten, to
fastmlp's ("default") or to subclasses whose ``sklearn_compat`` defaults to True ("compat"). The
rewritten file runs in a pytest subprocess, with scikit-learn's conftest as a plugin for its
fixtures, once per mode; each upstream test function then gets one test here that asserts it
passed (every parametrized id of it). The exceptions are listed below with their reasons:
PRIVATE (tests that read scikit-learn's private state: asserted to fail on exactly that
attribute, each with a public-attribute version in tests/test_sklearn_upstream_public.py) and
KNOWN_FAILING (real failures not fixed yet, strict xfails, so the list shrinks as fixes land).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

UPSTREAM_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor\n"

SWAP = {
    "default": "from fastmlp.sklearn import MLPClassifier, MLPRegressor\n",
    # same signature with sklearn_compat defaulting to True, so get_params / clone / pickle work
    "compat": (
        "import types as _fm_types\n"
        "from fastmlp.sklearn import MLPClassifier as _FmC, MLPRegressor as _FmR\n"
        "def _fm_compat(cls):\n"
        "    init = cls.__init__\n"
        "    new = _fm_types.FunctionType(init.__code__, init.__globals__, init.__name__,\n"
        "                                 init.__defaults__, init.__closure__)\n"
        "    new.__kwdefaults__ = dict(init.__kwdefaults__, sklearn_compat=True)\n"
        "    return type(cls.__name__, (cls,), {'__init__': new, '__module__': __name__})\n"
        "MLPClassifier, MLPRegressor = _fm_compat(_FmC), _fm_compat(_FmR)\n"
    ),
}

# Upstream tests that read scikit-learn's private state, which a drop-in need not have:
# {test: the private attribute it reads}. They must fail on exactly that AttributeError (any
# other failure is a real one), and each has a public-attribute version in
# tests/test_sklearn_upstream_public.py that must pass.
PRIVATE = {
    "test_gradient": "_loss_grad_lbfgs",  # lbfgs's packed loss-and-gradient function
    "test_learning_rate_warmstart": "_optimizer",  # its .learning_rate after a warm-start fit
    "test_adaptive_learning_rate": "_optimizer",  # its .learning_rate after the adaptive stop
}

# Real failures not fixed yet: {(mode, test): "why"}. Empty the list as fixes land.
KNOWN_FAILING: dict[tuple[str, str], str] = {}

MODES = ("default", "compat")


def upstream_file() -> Path | None:
    """scikit-learn's installed ``neural_network/tests/test_mlp.py``, or None if not shipped."""
    import sklearn

    path = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    return path if path.is_file() else None


def upstream_test_names(path: Path | None) -> list[str]:
    """The test functions the file defines, in order."""
    if path is None:
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def rewritten_source(path: Path, mode: str) -> str:
    source = path.read_text(encoding="utf-8")
    if source.count(UPSTREAM_IMPORT) != 1:
        raise AssertionError(f"{path} no longer imports the estimators by the line "
                             f"{UPSTREAM_IMPORT!r}: update tests/test_sklearn_upstream.py")
    return source.replace(UPSTREAM_IMPORT, SWAP[mode])


def run_upstream(path: Path, mode: str, workdir: Path) -> dict:
    """Run the rewritten file; returns {test id: ('passed' | 'failed' | 'skipped', details)}."""
    import fastmlp

    test_file = workdir / f"test_mlp_fastmlp_{mode}.py"
    test_file.write_text(rewritten_source(path, mode), encoding="utf-8")
    (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # none of ours applies
    report = workdir / f"report_{mode}.xml"
    env = dict(os.environ)
    package_root = str(Path(fastmlp.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
           "-p", "sklearn.conftest", "--rootdir", str(workdir), "-c", str(workdir / "pytest.ini"),
           f"--junitxml={report}", str(test_file)]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=280)
    log = f"{proc.stdout[-20000:]}\n{proc.stderr[-4000:]}"
    if not report.is_file():
        raise AssertionError(f"the upstream run wrote no report (rc {proc.returncode}):\n{log}")
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error")]
        if problems:
            details = "\n".join((p.get("message") or "") + "\n" + (p.text or "")[-3000:]
                                for p in problems)
            outcomes[case.get("name")] = ("failed", details)
        elif any(child.tag == "skipped" for child in case):
            outcomes[case.get("name")] = ("skipped", "")
        else:
            outcomes[case.get("name")] = ("passed", "")
    return outcomes


def outcome_of(outcomes: dict, name: str) -> tuple[str, str]:
    """One upstream function's outcome over its parametrized ids: 'failed' if any id failed,
    'passed' if one passed and none failed, else 'skipped' ('missing' if it never ran); plus
    the failures' messages."""
    ids = {k: v for k, v in outcomes.items() if k == name or k.startswith(name + "[")}
    if not ids:
        return "missing", ""
    failed = {k: details for k, (outcome, details) in ids.items() if outcome == "failed"}
    if failed:
        return "failed", "\n".join(f"--- {k}\n{d}" for k, d in sorted(failed.items()))
    return ("passed" if any(o == "passed" for o, _ in ids.values()) else "skipped"), ""


UPSTREAM = upstream_file()
NAMES = upstream_test_names(UPSTREAM)


@pytest.fixture(scope="module")
def upstream_runs(tmp_path_factory):
    """Each mode's outcomes, run once when a test first asks for that mode (so each run falls
    in one test's time limit)."""
    if UPSTREAM is None:
        pytest.skip("this scikit-learn install ships no neural_network/tests/test_mlp.py")
    runs = {}

    def get(mode):
        if mode not in runs:
            runs[mode] = run_upstream(UPSTREAM, mode, tmp_path_factory.mktemp(f"upstream_{mode}"))
        return runs[mode]

    return get


def _cases():
    for mode in MODES:
        for name in NAMES:
            marks = []
            if (mode, name) in KNOWN_FAILING:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILING[(mode, name)]))
            yield pytest.param(mode, name, marks=marks, id=f"{mode}-{name}")


def test_upstream_file_found_and_rewritable():
    if UPSTREAM is None:
        pytest.skip("this scikit-learn install ships no neural_network/tests/test_mlp.py")
    assert len(NAMES) > 30  # scikit-learn 1.9.1 has 43 functions (59 ids)
    for mode in MODES:
        assert "from fastmlp.sklearn import" in rewritten_source(UPSTREAM, mode)
    assert set(PRIVATE) <= set(NAMES) and {n for _, n in KNOWN_FAILING} <= set(NAMES)
    public = (Path(__file__).parent / "test_sklearn_upstream_public.py").read_text(encoding="utf-8")
    for name in PRIVATE:
        assert f"def {name}_public(" in public, f"{name} has no public-attribute version"


@pytest.mark.slow
@pytest.mark.parametrize("mode, name", list(_cases()))
def test_upstream_mlp(upstream_runs, mode, name):
    outcome, details = outcome_of(upstream_runs(mode), name)
    if name in PRIVATE:
        missing = f"object has no attribute '{PRIVATE[name]}'"
        assert outcome != "passed", f"{name} now passes ({mode}): remove it from PRIVATE"
        assert outcome == "failed" and missing in details, (
            f"scikit-learn's {name} ({mode} mode) should fail only on reading the private "
            f"{PRIVATE[name]}, got {outcome}:\n{details}")
        return
    if outcome != "passed" and outcome != "skipped":
        pytest.fail(f"scikit-learn's {name} {outcome} against fastmlp ({mode} mode):\n{details}",
                    pytrace=False)
