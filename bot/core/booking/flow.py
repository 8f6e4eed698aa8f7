"""The booking dialogue: service -> location (the one in the person's district first) -> day ->
slot -> confirm. Buttons everywhere (numbered where a channel has none); free text such as
"imorgon förmiddag" narrows the day and time. Confirm and cancel payloads carry the slot or
booking code, so a double click or a replayed payload is answered the same way and books only
once."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

from bot.core.booking.service import BookingResult, BookingService
from bot.core.booking.store import BookResult, CancelResult
from bot.core.booking.texts import BookingTexts
from bot.core.booking.when import When, WhenParser
from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.limits import DailyLimit
from bot.core.messages import Button, Reply
from bot.core.payloads import BOOK_DROPIN, BOOKING, HELP, LIST_BOOKINGS, REQUEST_COACH
from bot.core.places import Places
from bot.core.turn import Intent, Turn

MAX_DAY_BUTTONS = 6
MAX_SLOT_BUTTONS = 8
STOP = BOOKING("stop")
KINDS = ("svc", "loc", "day", "slot", "ok", "cancel", "stop")


class BookedValues(TypedDict):
    """What the texts about a booking fill in."""

    code: str
    service: str
    location: str
    when: str


class BookingFlow(Flow):
    name = "booking"
    prefix = BOOKING
    intents = ("book_dropin", "list_bookings", "cancel_booking")
    label = "book_dropin"

    def __init__(self, service: BookingService, texts: BookingTexts, content: Content,
                 places: Places, when: WhenParser, daily: DailyLimit | None = None) -> None:
        self.daily = daily
        self.service = service
        self.texts = texts
        self.content = content
        self.places = places
        self.when = when

    # ------------------------------------------------------------------ helpers
    def _reply(self, turn: Turn, key: str, buttons: list[Button] | tuple[Button, ...] = (),
               extra: tuple[str, ...] = (), **values: object) -> Reply:
        return self.content.compose(key, turn.language, buttons, extra, **values)

    def _stop_button(self, turn: Turn) -> Button:
        return self.content.button(STOP, turn.language)

    def fixed_payloads(self) -> tuple[str, ...]:
        return (STOP, BOOK_DROPIN, LIST_BOOKINGS, REQUEST_COACH, HELP)

    def accepts(self, payload: str) -> bool:
        return self.prefix.owns(payload) and self.prefix.split(payload)[0] in KINDS

    # ------------------------------------------------------------------ entry points
    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        if intent.name == "list_bookings":
            return await self.list_bookings(turn, intent)
        if intent.name == "cancel_booking":
            return await self.cancel_booking(turn, intent)
        return await self.start(turn, intent)

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        self.end(turn)
        return [self.content.reply("booking_stopped", turn.language)]

    async def start(self, turn: Turn, intent: Intent) -> list[Reply]:
        turn.state.flow, turn.state.flow_data = self.name, {}
        if intent.district:
            turn.state.flow_data["district"] = intent.district
        services = list(self.service.schedule.services)
        if len(services) == 1:
            return await self.choose_service(turn, services[0])
        buttons = [Button(self.texts.service(s, turn.language), BOOKING("svc", s))
                   for s in services]
        return [self._reply(turn, "booking_choose_service", [*buttons, self._stop_button(turn)])]

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply]:
        kind, arg = self.prefix.split(payload)
        data = turn.state.flow_data if self.active(turn) else {}
        if kind == "ok":
            return await self.confirm(turn, arg)
        if kind == "cancel":
            return await self.cancel(turn, arg)
        if kind == "stop":
            return await self.on_cancel(turn)
        if kind == "slot":
            return await self.choose_slot(turn, arg)
        if kind == "svc" and arg in self.service.schedule.services:
            turn.state.flow = self.name
            return await self.choose_service(turn, arg)
        if kind == "loc" and data.get("service"):
            return await self.choose_location(turn, arg)
        if kind == "day" and data.get("location"):
            try:
                return await self.choose_day(turn, When(date.fromisoformat(arg)))
            except ValueError:
                pass
        return await self.start(turn, Intent("book_dropin", source="payload"))

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """Free text inside the flow that names a day or a part of the day; None otherwise."""
        data = turn.state.flow_data
        if not self.active(turn) or not data.get("location"):
            return None
        when = self.when.parse(text, self.service.today())
        if when.empty:
            return None
        return await self.choose_day(turn, when)

    # ------------------------------------------------------------------ steps
    async def choose_service(self, turn: Turn, service_id: str) -> list[Reply]:
        data = turn.state.flow_data
        data["service"] = service_id
        locations = self.service.schedule.locations_for(service_id)
        nearby = {loc.id for loc in self.places.in_district(data.get("district"))}
        locations.sort(key=lambda loc: loc not in nearby)
        if len(locations) == 1:
            return await self.choose_location(turn, locations[0])
        buttons = [Button(self.texts.location(loc), BOOKING("loc", loc)) for loc in locations]
        buttons.append(self._stop_button(turn))
        if locations[0] in nearby:
            return [self._reply(turn, "booking_choose_location_near", buttons,
                                district=data["district"],
                                location=self.texts.location(locations[0]))]
        return [self._reply(turn, "booking_choose_location", buttons)]

    async def choose_location(self, turn: Turn, location_id: str) -> list[Reply]:
        data = turn.state.flow_data
        if location_id not in self.service.schedule.locations_for(data["service"]):
            return await self.choose_service(turn, data["service"])
        data["location"] = location_id
        days = await self.service.open_days(service=data["service"], location=location_id)
        if not days:
            return [self._reply(turn, "booking_no_slots", [self._stop_button(turn)],
                                extra=(REQUEST_COACH,),
                                location=self.texts.location(location_id),
                                days=self.service.schedule.horizon_days)]
        return [self._days_reply(turn, days, "booking_choose_day")]

    def _days_reply(self, turn: Turn, days: list[date], key: str, **values: str) -> Reply:
        buttons = [Button(self.texts.day(d, turn.language), BOOKING("day", d.isoformat()))
                   for d in days[:MAX_DAY_BUTTONS]]
        location = self.texts.location(turn.state.flow_data["location"])
        # `extra` given (none), so `values` can only be the template's.
        return self._reply(turn, key, [*buttons, self._stop_button(turn)], (),
                           location=location, **values)

    async def choose_day(self, turn: Turn, when: When) -> list[Reply]:
        data = turn.state.flow_data
        slots = await self.service.open_slots(service=data["service"], location=data["location"],
                                              day=when.day, part=when.part)
        if not slots:
            days = await self.service.open_days(service=data["service"],
                                                location=data["location"])
            day_text = self.texts.day(when.day, turn.language) if when.day else ""
            if not days:
                return await self.choose_location(turn, data["location"])
            return [self._days_reply(turn, days, "booking_no_slots_day", day=day_text)]
        first_day = slots[0].slot.day
        if when.day is None and any(s.slot.day != first_day for s in slots):
            slots = [s for s in slots if s.slot.day == first_day]
        buttons = [self.texts.slot_button(s.slot, turn.language) for s in slots[:MAX_SLOT_BUTTONS]]
        return [self._reply(turn, "booking_choose_slot", [*buttons, self._stop_button(turn)],
                            day=self.texts.day(first_day, turn.language))]

    async def choose_slot(self, turn: Turn, slot_id: str) -> list[Reply]:
        slot = self.service.schedule.slot(slot_id, now=self.service.now())
        if slot is None:
            return [self._reply(turn, "booking_gone", extra=(BOOK_DROPIN,))]
        turn.state.flow = self.name
        turn.state.flow_data.update(service=slot.session.service, location=slot.session.location)
        yes = Button(self.content.text("booking_yes", turn.language), BOOKING("ok", slot.id))
        return [self._reply(turn, "booking_confirm_question", [yes, self._stop_button(turn)],
                            service=self.texts.service(slot.session.service, turn.language),
                            location=self.texts.location(slot.session.location),
                            when=self.texts.when(slot.start, turn.language))]

    async def confirm(self, turn: Turn, slot_id: str) -> list[Reply]:
        address = turn.message.client_address
        if self.daily is not None and await self.daily.reached(turn.conversation_id, address):
            self.end(turn)  # no script can take every seat
            return [self._reply(turn, "limit_today", extra=(REQUEST_COACH, HELP))]
        result = await self.service.book(turn.conversation_id, slot_id, turn.language)
        if result.status is BookResult.BOOKED:
            turn.completed = "booking"
            if self.daily is not None:
                await self.daily.count(turn.conversation_id, address)
        if result.status is not BookResult.FULL:
            self.end(turn)
        return [self._result_reply(turn, result)]

    def _result_reply(self, turn: Turn, result: BookingResult) -> Reply:
        lang = turn.language
        booking = result.booking
        if result.status in (BookResult.BOOKED, BookResult.EXISTS) and booking is not None:
            values = BookedValues(code=booking.code,
                                  service=self.texts.service(booking.service, lang),
                                  location=self.texts.location(booking.location),
                                  when=self.texts.when_booking(booking, lang))
            if result.status is BookResult.EXISTS:
                return self._reply(turn, "booking_exists", extra=(LIST_BOOKINGS,), **values)
            text = self.content.text("booking_confirmed", lang, **values)
            hours = self.service.schedule.reminder_hours_before
            if booking.start - hours * 3600 > self.service.now().timestamp():
                text += " " + self.content.text("booking_reminder_note", lang, count=int(hours))
            if self.service.schedule.sample:
                text += "\n" + self.content.text("sample_notice", lang)
            # A coach is offered after a booking, never forced (consent comes first).
            return Reply(text, self.content.buttons((LIST_BOOKINGS, REQUEST_COACH, HELP), lang))
        if result.status is BookResult.OVERLAP and booking is not None:
            return self._reply(turn, "booking_overlap", extra=(LIST_BOOKINGS,),
                               code=booking.code, when=self.texts.when_booking(booking, lang))
        if result.status is BookResult.FULL:
            buttons = [self.texts.slot_button(o.slot, lang, with_day=True)
                       for o in result.alternatives]
            key = "booking_full" if buttons else "booking_full_no_alternatives"
            return self._reply(turn, key, [*buttons, self._stop_button(turn)])
        return self._reply(turn, "booking_gone", extra=(BOOK_DROPIN,))

    # ------------------------------------------------------------------ my bookings
    async def list_bookings(self, turn: Turn, intent: Intent) -> list[Reply]:
        bookings = await self.service.active(turn.conversation_id)
        if not bookings:
            return [self.content.reply("list_bookings", turn.language)]
        lines = [self.content.text("booking_list", turn.language, count=len(bookings))]
        lines += [f"• {self.texts.booking_line(b, turn.language)}" for b in bookings]
        buttons = [self.texts.cancel_button(b, turn.language) for b in bookings]
        return [Reply("\n".join(lines), (*buttons, *self.content.buttons((BOOK_DROPIN,),
                                                                         turn.language)))]

    async def cancel_booking(self, turn: Turn, intent: Intent) -> list[Reply]:
        bookings = await self.service.active(turn.conversation_id)
        if not bookings:
            return [self.content.reply("cancel_booking", turn.language)]
        buttons = [self.texts.cancel_button(b, turn.language) for b in bookings]
        return [self._reply(turn, "booking_cancel_choose", buttons, extra=(HELP,))]

    async def cancel(self, turn: Turn, code: str) -> list[Reply]:
        status, booking = await self.service.cancel(turn.conversation_id, code)
        if status is CancelResult.CANCELLED and booking is not None:
            return [self._reply(turn, "booking_cancelled", extra=(BOOK_DROPIN, HELP),
                                code=booking.code,
                                when=self.texts.when_booking(booking, turn.language))]
        return [self._reply(turn, "booking_cancel_not_found", extra=(LIST_BOOKINGS,))]

