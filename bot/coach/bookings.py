"""Staff view of bookings per location and day, as JSON and CSV. Protected by the admin token
until the coach dashboard (with its own logins) takes it over. Bookings carry no names: a code,
a time, a service, the language to greet in, and the status."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from aiohttp import web

from bot.core.booking.service import BookingService
from bot.core.booking.store import Booking
from bot.core.booking.texts import BookingTexts
from bot.http import admin_refusal, bad_request

CSV_FIELDS = ("code", "date", "time", "location", "service", "language", "status")


class StaffRoutes:
    def __init__(self, bookings: BookingService, texts: BookingTexts, admin_token: str) -> None:
        self.bookings = bookings
        self.texts = texts
        self.token = admin_token

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/staff/api/bookings", self.as_json),
                web.get("/staff/api/bookings.csv", self.as_csv)]

    async def _rows(self, request: web.Request) -> tuple[str, str, list[dict[str, str]]]:
        location = request.query.get("location", "")
        known = [loc.id for loc in self.texts.places.locations]
        if location not in known:
            raise bad_request(f"Unknown location {location!r}; use one of {', '.join(known)}.")
        raw_day = request.query.get("date", self.bookings.today().isoformat())
        try:
            day = date.fromisoformat(raw_day).isoformat()
        except ValueError:
            raise bad_request('"date" must be a date like 2026-11-24.') from None
        bookings = await self.bookings.store.for_day(location, day)
        return location, day, [self._row(b) for b in bookings]

    def _row(self, booking: Booking) -> dict[str, str]:
        start = datetime.fromtimestamp(booking.start, self.bookings.schedule.timezone)
        return {"code": booking.code, "date": booking.day, "time": start.strftime("%H:%M"),
                "location": self.texts.location(booking.location),
                "service": self.bookings.schedule.services[booking.service].title,
                "language": booking.language, "status": booking.status}

    async def as_json(self, request: web.Request) -> web.Response:
        refused = admin_refusal(request, self.token)
        if refused is not None:
            return refused
        location, day, rows = await self._rows(request)
        return web.json_response({"location": location, "date": day, "bookings": rows})

    async def as_csv(self, request: web.Request) -> web.Response:
        refused = admin_refusal(request, self.token)
        if refused is not None:
            return refused
        location, day, rows = await self._rows(request)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        return web.Response(text=buffer.getvalue(), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="bookings-{location}-{day}.csv"'})
