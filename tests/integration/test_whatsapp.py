"""WhatsApp end to end: signed webhook calls in the shapes of Meta's documentation into the real
gateway (real Rasa model, real Redis), the worker sending through the outbox to a stand-in
Graph API on loopback (tests/fakes.py) that checks WhatsApp's limits and answers error codes
when told to. The 24-hour window is closed by making the person's last message old (the
window's key), never by waiting."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.core.booking.service import reminder_job_id
from bot.core.keys import JOBS_DUE, Keys
from bot.core.messages import Purpose, Reply
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.whatsapp import SENT, WINDOW, WhatsAppChannel
from tests.clock import real_clock_day
from tests.conftest import make_settings
from tests.fakes import (
    WHATSAPP_APP_SECRET,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    WHATSAPP_VERIFY_TOKEN,
    WHATSAPP_VERSION,
    Providers,
    whatsapp_button_reply,
    whatsapp_list_reply,
    whatsapp_message,
    whatsapp_signed,
    whatsapp_status,
    whatsapp_text,
    whatsapp_webhook,
)
from tests.integration.test_booking_processes import FIXTURE_CONFIG
from tests.job_queue import queue_idle
from tests.journeys import dump
from tests.waiting import until

NUMBER = "+46701234567"
SOMALI = "+252612345678"


@pytest.fixture
def settings(prefix, rasa_server, providers, redis):
    return make_settings(
        prefix, rasa_server, config_dir=FIXTURE_CONFIG,
        whatsapp_token=WHATSAPP_TOKEN, whatsapp_phone_number_id=WHATSAPP_PHONE_ID,
        whatsapp_app_secret=WHATSAPP_APP_SECRET, whatsapp_verify_token=WHATSAPP_VERIFY_TOKEN,
        whatsapp_api_url=f"{providers.url}/{WHATSAPP_VERSION}")


@pytest.fixture
async def gateway(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def running_worker(settings):
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2))
    yield
    stop.set()
    await asyncio.wait_for(task, 10)


async def post(gateway, payload: dict[str, Any], secret: str = WHATSAPP_APP_SECRET):
    body, headers = whatsapp_signed(payload, secret)
    return await gateway.post("/whatsapp/webhook", data=body, headers=headers)


def sent_to(providers: Providers, number: str) -> list[dict[str, Any]]:
    return [m for m in providers.whatsapp_sent if m["to"] == number]


def words(message: dict[str, Any]) -> str:
    """What a sent message says: its text, its interactive body, or its template parameter."""
    if message["type"] == "text":
        return message["text"]["body"]
    if message["type"] == "interactive":
        return message["interactive"]["body"]["text"]
    return " ".join(p["text"] for c in message["template"].get("components", [])
                    for p in c["parameters"])


def choices(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, id) of a sent message's buttons or list rows."""
    if message["type"] != "interactive":
        return []
    chosen = message["interactive"]
    if chosen["type"] == "button":
        return [("button", b["reply"]["id"]) for b in chosen["action"]["buttons"]]
    return [("list", row["id"]) for section in chosen["action"]["sections"]
            for row in section["rows"]]


class Person:
    """One WhatsApp user writing to Lotsen through signed webhook calls."""

    def __init__(self, gateway, providers: Providers, redis: Redis, prefix: str,
                 number: str = NUMBER) -> None:
        self.gateway, self.providers, self.redis, self.prefix = gateway, providers, redis, prefix
        self.number = number
        self.pressed: list[str] = []  # the kinds of choice pressed ("button", "list")

    async def send(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Post one message; the messages Lotsen sent back once the queue is idle."""
        before = len(sent_to(self.providers, self.number))
        resp = await post(self.gateway, whatsapp_webhook([message]))
        assert resp.status == 200, await resp.text()
        await until(lambda: len(sent_to(self.providers, self.number)) > before,
                    what="an answer on WhatsApp")
        await until(lambda: queue_idle(self.redis, self.prefix, time.time()),
                    what="every answer sent")
        return sent_to(self.providers, self.number)[before:]

    async def write(self, text: str) -> list[dict[str, Any]]:
        return await self.send(whatsapp_text(self.number, text))

    async def press(self, payload: str) -> list[dict[str, Any]]:
        """A reply button with this payload pressed."""
        return await self.send(whatsapp_button_reply(self.number, payload))

    async def choose(self, answers: list[dict[str, Any]], starting: str) -> list[dict[str, Any]]:
        """Press the first button or list row (or type the number of the numbered line) whose
        payload starts with `starting`, in the last message that offers one."""
        for message in reversed(answers):
            for kind, payload in choices(message):
                if payload.startswith(starting):
                    self.pressed.append(kind)
                    chosen = whatsapp_button_reply(self.number, payload) if kind == "button" \
                        else whatsapp_list_reply(self.number, payload)
                    return await self.send(chosen)
        raise AssertionError(f"no choice {starting!r} in {answers!r}")


@pytest.fixture
def person(gateway, providers, redis, prefix) -> Person:
    return Person(gateway, providers, redis, prefix)


def channel(gateway) -> WhatsAppChannel:
    found = gateway.server.app[SERVICES].channels["whatsapp"]
    assert isinstance(found, WhatsAppChannel)
    return found


async def close_window(redis: Redis, prefix: str, number: str = NUMBER) -> None:
    """The person last wrote 25 hours ago: the window is closed (the key's expiry is kept)."""
    key = Keys(prefix)(WINDOW, number=number)
    assert await redis.set(key, repr(time.time() - 25 * 3600), keepttl=True, xx=True)


async def all_keys(redis: Redis, prefix: str) -> list[str]:
    return sorted([key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)])


# ------------------------------------------------------------------ the webhook
async def test_verification_handshake(gateway) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
             "hub.challenge": "1158201444"}
    resp = await gateway.get("/whatsapp/webhook", params=query)
    assert resp.status == 200 and await resp.text() == "1158201444"
    wrong = await gateway.get("/whatsapp/webhook", params={**query, "hub.verify_token": "nope"})
    assert wrong.status == 403
    not_subscribe = await gateway.get("/whatsapp/webhook", params={**query, "hub.mode": "x"})
    assert not_subscribe.status == 403
    markup = await gateway.get("/whatsapp/webhook",
                               params={**query, "hub.challenge": "<script>"})
    assert markup.status == 403  # the challenge is echoed only when it looks like one


async def test_without_settings_the_webhook_answers_503(aiohttp_client, prefix, redis) -> None:
    client = await aiohttp_client(create_app(make_settings(prefix)))
    assert (await client.get("/whatsapp/webhook")).status == 503
    body, headers = whatsapp_signed(whatsapp_webhook([whatsapp_text(NUMBER, "hej")]))
    assert (await client.post("/whatsapp/webhook", data=body, headers=headers)).status == 503
    assert "send_whatsapp" not in client.server.app[SERVICES].channels.jobs()  # no sender


async def test_a_bad_signature_is_401_and_writes_no_key(gateway, redis, prefix) -> None:
    before = await all_keys(redis, prefix)
    payload = whatsapp_webhook([whatsapp_text(NUMBER, "hej")])
    assert (await post(gateway, payload, secret="not-the-app-secret")).status == 401
    body, headers = whatsapp_signed(payload)
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    assert (await gateway.post("/whatsapp/webhook", data=body,
                               headers=unsigned)).status == 401
    tampered = body.replace(b"hej", b"hoj")  # signed bytes changed after signing
    assert (await gateway.post("/whatsapp/webhook", data=tampered,
                               headers=headers)).status == 401
    assert (await gateway.post("/whatsapp/webhook", data=body, headers={
        **headers, "X-Hub-Signature-256": "sha256=" + "0" * 64})).status == 401
    assert await all_keys(redis, prefix) == before


async def test_malformed_other_numbers_and_duplicates(gateway, providers, running_worker,
                                                      redis, prefix) -> None:
    body, headers = whatsapp_signed({"object": "page"})
    assert (await gateway.post("/whatsapp/webhook", data=body, headers=headers)).status == 400
    broken = whatsapp_webhook([whatsapp_message(NUMBER, "text", text={"body": 42})])
    assert (await post(gateway, broken)).status == 400
    other = whatsapp_webhook([whatsapp_text(NUMBER, "hej")], phone_number_id="999")
    assert (await (await post(gateway, other)).json())["messages"] == 0  # not our number
    once = whatsapp_webhook([whatsapp_text(NUMBER, "vad är sfi")])
    first, second = await post(gateway, once), await post(gateway, once)
    assert (await first.json())["messages"] == 1 and (await second.json())["duplicates"] == 1
    await until(lambda: len(providers.whatsapp_sent) >= 1)
    await until(lambda: queue_idle(redis, prefix, time.time()), what="every reply sent")
    assert len(providers.whatsapp_sent) == 1
    assert len(providers.whatsapp_read) == 1  # the one message, marked read once


async def test_a_somali_text_gets_a_somali_answer_with_interactive_buttons(
        gateway, person, providers, running_worker, redis, prefix) -> None:
    content = gateway.server.app[SERVICES].content
    message = whatsapp_text(SOMALI, "waxaan rabaa inaan barto af iswiidhish")
    somali = Person(gateway, providers, redis, prefix, SOMALI)
    answers = await somali.send(message)
    assert [m["type"] for m in answers] == ["interactive"]
    assert words(answers[0]) == content.text("info_sfi", "so")
    kind = answers[0]["interactive"]["type"]
    titles = [b["reply"]["title"] for b in answers[0]["interactive"]["action"]["buttons"]] \
        if kind == "button" else [r["title"] for r in
                                  answers[0]["interactive"]["action"]["sections"][0]["rows"]]
    ids = [payload for _, payload in choices(answers[0])]
    assert ids and all(payload.startswith("/") for payload in ids)
    assert titles[0].rstrip("…") in content.button(ids[0], "so").title
    assert providers.whatsapp_read == [message["id"]]  # marked read
    window = await channel(gateway).window(SOMALI)
    assert window.open and window.until is not None
    # A button pressed answers like the same button on the web.
    picked = await somali.choose(answers, ids[0])
    assert words(picked[0]) == content.reply(ids[0].lstrip("/"), "so").text


# ------------------------------------------------------------------ booking and its reminder
async def test_a_booking_with_buttons_and_a_list_then_my_bookings_and_cancel(
        gateway, person, running_worker, redis, prefix) -> None:
    services = gateway.server.app[SERVICES]
    answers = await person.write("jag vill boka en tid på drop-in")
    answers = await person.choose(answers, "/book:svc:jobbtorg-unga")
    answers = await person.choose(answers, "/book:loc:")
    answers = await person.choose(answers, "/book:day:")
    answers = await person.choose(answers, "/book:slot:")
    done = await person.choose(answers, "/book:ok:")
    assert {"button", "list"} <= set(person.pressed)  # reply buttons and a list message
    [booking] = await services.bookings.active(f"whatsapp:{NUMBER}")
    assert booking.code in words(done[0]) and "bokningskod" in words(done[0])

    listed = await person.write("har jag någon bokad tid")
    assert booking.code in words(listed[0])
    # A template's quick-reply button carries a payload like any other button.
    quick = await person.send(whatsapp_message(NUMBER, "button", button={
        "payload": "/list_bookings", "text": "Mina bokningar"}))
    assert words(quick[0]) == words(listed[0])
    cancel = await person.write("jag vill avboka min tid")
    cancelled = await person.choose(cancel, f"/book:cancel:{booking.code}")
    assert "avbokad" in words(cancelled[0]).lower()
    assert await services.bookings.active(f"whatsapp:{NUMBER}") == []


async def test_a_reminder_due_after_the_window_closed_goes_as_the_reminder_template(
        gateway, person, providers, running_worker, redis, prefix) -> None:
    services = gateway.server.app[SERVICES]
    await person.write("hej")
    await person.press(f"/book:ok:unga-jarva:{real_clock_day(4).isoformat()}T15:00")
    [booking] = await services.bookings.active(f"whatsapp:{NUMBER}")
    await close_window(redis, prefix)
    due = Keys(prefix)(JOBS_DUE)
    reminder = reminder_job_id(booking.code)
    assert await redis.zadd(due, {reminder: time.time()}, xx=True, ch=True) == 1
    await until(lambda: any(m["type"] == "template" for m in sent_to(providers, NUMBER)),
                what="the reminder as a template")
    template = sent_to(providers, NUMBER)[-1]["template"]
    assert template["name"] == "lotsen_reminder" and template["language"]["code"] == "sv"
    assert booking.code in words(sent_to(providers, NUMBER)[-1])


# ------------------------------------------------------------------ a coach's reply
async def test_a_coach_reply_goes_as_text_while_the_window_is_open_then_as_a_template(
        gateway, aiohttp_client, person, providers, running_worker, redis, prefix) -> None:
    services = gateway.server.app[SERVICES]
    answers = await person.write("jag vill prata med en coach")
    answers = await person.choose(answers, "/handover:yes")
    answers = await person.write("Amina")
    # More districts than a list holds: a numbered menu, answered with the number.
    assert answers[-1]["type"] == "text" and "\n2 Rinkeby" in words(answers[-1])
    answers = await person.write("2")
    answers = await person.choose(answers, "/handover:age:20-29")
    if any(payload.startswith("/handover:topic:") for m in answers for _, payload in choices(m)):
        answers = await person.choose(answers, "/handover:topic:work")
    await services.accounts.add("sara", "correct horse battery",
                                list(services.teams.teams), name="Sara")
    browser = await aiohttp_client(gateway.server)
    me = await (await browser.post("/coach/api/login", json={
        "username": "sara", "password": "correct horse battery"})).json()
    csrf = {"X-CSRF-Token": me["csrf_token"]}
    [lead] = (await (await browser.get("/coach/api/leads")).json())["leads"]
    assert (await browser.post(f"/coach/api/leads/{lead['id']}/claim",
                               headers=csrf)).status == 200
    whatsapp = channel(gateway)
    assert (await whatsapp.outgoing(NUMBER, Purpose.COACH_REPLY)).free_form

    before = len(sent_to(providers, NUMBER))
    resp = await browser.post(f"/coach/api/leads/{lead['id']}/messages",
                              json={"text": "Hej Amina!"}, headers=csrf)
    assert resp.status == 200
    await until(lambda: len(sent_to(providers, NUMBER)) > before, what="the coach's text")
    open_reply = sent_to(providers, NUMBER)[-1]
    assert open_reply["type"] == "text" and "Hej Amina!" in words(open_reply)

    await close_window(redis, prefix)
    going = await whatsapp.outgoing(NUMBER, Purpose.COACH_REPLY)
    assert not going.free_form and going.template is not None
    assert going.template.name == "lotsen_coach_reply"
    resp = await browser.post(f"/coach/api/leads/{lead['id']}/messages",
                              json={"text": "Har du tid i morgon?"}, headers=csrf)
    assert resp.status == 200
    await until(lambda: sent_to(providers, NUMBER)[-1]["type"] == "template",
                what="the coach's reply as a template")
    closed_reply = sent_to(providers, NUMBER)[-1]
    assert closed_reply["template"]["name"] == "lotsen_coach_reply"
    assert "Har du tid i morgon?" in words(closed_reply)
    # Somali has no template language: the configured fallback (a Swedish frame).
    somali = await whatsapp.outgoing(SOMALI, Purpose.COACH_REPLY, language="so")
    assert somali.template is not None and somali.template.language == "sv"


# ------------------------------------------------------------------ errors
async def test_131047_in_the_answer_resends_the_message_once_as_its_template(
        gateway, person, providers, running_worker, redis, prefix) -> None:
    await person.write("hej")
    providers.whatsapp_errors = [131047]
    deliveries = gateway.server.app[SERVICES].deliveries
    before = len(sent_to(providers, NUMBER))
    await deliveries.send(f"whatsapp:{NUMBER}", [Reply("Drop-in är stängt i morgon.")])
    await until(lambda: len(sent_to(providers, NUMBER)) > before, what="the template")
    await until(lambda: queue_idle(redis, prefix, time.time()), what="the job to finish")
    [resent] = sent_to(providers, NUMBER)[before:]
    assert providers.whatsapp_refused == [131047]
    assert resent["type"] == "template" and resent["template"]["name"] == "lotsen_notice"
    assert words(resent) == "Drop-in är stängt i morgon."
    assert not (await channel(gateway).window(NUMBER)).open  # WhatsApp said it is closed


async def test_131047_in_a_later_failed_status_resends_once_as_its_template(
        gateway, person, providers, running_worker, redis, prefix) -> None:
    [answer] = await person.write("vad är sfi")
    assert answer["type"] != "template"
    failed = whatsapp_webhook(statuses=[whatsapp_status(NUMBER, answer["id"], "failed",
                                                        131047)])
    assert (await post(gateway, failed)).status == 200
    await until(lambda: sent_to(providers, NUMBER)[-1]["type"] == "template",
                what="the template")
    assert (await post(gateway, failed)).status == 200  # Meta redelivers the status
    delivered = whatsapp_webhook(statuses=[whatsapp_status(NUMBER, answer["id"], "delivered")])
    assert (await post(gateway, delivered)).status == 200
    await until(lambda: queue_idle(redis, prefix, time.time()), what="every job to finish")
    templates = [m for m in sent_to(providers, NUMBER) if m["type"] == "template"]
    assert len(templates) == 1 and templates[0]["template"]["name"] == "lotsen_notice"
    assert words(templates[0]).startswith(words(answer)[:40].split("\n")[0])
    metrics = await (await gateway.get("/metrics")).text()
    assert 'lotsen_delivery_statuses_total{channel="whatsapp",status="failed"}' in metrics
    assert 'lotsen_delivery_failures_total{channel="whatsapp",code="131047"}' in metrics


async def test_rate_limits_are_retried_later_and_nothing_is_lost(
        gateway, person, providers, running_worker, redis, prefix) -> None:
    providers.whatsapp_errors = [130429]
    started = time.monotonic()
    [answer] = await person.write("hej")
    assert providers.whatsapp_refused == [130429]
    assert time.monotonic() - started >= 1.0  # the pause a throughput limit asks for
    assert len(sent_to(providers, NUMBER)) == 1
    # 131056 reported later in a failed status: the same message again, after a pause.
    pair = whatsapp_webhook(statuses=[whatsapp_status(NUMBER, answer["id"], "failed", 131056)])
    assert (await post(gateway, pair)).status == 200
    await until(lambda: len(sent_to(providers, NUMBER)) == 2, timeout=30,
                what="the message sent again")
    assert words(sent_to(providers, NUMBER)[1]) == words(answer)
    assert await gateway.server.app[SERVICES].jobs.dead_letters() == []


async def test_undeliverable_and_a_rejected_token_are_dead_letters(
        gateway, person, providers, running_worker, redis, prefix) -> None:
    [answer] = await person.write("hej")
    undeliverable = whatsapp_webhook(statuses=[whatsapp_status(NUMBER, answer["id"], "failed",
                                                               131026)])
    assert (await post(gateway, undeliverable)).status == 200
    queue = gateway.server.app[SERVICES].jobs

    async def reasons() -> list[str]:
        return [letter.error for letter in await queue.dead_letters()]

    await until(reasons, what="a dead letter")
    assert "131026" in (await reasons())[0]
    providers.whatsapp_errors = [190]
    deliveries = gateway.server.app[SERVICES].deliveries
    await deliveries.send(f"whatsapp:{NUMBER}", [Reply("En påminnelse.")])
    await until(lambda: providers.whatsapp_refused == [190], what="the token refused")
    await until(lambda: _count(reasons, 2), what="the second dead letter")
    assert any("access token was rejected" in reason for reason in await reasons())
    ready = await (await gateway.get("/readyz")).json()
    assert any(w.startswith("whatsapp: the Cloud API rejected the access token")
               for w in ready["warnings"])
    await person.write("hej igen")  # accepted again: the warning ends
    ready = await (await gateway.get("/readyz")).json()
    assert not any(w.startswith("whatsapp:") for w in ready["warnings"])


async def _count(reasons, count: int) -> bool:
    return len(await reasons()) >= count


# ------------------------------------------------------------------ media, STOP, erasure
@pytest.mark.parametrize("kind,content", [
    ("image", {"image": {"id": "1479537139650973", "mime_type": "image/jpeg",
                         "sha256": "mediasha256digest", "caption": "mitt CV"}}),
    ("audio", {"audio": {"id": "1479537139650974", "mime_type": "audio/ogg; codecs=opus",
                         "sha256": "mediasha256digest", "voice": True}}),
    ("location", {"location": {"latitude": 59.39, "longitude": 17.92, "name": "Rinkeby"}}),
    ("contacts", {"contacts": [{"name": {"formatted_name": "Ali"},
                                "phones": [{"phone": "+46700000001"}]}]}),
    ("sticker", {"sticker": {"id": "1479537139650975", "mime_type": "image/webp",
                             "sha256": "mediasha256digest", "animated": False}}),
    ("unsupported", {"errors": [{"code": 131051, "title": "Message type unknown"}]}),
])
async def test_media_gets_one_polite_answer_and_nothing_of_it_is_kept(
        gateway, person, providers, running_worker, redis, prefix, kind, content) -> None:
    text = gateway.server.app[SERVICES].content.text("media_not_read", "sv")
    answers = await person.send(whatsapp_message(NUMBER, kind, **content))
    assert [words(m) for m in answers] == [text]
    stored = " ".join(f"{key} {value}" for key, value in (await dump(redis, prefix)).items())
    for secret in ("mediasha256digest", "1479537139650973", "mitt CV", "59.39", "+46700000001",
                   "Ali"):
        assert secret not in stored


async def test_stop_ends_pushes_and_start_brings_them_back(
        gateway, person, providers, running_worker, redis, prefix) -> None:
    content = gateway.server.app[SERVICES].content
    [confirmed] = await person.write("STOP")
    assert words(confirmed) == content.text("optout_confirmed", "sv")
    deliveries = gateway.server.app[SERVICES].deliveries
    await deliveries.send(f"whatsapp:{NUMBER}", [Reply("Nyhet!", purpose=Purpose.CAMPAIGN)])
    await until(lambda: queue_idle(redis, prefix, time.time()), what="the push job to run")
    assert len(sent_to(providers, NUMBER)) == 1
    [back] = await person.write("START")
    assert words(back) == content.text("optin_confirmed", "sv")


async def test_erasure_from_whatsapp_leaves_no_key(gateway, person, providers, running_worker,
                                                  redis, prefix) -> None:
    await person.write("hej")
    await person.press(f"/book:ok:unga-jarva:{real_clock_day(4).isoformat()}T15:00")
    digits = NUMBER.lstrip("+")
    keys = Keys(prefix)
    assert await redis.exists(keys(WINDOW, number=NUMBER), keys(SENT, number=NUMBER)) == 2
    undeclared = [key for key in await all_keys(redis, prefix) if keys.match(key) is None]
    assert undeclared == []  # every key the channel wrote is in the key registry
    answers = await person.press("/delete_my_data")
    await person.choose(answers, "/erase:yes")
    await until(lambda: queue_idle(redis, prefix), what="every job done")
    left = {key: value for key, value in (await dump(redis, prefix)).items()
            if digits in key or digits in value}
    assert left == {}
    assert await redis.exists(keys(WINDOW, number=NUMBER), keys(SENT, number=NUMBER)) == 0
