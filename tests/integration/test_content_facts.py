"""Facts and schedules in the content workspace (issue 24): two operators on two gateway
processes edit the drop-in schedule, a worker process cancels what a change takes away.

Closing a date with three bookings (Swedish in the web chat, Arabic on Telegram, Somali by SMS)
shows three affected before approval; once another operator approves, the date is closed on
the other gateway within 5 s and each person gets exactly one notice in their language and
channel with a button to book again, also when the worker is killed (SIGKILL) in the middle.
Lowering a capacity cancels only the latest bookings beyond it; an invalid document is refused
with its line and field and changes nothing; a draft written before another change was published
is refused; a rollback opens the date again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from subprocess import Popen

import aiohttp
import pytest

from bot.core.booking.schedule import Schedule
from bot.core.booking.service import BookingService
from bot.core.booking.store import BookingStore
from bot.core.clock import system_clock
from bot.core.jobs import JobQueue
from bot.core.keys import CONTENT_DRAFTS, CONTENT_PUBLISHED, CONTENT_VERSION, Keys
from bot.core.places import Places
from scripts.stack import free_port, start_python, stop, wait_http
from tests.clock import FixedClock, real_clock_day
from tests.conftest import make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, TELEGRAM_TOKEN, Providers
from tests.integration.test_booking_processes import (
    FIXTURE_CONFIG,
    process_env,
    until_worker_runs,
)
from tests.job_queue import queue_idle
from tests.staff import Operator, operators_on
from tests.waiting import until

DROPIN = (FIXTURE_CONFIG / "dropin.yml").read_text(encoding="utf-8")
LOCATIONS = (FIXTURE_CONFIG / "locations.yml").read_text(encoding="utf-8")
CHAT_AR, PHONE_SO = 4101, "+46700004101"
NOTICES = {  # how each language's notice starts, and its button
    "sv": ("Tyvärr är din bokning {code} avbokad", "Boka en annan tid"),
    "ar": ("عذرًا، تم إلغاء حجزك {code}", "احجز موعدًا آخر"),
    "so": ("Waan ka xunnahay, waa laga noqday ballantaada {code}", "Qabso waqti kale"),
}
REBOOK = "/book:svc:jobbtorg-unga"


def closing(day: object) -> str:
    assert "exceptions: []" in DROPIN
    return DROPIN.replace("exceptions: []", f"exceptions:\n  - {{date: {day}, reason: Stängt}}")


def with_capacity(seats: int) -> str:
    assert DROPIN.count("    capacity: 3\n") == 1  # the unga-jarva session
    return DROPIN.replace("    capacity: 3\n", f"    capacity: {seats}\n")


# ------------------------------------------------------------------ processes and people
@dataclass
class Stack:
    gateways: list[str]
    env: dict[str, str]
    workers: list[Popen] = field(default_factory=list)

    def start_worker(self) -> Popen:
        worker = start_python(["bot", "worker"], self.env)
        self.workers.append(worker)
        return worker


@pytest.fixture
async def stack(prefix: str, providers: Providers) -> AsyncIterator[Stack]:
    """Two gateways and (when a test starts one) workers, all on the test schedule; the
    workers send through the fake Telegram and 46elks."""
    env = {**process_env(prefix), "LOTSEN_CONTENT_POLL_SECONDS": "1",
           "LOTSEN_JOB_LEASE_SECONDS": "3",
           "LOTSEN_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "LOTSEN_TELEGRAM_API_URL": providers.url,
           "LOTSEN_TELEGRAM_WEBHOOK_SECRET": "facts-test", "LOTSEN_PUBLIC_URL":
           "http://lotsen.test", "LOTSEN_ELKS_USERNAME": ELKS_USER,
           "LOTSEN_ELKS_PASSWORD": ELKS_PASSWORD, "LOTSEN_ELKS_API_URL": providers.url}
    ports = [free_port(), free_port()]
    gateways = [start_python(["bot", "serve"], {**env, "LOTSEN_PORT": str(port)})
                for port in ports]
    running = Stack([f"http://127.0.0.1:{port}" for port in ports], env)
    try:
        for port, process in zip(ports, gateways, strict=True):
            await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/healthz", 30,
                                    process, "gateway")
        yield running
    finally:
        for process in [*gateways, *running.workers]:
            stop(process)


@pytest.fixture
async def operators(stack: Stack, redis, prefix) -> AsyncIterator[tuple[Operator, Operator]]:
    """Anna on the first gateway, Bo on the second."""
    async with operators_on(redis, prefix, stack.gateways) as (anna, bo):
        yield anna, bo


def bookings_here(redis, prefix: str, clock=system_clock) -> BookingService:
    """The booking service as a gateway has it, in this process (for Telegram and SMS people,
    whose dialogue would need NLU or a provider's button ids; and for a clock that spaces
    bookings in time)."""
    keys = Keys(prefix)
    places = Places.load(FIXTURE_CONFIG / "locations.yml")
    schedule = Schedule.load(FIXTURE_CONFIG / "dropin.yml", places.ids)
    store = BookingStore(redis=redis, keys=keys,
                         retention_seconds=make_settings(prefix).retention_seconds)
    return BookingService(schedule, store, JobQueue(redis=redis, keys=keys, clock=clock),
                          clock=clock)


async def web_session(http: aiohttp.ClientSession, base: str, language: str) -> str:
    async with http.post(f"{base}/webchat/sessions", json={"language": language}) as resp:
        assert resp.status == 201
        return (await resp.json())["session"]


async def say(http: aiohttp.ClientSession, base: str, session: str, payload: str) -> dict:
    async with http.post(f"{base}/webchat/sessions/{session}/messages",
                         json={"payload": payload}) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["replies"][0]


async def web_log(http: aiohttp.ClientSession, base: str, session: str) -> list[dict]:
    async with http.get(f"{base}/webchat/sessions/{session}/messages") as resp:
        return (await resp.json())["messages"]


async def offered(http: aiohttp.ClientSession, base: str, slot: str) -> bool:
    """Whether a gateway offers the slot (its confirm question has the book button)."""
    session = await web_session(http, base, "en")
    reply = await say(http, base, session, f"/book:slot:{slot}")
    return any(b["payload"] == f"/book:ok:{slot}" for b in reply["buttons"])


@dataclass
class Three:
    """Three people booked on one date: Swedish web chat, Arabic Telegram, Somali SMS."""

    slot: str
    session: str
    codes: dict[str, str]  # language -> booking code


async def three_booked(http: aiohttp.ClientSession, base: str, redis, prefix: str) -> Three:
    day = real_clock_day(3)
    slot = f"unga-jarva:{day.isoformat()}T10:00"
    session = await web_session(http, base, "sv")
    confirmed = await say(http, base, session, f"/book:ok:{slot}")
    assert "bokningskod" in confirmed["text"], confirmed
    bookings = bookings_here(redis, prefix)
    codes = {"sv": (await bookings.store.for_user(f"webchat:{session}"))[0].code}
    for language, conversation in (("ar", f"telegram:{CHAT_AR}"), ("so", f"sms:{PHONE_SO}")):
        result = await bookings.book(conversation, slot, language)
        assert result.booking is not None, result.status
        codes[language] = result.booking.code
    return Three(slot, session, codes)


def notices(providers: Providers) -> tuple[list[dict], list[dict]]:
    return ([m for m in providers.telegram_sent if m["chat_id"] == CHAT_AR],
            [m for m in providers.elks_sent if m["to"] == PHONE_SO])


async def each_told(http, base: str, three: Three, providers: Providers) -> bool:
    telegram, sms = notices(providers)
    web = [m for m in await web_log(http, base, three.session)
           if m["text"].startswith("Tyvärr är din bokning")]
    return bool(web and telegram and sms)


async def assert_told_exactly_once(http, base: str, three: Three, providers: Providers,
                                   redis, prefix: str) -> None:
    # Every job has run to its end (the sweep too, a few seconds after the approval): a second
    # notice, had a job run twice, would have been sent by now.
    await until(lambda: queue_idle(redis, prefix, due_by=time.time() + 60), timeout=30,
                interval=0.2, what="the worker to finish every job")
    web = [m for m in await web_log(http, base, three.session)
           if m["text"].startswith("Tyvärr är din bokning")]
    telegram, sms = notices(providers)
    assert (len(web), len(telegram), len(sms)) == (1, 1, 1), (web, telegram, sms)
    start, button = NOTICES["sv"]
    assert web[0]["text"].startswith(start.format(code=three.codes["sv"]))
    assert web[0]["buttons"] == [{"title": button, "payload": REBOOK}]
    start, button = NOTICES["ar"]
    assert telegram[0]["text"].startswith(start.format(code=three.codes["ar"]))
    keyboard = telegram[0]["reply_markup"]["inline_keyboard"]
    assert [[key["text"] for key in row] for row in keyboard] == [[button]]
    start, button = NOTICES["so"]
    assert sms[0]["message"].startswith(start.format(code=three.codes["so"]))
    assert sms[0]["message"].endswith(f"\n1 {button}")
    store = bookings_here(redis, prefix).store
    for code in three.codes.values():
        assert (await store.get(code)).status == "cancelled"


async def close_the_date(anna: Operator, bo: Operator, three: Three) -> dict:
    """Anna proposes closing the date (3 affected, nothing changes yet), Bo approves."""
    day = three.slot.split(":", 1)[1][:10]
    status, body = await anna.post("/coach/api/content/facts/drafts",
                                   {"document": "dropin", "yaml": closing(day)})
    assert status == 201, body
    assert body["impact"]["bookings"] == 3
    assert sorted(s["code"] for s in body["impact"]["slots"]) == sorted(three.codes.values())
    assert {(s["slot"], s["reason"]) for s in body["impact"]["slots"]} == {
        (three.slot, "closed")}
    status, refused = await anna.post(f"/coach/api/content/drafts/{body['draft']}/approve", {})
    assert status == 403, refused
    status, approved = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve", {})
    assert status == 200 and approved["version"] == 1, approved
    assert approved["impact"]["bookings"] == 3
    return approved


# ------------------------------------------------------------------ tests
async def test_closing_a_date_cancels_three_bookings_and_tells_each_once_in_their_language(
        stack, operators, providers, redis, prefix) -> None:
    anna, bo = operators
    other = stack.gateways[1]
    await until_worker_runs(redis, prefix, stack.start_worker())
    async with aiohttp.ClientSession() as http:
        three = await three_booked(http, stack.gateways[0], redis, prefix)
        status, documents = await anna.get("/coach/api/content/facts")
        assert status == 200 and documents["documents"]["dropin"] == {"yaml": DROPIN,
                                                                      "version": 0}
        assert documents["documents"]["locations"]["yaml"] == LOCATIONS
        assert await offered(http, other, three.slot)

        await close_the_date(anna, bo, three)
        approved_at = time.monotonic()
        await until(lambda: _not_offered(http, other, three.slot), timeout=5, interval=0.2,
                    what="the closed date on the other gateway")
        assert time.monotonic() - approved_at < 5
        await until(lambda: each_told(http, stack.gateways[0], three, providers), timeout=20,
                    interval=0.2, what="a notice to each of the three")
        await assert_told_exactly_once(http, stack.gateways[0], three, providers, redis,
                                       prefix)
    status, documents = await bo.get("/coach/api/content/facts")
    assert documents["documents"]["dropin"]["version"] == 1
    status, audit = await bo.get("/coach/api/audit")
    actions = {(e["action"], e["target"].split(":")[0]) for e in audit["entries"]}
    assert {("content_edit", "facts"), ("content_publish", "facts")} <= actions
    assert not any(code in str(audit) for code in three.codes.values())  # ids, not bookings


async def _not_offered(http, base: str, slot: str) -> bool:
    return not await offered(http, base, slot)


async def test_a_worker_killed_in_the_middle_still_tells_each_exactly_once(
        stack, operators, providers, redis, prefix) -> None:
    anna, bo = operators
    async with aiohttp.ClientSession() as http:
        three = await three_booked(http, stack.gateways[0], redis, prefix)
        await close_the_date(anna, bo, three)
        # One job at a time, and each provider holds its answer: the kill lands while a
        # provider has a notice and the worker has not heard back (and before or after the
        # others).
        providers.delay = 3.0
        one_at_a_time = {**stack.env, "LOTSEN_WORKER_CONCURRENCY": "1"}
        first = start_python(["bot", "worker"], one_at_a_time)
        stack.workers.append(first)
        await until(lambda: providers.in_flight >= 1, timeout=30, interval=0.02,
                    what="a notice held by a provider")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        providers.delay = 0.0
        telegram, sms = notices(providers)
        assert len(telegram) + len(sms) == 1  # killed in the middle: one push notice so far

        await until_worker_runs(redis, prefix, stack.start_worker())
        await until(lambda: each_told(http, stack.gateways[0], three, providers), timeout=30,
                    interval=0.2, what="a notice to each of the three")
        await assert_told_exactly_once(http, stack.gateways[0], three, providers, redis,
                                       prefix)


async def test_lowering_capacity_cancels_only_the_latest_bookings_beyond_it(
        stack, operators, redis, prefix) -> None:
    anna, bo = operators
    base = stack.gateways[0]
    slot = f"unga-jarva:{real_clock_day(4).isoformat()}T11:00"
    clock = FixedClock(datetime.now(UTC))
    bookings = bookings_here(redis, prefix, clock)
    async with aiohttp.ClientSession() as http:
        sessions, codes = [], []
        for _ in range(3):  # a minute apart: the first made keeps its seat
            session = await web_session(http, base, "sv")
            result = await bookings.book(f"webchat:{session}", slot, "sv")
            assert result.booking is not None
            sessions.append(session)
            codes.append(result.booking.code)
            clock.now += timedelta(minutes=1)
        status, body = await anna.post("/coach/api/content/facts/impact",
                                       {"document": "dropin", "yaml": with_capacity(1)})
        assert status == 200 and body["impact"]["bookings"] == 2, body
        status, body = await anna.post("/coach/api/content/facts/drafts",
                                       {"document": "dropin", "yaml": with_capacity(1)})
        assert status == 201, body
        assert [(s["code"], s["reason"]) for s in body["impact"]["slots"]] == [
            (codes[1], "capacity"), (codes[2], "capacity")]
        # Shown one cancellation, the reviewer's approval would cancel two: refused, nothing
        # published; approved with the number as it is.
        status, refused = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve",
                                        {"expected_bookings": 1})
        assert status == 409 and refused["field"] == "expected_bookings", refused
        assert "cancels 2 bookings, not 1" in refused["error"]
        status, documents = await anna.get("/coach/api/content/facts")
        assert documents["documents"]["dropin"]["version"] == 0
        status, approved = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve",
                                         {"expected_bookings": 2})
        assert status == 200 and approved["impact"]["bookings"] == 2, approved
        await until_worker_runs(redis, prefix, stack.start_worker())

        async def told(session: str) -> list[dict]:
            return [m for m in await web_log(http, base, session)
                    if m["text"].startswith("Tyvärr är din bokning")]

        await until(lambda: _all(told, sessions[1:]), timeout=20, interval=0.2,
                    what="notices to the two latest")
        await until(lambda: queue_idle(redis, prefix, due_by=time.time() + 60), timeout=30,
                    interval=0.2, what="the worker to finish every job")
        assert [len(await told(s)) for s in sessions] == [0, 1, 1]
        store = bookings.store
        assert [(await store.get(c)).status for c in codes] == ["booked", "cancelled",
                                                                "cancelled"]


async def _all(check, items) -> bool:
    return all([await check(item) for item in items])


@pytest.mark.parametrize(("document", "text", "line", "named"), [
    ("dropin", with_capacity(0), 11, "'capacity' must be a whole number >= 1"),
    ("dropin", DROPIN.replace("location: jobbtorg-unga-globen", "location: atlantis"), 19,
     "unknown location 'atlantis'"),
    ("dropin", DROPIN.replace("    weekdays: [mon", "   weekdays: [mon", 1), 14,
     "not valid YAML"),
    ("locations", LOCATIONS.replace("address: Exempelgatan 1, Järva (sample)",
                                    "address: Exempelgatan 1\n    phone: ring oss"), 7,
     "`phone` must be a number"),
    ("locations", LOCATIONS.replace("id: jobbtorg-unga-globen", "id: unga-globen"), None,
     "unknown location 'jobbtorg-unga-globen'"),
])
async def test_an_invalid_document_is_refused_with_its_line_and_field_and_changes_nothing(
        operators, redis, prefix, document, text, line, named) -> None:
    anna, _ = operators
    for path in ("/coach/api/content/facts/drafts", "/coach/api/content/facts/impact"):
        status, body = await anna.post(path, {"document": document, "yaml": text})
        assert status == 400 and body["field"] == "yaml" and named in body["error"], body
        assert body.get("line") == line, body
    keys = Keys(prefix)
    assert not await redis.exists(keys(CONTENT_DRAFTS), keys(CONTENT_PUBLISHED),
                                  keys(CONTENT_VERSION))


async def test_a_rollback_opens_the_closed_date_again_on_every_gateway(
        stack, operators) -> None:
    anna, bo = operators
    other = stack.gateways[1]
    day = real_clock_day(5).isoformat()
    slot = f"syv-kista:{day}T09:00"
    async with aiohttp.ClientSession() as http:
        status, body = await anna.post("/coach/api/content/facts/drafts",
                                       {"document": "dropin", "yaml": closing(day)})
        assert status == 201 and body["impact"] == {"bookings": 0, "slots": []}, body
        status, other_draft = await bo.post("/coach/api/content/facts/drafts",
                                            {"document": "dropin", "yaml": with_capacity(2)})
        assert status == 201, other_draft
        status, _ = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve", {})
        assert status == 200
        await until(lambda: _not_offered(http, other, slot), timeout=5, interval=0.2,
                    what="the closed date on the other gateway")
        # Bo's draft was written from version 0: approving it now would reopen the date.
        status, refused = await anna.post(
            f"/coach/api/content/drafts/{other_draft['draft']}/approve", {})
        assert status == 409 and "version 0" in refused["error"], refused
        assert not await offered(http, other, slot)
        # An editor that opened version 0 cannot save a draft on top of version 1 either.
        status, refused = await bo.post("/coach/api/content/facts/drafts", {
            "document": "dropin", "yaml": with_capacity(3), "base_version": 0})
        assert status == 409 and refused["field"] == "base_version", refused

        status, body = await bo.post("/coach/api/content/rollback",
                                     {"id": "facts/dropin", "language": "facts", "version": 0})
        assert status == 200 and body["version"] == 2, body
        rolled_back_at = time.monotonic()
        await until(lambda: offered(http, other, slot), timeout=5, interval=0.2,
                    what="the date open again on the other gateway")
        assert time.monotonic() - rolled_back_at < 5
    status, body = await anna.get("/coach/api/content/versions?id=facts/dropin&language=facts")
    assert status == 200
    assert [(v["version"], v["kind"]) for v in body["versions"]] == [
        (2, "rollback"), (1, "edit"), (0, "shipped")]
    assert body["versions"][0]["text"] == DROPIN
    status, documents = await anna.get("/coach/api/content/facts")
    assert documents["documents"]["dropin"] == {"yaml": DROPIN, "version": 2}
    status, audit = await anna.get("/coach/api/audit")
    assert any(e["action"] == "content_rollback" and e["target"].startswith("facts:")
               for e in audit["entries"])
