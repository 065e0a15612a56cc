"""fm.explain's renderings: text fits its width, markdown / HTML / JSON are well formed, and each
shows the same numbers as the data."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.explain import explain
from fastmlp.explain._format import exact, matrix_cells

SECTIONS = ["1. The inputs", "2. Forward pass", "3. Prediction, error and loss", "4. Backward pass",
            "5. The update", "6. After the step", "7. The learning rate", "8. Three implementations"]


@pytest.fixture(scope="module")
def xor():
    return explain(example="xor")


@pytest.fixture(scope="module")
def house():
    return explain(example="house")


@pytest.fixture(scope="module")
def wide():
    """Matrices wider and taller than any line: the text must split and elide them."""
    rng = np.random.default_rng(3)
    model = fm.MLP([30, 14, 3], activation="tanh", loss="cross_entropy", dtype="float64", backend="numpy", seed=1)
    return explain(model, rng.standard_normal((20, 30)), rng.integers(0, 3, 20), lr=0.1)


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [40, 41, 57, 80, 123])
@pytest.mark.parametrize("which", ["xor", "house", "wide"])
def test_text_fits_the_width(request, which, width):
    text = request.getfixturevalue(which).to_text(width=width)
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, f"{len(too_long)} lines over {width}: {too_long[:3]}"
    assert text.isascii()  # any terminal shows it


def test_text_width_defaults_to_the_terminal(xor, monkeypatch):
    monkeypatch.setenv("COLUMNS", "52")  # shutil.get_terminal_size reads COLUMNS first
    lines = xor.to_text().splitlines()
    assert max(map(len, lines)) <= 52
    assert max(map(len, lines)) > 45  # and uses it: prose fills the line


def test_text_width_errors_name_width(xor):
    with pytest.raises(ValueError, match="width"):
        xor.to_text(width=39)
    with pytest.raises(TypeError, match="width"):
        xor.to_text(width="80")


def test_text_tells_the_step_in_order(xor):
    text = xor.to_text(width=100)
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    for formula in ["z1 = x W1 + b1", "a1 = sigmoid(z1)", "delta2 = dL/dz2 = (p - t) / N",
                    "dL/da1 = delta2 W2^T", "delta1 = dL/da1 * f'(z1)", "dL/dW1 = x^T delta1",
                    "dW = -lr * dL/dW", "L = mean( -t log(p) - (1 - t) log(1 - p) )"]:
        assert formula in text, formula


def test_text_numbers_are_the_data(xor):
    data = xor.as_dict()
    trace = data["backends"][data["backend"]]
    text = xor.to_text(width=120)
    shown = float(re.search(r"^  L = (\S+)$", text, re.M).group(1))
    assert shown == pytest.approx(trace["loss"], rel=1e-9)  # printed with 10 significant digits
    for key in ("W1", "dL_dW1", "W1_new", "delta1"):  # each row of these matrices, as formatted
        for row in matrix_cells(trace[key]):
            assert "[ " + " ".join(row) + " ]" in text, key
    sweep = text[text.index(SECTIONS[6]):text.index(SECTIONS[7])]
    # xor, seed 0: too small crawls, the best single step and good both fall steadily, too large diverges
    assert re.search(r"100 steps: the loss\s+crawls\s+falls steadily\s+falls steadily\s+diverges", sweep)


def test_wide_matrices_are_split_and_elided(wide):
    text = wide.to_text(width=40)
    assert "W1 (30x14)" in text and "W1 (cont.)" in text
    assert "..." in text  # 30 rows and 14 columns are more than a reader follows


def test_overflowing_rate_renders_everywhere():
    result = explain(example="house", lr=1e200)
    assert result.loss_after is None
    assert "after: overflow" in result.to_text(width=80)
    data = json.loads(result.to_json(), parse_constant=_reject)
    assert data["loss_after"] is None
    _check_html(result.to_html())
    _check_markdown(result.to_markdown())


# --- JSON -----------------------------------------------------------------------------------


def _reject(constant):
    raise AssertionError(f"non-standard JSON constant {constant}")


@pytest.mark.parametrize("which", ["xor", "house", "wide"])
def test_json_is_strict_and_round_trips(request, which):
    result = request.getfixturevalue(which)
    data = json.loads(result.to_json(), parse_constant=_reject)
    assert data == result.as_dict()
    assert data["kind"] == "fastmlp.explain"
    assert set(data) >= {"network", "backend", "lr", "backends", "comparison", "lr_sweep"}
    assert json.loads(result.to_json(indent=None)) == data


# --- markdown -------------------------------------------------------------------------------


def _check_markdown(md: str):
    """Fences balanced, every table rectangular, headings well formed, prose escaped."""
    in_code, table_cols = False, None
    for line in md.splitlines():
        if line.startswith("```"):
            assert line in ("```text", "```") and (line == "```") == in_code, line
            in_code = not in_code
            continue
        if in_code:
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        if line.startswith("|"):
            assert table_cols in (None, cells), f"ragged table row: {line}"
            table_cols = cells
            continue
        table_cols = None
        if line.startswith("#"):
            assert re.match(r"^#{1,3} \S", line), line
        assert "<" not in line.replace("\\<", ""), f"unescaped '<': {line}"
    assert not in_code, "unclosed code fence"


@pytest.mark.parametrize("which", ["xor", "house", "wide"])
def test_markdown_is_well_formed(request, which):
    md = request.getfixturevalue(which).to_markdown()
    _check_markdown(md)
    for section in SECTIONS:
        assert re.search(rf"^## {re.escape(section)}", md, re.M), section


def test_markdown_comparison_has_every_digit(house):
    data = house.as_dict()
    names = list(data["backends"])
    md = house.to_markdown()
    header = "| quantity | " + " | ".join(names) + " | max abs diff |"
    assert header in md
    row = next(line for line in md.splitlines() if line.startswith("| loss |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    for name, cell in zip(names, cells[1:]):
        assert float(cell) == data["backends"][name]["loss"]  # 17 digits: the float64 exactly
        assert cell == exact(data["backends"][name]["loss"])


# --- HTML -----------------------------------------------------------------------------------


class _Checker(HTMLParser):
    """Every tag closed in order; collects the text and the cells of each matrix table."""

    VOID = {"br", "hr", "img", "meta", "link", "input", "col", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.figures, self.roots = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if not self.stack:
            self.roots += 1
            assert tag == "div" and ("class", "fastmlp-explain") in attrs
        if tag == "figure":
            self.figures.append({"caption": "", "rows": []})
        if tag == "tr" and "figure" in self.stack:
            self.figures[-1]["rows"].append([])
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        if "style" in self.stack:
            return
        self.text.append(data)
        if "figcaption" in self.stack:
            self.figures[-1]["caption"] += data
        elif "td" in self.stack and "figure" in self.stack:
            self.figures[-1]["rows"][-1].append(data)


def _check_html(page: str) -> _Checker:
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert not checker.stack, f"unclosed tags {checker.stack}"
    assert checker.roots == 1
    return checker


@pytest.mark.parametrize("which", ["xor", "house", "wide"])
def test_html_is_well_formed(request, which):
    result = request.getfixturevalue(which)
    page = result.to_html()
    checker = _check_html(page)
    text = "".join(checker.text)
    for section in SECTIONS:
        assert section in text
    # "Layer 1: 2 -> 2" is escaped in the source and reads as '->' once parsed
    assert re.search(r"Layer 1: \d+ -> \d+", text) and "-&gt;" in page and "->" not in page.split("</style>")[1]
    assert result._repr_html_() == result.to_html()


def test_html_matrices_show_the_data(xor):
    data = xor.as_dict()
    trace = data["backends"][data["backend"]]
    checker = _check_html(xor.to_html())
    figures = {f["caption"]: f["rows"] for f in checker.figures}
    for key, caption in [("W1", "W1 (2x2)"), ("dL_dW2", "dL/dW2 (2x1)"), ("b2_new", "b2 new (1)")]:
        expected = [[cell.strip() for cell in row] for row in matrix_cells(trace[key])]
        assert figures[caption] == expected, key
