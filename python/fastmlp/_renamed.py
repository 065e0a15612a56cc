"""Old names that still work for a while: each use warns once, naming the new name."""

from __future__ import annotations

import warnings


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """One FutureWarning saying ``old`` is a deprecated alias of ``new``; the default stacklevel
    points at the caller of the function that calls this one."""
    warnings.warn(f"{old} is deprecated; use {new}, which means the same", FutureWarning,
                  stacklevel=stacklevel)
