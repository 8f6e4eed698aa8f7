"""Headless Debian Chromium driven by Selenium (chromedriver from Debian's chromium-driver).

Shared by `make screenshot` and the browser tests. The flags keep Chromium off the network
except for the page under test (this machine has no other network).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-dev-shm-usage"]


@contextmanager
def chromium(width: int = 430, height: int = 900) -> Iterator[webdriver.Chrome]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        raise RuntimeError("Chromium and chromedriver are needed: `make browser` installs "
                           "Debian's chromium and chromium-driver packages.")
    with tempfile.TemporaryDirectory() as profile:
        options = Options()
        options.binary_location = binary
        for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def bot_messages(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.bot")]


def wait_for_bot_messages(driver: webdriver.Chrome, count: int, timeout: float = 20) -> None:
    WebDriverWait(driver, timeout).until(lambda d: len(bot_messages(d)) >= count)


def say(driver: webdriver.Chrome, text: str, timeout: float = 20) -> str:
    """Type `text` into the chat and press Enter; return the bot's answer."""
    before = len(bot_messages(driver))
    field = WebDriverWait(driver, timeout).until(ec.element_to_be_clickable((By.ID, "text")))
    field.send_keys(text + "\n")
    wait_for_bot_messages(driver, before + 1, timeout)
    return bot_messages(driver)[-1]
