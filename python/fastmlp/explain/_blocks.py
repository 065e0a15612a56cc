"""The blocks an explanation is made of; the text, markdown and HTML renderers lay them out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2  # 1 the title, 2 a section, 3 a layer within a section


@dataclass
class Para:
    text: str


@dataclass
class Formula:
    text: str  # one equation, shown in a fixed-width font


@dataclass
class Matrices:
    items: list = field(default_factory=list)  # (label, number or nested list), shown side by side


@dataclass
class Table:
    headers: list
    rows: list  # lists of strings
    numeric: list = field(default_factory=list)  # per column: right-align (numbers)
