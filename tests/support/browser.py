"""A real headless Chromium for the UI tests: Debian's ``chromium`` driven through Debian's
``chromium-driver`` (both from the Makefile's APT_PACKAGES) with Selenium.

Selenium, rather than Playwright from npm: the tests stay in pytest and Python with the rest of
the suite, the driver is Debian's build for exactly that Chromium (no browser download, no
version pairing by hand), and no Node toolchain or lockfile joins the project for tests alone.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # Media must play without a click: the tests press play from a script.
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--window-size=1440,1000",
    "--lang=en-US",
)
WAIT = 30.0  # seconds a page may take to show what a test waits for
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A new headless Chromium session; quit (browser and driver) at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    """Save what the browser shows now under test-artifacts/ (kept by CI, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)[:120]}.png"
    driver.save_screenshot(str(path))
    return path


def sign_in(driver, servers, user: str) -> None:
    """Through Airflow's own sign-in page, as a person does."""
    from selenium.webdriver.common.by import By

    driver.get(f"{servers.base}/")
    wait_until(driver, lambda d: d.find_elements(By.NAME, "username"))
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(servers.passwords[user])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(driver, lambda d: "/auth/login" not in d.current_url and d.get_cookie("_token"))


def wait_until(driver, condition, timeout: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def by_css(driver, selector: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_job(driver, servers, job_id: str) -> None:
    driver.switch_to.default_content()
    driver.get(f"{servers.base}/deck2video/jobs/{job_id}")
    wait_until(driver, lambda d: by_css(d, "table.slides tr.slide"))
