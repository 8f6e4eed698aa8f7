"""Outreach campaigns end to end: people subscribe through the real flow on Telegram, on SMS
through 46elks and through Twilio, or come from an imported list; an operator creates and sends
a campaign through the API; the worker sends it to fake providers that speak the real wire
formats. Each subscriber gets exactly one message, in their language, through their channel;
nobody else gets anything; a second campaign the same day reaches nobody twice; a worker
killed mid-campaign leaves exactly one message each; SMS waits out the night. No NLU is needed
(buttons and numbered menus; Rasa is unreachable, so free text gets the numbered topic menu)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from bot.core.keys import JOBS_DUE, Keys
from bot.core.outreach.flow import ALL_DISTRICTS, DONE, OFFER, YES, renewal_reply
from bot.core.outreach.quiet_hours import STOCKHOLM
from bot.core.outreach.subscriptions import Consent, Subscription
from bot.runtime import outreach_cli, worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.sms import PROVIDER, twilio_signature
from tests import journeys
from tests.clock import FixedClock
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, elks_auth
from tests.waiting import until

ADMIN = {"Authorization": "Bearer test-admin"}
TEXTS = {"sv": "Nytt: sfi för föräldralediga i Tensta på tisdagar.",
         "ar": "جديد: دروس اللغة السويدية للآباء في إجازة الوالدين في تنستا.",
         "so": "Cusub: sfi waalidiinta fasaxa ku jira ee Tensta."}
CHAT_SV, CHAT_AR, CHAT_IMPORTED, CHAT_UNSUBSCRIBED, CHAT_NEVER = 601, 602, 603, 604, 605
ELKS_SO, TWILIO_SV, STOPPER = "+46700000001", "+46700000002", "+46700000003"
IMPORTED_ELKS_AR, IMPORTED_TWILIO_SO, IMPORTED_SMS = "+46700000004", "+46700000005", \
    "+46700000006"
_ids = count(1)


def monday_noon() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # fixed clock: 12:00 Stockholm


def settings_for(prefix, providers):
    # Provider throughput is not under test here: generous limits keep the fixed clock still.
    return journeys.journey_settings(
        prefix, providers, twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
        twilio_from="+46766860000", twilio_api_url=providers.url,
        telegram_chat_rate_per_second=100.0, sms_rate_per_second=100.0)


@pytest.fixture
def clock() -> FixedClock:
    return monday_noon()


@pytest.fixture
def settings(prefix, providers, redis):
    return settings_for(prefix, providers)


@pytest.fixture
async def client(aiohttp_client, settings, clock):
    return await aiohttp_client(create_app(settings, clock=clock))


# ------------------------------------------------------------------ people
async def twilio(client, number: str, text: str) -> None:
    form = {"From": number, "To": "+46766860000", "Body": text,
            "MessageSid": f"SMin{next(_ids)}", "AccountSid": TWILIO_SID}
    signature = twilio_signature(TWILIO_TOKEN, "http://lotsen.test/sms/twilio", form)
    resp = await client.post("/sms/twilio", data=form,
                             headers={"X-Twilio-Signature": signature})
    assert resp.status == 200, await resp.text()


async def telegram_subscribes(client, chat: int, language: str | None = None) -> None:
    """The real flow, by its buttons: (a language,) the offer, consent, topics done, area."""
    await journeys.telegram(client, "/start", chat=chat)
    if language:
        await journeys.telegram(client, chat=chat, button=f"/lang:{language}")
    for payload in (OFFER["sfi_parents"], YES, DONE, ALL_DISTRICTS):
        await journeys.telegram(client, chat=chat, button=payload)


async def sms_subscribes(client, number: str, first: str, send) -> None:
    """The real flow on SMS: a message, then the number of each wanted menu entry."""
    services = client.server.app[SERVICES]
    await send(client, number, first)  # Rasa is down: the numbered topic menu
    for payload in ("/info_sfi_parents", OFFER["sfi_parents"], YES, DONE, ALL_DISTRICTS):
        menu = (await services.engine.store.load(f"sms:{number}")).menu
        assert payload in menu, (payload, menu)
        await send(client, number, str(menu.index(payload) + 1))


async def elks(client, number: str, text: str) -> None:
    await journeys.sms(client, text, number=number)


def imported_list(clock: FixedClock) -> str:
    consented = (clock() - timedelta(days=40)).isoformat()
    return "\n".join([
        "channel,address,language,topics,districts,consent_source,consented_at",
        f"telegram,{CHAT_IMPORTED},sv,sfi_parents,Tensta,open-preschool-form,{consented}",
        f"46elks,{IMPORTED_ELKS_AR},ar,sfi_parents;dropin,,open-preschool-form,{consented}",
        f"twilio,{IMPORTED_TWILIO_SO},so,sfi_parents,Rinkeby,open-preschool-form,{consented}",
        f"sms,{IMPORTED_SMS},sv,sfi_parents,,paper-list-rinkeby,{consented}"]) + "\n"


async def everyone_subscribes(client, providers, settings, redis, clock, tmp_path) -> None:
    await telegram_subscribes(client, CHAT_SV)
    await telegram_subscribes(client, CHAT_AR, language="ar")
    await telegram_subscribes(client, CHAT_UNSUBSCRIBED)
    await journeys.telegram(client, "/start", chat=CHAT_NEVER)  # writes, never subscribes
    await sms_subscribes(client, ELKS_SO, "Waxaan rabaa inaan barto luqadda iswiidhishka",
                         elks)
    await sms_subscribes(client, TWILIO_SV, "hej", twilio)
    await sms_subscribes(client, STOPPER, "hej", elks)
    await elks(client, STOPPER, "STOP")  # after subscribing
    services = client.server.app[SERVICES]
    assert await services.subscriptions.remove(f"telegram:{CHAT_UNSUBSCRIBED}")
    path = tmp_path / "list.csv"
    path.write_text(imported_list(clock), encoding="utf-8")
    said: list[str] = []
    await outreach_cli.import_file(services, path, said.append)
    assert said[-1].startswith("imported 4 line(s)"), said
    for person in (f"telegram:{CHAT_SV}", f"telegram:{CHAT_AR}", f"sms:{ELKS_SO}",
                   f"sms:{TWILIO_SV}"):
        assert await services.subscriptions.get(person, clock.timestamp()) is not None, person
    # The provider a subscriber wrote through is kept as long as the subscription lasts.
    keys = Keys(settings.key_prefix)
    assert await redis.ttl(keys(PROVIDER, number=TWILIO_SV)) > 300 * 86400
    assert await redis.ttl(keys(PROVIDER, number=STOPPER)) <= settings.retention_seconds  # STOP
    await journeys.run_worker_until_sent(settings, redis, clock=clock)  # the flows' replies
    providers.telegram_sent.clear()
    providers.elks_sent.clear()
    providers.twilio_sent.clear()


async def create(client, **body) -> dict:
    body = {"name": "sfi Tensta", "audience": {"topics": ["sfi_parents"]}, "texts": TEXTS,
            **body}
    resp = await client.post("/api/campaigns", json=body, headers=ADMIN)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def send(client, campaign: str) -> None:
    resp = await client.post(f"/api/campaigns/{campaign}/send", headers=ADMIN)
    assert resp.status == 202, await resp.text()


async def status(client, campaign: str) -> dict:
    resp = await client.get(f"/api/campaigns/{campaign}", headers=ADMIN)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def received(providers, texts: dict[str, str]) -> list[tuple[str, str, str]]:
    """(channel or provider, address, language) of every message carrying a campaign text."""
    def language(body: str) -> str | None:
        return next((lang for lang, text in texts.items() if body.startswith(text)), None)

    found = [("telegram", str(m["chat_id"]), language(m["text"]))
             for m in providers.telegram_sent]
    found += [("46elks", m["to"], language(m["message"])) for m in providers.elks_sent]
    found += [("twilio", m["To"], language(m["Body"])) for m in providers.twilio_sent]
    return sorted((where, to, lang) for where, to, lang in found if lang is not None)


# ------------------------------------------------------------------ the journey
async def test_each_subscriber_gets_one_message_in_their_language_through_their_channel(
        client, providers, settings, redis, clock, tmp_path) -> None:
    await everyone_subscribes(client, providers, settings, redis, clock, tmp_path)

    preview = await create(client)
    assert preview["recipients"] == 8 and preview["missing_languages"] == []
    assert preview["by_channel"] == {"telegram": 3, "sms": 5}
    assert preview["by_language"] == {"sv": 4, "ar": 2, "so": 2}
    campaign = preview["id"]
    await send(client, campaign)
    await journeys.run_worker_until_sent(settings, redis, clock=clock)

    assert received(providers, TEXTS) == sorted([
        ("telegram", str(CHAT_SV), "sv"), ("telegram", str(CHAT_AR), "ar"),
        ("telegram", str(CHAT_IMPORTED), "sv"),
        ("46elks", ELKS_SO, "so"), ("46elks", IMPORTED_ELKS_AR, "ar"),
        ("46elks", IMPORTED_SMS, "sv"),  # no provider named: the default (46elks)
        ("twilio", TWILIO_SV, "sv"), ("twilio", IMPORTED_TWILIO_SO, "so")])
    assert len(providers.telegram_sent) + len(providers.elks_sent) + \
        len(providers.twilio_sent) == 8  # nothing else: not the STOP, the unsubscribed, ...
    link = f"https://t.me/lotsen_test_bot?start=c-{campaign}"
    assert all(m["text"].endswith(link) for m in providers.telegram_sent)
    assert [m["message"] for m in providers.elks_sent if m["to"] == ELKS_SO] == [TEXTS["so"]]
    done = await status(client, campaign)
    assert (done["status"], done["recipients"], done["queued"], done["sent"],
            done["delivered"], done["failed"], done["skipped"]) == \
        ("done", 8, 0, 8, 3, 0, 0)  # Telegram's answer is its delivery

    # Delivery reports: 46elks and Twilio say delivered (twice: counted once), one SMS failed.
    elks_id = {m["to"]: f"s{i:032x}" for i, m in enumerate(providers.elks_sent, start=1)}
    twilio_id = {m["To"]: f"SM{i:032x}" for i, m in enumerate(providers.twilio_sent, start=1)}
    for _ in range(2):
        await client.post("/sms/46elks/status", headers=elks_auth(journeys.STATUS_SECRET),
                          data={"id": elks_id[ELKS_SO], "status": "delivered"})
    await client.post("/sms/46elks/status", headers=elks_auth(journeys.STATUS_SECRET),
                      data={"id": elks_id[IMPORTED_ELKS_AR], "status": "failed"})
    form = {"MessageSid": twilio_id[TWILIO_SV], "MessageStatus": "delivered"}
    signature = twilio_signature(TWILIO_TOKEN, "http://lotsen.test/sms/twilio/status", form)
    resp = await client.post("/sms/twilio/status", data=form,
                             headers={"X-Twilio-Signature": signature})
    assert resp.status == 200
    # Replies: the Telegram link opened, an SMS answer; a stranger's link does not count.
    await journeys.telegram(client, f"/start c-{campaign}", chat=CHAT_SV)
    await journeys.telegram(client, "tack!", chat=CHAT_SV)  # the same person: once
    await elks(client, ELKS_SO, "mahadsanid")
    await journeys.telegram(client, f"/start c-{campaign}", chat=CHAT_NEVER)
    after = await status(client, campaign)
    assert (after["delivered"], after["failed"], after["replies"]) == (5, 1, 2)
    assert after["by_channel"]["sms"]["delivered"] == 2
    metrics = await (await client.get("/metrics")).text()
    assert f'lotsen_campaign_messages{{campaign="{campaign}",channel="telegram",' \
           f'status="sent"}} 3.0' in metrics

    # A second campaign the same day reaches nobody who got the first one.
    texts = {lang: f"Igen: {text}" for lang, text in TEXTS.items()}
    second = (await create(client, name="again", texts=texts))["id"]
    await send(client, second)
    await journeys.run_worker_until_sent(settings, redis, clock=clock)
    assert received(providers, texts) == []
    again = await status(client, second)
    assert (again["status"], again["sent"], again["skipped"], again["skipped_reasons"]) == \
        ("done", 0, 8, {"daily_limit": 8})


# ------------------------------------------------------------------ a worker dies
async def save_subscribers(services, clock: FixedClock, conversations: list[str],
                           language: str = "sv") -> None:
    now = clock.timestamp()
    for conversation in conversations:
        channel = conversation.split(":", 1)[0]
        await services.subscriptions.save(Subscription(
            conversation, language, ("sfi_parents",), (),
            Consent("test", now, channel, language, "0" * 64), now + 300 * 86400), now)


async def test_a_worker_killed_mid_campaign_leaves_exactly_one_message_each(
        client, providers, settings, redis, clock) -> None:
    services = client.server.app[SERVICES]
    people = [f"telegram:{700 + n}" for n in range(6)] + \
        [f"sms:+4670100000{n}" for n in range(4)]
    await save_subscribers(services, clock, people)
    campaign = (await create(client))["id"]
    await send(client, campaign)
    providers.delay = 0.3  # each provider holds its answer: the kill lands mid-send

    def sent() -> int:
        return len(providers.telegram_sent) + len(providers.elks_sent)

    stop = asyncio.Event()
    one_at_a_time = dataclasses.replace(settings, worker_concurrency=1)  # the kill lands mid-way
    first = asyncio.create_task(worker.run(one_at_a_time, stop, poll_seconds=0.2, clock=clock))
    await until(lambda: sent() >= 2, timeout=20, interval=0.01, what="two messages sent")
    first.cancel()  # killed while a provider is still answering
    with contextlib.suppress(asyncio.CancelledError):
        await first
    assert 2 <= sent() < len(people), sent()  # the kill came mid-campaign

    providers.delay = 0.0
    clock.now += timedelta(minutes=2)  # the dead worker's leases run out
    await journeys.run_worker_until_sent(settings, redis, clock=clock)
    chats = sorted(str(m["chat_id"]) for m in providers.telegram_sent)
    numbers = sorted(m["to"] for m in providers.elks_sent)
    assert chats == sorted(p.split(":")[1] for p in people if p.startswith("telegram"))
    assert numbers == sorted(p.split(":")[1] for p in people if p.startswith("sms"))
    done = await status(client, campaign)
    assert (done["status"], done["sent"], done["queued"]) == ("done", 10, 0)


# ------------------------------------------------------------------ quiet hours
async def test_sms_is_held_until_eight_in_the_morning(client, providers, settings, redis,
                                                     clock) -> None:
    clock.now = datetime(2026, 11, 23, 19, 50, tzinfo=UTC)  # fixed clock: 20:50 Stockholm
    services = client.server.app[SERVICES]
    await save_subscribers(services, clock, ["telegram:801", "sms:+46701000801"])
    campaign = (await create(client))["id"]
    await send(client, campaign)
    clock.now += timedelta(minutes=10, seconds=10)  # the worker gets to it at 21:00:10
    await journeys.run_worker_until_sent(settings, redis, clock=clock)
    assert [m["chat_id"] for m in providers.telegram_sent] == [801]  # Telegram: at once
    assert providers.elks_sent == []
    morning = datetime.combine(clock.day(1), datetime.min.time().replace(hour=8),
                               tzinfo=STOCKHOLM)
    due = await redis.zrange(Keys(settings.key_prefix)(JOBS_DUE), 0, -1, withscores=True)
    assert [score for _, score in due] == [morning.timestamp()]
    held = await status(client, campaign)
    assert (held["status"], held["queued"], held["sent"]) == ("sending", 1, 1)

    clock.now = morning - timedelta(seconds=1)
    await journeys.run_worker_until_sent(settings, redis, clock=clock)
    assert providers.elks_sent == []
    clock.now = morning
    await journeys.run_worker_until_sent(settings, redis, clock=clock)
    assert [m["to"] for m in providers.elks_sent] == ["+46701000801"]
    assert (await status(client, campaign))["status"] == "done"


# ------------------------------------------------------------------ renewal
async def test_the_renewal_question_is_asked_once(client, providers, settings, redis,
                                                   clock) -> None:
    services = client.server.app[SERVICES]
    now = clock.timestamp()
    ending = Subscription("telegram:901", "sv", ("dropin",), (),
                          Consent("test", now, "telegram", "sv", "0" * 64), now + 10 * 86400)
    await services.subscriptions.save(ending, now)
    await journeys.run_worker_until_sent(settings, redis, clock=clock)
    await journeys.run_worker_until_sent(settings, redis, clock=clock)  # looks again
    question = renewal_reply(services.content, ending)
    assert [m["text"] for m in providers.telegram_sent] == [question.text]
    buttons = providers.telegram_sent[0]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in buttons] == [b.payload for b in
                                                            question.buttons]
    assert (await services.subscriptions.get("telegram:901", now)).renewal_asked
