"""Headless Debian Chromium driven by Selenium (chromedriver from Debian's chromium-driver).

Shared by `make screenshot` and the browser tests. The flags keep Chromium off the network
except for the page under test (this machine has no other network). `axe_violations` runs
axe-core (installed by `make axe` from package-lock.json) in the current page or frame.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-dev-shm-usage"]


@contextmanager
def chromium(width: int = 430, height: int = 900, font_size: int = 16,
             phone: bool = False) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a `width`×`height` viewport. `font_size` is the person's own
    default font size (16 px is the browser default; 32 px is text at 200 %); `phone` emulates
    a touch phone (mobile viewport, device pixel ratio 2)."""
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
        options.add_experimental_option("prefs", {"webkit.webprefs.default_font_size": font_size})
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 2 if phone else 1,
            "mobile": phone})
        try:
            yield driver
        finally:
            driver.quit()


def bot_messages(driver: webdriver.Chrome) -> list[str]:
    """The text of each bot message (without its buttons and the screen-reader speaker name)."""
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.bot > .text")]


def wait_for_bot_messages(driver: webdriver.Chrome, count: int, timeout: float = 20) -> None:
    WebDriverWait(driver, timeout).until(lambda d: len(bot_messages(d)) >= count)


def say(driver: webdriver.Chrome, text: str, timeout: float = 20) -> str:
    """Type `text` into the chat and press Enter; return the bot's answer."""
    before = len(bot_messages(driver))
    field = WebDriverWait(driver, timeout).until(ec.element_to_be_clickable((By.ID, "text")))
    field.send_keys(text + "\n")
    wait_for_bot_messages(driver, before + 1, timeout)
    return bot_messages(driver)[-1]


def axe_violations(driver: webdriver.Chrome, tags: list[str] | None = None) -> list[str]:
    """axe-core's violations of WCAG 2.1 A/AA (or `tags`) in the current page or frame, each as
    'rule (impact): selector, …: help' so a failing test says what and where."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: `make axe` installs axe-core from package-lock.json")
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, iframes: false})"
        ".then((r) => done(JSON.stringify(r.violations)),"
        "      (e) => done(JSON.stringify({error: String(e)})));",
        tags or WCAG_21_AA)
    violations = json.loads(result)
    if isinstance(violations, dict):
        raise RuntimeError(f"axe-core failed: {violations['error']}")
    return [f"{v['id']} ({v['impact']}): "
            f"{', '.join(str(n['target'][-1]) for n in v['nodes'][:5])}: {v['help']}"
            for v in violations]


FOCUS_RING_JS = """
const el = document.activeElement, style = getComputedStyle(el);
let node = el.parentElement, back = 'rgb(255, 255, 255)';
for (; node; node = node.parentElement) {
  const bg = getComputedStyle(node).backgroundColor;
  if (bg && bg !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(bg)) { back = bg; break; }
}
return {name: el.id || el.textContent.trim().slice(0, 30) || el.tagName, tag: el.tagName,
        ring: style.outlineColor,
        style: style.outlineStyle, width: parseFloat(style.outlineWidth), behind: back};
"""


def focus_ring(driver: webdriver.Chrome) -> dict[str, object]:
    """The focused element's outline (colour, style, width) and the colour behind it: the
    background of the nearest ancestor that has one (the ring is drawn outside the element)."""
    return driver.execute_script(FOCUS_RING_JS)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours given as rgb()/rgba() strings."""
    def luminance(color: str) -> float:
        channels = [float(c) for c in color[color.index("(") + 1:-1].split(",")[:3]]
        linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
                  for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted([luminance(first), luminance(second)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


INTERACTIVE_JS = """
return [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
  .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
                  && !el.classList.contains('visually-hidden') && el.tabIndex >= 0)
  .map((el) => { const r = el.getBoundingClientRect();
                 return {name: el.id || el.textContent.trim().slice(0, 30) || el.tagName,
                         tag: el.tagName, width: r.width, height: r.height}; });
"""


def interactive_sizes(driver: webdriver.Chrome) -> list[dict[str, object]]:
    """Every visible interactive element of the current page or frame with its size in CSS px."""
    return driver.execute_script(INTERACTIVE_JS)


def sideways_overflow(driver: webdriver.Chrome) -> int:
    """How many CSS px the page scrolls sideways (0 when it reflows)."""
    return driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
