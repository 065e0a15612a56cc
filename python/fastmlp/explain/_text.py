"""Terminal text: every line at most ``width`` characters, matrices aligned and side by side.

Named matrices sit next to each other while they fit (x, W1, b1, z1, a1 read left to right like
the formula above them) and wrap to the next row of blocks when they do not; a matrix wider than
the whole line is split into column chunks. Tables too wide for the line turn into one record per
row. Only ASCII is written, so any terminal shows it.
"""

from __future__ import annotations

import textwrap

from . import _format as fmt
from ._blocks import Formula, Heading, Matrices, Para, Table

INDENT = "  "  # matrices and formulas sit under the prose
GAP = "   "  # between matrices side by side
TABLE_GAP = "  "


def render(blocks, width: int) -> str:
    out = []
    previous = None
    for block in blocks:
        lines = _block(block, width)
        if out and not (isinstance(block, Formula) and isinstance(previous, Formula)):
            out.append("")
        out.extend(lines)
        previous = block
    return "\n".join(line.rstrip() for line in out) + "\n"


def _block(block, width: int) -> list:
    if isinstance(block, Heading):
        lines = _wrap(block.text, width)
        if block.level == 3:
            return lines
        rule = "=" if block.level == 1 else "-"
        return lines + [rule * max(len(line) for line in lines)]
    if isinstance(block, Para):
        return _wrap(block.text, width)
    if isinstance(block, Formula):
        return _wrap(block.text, width, INDENT, INDENT + "    ")
    if isinstance(block, Matrices):
        return matrix_rows(block.items, width)
    if isinstance(block, Table):
        return table_lines(block, width)
    raise TypeError(f"unknown block {block!r}")


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=True, break_on_hyphens=False) or [""]


# --- matrices -------------------------------------------------------------------------------


def matrix_rows(items, width: int) -> list:
    """Named matrices laid out side by side in rows of blocks that fit ``width``."""
    avail = width - len(INDENT)
    blocks = [chunk for name, value in items for chunk in matrix_block(name, value, avail)]
    lines, group, used = [], [], 0
    for block in blocks:
        w = max(len(line) for line in block)
        needed = w if not group else used + len(GAP) + w
        if group and needed > avail:
            lines += _side_by_side(group)
            group, used = [], 0
            needed = w
        group.append(block)
        used = needed
    if group:
        lines += _side_by_side(group)
    return lines


def _side_by_side(group) -> list:
    widths = [max(len(line) for line in block) for block in group]
    height = max(len(block) for block in group)
    rows = []
    for r in range(height):
        cells = [(block[r] if r < len(block) else "").ljust(w) for block, w in zip(group, widths)]
        rows.append(INDENT + GAP.join(cells))
    return rows


def matrix_block(name: str, value, avail: int) -> list:
    """One matrix as blocks of lines (its name and shape, then bracketed rows), split into column
    chunks when wider than ``avail``."""
    cells = fmt.matrix_cells(value)
    shape = fmt.shape_text(value)
    title = f"{name} ({shape})" if shape else name
    ncols = len(cells[0])
    col_w = [len(cells[0][j]) for j in range(ncols)]
    chunks, start = [], 0
    while start < ncols:
        stop, used = start + 1, 4 + col_w[start]  # "[ " + cell + " ]"
        while stop < ncols and used + 1 + col_w[stop] <= avail:
            used += 1 + col_w[stop]
            stop += 1
        chunks.append((start, stop))
        start = stop
    blocks = []
    for i, (a, b) in enumerate(chunks):
        head = title if i == 0 else f"{name} (cont.)"
        rows = ["[ " + " ".join(row[a:b]) + " ]" for row in cells]
        blocks.append(_wrap(head, avail) + rows)
    return blocks


# --- tables ---------------------------------------------------------------------------------


def table_lines(table: Table, width: int) -> list:
    """A table with aligned columns, or one record per row when that does not fit ``width``."""
    columns = list(zip(table.headers, *table.rows))
    widths = [max(len(str(cell)) for cell in column) for column in columns]
    numeric = table.numeric or [False] * len(widths)
    if sum(widths) + len(TABLE_GAP) * (len(widths) - 1) <= width:
        def line(cells):
            return TABLE_GAP.join(str(c).rjust(w) if right else str(c).ljust(w)
                                  for c, w, right in zip(cells, widths, numeric))
        return [line(table.headers), TABLE_GAP.join("-" * w for w in widths)] + [line(r) for r in table.rows]
    lines = []
    key_w = max(len(str(h)) for h in table.headers[1:])
    for row in table.rows:
        if lines:
            lines.append("")
        lines += _wrap(str(row[0]), width)
        val_w = max(len(str(c)) for c in row[1:])
        aligned = len(INDENT) + key_w + len(TABLE_GAP) + val_w <= width
        for header, cell, right in zip(table.headers[1:], row[1:], numeric[1:]):
            if aligned:  # one column of values: equal numbers line up digit under digit
                value = str(cell).rjust(val_w) if right else str(cell)
                lines.append(INDENT + str(header).ljust(key_w) + TABLE_GAP + value)
            else:
                lines += _wrap(f"{header}: {cell}", width, INDENT, INDENT + "    ")
    return lines
