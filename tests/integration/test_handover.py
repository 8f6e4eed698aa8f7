"""Warm-lead handover through the HTTP routes, with the real Rasa model and real Redis:
consent, the lead in the right team's stream, concurrent claims, the two-way relay, close,
claims that lapse, and the coach API's security."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.config import ROOT
from bot.core.handover.personnummer import luhn_ok
from bot.core.keys import CONV_LEADS, CONV_OPEN_LEAD, LEAD, LEAD_MESSAGES, LEAD_STREAM, Keys
from bot.runtime.gateway import SERVICES, create_app
from bot.runtime.worker import release_expired_claims
from tests.conftest import Conversation, make_settings
from tests.waiting import until

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"
PASSWORD = "correct horse battery"


@pytest.fixture
async def app_client(aiohttp_client, rasa_server, prefix, redis):
    return await aiohttp_client(create_app(make_settings(prefix, rasa_server,
                                                         config_dir=FIXTURE_CONFIG)))


async def add_coach(client: TestClient, username: str, *teams: str) -> None:
    services = client.server.app[SERVICES]
    await services.accounts.add(
        username, PASSWORD, list(teams), name=username.title())


async def coach_session(aiohttp_client, client: TestClient, username: str) -> tuple[TestClient,
                                                                                    dict]:
    """A separate browser (own cookie jar) logged in as `username`."""
    browser = await aiohttp_client(client.server)
    resp = await browser.post("/coach/api/login", json={"username": username,
                                                        "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    me = await resp.json()
    return browser, {"X-CSRF-Token": me["csrf_token"]}


async def request_coach(talk: Conversation, district: str = "Rinkeby",
                        age: str = "20-29") -> dict:
    data = await talk.send("kan jag få prata med en riktig människa, en coach")
    assert [b["payload"] for b in data["replies"][0]["buttons"]] == ["/handover:yes",
                                                                     "/handover:no"]
    await talk.send(payload="/handover:yes")
    await talk.send("Amina")
    await talk.send(payload="/handover:contact:chat")
    await talk.send(payload=f"/handover:district:{district}")
    after_age = await talk.send(payload=f"/handover:age:{age}")
    if not any(b["payload"].startswith("/handover:topic:")
               for b in after_age["replies"][0]["buttons"]):
        return after_age  # the topic was known from the conversation
    return await talk.send(payload="/handover:topic:work")


async def test_consent_given_creates_a_lead_for_the_right_team(app_client, aiohttp_client,
                                                               redis, prefix) -> None:
    talk = await Conversation.start(app_client)
    await talk.say("berätta om jobbtorg")  # the topic the bot knows already
    done = await request_coach(talk)
    assert "Amina" in done["replies"][0]["text"] and "Jobbtorg unga Järva" in done[
        "replies"][0]["text"]
    await add_coach(app_client, "anna", "jobbtorg-unga-jarva")
    await add_coach(app_client, "vera", "jobbtorg-vuxna-jarva")
    anna, _ = await coach_session(aiohttp_client, app_client, "anna")
    leads = (await (await anna.get("/coach/api/leads")).json())["leads"]
    assert len(leads) == 1
    lead = leads[0]
    assert {k: lead[k] for k in ("team", "language", "topic", "district", "age_group",
                                 "status")} == {
        "team": "jobbtorg-unga-jarva", "language": "sv", "topic": "work",
        "district": "Rinkeby", "age_group": "20-29", "status": "waiting"}
    assert "name" not in lead and lead["waiting_seconds"] >= 0  # no names in the queue
    vera, _ = await coach_session(aiohttp_client, app_client, "vera")
    assert (await (await vera.get("/coach/api/leads")).json())["leads"] == []
    stored = await redis.hgetall(Keys(prefix)(LEAD, lead=lead["id"]))
    assert stored["consent_version"] and stored["consent_channel"] == "webchat"


async def test_consent_refused_stores_nothing(app_client, redis, prefix) -> None:
    talk = await Conversation.start(app_client)
    await talk.send(payload="/request_coach")
    declined = await talk.send(payload="/handover:no")
    assert "inget" in declined["replies"][0]["text"].lower()
    keys = Keys(prefix)
    for pattern in (LEAD, LEAD_MESSAGES, LEAD_STREAM, CONV_OPEN_LEAD, CONV_LEADS):
        assert [k async for k in redis.scan_iter(match=keys.glob(pattern))] == [], pattern


async def test_claim_race_relay_both_ways_and_close(app_client, aiohttp_client, redis,
                                                    prefix) -> None:
    talk = await Conversation.start(app_client)
    await request_coach(talk)
    await add_coach(app_client, "anna", "jobbtorg-unga-jarva")
    await add_coach(app_client, "bo", "jobbtorg-unga-jarva")
    anna, anna_csrf = await coach_session(aiohttp_client, app_client, "anna")
    bo, bo_csrf = await coach_session(aiohttp_client, app_client, "bo")
    lead_id = (await (await anna.get("/coach/api/leads")).json())["leads"][0]["id"]

    responses = await asyncio.gather(
        anna.post(f"/coach/api/leads/{lead_id}/claim", headers=anna_csrf),
        bo.post(f"/coach/api/leads/{lead_id}/claim", headers=bo_csrf))
    statuses = sorted(r.status for r in responses)
    assert statuses == [200, 409]
    winner, winner_csrf = (anna, anna_csrf) if responses[0].status == 200 else (bo, bo_csrf)
    detail = await next(r for r in responses if r.status == 200).json()
    assert detail["name"] == "Amina" and detail["consent"]["version"]
    assert any(m["from"] == "user" for m in detail["transcript"])

    before = (await talk.messages())[-1]["seq"]
    resp = await winner.post(f"/coach/api/leads/{lead_id}/messages",
                             json={"text": "Hej Amina! Vill du komma på tisdag?"},
                             headers=winner_csrf)
    assert resp.status == 200
    later = await talk.messages(after=before)
    assert len(later) == 1 and "Hej Amina! Vill du komma på tisdag?" in later[0]["text"]
    assert "(coach)" in later[0]["text"]

    relayed = await talk.send("ja gärna, efter lunch")
    assert relayed["replies"][0]["text"] == app_client.server.app[
        SERVICES].content.text("handover_relayed", "sv")
    detail = await (await winner.get(f"/coach/api/leads/{lead_id}")).json()
    assert detail["transcript"][-1] == {**detail["transcript"][-1], "from": "user",
                                        "text": "ja gärna, efter lunch"}

    stream = Keys(prefix)(LEAD_STREAM, team="jobbtorg-unga-jarva")
    assert (await redis.xpending(stream, "coaches"))["pending"] == 1
    booked_before = await metric(app_client, 'lotsen_lead_outcomes_total{outcome="booked",'
                                             'team="jobbtorg-unga-jarva"}')
    resp = await winner.post(f"/coach/api/leads/{lead_id}/close", json={"outcome": "booked"},
                             headers=winner_csrf)
    assert resp.status == 200
    assert (await redis.xpending(stream, "coaches"))["pending"] == 0  # acknowledged
    closed_text, asked = [m["text"] for m in (await talk.messages())[-2:]]
    assert "avslutat" in closed_text
    assert asked == app_client.server.app[SERVICES].content.text("satisfaction_question", "sv")
    back = await talk.send("var ligger jobbtorg i kista")  # back to the bot, not the coach
    assert "Kista" in back["replies"][0]["text"] or "Järva" in back["replies"][0]["text"]
    assert await metric(app_client, 'lotsen_lead_outcomes_total{outcome="booked",'
                                    'team="jobbtorg-unga-jarva"}') == booked_before + 1
    assert await metric(app_client, 'lotsen_lead_time_to_claim_seconds_count{'
                                    'team="jobbtorg-unga-jarva"}') >= 1


async def metric(client: TestClient, name: str) -> float:
    """A sample's value from /metrics (0 when absent). Counters are per process, so tests
    compare before and after."""
    for line in (await (await client.get("/metrics")).text()).splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_claim_that_lapses_goes_back_to_the_queue(app_client, aiohttp_client) -> None:
    talk = await Conversation.start(app_client)
    await request_coach(talk)
    await add_coach(app_client, "anna", "jobbtorg-unga-jarva")
    await add_coach(app_client, "bo", "jobbtorg-unga-jarva")
    anna, anna_csrf = await coach_session(aiohttp_client, app_client, "anna")
    lead_id = (await (await anna.get("/coach/api/leads")).json())["leads"][0]["id"]
    assert (await anna.post(f"/coach/api/leads/{lead_id}/claim", headers=anna_csrf)).status == 200
    # Anna's browser dies here. Bo cannot take the lead at once ...
    bo, bo_csrf = await coach_session(aiohttp_client, app_client, "bo")
    assert (await bo.post(f"/coach/api/leads/{lead_id}/claim", headers=bo_csrf)).status == 409
    # The test teams' claim timeout is 3 s, measured by Redis (a stream entry's idle time):
    # the SLA monitor releases the claim once that much real time has passed.
    services = app_client.server.app[SERVICES]
    released = await until(lambda: release_expired_claims(services.leads, services.teams),
                           timeout=30, interval=0.2, what="the SLA monitor to release the claim")
    assert released == 1
    leads = (await (await bo.get("/coach/api/leads")).json())["leads"]
    assert leads[0]["status"] == "waiting" and leads[0]["sla_breached"]
    assert (await bo.post(f"/coach/api/leads/{lead_id}/claim", headers=bo_csrf)).status == 200
    metrics = await (await app_client.get("/metrics")).text()
    assert 'lotsen_leads_waiting{team="jobbtorg-unga-jarva"} 0.0' in metrics


async def test_the_person_can_leave_and_asking_again_updates_the_lead(app_client,
                                                                     redis, prefix) -> None:
    talk = await Conversation.start(app_client)
    await request_coach(talk)
    left = await talk.send(payload="/handover:end")
    assert left["replies"][0]["buttons"]
    back = await talk.send("vad är komvux")
    assert "komvux" in back["replies"][0]["text"].lower()  # NLU again, not the coach
    await request_coach(talk, district="Skärholmen", age="30+")
    open_leads = [k async for k in redis.scan_iter(match=Keys(prefix).glob(LEAD))
                  if k.count(":") == 2]
    assert len(open_leads) == 1  # at most one open lead per person


async def test_personnummer_is_refused_and_never_stored(app_client, redis, prefix) -> None:
    nine = "811218987"
    number = nine + next(str(d) for d in range(10) if luhn_ok(nine + str(d)))
    written = f"{number[:6]}-{number[6:]}"
    talk = await Conversation.start(app_client)
    await talk.send(payload="/request_coach")
    await talk.send(payload="/handover:yes")
    refused = await talk.send(written)
    assert "personnummer" in refused["replies"][0]["text"]
    everything = []
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        kind = await redis.type(key)
        if kind == "string":
            everything.append(await redis.get(key))
        elif kind == "list":
            everything += await redis.lrange(key, 0, -1)
        elif kind == "hash":
            everything += list((await redis.hgetall(key)).values())
    assert not any(number[6:] in str(value) for value in everything)
    named = await talk.send("Amina")  # the flow goes on where it was
    assert named["replies"][0]["buttons"][0]["payload"] == "/handover:contact:chat"


async def test_coach_api_security(app_client, aiohttp_client) -> None:
    talk = await Conversation.start(app_client)
    await request_coach(talk, district="Skärholmen", age="30+")  # team jobbtorg-skarholmen
    await add_coach(app_client, "anna", "jobbtorg-unga-jarva")
    await add_coach(app_client, "sara", "jobbtorg-skarholmen")
    assert (await app_client.get("/coach/api/leads")).status == 401
    assert (await app_client.post("/coach/api/leads/abc/claim")).status == 401
    sara, _ = await coach_session(aiohttp_client, app_client, "sara")
    lead_id = (await (await sara.get("/coach/api/leads")).json())["leads"][0]["id"]
    anna, anna_csrf = await coach_session(aiohttp_client, app_client, "anna")
    assert (await anna.get(f"/coach/api/leads/{lead_id}")).status == 404
    assert (await anna.post(f"/coach/api/leads/{lead_id}/claim",
                            headers=anna_csrf)).status == 404
    assert (await sara.post(f"/coach/api/leads/{lead_id}/claim")).status == 403  # no CSRF
    for _ in range(5):
        resp = await app_client.post("/coach/api/login", json={"username": "sara",
                                                               "password": "wrong password"})
        assert resp.status == 401
    resp = await app_client.post("/coach/api/login", json={"username": "sara",
                                                           "password": PASSWORD})
    assert resp.status == 429  # rate-limited even with the right password


def test_admin_cli_lists_teams_and_adds_a_coach(prefix, redis) -> None:
    env = {**os.environ, "LOTSEN_KEY_PREFIX": prefix, "LOTSEN_CONFIG_DIR": str(FIXTURE_CONFIG)}
    teams = subprocess.run([sys.executable, "-m", "bot.admin", "teams"], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    assert "jobbtorg-unga-jarva" in teams and "jobbtorg-stockholm" in teams
    added = subprocess.run([sys.executable, "-m", "bot.admin", "add-coach", "kim", "--team",
                            "jobbtorg-unga-jarva"], input=f"{PASSWORD}\n", env=env, cwd=ROOT,
                           capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    bad = subprocess.run([sys.executable, "-m", "bot.admin", "add-coach", "kim", "--team",
                          "nope"], input=f"{PASSWORD}\n", env=env, cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown team" in bad.stderr
