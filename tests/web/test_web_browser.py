"""End-to-end tests of the page in headless Chromium (Selenium + Debian's chromedriver).

Skipped, with the reason in the report header and summary, where Chromium, chromedriver or
Selenium is missing: ``scripts/install-browser.sh`` installs them. Screenshots go to
``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from ._browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, FLAGS, browser_missing
from .test_web_api import engine_ready

_missing = browser_missing()
if _missing:
    pytest.skip(f"browser tests skipped: {_missing}", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

needs_engine = pytest.mark.skipif(not engine_ready(),
                                  reason="tensorcalc.symbolic (parse/derivative) not available")


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="tensorcalc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # Given an explicit driver path, Selenium does not look for (or download) one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def shot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    # Full page: size the window to the document so the whole result is in the picture.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, max(900, min(int(height) + 40, 4000)))
    driver.save_screenshot(str(path))
    return path


def open_page(driver, url: str) -> None:
    driver.get("about:blank")  # a hash-only change would not reload the page
    driver.get(url)
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")
    # Marks this document; if anything reloads the page, the mark disappears.
    driver.execute_script("window.__tensorcalcMark = 42")


def still_same_document(driver) -> bool:
    return driver.execute_script("return window.__tensorcalcMark") == 42


def costs(driver) -> dict:
    # Read in one script call: the table is re-rendered while we poll.
    return driver.execute_script(
        "const out = {};"
        "for (const td of document.querySelectorAll('#chain-table td.num'))"
        "  out[td.dataset.mode] = td.textContent;"
        "return out;"
    )


def type_into(driver, element_id: str, text: str) -> None:
    box = driver.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(text)


def test_chain_tab_shows_seed_002(browser, live_server):
    open_page(browser, live_server.url)
    browser.find_element(By.ID, "tab-chain").click()
    wait(browser, lambda d: costs(d) == {"forward": "660", "reverse": "124", "optimal": "124"})
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart svg rect.bar")
    assert len(bars) == 3
    values = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart svg .bar-value")]
    assert values == ["660", "124", "124"]
    # Bar lengths are proportional to the costs.
    widths = [float(b.get_attribute("width")) for b in bars]
    assert widths[0] / widths[1] == pytest.approx(660 / 124, rel=1e-6)
    table = browser.find_element(By.ID, "chain-table").text
    assert "(((J4 J3) J2) J1)" in table
    assert "tab=chain" in browser.current_url and "widths=10%2C6%2C8%2C2%2C1" in browser.current_url
    shot(browser, "web-chain.png")

    # Live update, no reload: a chain where forward mode wins.
    type_into(browser, "widths", "1,8,8,8,10")
    wait(browser, lambda d: costs(d) == {"forward": "208", "reverse": "1,360", "optimal": "208"})
    assert still_same_document(browser)


def test_chain_errors_are_inline(browser, live_server):
    open_page(browser, live_server.url + "#tab=chain&widths=10,6,x,1")
    box = wait(browser, lambda d: d.find_element(By.ID, "widths-error"))
    wait(browser, lambda d: box.is_displayed())
    assert "column 6" in box.text
    assert box.find_element(By.TAG_NAME, "mark").text == "x"


def test_page_loads_nothing_from_elsewhere(browser, live_server):
    open_page(browser, live_server.url)
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert urls, "expected the stylesheet, script and API calls"
    assert all(u.startswith(live_server.url.rstrip("/")) for u in urls), urls


@needs_engine
def test_derivative_renders_and_follows_the_controls(browser, live_server):
    open_page(browser, live_server.url)
    type_into(browser, "expr", "x'*A*x")
    math = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#result-math math"))
    wait(browser, lambda d: "x'*A*x" in d.find_element(By.ID, "result-of").text
         or "A" in d.find_element(By.ID, "result-of").text)
    assert math.get_attribute("namespaceURI") == "http://www.w3.org/1998/Math/MathML"
    assert math.size["height"] > 10, "MathML did not lay out"
    assert Select(browser.find_element(By.ID, "wrt")).first_selected_option.get_attribute(
        "value") == "x"
    assert "numerator" in browser.find_element(By.ID, "result-layout").text
    assert browser.find_element(By.ID, "latex").text
    assert "def " in browser.find_element(By.ID, "numpy").text
    assert browser.find_element(By.ID, "steps").text

    Select(browser.find_element(By.ID, "layout")).select_by_value("gradient")
    wait(browser, lambda d: "gradient" in d.find_element(By.ID, "result-layout").text)
    assert "layout=gradient" in browser.current_url and "expr=" in browser.current_url

    browser.find_element(By.ID, "check-btn").click()
    out = wait(browser, lambda d: d.find_element(By.ID, "check-out")
               if "max error" in d.find_element(By.ID, "check-out").text else None)
    assert "✓" in out.text

    browser.find_element(By.CSS_SELECTOR, "label[for=order-2]").click()
    wait(browser, lambda d: d.find_element(By.ID, "result-title").text == "Hessian")
    assert "order=2" in browser.current_url
    assert still_same_document(browser)
    shot(browser, "web-derive.png")


@needs_engine
def test_parse_error_is_shown_at_its_column(browser, live_server):
    open_page(browser, live_server.url)
    type_into(browser, "expr", "x'*A*")
    box = browser.find_element(By.ID, "expr-error")
    wait(browser, lambda d: box.is_displayed())
    assert "column 6" in box.text
    shot(browser, "web-error.png")
    type_into(browser, "expr", "x'*x")
    wait(browser, lambda d: not box.is_displayed())


@needs_engine
def test_examples_are_one_click_away(browser, live_server):
    open_page(browser, live_server.url)
    chips = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#examples .chip"))
    labels = [c.text for c in chips]
    assert "tr(AXB)" in labels and "softmax cross-entropy" in labels
    chips[labels.index("tr(AXB)")].click()
    wait(browser, lambda d: d.find_element(By.ID, "expr").get_attribute("value") == "tr(A*X*B)")
    wait(browser, lambda d: "with respect to X" in d.find_element(By.ID, "result-of").text)
    assert still_same_document(browser)


@needs_engine
def test_shared_url_restores_the_result(browser, live_server):
    url = live_server.url + "#expr=" + quote("log(det(X))") + "&wrt=X&layout=gradient"
    open_page(browser, url)
    wait(browser, lambda d: "gradient" in d.find_element(By.ID, "result-layout").text)
    assert browser.find_element(By.ID, "expr").get_attribute("value") == "log(det(X))"
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#result-math math"))


@needs_engine
def test_a_new_expression_gets_its_own_default_variable(browser, live_server):
    open_page(browser, live_server.url)
    type_into(browser, "expr", "tr(A*X*B)")
    wait(browser, lambda d: "with respect to X" in d.find_element(By.ID, "result-of").text)
    # X still occurs, but the server's default for this expression is w: the page must not
    # keep the previous expression's choice, which the user never made.
    type_into(browser, "expr", "norm2(X*w - y)^2")
    wait(browser, lambda d: "with respect to w" in d.find_element(By.ID, "result-of").text)
    assert Select(browser.find_element(By.ID, "wrt")).first_selected_option.get_attribute(
        "value") == "w"
    assert "wrt=" not in browser.current_url
    # A variable the user picks is kept while the expression changes around it.
    Select(browser.find_element(By.ID, "wrt")).select_by_value("X")
    wait(browser, lambda d: "with respect to X" in d.find_element(By.ID, "result-of").text)
    assert "wrt=X" in browser.current_url
    type_into(browser, "expr", "norm2(X*w - y)^2 + tr(X)")
    wait(browser, lambda d: "tr(X)" in d.find_element(By.ID, "result-of").text)
    assert "with respect to X" in browser.find_element(By.ID, "result-of").text


@needs_engine
def test_check_names_the_reference_it_used(browser, live_server):
    # From the URL, not typed: a debounced derivation landing after the click would clear the
    # check's answer (the page drops answers to superseded derivations).
    open_page(browser, live_server.url + "#expr=" + quote("x'*A*x"))
    wait(browser, lambda d: "with respect to x" in d.find_element(By.ID, "result-of").text)
    browser.find_element(By.ID, "check-btn").click()
    out = wait(browser, lambda d: d.find_element(By.ID, "check-out")
               if "check-out busy" not in d.find_element(By.ID, "check-out")
               .get_attribute("class") else None)
    assert "✓ agrees with tensorcalc's autodiff engine" in out.text, out.text
    assert "finite differences" not in out.text
