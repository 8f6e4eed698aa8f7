"""Notices in a real headless Chromium against the real gateway (on an injected clock) and Redis.

The operators' editor ("Meddelanden"), keyboard only after the page loads: an empty form is
refused field by field (aria-invalid, the message in the paragraph aria-describedby names, focus
on the first field); a notice in Swedish and Arabic for one team is posted and listed; taking it
down asks first (Escape keeps it) and then it is gone; axe-core finds no WCAG 2.1 A/AA violation
at 1280 and 320 px in any of those states, and the page does not scroll sideways at 320 px. A
coach sees no link and no editor.

The web chat page shows a live notice above the chat in the chosen language, marked with that
language, and announces it once through its polite live region: not again on the polls (made
every 300 ms here), not on a change of language (the text changes), not after a reload; at the
notice's end time by the gateway's clock it is gone from the page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.core.notices.flow import notice_board
from bot.core.notices.model import read_notice
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium
from tests import journeys
from tests.browser_waits import announced, before_next_page, requests_to
from tests.clock import STOCKHOLM, FixedClock
from tests.integration.test_coach_accessibility import set_viewport, sideways
from tests.waiting import until_sync

PASSWORD = "correct horse battery"
TEXT_SV = "Jobbtorg Järva är stängt i dag. Välkommen tillbaka i morgon!"
TEXT_AR = "جوبتورغ يارفا مغلق اليوم. مرحبًا بك غدًا!"
Client = TestClient[Any, Any]
Driver = Any  # a Selenium Chrome driver (scripts.browser.chromium)

# Before the chat page's own script: every text the notices' live region is given.
RECORD_NOTICES_JS = """
window.noticesAnnounced = [];
document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("notices-announcer");
  if (!region) return;
  new MutationObserver(() => {
    if (region.textContent) window.noticesAnnounced.push(region.textContent);
  }).observe(region, { childList: true, characterData: true, subtree: true });
});
"""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # 12:00 in Stockholm


@pytest.fixture
async def panel(aiohttp_client: Any, prefix: str, redis: Any, providers: Any,
                clock: FixedClock) -> Client:
    """The gateway with the test teams on the fixed clock, an operator (Olga), a coach (Sara)."""
    app = create_app(journeys.journey_settings(prefix, providers), clock=clock)
    client: Client = await aiohttp_client(app)
    accounts = app[SERVICES].accounts
    await accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    await accounts.add("sara", PASSWORD, ["jobbtorg-unga-jarva"], name="Sara")
    return client


def base_url(client: Client) -> str:
    return str(client.make_url("")).rstrip("/")


def wait(driver: Driver, timeout: float = 20) -> WebDriverWait[Driver]:
    return WebDriverWait(driver, timeout)


def focused_id(driver: Driver) -> str:
    return str(driver.execute_script("return document.activeElement.id"))


def press(driver: Driver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver: Driver, wanted: Callable[[Driver], bool], limit: int = 40) -> None:
    for _ in range(limit):
        press(driver, Keys.TAB)
        if wanted(driver):
            return
    raise AssertionError(f"Tab never got there (last: {focused_id(driver)!r})")


def focused_text(driver: Driver) -> str:
    return str(driver.execute_script("return document.activeElement.textContent.trim()"))


def field_state(driver: Driver, field: str) -> dict[str, Any]:
    """Whether a field is marked invalid and what its described-by paragraphs say."""
    state: dict[str, Any] = driver.execute_script("""
        const field = document.getElementById(arguments[0]);
        const ids = (field.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
        return {invalid: field.getAttribute('aria-invalid'),
                described: ids.map((id) => document.getElementById(id).textContent).join(' | ')};
    """, field)
    return state


def log_in(driver: Driver, base: str, username: str) -> None:
    driver.get(f"{base}/coach/#meddelanden")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "username"))).send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    wait(driver).until(ec.visibility_of_element_located((By.ID, "who")))


# ---------------------------------------------------------------------- the editor
def operator_posts_and_takes_down(base: str, ends: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        wait(driver).until(lambda d: focused_id(d) == "notices-title")
        wait(driver).until(ec.presence_of_element_located((By.ID, "notice-text-ar")))
        seen["nav"] = driver.find_element(By.ID, "nav-notices").get_attribute("aria-current")
        seen["queue_shown"] = driver.find_element(By.ID, "work-view").is_displayed()
        seen["axe_empty"] = axe_violations(driver)

        # An empty form: each problem at its field, focus on the first.
        tab_to(driver, lambda d: focused_id(d) == "notice-post")
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: focused_id(d) == "notice-text-sv")
        seen["sv_empty"] = field_state(driver, "notice-text-sv")
        seen["ends_empty"] = field_state(driver, "notice-ends")
        seen["axe_errors"] = axe_violations(driver)

        # Write it: Swedish (focus is there), Tab on to Arabic, to the first team, Space.
        press(driver, TEXT_SV, Keys.TAB)
        seen["after_sv"] = focused_id(driver)
        tab_to(driver, lambda d: focused_id(d) == "notice-text-ar")
        press(driver, TEXT_AR)
        tab_to(driver, lambda d: focused_id(d) == "notice-team-0")
        press(driver, Keys.SPACE)
        seen["team"] = driver.execute_script(
            "return document.querySelector('label[for=notice-team-0]').textContent")
        tab_to(driver, lambda d: focused_id(d) == "notice-ends")
        # A datetime-local field's typed order follows the browser's locale: set its value.
        driver.execute_script("arguments[0].value = arguments[1]",
                              driver.find_element(By.ID, "notice-ends"), ends)
        tab_to(driver, lambda d: focused_id(d) == "notice-post")
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: "publicerat" in d.find_element(By.ID, "notice-status").text)
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#notices-list .notice-item"))
        seen["status_role"] = driver.find_element(By.ID, "notice-status").get_attribute("role")
        seen["sv_after"] = field_state(driver, "notice-text-sv")
        seen["listed"] = driver.find_element(By.ID, "notices-list").text
        seen["listed_ar_lang"] = driver.execute_script(
            "return [...document.querySelectorAll('#notices-list [lang=ar]')]"
            ".map((e) => [e.textContent, e.dir])")
        seen["axe_listed"] = axe_violations(driver)

        # Take it down: asked first; Escape keeps it and gives focus back.
        tab_to(driver, lambda d: focused_text(d) == "Ta bort")
        press(driver, Keys.ENTER)
        seen["asked_focus"] = focused_text(driver)
        seen["question"] = driver.find_element(By.CSS_SELECTOR, "#notices-list .confirm p").text
        seen["axe_asked"] = axe_violations(driver)
        set_viewport(driver, 320, 800)
        seen["narrow"] = sideways(driver)
        seen["axe_narrow"] = axe_violations(driver)
        press(driver, Keys.ESCAPE)
        seen["kept_focus"] = focused_text(driver)
        press(driver, Keys.ENTER)
        press(driver, Keys.ENTER)  # "Ja, ta bort"
        wait(driver).until(lambda d: "borttaget" in d.find_element(By.ID, "notice-status").text)
        wait(driver).until(lambda d: focused_id(d) == "notices-list-title")
        seen["left"] = len(driver.find_elements(By.CSS_SELECTOR, "#notices-list .notice-item"))
        seen["empty_shown"] = driver.find_element(By.ID, "notices-empty").is_displayed()
        seen["axe_narrow_empty"] = axe_violations(driver)
    return seen


async def test_an_operator_posts_and_takes_down_a_notice_by_keyboard(
        panel: Client, clock: FixedClock) -> None:
    ends_at = clock().astimezone(STOCKHOLM) + timedelta(days=1)
    seen = await asyncio.to_thread(operator_posts_and_takes_down, base_url(panel),
                                   ends_at.strftime("%Y-%m-%dT%H:%M"))
    for state in ("axe_empty", "axe_errors", "axe_listed", "axe_asked", "axe_narrow",
                  "axe_narrow_empty"):
        assert seen[state] == [], (state, seen[state])
    assert seen["nav"] == "page" and not seen["queue_shown"]
    assert seen["sv_empty"]["invalid"] == "true" and "svenska" in seen["sv_empty"]["described"]
    assert seen["ends_empty"]["invalid"] == "true" and "datum" in seen["ends_empty"]["described"]
    assert seen["after_sv"] == "notice-text-en"  # the next language's text, in table order
    assert seen["status_role"] == "status"
    assert seen["sv_after"]["invalid"] is None and "0 av 300" in seen["sv_after"]["described"]
    assert TEXT_SV in seen["listed"] and seen["team"] in seen["listed"]
    assert seen["listed_ar_lang"] == [[TEXT_AR, "rtl"]]
    assert seen["asked_focus"] == "Ja, ta bort" and "Ta bort meddelandet" in seen["question"]
    assert seen["kept_focus"] == "Ta bort"
    scroll_width, inner_width = seen["narrow"]
    assert scroll_width <= inner_width
    assert seen["left"] == 0 and seen["empty_shown"]

    # What the page posted, and that it was audited both ways.
    audit = await panel.server.app[SERVICES].redis.xrange(
        f"{panel.server.app[SERVICES].keys.prefix}:audit")
    actions = [(fields["action"], fields["coach"], fields["team"]) for _, fields in audit]
    assert ("notice_post", "olga", "jobbtorg-unga-jarva") in actions
    assert ("notice_delete", "olga", "jobbtorg-unga-jarva") in actions
    board = notice_board(panel.server.app[SERVICES].engine.flows)
    assert board is not None and await board.current(clock.timestamp(), cached=False) == []


def coach_visits(base: str) -> dict[str, Any]:
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "sara")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "work-view")))
        return {"link": driver.find_element(By.ID, "nav-notices").is_displayed(),
                "editor": driver.find_element(By.ID, "notices-view").is_displayed()}


async def test_a_coach_sees_neither_the_link_nor_the_editor(panel: Client) -> None:
    seen = await asyncio.to_thread(coach_visits, base_url(panel))
    assert seen == {"link": False, "editor": False}


# ---------------------------------------------------------------------- the chat page
def notice_on_the_page(driver: Driver) -> list[list[str]]:
    shown: list[list[str]] = driver.execute_script(
        "const box = document.getElementById('notices');"
        "if (box.hidden) return [];"
        "return [...box.querySelectorAll('li')].map((li) => [li.textContent, li.lang, li.dir]);")
    return shown


def polls_later(driver: Driver, polls: int = 3) -> None:
    """Until the page has asked for the notices `polls` more times (each answer shown)."""
    asked = requests_to(driver, "/webchat/notices")
    until_sync(lambda: requests_to(driver, "/webchat/notices") >= asked + polls,
               what="more polls of the notices")
    driver.execute_async_script("const done = arguments[0]; setTimeout(done, 50);")


def chat_page(base: str, clock: FixedClock, ends_in: timedelta,
              label: Callable[[str], str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with chromium() as driver:
        before_next_page(driver, interval_ms=300)  # the page's polls, every 300 ms
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                               {"source": RECORD_NOTICES_JS})
        driver.get(f"{base}/?lang=ar")
        until_sync(lambda: notice_on_the_page(driver), what="the notice on the page")
        polls_later(driver)
        seen["arabic"] = notice_on_the_page(driver)
        seen["title"] = driver.find_element(By.ID, "notices-title").text
        seen["arabic_heard"] = driver.execute_script("return window.noticesAnnounced")
        seen["chat_heard"] = announced(driver)
        seen["axe"] = axe_violations(driver)

        # Swedish, chosen with the keyboard: the text changes, nothing is announced again.
        Select(driver.find_element(By.ID, "language")).select_by_value("sv")
        driver.find_element(By.ID, "language-apply").send_keys(Keys.ENTER)
        until_sync(lambda: notice_on_the_page(driver) and notice_on_the_page(driver)[0][1] == "sv",
                   what="the Swedish text")
        polls_later(driver)
        seen["swedish"] = notice_on_the_page(driver)
        seen["swedish_title"] = driver.find_element(By.ID, "notices-title").text == label("sv")
        seen["swedish_heard"] = driver.execute_script("return window.noticesAnnounced")

        driver.refresh()  # the same tab: heard already
        until_sync(lambda: notice_on_the_page(driver), what="the notice after the reload")
        polls_later(driver)
        seen["reload_heard"] = driver.execute_script("return window.noticesAnnounced")

        clock.now += ends_in  # the gateway's clock reaches the end time
        until_sync(lambda: not notice_on_the_page(driver), what="the notice to go")
        seen["gone"] = driver.execute_script(
            "return [document.getElementById('notices').hidden,"
            "        document.getElementById('notices-list').children.length]")
    return seen


async def test_the_chat_page_shows_the_notice_and_announces_it_once(
        panel: Client, clock: FixedClock) -> None:
    services = panel.server.app[SERVICES]
    board = notice_board(services.engine.flows)
    assert board is not None
    draft = read_notice({"texts": {"sv": TEXT_SV, "ar": TEXT_AR},
                         "teams": ["jobbtorg-unga-jarva", "jobbtorg-vuxna-jarva"],
                         "ends_at": (clock() + timedelta(hours=2)).isoformat()},
                        languages=services.languages.enabled, required="sv",
                        teams=services.teams, districts=services.static.districts,
                        now=clock.timestamp())
    await board.post(draft, "olga")

    def label(code: str) -> str:
        return services.content.text("notices_label", code)

    seen = await asyncio.to_thread(chat_page, base_url(panel), clock, timedelta(hours=2),
                                   label)
    assert seen["arabic"] == [[TEXT_AR, "ar", "rtl"]]
    assert seen["title"] == label("ar")
    assert seen["arabic_heard"] == [f"{label('ar')}\n{TEXT_AR}"]  # once, though polled again
    assert not any(TEXT_AR in said for said in seen["chat_heard"])  # its own region only
    assert seen["axe"] == []
    assert seen["swedish"] == [[TEXT_SV, "sv", "ltr"]] and seen["swedish_title"]
    assert seen["swedish_heard"] == seen["arabic_heard"]  # not again in the new language
    assert seen["reload_heard"] == []                     # nor after a reload of the tab
    assert seen["gone"] == [True, 0]
