"""The booking flow through the dialogue engine with real Redis and an injected clock (buttons
and payloads only, so no NLU is involved). Every date comes from the clock: the suite passes on
any day, also under `faketime`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.core.booking.service import reminder_job_id
from bot.core.delivery import Deliveries
from bot.core.messages import IncomingMessage, Reply
from bot.runtime.wiring import build_services
from bot.runtime.worker import job_handlers
from tests.clock import FixedClock
from tests.conftest import make_settings

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"
# A fixed clock: Monday 23 November 2026, 12:00 in Stockholm; every date below is relative to it.
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
# The night Sweden goes back to winter time is five days after this clock (Sunday 25 October).
DST_CLOCK = FixedClock(datetime(2026, 10, 20, 10, 0, tzinfo=UTC))


async def build(prefix: str, clock: FixedClock):
    return await build_services(make_settings(prefix, config_dir=FIXTURE_CONFIG), clock=clock)


@pytest.fixture
async def services(prefix: str, redis: Redis):
    services = await build(prefix, CLOCK)
    yield services
    await services.close()


async def say(services, payload: str, user: str = "u1", language: str = "sv"):
    return await services.engine.handle(IncomingMessage("test", user, payload=payload,
                                                        language_hint=language))


def payloads(outcome) -> list[str]:
    return [b.payload for b in outcome.replies[-1].buttons]


async def test_full_booking_by_buttons_then_list_and_cancel(services) -> None:
    step = await say(services, "/book_dropin")
    assert "/book:svc:jobbtorg-unga" in payloads(step)
    step = await say(services, "/book:svc:jobbtorg-unga")
    assert payloads(step)[:2] == ["/book:loc:jobbtorg-unga-jarva", "/book:loc:jobbtorg-unga-globen"]
    step = await say(services, "/book:loc:jobbtorg-unga-jarva")
    assert payloads(step)[0] == f"/book:day:{CLOCK.day(0).isoformat()}"
    assert "måndag 23 november" in next(b.title for b in step.replies[0].buttons)
    step = await say(services, f"/book:day:{CLOCK.day(1).isoformat()}")
    first_slot = CLOCK.slot("unga-jarva", 1, "08:00")
    assert payloads(step)[0] == f"/book:slot:{first_slot}"
    assert step.replies[0].buttons[0].title == "08:00"
    step = await say(services, f"/book:slot:{first_slot}")
    assert "tisdag 24 november 08:00" in step.replies[0].text
    done = await say(services, payloads(step)[0])
    text = done.replies[0].text
    assert "tisdag 24 november 08:00" in text and "Jobbtorg unga Järva" in text
    bookings = await services.bookings.active("test:u1")
    assert len(bookings) == 1 and bookings[0].code in text
    code = bookings[0].code

    listed = await say(services, "/list_bookings")
    assert code in listed.replies[0].text and f"/book:cancel:{code}" in payloads(listed)
    cancelled = await say(services, f"/book:cancel:{code}")
    assert code in cancelled.replies[0].text
    assert await services.bookings.active("test:u1") == []
    assert await services.bookings.store.seats_taken([first_slot]) == [0]
    again = await say(services, f"/book:cancel:{code}")
    assert again.replies[0].text == services.engine.content.text("booking_cancel_not_found", "sv")


async def test_double_click_books_once(services) -> None:
    slot = CLOCK.slot("unga-jarva", 1, "09:00")
    first = await say(services, f"/book:ok:{slot}")
    second = await say(services, f"/book:ok:{slot}")
    bookings = await services.bookings.active("test:u1")
    assert len(bookings) == 1
    assert bookings[0].code in first.replies[0].text and bookings[0].code in second.replies[0].text
    assert await services.bookings.store.seats_taken([slot]) == [1]


async def test_overlapping_booking_is_refused(services) -> None:
    await say(services, f"/book:ok:{CLOCK.slot('unga-jarva', 1, '10:00')}")
    clash = await say(services, f"/book:ok:{CLOCK.slot('syv-kista', 1, '10:00')}")
    assert len(await services.bookings.active("test:u1")) == 1
    assert "/list_bookings" in payloads(clash)


async def test_full_slot_is_refused_with_alternatives(services) -> None:
    slot = CLOCK.slot("unga-globen", 1, "10:00")  # capacity 1
    await say(services, f"/book:ok:{slot}", user="first")
    refused = await say(services, f"/book:ok:{slot}", user="second")
    assert await services.bookings.active("test:second") == []
    alternatives = [p for p in payloads(refused) if p.startswith("/book:slot:")]
    assert alternatives and f"/book:slot:{slot}" not in alternatives
    picked = await say(services, alternatives[0], user="second")
    assert payloads(picked)[0].startswith("/book:ok:")


async def test_past_or_unscheduled_slots_cannot_be_booked(services) -> None:
    horizon = services.bookings.schedule.horizon_days
    for slot in (CLOCK.slot("unga-jarva", 0, "08:00"),            # earlier today
                 CLOCK.slot("unga-jarva", 1, "07:00"),            # outside the time window
                 CLOCK.slot("unga-jarva", horizon + 1, "10:00"),  # beyond the horizon
                 CLOCK.slot("nosuch", 1, "10:00"), "garbage"):
        outcome = await say(services, f"/book:ok:{slot}")
        assert outcome.replies[0].text == services.engine.content.text("booking_gone", "sv")
    assert await services.bookings.active("test:u1") == []


async def test_booking_on_dst_sunday_shows_local_time(prefix, redis) -> None:
    services = await build(prefix, DST_CLOCK)
    try:
        await _book_on_dst_sunday(services)
    finally:
        await services.close()


async def _book_on_dst_sunday(services) -> None:
    done = await say(services, f"/book:ok:{DST_CLOCK.slot('unga-jarva', 5, '10:00')}")
    booking = (await services.bookings.active("test:u1"))[0]
    assert datetime.fromtimestamp(booking.start, UTC).hour == 9  # 10:00 CET = 09:00 UTC
    assert "söndag 25 oktober 10:00" in done.replies[0].text
    assert "Sunday 25 October 10:00" in services.booking_texts.when_booking(booking, "en")
    saturday = await say(services, f"/book:ok:{DST_CLOCK.slot('unga-jarva', 4, '10:00')}",
                         user="u2")
    assert "lördag 24 oktober 10:00" in saturday.replies[0].text


async def test_delete_my_data_cancels_bookings_and_frees_seats(services) -> None:
    slot = CLOCK.slot("unga-jarva", 2, "10:00")
    await say(services, f"/book:ok:{slot}")
    await say(services, "/delete_my_data")
    await say(services, "/erase:yes")
    assert await services.bookings.active("test:u1") == []
    assert await services.bookings.store.seats_taken([slot]) == [0]
    assert await services.bookings.jobs.pending() == 0


async def test_reminder_is_sent_once_in_the_users_language_and_not_after_cancel(services,
                                                                               redis) -> None:
    await say(services, f"/book:ok:{CLOCK.slot('unga-jarva', 3, '10:00')}", user="ar1",
              language="ar")
    booking = (await services.bookings.active("test:ar1"))[0]
    assert booking.language == "ar"
    sent: list[tuple[str, list[Reply]]] = []

    async def record(user: str, replies) -> None:
        sent.append((user, list(replies)))

    deliveries = Deliveries()
    deliveries.register("test", record)
    handlers = job_handlers(deliveries, services.bookings, services.booking_texts)
    queue = services.bookings.jobs
    # Make the reminder due now, run it twice (as two workers or a restart would): one message.
    due_now = CLOCK.timestamp() - 1
    await redis.zadd(queue.keys.due, {reminder_job_id(booking.code): due_now})
    assert await queue.run_due(handlers) == 1
    await queue.schedule("booking_reminder", {"code": booking.code}, due=due_now)
    await queue.run_due(handlers)
    assert len(sent) == 1 and sent[0][0] == "ar1"
    assert booking.code in sent[0][1][0].text and "الخميس" in sent[0][1][0].text

    await say(services, f"/book:ok:{CLOCK.slot('unga-jarva', 4, '10:00')}", user="ar2",
              language="ar")
    other = (await services.bookings.active("test:ar2"))[0]
    await say(services, f"/book:cancel:{other.code}", user="ar2", language="ar")
    await queue.schedule("booking_reminder", {"code": other.code}, due=due_now)
    await queue.run_due(handlers)
    assert len(sent) == 1


async def test_the_location_in_the_persons_district_comes_first(services) -> None:
    from bot.core.store import ConversationState
    from bot.core.turn import Intent, Turn

    state = ConversationState()
    turn = Turn(IncomingMessage("test", "d1", text="boka"), state, "sv")
    booking = services.engine.flow("booking")
    await booking.on_intent(turn, Intent("book_dropin", district="Bagarmossen"))
    replies = await booking.on_payload(turn, "/book:svc:jobbtorg-unga")
    assert next(b.payload for b in replies[0].buttons) == "/book:loc:jobbtorg-unga-globen"
    assert "Jobbtorg unga Globen" in replies[0].text and "Bagarmossen" in replies[0].text
