"""The coach panel and a WhatsApp lead's 24-hour window, end to end: a person becomes a lead
through signed webhook calls into the real gateway (real Rasa model, real Redis), a coach claims
it, and the worker relays the coach's replies to the stand-in Graph API (tests/fakes.py).

The API: the claimed lead carries its window (open until when, and how a reply would go now);
while open a reply goes as text, once closed as the coach-reply template; a reply the coach
confirmed as one way is refused (409, nothing sent) if it would now go another; where no template
fits (Somali configured to fall back to SMS, with SMS not set up) a reply is refused instead of
queued to fail, and with SMS set up it goes by SMS.
The page, in a real Chromium, keyboard only: the window line near the reply box, the change
announced, the confirm step naming the template (Escape cancels, nothing sent; "yes" sends it as
the template), and axe-core finds no WCAG 2.1 A/AA violation with the line and the confirm step
shown. Saves reports/coach-whatsapp-window.png (the line and the confirm step).

The window is made old by rewriting when the person last wrote (the window's key, its expiry
kept), never by waiting."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis as sync_redis
from redis.asyncio import Redis
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys as KeyPress
from selenium.webdriver.support import expected_conditions as ec

from bot.config import ROOT, Settings
from bot.core.keys import JOBS_DUE, Keys
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.whatsapp import WINDOW
from scripts.browser import axe_violations, chromium
from tests.conftest import REDIS_URL, make_settings
from tests.fakes import (
    ELKS_PASSWORD,
    ELKS_USER,
    WHATSAPP_APP_SECRET,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    WHATSAPP_VERIFY_TOKEN,
    WHATSAPP_VERSION,
    Providers,
)
from tests.integration.test_coach_accessibility import base_url, log_in, row_button, wait
from tests.integration.test_handover import FIXTURE_CONFIG, PASSWORD
from tests.integration.test_whatsapp import NUMBER, Person, choices, sent_to, words
from tests.job_queue import queue_idle
from tests.waiting import until

SCREENSHOT = ROOT / "reports" / "coach-whatsapp-window.png"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
LEFT = timedelta(hours=3, minutes=10, seconds=45)  # the open window's time left at the start


def whatsapp_settings(prefix: str, rasa_server: Any, providers: Providers,
                      **overrides: object) -> Settings:
    return make_settings(
        prefix, rasa_server, config_dir=FIXTURE_CONFIG,
        whatsapp_token=WHATSAPP_TOKEN, whatsapp_phone_number_id=WHATSAPP_PHONE_ID,
        whatsapp_app_secret=WHATSAPP_APP_SECRET, whatsapp_verify_token=WHATSAPP_VERIFY_TOKEN,
        whatsapp_api_url=f"{providers.url}/{WHATSAPP_VERSION}", **overrides)


@contextlib.asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
def settings(prefix, rasa_server, providers, redis) -> Settings:
    return whatsapp_settings(prefix, rasa_server, providers)


@pytest.fixture
async def gateway(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def running_worker(settings) -> AsyncIterator[None]:
    async with worker_running(settings):
        yield


def window_key(prefix: str, number: str = NUMBER) -> str:
    return Keys(prefix)(WINDOW, number=number)


async def last_wrote(redis: Redis, prefix: str, when: datetime, number: str = NUMBER) -> None:
    """The person last wrote at `when` (the window's key, its expiry kept)."""
    assert await redis.set(window_key(prefix, number), repr(when.timestamp()), keepttl=True,
                           xx=True)


async def become_lead(person: Person, language: str | None = None) -> None:
    """The person asks for a coach with buttons (their language chosen first, if given):
    consent, name, district, age and, if asked, topic."""
    if language is not None:
        await person.press(f"/lang:{language}")
    answers = await person.press("/request_coach")
    answers = await person.choose(answers, "/handover:yes")
    answers = await person.write("Amina")
    if offered(answers, "/handover:contact:"):
        answers = await person.choose(answers, "/handover:contact:chat")
    answers = await person.press("/handover:district:Rinkeby")  # a numbered menu: its payload
    answers = await person.choose(answers, "/handover:age:20-29")
    if offered(answers, "/handover:topic:"):
        await person.choose(answers, "/handover:topic:work")


def offered(answers: list[dict[str, Any]], starting: str) -> bool:
    return any(payload.startswith(starting) for m in answers for _, payload in choices(m))


async def coach_claims(aiohttp_client, gateway) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """Sara (every team) logs in and claims the one lead: her client, CSRF header, the lead."""
    services = gateway.server.app[SERVICES]
    await services.accounts.add("sara", PASSWORD, list(services.teams.teams), name="Sara")
    browser = await aiohttp_client(gateway.server)
    me = await (await browser.post("/coach/api/login", json={
        "username": "sara", "password": PASSWORD})).json()
    csrf = {"X-CSRF-Token": me["csrf_token"]}
    [lead] = (await (await browser.get("/coach/api/leads")).json())["leads"]
    claimed = await browser.post(f"/coach/api/leads/{lead['id']}/claim", headers=csrf)
    assert claimed.status == 200, await claimed.text()
    return browser, csrf, await claimed.json()


async def relayed(providers: Providers, redis: Redis, prefix: str, before: int,
                  number: str = NUMBER) -> list[dict[str, Any]]:
    """The messages the worker sent to `number` since `before`, once the queue is idle."""
    await until(lambda: len(sent_to(providers, number)) > before, what="the coach's reply")
    await until(lambda: queue_idle(redis, prefix, time.time()), what="every job done")
    return sent_to(providers, number)[before:]


# ------------------------------------------------------------------ the API
async def test_the_window_in_the_lead_and_a_reply_as_text_then_as_the_template(
        gateway, aiohttp_client, providers, running_worker, redis, prefix) -> None:
    person = Person(gateway, providers, redis, prefix)
    await become_lead(person)
    wrote = datetime.now(UTC) - timedelta(hours=24) + LEFT
    await last_wrote(redis, prefix, wrote)
    browser, csrf, lead = await coach_claims(aiohttp_client, gateway)
    path = f"/coach/api/leads/{lead['id']}"

    # Open: until when, how long is left, and a reply goes as text.
    window = lead["window"]
    assert window["channel"] == "whatsapp" and window["open"] is True
    assert datetime.fromisoformat(window["until"]) == \
        datetime.fromtimestamp(wrote.timestamp() + 24 * 3600, UTC)
    assert LEFT.total_seconds() - 60 < window["seconds_left"] <= LEFT.total_seconds()
    assert window["reply_as"] == {"kind": "text", "template": None, "language": None,
                                  "fallback": None}
    assert (await (await browser.get(path)).json())["window"]["reply_as"]["kind"] == "text"
    before = len(sent_to(providers, NUMBER))
    resp = await browser.post(f"{path}/messages", headers=csrf,
                              json={"text": "Hej Amina!", "reply_as": window["reply_as"]})
    assert resp.status == 200 and (await resp.json())["sent_as"]["kind"] == "text"
    [open_reply] = await relayed(providers, redis, prefix, before)
    assert open_reply["type"] == "text" and "Hej Amina!" in words(open_reply)

    # Closed: no time left, and a reply goes as the coach-reply template, named.
    await last_wrote(redis, prefix, datetime.now(UTC) - timedelta(hours=25))
    closed = (await (await browser.get(path)).json())["window"]
    assert closed == {"channel": "whatsapp", "open": False, "until": None, "seconds_left": None,
                      "reply_as": {"kind": "template", "template": "lotsen_coach_reply",
                                   "language": "sv", "fallback": None}}
    # A reply the coach was shown as going as text is not sent as a template unconfirmed.
    before = len(sent_to(providers, NUMBER))
    stale = await browser.post(f"{path}/messages", headers=csrf,
                               json={"text": "Är du kvar?", "reply_as": window["reply_as"]})
    assert stale.status == 409
    refusal = await stale.json()
    assert refusal["reason"] == "reply_as_changed" and "lotsen_coach_reply" in refusal["error"]
    assert refusal["window"] == closed
    malformed = await browser.post(f"{path}/messages", headers=csrf,
                                   json={"text": "Är du kvar?", "reply_as": "template"})
    assert malformed.status == 400
    confirmed = await browser.post(f"{path}/messages", headers=csrf, json={
        "text": "Har du tid i morgon?", "reply_as": closed["reply_as"]})
    assert confirmed.status == 200
    assert (await confirmed.json())["sent_as"] == closed["reply_as"]
    [template] = await relayed(providers, redis, prefix, before)
    assert template["type"] == "template"
    assert template["template"]["name"] == "lotsen_coach_reply"
    assert template["template"]["language"]["code"] == "sv"
    assert "Har du tid i morgon?" in words(template) and "Sara" in words(template)
    transcript = [m["text"] for m in (await (await browser.get(path)).json())["transcript"]
                  if m["from"] == "coach"]
    assert transcript == ["Hej Amina!", "Har du tid i morgon?"]  # the refused one is not in it


def somali_falls_back_to_sms(tmp_path: Path) -> Path:
    """config/whatsapp.yml with Somali coach replies falling back to SMS, not a template."""
    text = (ROOT / "config" / "whatsapp.yml").read_text(encoding="utf-8")
    somali = "  so:\n    reminder: sv\n    coach_reply: sv\n"
    assert somali in text
    path = tmp_path / "whatsapp.yml"
    path.write_text(text.replace(somali, "  so:\n    reminder: sv\n    coach_reply: sms\n"),
                    encoding="utf-8")
    return path


SOMALI = "+252612345678"


async def test_where_nothing_fits_a_reply_is_refused_and_by_sms_it_goes_as_sms(
        aiohttp_client, rasa_server, providers, redis, prefix, tmp_path) -> None:
    templates = somali_falls_back_to_sms(tmp_path)
    # SMS not set up: the fallback cannot be used, so a reply after the window cannot go.
    settings = whatsapp_settings(prefix, rasa_server, providers, whatsapp_templates=templates)
    gateway = await aiohttp_client(create_app(settings))
    async with worker_running(settings):
        person = Person(gateway, providers, redis, prefix, SOMALI)
        await become_lead(person, language="so")
        await last_wrote(redis, prefix, datetime.now(UTC) - timedelta(hours=25), SOMALI)
        browser, csrf, lead = await coach_claims(aiohttp_client, gateway)
        assert lead["language"] == "so"
        assert lead["window"]["open"] is False
        assert lead["window"]["reply_as"] == {"kind": "none", "template": None,
                                              "language": None, "fallback": None}
        due = Keys(prefix)(JOBS_DUE)
        jobs_before = await redis.zcard(due)
        sent_before = len(providers.whatsapp_sent) + len(providers.elks_sent)
        resp = await browser.post(f"/coach/api/leads/{lead['id']}/messages", headers=csrf,
                                  json={"text": "Haye?"})
        assert resp.status == 409
        refusal = await resp.json()
        assert refusal["reason"] == "no_template" and "cannot be sent" in refusal["error"]
        assert await redis.zcard(due) == jobs_before  # nothing queued
        await until(lambda: queue_idle(redis, prefix, time.time()), what="every job done")
        assert len(providers.whatsapp_sent) + len(providers.elks_sent) == sent_before
        messages = (await (await browser.get(f"/coach/api/leads/{lead['id']}")).json())
        assert [m for m in messages["transcript"] if m["from"] == "coach"] == []

    # SMS set up (46elks): the same reply goes by SMS, and the coach is told so first.
    with_sms = whatsapp_settings(prefix, rasa_server, providers, whatsapp_templates=templates,
                                 elks_username=ELKS_USER, elks_password=ELKS_PASSWORD,
                                 elks_api_url=providers.url)
    gateway = await aiohttp_client(create_app(with_sms))
    async with worker_running(with_sms):
        browser, csrf, lead = await coach_session(aiohttp_client, gateway)
        going = lead["window"]["reply_as"]
        assert going == {"kind": "fallback", "template": None, "language": None,
                         "fallback": "sms"}
        resp = await browser.post(f"/coach/api/leads/{lead['id']}/messages", headers=csrf,
                                  json={"text": "Haye?", "reply_as": going})
        assert resp.status == 200 and (await resp.json())["sent_as"] == going
        await until(lambda: [m for m in providers.elks_sent if m["to"] == SOMALI],
                    what="the reply as SMS")
        [sms] = [m for m in providers.elks_sent if m["to"] == SOMALI]
        assert "Haye?" in sms["message"]
        assert sent_to(providers, SOMALI)[-1]["type"] != "template"  # not on WhatsApp


async def coach_session(aiohttp_client, gateway) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """Sara, already the lead's coach, logs in again and opens it."""
    browser = await aiohttp_client(gateway.server)
    me = await (await browser.post("/coach/api/login", json={
        "username": "sara", "password": PASSWORD})).json()
    [lead] = (await (await browser.get("/coach/api/leads")).json())["leads"]
    opened = await browser.get(f"/coach/api/leads/{lead['id']}")
    assert opened.status == 200, await opened.text()
    return browser, {"X-CSRF-Token": me["csrf_token"]}, await opened.json()


# ------------------------------------------------------------------ the page
WINDOW_STATE_JS = """
const line = document.getElementById('window-line');
const confirm = document.getElementById('reply-confirm');
return {line: line.hidden ? null : line.textContent,
        closed: line.classList.contains('closed'),
        announced: document.getElementById('window-announcer').textContent,
        confirm: confirm.hidden ? null : confirm.textContent.replace(/\\s+/g, ' ').trim(),
        active: document.activeElement.id,
        described: document.getElementById('reply-text').getAttribute('aria-describedby')};
"""


def state(driver: Any) -> dict[str, Any]:
    return driver.execute_script(WINDOW_STATE_JS)


def in_the_browser(base: str, key: str, screenshot: Path) -> dict[str, Any]:
    """Keyboard only: claim, read the window line, see the window close, send a reply through
    the confirm step (once cancelled with Escape, then confirmed)."""
    found: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base)
        row_button(driver, "Rinkeby").send_keys(KeyPress.ENTER)  # "Ta"
        wait(driver).until(lambda d: "Amina" in d.find_element(By.ID, "lead-title").text)
        wait(driver).until(ec.visibility_of_element_located((By.ID, "window-line")))
        found["open"] = state(driver)
        found["axe_open"] = axe_violations(driver)

        # The person's last message becomes 25 hours old; "Öppna" loads the lead again.
        store = sync_redis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            assert store.set(key, repr(time.time() - 25 * 3600), keepttl=True, xx=True)
        finally:
            store.close()
        row_button(driver, "Rinkeby").send_keys(KeyPress.ENTER)  # "Öppna"
        wait(driver).until(lambda d: state(d)["closed"])
        found["closed"] = state(driver)

        reply = driver.find_element(By.ID, "reply-text")
        reply.send_keys("Hej igen Amina, passar torsdag?")
        reply.send_keys(KeyPress.TAB)  # past the hint to "Skicka"
        driver.switch_to.active_element.send_keys(KeyPress.ENTER)
        wait(driver).until(ec.visibility_of_element_located((By.ID, "reply-confirm")))
        found["confirm"] = state(driver)
        found["axe_confirm"] = axe_violations(driver)
        driver.switch_to.active_element.send_keys(KeyPress.ESCAPE)  # cancel: nothing sent
        wait(driver).until(ec.invisibility_of_element_located((By.ID, "reply-confirm")))
        found["cancelled"] = state(driver)

        driver.find_element(By.CSS_SELECTOR, "#reply-form button").send_keys(KeyPress.ENTER)
        wait(driver).until(ec.visibility_of_element_located((By.ID, "reply-confirm")))
        found["confirm_button"] = driver.switch_to.active_element.text
        screenshot.parent.mkdir(exist_ok=True)
        driver.execute_script("document.getElementById('window-line').scrollIntoView()")
        driver.save_screenshot(str(screenshot))  # the line and the confirm step
        driver.switch_to.active_element.send_keys(KeyPress.ENTER)  # "Ja, skicka som mallen ..."
        wait(driver).until(lambda d: "passar torsdag" in d.find_element(By.ID, "transcript").text)
        wait(driver).until(lambda d: state(d)["announced"].startswith("Skickat"))
        found["sent"] = state(driver)
    return found


async def test_the_lead_view_shows_the_window_and_confirms_a_template_reply(
        gateway, providers, running_worker, redis, prefix) -> None:
    services = gateway.server.app[SERVICES]
    await services.accounts.add("anna", PASSWORD, list(services.teams.teams), name="Anna")
    person = Person(gateway, providers, redis, prefix)
    await become_lead(person)
    wrote = datetime.now(UTC) - timedelta(hours=24) + LEFT
    await last_wrote(redis, prefix, wrote)
    until_local = (wrote + timedelta(hours=24)).astimezone(STOCKHOLM)
    today = datetime.now(STOCKHOLM).date()
    clock = until_local.strftime("%H:%M")
    expected_until = clock if until_local.date() == today else f"i morgon {clock}"
    SCREENSHOT.unlink(missing_ok=True)
    before = len(sent_to(providers, NUMBER))

    found = await asyncio.to_thread(in_the_browser, base_url(gateway), window_key(prefix),
                                    SCREENSHOT)

    opened = found["open"]
    assert re.search(rf"Fönstret är öppet till {expected_until} \(om 3 h (9|10) min\)",
                     opened["line"]), opened["line"]
    assert "vanligt meddelande" in opened["line"] and not opened["closed"]
    assert opened["announced"] == ""  # a lead just opened: its line is read, not announced
    assert opened["described"] == "reply-hint window-line"  # heard in the reply box
    assert found["axe_open"] == []
    closed = found["closed"]
    assert "Fönstret är stängt" in closed["line"] and "”lotsen_coach_reply”" in closed["line"]
    assert closed["announced"] == closed["line"]  # the change, announced once
    confirm = found["confirm"]
    assert "WhatsApp-mallen ”lotsen_coach_reply” (svenska)" in confirm["confirm"]
    assert confirm["active"] == "reply-confirm-send"  # focus on the confirm step
    assert found["axe_confirm"] == []
    assert found["cancelled"]["confirm"] is None and found["cancelled"]["active"] == "reply-text"
    assert found["confirm_button"] == "Ja, skicka som mallen lotsen_coach_reply"
    assert found["sent"]["announced"] == "Skickat som mallen lotsen_coach_reply."
    await until(lambda: queue_idle(redis, prefix, time.time()), what="every job done")
    [template] = sent_to(providers, NUMBER)[before:]  # once: the cancelled one never went
    assert template["type"] == "template"
    assert template["template"]["name"] == "lotsen_coach_reply"
    assert "passar torsdag" in words(template)
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
