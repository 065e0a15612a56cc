"""Import cycles among fastmlp's modules, counting imports inside functions too.

    python tools/import_cycles.py              # every cycle (exit status 1 if any)
    python tools/import_cycles.py --who MOD    # the modules that import MOD

A function-level import hides a cycle from Python's loader but not from the design: the
package's rooms import downward only (README.md, "Layout"), and tests/test_import_cycles.py
holds the package to it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "fastmlp"


def modules(root: Path = PACKAGE) -> dict:
    """{dotted name: path} of every Python module and compiled extension under ``root``."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.suffix == ".py" or (path.suffix in (".so", ".pyd") and path.is_file()):
            parts = list(path.relative_to(root.parent).with_suffix("").parts)
            parts[-1] = parts[-1].split(".")[0]  # _core.cpython-311-x86_64-linux-gnu -> _core
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    # the C++ core is built into site-packages, not into the source tree, by pip and CMake
    out.setdefault(f"{root.name}._core", root / "_core.so")
    return out


def _targets(module: str, is_package: bool, node, known: dict) -> list:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    if node.level:
        base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    out = []
    for alias in node.names:
        if f"{origin}.{alias.name}" in known:  # `from . import io`: the submodule itself
            out.append(f"{origin}.{alias.name}")
        elif origin in known:  # `from .io import read_state`: a name from the module
            out.append(origin)
    return out


def import_graph(root: Path = PACKAGE) -> dict:
    """{module: set of fastmlp modules it imports anywhere in its source}."""
    known = modules(root)
    graph = {}
    for name, path in known.items():
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(name, path.name == "__init__.py", node, known):
                    if target != name:
                        graph.setdefault(name, set()).add(target)
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def main(argv: list) -> int:
    graph = import_graph()
    if "--who" in argv:
        target = argv[argv.index("--who") + 1]
        print("\n".join(sorted(m for m, targets in graph.items() if target in targets)))
        return 0
    found = cycles(graph)
    for component in found:
        print("CYCLE", " ".join(component))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
