"""`snakemake --report` of a real (tiny) run, opened in headless Chromium: every figure shows
as an image, the claims table and the provenance summary as tables on the page."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from tiers import require_e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # a browser


def _browser():
    require_e2e("opens a browser")
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))


# How long to wait for the page (a bound, not an expectation: in CI the background runs load the
# cores while the browser renders).
PAGE_TIMEOUT = 120.0


def _wait(predicate, timeout=PAGE_TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def _click(driver, find, timeout: float = PAGE_TIMEOUT) -> None:
    """Click the element ``find()`` returns once it can take the click: scrolled into view,
    visible and enabled, and not covered by another element (a page still moving its panels
    intercepts a click: found again and retried until ``timeout``), however fast the machine."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    def clicked(_driver) -> bool:
        element = find()
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        if not expected_conditions.element_to_be_clickable(element)(driver):
            return False
        element.click()
        return True

    retried = (ElementClickInterceptedException, StaleElementReferenceException, IndexError)
    WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=retried).until(clicked)


def _open_result(driver, report: Path, category: str, name: str):
    """Open the report, go to ``category`` and press the view button of result ``name``."""
    from selenium.webdriver.common.by import By

    driver.get(report.as_uri())
    _click(driver, lambda: driver.find_elements(By.LINK_TEXT, category)[0])
    row = _wait(lambda: driver.find_elements(By.XPATH, f"//*[text()='{name}']/.."))
    assert row, f"{name} is not listed under {category}"

    def button():
        row = driver.find_elements(By.XPATH, f"//*[text()='{name}']/..")[0]
        return (
            row.find_elements(By.TAG_NAME, "button")
            or row.find_elements(By.XPATH, ".//*[name()='svg']/..")
        )[0]

    _click(driver, button)


def test_report_shows_every_figure(tiny_run):
    from selenium.webdriver.common.by import By

    report = tiny_run.report()
    expected = sorted(p.name for p in (tiny_run.results / "figures").glob("*.png"))
    assert expected, "the tiny run made no figures"
    driver = _browser()
    try:
        driver.get(report.as_uri())
        _wait(lambda: driver.find_elements(By.LINK_TEXT, "Claims"))
        categories = [a.text for a in driver.find_elements(By.TAG_NAME, "a") if a.text.strip()]
        shown = {}
        for category in categories:
            if category in ("Workflow", "Statistics", "About", "Claims", "Provenance"):
                continue
            driver.get(report.as_uri())
            _click(driver, lambda c=category: driver.find_elements(By.LINK_TEXT, c)[0])
            entries = _wait(
                lambda: driver.find_elements(By.XPATH, "//*[starts-with(text(), 'results/')]")
            )
            for name in [e.text for e in entries if e.text.endswith(".png")]:
                _open_result(driver, report, category, name)
                img = _wait(
                    lambda: [
                        i
                        for i in driver.find_elements(By.TAG_NAME, "img")
                        if driver.execute_script(
                            "return arguments[0].complete && arguments[0].naturalWidth", i
                        )
                    ]
                )
                shown[Path(name).name] = bool(img)  # a decoded image, not a link
        missing = [f for f in expected if not shown.get(f)]
        assert not missing, f"figures not shown in the report: {missing}; shown: {shown}"
    finally:
        driver.quit()


def _table_on_page(driver) -> list[list[str]]:
    """The rows (cell texts) of the table the open result shows in its frame, as displayed."""
    from selenium.webdriver.common.by import By

    frame = _wait(lambda: driver.find_elements(By.TAG_NAME, "iframe"))
    assert frame, "the result is not shown on the page (no frame): only a link?"
    assert frame[0].is_displayed() and frame[0].size["height"] > 100
    driver.switch_to.frame(frame[0])
    try:
        table = _wait(lambda: driver.find_elements(By.TAG_NAME, "table"))
        assert table and table[0].is_displayed(), driver.page_source[:2000]
        return [
            [cell.text for cell in row.find_elements(By.XPATH, "./th|./td")]
            for row in table[0].find_elements(By.TAG_NAME, "tr")
        ]
    finally:
        driver.switch_to.default_content()


def test_report_shows_the_claims_and_the_provenance_as_tables(tiny_run):
    """The claims table and the provenance summary are readable on the page (tables rendered
    in the report's viewer, read back as displayed text), not download links."""
    import pandas as pd

    report = tiny_run.report()
    claims = pd.read_csv(tiny_run.results / "claims.csv", keep_default_na=False)
    provenance = pd.read_csv(tiny_run.results / "provenance.csv", keep_default_na=False)
    preset = tiny_run.preset
    driver = _browser()
    try:
        _open_result(driver, report, "Claims", f"results/{preset}/claims.html")
        rows = _table_on_page(driver)
        assert rows[0][:2] == ["claim_id", "claim"] and "verdict" in rows[0]
        shown = {row[0]: row[rows[0].index("verdict")] for row in rows[1:]}
        assert shown == dict(zip(claims["claim_id"], claims["verdict"], strict=True))
        assert shown["C1"] in ("holds", "does not hold", "not run in this preset")

        _open_result(driver, report, "Provenance", f"results/{preset}/provenance.html")
        rows = _table_on_page(driver)
        assert rows[0][:3] == ["result", "created", "git_commit"]
        first = provenance.iloc[0]
        assert [first["result"], first["config_digest"]] in [[r[0], r[3]] for r in rows[1:]]
        assert len(rows) == len(provenance) + 1
    finally:
        driver.quit()


def _in_frame_fits(driver) -> tuple[int, int]:
    """(scroll width, client width) of the document shown in the current frame."""
    return (
        driver.execute_script("return document.documentElement.scrollWidth"),
        driver.execute_script("return document.documentElement.clientWidth"),
    )


def test_report_shows_verdict_margin_noise_and_captions_without_scrolling(tiny_run):
    """In a 1400 px window (issue 24): the claims table fits its frame, its verdict, margin and
    noise columns on screen with no horizontal scrolling; each figure's page under "Figures with
    captions" shows the figure with its caption under it (no (i) button to press)."""
    from selenium.webdriver.common.by import By

    report = tiny_run.report()
    preset = tiny_run.preset
    expected = sorted(p.stem for p in (tiny_run.results / "figures").glob("*.png"))
    assert expected, "the tiny run made no figures"
    driver = _browser()
    try:
        _open_result(driver, report, "Claims", f"results/{preset}/claims.html")
        frame = _wait(lambda: driver.find_elements(By.TAG_NAME, "iframe"))
        driver.switch_to.frame(frame[0])
        _wait(lambda: driver.find_elements(By.TAG_NAME, "th"))
        scroll, width = _in_frame_fits(driver)
        assert scroll <= width, f"the claims table scrolls sideways: {scroll} > {width} px"
        heads = {th.text: th.rect for th in driver.find_elements(By.TAG_NAME, "th")}
        for name in ("verdict", "margin", "noise"):
            assert heads[name]["x"] + heads[name]["width"] <= width, (name, heads[name], width)
        driver.switch_to.default_content()

        for fig in expected:  # each figure's page: the figure, its caption under it
            _open_result(
                driver, report, "Figures with captions", f"results/{preset}/figures/{fig}.html"
            )
            frame = _wait(lambda: driver.find_elements(By.TAG_NAME, "iframe"))
            driver.switch_to.frame(frame[0])
            img = _wait(lambda: driver.find_elements(By.TAG_NAME, "img"))
            assert img, f"{fig}: no figure on its page (a frame over 2 MB stays blank)"
            assert _wait(
                lambda i=img[0]: driver.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth", i
                )
            ), fig
            caption = driver.find_element(By.TAG_NAME, "figcaption")
            assert caption.text.strip() and caption.rect["y"] > img[0].rect["y"], fig
            scroll, width = _in_frame_fits(driver)
            assert scroll <= width, f"{fig}'s page scrolls sideways: {scroll} > {width} px"
            driver.switch_to.default_content()
    finally:
        driver.quit()
