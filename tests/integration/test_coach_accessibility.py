"""WCAG 2.1 AA checks of the coach panel (/coach/) in a real headless Chromium, against the real
gateway, Rasa model and Redis: axe-core, focus that survives the 5-second updates, an
append-only transcript log, no sideways scrolling at 390 and 320 px, 44 px tap targets, focus
indicator and border contrast, the person's own font size, and a tablet screenshot
(reports/coach-tablet.png)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.config import ROOT
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium, contrast
from tests.browser_waits import requests_to
from tests.conftest import Conversation, make_settings
from tests.integration.test_handover import FIXTURE_CONFIG, PASSWORD, request_coach
from tests.waiting import until_sync

TABLET_SCREENSHOT = ROOT / "reports" / "coach-tablet.png"
TEAMS = ["jobbtorg-unga-jarva", "jobbtorg-vuxna-jarva"]  # Anna's teams, in this order
INTERACTIVE = ("a[href], button, input, select, textarea, "
               "[tabindex]:not([tabindex='-1'])")
VISIBLE_INTERACTIVE_JS = f"""
return [...document.querySelectorAll("{INTERACTIVE}")].filter((e) => {{
  const r = e.getBoundingClientRect();
  return e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden'
         && r.width > 1 && r.height > 1
         && !e.closest('details:not([open]) > :not(summary)');  // folded away: not shown
}});"""


@pytest.fixture
async def panel(aiohttp_client, rasa_server, prefix, redis) -> TestClient:
    """The gateway with the test teams and coach Anna (both Järva teams)."""
    client = await aiohttp_client(create_app(make_settings(prefix, rasa_server,
                                                           config_dir=FIXTURE_CONFIG)))
    services = client.server.app[SERVICES]
    await services.accounts.add(
        "anna", PASSWORD, TEAMS, name="Anna")
    return client


def base_url(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


async def new_lead(client: TestClient, district: str, age: str) -> Conversation:
    talk = await Conversation.start(client)
    await request_coach(talk, district=district, age=age)
    return talk


# ---------------------------------------------------------------------- browser helpers
def wait(driver: webdriver.Chrome, timeout: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def log_in(driver: webdriver.Chrome, base: str, rows: int = 1) -> None:
    driver.get(f"{base}/coach/")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "username"))).send_keys("anna")
    driver.find_element(By.ID, "password").send_keys(PASSWORD + "\n")
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR,
                                                     "#queue-body tr button")) >= rows)


def row_button(driver: webdriver.Chrome, district: str):  # type: ignore[no-untyped-def]
    for row in driver.find_elements(By.CSS_SELECTOR, "#queue-body tr"):
        if district in row.text:
            return row.find_element(By.TAG_NAME, "button")
    raise AssertionError(f"no queue row for {district}")


def claim(driver: webdriver.Chrome, district: str) -> None:
    row_button(driver, district).click()
    wait(driver).until(lambda d: "Amina" in d.find_element(By.ID, "lead-title").text)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript li"))


def set_viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    wait(driver, 5).until(lambda d: d.execute_script("return window.innerWidth") == width)
    time.sleep(0.2)  # let layout settle


def sideways(driver: webdriver.Chrome) -> tuple[int, int]:
    return driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")


# The effective background behind an element: the first ancestor (from the parent up) whose
# background is not transparent, composited over white when translucent.
BACKGROUND_JS = """
function behind(element) {
  for (let e = element.parentElement; e; e = e.parentElement) {
    const m = getComputedStyle(e).backgroundColor.match(/[\\d.]+/g).map(Number);
    const alpha = m.length > 3 ? m[3] : 1;
    if (alpha > 0) {
      const mix = (c) => Math.round(c * alpha + 255 * (1 - alpha));
      return `rgb(${mix(m[0])}, ${mix(m[1])}, ${mix(m[2])})`;
    }
  }
  return 'rgb(255, 255, 255)';
}
"""


# ---------------------------------------------------------------------- 1. axe
STATEMENT_LINK = (By.CSS_SELECTOR, "a[href='/tillganglighet']")


def axe_login_and_lead(base: str) -> dict[str, object]:
    with chromium(width=1280, height=1000) as driver:
        driver.get(f"{base}/coach/")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "username")))
        login = axe_violations(driver)
        links = [e.is_displayed() for e in driver.find_elements(*STATEMENT_LINK)]
        log_in(driver, base, rows=2)
        claim(driver, "Rinkeby")
        links += [e.is_displayed() for e in driver.find_elements(*STATEMENT_LINK)]
        return {"login": login, "lead": axe_violations(driver), "links": links,
                "link_text": [e.text for e in driver.find_elements(*STATEMENT_LINK)]}


async def test_axe_finds_no_violations_logged_out_and_with_a_lead_open(panel) -> None:
    await new_lead(panel, "Rinkeby", "20-29")
    await new_lead(panel, "Tensta", "30+")
    result = await asyncio.to_thread(axe_login_and_lead, base_url(panel))
    assert result["login"] == []
    assert result["lead"] == []
    # The accessibility statement is one link away, logged out and logged in.
    assert result["links"] == [True, True] and result["link_text"] == ["Tillgänglighet"]
    # The page works under `script-src 'self'; style-src 'self'`: nothing inline.
    page = await (await panel.get("/coach/")).text()
    assert "style=" not in page and "<style" not in page
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/coach/static/coach.js" defer>',
        '<script src="/coach/static/outreach.js" defer>',
        '<script src="/coach/static/dropin.js" defer>',
        '<script src="/coach/static/review.js" defer>',
        '<script src="/coach/static/content.js" defer>',
        '<script src="/coach/static/stats.js" defer>',
        '<script src="/coach/static/notices.js" defer>']


# ---------------------------------------------------------------------- 2. keyed queue rows
def keep_focus_on_a_queue_button(base: str, focused: threading.Event,
                                  arrived: threading.Event) -> dict[str, object]:
    try:
        with chromium(width=1280, height=1000) as driver:
            log_in(driver, base, rows=2)
            button = row_button(driver, "Tensta")  # the last row: the new lead goes before it
            lead_id = button.get_attribute("data-lead")
            name_before = button.accessible_name
            rows_before = len(driver.find_elements(By.CSS_SELECTOR, "#queue-body tr"))
            driver.execute_script("arguments[0].focus(); arguments[0].__marked = true", button)
            focused.set()
            samples: list[list[object]] = []

            def sample() -> bool:
                """Where focus is now; True once the third lead is in the queue."""
                samples.append(driver.execute_script(
                    "const a = document.activeElement;"
                    "return [a.__marked === true, a.dataset.lead || a.tagName,"
                    "        document.querySelectorAll('#queue-body tr').length]"))
                return arrived.is_set() and samples[-1][2] == 3

            until_sync(sample, timeout=60, interval=0.25, what="the third lead in the queue")
            for _ in range(4):  # a second more: focus stays after the change too
                time.sleep(0.25)
                sample()
            arrived_in_time = arrived.is_set()
            buttons = driver.find_elements(By.CSS_SELECTOR, "#queue-body tr button")
            marked = driver.execute_script(
                "return arguments[0].findIndex((b) => b.__marked === true)", buttons)
            return {"lead_id": lead_id, "samples": samples, "rows_before": rows_before,
                    "arrived": arrived_in_time,
                    "active": driver.execute_script(
                        "const a = document.activeElement;"
                        "return [a.__marked === true, a.dataset.lead, a.tagName]"),
                    "name_before": name_before,
                    "name_after": buttons[marked].accessible_name if marked >= 0 else None,
                    "names": [b.accessible_name for b in buttons],
                    "texts": [b.text for b in buttons]}
    finally:
        focused.set()


async def test_a_focused_queue_button_keeps_focus_while_the_queue_changes(panel) -> None:
    await new_lead(panel, "Rinkeby", "20-29")
    await new_lead(panel, "Tensta", "30+")
    focused, arrived = threading.Event(), threading.Event()

    async def third_lead_arrives() -> None:
        await asyncio.to_thread(focused.wait, 120)
        await new_lead(panel, "Kista", "16-19")
        arrived.set()

    result, _ = await asyncio.gather(
        asyncio.to_thread(keep_focus_on_a_queue_button, base_url(panel), focused, arrived),
        third_lead_arrives())
    samples = result["samples"]
    assert result["arrived"], "the third lead arrived too late to test anything"
    assert result["rows_before"] == 2 and samples[-1][2] == 3  # the queue changed ...
    lost = [s for s in samples if not s[0]]
    assert lost == []  # ... and focus never left the button
    assert result["active"] == [True, result["lead_id"], "BUTTON"]
    names = result["names"]
    assert len(names) == 3 and len(set(names)) == 3, names
    assert all(name.startswith(text) for name, text in zip(names, result["texts"],
                                                           strict=True))  # label in name
    assert result["name_before"] == result["name_after"]  # stable, not the waiting time


# ---------------------------------------------------------------------- 3. append-only log
MARK_TRANSCRIPT_JS = """
const items = [...document.querySelectorAll('#transcript li')];
items.forEach((li, i) => { li.__original = i; });
window.__removed = 0;
new MutationObserver((records) => records.forEach((r) => {
  window.__removed += r.removedNodes.length;
})).observe(document.getElementById('transcript'), {childList: true, subtree: true});
return items.length;
"""


def claim_reply_and_watch(base: str, replied: threading.Event,
                          user_sent: threading.Event) -> dict[str, object]:
    try:
        with chromium(width=1280, height=1000) as driver:
            log_in(driver, base)
            claim(driver, "Rinkeby")
            after_claim = driver.execute_script(
                "const a = document.activeElement; return [a.id, a.tagName, a.tabIndex]")
            log = driver.find_element(By.ID, "transcript")
            log_facts = {"role": log.get_attribute("role"),
                         "tabindex": log.get_attribute("tabindex"), "name": log.accessible_name,
                         "tabbable": driver.execute_script("return arguments[0].tabIndex", log)}
            before = driver.execute_script(MARK_TRANSCRIPT_JS)
            driver.find_element(By.ID, "reply-text").send_keys("Hej Amina, vi ses på tisdag.")
            driver.find_element(By.CSS_SELECTOR, "#reply-form button").click()
            wait(driver).until(lambda d: "vi ses på tisdag" in d.find_element(
                By.ID, "transcript").text)
            replied.set()
            user_sent.wait(60)
            wait(driver, 30).until(lambda d: "passar bra efter lunch" in d.find_element(
                By.ID, "transcript").text)
            # One more update with nothing new ("Öppna" loads the lead again, as an update
            # does, then moves focus): nothing may be appended.
            button = row_button(driver, "Rinkeby")
            lead_url = f"/coach/api/leads/{button.get_attribute('data-lead')}"
            loads = requests_to(driver, lead_url)
            button.send_keys(Keys.ENTER)  # "Öppna"
            with contextlib.suppress(TimeoutException):
                wait(driver, 10).until(lambda d: d.execute_script(
                    "return document.activeElement.id") == "lead-title")
            reloaded = requests_to(driver, lead_url) - loads
            items = driver.execute_script(
                "return [...document.querySelectorAll('#transcript li')]"
                ".map((li) => [li.__original ?? null, li.className, li.textContent])")
            removed = driver.execute_script("return window.__removed")
            return {"after_claim": after_claim, "log": log_facts, "before": before,
                    "items": items, "removed": removed, "reloaded": reloaded,
                    "after_open": driver.execute_script("return document.activeElement.id")}
    finally:
        replied.set()


async def test_claim_focuses_the_heading_and_the_transcript_only_grows(panel) -> None:
    talk = await new_lead(panel, "Rinkeby", "20-29")
    replied, user_sent = threading.Event(), threading.Event()

    async def person_answers() -> None:
        await asyncio.to_thread(replied.wait, 120)
        await talk.send("ja, det passar bra efter lunch")
        user_sent.set()

    result, _ = await asyncio.gather(
        asyncio.to_thread(claim_reply_and_watch, base_url(panel), replied, user_sent),
        person_answers())
    assert result["after_claim"] == ["lead-title", "H2", -1]
    assert result["after_open"] == "lead-title"  # "Öppna" too
    assert result["reloaded"] >= 1  # ... and it loaded the lead again: an update was seen
    assert result["log"] == {"role": "log", "tabindex": "0", "name": "Samtal", "tabbable": 0}
    before, items = result["before"], result["items"]
    assert before > 0
    assert [i[0] for i in items[:before]] == list(range(before))  # the same DOM nodes
    new = items[before:]
    assert all(i[0] is None for i in new) and result["removed"] == 0
    assert [i[1] for i in new if "vi ses på tisdag" in i[2]] == ["coach"]
    assert [i[1] for i in new if "passar bra efter lunch" in i[2]] == ["user"]
    services = panel.server.app[SERVICES]
    lead_id = (await services.leads.team_leads("jobbtorg-unga-jarva"))[0].id
    assert len(items) == len(await services.leads.messages(lead_id))  # nothing twice


# ---------------------------------------------------------------------- 4. narrow screens
CARD_JS = """
const row = document.querySelector('#queue-body tr');
const cell = row.querySelector('td');
const table = document.querySelector('#queue-body').closest('table');
return {table: table.getAttribute('role'),
        row: row.getAttribute('role'), cell: cell.getAttribute('role'),
        header: table.querySelector('th').getAttribute('role'),
        display: getComputedStyle(row).display,
        label: getComputedStyle(cell, '::before').content};
"""


def narrow_screens(base: str) -> dict[str, object]:
    with chromium(width=390, height=844) as driver:
        log_in(driver, base, rows=2)
        claim(driver, "Rinkeby")
        result: dict[str, object] = {}
        for width, height in ((390, 844), (320, 700)):
            set_viewport(driver, width, height)
            small = [(e.tag_name, e.get_attribute("id") or e.text, e.size["width"],
                      e.size["height"])
                     for e in driver.execute_script(VISIBLE_INTERACTIVE_JS)
                     if e.size["width"] < 44 or e.size["height"] < 44]
            result[width] = {"sideways": sideways(driver), "small": small,
                             "cards": driver.execute_script(CARD_JS),
                             "axe": axe_violations(driver)}
        return result


async def test_no_sideways_scrolling_and_44px_targets_at_390_and_320(panel) -> None:
    await new_lead(panel, "Rinkeby", "20-29")
    await new_lead(panel, "Tensta", "30+")
    result = await asyncio.to_thread(narrow_screens, base_url(panel))
    for width in (390, 320):
        scroll_width, inner_width = result[width]["sideways"]
        assert scroll_width <= inner_width, f"{width} px: scrolls sideways"
        cards = result[width]["cards"]
        assert cards["display"] == "block"  # stacked cards ...
        assert (cards["table"], cards["row"], cards["cell"], cards["header"]) == (
            "table", "row", "cell", "columnheader")  # ... that are still a table
        assert "Väntat" in cards["label"]  # each cell says which column it is
        assert result[width]["axe"] == []
    assert result[390]["small"] == []


# ---------------------------------------------------------------------- 5. focus contrast
FOCUS_JS = BACKGROUND_JS + """
const a = document.activeElement;
const s = getComputedStyle(a);
return {key: a.id || a.dataset.lead || (a.tagName + ':' + a.textContent.trim()),
        tag: a.tagName, focusVisible: a.matches(':focus-visible'), style: s.outlineStyle,
        color: s.outlineColor, width: parseFloat(s.outlineWidth), behind: behind(a)};
"""


def tab_through_panel(base: str) -> dict[str, object]:
    with chromium(width=1280, height=1000) as driver:
        driver.get(f"{base}/coach/")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "username")))
        borders = {name: driver.execute_script(
            "return getComputedStyle(document.getElementById(arguments[0])).borderTopColor", name)
            for name in ("username", "password")}
        log_in(driver, base, rows=2)
        claim(driver, "Rinkeby")
        for name in ("reply-text", "outcome"):
            borders[name] = driver.execute_script(
                "return getComputedStyle(document.getElementById(arguments[0])).borderTopColor",
                name)
        expected = len(driver.execute_script(VISIBLE_INTERACTIVE_JS))
        driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
        focused: dict[str, dict] = {}
        for _ in range(expected + 10):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            state = driver.execute_script(FOCUS_JS)
            if state["tag"] == "BODY":
                continue
            if state["key"] in focused:
                break  # round the page once
            focused[state["key"]] = state
        return {"focused": focused, "expected": expected, "borders": borders}


async def test_focus_indicators_and_input_borders_have_3_to_1_contrast(panel) -> None:
    await new_lead(panel, "Rinkeby", "20-29")
    await new_lead(panel, "Tensta", "30+")
    result = await asyncio.to_thread(tab_through_panel, base_url(panel))
    focused = result["focused"]
    weak = {key: (s["style"], s["color"], s["width"], s["behind"],
                  round(contrast(s["color"], s["behind"]), 2))
            for key, s in focused.items()
            if not s["focusVisible"] or s["style"] in ("none", "hidden") or s["width"] < 2
            or contrast(s["color"], s["behind"]) < 3}
    assert weak == {}
    assert len(focused) >= result["expected"] >= 9, sorted(focused)  # each got focus by Tab
    assert {"logout", "transcript", "reply-text", "outcome"} <= set(focused)
    assert any(key.startswith("A:Tillgänglighet") for key in focused)
    for name, color in result["borders"].items():
        assert contrast(color, "rgb(255, 255, 255)") >= 3, (name, color)


# ---------------------------------------------------------------------- 6. 200 % text
def large_text(base: str) -> dict[str, object]:
    with chromium(width=390, height=844, font_size=32) as driver:
        driver.get(f"{base}/coach/")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "username")))
        logged_out = sideways(driver)
        log_in(driver, base, rows=2)
        claim(driver, "Rinkeby")
        return {"font": driver.execute_script(
                    "return parseFloat(getComputedStyle(document.body).fontSize)"),
                "logged_out": logged_out, "lead_open": sideways(driver)}


async def test_the_persons_own_font_size_is_respected(panel) -> None:
    await new_lead(panel, "Rinkeby", "20-29")
    await new_lead(panel, "Tensta", "30+")
    result = await asyncio.to_thread(large_text, base_url(panel))
    assert result["font"] >= 30
    for state in ("logged_out", "lead_open"):
        scroll_width, inner_width = result[state]
        assert scroll_width <= inner_width, state


# ---------------------------------------------------------------------- 7. tablet
def tablet_screenshot(base: str, path: Path) -> None:
    with chromium(width=820, height=1180) as driver:
        log_in(driver, base, rows=2)
        claim(driver, "Rinkeby")
        driver.find_element(By.ID, "reply-text").send_keys("Hej Amina! Välkommen på tisdag kl 13.")
        driver.find_element(By.CSS_SELECTOR, "#reply-form button").click()
        wait(driver).until(lambda d: "Välkommen på tisdag" in d.find_element(
            By.ID, "transcript").text)
        driver.execute_script("window.scrollTo(0, 0)")
        path.parent.mkdir(exist_ok=True)
        driver.save_screenshot(str(path))


async def test_tablet_screenshot(panel) -> None:
    await new_lead(panel, "Rinkeby", "20-29")
    await new_lead(panel, "Tensta", "30+")
    TABLET_SCREENSHOT.unlink(missing_ok=True)
    await asyncio.to_thread(tablet_screenshot, base_url(panel), TABLET_SCREENSHOT)
    assert TABLET_SCREENSHOT.exists() and TABLET_SCREENSHOT.stat().st_size > 10_000
