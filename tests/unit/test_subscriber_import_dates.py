"""Issue 23: `consented_at` written as a plain date (what a spreadsheet gives) is 00:00 that day in
Stockholm, and `subscribers import` exits non-zero when a line was bad (the summary printed, the
good lines imported). Every date is computed from the injected clock; real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.core.outreach import importer
from bot.core.outreach.subscriptions import SUBSCRIPTION_DAYS, TOPICS
from bot.runtime import admin, outreach_cli
from bot.runtime.wiring import Services, build_services
from tests.clock import STOCKHOLM, FixedClock
from tests.conftest import make_settings
from tests.fakes import TELEGRAM_TOKEN

CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # fixed clock, winter time
HEADER = "channel,address,language,topics,districts,consent_source,consented_at"


@pytest.fixture
async def services(prefix: str, redis: Redis) -> AsyncIterator[Services]:
    built = await build_services(make_settings(prefix, telegram_token=TELEGRAM_TOKEN), CLOCK)
    yield built
    await built.close()


def parse(services: Services, *lines: str) -> importer.Parsed:
    return importer.parse("\n".join([HEADER, *lines]) + "\n",
                          channels=importer.import_channels(services.reaches),
                          languages=services.languages.enabled,
                          districts=services.static.districts, now=CLOCK.timestamp())


def midnight_in_stockholm(day: date) -> float:
    return datetime.combine(day, time(0), tzinfo=STOCKHOLM).timestamp()


def summer_day() -> date:
    """A day in the Stockholm summer (UTC+2) within the last 12 months of the clock."""
    day = CLOCK.day(-150)
    assert day.month in (6, 7), day  # the fixed clock keeps this a summer day
    return day


async def test_a_plain_date_is_the_start_of_that_day_in_stockholm(services: Services) -> None:
    winter, summer = CLOCK.day(-10), summer_day()
    assert winter.month == 11, winter  # after the clocks went back (late October)
    parsed = parse(services, f"telegram,101,sv,dropin,,sheet,{winter.isoformat()}",
                   f"telegram,102,sv,dropin,,sheet,{summer.isoformat()}",
                   f"telegram,103,sv,dropin,,sheet,{CLOCK.day().isoformat()}")
    assert parsed.problems == []
    at = [line.subscription.consent.at for line in parsed.lines]
    assert at == [midnight_in_stockholm(winter), midnight_in_stockholm(summer),
                  midnight_in_stockholm(CLOCK.day())]
    # Stockholm's own offset that day, not UTC's midnight: 23:00 UTC the evening before in
    # winter, 22:00 in summer.
    before = datetime.combine(winter - timedelta(days=1), time(23), tzinfo=UTC)
    assert datetime.fromtimestamp(at[0], UTC) == before
    assert datetime.fromtimestamp(at[1], UTC) == datetime.combine(
        summer - timedelta(days=1), time(22), tzinfo=UTC)
    first = parsed.lines[0].subscription
    assert first.expires_at == at[0] + SUBSCRIPTION_DAYS * 86400


async def test_bad_plain_dates_are_named_with_their_line(services: Services) -> None:
    parsed = parse(services,
                   f"telegram,201,sv,dropin,,sheet,{CLOCK.day(1).isoformat()}",      # 2
                   f"telegram,202,sv,dropin,,sheet,{CLOCK.day(-400).isoformat()}",   # 3
                   f"telegram,203,sv,dropin,,sheet,{CLOCK.day().year}-02-30",       # 4
                   "telegram,204,sv,dropin,,sheet,1/10/2026",                       # 5
                   f"telegram,205,sv,dropin,,sheet,{CLOCK.day(-2).isoformat()}T09:30")  # 6
    reasons = {p.number: p.reason for p in parsed.problems}
    assert sorted(reasons) == [2, 3, 4, 5, 6]
    assert "in the future" in reasons[2]
    assert "expired" in reasons[3]
    for number in (4, 5):
        assert "consented_at" in reasons[number]
        assert "not an ISO 8601 time or date" in reasons[number]
    assert "no UTC offset" in reasons[6] and "plain date" in reasons[6]
    assert parsed.lines == []


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


async def test_the_command_exits_non_zero_after_importing_the_good_lines(
        services: Services, tmp_path: Path) -> None:
    path = write(tmp_path, f"telegram,301,sv,dropin,,sheet,{CLOCK.day(-10).isoformat()}",
                 f"telegram,302,sv,cooking,,sheet,{CLOCK.day(-10).isoformat()}",
                 f"telegram,303,ar,komvux,,sheet,{CLOCK.day(-3).isoformat()}")
    said: list[str] = []
    args = admin.parser().parse_args(["subscribers", "import", str(path)])
    with pytest.raises(SystemExit) as exited:
        await outreach_cli.run(services, args, said.append)
    assert exited.value.code == "error: 1 bad line(s) not imported (named above)"  # status 1
    assert said == ["line 3: unknown topic 'cooking' (known: "
                    f"{', '.join(TOPICS)})",
                    "imported 2 line(s) (2 saved, 0 already up to date); skipped 1 bad line(s) "
                    "and 0 on purpose"]
    now = CLOCK.timestamp()
    assert await services.subscriptions.get("telegram:301", now) is not None
    assert await services.subscriptions.get("telegram:302", now) is None
    assert await services.subscriptions.get("telegram:303", now) is not None


async def test_every_line_bad_exits_non_zero_and_a_clean_file_exits_zero(
        services: Services, tmp_path: Path) -> None:
    path = write(tmp_path, "telegram,401,sv,dropin,,sheet,yesterday",
                 f"telegram,402,sv,dropin,,sheet,{CLOCK.day().year}-02-30")
    said: list[str] = []
    with pytest.raises(SystemExit) as exited:
        await outreach_cli.run(services, admin.parser().parse_args(
            ["subscribers", "import", str(path)]), said.append)
    assert exited.value.code == "error: 2 bad line(s) not imported (named above)"
    assert said[-1].startswith("imported 0 line(s)")

    path = write(tmp_path, f"telegram,403,sv,dropin,,sheet,{CLOCK.day(-1).isoformat()}")
    said.clear()
    await outreach_cli.run(services, admin.parser().parse_args(
        ["subscribers", "import", str(path)]), said.append)  # no SystemExit: status 0
    assert said == ["imported 1 line(s) (1 saved, 0 already up to date); skipped 0 bad "
                    "line(s) and 0 on purpose"]
