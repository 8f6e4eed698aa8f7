"""The teams' opening hours and closed dates in the content workspace (issue 27): config/teams.yml
is the third facts document. Two operators on a real gateway process: one drafts a closed date
for a team, a bad draft is refused naming its line and field (and nothing is saved), the author
cannot approve, the other operator approves; another instance (its own services, watching like
every gateway and worker) then has the team closed that day, by the hours API, within the poll
time; `content export --document teams` gives the published file; a rollback opens the day
again there. In a real Chromium, the content page lists the third document, checks it (a
mistake's line; "no bookings affected") and saves it as a draft the pending list names.

The days are computed from the real clock (the gateway runs on it): the first day a week ahead
on which the team is open at 10:00.
"""

from __future__ import annotations

import asyncio
import time as monotonic
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from bot.core.handover.teams import Teams
from bot.core.hours.week import TIMEZONE, is_open, next_opening
from bot.core.keys import CONTENT_DRAFTS, CONTENT_PUBLISHED, CONTENT_VERSION, Keys
from bot.runtime.wiring import Services, build_services
from scripts.browser import axe_violations, chromium
from scripts.stack import free_port, start_python, stop, wait_http
from tests.clock import real_clock_day
from tests.conftest import make_settings
from tests.integration.test_booking_processes import FIXTURE_CONFIG, process_env
from tests.integration.test_content_exchange import cli
from tests.integration.test_content_facts_page import panel, set_yaml  # noqa: F401 (a fixture)
from tests.integration.test_content_page import active, base_url, log_in, text_of, wait
from tests.staff import Operator, operators_on
from tests.waiting import until

TEAMS = (FIXTURE_CONFIG / "teams.yml").read_text(encoding="utf-8")
TEAM = "jobbtorg-vallingby"  # the fixture's one team with hours
POLL_SECONDS = 1.0
WITHIN = 2 * POLL_SECONDS + 1  # pub/sub is at once; a missed message waits for the next poll


def at_ten(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=TIMEZONE)


def open_day(teams: Teams) -> date:
    """The first day a week or more ahead on which the team is open at 10:00 (a weekday that
    is no holiday and none of its closed dates)."""
    team = teams.teams[TEAM]
    return next(day for day in map(real_clock_day, range(7, 120)) if is_open(team, at_ten(day)))


def closing(day: date) -> str:
    """The fixture's teams.yml with `day` added to the team's own closed dates."""
    assert TEAMS.count("    closed_dates: [") == 1  # the team's
    return TEAMS.replace("    closed_dates: [", f"    closed_dates: [{day.isoformat()}, ")


def line_of(text: str, start: str) -> int:
    """The line (from 1) of the first line of `text` that starts with `start`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def without_team(team: str) -> str:
    start = TEAMS.index(f"  - id: {team}\n")
    return TEAMS[:start] + TEAMS[TEAMS.index("  - id:", start + 1):]


IMPOSSIBLE = f"{real_clock_day().year + 1}-02-30"  # no year has it: kept as text, named
BAD = f"    closed_dates: [{IMPOSSIBLE}, "             # by the field's check
BAD_DRAFTS = [
    (TEAMS.replace("    closed_dates: [", BAD), line_of(TEAMS, "    closed_dates:"),
     f"closed_dates: '{IMPOSSIBLE}' is not a date"),
    (TEAMS.replace('      tue: ["08:00-12:00", "13:00-16:30"]', '      tue: ["8-12"]'),
     line_of(TEAMS, "      tue:"), "hours.tue: '8-12' is not an interval"),
    (TEAMS.replace("default_team: jobbtorg-stockholm", "default_team: jobbtorg-narnia"),
     line_of(TEAMS, "default_team:"), "default_team 'jobbtorg-narnia' is not one of the teams"),
    (without_team("jobbtorg-farsta"), line_of(TEAMS, "teams:"),
     "the team ids must stay those of the shipped file (missing: jobbtorg-farsta)"),
    (TEAMS.replace("  - id: jobbtorg-farsta", " - id: jobbtorg-farsta"), None, "not valid YAML"),
]


# ------------------------------------------------------------------ processes and people
@pytest.fixture
async def gateway(prefix: str, redis: Redis) -> AsyncIterator[str]:
    """One gateway process on the test configuration (real clock, real Redis)."""
    port = free_port()
    env = {**process_env(prefix, port), "LOTSEN_CONTENT_POLL_SECONDS": str(POLL_SECONDS)}
    process = start_python(["bot", "serve"], env)
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/healthz", 30, process,
                                "gateway")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
async def operators(gateway: str, redis: Redis,
                    prefix: str) -> AsyncIterator[tuple[Operator, Operator]]:
    """Anna and Bo, each logged in with their own browser session."""
    async with operators_on(redis, prefix, [gateway, gateway]) as (anna, bo):
        yield anna, bo


@pytest.fixture
async def other(prefix: str, redis: Redis) -> AsyncIterator[Services]:
    """Another instance: its own services on the same configuration and Redis, watching the
    published content as every gateway and worker does (bot/core/workspace/live.py)."""
    services = await build_services(make_settings(prefix, config_dir=FIXTURE_CONFIG,
                                                  content_poll_seconds=POLL_SECONDS))
    stopping = asyncio.Event()
    watching = asyncio.create_task(services.live_content.run(stopping))
    try:
        yield services
    finally:
        stopping.set()
        await watching
        await services.close()


def closed_there(services: Services, day: date) -> bool:
    return not is_open(services.teams.teams[TEAM], at_ten(day))


# ------------------------------------------------------------------ tests
async def test_an_operator_closes_a_day_for_a_team_and_every_instance_has_it_closed(
        operators: tuple[Operator, Operator], other: Services, redis: Redis, prefix: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    anna, bo = operators
    teams = other.teams  # the object the handover flow, the coach API, the worker hold
    day = open_day(teams)
    shipped_team = teams.teams[TEAM]
    status, documents = await anna.get("/coach/api/content/facts")
    assert status == 200 and documents["documents"]["teams"] == {"yaml": TEAMS, "version": 0}

    status, body = await anna.post("/coach/api/content/facts/drafts",
                                   {"document": "teams", "yaml": closing(day)})
    assert status == 201 and body["impact"] == {"bookings": 0, "slots": []}, body
    assert is_open(teams.teams[TEAM], at_ten(day))  # a draft changes nothing
    status, refused = await anna.post(f"/coach/api/content/drafts/{body['draft']}/approve", {})
    assert status == 403, refused
    status, approved = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve",
                                     {"expected_bookings": 0})
    assert status == 200 and approved["version"] == 1, approved
    approved_at = monotonic.monotonic()

    await until(lambda: closed_there(other, day), timeout=WITHIN, interval=0.05,
                what=f"{TEAM} closed on the closed date in the other instance")
    assert monotonic.monotonic() - approved_at < WITHIN
    assert other.teams is teams and other.accounts.teams is teams  # swapped in place
    team = teams.teams[TEAM]
    assert team.hours is not None and team.hours.closed_on(day)
    # It next opens when it would have after that day, and the day before is as it was.
    assert next_opening(team, at_ten(day)) == next_opening(
        shipped_team, datetime.combine(day + timedelta(days=1), time(0), tzinfo=TIMEZONE))
    assert team.hours.intervals_on(day - timedelta(days=1)) == \
        shipped_team.hours.intervals_on(day - timedelta(days=1))  # type: ignore[union-attr]
    assert await cli(other, capsys, "export", "--document", "teams") == closing(day)

    status, rolled_back = await bo.post("/coach/api/content/rollback",
                                        {"id": "facts/teams", "language": "facts",
                                         "version": 0})
    assert status == 200 and rolled_back["version"] == 2, rolled_back
    rolled_back_at = monotonic.monotonic()
    await until(lambda: not closed_there(other, day), timeout=WITHIN, interval=0.05,
                what=f"{TEAM} open again on that day in the other instance")
    assert monotonic.monotonic() - rolled_back_at < WITHIN
    assert teams.teams[TEAM].hours == shipped_team.hours

    status, versions = await anna.get("/coach/api/content/versions?id=facts/teams"
                                      "&language=facts")
    assert status == 200
    assert [(v["version"], v["kind"]) for v in versions["versions"]] == [
        (2, "rollback"), (1, "edit"), (0, "shipped")]
    assert versions["versions"][1]["text"] == closing(day)
    status, audit = await anna.get("/coach/api/audit")
    assert {("content_edit", "facts:facts/teams"), ("content_rollback", "facts:facts/teams")} <= {
        (e["action"], ":".join(e["target"].split(":")[:2])) for e in audit["entries"]}


@pytest.mark.parametrize(("text", "line", "named"), BAD_DRAFTS)
async def test_a_bad_teams_draft_is_refused_naming_its_line_and_field(
        operators: tuple[Operator, Operator], redis: Redis, prefix: str, text: str,
        line: int | None, named: str) -> None:
    anna, _ = operators
    for path in ("/coach/api/content/facts/drafts", "/coach/api/content/facts/impact"):
        status, body = await anna.post(path, {"document": "teams", "yaml": text})
        assert status == 400 and body["field"] == "yaml" and named in body["error"], body
        if line is not None:
            assert body.get("line") == line, body
            assert body["error"].startswith(f"teams.yml:{line}: "), body
        else:
            assert isinstance(body.get("line"), int), body  # YAML's own mistake: its line
    keys = Keys(prefix)
    assert not await redis.exists(keys(CONTENT_DRAFTS), keys(CONTENT_PUBLISHED),
                                  keys(CONTENT_VERSION))


# ------------------------------------------------------------------ the content page
def draft_on_the_page(base: str, bad: str, good: str) -> dict[str, Any]:
    """Olga opens "Team och öppettider", sees a mistake named by its line, then a change that
    affects no booking, and saves it."""
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#content-body tr"))
        select = Select(driver.find_element(By.ID, "facts-document"))
        seen["documents"] = [(o.get_attribute("value"), o.text) for o in select.options]
        select.select_by_value("teams")
        driver.find_element(By.ID, "facts-open").click()
        wait(driver).until(lambda d: active(d)["id"] == "facts-editor-title")
        wait(driver).until(lambda d: d.find_element(By.ID, "facts-yaml").get_attribute("value"))
        seen["title"] = text_of(driver, "facts-editor-title")
        seen["yaml"] = driver.find_element(By.ID, "facts-yaml").get_attribute("value")
        seen["label"] = driver.find_element(By.ID, "facts-yaml").accessible_name
        set_yaml(driver, bad)
        wait(driver).until(lambda d: text_of(d, "facts-error").startswith("Rad "))
        seen["mistake"] = text_of(driver, "facts-error")
        seen["axe_mistake"] = axe_violations(driver)
        set_yaml(driver, good)
        wait(driver).until(lambda d: text_of(d, "facts-impact").startswith("Inga fel."))
        seen["impact"] = text_of(driver, "facts-impact")
        driver.find_element(By.ID, "facts-save").click()
        wait(driver).until(lambda d: "är sparat" in text_of(d, "facts-live"))
        seen["live"] = text_of(driver, "facts-live")
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".facts-draft h3"))
        wait(driver).until(lambda d: "Inga bokningar" in d.find_element(
            By.CSS_SELECTOR, ".facts-draft").text)
        seen["draft"] = driver.find_element(By.CSS_SELECTOR, ".facts-draft").text
        seen["axe_saved"] = axe_violations(driver)
    return seen


async def test_the_content_page_edits_the_teams_as_a_third_document(
        panel: TestClient) -> None:  # noqa: F811
    day = open_day(Teams.load(FIXTURE_CONFIG / "teams.yml"))
    bad_line = line_of(TEAMS, "      tue:")
    bad = TEAMS.replace('      tue: ["08:00-12:00", "13:00-16:30"]', '      tue: ["8-12"]')
    seen = await asyncio.to_thread(draft_on_the_page, base_url(panel), bad, closing(day))
    assert seen["documents"] == [("dropin", "Drop-in-schema"), ("locations", "Platser"),
                                 ("teams", "Team och öppettider")]
    assert seen["title"] == "Redigera Team och öppettider"
    assert seen["label"] == "Team och öppettider (YAML)"
    assert seen["yaml"] == TEAMS
    assert seen["mistake"].startswith(f"Rad {bad_line}: teams[6] (jobbtorg-vallingby): "
                                      "hours.tue: '8-12' is not an interval"), seen["mistake"]
    assert seen["impact"] == "Inga fel.Inga bokningar påverkas.", seen["impact"]
    assert "Det påverkar inga bokningar." in seen["live"], seen["live"]
    assert seen["draft"].startswith("Team och öppettider (fakta och schema)"), seen["draft"]
    changed = line_of(TEAMS, "    closed_dates:")  # what the reviewer sees changed
    assert f"Ny rad {changed}:\n    closed_dates: [{day.isoformat()}, " in seen["draft"], \
        seen["draft"]
    assert "Inga bokningar påverkas." in seen["draft"]
    assert seen["axe_mistake"] == [] and seen["axe_saved"] == []
