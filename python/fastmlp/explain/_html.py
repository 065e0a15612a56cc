"""HTML for notebooks (`_repr_html_`) and web pages: one self-contained ``<div>``.

Matrices are small tables with right-aligned monospace cells, side by side and wrapping with the
page; every piece of text is escaped. The style is scoped to the div's class so it cannot
restyle the rest of a notebook.
"""

from __future__ import annotations

from html import escape

from . import _format as fmt
from ._blocks import Formula, Heading, Matrices, Para, Table

CLASS = "fastmlp-explain"
STYLE = f"""
.{CLASS} {{ font-family: sans-serif; line-height: 1.4; max-width: 70em; }}
.{CLASS} code, .{CLASS} .fm-matrix td, .{CLASS} .fm-table td {{ font-family: monospace; }}
.{CLASS} .fm-matrices {{ display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; margin: 0.5em 0; }}
.{CLASS} .fm-matrix {{ margin: 0; }}
.{CLASS} .fm-matrix figcaption {{ font-family: monospace; font-weight: bold; }}
.{CLASS} .fm-matrix table {{ border-collapse: collapse; border-left: 1px solid; border-right: 1px solid; }}
.{CLASS} .fm-matrix td {{ text-align: right; padding: 0 0.4em; }}
.{CLASS} .fm-table {{ border-collapse: collapse; }}
.{CLASS} .fm-table th, .{CLASS} .fm-table td {{ border: 1px solid #ccc; padding: 0.1em 0.5em; }}
.{CLASS} .fm-table td.num {{ text-align: right; }}
"""


def render(blocks) -> str:
    parts = [f'<div class="{CLASS}">', f"<style>{STYLE}</style>"]
    for block in blocks:
        if isinstance(block, Heading):
            level = block.level + 1  # h2.. : a notebook's own title is h1
            parts.append(f"<h{level}>{escape(block.text)}</h{level}>")
        elif isinstance(block, Para):
            parts.append(f"<p>{escape(block.text)}</p>")
        elif isinstance(block, Formula):
            parts.append(f'<p class="fm-formula"><code>{escape(block.text)}</code></p>')
        elif isinstance(block, Matrices):
            parts.append(_matrices(block))
        elif isinstance(block, Table):
            parts.append(_table(block))
        else:
            raise TypeError(f"unknown block {block!r}")
    parts.append("</div>")
    return "\n".join(parts) + "\n"


def _matrices(block: Matrices) -> str:
    figures = []
    for name, value in block.items:
        shape = fmt.shape_text(value)
        caption = escape(f"{name} ({shape})" if shape else name)
        rows = "".join("<tr>" + "".join(f"<td>{escape(c.strip())}</td>" for c in row) + "</tr>"
                       for row in fmt.matrix_cells(value))
        figures.append(f'<figure class="fm-matrix"><figcaption>{caption}</figcaption>'
                       f"<table><tbody>{rows}</tbody></table></figure>")
    return '<div class="fm-matrices">' + "".join(figures) + "</div>"


def _table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.headers)
    head = "".join(f"<th>{escape(str(h))}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{escape(str(c))}</td>' if right else f"<td>{escape(str(c))}</td>"
                         for c, right in zip(row, numeric)) + "</tr>"
        for row in table.rows)
    return f'<table class="fm-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
