"""The coach dashboard in a real headless Chromium: log in, claim, reply, close.
Saves reports/coach-dashboard.png with a lead open."""

from __future__ import annotations

import asyncio
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.config import ROOT
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import chromium
from tests.conftest import Conversation, make_settings
from tests.integration.test_handover import FIXTURE_CONFIG, PASSWORD, request_coach

SCREENSHOT = ROOT / "reports" / "coach-dashboard.png"


def work_in_browser(base_url: str, screenshot: Path) -> dict[str, object]:
    with chromium(width=1280, height=1000) as driver:
        wait = WebDriverWait(driver, 20)
        driver.get(f"{base_url}/coach/")
        wait.until(ec.visibility_of_element_located((By.ID, "username"))).send_keys("anna")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "\n")
        claim = wait.until(ec.element_to_be_clickable(
            (By.CSS_SELECTOR, "#queue-body button")))
        queue_row = driver.find_element(By.CSS_SELECTOR, "#queue-body tr").text
        login_shown = driver.find_element(By.ID, "login-view").is_displayed()
        claim.click()
        wait.until(ec.visibility_of_element_located((By.ID, "lead-view")))
        wait.until(lambda d: "Amina" in d.find_element(By.ID, "lead-title").text)
        reply = driver.find_element(By.ID, "reply-text")
        reply.send_keys("Hej Amina! Välkommen till drop-in på tisdag kl 13.")
        driver.find_element(By.CSS_SELECTOR, "#reply-form button").click()
        wait.until(lambda d: "Välkommen till drop-in" in d.find_element(By.ID, "transcript").text)
        screenshot.parent.mkdir(exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(screenshot))
        facts = driver.find_element(By.ID, "lead-facts").text
        Select(driver.find_element(By.ID, "outcome")).select_by_value("booked")
        driver.find_element(By.CSS_SELECTOR, "#close-form button").click()
        wait.until(ec.invisibility_of_element_located((By.ID, "lead-view")))
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#queue-body tr"))
        return {"queue_row": queue_row, "facts": facts, "login_shown": login_shown}


async def test_log_in_claim_reply_close(aiohttp_client, rasa_server, prefix, redis) -> None:
    client = await aiohttp_client(create_app(make_settings(prefix, rasa_server,
                                                           config_dir=FIXTURE_CONFIG)))
    services = client.server.app[SERVICES]
    await services.accounts.add(
        "anna", PASSWORD, ["jobbtorg-unga-jarva"], name="Anna")
    talk = await Conversation.start(client)
    await request_coach(talk)

    result = await asyncio.to_thread(work_in_browser, str(client.make_url("")).rstrip("/"),
                                     SCREENSHOT)
    assert "Arbete" in result["queue_row"] and "Rinkeby" in result["queue_row"]
    assert "Amina" not in result["queue_row"]  # no names in the queue
    assert result["login_shown"] is False
    assert "Amina" in result["facts"] and "20-29" in result["facts"]
    messages = [m["text"] for m in await talk.messages()]
    assert any("Välkommen till drop-in" in m and "Anna" in m for m in messages)
    lead_id = (await services.leads.team_leads("jobbtorg-unga-jarva") or [None])[0]
    assert lead_id is None  # closed: no longer in the queue
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
