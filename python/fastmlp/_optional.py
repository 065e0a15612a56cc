"""Optional dependencies, imported only where a feature needs them, so `import fastmlp` never does."""

from __future__ import annotations

import importlib


def require(module: str, feature: str, install: str):
    """``module`` imported, or an ImportError saying that ``feature`` needs it and how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{feature} needs {module.split('.')[0]}: pip install {install}") from exc
