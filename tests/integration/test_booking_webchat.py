"""Booking through the web chat routes with the real Rasa model and real Redis: in Swedish and
in Arabic (right to left), free text that narrows the day, list, cancel, full slots, staff view."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.runtime.gateway import SERVICES, create_app
from tests.clock import STOCKHOLM, FixedClock
from tests.conftest import Conversation, make_settings

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"
# The gateway runs on this clock (a Monday, 12:00 in Stockholm); every date below comes from it.
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))


@pytest.fixture
async def chat(aiohttp_client, rasa_server, prefix, redis):
    settings = make_settings(prefix, rasa_server, config_dir=FIXTURE_CONFIG)
    return await aiohttp_client(create_app(settings, clock=CLOCK))


def buttons(data: dict) -> list[dict]:
    return data["replies"][-1]["buttons"]


def payload_starting(data: dict, prefix: str) -> str:
    return next(b["payload"] for b in buttons(data) if b["payload"].startswith(prefix))


async def book_through_buttons(talk: Conversation, opening: str) -> dict:
    data = await talk.send(opening)
    data = await talk.send(payload=payload_starting(data, "/book:svc:jobbtorg-unga"))
    data = await talk.send(payload=payload_starting(data, "/book:loc:"))
    data = await talk.send(payload=payload_starting(data, "/book:day:"))
    data = await talk.send(payload=payload_starting(data, "/book:slot:"))
    return await talk.send(payload=payload_starting(data, "/book:ok:"))


async def test_full_booking_in_swedish_then_list_and_cancel(chat) -> None:
    talk = await Conversation.start(chat)
    done = await book_through_buttons(talk, "jag vill boka en tid på drop-in")
    assert done["language"] == "sv"
    services = chat.server.app[SERVICES]
    booking = (await services.bookings.active(f"webchat:{talk.session}"))[0]
    confirmation = done["replies"][0]["text"]
    assert booking.code in confirmation and "bokningskod" in confirmation

    listed = await talk.send("har jag någon bokad tid")
    assert booking.code in listed["replies"][0]["text"]
    cancel = await talk.send("jag vill avboka min tid")
    cancel_payload = payload_starting(cancel, "/book:cancel:")
    assert cancel_payload == f"/book:cancel:{booking.code}"
    cancelled = await talk.send(payload=cancel_payload)
    assert "avbokad" in cancelled["replies"][0]["text"].lower()
    assert await services.bookings.active(f"webchat:{talk.session}") == []
    metrics = await (await chat.get("/metrics")).text()
    assert 'lotsen_bookings_total{result="booked"}' in metrics
    assert 'lotsen_bookings_total{result="cancelled"}' in metrics


async def test_full_booking_in_arabic(chat) -> None:
    talk = await Conversation.start(chat)
    done = await book_through_buttons(talk, "أريد حجز موعد في الدروب إن")
    assert done["language"] == "ar" and done["direction"] == "rtl"
    services = chat.server.app[SERVICES]
    booking = (await services.bookings.active(f"webchat:{talk.session}"))[0]
    text = done["replies"][0]["text"]
    assert booking.code in text
    weekday = services.booking_texts.day(datetime.fromtimestamp(booking.start, STOCKHOLM).date(),
                                         "ar").split()[0]
    assert weekday in text  # the Arabic weekday name, formatted by babel
    assert booking.language == "ar"


async def test_free_text_narrows_to_tomorrow_morning_and_cancel_word_leaves(chat) -> None:
    talk = await Conversation.start(chat)
    data = await talk.send("boka drop-in")
    data = await talk.send(payload="/book:svc:jobbtorg-unga")
    data = await talk.send(payload=payload_starting(data, "/book:loc:"))
    narrowed = await talk.send("imorgon förmiddag")
    tomorrow = CLOCK.day(1).isoformat()
    slots = [b["payload"] for b in buttons(narrowed) if b["payload"].startswith("/book:slot:")]
    assert slots and all(f":{tomorrow}T" in p for p in slots)
    assert all(int(p.rsplit("T", 1)[1][:2]) < 12 for p in slots)
    left = await talk.send("avbryt")
    assert "bokningen" in left["replies"][0]["text"].lower()


async def test_full_slot_is_refused_with_alternatives_over_http(chat) -> None:
    first, second = await Conversation.start(chat), await Conversation.start(chat)
    slot = CLOCK.slot("unga-globen", 2, "10:00")  # capacity 1 in the test schedule
    await first.send(payload=f"/book:ok:{slot}")
    refused = await second.send(payload=f"/book:ok:{slot}")
    alternatives = [b for b in buttons(refused) if b["payload"].startswith("/book:slot:")]
    assert alternatives and all(slot not in b["payload"] for b in alternatives)


async def test_staff_view_and_csv_need_the_token(chat) -> None:
    talk = await Conversation.start(chat, language="so")
    day = CLOCK.day(3).isoformat()
    await talk.send(payload=f"/book:ok:unga-jarva:{day}T13:00")
    url = f"/staff/api/bookings?location=jobbtorg-unga-jarva&date={day}"
    assert (await chat.get(url)).status == 401
    auth = {"Authorization": "Bearer test-admin"}
    data = await (await chat.get(url, headers=auth)).json()
    assert [(b["time"], b["language"], b["status"]) for b in data["bookings"]] == [
        ("13:00", "so", "booked")]
    resp = await chat.get(url.replace("bookings?", "bookings.csv?"), headers=auth)
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert resp.content_type == "text/csv" and rows[0]["code"] == data["bookings"][0]["code"]
    bad = await chat.get("/staff/api/bookings?location=nowhere", headers=auth)
    assert bad.status == 400
