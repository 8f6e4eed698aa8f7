"""The operators' campaign page of the coach panel in a real headless Chromium, against the real
gateway, worker and Redis and the stand-in providers: an operator composes a campaign in two
languages (the SMS cost changes while typing and is announced once), previews it, sends it and
watches it finish; the errors of an empty form are listed and linked; axe finds nothing in
each state; nothing scrolls sideways at 320 px; a coach without the role never sees the page.
Saves reports/coach-outreach.png."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.config import ROOT
from bot.core.outreach.subscriptions import Consent, Subscription
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium, contrast
from tests import journeys
from tests.clock import FixedClock
from tests.integration.test_coach_accessibility import (
    FOCUS_JS,
    VISIBLE_INTERACTIVE_JS,
    set_viewport,
    sideways,
)

SCREENSHOT = ROOT / "reports" / "coach-outreach.png"
PASSWORD = "correct horse battery"
SV_SHORT = "Ny sfi-grupp för föräldralediga i Tensta på måndag kl 10. "
SV_MORE = ("Ta med barnet, det finns en lekhörna och fika. Du behöver inte anmäla dig i "
           "förväg, kom när det passar. Välkommen!")  # together over 160 characters: two SMS
AR = "مرحبا بكم في دروس اللغة السويدية للآباء في إجازة الوالدين في تنستا، أهلا وسهلا"
SMS_SV, SMS_SO, CHAT_AR = "+46701000001", "+46701000002", 7


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # fixed clock: Monday noon


@pytest.fixture
async def panel(aiohttp_client, prefix, redis, providers, clock):
    settings = journeys.journey_settings(prefix, providers, sms_rate_per_second=100.0,
                                         telegram_chat_rate_per_second=100.0)
    client = await aiohttp_client(create_app(settings, clock=clock))
    services = client.server.app[SERVICES]
    accounts = services.accounts
    await accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    await accounts.add("sara", PASSWORD, [next(iter(services.teams.teams))], name="Sara")
    now = clock.timestamp()
    for conversation, language in ((f"sms:{SMS_SV}", "sv"), (f"sms:{SMS_SO}", "so"),
                                   (f"telegram:{CHAT_AR}", "ar")):
        await services.subscriptions.save(Subscription(
            conversation, language, ("sfi_parents",), (),
            Consent("v1", now, conversation.split(":")[0], language, "0" * 64),
            now + 200 * 86400), now)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2, clock=clock))
    try:
        yield client
    finally:
        stop.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(running, 10)


def wait(driver, timeout: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def focused_id(driver) -> str:
    return driver.execute_script("return document.activeElement.id")


def log_in(driver, base: str, username: str, hash_: str = "") -> None:
    driver.get(f"{base}/coach/{hash_}")
    name = wait(driver).until(ec.visibility_of_element_located((By.ID, "username")))
    name.clear()
    name.send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD + "\n")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "who")))


def tab_through(driver) -> tuple[dict[str, dict], int]:
    """Tab once round the page from the top: the state of each element that got focus."""
    controls = len(driver.execute_script(VISIBLE_INTERACTIVE_JS))
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    focused: dict[str, dict] = {}
    last = None
    for _ in range(controls + 20):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        state = driver.execute_script(FOCUS_JS)
        if state["tag"] == "BODY" or state["key"] == last:
            continue  # the page's end, or the next part of a date field
        if state["key"] in focused:
            break  # round the page once
        focused[state["key"]] = state
        last = state["key"]
    return focused, controls


def compose_send_and_follow(base: str) -> dict[str, object]:
    seen: dict[str, object] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        link = wait(driver).until(ec.visibility_of_element_located((By.ID, "nav-outreach")))
        link.send_keys(Keys.ENTER)  # by keyboard
        wait(driver).until(lambda d: focused_id(d) == "compose-title")
        wait(driver).until(lambda d: d.find_elements(By.ID, "text-ar"))
        seen["current"] = link.get_attribute("aria-current")

        driver.find_element(By.CSS_SELECTOR, "#compose-form button[type=submit]").click()
        wait(driver).until(lambda d: focused_id(d) == "compose-errors")
        seen["errors"] = text_of(driver, "compose-errors")
        seen["invalid"] = sorted(e.get_attribute("id") for e in driver.find_elements(
            By.CSS_SELECTOR, "[aria-invalid=true]"))
        seen["axe_errors"] = axe_violations(driver)
        driver.find_element(By.CSS_SELECTOR, "#compose-errors a").click()
        seen["error_link_focus"] = focused_id(driver)

        driver.find_element(By.ID, "campaign-name").send_keys("sfi Tensta")
        driver.find_element(By.CSS_SELECTOR, "label[for=topic-0]").click()
        text_sv = driver.find_element(By.ID, "text-sv")
        text_sv.send_keys(SV_SHORT)
        wait(driver).until(lambda d: "SMS: 1 del " in text_of(d, "cost-sv"))
        seen["cost_short"] = text_of(driver, "cost-sv")
        text_sv.send_keys(SV_MORE)
        wait(driver).until(lambda d: "SMS: 2 delar" in text_of(d, "cost-sv"))
        wait(driver).until(lambda d: d.find_element(By.ID, "cost-announcer")
                           .get_attribute("textContent"))
        seen["announced"] = driver.find_element(By.ID, "cost-announcer").get_attribute(
            "textContent")
        driver.find_element(By.ID, "text-ar").send_keys(AR)
        wait(driver).until(lambda d: "SMS: 2 delar" in text_of(d, "cost-ar"))
        seen["ar_dir"] = driver.find_element(By.ID, "text-ar").get_attribute("dir")
        seen["axe_compose"] = axe_violations(driver)
        seen["tabbed"], seen["controls"] = tab_through(driver)
        seen["check_heights"] = driver.execute_script(
            "return [...document.querySelectorAll('.check')].map((e) => e.offsetHeight)")

        driver.find_element(By.CSS_SELECTOR, "#compose-form button[type=submit]").click()
        wait(driver).until(lambda d: focused_id(d) == "preview-title")
        seen["preview"] = text_of(driver, "preview-facts")
        seen["send_label"] = text_of(driver, "send-campaign")
        seen["axe_preview"] = axe_violations(driver)

        driver.find_element(By.ID, "send-campaign").click()
        wait(driver).until(lambda d: focused_id(d) == "campaign-title")
        wait(driver, 30).until(lambda d: "klart" in text_of(d, "campaign-state"))
        wait(driver).until(lambda d: d.find_element(By.ID, "campaign-status")
                           .get_attribute("textContent"))
        seen["state"] = text_of(driver, "campaign-state")
        seen["status"] = driver.find_element(By.ID, "campaign-status").get_attribute(
            "textContent")
        seen["facts"] = text_of(driver, "campaign-facts")
        wait(driver).until(lambda d: "klart" in text_of(d, "campaigns-body"))
        seen["list"] = text_of(driver, "campaigns-body")
        seen["axe_done"] = axe_violations(driver)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(SCREENSHOT))

        set_viewport(driver, 320, 700)
        seen["narrow"] = sideways(driver)
        seen["axe_narrow"] = axe_violations(driver)

        driver.find_element(By.ID, "logout").click()
        wait(driver).until(ec.visibility_of_element_located((By.ID, "username")))
        log_in(driver, base, "sara", "#utskick")  # a coach, straight to the operators' page
        wait(driver).until(ec.visibility_of_element_located((By.ID, "work-view")))
        seen["coach"] = {name: driver.find_element(By.ID, name).is_displayed()
                         for name in ("nav-outreach", "outreach-view", "work-view")}
    return seen


async def test_an_operator_composes_previews_sends_and_follows_a_campaign(
        panel, providers) -> None:
    base = str(panel.make_url("")).rstrip("/")
    seen = await asyncio.to_thread(compose_send_and_follow, base)

    assert seen["current"] == "page"
    assert "Skriv ett namn" in seen["errors"] and "Välj minst ett ämne" in seen["errors"] \
        and "Skriv en text" in seen["errors"]
    assert seen["invalid"] == ["campaign-name", "text-sv", "topic-0"]
    assert seen["error_link_focus"] == "campaign-name"
    assert seen["cost_short"] == f"{len(SV_SHORT.strip())} tecken · SMS: 1 del per mottagare"
    assert seen["announced"] == "svenska: nu 2 SMS-delar"
    assert seen["ar_dir"] == "rtl"
    focused = seen["tabbed"]
    weak = {key: (s["style"], s["color"], s["width"], s["behind"])
            for key, s in focused.items()
            if not s["focusVisible"] or s["style"] in ("none", "hidden") or s["width"] < 2
            or contrast(s["color"], s["behind"]) < 3}
    assert weak == {}
    assert len(focused) >= seen["controls"] >= 40  # every control of the form, by Tab
    assert {"nav-queue", "nav-outreach", "campaign-name", "topic-0", "text-ar", "fallback-sv",
            "send-at"} <= set(focused)
    assert min(seen["check_heights"]) >= 44  # each box with its label: a 44 px target
    preview = seen["preview"]
    assert "Mottagare\n2" in preview and "SMS 1, Telegram 1" in preview
    assert "Språk utan text\nsomaliska" in preview and "SMS-delar totalt\n2" in preview
    assert seen["send_label"] == "Skicka till 2 personer"
    assert "Status: klart. 3 av 3 behandlade." in seen["state"]
    assert seen["status"] == "Utskicket sfi Tensta är klart: 2 skickade, 0 misslyckade."
    assert "Skickade\n2" in seen["facts"] and "Fick inget\n1" in seen["facts"]
    assert "sfi Tensta" in seen["list"]
    for state in ("axe_errors", "axe_compose", "axe_preview", "axe_done", "axe_narrow"):
        assert seen[state] == [], state
    scroll_width, inner_width = seen["narrow"]
    assert scroll_width <= inner_width
    assert seen["coach"] == {"nav-outreach": False, "outreach-view": False, "work-view": True}

    # What the providers got: one message each, in their language, through their channel.
    assert [m["chat_id"] for m in providers.telegram_sent] == [CHAT_AR]
    assert providers.telegram_sent[0]["text"].startswith(AR)
    assert [(m["to"], m["message"]) for m in providers.elks_sent] == \
        [(SMS_SV, (SV_SHORT + SV_MORE).strip())]
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
