"""The coach panel's presence toggle ("Tillgänglig") in a real headless Chromium against the real
gateway and Redis: present when the panel opens, axe-core finds no WCAG 2.1 AA violations in
either state, the toggle works from the keyboard with a visible focus ring and aria-pressed,
and a chosen "Borta" survives a reload (the panel's own report never undoes it)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys as Key
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.core.hours.presence import Presence
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium
from tests.conftest import make_settings
from tests.integration.test_handover import FIXTURE_CONFIG, PASSWORD

TEAM = "jobbtorg-unga-jarva"
FOCUS_JS = """
const e = document.activeElement, s = getComputedStyle(e);
return [e.id, e.matches(':focus-visible'), s.outlineStyle, parseFloat(s.outlineWidth)];
"""


@pytest.fixture
async def panel(aiohttp_client, prefix, redis) -> TestClient:
    client = await aiohttp_client(create_app(make_settings(prefix, config_dir=FIXTURE_CONFIG)))
    await client.server.app[SERVICES].accounts.add("anna", PASSWORD, [TEAM], name="Anna")
    return client


def wait(driver: webdriver.Chrome, timeout: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def pressed(driver: webdriver.Chrome, value: str) -> None:
    """Wait until the toggle's aria-pressed is `value` and the answer behind it is shown."""
    wait(driver).until(lambda d: d.find_element(By.ID, "presence").get_attribute(
        "aria-pressed") == value and d.find_element(By.ID, "presence-state").text)


def use_the_toggle(base: str) -> dict[str, object]:
    found: dict[str, object] = {}
    with chromium(width=1280, height=900) as driver:
        driver.get(f"{base}/coach/")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "username"))).send_keys(
            "anna")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "\n")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "presence")))
        pressed(driver, "true")  # the panel is open: present
        found["opened"] = driver.find_element(By.ID, "presence-state").text
        found["name"] = driver.find_element(By.ID, "presence").accessible_name
        found["axe_present"] = axe_violations(driver)

        # To the toggle by keyboard: from the element before it, Tab.
        driver.execute_script("arguments[0].focus()", driver.find_element(By.ID, "presence"))
        ActionChains(driver).key_down(Key.SHIFT).send_keys(Key.TAB).key_up(Key.SHIFT).perform()
        ActionChains(driver).send_keys(Key.TAB).perform()
        found["focus"] = driver.execute_script(FOCUS_JS)
        ActionChains(driver).send_keys(Key.SPACE).perform()
        pressed(driver, "false")
        found["away"] = driver.find_element(By.ID, "presence-state").text
        found["axe_away"] = axe_violations(driver)

        driver.refresh()  # a chosen "Borta" holds over a reload
        wait(driver).until(ec.visibility_of_element_located((By.ID, "presence")))
        pressed(driver, "false")
        found["after_reload"] = driver.find_element(By.ID, "presence-state").text
        toggle = driver.find_element(By.ID, "presence")
        driver.execute_script("arguments[0].focus()", toggle)
        toggle.send_keys(Key.ENTER)
        pressed(driver, "true")
        found["back"] = driver.find_element(By.ID, "presence-state").text
    return found


async def test_the_presence_toggle_is_accessible_and_a_chosen_away_holds(panel, redis,
                                                                         prefix) -> None:
    base = str(panel.make_url("")).rstrip("/")
    services = panel.server.app[SERVICES]
    presence = Presence(redis=services.redis, keys=services.keys, clock=services.clock)
    result = await asyncio.to_thread(use_the_toggle, base)
    assert result["axe_present"] == [] and result["axe_away"] == []
    assert result["name"] == "Tillgänglig"  # the name stays; aria-pressed says the state
    assert result["opened"] == "Du visas som tillgänglig."
    focus_id, visible, outline, width = result["focus"]  # type: ignore[misc]
    assert (focus_id, visible) == ("presence", True) and outline != "none" and width >= 2
    assert result["away"] == result["after_reload"] == "Du visas som borta."
    assert result["back"] == "Du visas som tillgänglig."
    state = await presence.state("anna", [TEAM])
    assert (state.present, state.away) == (True, False) and await presence.anyone(TEAM)
