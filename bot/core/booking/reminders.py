"""The reminder job: a booking's reminder through the person's own channel, sent once.

Skipped if the booking was cancelled, and marked before sending, so a job run again after a
restart or an expired lease never sends it twice. The mark lives as long as the booking
(a duration from the injected clock, see bot/core/clock.py).
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.booking.service import BookingService
from bot.core.booking.store import BookingStatus
from bot.core.booking.texts import BookingTexts
from bot.core.clock import ttl_until
from bot.core.delivery import Deliveries
from bot.core.jobs import Job, JobHandler, text_field
from bot.core.messages import Purpose


def reminder_handler(deliveries: Deliveries, bookings: BookingService,
                     texts: BookingTexts) -> JobHandler:
    store = bookings.store

    async def remind(job: Job) -> None:
        booking = await store.get(text_field(job.payload, "code"))
        if booking is None or booking.status != BookingStatus.BOOKED:
            return
        now = int(bookings.now().timestamp())
        ttl = ttl_until(booking.end + store.retention, bookings.clock)
        if not await store.redis.set(store.reminded_key(booking.code), now, nx=True, ex=ttl):
            return
        reminder = replace(texts.reminder(booking), purpose=Purpose.REMINDER)
        await deliveries.send(booking.conversation, [reminder])

    return remind
