"""The coach panel's drop-in view: bookings per location and day for the locations of the
coach's teams (an operator: every location), capacity used, languages, a CSV export, and
attendance marking (which `/metrics` counts). Bookings carry no names: a code, a time, a
service, the language to greet in, the status.

  GET  /coach/api/locations                          the coach's drop-in locations
  GET  /coach/api/bookings?location=ID&day=YYYY-MM-DD   {"bookings": [...], "seats", ...}
  GET  /coach/api/bookings.csv?location=ID&day=...      the same as CSV (audited)
  POST /coach/api/bookings/{code}/attendance  {"status": "attended" | "no_show"}

A team covers the drop-in locations that share one of its districts; a team without districts
(the city-wide default team) covers them all.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from datetime import date, datetime
from typing import TypedDict

from aiohttp import web

from bot.coach.accounts import Coach
from bot.coach.audit import AuditAction, AuditLog
from bot.coach.guard import SessionGuard
from bot.core.booking.service import BookingService
from bot.core.booking.store import ATTENDANCE, AttendResult, Booking, BookingStatus
from bot.core.booking.texts import BookingTexts
from bot.core.handover.teams import Teams
from bot.core.places import Places, fold
from bot.http import bad_request, error, json_object

CSV_FIELDS = ("code", "date", "start", "service", "language", "status", "attendance")


class BookingRow(TypedDict):
    """One booking in the view and the CSV (no name: a code)."""

    code: str
    date: str
    start: str
    service: str
    language: str
    status: str
    attendance: str


class DayJson(TypedDict):
    """`GET /coach/api/bookings`: one location's day."""

    location: str
    name: str
    day: str
    seats: int
    booked: int
    languages: dict[str, int]
    bookings: list[BookingRow]


def team_locations(teams: Teams, places: Places, dropin: list[str]) -> dict[str, list[str]]:
    """Team id -> the drop-in locations it covers (shared district; no districts: all)."""
    districts = {place.id: {fold(d) for d in place.districts} for place in places.locations}
    covered = {}
    for team in teams.teams.values():
        mine = {fold(d) for d in team.districts}
        covered[team.id] = [loc for loc in dropin
                            if not mine or mine & districts.get(loc, set())]
    return covered


class DropinRoutes:
    def __init__(self, bookings: BookingService, texts: BookingTexts, teams: Teams,
                 places: Places, guard: SessionGuard, audit_log: AuditLog) -> None:
        self.bookings = bookings
        self.texts = texts
        self.guard = guard
        self.audit = audit_log
        self.teams = teams
        self.places = places

    # Computed on each use: a published schedule or locations edit changes them (adopt).
    @property
    def dropin(self) -> list[str]:
        return self.bookings.schedule.dropin_locations()

    @property
    def covered(self) -> dict[str, list[str]]:
        return team_locations(self.teams, self.places, self.dropin)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/coach/api/locations", self.guard(self.locations)),
                web.get("/coach/api/bookings", self.guard(self.as_json)),
                web.get("/coach/api/bookings.csv", self.guard(self.as_csv)),
                web.post("/coach/api/bookings/{code}/attendance",
                         self.guard(self.attendance, csrf=True))]

    def locations_of(self, coach: Coach) -> list[str]:
        if coach.is_operator:
            return self.dropin
        mine = {loc for team in coach.teams for loc in self.covered.get(team, [])}
        return [loc for loc in self.dropin if loc in mine]

    async def locations(self, request: web.Request, coach: Coach) -> web.Response:
        return web.json_response({"locations": [
            {"id": loc, "name": self.texts.location(loc)} for loc in self.locations_of(coach)],
            "today": self.bookings.today().isoformat()})

    def _asked(self, request: web.Request, coach: Coach) -> tuple[str, date]:
        location = request.query.get("location", "")
        mine = self.locations_of(coach)
        if location not in mine:
            raise bad_request(f"Unknown location {location!r} for your teams; use one of "
                              f"{', '.join(mine) or '(none)'}.")
        raw = request.query.get("day", self.bookings.today().isoformat())
        try:
            return location, date.fromisoformat(raw)
        except ValueError:
            raise bad_request('"day" must be a date like 2026-11-24.') from None

    def _row(self, booking: Booking) -> BookingRow:
        start = datetime.fromtimestamp(booking.start, self.bookings.schedule.timezone)
        return {"code": booking.code, "date": booking.day, "start": start.strftime("%H:%M"),
                "service": self.bookings.schedule.services[booking.service].title,
                "language": booking.language, "status": booking.status,
                "attendance": booking.attendance}

    async def _day(self, location: str, day: date) -> DayJson:
        bookings = await self.bookings.store.for_day(location, day.isoformat())
        active = [b for b in bookings if b.status == BookingStatus.BOOKED]
        return {"location": location, "name": self.texts.location(location),
                "day": day.isoformat(), "seats": self.bookings.schedule.seats_on(location, day),
                "booked": len(active), "languages": dict(Counter(b.language for b in active)),
                "bookings": [self._row(b) for b in bookings]}

    async def as_json(self, request: web.Request, coach: Coach) -> web.Response:
        location, day = self._asked(request, coach)
        await self.audit.record(coach.username, AuditAction.BOOKINGS_VIEW,
                                f"{location} {day.isoformat()}")
        return web.json_response(await self._day(location, day))

    async def as_csv(self, request: web.Request, coach: Coach) -> web.Response:
        location, day = self._asked(request, coach)
        rows = (await self._day(location, day))["bookings"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        await self.audit.record(coach.username, AuditAction.BOOKINGS_EXPORT,
                                f"{location} {day.isoformat()}")
        return web.Response(text=buffer.getvalue(), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="dropin-{location}-{day}.csv"'})

    async def attendance(self, request: web.Request, coach: Coach) -> web.Response:
        status = (await json_object(request)).get("status")
        if not isinstance(status, str) or status not in ATTENDANCE:
            raise bad_request(f'"status" must be one of {", ".join(ATTENDANCE)}.')
        code = request.match_info["code"].upper()
        booking = await self.bookings.store.get(code) if code.isalnum() else None
        if booking is None or booking.location not in self.locations_of(coach):
            return error(404, "No such booking at your teams' locations.")
        result = await self.bookings.store.mark_attendance(booking, status)
        if result is AttendResult.NOT_ACTIVE:
            return error(409, "The booking was cancelled; attendance cannot be marked.")
        if result is AttendResult.MARKED:
            await self.bookings.attendance_marked(booking, status)
        # The code is the person's and the log outlives the booking: a digest names it.
        digest = hashlib.sha256(booking.code.encode()).hexdigest()[:12]
        await self.audit.record(coach.username, AuditAction.ATTENDANCE,
                                f"{booking.location} {booking.day} booking {digest}")
        return web.json_response({"code": booking.code, "attendance": status})
