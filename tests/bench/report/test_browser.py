"""The report in a real headless browser: Debian's chromium, driven by Playwright.

.ci/run installs chromium when it is absent; where it cannot be installed this test is skipped
and says why.
"""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser_page():
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH: install Debian's chromium (apt-get install chromium), "
                    "as .ci/run does, to run the browser test")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def test_the_report_renders_in_chromium_without_errors(report, browser_page, tmp_path):
    errors = []
    browser_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    browser_page.goto(report.as_uri())
    browser_page.wait_for_load_state("load")
    assert errors == []
    widths = browser_page.evaluate("Array.from(document.images, image => image.naturalWidth)")
    assert len(widths) == 6 and all(width > 0 for width in widths)  # the waterfall among them
    for table in ("environment", "steps", "speedups", "rewiring", "drift", "errors", "baseline"):
        assert browser_page.locator(f"table#{table} tbody tr").count() > 0, table
    assert browser_page.locator("ul#findings li").count() >= 3
    assert browser_page.locator("#answers-section ul li").count() >= 4  # the answers in words, collapsed
    assert browser_page.locator("details summary").count() >= 1  # the full unstable list, collapsed
    screenshot = tmp_path / "report.png"
    browser_page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 50_000
    print(f"screenshot saved: {screenshot}")


def test_the_answers_are_visible_above_the_fold_at_1280_by_800(report, browser_page):
    browser_page.set_viewport_size({"width": 1280, "height": 800})
    browser_page.goto(report.as_uri())
    browser_page.wait_for_load_state("load")
    card = "#answer-conv2d-cpu-card"
    for key, starts in (("user", "Your step"), ("fastest", "Fastest step"), ("speedup", "Speed-up")):
        element = browser_page.locator(f"{card}-{key}")
        assert element.is_visible() and element.inner_text().startswith(starts), key
        box = element.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 800, (key, box)  # first screen, unscrolled
        assert box["x"] + box["width"] <= 1280, (key, box)  # and not off to the side
    numbers = [browser_page.locator(f"{card}-{key} .big").inner_text() for key in ("user", "fastest", "speedup")]
    assert numbers[0].endswith(" ms") and numbers[1].endswith(" ms") and numbers[2].endswith("×"), numbers
    # the short label names only what differs; the full label is one click away
    summary = browser_page.locator(f"{card}-user details summary")
    # (which point is fastest depends on the run: its num_workers may differ from yours too)
    assert summary.inner_text().startswith("pipeline:notebook") and " | " not in summary.inner_text()
    full = browser_page.locator(f"{card}-user details .full")
    assert not full.is_visible()
    summary.click()
    assert full.is_visible() and "conv2d | " in full.inner_text()
    assert browser_page.locator("table#changes-conv2d-cpu tbody tr").count() >= 1  # and how to apply each
