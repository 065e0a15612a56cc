"""`Explanation`: the numbers of one explained step, and every way to show them."""

from __future__ import annotations

import copy
import numbers
import shutil

from . import _json

FORMATS = ("text", "markdown", "html", "json")
MIN_WIDTH = 40  # narrower than this, a 2x2 matrix and its label no longer fit on a line
DEFAULT_WIDTH = 100  # when the terminal's width is unknown
MAX_AUTO_WIDTH = 160  # past this, lines get too long to read even on a wide terminal


class Explanation:
    """One training step, every number named. Made by `fastmlp.explain`.

    ``str()`` / ``print`` give the format chosen in `explain` (text by default);
    ``to_text(width)``, ``to_markdown()``, ``to_html()`` and ``to_json()`` give any of them,
    ``as_dict()`` the numbers themselves, and Jupyter shows the HTML.
    """

    def __init__(self, data: dict, format: str = "text"):
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}, got {format!r}")
        self._data = data
        self._format = format

    # --- the numbers ---------------------------------------------------------------------------

    def as_dict(self) -> dict:
        """Every number as plain JSON-ready Python (a copy): network, each backend's step,
        the comparison and the learning-rate sweep. Non-finite numbers are None."""
        return copy.deepcopy(self._data)

    @property
    def lr(self) -> float:
        return self._data["lr"]

    @property
    def backend(self) -> str:
        return self._data["backend"]

    @property
    def loss_before(self) -> float:
        return self._data["loss_before"]

    @property
    def loss_after(self):
        """The batch loss after the step (None if it overflowed)."""
        return self._data["loss_after"]

    # --- renderings ----------------------------------------------------------------------------

    def to_text(self, width=None) -> str:
        """Terminal text, every line at most ``width`` characters (default: the terminal's width)."""
        from ._document import build
        from ._text import render

        return render(build(self._data), _width(width))

    def to_markdown(self) -> str:
        from ._document import build
        from ._markdown import render

        return render(build(self._data))

    def to_html(self) -> str:
        from ._document import build
        from ._html import render

        return render(build(self._data))

    def to_json(self, indent=2) -> str:
        """Strict JSON of `as_dict` (floats round-trip exactly; non-finite numbers are null)."""
        return _json.dumps(self._data, indent=indent)

    def render(self, format=None) -> str:
        """The explanation in ``format`` (default: the one chosen in `explain`)."""
        format = self._format if format is None else format
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}, got {format!r}")
        return {"text": self.to_text, "markdown": self.to_markdown, "html": self.to_html,
                "json": self.to_json}[format]()

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        after = self.loss_after
        return (f"<Explanation: {self._data['title']}; lr {self.lr:g}, loss {self.loss_before:.6g} -> "
                f"{'overflow' if after is None else format(after, '.6g')} ({self.backend})>")


def _width(width) -> int:
    if width is None:
        columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
        return max(MIN_WIDTH, min(columns, MAX_AUTO_WIDTH))
    if isinstance(width, bool) or not isinstance(width, numbers.Integral):
        raise TypeError(f"width must be an int, got {type(width).__name__}")
    if width < MIN_WIDTH:
        raise ValueError(f"width must be >= {MIN_WIDTH} characters, got {width}")
    return int(width)
