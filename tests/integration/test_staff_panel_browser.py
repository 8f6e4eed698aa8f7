"""The staff workspace in a real headless Chromium against the real gateway, Rasa and Redis: a
new lead appears in an open panel without a reload (live events, faster than the fallback
poll) and counts in the tab's title; a canned reply chosen in Swedish goes out in the
person's language; the drop-in view lists a web-chat booking of the coach's
team for its day and marks attendance; axe finds nothing there. Saves reports/coach-dropin.png."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.config import ROOT
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium
from tests import journeys
from tests.journeys import CLOCK

SCREENSHOT = ROOT / "reports" / "coach-dropin.png"
PASSWORD = "correct horse battery"
JARVA = "jobbtorg-unga-jarva"


@pytest.fixture
async def client(aiohttp_client, rasa_server, providers, prefix, redis):
    settings = journeys.journey_settings(prefix, providers, rasa_url=rasa_server.url,
                                         rasa_token=rasa_server.token)
    client = await aiohttp_client(create_app(settings, clock=CLOCK))
    services = client.server.app[SERVICES]
    await services.accounts.add(
        "sara", PASSWORD, [JARVA], name="Sara")
    return client


def wait(driver, timeout: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def watch_then_dropin(base: str, ready: threading.Event, created: threading.Event,
                      booking: dict[str, str]) -> dict[str, object]:
    seen: dict[str, object] = {}
    try:
        with chromium(width=1280, height=1000) as driver:
            driver.get(f"{base}/coach/")
            wait(driver).until(ec.visibility_of_element_located((By.ID, "username"))) \
                .send_keys("sara")
            driver.find_element(By.ID, "password").send_keys(PASSWORD + "\n")
            wait(driver).until(ec.visibility_of_element_located((By.ID, "queue-empty")))
            # Open: the gateway has subscribed this panel (it subscribes before it answers).
            wait(driver).until(lambda d: d.execute_script("return window.LotsenCoach.live()"))
            seen["title_before"] = driver.title
            ready.set()
            created.wait(120)
            after = time.monotonic()
            wait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                             "#queue-body tr button"))
            seen["shown_after"] = time.monotonic() - after
            seen["title_after"] = driver.title

            driver.find_element(By.CSS_SELECTOR, "#queue-body tr button").click()  # claim
            wait(driver).until(ec.visibility_of_element_located((By.ID, "canned-form")))
            Select(driver.find_element(By.ID, "canned-choice")).select_by_value("greeting")
            seen["canned_preview"] = driver.find_element(By.ID, "canned-preview").text
            driver.find_element(By.CSS_SELECTOR, "#canned-form button").click()
            wait(driver).until(lambda d: "Hi, I am a coach" in d.find_element(
                By.ID, "transcript").text)
            seen["axe_lead"] = axe_violations(driver)

            driver.find_element(By.ID, "nav-dropin").click()
            wait(driver).until(lambda d: d.execute_script(
                "return document.activeElement.id") == "dropin-title")
            Select(driver.find_element(By.ID, "dropin-location")).select_by_value(JARVA)
            day = driver.find_element(By.ID, "dropin-day")
            driver.execute_script("arguments[0].value = arguments[1]", day, booking["day"])
            driver.find_element(By.CSS_SELECTOR, "#dropin-form button").click()
            wait(driver).until(lambda d: booking["code"] in d.find_element(
                By.ID, "dropin-body").text)
            seen["summary"] = driver.find_element(By.ID, "dropin-summary").text
            came = driver.find_element(By.CSS_SELECTOR, "#dropin-body [data-mark=attended]")
            came.click()
            wait(driver).until(lambda d: d.find_element(
                By.CSS_SELECTOR, "#dropin-body [data-mark=attended]")
                .get_attribute("aria-pressed") == "true")
            seen["csv"] = driver.find_element(By.ID, "dropin-csv").get_attribute("href")
            seen["axe"] = axe_violations(driver)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            driver.save_screenshot(str(SCREENSHOT))
    finally:
        ready.set()
    return seen


async def test_a_new_lead_appears_live_and_the_dropin_view_marks_attendance(client) -> None:
    base = str(client.make_url("")).rstrip("/")
    ready, created = threading.Event(), threading.Event()
    booking: dict[str, str] = {}

    async def a_person_books_and_asks_for_a_coach() -> None:
        await asyncio.to_thread(ready.wait, 120)
        _, codes = await journeys.web_booking_and_handover(client)
        stored = await client.server.app[SERVICES].bookings.store.get(codes[1])
        booking.update(code=stored.code, day=stored.day)
        created.set()

    seen, _ = await asyncio.gather(
        asyncio.to_thread(watch_then_dropin, base, ready, created, booking),
        a_person_books_and_asks_for_a_coach())
    assert seen["shown_after"] < 3.0  # the fallback poll alone would often take 5 s
    assert seen["title_before"] == "Lotsen – coachpanel"
    assert seen["title_after"] == "(1) Lotsen – coachpanel"
    assert "1 av" in seen["summary"] and "engelska 1" in seen["summary"]
    assert seen["csv"].endswith(f"/coach/api/bookings.csv?location={JARVA}&day={booking['day']}")
    assert seen["axe"] == [] and seen["axe_lead"] == []
    # The coach reads the Swedish; the person (English in this journey) gets their language.
    assert seen["canned_preview"] == ("”Hej, jag är coach på Jobbtorg Stockholm. Hur kan jag "
                                      "hjälpa dig?” – skickas på engelska.")
    day = await client.server.app[SERVICES].bookings.store.get(booking["code"])
    assert day.attendance == "attended"
