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
    assert len(widths) == 5 and all(width > 0 for width in widths)
    for table in ("environment", "steps", "speedups", "rewiring", "drift", "errors", "baseline"):
        assert browser_page.locator(f"table#{table} tbody tr").count() > 0, table
    assert browser_page.locator("ul#findings li").count() >= 3
    assert browser_page.locator("#answers-section ul li").count() >= 4  # my step, fastest, change, caveats
    assert browser_page.locator("details summary").count() >= 1  # the full unstable list, collapsed
    screenshot = tmp_path / "report.png"
    browser_page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 50_000
    print(f"screenshot saved: {screenshot}")


def test_the_answers_are_visible_above_the_fold_at_1280_by_800(report, browser_page):
    browser_page.set_viewport_size({"width": 1280, "height": 800})
    browser_page.goto(report.as_uri())
    browser_page.wait_for_load_state("load")
    first_answer = browser_page.locator("#answers-section ul li").first
    assert first_answer.is_visible() and first_answer.inner_text().startswith("Your step")
    box = first_answer.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800  # on the first screen, unscrolled
