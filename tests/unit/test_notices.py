"""Notices the city posts (bot/core/notices), with real Redis and an injected clock: a request is
checked field by field and a mistake names its field; a notice ends at its end time as the
injected clock counts it (its key's expiry is a duration from that clock); it is shown in the
person's language or else in Swedish; it is meant for the districts of its teams; and through
the dialogue engine it is sent once per conversation, before the next answer, on a channel
without a page of its own, never on the web chat's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.config import ROOT
from bot.core.handover.teams import Teams
from bot.core.i18n import LanguageTable
from bot.core.keys import Keys
from bot.core.messages import Capabilities, IncomingMessage
from bot.core.notices.board import NOTICE, NOTICES, NoticeBoard
from bot.core.notices.flow import NoticeFlow, known_district, notice_board
from bot.core.notices.model import (
    MAX_ACTIVE,
    MAX_TEXT_CHARS,
    Draft,
    NoticeError,
    read_notice,
)
from bot.core.store import ConversationState
from bot.core.turn import Turn
from bot.runtime.wiring import build_services
from tests.clock import STOCKHOLM, FixedClock
from tests.conftest import make_settings

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"
TEAMS = Teams.load(FIXTURE_CONFIG / "teams.yml")
LANGUAGES = LanguageTable.load(ROOT / "bot" / "content" / "languages.yml")
JARVA = ("jobbtorg-unga-jarva", "jobbtorg-vuxna-jarva")
TEXT_SV = "Jobbtorg Järva är stängt i dag. Välkommen tillbaka i morgon!"
TEXT_AR = "جوبتورغ يارفا مغلق اليوم. مرحبًا بك غدًا!"
SMS_LIKE = Capabilities(buttons=False, max_reply_chars=480, short_replies=True)
PAGE = Capabilities(buttons=True, notices_in_page=True)  # the web chat's: its page shows them


def fixed_clock() -> FixedClock:
    """Monday 23 November 2026, 12:00 in Stockholm (any day would do; tests move it)."""
    return FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))


@pytest.fixture
def clock() -> FixedClock:
    return fixed_clock()


def read(body: dict[str, Any], clock: FixedClock) -> Draft:
    return read_notice(body, languages=LANGUAGES.enabled, required="sv", teams=TEAMS,
                       districts=TEAMS.districts(), now=clock.timestamp())


def in_hours(clock: FixedClock, hours: float) -> str:
    return (clock() + timedelta(hours=hours)).isoformat()


# ---------------------------------------------------------------------- checking a request
def good(clock: FixedClock, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"texts": {"sv": TEXT_SV, "ar": TEXT_AR}, "teams": list(JARVA),
                            "ends_at": in_hours(clock, 5)}
    body.update(changes)
    return body


@pytest.mark.parametrize(("changes", "field"), [
    ({"texts": {"ar": TEXT_AR}}, "texts.sv"),                 # Swedish is required
    ({"texts": {"sv": TEXT_SV, "xx": "?"}}, "texts.xx"),      # not an enabled language
    ({"texts": {"sv": TEXT_SV, "ar": "   "}}, "texts.ar"),    # empty
    ({"texts": {"sv": "a" * (MAX_TEXT_CHARS + 1)}}, "texts.sv"),  # too long
    ({"texts": {"sv": 5}}, "texts.sv"),
    ({"texts": []}, "texts"),
    ({"texts": {}}, "texts"),
    ({"teams": ["jobbtorg-mars"]}, "teams"),
    ({"teams": "jobbtorg-unga-jarva"}, "teams"),              # not a list
    ({"districts": ["Atlantis"]}, "districts"),
    ({"ends_at": None}, "ends_at"),
    ({"ends_at": "next tuesday"}, "ends_at"),
    ({"ends_at": "2026-11-23T11:00:00+00:00"}, "ends_at"),    # now: not in the future
    ({"ends_at": "2026-11-22T12:00:00+01:00"}, "ends_at"),    # the past
    ({"ends_at": "2027-02-22T12:00:00+01:00"}, "ends_at"),    # over 90 days ahead
    ({"colour": "red"}, "colour"),                            # an unknown field
])
def test_a_mistake_names_its_field(clock: FixedClock, changes: dict[str, Any],
                                   field: str) -> None:
    with pytest.raises(NoticeError) as caught:
        read(good(clock, **changes), clock)
    assert caught.value.field == field, caught.value.message
    assert caught.value.status == 400 and caught.value.message


def test_a_good_request_is_read_with_stockholm_time_and_known_spellings(clock) -> None:
    draft = read(good(clock, districts=["rinkeby", "Rinkeby"], ends_at="2026-11-23T18:30",
                      texts={"sv": f"  {TEXT_SV} ", "ar": TEXT_AR}), clock)
    assert draft.texts == {"sv": TEXT_SV, "ar": TEXT_AR}  # trimmed
    assert draft.teams == JARVA and draft.districts == ("Rinkeby",)
    # No UTC offset: Stockholm time (18:30 in November is 17:30 UTC).
    assert draft.ends_at == datetime(2026, 11, 23, 18, 30, tzinfo=STOCKHOLM).timestamp()
    assert read(good(clock, teams=None), clock).teams == ()  # no team: everyone


# ---------------------------------------------------------------------- the board
@pytest.fixture
def board(redis: Redis, prefix: str, clock: FixedClock) -> NoticeBoard:
    return NoticeBoard(redis=redis, keys=Keys(prefix), clock=clock, teams=TEAMS, fallback="sv")


async def test_a_notice_ends_at_its_end_time_by_the_injected_clock(
        board: NoticeBoard, clock: FixedClock, redis: Redis, prefix: str) -> None:
    notice = await board.post(read(good(clock, ends_at=in_hours(clock, 2)), clock), "olga")
    keys = Keys(prefix)
    # The key expires after a duration counted from the injected clock (2 hours), whatever
    # Redis's own date is (the clock is in 2026).
    assert 7190 <= await redis.ttl(keys(NOTICE, id=notice.id)) <= 7200
    assert await redis.ttl(keys(NOTICES)) > 90 * 24 * 3600
    assert [n.id for n in await board.active(clock.timestamp(), "sv")] == [notice.id]

    clock.now += timedelta(hours=2) - timedelta(seconds=1)
    assert [n.id for n in await board.active(clock.timestamp(), "sv")] == [notice.id]
    clock.now += timedelta(seconds=1)  # its end time: gone, though Redis still holds the key
    assert await redis.exists(keys(NOTICE, id=notice.id))
    assert await board.active(clock.timestamp(), "sv") == []
    assert await board.current(clock.timestamp(), cached=False) == []
    assert await board.delete(notice.id) is None  # nothing live to take down


async def test_every_key_the_board_writes_is_declared(board: NoticeBoard, clock: FixedClock,
                                                      redis: Redis, prefix: str) -> None:
    await board.post(read(good(clock), clock), "olga")
    keys = Keys(prefix)
    written = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    assert sorted(keys.match(key) is not None for key in written) == [True, True]
    assert {keys.match(key) for key in written} == {NOTICE, NOTICES}


async def test_shown_in_the_persons_language_or_else_in_swedish(board, clock) -> None:
    await board.post(read(good(clock), clock), "olga")
    now = clock.timestamp()
    [arabic] = await board.active(now, "ar")
    assert (arabic.text, arabic.language) == (TEXT_AR, "ar")
    [somali] = await board.active(now, "so")  # no Somali text: the Swedish one, said so
    assert (somali.text, somali.language) == (TEXT_SV, "sv")


async def test_a_notice_is_for_the_districts_of_its_teams(board, clock) -> None:
    await board.post(read(good(clock), clock), "olga")  # the two Järva teams
    now = clock.timestamp()
    assert len(await board.active(now, "sv", "Rinkeby")) == 1
    assert len(await board.active(now, "sv", "tensta")) == 1  # any spelling
    assert await board.active(now, "sv", "Farsta") == []
    assert len(await board.active(now, "sv")) == 1  # not known: may well be in Järva

    default = await board.post(read(good(clock, teams=["jobbtorg-stockholm"]), clock), "olga")
    # The default team takes every district no other team names.
    assert [n.id for n in await board.active(now, "sv", "Södermalm")
            if n.id == default.id] == [default.id]
    assert [n.id for n in await board.active(now, "sv", "Rinkeby")
            if n.id == default.id] == []
    by_district = await board.post(read(good(clock, teams=[], districts=["Farsta"]), clock),
                                   "olga")
    assert [n.id for n in await board.active(now, "sv", "Farsta")] == [by_district.id]


async def test_at_most_so_many_notices_at_once(board, clock) -> None:
    for _ in range(MAX_ACTIVE):
        await board.post(read(good(clock), clock), "olga")
    with pytest.raises(NoticeError) as caught:
        await board.post(read(good(clock), clock), "olga")
    assert caught.value.status == 409


# ---------------------------------------------------------------------- through the engine
@pytest.fixture
async def services(prefix: str, redis: Redis, clock: FixedClock):
    services = await build_services(make_settings(prefix, config_dir=FIXTURE_CONFIG),
                                    clock=clock)
    yield services
    await services.close()


async def press(services, payload: str, user: str = "u1",
                capabilities: Capabilities = SMS_LIKE, language: str = "sv"):
    return await services.engine.handle(IncomingMessage(
        "test", user, payload=payload, language_hint=language, capabilities=capabilities))


async def test_sent_once_per_conversation_before_the_next_answer(services, clock) -> None:
    board = notice_board(services.engine.flows)
    assert board is not None
    content = services.content
    await press(services, "/greet")  # the conversation existed before the notice
    notice = await board.post(read(good(clock), clock), "olga")

    first = await press(services, "/info_sfi")
    answer = content.reply("info_sfi", "sv", short=True)
    assert len(first.replies) == 2
    assert first.replies[0].text.endswith(TEXT_SV) and first.replies[0].text != TEXT_SV
    assert first.replies[0].buttons == ()
    assert first.replies[1].text == answer.text  # the answer follows, unchanged
    state = await services.engine.store.load("test:u1")
    assert state.notices_shown == [notice.id]
    # The menu is still the answer's: a typed number picks from it.
    assert state.menu == [b.payload for b in first.replies[-1].buttons]

    second = await press(services, "/info_vuxenutbildning")
    assert [r.text for r in second.replies] == \
        [content.reply("info_vuxenutbildning", "sv", short=True).text]

    # In Arabic for an Arabic conversation; the web chat's page shows it, so none there.
    arabic = await press(services, "/info_sfi", user="u2", language="ar")
    assert arabic.replies[0].text.endswith(TEXT_AR)
    web = await press(services, "/info_sfi", user="u3", capabilities=PAGE)
    assert all(TEXT_SV not in r.text for r in web.replies)
    assert (await services.engine.store.load("test:u3")).notices_shown == []

    # A later notice is sent once too; after the end times, the ids are let go.
    later = await board.post(read(good(clock, texts={"sv": "Nytt: drop-in i Kista."}), clock),
                             "olga")
    third = await press(services, "/info_sfi")
    assert third.replies[0].text.endswith("Nytt: drop-in i Kista.")
    assert (await services.engine.store.load("test:u1")).notices_shown == [notice.id, later.id]
    clock.now += timedelta(hours=6)
    after = await press(services, "/info_sfi")
    assert len(after.replies) == 1
    assert (await services.engine.store.load("test:u1")).notices_shown == []


async def test_a_known_district_outside_the_notice_gets_none(services, clock) -> None:
    board = notice_board(services.engine.flows)
    assert board is not None
    await board.post(read(good(clock), clock), "olga")  # Järva
    flow = next(f for f in services.engine.flows if isinstance(f, NoticeFlow))

    def turn(district: str | None) -> Turn:
        state = ConversationState(flow="handover", flow_data={"district": district})
        return Turn(IncomingMessage("test", "d", capabilities=SMS_LIKE), state, "sv")

    assert known_district(turn("other")) is None
    farsta = turn("Farsta")
    assert len(await flow.follow_up(farsta, None, [])) == 0
    assert farsta.state.notices_shown == []
    rinkeby = turn("Rinkeby")
    assert len(await flow.follow_up(rinkeby, None, [])) == 1
    assert len(rinkeby.state.notices_shown) == 1


async def test_a_copy_of_ones_data_names_the_live_notices_one_was_shown(redis, prefix,
                                                                         clock) -> None:
    from bot.core.access.data import CITY_NOTICES
    from bot.core.notices.shown import shown_export
    from bot.core.store import ConversationStore

    keys = Keys(prefix)
    board = NoticeBoard(redis=redis, keys=keys, clock=clock, teams=TEAMS, fallback="sv")
    store = ConversationStore(redis=redis, keys=keys, clock=clock, retention_seconds=86400)
    later = clock.timestamp() + 3600
    shown = await board.post(Draft({"sv": TEXT_SV, "ar": TEXT_AR}, JARVA, (), later), "anna")
    other = await board.post(Draft({"sv": "Något annat"}, (), (), later), "anna")
    assert (await shown_export(store, board, "telegram:1")).items == []
    await store.save("telegram:1", ConversationState(language="ar", notices_shown=[shown.id]))
    section = await shown_export(store, board, "telegram:1")
    assert section.group == CITY_NOTICES and section.items == [{"text": TEXT_AR}]
    assert section.kept_until is not None and section.kept_until > clock.timestamp()
    assert other.id not in str(section.items) and shown.id not in str(section.items)
    clock.now += timedelta(hours=2)  # the notice has ended: nothing of it is left to name
    assert (await shown_export(store, board, "telegram:1")).items == []
