"""The daily statistics' store and query (bot/core/stats/): returning conversations through the
keyed hash, time to claim, filters, ranges, the CSV's small counts and the three-year expiry."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core import batch
from bot.core.hashing import KeyedHash
from bot.core.keys import Keys
from bot.core.stats.counters import Cell, satisfaction
from bot.core.stats.export import csv_text, shown
from bot.core.stats.query import Filters, StatsQuery, StatsRangeError, empty_counts, parse_range
from bot.core.stats.recorder import STATS_DAY, StatsRecorder, day_of
from tests.clock import FixedClock

# 23:30 UTC on 31 December is already 1 January in Stockholm: the city's day counts.
NEW_YEAR = FixedClock(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))


def recorder(redis, prefix: str, clock: FixedClock) -> StatsRecorder:
    keys = Keys(prefix)
    return StatsRecorder(redis=redis, keys=keys, clock=clock,
                         hasher=KeyedHash(redis=redis, keys=keys, secret="s3cret"))


def test_the_day_is_stockholms() -> None:
    assert day_of(NEW_YEAR()) == date(2027, 1, 1) == NEW_YEAR.day()


async def test_a_conversation_is_new_then_returning_on_a_later_day_even_without_its_state(
        redis, prefix) -> None:
    clock = FixedClock(NEW_YEAR.now)
    stats = recorder(redis, prefix, clock)
    web = Cell("webchat", "sv")
    await batch.run(redis, await stats.visit("webchat:abc", web, None))
    clock.now += timedelta(days=40)  # the conversation's state has expired by now
    await batch.run(redis, await stats.visit("webchat:abc", web, None))
    await batch.run(redis, await stats.visit("webchat:other", web, None))
    query = StatsQuery(redis=redis, keys=Keys(prefix))
    first = await query.load(NEW_YEAR.day(), NEW_YEAR.day())
    later = await query.load(clock.day(), clock.day())
    assert (first["totals"]["new_conversations"], first["totals"]["returning_conversations"]) \
        == (1, 0)
    assert (later["totals"]["new_conversations"], later["totals"]["returning_conversations"]) \
        == (1, 1)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:stats:seen:*")]
    assert len(keys) == 2 and not any("abc" in key or "webchat" in key for key in keys)
    await stats.erase("webchat:abc")
    assert len([key async for key in redis.scan_iter(match=f"{prefix}:stats:seen:*")]) == 1


async def test_totals_rows_filters_and_time_to_claim(redis, prefix) -> None:
    stats = recorder(redis, prefix, NEW_YEAR)
    sv_web = Cell("webchat", "sv", "info_sfi", "Rinkeby")
    ar_sms = Cell("sms", "ar", "info_komvux", "Tensta")
    await stats.add_many([("messages", sv_web)] * 7 + [("messages", ar_sms)] * 3
                         + [("answered", sv_web)] * 6 + [(satisfaction(4), sv_web)] * 2
                         + [(satisfaction(1), ar_sms)])
    for seconds, kept in ((60, True), (120, True), (600, True), (7200, False)):
        await stats.claimed(sv_web, seconds, kept)
    await stats.claimed(ar_sms, 30, True)
    query = StatsQuery(redis=redis, keys=Keys(prefix))
    day = NEW_YEAR.day()
    everything = await query.load(day, day)
    assert everything["totals"]["messages"] == 10
    assert everything["totals"]["handovers_claimed"] == 5
    assert everything["totals"]["satisfaction"] == {"1": 1, "2": 0, "3": 0, "4": 2, "5": 0}
    assert everything["key_figures"]["satisfaction_mean"] == 3.0
    assert everything["time_to_claim"] == {"claims": 5, "median_seconds": 120.0,
                                           "p90_seconds": 7200.0, "within_sla": 4}
    assert [(r["channel"], r["language"], r["messages"]) for r in everything["days"]] == [
        ("sms", "ar", 3), ("webchat", "sv", 7)]
    rinkeby = await query.load(day, day, Filters(district="Rinkeby"))
    assert rinkeby["totals"]["messages"] == 7 and rinkeby["time_to_claim"]["claims"] == 4
    sms = await query.load(day, day, Filters(channel="sms", language="ar"))
    assert sms["totals"]["answered"] == 0 and sms["time_to_claim"]["median_seconds"] == 30.0
    assert [t["topic"] for t in everything["topics"]] == ["info_sfi", "info_komvux"]


async def test_counters_are_kept_three_years_and_hold_no_text(redis, prefix) -> None:
    stats = recorder(redis, prefix, NEW_YEAR)
    await stats.add("messages", Cell("telegram", "so"))
    key = Keys(prefix)(STATS_DAY, day=NEW_YEAR.day().isoformat())
    ttl = await redis.ttl(key)
    assert 3 * 365 * 86400 < ttl <= (3 * 365 + 2) * 86400
    assert await redis.hgetall(key) == {"messages|telegram|so||": "1"}
    with pytest.raises(ValueError, match="unknown statistics counter"):
        await stats.add("messages_by_person", Cell("telegram", "so"))


def test_ranges_are_checked_with_the_parameter_named() -> None:
    today = NEW_YEAR.day()
    assert parse_range(None, None, today) == (today - timedelta(days=29), today)
    for first, last, named in (("2026-13-01", None, '"from"'), (None, "yesterday", '"to"'),
                               ("2027-01-02", "2027-01-01", "after"),
                               ("2020-01-01", "2026-12-31", "at most")):
        with pytest.raises(StatsRangeError, match=named):
            parse_range(first, last, today)


def test_the_csv_shows_counts_under_five_as_less_than_five() -> None:
    row = {"day": "2027-01-01", "channel": "sms", "language": "sv",
           **{name: 0 for name in ("conversations", "new_conversations")},
           "satisfaction": {s: 0 for s in "12345"}}
    row = {**empty_counts(), **row, "messages": 12, "answered": 4, "not_understood": 5}
    table = list(csv.reader(io.StringIO(csv_text({"days": [row]}))))
    values = dict(zip(table[0], table[1], strict=True))
    assert (values["messages"], values["answered"], values["not_understood"],
            values["conversations"]) == ("12", "<5", "5", "<5")
    assert [shown(n) for n in (0, 4, 5)] == ["<5", "<5", "5"]
