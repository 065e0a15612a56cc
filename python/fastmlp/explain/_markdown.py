"""Markdown for notes: headings, prose, formulas in code spans, matrices in fenced code blocks
(the aligned text layout), tables as pipe tables."""

from __future__ import annotations

import re

from ._blocks import Formula, Heading, Matrices, Para, Table
from ._text import matrix_rows

MATRIX_WIDTH = 100  # matrices side by side in a code block: wide enough for a notebook cell
_SPECIAL = re.compile(r"([\\`*_\[\]<|])")  # > and # only act at a line's start, where prose never is


def escape(text: str) -> str:
    """Prose with markdown's emphasis, link, html and table characters taken literally."""
    return _SPECIAL.sub(r"\\\1", text)


def render(blocks) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + escape(block.text))
        elif isinstance(block, Para):
            parts.append(escape(block.text))
        elif isinstance(block, Formula):
            parts.append(f"`{block.text}`")  # formulas hold no backquote
        elif isinstance(block, Matrices):
            rows = (line.rstrip() for line in matrix_rows(block.items, MATRIX_WIDTH))
            parts.append("```text\n" + "\n".join(rows) + "\n```")
        elif isinstance(block, Table):
            parts.append(_table(block))
        else:
            raise TypeError(f"unknown block {block!r}")
    return "\n\n".join(parts) + "\n"


def _table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.headers)
    lines = ["| " + " | ".join(escape(str(h)) for h in table.headers) + " |",
             "|" + "|".join("---:" if right else "---" for right in numeric) + "|"]
    for row in table.rows:
        lines.append("| " + " | ".join(escape(str(c)) for c in row) + " |")
    return "\n".join(lines)
