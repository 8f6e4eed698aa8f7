"""Notices end to end through the gateway on an injected clock, with real Redis, the worker and
fake Telegram and 46elks servers (buttons and menu numbers only, so no NLU is needed): an
operator posts a notice for Järva in Swedish and Arabic; the web chat's route gives it in the
chosen language (Swedish where there is no text); a Telegram and an SMS conversation get it
once, with their next reply, and not with the one after; after its end time it is gone from
everywhere. A coach is refused, a request without its CSRF token too, a mistake is a 400
naming its field, and posting and taking down are audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from tests import journeys
from tests.clock import FixedClock
from tests.job_queue import queue_idle
from tests.waiting import until

PASSWORD = "correct horse battery"
JARVA = ["jobbtorg-unga-jarva", "jobbtorg-vuxna-jarva"]
TEXT_SV = "Jobbtorg Järva är stängt i dag. Välkommen tillbaka i morgon!"
TEXT_AR = "جوبتورغ يارفا مغلق اليوم. مرحبًا بك غدًا!"
CHAT, LATE_CHAT, PHONE = 7001, 7002, "+46701112233"
Client = TestClient[Any, Any]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # 12:00 in Stockholm


@pytest.fixture
def settings(prefix, providers, redis):
    # Provider throughput is not under test: generous limits keep the fixed clock still.
    return journeys.journey_settings(prefix, providers, telegram_chat_rate_per_second=100.0,
                                     sms_rate_per_second=100.0)


@pytest.fixture
async def gateway(aiohttp_client, settings, clock) -> Client:
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    accounts = client.server.app[SERVICES].accounts
    await accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    await accounts.add("sara", PASSWORD, JARVA[:1], name="Sara")
    return client


class Staff:
    """One staff member's browser: their own cookies and CSRF token."""

    def __init__(self, http: Client, csrf: str) -> None:
        self.http, self.headers = http, {"X-CSRF-Token": csrf}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   csrf: bool = True) -> tuple[int, dict[str, Any]]:
        response = await self.http.request(method, path, json=body,
                                           headers=self.headers if csrf else {})
        return response.status, await response.json()


async def log_in(gateway: Client, aiohttp_client, username: str) -> Staff:
    http: Client = await aiohttp_client(gateway.server)
    response = await http.post("/coach/api/login", json={"username": username,
                                                         "password": PASSWORD})
    assert response.status == 200, await response.text()
    return Staff(http, (await response.json())["csrf_token"])


def notice_body(clock: FixedClock, hours: float = 3, **changes: Any) -> dict[str, Any]:
    return {"texts": {"sv": TEXT_SV, "ar": TEXT_AR}, "teams": JARVA,
            "ends_at": (clock() + timedelta(hours=hours)).isoformat(), **changes}


async def webchat_notices(gateway: Client, language: str) -> list[dict[str, Any]]:
    response = await gateway.get("/webchat/notices", params={"language": language})
    assert response.status == 200, await response.text()
    notices: list[dict[str, Any]] = (await response.json())["notices"]
    return notices


def telegram_texts(providers) -> list[str]:
    return [str(m["text"]) for m in providers.telegram_sent]


def sms_texts(providers) -> list[str]:
    return [m["message"] for m in providers.elks_sent]


async def sent(providers, settings, redis, clock, telegram: int,
               sms: int = 0) -> tuple[list[str], list[str]]:
    """Run the worker until it has sent `telegram` and `sms` messages and nothing is due, and
    return them: (Telegram texts, SMS bodies). A send the rate limit put off (two messages to
    one chat in a moment) is due a moment later by the injected clock: the clock is moved on
    by a second while nothing is due and something is still missing."""
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2, clock=clock))

    async def arrived() -> bool:
        if len(providers.telegram_sent) >= telegram and len(providers.elks_sent) >= sms:
            return await queue_idle(redis, settings.key_prefix, clock.timestamp())
        if await queue_idle(redis, settings.key_prefix, clock.timestamp()):
            clock.now += timedelta(seconds=1)
        return False

    try:
        await until(arrived, timeout=30, interval=0.2,
                    what=f"{telegram} Telegram and {sms} SMS messages sent")
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    found = telegram_texts(providers), sms_texts(providers)
    providers.telegram_sent.clear()
    providers.elks_sent.clear()
    assert (len(found[0]), len(found[1])) == (telegram, sms), found
    return found


async def sms_menu_number(gateway: Client, payload: str | None = None) -> str:
    """The number of `payload` (or of the first entry) in the SMS conversation's last menu."""
    menu = (await gateway.server.app[SERVICES].engine.store.load(f"sms:{PHONE}")).menu
    assert menu, "the SMS conversation has no menu"
    return str(menu.index(payload) + 1 if payload else 1)


async def test_a_notice_for_jarva_reaches_every_channel_once_and_ends_by_itself(
        gateway, aiohttp_client, providers, settings, redis, clock) -> None:
    # Two conversations under way before the notice: Telegram in Arabic, SMS in Swedish.
    await journeys.telegram(gateway, "/start", chat=CHAT, language="ar")
    await journeys.sms(gateway, "hej", number=PHONE)  # no NLU here: the numbered topic menu
    await sent(providers, settings, redis, clock, telegram=1, sms=1)

    olga = await log_in(gateway, aiohttp_client, "olga")
    status, created = await olga.call("POST", "/coach/api/notices", notice_body(clock))
    assert status == 201, created
    notice = created["id"]
    status, listed = await olga.call("GET", "/coach/api/notices")
    assert status == 200 and [n["id"] for n in listed["notices"]] == [notice]
    assert listed["notices"][0]["texts"] == {"sv": TEXT_SV, "ar": TEXT_AR}
    assert [t["id"] for t in listed["notices"][0]["teams"]] == JARVA

    # The web chat's page asks for it in the chosen language; Somali has no text: Swedish.
    [arabic] = await webchat_notices(gateway, "ar")
    assert (arabic["id"], arabic["text"], arabic["language"], arabic["direction"]) == \
        (notice, TEXT_AR, "ar", "rtl")
    [swedish] = await webchat_notices(gateway, "sv")
    assert (swedish["text"], swedish["language"]) == (TEXT_SV, "sv")
    [somali] = await webchat_notices(gateway, "so")
    assert (somali["text"], somali["language"]) == (TEXT_SV, "sv")
    assert (await gateway.get("/webchat/notices", params={"language": "xx"})).status == 400

    # The next reply on Telegram and on SMS carries it, once, in the conversation's language.
    await journeys.telegram(gateway, chat=CHAT, button="/info_sfi", language="ar")
    await journeys.sms(gateway, await sms_menu_number(gateway, "/info_sfi_parents"),
                       number=PHONE)
    telegram, sms = await sent(providers, settings, redis, clock, telegram=2, sms=2)
    assert len([t for t in telegram if TEXT_AR in t]) == 1  # and the answer
    assert not any(TEXT_SV in t for t in telegram)
    assert len([s for s in sms if TEXT_SV in s]) == 1
    state = await gateway.server.app[SERVICES].engine.store.load(f"telegram:{CHAT}")
    assert state.notices_shown == [notice]

    # Not with the reply after.
    await journeys.telegram(gateway, chat=CHAT, button="/info_vuxenutbildning", language="ar")
    await journeys.sms(gateway, await sms_menu_number(gateway), number=PHONE)
    telegram, sms = await sent(providers, settings, redis, clock, telegram=1, sms=1)
    assert not any(TEXT_AR in t or TEXT_SV in t for t in telegram + sms)

    # At its end time (the injected clock moved on) it is gone everywhere.
    clock.now += timedelta(hours=3)
    assert await webchat_notices(gateway, "ar") == []
    assert (await olga.call("GET", "/coach/api/notices"))[1]["notices"] == []
    await journeys.telegram(gateway, "/start", chat=LATE_CHAT, language="ar")
    telegram, _ = await sent(providers, settings, redis, clock, telegram=1)
    assert not any(TEXT_AR in t for t in telegram)
    assert (await olga.call("DELETE", f"/coach/api/notices/{notice}"))[0] == 404


async def test_only_operators_post_mistakes_name_their_field_and_changes_are_audited(
        gateway, aiohttp_client, clock) -> None:
    sara = await log_in(gateway, aiohttp_client, "sara")  # a coach
    olga = await log_in(gateway, aiohttp_client, "olga")  # an operator
    assert (await gateway.get("/coach/api/notices")).status == 401
    assert (await sara.call("GET", "/coach/api/notices"))[0] == 403
    assert (await sara.call("POST", "/coach/api/notices", notice_body(clock)))[0] == 403
    assert (await olga.call("POST", "/coach/api/notices", notice_body(clock),
                            csrf=False))[0] == 403
    assert await webchat_notices(gateway, "sv") == []  # nothing was posted

    status, refused = await olga.call("POST", "/coach/api/notices",
                                      notice_body(clock, texts={"ar": TEXT_AR}))
    assert (status, refused["field"]) == (400, "texts.sv")
    status, refused = await olga.call("POST", "/coach/api/notices",
                                      notice_body(clock, hours=-1))
    assert (status, refused["field"]) == (400, "ends_at")
    status, refused = await olga.call("POST", "/coach/api/notices",
                                      notice_body(clock, teams=["mars"]))
    assert (status, refused["field"]) == (400, "teams")

    status, created = await olga.call("POST", "/coach/api/notices", notice_body(clock))
    assert status == 201
    notice = created["id"]
    assert (await sara.call("DELETE", f"/coach/api/notices/{notice}"))[0] == 403
    assert [n["id"] for n in await webchat_notices(gateway, "sv")] == [notice]
    status, deleted = await olga.call("DELETE", f"/coach/api/notices/{notice}")
    assert (status, deleted) == (200, {"deleted": notice})
    assert await webchat_notices(gateway, "sv") == []
    assert (await olga.call("DELETE", f"/coach/api/notices/{notice}"))[0] == 404

    status, audit = await olga.call("GET", "/coach/api/audit")
    assert status == 200
    entries = {(e["action"], e["target"], e["coach"]) for e in audit["entries"]}
    assert {("notice_post", notice, "olga"), ("notice_delete", notice, "olga")} <= entries
    assert not any(e["action"].startswith("notice") and e["coach"] == "sara"
                   for e in audit["entries"])
