"""The package's imports run downward: no module imports one that imports it back, not even
inside a function, and the package face is imported only by the command-line faces."""

import importlib.metadata
import importlib.util
import re
from pathlib import Path

import fastmlp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(fastmlp.__file__).parent  # the package these tests import: the source or a wheel's
_spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "tools" / "import_cycles.py")
import_cycles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_cycles)

# faces that script the package as a user would (`import fastmlp as fm`), imported by nothing in it
FACE_IMPORTERS = {"fastmlp.cli_train", "fastmlp.benchmarks.suite"}


def test_no_import_cycles_even_inside_functions():
    assert import_cycles.cycles(import_cycles.import_graph(PACKAGE)) == []


def test_the_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from .high import g\n")
    (package / "high.py").write_text("from . import low\n\ndef g():\n    pass\n")
    (package / "side.py").write_text("from .low import f\n")
    graph = import_cycles.import_graph(package)
    assert import_cycles.cycles(graph) == [["pkg.high", "pkg.low"]]


def test_only_the_command_line_faces_import_the_package_face():
    graph = import_cycles.import_graph(PACKAGE)
    importers = {m for m, targets in graph.items() if "fastmlp" in targets}
    assert importers <= FACE_IMPORTERS, importers - FACE_IMPORTERS


def test_the_file_format_and_conversions_never_import_the_model():
    graph = import_cycles.import_graph(PACKAGE)
    for module in ("fastmlp.io", "fastmlp.convert", "fastmlp.model_state", "fastmlp.onnx_export"):
        assert "fastmlp.model" not in graph.get(module, set()), module


def _declared_version() -> str:
    """The installed distribution's version (pyproject.toml's, at build time), or, for a source
    tree put on the path without installing, pyproject.toml's own."""
    try:
        return importlib.metadata.version("fastmlp")
    except importlib.metadata.PackageNotFoundError:
        text = (ROOT / "pyproject.toml").read_text()
        project = text[text.index("[project]"):]
        return re.search(r'^version = "([^"]+)"', project, re.M).group(1)


def test_the_version_module_matches_the_declared_version():
    assert fastmlp.__version__ == _declared_version()
    from fastmlp._version import __version__
    assert __version__ is fastmlp.__version__
