"""A scripted day through the web chat, Telegram and SMS (issue 26): 60 conversations in four
languages with known numbers of answers, specific answers, not understood, handovers (claimed
and closed by a coach, then the satisfaction question answered), bookings (two cancelled) and
attendance marked by staff. `GET /coach/api/stats` must give exactly those numbers, the CSV
the same with every count under 5 shown as "<5", and no key the statistics wrote may hold a
conversation id, an address, a name or any text a person wrote."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta

import pytest

from bot.core.stats.counters import COUNTERS, SCORES
from bot.core.stats.export import COLUMNS
from bot.runtime.gateway import SERVICES, create_app
from tests import journeys
from tests.conftest import Conversation
from tests.journeys import CLOCK, PASSWORD

LANGUAGES = ("sv", "en", "ar", "so")
WEB, TELEGRAM, SMS = 30, 18, 12
BOOKERS = range(0, 10)        # web conversations that book a drop-in
CANCELLERS = range(0, 2)      # ... and cancel it
ATTENDED, NO_SHOW = range(2, 7), range(7, 9)
HANDOVERS = range(10, 14)     # web conversations handed to a coach
SCORES_GIVEN = (5, 4, 4, 2)   # their satisfaction answers, in order
SPECIFIC = range(14, 17)      # web conversations that press a specific answer
OUT_OF_SCOPE_WEB, OUT_OF_SCOPE_TELEGRAM = range(17, 21), range(0, 4)
NAMES = ("Amina", "Bashir", "Cecilia", "Dawit")
SMS_QUESTION = "vad är sfi"


@pytest.fixture
async def day(aiohttp_client, rasa_server, prefix, redis, providers):
    settings = journeys.journey_settings(prefix, providers, rasa_url=rasa_server.url,
                                         rasa_token=rasa_server.token)
    return await aiohttp_client(create_app(settings, clock=CLOCK))


class Tally:
    """What the script sent, per channel and language: the numbers the statistics must give."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, counter: str, channel: str, language: str, n: int = 1) -> None:
        self.counts[(counter, channel, language)] += n

    def total(self, counter: str) -> int:
        return sum(n for (name, _, _), n in self.counts.items() if name == counter)


async def web_conversation(client, i: int, tally: Tally) -> Conversation:
    language = LANGUAGES[i % len(LANGUAGES)]
    talk = await Conversation.start(client, language=language)

    async def send(**body: str) -> dict:
        tally.add("messages", "webchat", language)
        return await talk.send(**body)

    tally.add("conversations", "webchat", language)
    tally.add("new_conversations", "webchat", language)
    await send(payload="/info_sfi")
    tally.add("answered", "webchat", language)
    if i in SPECIFIC:
        await send(payload="/info_sfi/where")
        tally.add("answered", "webchat", language)
        tally.add("specific_answers", "webchat", language)
    if i in OUT_OF_SCOPE_WEB:
        await send(payload="/out_of_scope")
        tally.add("not_understood", "webchat", language)
    if i in BOOKERS:
        slot = CLOCK.slot("unga-jarva", 1 + i // 3, f"{10 + i % 3}:00")
        await send(payload=f"/book:ok:{slot}")
        tally.add("bookings_made", "webchat", language)
        services = client.server.app[SERVICES]
        [booking] = await services.bookings.active(f"webchat:{talk.session}")
        code = booking.code
        if i in CANCELLERS:
            await send(payload=f"/book:cancel:{code}")
            tally.add("bookings_cancelled", "webchat", language)
    if i in HANDOVERS:
        for step in ("/request_coach", "/handover:yes"):
            await send(payload=step)
        await send(text=NAMES[i - HANDOVERS.start])
        for step in ("/handover:contact:chat", "/handover:district:Rinkeby",
                     "/handover:age:20-29"):
            await send(payload=step)
        tally.add("handovers_requested", "webchat", language)
        tally.add("handovers_consented", "webchat", language)
    return talk


async def test_a_scripted_day_gives_exactly_its_numbers_and_keeps_nothing_personal(
        day, aiohttp_client, redis, prefix) -> None:
    client = day
    services = client.server.app[SERVICES]
    tally = Tally()
    talks = [await web_conversation(client, i, tally) for i in range(WEB)]

    for i in range(TELEGRAM):
        language = LANGUAGES[i % len(LANGUAGES)]
        chat = 7_000_000 + i
        await journeys.telegram(client, chat=chat, button="/info_sfi", language=language)
        tally.add("conversations", "telegram", language)
        tally.add("new_conversations", "telegram", language)
        tally.add("messages", "telegram", language)
        tally.add("answered", "telegram", language)
        if i in OUT_OF_SCOPE_TELEGRAM:
            await journeys.telegram(client, chat=chat, button="/out_of_scope",
                                    language=language)
            tally.add("messages", "telegram", language)
            tally.add("not_understood", "telegram", language)
    for i in range(SMS):
        await journeys.sms(client, SMS_QUESTION, number=f"+4670555{i:04d}")
        for counter in ("conversations", "new_conversations", "messages", "answered"):
            tally.add(counter, "sms", "sv")

    # Staff: attendance for eight of the bookings, a coach claims and closes each lead.
    bookings = {b.conversation: b for offset in range(1, 5)
                for b in await services.bookings.store.for_day(
                    "jobbtorg-unga-jarva", CLOCK.day(offset).isoformat())}
    coach, coach_csrf = await journeys.coach_logs_in(client, aiohttp_client)
    operator = await staff(client, aiohttp_client)
    for i in (*ATTENDED, *NO_SHOW):
        booking = bookings[f"webchat:{talks[i].session}"]
        status = "attended" if i in ATTENDED else "no_show"
        resp = await coach.post(f"/coach/api/bookings/{booking.code}/attendance",
                                json={"status": status}, headers=coach_csrf)
        assert resp.status == 200, await resp.text()
        tally.add(status, "webchat", LANGUAGES[i % len(LANGUAGES)])
    leads = (await (await coach.get("/coach/api/leads")).json())["leads"]
    assert len(leads) == len(HANDOVERS)
    for lead in leads:
        assert (await coach.post(f"/coach/api/leads/{lead['id']}/claim",
                                 headers=coach_csrf)).status == 200
        closed = await coach.post(f"/coach/api/leads/{lead['id']}/close",
                                  json={"outcome": "contacted"}, headers=coach_csrf)
        assert closed.status == 200, await closed.text()
    for i, score in zip(HANDOVERS, SCORES_GIVEN, strict=True):
        language = LANGUAGES[i % len(LANGUAGES)]
        for counter in ("handovers_claimed", "handovers_closed"):
            tally.add(counter, "webchat", language)
        asked = [m for m in await talks[i].messages() if m.get("buttons")][-1]
        assert len(asked["buttons"]) == 5, asked  # the satisfaction question, five answers
        await talks[i].send(payload=asked["buttons"][score - 1]["payload"])
        tally.add("messages", "webchat", language)

    first, last = CLOCK.day(0), CLOCK.day(0) + timedelta(days=5)
    query = f"from={first}&to={last}"
    resp = await operator.get(f"/coach/api/stats?{query}")
    assert resp.status == 200, await resp.text()
    stats = await resp.json()
    totals = stats["totals"]
    expected = {name: tally.total(name) for name in COUNTERS}
    assert expected["conversations"] == 60
    assert {name: totals[name] for name in COUNTERS} == expected
    assert totals["satisfaction"] == {s: SCORES_GIVEN.count(int(s)) for s in SCORES}
    assert stats["time_to_claim"]["claims"] == len(HANDOVERS)
    # Per day, channel and language: each row has the script's numbers.
    rows = {(r["day"], r["channel"], r["language"]): r for r in stats["days"]}
    for (counter, channel, language), n in tally.counts.items():
        row_days = [key for key in rows if key[1:] == (channel, language)]
        assert sum(rows[key][counter] for key in row_days) == n, (counter, channel, language)
    # Bookings count on the day they were made, attendance on the booking's own day.
    today = CLOCK.day(0).isoformat()
    assert sum(r["bookings_made"] for k, r in rows.items() if k[0] == today) == 10
    assert sum(r["attended"] for k, r in rows.items() if k[0] == today) == 0

    # The CSV: the same rows, every count under 5 as "<5".
    resp = await operator.get(f"/coach/api/stats.csv?{query}")
    assert resp.status == 200 and resp.content_type == "text/csv"
    table = list(csv.reader(io.StringIO(await resp.text())))
    assert tuple(table[0]) == COLUMNS
    assert len(table) - 1 == len(stats["days"])
    small = 0
    for line in table[1:]:
        row = rows[(line[0], line[1], line[2])]
        exact = [*(row[name] for name in COUNTERS), *(row["satisfaction"][s] for s in SCORES)]
        for shown, value in zip(line[3:], exact, strict=True):
            assert shown == ("<5" if value < 5 else str(value))
            small += value < 5
    assert small > 0 and any(int(c) >= 5 for line in table[1:] for c in line[3:]
                             if c != "<5")

    # Nothing personal in what the statistics wrote.
    personal = [talk.session for talk in talks] + list(NAMES) + [
        "7000000", "+4670555", "46705550", SMS_QUESTION, "webchat:", "telegram:", "sms:"]
    stats_keys = [key async for key in redis.scan_iter(match=f"{prefix}:stats:*")]
    assert any(":stats:day:" in key for key in stats_keys)
    dumped = await journeys.dump(redis, f"{prefix}:stats")
    for key, content in dumped.items():
        for value in personal:
            assert value not in key and value not in content, (key, value)


async def staff(client, aiohttp_client):
    """An operator's browser (statistics are for operators)."""
    services = client.server.app[SERVICES]
    await services.accounts.add("olle", PASSWORD, [], name="Olle", role="operator")
    browser = await aiohttp_client(client.server)
    resp = await browser.post("/coach/api/login", json={"username": "olle",
                                                        "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    return browser
