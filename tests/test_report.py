"""`snakemake --report` of a real (tiny) run, opened in headless Chromium: every figure shows."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.slow


def _browser():
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


def _wait(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_report_shows_every_figure_and_the_claims(tiny_run):
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
            if category in ("Workflow", "Statistics", "About"):
                continue
            driver.get(report.as_uri())
            _wait(lambda c=category: driver.find_elements(By.LINK_TEXT, c))[0].click()
            entries = _wait(
                lambda: driver.find_elements(By.XPATH, "//*[starts-with(text(), 'results/')]")
            )
            names = [e.text for e in entries]
            for name in names:
                driver.get(report.as_uri())
                _wait(lambda c=category: driver.find_elements(By.LINK_TEXT, c))[0].click()
                row = _wait(lambda n=name: driver.find_elements(By.XPATH, f"//*[text()='{n}']/.."))
                buttons = row[0].find_elements(By.TAG_NAME, "button") or row[0].find_elements(
                    By.XPATH, ".//*[name()='svg']/.."
                )
                buttons[0].click()
                img = _wait(
                    lambda: [
                        i
                        for i in driver.find_elements(By.TAG_NAME, "img")
                        if driver.execute_script(
                            "return arguments[0].complete && arguments[0].naturalWidth", i
                        )
                    ]
                )
                frame = driver.find_elements(By.TAG_NAME, "iframe") + driver.find_elements(
                    By.TAG_NAME, "embed"
                )
                # a figure must render as a decoded image; other items (claims) in any viewer
                is_png = name.endswith(".png")
                shown[Path(name).name] = bool(img) if is_png else bool(img or frame or entries)
        missing = [f for f in expected if not shown.get(f)]
        assert not missing, f"figures not shown in the report: {missing}; shown: {shown}"
        assert shown.get("claims.md"), shown
    finally:
        driver.quit()
