"""The staff workspace against the real gateway, Rasa and Redis: a web-chat booking in its
team's drop-in view and CSV (and not another team's), attendance in /metrics, the audit log of
a lead's claim, messages and close, a disabled coach's session ending, and live events from one
gateway process reaching a panel connected to another."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time

import aiohttp
import pytest

from bot.coach.accounts import CoachAccounts
from bot.coach.notify import GROUP as NOTIFIER_GROUP
from bot.core.keys import Keys
from bot.core.staff_events import STAFF_EVENTS
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from scripts.stack import free_port, start_python, stop, wait_http
from tests import journeys
from tests.conftest import Conversation
from tests.integration.test_handover import FIXTURE_CONFIG
from tests.journeys import CLOCK
from tests.waiting import until

PASSWORD = "correct horse battery"
JARVA, FARSTA = "jobbtorg-unga-jarva", "jobbtorg-farsta"


@pytest.fixture
async def client(aiohttp_client, rasa_server, providers, prefix, redis):
    settings = journeys.journey_settings(prefix, providers, rasa_url=rasa_server.url,
                                         rasa_token=rasa_server.token)
    client = await aiohttp_client(create_app(settings, clock=CLOCK))
    client.settings = settings  # type: ignore[attr-defined]
    accounts = accounts_of(client)
    await accounts.add("sara", PASSWORD, [JARVA], name="Sara")
    await accounts.add("fredrik", PASSWORD, [FARSTA], name="Fredrik")
    await accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    return client


def accounts_of(client) -> CoachAccounts:
    services = client.server.app[SERVICES]
    return services.accounts


async def browser_of(client, aiohttp_client, username: str):
    """A logged-in browser of its own (its own cookies); returns it and its CSRF header."""
    browser = await aiohttp_client(client.server)
    me = await (await browser.post("/coach/api/login", json={"username": username,
                                                             "password": PASSWORD})).json()
    return browser, {"X-CSRF-Token": me["csrf_token"]}


async def test_a_web_chat_booking_shows_in_its_teams_dropin_view_and_csv(
        client, aiohttp_client) -> None:
    _talk, codes = await journeys.web_booking_and_handover(client)
    booked = codes[1]  # the first was cancelled
    day = (await client.server.app[SERVICES].bookings.store.get(booked)).day
    sara, sara_csrf = await browser_of(client, aiohttp_client, "sara")
    locations = (await (await sara.get("/coach/api/locations")).json())["locations"]
    assert JARVA in [loc["id"] for loc in locations]

    view = await (await sara.get(f"/coach/api/bookings?location={JARVA}&day={day}")).json()
    rows = {row["code"]: row for row in view["bookings"]}
    assert rows[booked]["status"] == "booked" and rows[booked]["language"] == "en"
    assert set(rows[booked]) == {"code", "date", "service", "start", "language", "status",
                                 "attendance"}
    assert view["booked"] == 1 and view["languages"] == {"en": 1} and view["seats"] > 1
    exported = await sara.get(f"/coach/api/bookings.csv?location={JARVA}&day={day}")
    assert exported.status == 200 and exported.content_type == "text/csv"
    lines = list(csv.DictReader(io.StringIO(await exported.text())))
    assert booked in [line["code"] for line in lines]

    # A coach of a Farsta team neither sees the Järva location nor its bookings.
    fredrik, fredrik_csrf = await browser_of(client, aiohttp_client, "fredrik")
    theirs = (await (await fredrik.get("/coach/api/locations")).json())["locations"]
    assert JARVA not in [loc["id"] for loc in theirs]
    refused = await fredrik.get(f"/coach/api/bookings?location={JARVA}&day={day}")
    assert refused.status == 400 and "for your teams" in (await refused.json())["error"]
    assert (await fredrik.get(f"/coach/api/bookings.csv?location={JARVA}&day={day}")).status \
        == 400
    marked = await fredrik.post(f"/coach/api/bookings/{booked}/attendance",
                                json={"status": "attended"}, headers=fredrik_csrf)
    assert marked.status == 404

    # Attendance: marked by Järva's coach, corrected, and counted once in /metrics.
    for status in ("no_show", "attended"):
        resp = await sara.post(f"/coach/api/bookings/{booked}/attendance",
                               json={"status": status}, headers=sara_csrf)
        assert resp.status == 200
    bad = await sara.post(f"/coach/api/bookings/{booked}/attendance", json={"status": "late"},
                          headers=sara_csrf)
    assert bad.status == 400
    cancelled = await sara.post(f"/coach/api/bookings/{codes[0]}/attendance",
                                json={"status": "attended"}, headers=sara_csrf)
    assert cancelled.status == 409
    metrics = await (await client.get("/metrics")).text()
    assert f'lotsen_booking_attendance{{location="{JARVA}",status="attended"}} 1.0' in metrics
    assert f'lotsen_booking_attendance{{location="{JARVA}",status="no_show"}} 0.0' in metrics
    view = await (await sara.get(f"/coach/api/bookings?location={JARVA}&day={day}")).json()
    assert {r["code"]: r["attendance"] for r in view["bookings"]}[booked] == "attended"


async def test_the_audit_log_shows_claim_messages_and_close_by_coach_and_time(
        client, aiohttp_client) -> None:
    await journeys.web_booking_and_handover(client)  # ends with a lead for Järva's young
    sara, csrf = await browser_of(client, aiohttp_client, "sara")
    before = time.time()
    lead = (await (await sara.get("/coach/api/leads")).json())["leads"][0]["id"]
    assert (await sara.post(f"/coach/api/leads/{lead}/claim", headers=csrf)).status == 200
    for text in ("Hej!", "Ring mig gärna"):
        await sara.post(f"/coach/api/leads/{lead}/messages", json={"text": text}, headers=csrf)
    assert (await sara.get(f"/coach/api/leads/{lead}")).status == 200
    await sara.post(f"/coach/api/leads/{lead}/close", json={"outcome": "contacted"},
                    headers=csrf)
    assert (await sara.get("/coach/api/audit")).status == 403  # operators only

    olga, _ = await browser_of(client, aiohttp_client, "olga")
    entries = (await (await olga.get("/coach/api/audit?coach=sara")).json())["entries"]
    about_lead = [(e["action"], e["target"], e["team"]) for e in entries
                  if e["target"] == lead]
    assert about_lead == [("lead_close", lead, JARVA), ("lead_view", lead, JARVA),
                          ("lead_message", lead, JARVA), ("lead_message", lead, JARVA),
                          ("lead_claim", lead, JARVA)]  # newest first
    assert entries[-1]["action"] == "login" and entries[-1]["coach"] == "sara"
    assert all(before - 5 <= _timestamp(e["at"]) <= time.time() + 5 for e in entries)
    everything = json.dumps(entries)
    assert "Ring mig" not in everything and "Hej!" not in everything  # no content
    exported = await olga.get("/coach/api/audit.csv?coach=sara")
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    assert next(r["action"] for r in rows if r["target"] == lead) == "lead_close"
    assert (await olga.get("/coach/api/audit?from=yesterday")).status == 400


def _timestamp(iso: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp()


async def test_a_disabled_coachs_open_session_gets_401(client, aiohttp_client) -> None:
    sara, _csrf = await browser_of(client, aiohttp_client, "sara")
    assert (await sara.get("/coach/api/leads")).status == 200
    await accounts_of(client).set_disabled("sara", True)
    assert (await sara.get("/coach/api/leads")).status == 401
    login = await sara.post("/coach/api/login", json={"username": "sara",
                                                      "password": PASSWORD})
    assert login.status == 403 and "disabled" in (await login.json())["error"]
    await accounts_of(client).set_disabled("sara", False)
    again, _ = await browser_of(client, aiohttp_client, "sara")
    assert (await again.get("/coach/api/leads")).status == 200
    listed = {c.username: c for c in await accounts_of(client).all()}
    assert listed["sara"].last_login is not None and listed["olga"].role == "operator"


@pytest.fixture
def second_gateway(prefix: str, redis, rasa_server):
    """Another gateway process on the same Redis."""
    port = free_port()
    env = {"LOTSEN_PORT": str(port), "LOTSEN_KEY_PREFIX": prefix, "LOTSEN_LOG_LEVEL": "ERROR",
           "LOTSEN_CONFIG_DIR": str(FIXTURE_CONFIG), "LOTSEN_RASA_URL": rasa_server.url,
           "LOTSEN_RASA_TOKEN": rasa_server.token}
    process = start_python(["bot", "serve"], env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, process, "gateway")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


async def read_events(response: aiohttp.ClientResponse, wanted: str,
                      timeout: float) -> tuple[dict, float]:
    """The first SSE event of kind `wanted`: its data and when it arrived."""
    kind = ""
    async with asyncio.timeout(timeout):
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == wanted:
                return json.loads(line[6:]), time.monotonic()
    raise AssertionError("the stream ended")


async def stream_open(response: aiohttp.ClientResponse) -> None:
    """Read up to the stream's first line (`retry:`): the gateway has subscribed this panel."""
    async with asyncio.timeout(10):
        async for raw in response.content:
            if raw.startswith(b"retry:"):
                return
    raise AssertionError("the stream ended before it opened")


async def test_a_lead_made_through_one_gateway_reaches_a_panel_on_another_within_2_s(
        client, second_gateway) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as panel:
        login = await panel.post(f"{second_gateway}/coach/api/login",
                                 json={"username": "sara", "password": PASSWORD})
        assert login.status == 200
        async with panel.get(f"{second_gateway}/coach/api/events") as stream:
            assert stream.status == 200
            assert stream.headers["Content-Type"] == "text/event-stream"
            await stream_open(stream)
            started = time.monotonic()
            await journeys.web_booking_and_handover(client)  # through the first gateway
            done = time.monotonic()
            event, arrived = await read_events(stream, "lead_waiting", timeout=10)
    lead = (await client.server.app[SERVICES].leads.team_leads(JARVA))[0]
    assert event == {"kind": "lead_waiting", "team": JARVA, "location": None, "lead": lead.id}
    assert arrived - done < 2.0, (arrived - done, done - started)


HANDOVER_BUTTONS = ("/handover:contact:chat", "/handover:district:Rinkeby",
                    "/handover:age:20-29", "/handover:topic:work")


async def test_a_canned_reply_reaches_an_arabic_speaker_in_arabic_on_web_and_telegram(
        client, aiohttp_client, providers, redis) -> None:
    services = client.server.app[SERVICES]
    arabic = services.static.canned.text("greeting", "ar")
    swedish = services.static.canned.text("greeting", "sv")
    assert arabic != swedish and "Jobbtorg" in arabic

    # An Arabic-speaking person in the web chat and another on Telegram ask for a coach.
    talk = await Conversation.start(client, language="ar")
    for payload in ("/request_coach", "/handover:yes"):
        await talk.send(payload=payload)
    await talk.send("أمينة")
    for payload in HANDOVER_BUTTONS:
        await talk.send(payload=payload)
    chat = 777
    await journeys.telegram(client, chat=chat, button="/lang:ar")
    for payload in ("/request_coach", "/handover:yes"):
        await journeys.telegram(client, chat=chat, button=payload)
    await journeys.telegram(client, "سارة", chat=chat)
    for payload in HANDOVER_BUTTONS:
        await journeys.telegram(client, chat=chat, button=payload)

    sara, csrf = await browser_of(client, aiohttp_client, "sara")
    offered = (await (await sara.get("/coach/api/canned")).json())["canned"]
    greeting = next(reply for reply in offered if reply["id"] == "greeting")
    assert greeting["text"] == swedish and JARVA in greeting["teams"]  # what Sara reads
    leads = (await (await sara.get("/coach/api/leads")).json())["leads"]
    assert sorted(lead["language"] for lead in leads) == ["ar", "ar"]
    for lead in leads:
        assert (await sara.post(f"/coach/api/leads/{lead['id']}/claim",
                                headers=csrf)).status == 200
        bad = await sara.post(f"/coach/api/leads/{lead['id']}/messages",
                              json={"canned": "no-such-reply"}, headers=csrf)
        assert bad.status == 400
        sent = await sara.post(f"/coach/api/leads/{lead['id']}/messages",
                               json={"canned": "greeting"}, headers=csrf)
        assert sent.status == 200

    await journeys.run_worker_until_sent(client.settings, redis, clock=CLOCK)
    web = [m["text"] for m in await talk.messages()]
    assert any(arabic in text and "Sara" in text for text in web)
    assert not any(swedish in text for text in web)
    to_chat = [m["text"] for m in providers.telegram_sent if m["chat_id"] == chat]
    assert any(arabic in text and "Sara" in text for text in to_chat)


async def notifier_group_exists(redis, events: str) -> bool:
    if not await redis.exists(events):
        return False
    return any(group["name"] == NOTIFIER_GROUP for group in await redis.xinfo_groups(events))


async def test_an_email_reaches_the_smtp_server_within_5_s_of_a_new_lead_without_personal_data(
        aiohttp_client, rasa_server, providers, prefix, redis, smtp_server) -> None:
    settings = journeys.journey_settings(prefix, providers, rasa_url=rasa_server.url,
                                         rasa_token=rasa_server.token,
                                         smtp_url=smtp_server.url, mail_from="lotsen@stad.test")
    client = await aiohttp_client(create_app(settings, clock=CLOCK))
    accounts = accounts_of(client)
    await accounts.add("sara", PASSWORD, [JARVA], name="Sara", email="sara@stad.test")
    await accounts.add("fredrik", PASSWORD, [FARSTA], name="Fredrik", email="fredrik@stad.test")
    await accounts.add("nils", PASSWORD, [JARVA], name="Nils")  # no address: no e-mail
    stop_worker = asyncio.Event()
    running = asyncio.create_task(worker.run(settings, stop_worker, poll_seconds=0.2,
                                             clock=CLOCK))
    try:
        events = Keys(prefix)(STAFF_EVENTS)
        await until(lambda: notifier_group_exists(redis, events), what="the notifier's group")
        _, codes = await journeys.web_booking_and_handover(client)
        created = time.monotonic()
        received = await smtp_server.wait_for(1, timeout=5)
    finally:
        stop_worker.set()
        await asyncio.wait_for(running, 15)
    assert len(received) == 1, [m[1]["To"] for m in received]
    recipients, message, arrived = received[0]
    assert recipients == ["sara@stad.test"] and arrived - created < 5
    assert message["From"] == "lotsen@stad.test"
    assert message["Subject"] == "Lotsen: en ny lead väntar – Jobbtorg unga Järva"
    body = message.get_payload(decode=True).decode()
    assert "http://lotsen.test/coach/" in body
    # Nothing the person gave: their name (the journey's only words), their booking codes.
    leaked = [w for w in (journeys.NAME, *codes) if w in message.as_string() or w in body]
    assert leaked == []


async def test_a_coach_changes_their_own_notification_address(client, aiohttp_client) -> None:
    sara, csrf = await browser_of(client, aiohttp_client, "sara")
    changed = await sara.post("/coach/api/me", json={"email": "sara@stad.test"}, headers=csrf)
    assert changed.status == 200 and (await changed.json())["email"] == "sara@stad.test"
    bad = await sara.post("/coach/api/me", json={"email": "sara@stad.test\nBcc: x@y.z"},
                          headers=csrf)
    assert bad.status == 400
    assert (await sara.post("/coach/api/me", json={"email": "x@y.z"})).status == 403  # CSRF
    assert (await accounts_of(client).get("sara")).email == "sara@stad.test"
