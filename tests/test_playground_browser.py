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
