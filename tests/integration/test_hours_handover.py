"""Honest handovers and the SLA in open time, through the real gateway, worker and Redis on
injected dates (every team with office hours, Monday to Friday 08:00-12:00 and 13:00-16:30):

- on Midsummer Eve, Christmas Eve, a Saturday night before the switch to summer time (and
  Easter Monday), and a Tuesday at 10:00 with nobody present, the web chat and Telegram say
  when a coach can answer, with the right weekday, date and time in the person's language;
  they still ask consent and offer a drop-in; the web chat, which cannot wait, asks for a phone
  number instead;
- with a coach present on Tuesday (the panel's presence route), the ordinary handover;
- no lead is over the SLA overnight or over a weekend (dashboard, API, /metrics, digest);
- a lead left on Friday evening is first in the queue on Monday.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from babel.dates import format_date, format_time

from bot.coach.notify import Notifier
from bot.core.content import Content
from bot.core.hours.presence import Presence
from bot.core.hours.staffing import Staffing
from bot.core.hours.week import TIMEZONE
from bot.core.mail import Mailer
from bot.core.messages import Reply
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.sms_text import render
from tests.clock import FixedClock
from tests.conftest import Conversation, make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, TELEGRAM_TOKEN, Providers
from tests.integration.test_handover import FIXTURE_CONFIG, PASSWORD, metric
from tests.journeys import ELKS_SECRET, PHONE, STATUS_SECRET, TELEGRAM_SECRET, sms, telegram
from tests.waiting import until

OFFICE_HOURS = """
hours:
  mon: ["08:00-12:00", "13:00-16:30"]
  tue: ["08:00-12:00", "13:00-16:30"]
  wed: ["08:00-12:00", "13:00-16:30"]
  thu: ["08:00-12:00", "13:00-16:30"]
  fri: ["08:00-12:00", "13:00-16:30"]
"""
TEAM, OTHER = "jobbtorg-unga-jarva", "jobbtorg-vuxna-jarva"
TEAM_NAME = "Jobbtorg unga Järva"
CHAT = 5550001


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIMEZONE)  # type: ignore[misc]


# name: (now, the next opening, "today before" when open with nobody present, the Swedish day)
CASES = {
    "midsummer_eve": (local(2027, 6, 25, 10, 0), local(2027, 6, 28, 8, 0), None,
                      "måndag 28 juni"),
    "christmas_eve": (local(2027, 12, 24, 11, 0), local(2027, 12, 27, 8, 0), None,
                      "måndag 27 december"),
    # The clocks go forward that night, and Monday is Easter Monday.
    "saturday_night": (local(2027, 3, 27, 23, 30), local(2027, 3, 30, 8, 0), None,
                       "tisdag 30 mars"),
    "tuesday_ten_nobody_present": (local(2027, 3, 30, 10, 0), local(2027, 3, 31, 8, 0),
                                   local(2027, 3, 30, 16, 30), "onsdag 31 mars"),
}
TUESDAY_TEN = CASES["tuesday_ten_nobody_present"][0]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY_TEN)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The tests' configuration with office hours for every team and an SLA of four hours."""
    config = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, config)
    teams = config / "teams.yml"
    text = teams.read_text(encoding="utf-8")
    assert "sla_minutes: 0.02 " in text
    teams.write_text(text.replace("sla_minutes: 0.02 ", "sla_minutes: 240  ") + OFFICE_HOURS,
                     encoding="utf-8")
    return config


@pytest.fixture
def settings(prefix, providers: Providers, redis, config: Path, smtp_server):
    return make_settings(prefix, config_dir=config, public_url="http://lotsen.test",
                         telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=TELEGRAM_SECRET,
                         telegram_api_url=providers.url, telegram_chat_rate_per_second=100.0,
                         elks_username=ELKS_USER, elks_password=ELKS_PASSWORD,
                         elks_webhook_secret=ELKS_SECRET, elks_status_secret=STATUS_SECRET,
                         elks_api_url=providers.url, smtp_url=smtp_server.url)


@pytest.fixture
async def gateway(aiohttp_client, settings, clock: FixedClock) -> TestClient:
    return await aiohttp_client(create_app(settings, clock=clock))


@pytest.fixture
async def running_worker(settings, clock: FixedClock) -> AsyncIterator[None]:
    """The worker on the gateway's clock, sending Telegram's replies to the fake server."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2, clock=clock))
    yield
    stop.set()
    await asyncio.wait_for(task, 10)


def content_of(gateway: TestClient) -> Content:
    return gateway.server.app[SERVICES].content


def when_text(content: Content, language: str, opens: datetime,
              today_until: datetime | None, short: bool = False) -> str:
    """What the person is told about when a coach can answer: babel in their locale (`short`:
    the form where every character costs)."""
    locale = content.languages.languages[language].babel_locale
    day = format_date(opens.astimezone(TIMEZONE).date(), "EEEE d MMMM", locale=locale)
    time = format_time(opens, "short", tzinfo=TIMEZONE, locale=locale)
    values: dict[str, object] = {"day": day, "time": time}
    key = "handover_closed_now"
    if today_until is not None:
        key = "handover_no_coach_free"
        values["until"] = format_time(today_until, "short", tzinfo=TIMEZONE, locale=locale)
    return short_text(content, key, language, **values) if short \
        else content.text(key, language, **values)


def short_text(content: Content, key: str, language: str, **values: object) -> str:
    short = content.templates[key].short
    assert short is not None, key
    return content.catalogs.gettext(language, short).format(**values)


def days_kept(gateway: TestClient) -> int:
    return int(gateway.server.app[SERVICES].leads.retention // 86400)


def payloads(reply: dict) -> list[str]:
    return [b["payload"] for b in reply["buttons"]]


async def web_handover(talk: Conversation, *, phone: str | None = None) -> dict:
    """After the consent question: yes, a name, (a phone number), Rinkeby, 20-29, work."""
    await talk.send(payload="/handover:yes")
    asked = (await talk.send("Amina"))["replies"][0]
    if phone is not None:
        asked = (await talk.send(phone))["replies"][0]
    else:
        asked = (await talk.send(payload="/handover:contact:chat"))["replies"][0]
    assert "/handover:district:Rinkeby" in payloads(asked), asked
    await talk.send(payload="/handover:district:Rinkeby")
    await talk.send(payload="/handover:age:20-29")
    return dict((await talk.send(payload="/handover:topic:work"))["replies"][0])


TELEGRAM_STEPS = ["/handover:yes", "Amina", "/handover:contact:chat",
                  "/handover:district:Rinkeby", "/handover:age:20-29", "/handover:topic:work"]


async def telegram_steps(gateway: TestClient, steps: list[str]) -> None:
    for step in steps:
        if step.startswith("/"):
            await telegram(gateway, chat=CHAT, button=step)
        else:
            await telegram(gateway, step, chat=CHAT)


async def sent_to_chat(providers: Providers, text: str) -> dict:
    found = await until(lambda: [m for m in providers.telegram_sent
                                 if m["chat_id"] == CHAT and text in m["text"]],
                        what=f"a Telegram message with {text!r}")
    return dict(found[-1])


def keyboard(message: dict) -> list[str]:
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
            for b in row]


# ---------------------------------------------------------------------- not staffed: web chat
@pytest.mark.parametrize("case", list(CASES))
async def test_the_web_chat_says_when_and_asks_for_a_phone_number_instead(
        gateway, clock: FixedClock, case: str) -> None:
    now, opens, today_until, swedish_day = CASES[case]
    clock.now = now
    content = content_of(gateway)
    when = when_text(content, "sv", opens, today_until)
    assert swedish_day in when and "08:00" in when
    talk = await Conversation.start(gateway, language="sv")
    first = (await talk.send(payload="/request_coach"))["replies"][0]
    assert first["text"] == "\n\n".join([
        when, content.text("handover_cannot_wait", "sv"),
        content.text("handover_consent_phone", "sv", days=days_kept(gateway))])
    assert payloads(first) == ["/handover:yes", "/book_dropin", "/handover:no"]

    done = await web_handover(talk, phone="070-123 45 67")
    assert done["text"].startswith(content.text(
        "handover_done_later", "sv", name="Amina", team=TEAM_NAME, later=when))
    assert payloads(done) == ["/handover:end"]
    services = gateway.server.app[SERVICES]
    lead = await services.leads.open_for(f"webchat:{talk.session}")
    assert lead is not None and lead.team == TEAM and lead.status == "waiting"
    assert (lead.fields["contact"], lead.fields["phone"]) == ("phone", "070-123 45 67")
    shown = content.text("handover_consent_phone", "sv", days=days_kept(gateway))
    assert lead.fields["consent_text_sha256"] == hashlib.sha256(shown.encode()).hexdigest()


async def test_the_drop_in_offered_instead_starts_a_booking(gateway, clock: FixedClock) -> None:
    clock.now = CASES["midsummer_eve"][0]
    talk = await Conversation.start(gateway, language="sv")
    await talk.send(payload="/request_coach")
    booking = await talk.send(payload="/book_dropin")
    assert all(p.startswith("/book:") for p in payloads(booking["replies"][0]))
    state = await gateway.server.app[SERVICES].engine.store.load(f"webchat:{talk.session}")
    assert state.flow == "booking" and state.handover_lead is None


# ---------------------------------------------------------------------- not staffed: Telegram
@pytest.mark.parametrize("case", list(CASES))
async def test_telegram_says_when_in_arabic_and_the_lead_waits(
        gateway, providers, running_worker, clock: FixedClock, case: str) -> None:
    now, opens, today_until, _ = CASES[case]
    clock.now = now
    content = content_of(gateway)
    when = when_text(content, "ar", opens, today_until)
    await telegram(gateway, chat=CHAT, button="/lang:ar")
    await telegram(gateway, chat=CHAT, button="/request_coach")
    consent = await sent_to_chat(providers, when)
    assert consent["text"] == "\n\n".join([
        when, content.text("handover_book_instead", "ar"),
        content.text("handover_consent", "ar", days=days_kept(gateway))])
    assert keyboard(consent) == ["/handover:yes", "/book_dropin", "/handover:no"]

    await telegram_steps(gateway, TELEGRAM_STEPS)
    done = await sent_to_chat(providers, content.text(
        "handover_done_later", "ar", name="Amina", team=TEAM_NAME, later=when))
    assert keyboard(done) == ["/handover:end"]
    lead = await gateway.server.app[SERVICES].leads.open_for(f"telegram:{CHAT}")
    assert lead is not None and lead.status == "waiting" and lead.fields["contact"] == "chat"


# ---------------------------------------------------------------------- not staffed: SMS
async def test_sms_says_when_in_short_and_offers_a_drop_in_by_number(
        gateway, providers, running_worker, clock: FixedClock) -> None:
    now, opens, _, swedish_day = CASES["christmas_eve"]
    clock.now = now
    content = content_of(gateway)
    when = when_text(content, "sv", opens, None, short=True)
    assert swedish_day in when
    await sms(gateway, "hej", "7")  # NLU is down here: the numbered topic menu, 7 a coach
    consent = "\n\n".join([when, short_text(content, "handover_book_instead", "sv"),
                            content.text("handover_consent", "sv", days=days_kept(gateway))])
    menu = content.buttons(("/handover:yes", "/book_dropin", "/handover:no"), "sv")
    body = render(Reply(consent, menu))  # 1 yes, 2 a drop-in, 3 no
    await until(lambda: any(m["to"] == PHONE and m["message"] == body
                            for m in providers.elks_sent), what="the consent by SMS")
    await sms(gateway, "1", "Amina", "Rinkeby", "2", "1")  # yes, name, area, 20-29, work
    done = short_text(content, "handover_done_later", "sv", name="Amina", team=TEAM_NAME,
                      later=when)
    await until(lambda: any(m["to"] == PHONE and m["message"].startswith(done)
                            for m in providers.elks_sent), what="the lead's last SMS")
    lead = await gateway.server.app[SERVICES].leads.open_for(f"sms:{PHONE}")
    assert lead is not None and lead.team == TEAM and lead.status == "waiting"


# ---------------------------------------------------------------------- a coach is present
async def coach_browser(gateway: TestClient, aiohttp_client, teams: list[str]) -> tuple[
        TestClient, dict[str, str]]:
    services = gateway.server.app[SERVICES]
    await services.accounts.add("anna", PASSWORD, teams, name="Anna", email="anna@stad.test")
    browser = await aiohttp_client(gateway.server)
    me = await (await browser.post("/coach/api/login", json={"username": "anna",
                                                             "password": PASSWORD})).json()
    return browser, {"X-CSRF-Token": me["csrf_token"]}


async def test_with_a_coach_present_on_tuesday_the_ordinary_handover(
        gateway, aiohttp_client, providers, running_worker, clock: FixedClock) -> None:
    content = content_of(gateway)
    browser, csrf = await coach_browser(gateway, aiohttp_client, [TEAM])
    assert (await browser.post("/coach/api/presence", json={"present": True})).status == 403
    wrong = await browser.post("/coach/api/presence", json={"present": "yes"}, headers=csrf)
    assert wrong.status == 400
    here = await browser.post("/coach/api/presence", json={"present": True}, headers=csrf)
    assert here.status == 200 and await here.json() == {
        "present": True, "away": False, "seconds_left": 1800,
        "until": (TUESDAY_TEN + timedelta(minutes=30)).astimezone(UTC).isoformat()}

    talk = await Conversation.start(gateway, language="sv")
    first = (await talk.send(payload="/request_coach"))["replies"][0]
    assert first["text"] == content.text("handover_consent", "sv", days=days_kept(gateway))
    assert payloads(first) == ["/handover:yes", "/handover:no"]
    done = await web_handover(talk)
    assert done["text"].startswith(content.text("handover_done", "sv", name="Amina",
                                                team=TEAM_NAME, count=24))

    await telegram(gateway, chat=CHAT, button="/lang:ar")
    await telegram(gateway, chat=CHAT, button="/request_coach")
    consent = await sent_to_chat(providers, content.text("handover_consent", "ar",
                                                         days=days_kept(gateway)))
    assert keyboard(consent) == ["/handover:yes", "/handover:no"]
    await telegram_steps(gateway, TELEGRAM_STEPS)
    await sent_to_chat(providers, content.text("handover_done", "ar", name="Amina",
                                               team=TEAM_NAME, count=24))

    # 31 minutes without activity: nobody present any more, and the next person is told so.
    clock.now = TUESDAY_TEN + timedelta(minutes=31)
    state = await (await browser.get("/coach/api/presence")).json()
    assert (state["present"], state["away"]) == (False, False)
    later = await Conversation.start(gateway, language="sv")
    told = (await later.send(payload="/request_coach"))["replies"][0]["text"]
    assert told.startswith(when_text(content, "sv", local(2027, 3, 31, 8, 0),
                                     local(2027, 3, 30, 16, 30)))


async def test_the_last_message_goes_by_the_leads_own_team(gateway, aiohttp_client,
                                                           clock: FixedClock) -> None:
    """A coach of another team is present, so before the area is known a coach may answer; the
    lead goes to a team with nobody present: its last message says so, and the web chat, which
    cannot wait, offers a drop-in too."""
    content = content_of(gateway)
    browser, csrf = await coach_browser(gateway, aiohttp_client, [OTHER])
    await browser.post("/coach/api/presence", json={"present": True}, headers=csrf)
    talk = await Conversation.start(gateway, language="sv")
    first = (await talk.send(payload="/request_coach"))["replies"][0]
    assert payloads(first) == ["/handover:yes", "/handover:no"]  # the ordinary consent
    done = await web_handover(talk)  # Rinkeby, 20-29: Jobbtorg unga Järva, nobody present
    when = when_text(content, "sv", local(2027, 3, 31, 8, 0), local(2027, 3, 30, 16, 30))
    assert done["text"].startswith(" ".join([
        content.text("handover_done_later", "sv", name="Amina", team=TEAM_NAME, later=when),
        content.text("handover_book_instead", "sv")]))
    assert payloads(done) == ["/book_dropin", "/handover:end"]


async def test_a_chosen_away_is_not_undone_by_the_panel_and_logout_ends_presence(
        gateway, aiohttp_client, clock: FixedClock) -> None:
    browser, csrf = await coach_browser(gateway, aiohttp_client, [TEAM])

    async def presence(body: dict | None = None) -> dict:
        resp = await (browser.post("/coach/api/presence", json=body, headers=csrf) if body
                      else browser.get("/coach/api/presence"))
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    services = gateway.server.app[SERVICES]
    staffing = Staffing(Presence(redis=services.redis, keys=services.keys, clock=clock))
    team = services.teams.teams[TEAM]
    assert (await presence({"present": True, "auto": True}))["present"]
    assert (await staffing.outlook(team, clock())).staffed
    away = await presence({"present": False})
    assert (away["present"], away["away"], away["until"]) == (False, True, None)
    assert (await presence({"present": True, "auto": True}))["present"] is False  # a heartbeat
    assert not (await staffing.outlook(team, clock())).staffed
    assert (await presence({"present": True}))["present"]  # the coach's own choice
    assert (await browser.post("/coach/api/logout", headers=csrf)).status == 200
    assert not (await staffing.outlook(team, clock())).staffed


# ---------------------------------------------------------------------- the SLA in open time
async def over_sla(gateway: TestClient, browser: TestClient) -> dict[str, object]:
    teams = {t["id"]: t["over_sla"] for t in
             (await (await browser.get("/coach/api/teams")).json())["teams"]}
    leads = (await (await browser.get("/coach/api/leads")).json())["leads"]
    gauges = {team: await metric(gateway, f'lotsen_leads_over_sla{{team="{team}"}}')
              for team in (TEAM, OTHER)}
    return {"teams": teams, "breached": {lead["team"]: lead["sla_breached"] for lead in leads},
            "gauges": gauges, "waited": {lead["team"]: lead["waiting_seconds"] for lead in leads}}


async def test_no_escalation_overnight_or_over_a_weekend(gateway, aiohttp_client, clock,
                                                         smtp_server) -> None:
    services = gateway.server.app[SERVICES]
    browser, _ = await coach_browser(gateway, aiohttp_client, [TEAM, OTHER])
    friday = local(2027, 3, 5, 16, 0)  # 30 minutes before closing
    clock.now = friday
    await services.leads.create("webchat:weekend", TEAM, {"language": "sv", "name": "Amina"})
    for now in (local(2027, 3, 5, 23, 0), local(2027, 3, 6, 12, 0), local(2027, 3, 7, 23, 59),
                local(2027, 3, 8, 7, 59), local(2027, 3, 8, 11, 29)):  # 30 + 209 min open
        clock.now = now
        seen = await over_sla(gateway, browser)
        assert (seen["teams"], seen["breached"], seen["gauges"][TEAM]) == (
            {TEAM: 0, OTHER: 0}, {TEAM: False}, 0.0), now
    assert seen["waited"][TEAM] > 60 * 3600  # in wall-clock time it waited all weekend

    mailer = Mailer(smtp_server.url, "lotsen@stad.test")
    notifier = Notifier(services.staff_events, services.accounts, services.leads, services.teams,
                        mailer, services.keys, "https://lotsen.test/coach/", digest_hour=0,
                        clock=clock)
    await notifier.send_digest(clock())  # Monday morning: waiting, not over the SLA
    (_, waiting, _), = await smtp_server.wait_for(1, timeout=5)
    assert waiting["Subject"] == "Lotsen: leads som väntar"
    assert f"- {TEAM_NAME}: 1 väntar" in waiting.get_content().splitlines()
    assert "Amina" not in waiting.as_string()

    clock.now = local(2027, 3, 8, 11, 31)  # 241 minutes of open time
    seen = await over_sla(gateway, browser)
    assert (seen["teams"][TEAM], seen["breached"][TEAM], seen["gauges"][TEAM]) == (1, True, 1.0)
    await notifier.send_digest(clock())
    late = (await smtp_server.wait_for(2, timeout=5))[1][1]
    assert late["Subject"] == "Lotsen: leads som väntat för länge"
    assert f"- {TEAM_NAME}: 1 över SLA, 1 väntar" in late.get_content().splitlines()

    clock.now = local(2027, 3, 9, 16, 0)  # overnight: Tuesday 16:00 to Wednesday morning
    await services.leads.create("webchat:overnight", OTHER, {"language": "sv"})
    for now, expected in ((local(2027, 3, 10, 7, 59), 0.0), (local(2027, 3, 10, 11, 29), 0.0),
                          (local(2027, 3, 10, 11, 31), 1.0)):
        clock.now = now
        assert (await over_sla(gateway, browser))["gauges"][OTHER] == expected, now


async def test_a_lead_left_on_friday_evening_is_first_in_the_queue_on_monday(
        gateway, aiohttp_client, clock: FixedClock) -> None:
    services = gateway.server.app[SERVICES]
    clock.now = local(2027, 3, 5, 19, 0)  # Friday evening, on Telegram
    await telegram(gateway, chat=CHAT, button="/request_coach")
    await telegram_steps(gateway, TELEGRAM_STEPS)
    clock.now = local(2027, 3, 6, 10, 0)  # Saturday, in the web chat (a phone number)
    saturday = await Conversation.start(gateway, language="sv")
    await saturday.send(payload="/request_coach")
    await web_handover(saturday, phone="070-765 43 21")
    clock.now = local(2027, 3, 8, 8, 5)  # Monday: a coach arrives, a third person asks
    browser, csrf = await coach_browser(gateway, aiohttp_client, [TEAM])
    await browser.post("/coach/api/presence", json={"present": True, "auto": True}, headers=csrf)
    monday = await Conversation.start(gateway, language="sv")
    await monday.send(payload="/request_coach")
    await web_handover(monday)
    expected = [await services.leads.open_for(c) for c in (
        f"telegram:{CHAT}", f"webchat:{saturday.session}", f"webchat:{monday.session}")]
    queue = (await (await browser.get("/coach/api/leads")).json())["leads"]
    assert [lead["id"] for lead in queue] == [lead.id for lead in expected if lead]
    assert [lead["sla_breached"] for lead in queue] == [False, False, False]
    claimed = await browser.post(f"/coach/api/leads/{queue[0]['id']}/claim", headers=csrf)
    assert claimed.status == 200 and (await claimed.json())["channel"] == "telegram"
