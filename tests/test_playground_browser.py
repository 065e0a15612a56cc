"""The playground page in headless Chromium (Debian's chromium + the playwright package):
build, train moons until the classes separate, open a step and read one dL/dW entry equal to
fm.explain's, see a diverging rate reported, see bad input answered with a message.
Screenshots of each state land in the test's tmp directory for a person to look at."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import fastmlp as fm
from fastmlp.playground import make_server

CHROMIUM = "/usr/bin/chromium"
# Outside CI a missing browser skips, with the reason; CI (.ci/run installs both) must run it.
_IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
try:
    from playwright import sync_api
except ImportError:
    if _IN_CI:
        raise
    pytest.skip("needs the playwright package (pip install playwright)", allow_module_level=True)
if not Path(CHROMIUM).exists():
    if _IN_CI:
        raise RuntimeError(f"CI must install Debian's chromium at {CHROMIUM} (.ci/run does)")
    pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
WAIT_MS = 90_000  # the first explain may compile the Numba kernels it compares against


@pytest.fixture(scope="module")
def server():
    srv = make_server(port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def page(server):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1280, "height": 1000})
        outside = []
        pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server.address, "data:", "blob:")) else None)
        pg.goto(server.address)
        pg.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)
        yield pg
        assert outside == []  # the page fetched nothing from anywhere else
        pg.close(run_before_unload=True)  # one session per page: closing the page ends it
        until(lambda: len(server.sessions) == 0, "the session closed with its page", timeout_s=10)
        browser.close()


def until(check, what: str, timeout_s: float = WAIT_MS / 1000):
    """Poll ``check()`` from Python (the page's CSP rightly forbids evaluating strings in it)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {what}")
        time.sleep(0.1)


def message_has(pg, text: str) -> bool:
    return text in (pg.text_content("#message") or "")


def build(pg, **fields):
    for name, value in fields.items():
        if name in ("dataset", "activation", "optimizer", "loss"):
            pg.select_option(f"#{name}", str(value))
        else:
            pg.fill(f"#{name}", str(value))
    pg.click("#build")


@pytest.mark.slow
def test_train_moons_open_a_step_and_check_one_gradient(page, server, tmp_path):
    page.screenshot(path=tmp_path / "01-start.png", full_page=True)
    build(page, dataset="moons", hidden="8, 8", activation="tanh", optimizer="adam", lr=0.02, batch_size=16)
    until(lambda: message_has(page, "Built"), "the built network")
    page.click("#run")
    until(lambda: float(page.get_attribute("#status", "data-val-metric") or 0) > 0.9, "validation accuracy > 0.9")
    page.click("#run")  # pause
    until(lambda: page.text_content("#run") == "Run", "training paused")
    page.screenshot(path=tmp_path / "02-trained.png", full_page=True)
    # a few steps may run between reading the accuracy and the pause: Adam at 0.02 keeps it above 0.85
    assert float(page.get_attribute("#status", "data-val-metric")) > 0.85

    page.click("#explain")
    cell = page.wait_for_selector("td.pick[data-name='dL_dW1'][data-i='1'][data-j='2']", timeout=WAIT_MS)
    shown = cell.text_content()
    cell.click()
    formula = page.text_content("#formula")
    page.screenshot(path=tmp_path / "03-step.png", full_page=True)

    # fm.explain on the same model and the same next batch, computed here
    (session,) = [s for s in server.sessions._items.values() if s.cfg["lr"] == 0.02]
    xb, yb = session.next_batch()
    want = fm.explain(session.model, xb, yb, lr=0.02).as_dict()
    value = want["backends"][want["backend"]]["dL_dW1"][1][2]
    assert float(shown) == float(f"{value:.5e}")  # equal to the 6 digits shown
    assert formula.startswith("dL/dW1[1][2] = sum over the 16 rows") and f"engine: {shown}" in formula
    assert "computed the same step as the NumPy oracle" in page.text_content("#agreement")

    page.click("#compare")  # the same next steps at 0.01, 0.1, 1 and 10, side by side
    until(lambda: page.locator("#compare-legend li").count() == 4, "the four rates' curves")
    assert page.text_content("#compare-legend li:first-child").startswith("lr 0.01: loss")
    page.screenshot(path=tmp_path / "04-rates.png", full_page=True)
    with page.expect_download() as download:  # the loss curves as a PNG, drawn in the page
        page.click("#export-png")
    png = Path(download.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_a_diverging_rate_is_said_on_the_page(page, tmp_path):
    build(page, dataset="moons", optimizer="sgd", lr=80)
    until(lambda: message_has(page, "Built"), "the built network")
    page.click("#run")
    until(lambda: message_has(page, "diverging"), "the diverging message")
    assert "too large" in page.text_content("#message")
    page.screenshot(path=tmp_path / "05-diverging.png", full_page=True)


def test_bad_input_gets_a_message_not_a_traceback(page, tmp_path):
    build(page, hidden="8, 999")
    until(lambda: message_has(page, "hidden"), "the message about hidden")
    message = page.text_content("#message")
    assert "64" in message and "Traceback" not in message
    build(page, hidden="8", lr="fast")
    until(lambda: message_has(page, "lr must be"), "the message about lr")
    assert page.is_disabled("#step1")  # nothing to train until a build succeeds
    page.screenshot(path=tmp_path / "06-bad-input.png", full_page=True)
    print("screenshots:", tmp_path)


def csv_text(rows: int, features: int, seed: int = 0, header: bool = True) -> str:
    """A small classification CSV: the class is whether the first two features sum above 0."""
    import numpy as np

    X = np.random.default_rng(seed).normal(size=(rows, features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    names = ",".join([f"f{i}" for i in range(features)] + ["label"]) + "\n" if header else ""
    return names + "\n".join(",".join(f"{v:.5f}" for v in r) + f",{t}" for r, t in zip(X, y)) + "\n"


def open_csv(pg, name: str, text: str):
    pg.set_input_files("#csv-file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])


def test_a_csv_file_opens_and_trains_and_a_bad_one_is_refused(page, tmp_path):
    open_csv(page, "four.csv", csv_text(200, 4))
    until(lambda: "four.csv: 200 rows, 4 input columns" in (page.text_content("#csv-info") or ""), "the file's summary")
    assert "no decision picture" in page.text_content("#csv-info")
    assert page.input_value("#dataset") == "csv" and page.input_value("#target") == "label"
    assert [o.text_content() for o in page.locator("#target option").all()] == ["f0", "f1", "f2", "f3", "label"]
    build(page, hidden="8", lr=0.3)
    until(lambda: message_has(page, "Built a 4-8-2 network on four.csv"), "the network built on the file")
    page.click("#epoch")
    until(lambda: "epoch 1.00" in (page.text_content("#status") or ""), "one epoch trained")
    assert "No decision picture: the data has 4 inputs" in page.text_content("#boundary-caption")
    assert page.get_attribute("#boundary", "aria-label").startswith("no decision picture")
    assert page.text_content("#metric-caption").startswith("Accuracy per step")
    page.screenshot(path=tmp_path / "07-csv.png", full_page=True)

    # a 2-column file whose target is a quantity: regression, the fit is drawn, R^2 beside the loss
    open_csv(page, "line.csv", "x,y\n" + "".join(f"{i / 10},{0.3 * i + (i % 3) / 7}\n" for i in range(60)))
    until(lambda: "target \"y\": regression" in (page.text_content("#csv-info") or ""), "the regression file")
    build(page, hidden="4", lr=0.05)
    until(lambda: message_has(page, "on line.csv"), "the network on line.csv")
    page.click("#epoch")
    until(lambda: page.text_content("#metric-caption").startswith("R^2 per step"), "the R^2 curves")

    open_csv(page, "bad.csv", "a,b,c\n1,2,3\n4,oops,6\n")
    until(lambda: message_has(page, "bad.csv: csv row 3 column 'b': 'oops' is not a number"), "the bad file's message")
    open_csv(page, "nan.csv", "a,b\n1,2\nnan,3\n")
    until(lambda: message_has(page, "not a finite number"), "the NaN file's message")
    page.screenshot(path=tmp_path / "08-bad-csv.png", full_page=True)


def test_the_replay_plays_the_rates_and_says_only_what_the_numbers_show(page, tmp_path):
    build(page, dataset="moons", optimizer="sgd", lr=0.1, batch_size=16)
    until(lambda: message_has(page, "Built"), "the built network")
    page.fill("#replay-rates", "0.3, 3, 30, 100")
    page.fill("#replay-steps", "15")
    page.click("#replay-run")
    until(lambda: page.text_content("#replay-play") == "Pause", "the replay playing")
    page.screenshot(path=tmp_path / "09-replay-playing.png", full_page=True)
    until(lambda: "Replay finished at step 15" in (page.text_content("#replay-summary") or ""), "the replay's end")
    assert page.text_content("#replay-now").startswith("Step 15 of 15")
    assert page.locator("#replay-panels canvas[role='img']").count() == 4
    assert page.get_attribute("#replay-canvas-0", "aria-label").startswith("Decision regions")
    page.screenshot(path=tmp_path / "10-replay-done.png", full_page=True)
    # the table holds the numbers; every "diverged" in the words is true of them
    rows = [[c.text_content() for c in r.locator("td").all()] for r in page.locator("#replay-table tr").all()[1:]]
    assert [r[0] for r in rows] == [str(k) for k in range(16)]
    start = float(rows[0][1])
    summary = page.text_content("#replay-summary")
    for col, lr in enumerate(["0.3", "3", "30", "100"], start=1):
        losses = [r[col] for r in rows if r[col] != ""]
        diverged = losses[-1] == "not finite" or float(losses[-1]) > 10 * start
        assert (f"lr {lr} diverged at step {len(losses) - 1}" in summary) == diverged, (lr, losses, summary)
        assert diverged or len(losses) == 16  # a copy stops only when it diverged
    assert "lr 100 diverged" in summary
    page.fill("#replay-step", "3")
    page.dispatch_event("#replay-step", "input")
    assert page.text_content("#replay-now").startswith("Step 3 of 15")


CONTROLS = "input, select, button, textarea, a[href]"


def accessible_name(pg, control) -> str:
    """The name a screen reader reads for ``control``: aria-label, its <label>, or its own text."""
    if control.get_attribute("aria-label"):
        return control.get_attribute("aria-label")
    cid = control.get_attribute("id")
    labels = pg.locator(f"label[for='{cid}']") if cid else None
    if labels is not None and labels.count():
        return labels.first.text_content().strip()
    wrapping = control.locator("xpath=ancestor::label")
    if wrapping.count():
        return wrapping.first.text_content().strip()
    return (control.text_content() or "").strip()


def focused_id(pg) -> str:
    focused = pg.locator(":focus")
    return focused.get_attribute("id") if focused.count() else ""


def tab_to(pg, target: str, limit: int = 80) -> list:
    """Press Tab until ``#target`` has the focus; the ids passed on the way."""
    seen = []
    for _ in range(limit):
        pg.keyboard.press("Tab")
        seen.append(focused_id(pg))
        if seen[-1] == target:
            return seen
    raise AssertionError(f"Tab never reached #{target}; it went through {seen}")


def test_every_control_is_named_reachable_by_keyboard_and_trains_without_a_mouse(page, tmp_path):
    # keyboard only: Tab to Build, Enter; Tab to "1 epoch", Enter; Tab to Run, Enter twice
    tab_to(page, "build")
    assert page.locator("#build").evaluate("e => getComputedStyle(e).outlineStyle") != "none"  # focus is visible
    page.keyboard.press("Enter")
    until(lambda: message_has(page, "Built"), "the network built from the keyboard")
    until(lambda: "Built a" in (page.text_content("#announce") or ""), "the live region's announcement")
    page.locator("#dataset").focus()
    tab_to(page, "epoch")
    page.keyboard.press("Enter")
    until(lambda: "epoch 1.00" in (page.text_content("#status") or ""), "one epoch trained from the keyboard")
    until(lambda: (page.text_content("#announce") or "").startswith("Trained to step 20"), "the announced status")
    page.keyboard.press("Tab")
    assert focused_id(page) == "run"
    page.keyboard.press("Enter")
    until(lambda: "Training continuously" in (page.text_content("#announce") or ""), "the run announced")
    page.keyboard.press("Enter")
    until(lambda: (page.text_content("#announce") or "").startswith("Training paused at step"), "the pause announced")
    page.screenshot(path=tmp_path / "11-keyboard.png", full_page=True)

    # every control has a name, and Tab from the top reaches every one that is enabled
    controls = page.locator(CONTROLS).all()
    unnamed = [c.get_attribute("id") or c.evaluate("e => e.outerHTML") for c in controls if not accessible_name(page, c)]
    assert unnamed == []
    enabled = {c.get_attribute("id") for c in controls if c.is_enabled() and c.is_visible()}
    assert None not in enabled  # every control has an id the checks can name
    page.locator("h1").click()
    reached = set(tab_to(page, "export-png", limit=120))
    assert enabled - reached == set(), sorted(enabled - reached)
    # the pictures say in words what they show; the live regions exist
    for picture in page.locator("main canvas, main svg").all():
        pid = picture.get_attribute("id") or picture.evaluate("e => e.outerHTML.slice(0, 60)")
        assert picture.get_attribute("role") == "img" and picture.get_attribute("aria-label"), pid
    assert page.get_attribute("#announce", "role") == "status" and page.get_attribute("#message", "role") == "alert"
    # and the browser's own accessibility tree agrees: no button, box or list without a name
    tree = page.locator("body").aria_snapshot()
    for line in tree.splitlines():
        role = line.strip().lstrip("- ").split(" ")[0].rstrip(":")
        if role in ("button", "textbox", "combobox", "slider", "link", "img", "checkbox"):
            assert '"' in line, f"nameless {role} in the accessibility tree: {line}"
