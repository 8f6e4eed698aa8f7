"""How bookings read in each language: dates and times with babel in the schedule's time zone,
service titles from the catalogs, location names from configuration. Shared by the dialogue
(confirmations, lists) and the worker (reminders)."""

from __future__ import annotations

from datetime import date, datetime

from babel import Locale
from babel.dates import format_date, format_time

from bot.core.booking.schedule import Schedule, Slot
from bot.core.booking.store import Booking
from bot.core.content import Content
from bot.core.messages import Button, Reply
from bot.core.payloads import BOOKING
from bot.core.places import Places


class BookingTexts:
    def __init__(self, content: Content, schedule: Schedule, places: Places) -> None:
        self.content = content
        self.schedule = schedule
        self.places = places  # read on each use: a published edit swaps its contents (adopt)

    def _locale(self, language: str) -> Locale:
        return self.content.languages.languages[language].babel_locale

    def day(self, day: date, language: str) -> str:
        return format_date(day, "EEEE d MMMM", locale=self._locale(language))

    def time(self, moment: datetime, language: str) -> str:
        local = moment.astimezone(self.schedule.timezone)
        return format_time(local, "short", tzinfo=self.schedule.timezone,
                           locale=self._locale(language))

    def when(self, moment: datetime, language: str) -> str:
        local = moment.astimezone(self.schedule.timezone)
        return f"{self.day(local.date(), language)} {self.time(local, language)}"

    def when_booking(self, booking: Booking, language: str) -> str:
        return self.when(datetime.fromtimestamp(booking.start, self.schedule.timezone), language)

    def service(self, service_id: str, language: str) -> str:
        return self.content.catalogs.gettext(language, self.schedule.services[service_id].title)

    def location(self, location_id: str) -> str:
        return next((loc.name for loc in self.places.locations if loc.id == location_id),
                    location_id)

    def slot_button(self, slot: Slot, language: str, *, with_day: bool = False) -> Button:
        title = self.when(slot.start, language) if with_day else self.time(slot.start, language)
        if with_day and slot.session.location:
            title = f"{title}, {self.location(slot.session.location)}"
        return Button(title, BOOKING("slot", slot.id))

    def booking_line(self, booking: Booking, language: str) -> str:
        return self.content.text("booking_line", language, code=booking.code,
                                 service=self.service(booking.service, language),
                                 location=self.location(booking.location),
                                 when=self.when_booking(booking, language))

    def cancel_button(self, booking: Booking, language: str) -> Button:
        title = self.content.text("booking_cancel_button", language, code=booking.code,
                                  when=self.when_booking(booking, language))
        return Button(title, BOOKING("cancel", booking.code))

    def reminder(self, booking: Booking) -> Reply:
        language = booking.language
        text = self.content.text("booking_reminder", language,
                                 service=self.service(booking.service, language),
                                 location=self.location(booking.location),
                                 when=self.when_booking(booking, language), code=booking.code)
        return Reply(text, (self.cancel_button(booking, language),))
