"""Facts and schedules in the content workspace: the drop-in schedule (config/dropin.yml), the
locations with address, opening hours and phone (config/locations.yml) and the coach teams with
their opening hours and closed dates (config/teams.yml), each edited as one YAML document the
same way as a text: a draft until a second operator approves it, then live in every
process within seconds (live.py swaps it into the objects every part holds), every version kept,
any version restored by a rollback. A draft is checked by the same parsers as the files at
start-up, so an error names the line and the field, and nothing is saved.

The teams document stands apart from the other two: no booking depends on it (its impact is
always none), and it is parsed, checked and swapped in on its own, so a teams version that does
not load cannot hold back a schedule's. Its team ids must stay those of the shipped file: coach
accounts, lead queues and config/canned.yml name them, so adding, removing or renaming a team
is a developer's change to the file.

Before an approval, staff see which bookings a schedule change takes away (closures.py: closed
dates and sessions, changed times, capacity lowered below the seats taken), as a count and a list
of booking codes and slots (no names). Approving publishes the document and queues one
cancellation job per such booking in ONE Redis transaction, plus a sweep a few seconds later for
bookings made meanwhile by a process that had not yet reloaded: a crash never leaves a published
closure without its cancellations, nor cancellations without the closure. Each job decides
again when it runs, against the schedule published then, so a job queued twice (two operators
approving at once) or made moot (a rollback first) changes nothing.

The documents live with the texts (store.py): id `facts/<document>`, language `facts`; version 0
is the shipped file.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.booking.closures import (
    SWEEP_JOB,
    Affected,
    HeldBookings,
    closure_jobs,
    lookahead,
)
from bot.core.booking.closures import (
    affected as taken_away,
)
from bot.core.booking.schedule import Schedule, ScheduleError
from bot.core.booking.service import BookingService
from bot.core.handover.teams import Teams, TeamsError
from bot.core.jobs import NewJob
from bot.core.places import Places, PlacesError
from bot.core.workspace.service import WorkspaceError, source_hash
from bot.core.workspace.store import Draft, WorkspaceStore, field_of

log = logging.getLogger("lotsen.content")

LANGUAGE = "facts"
DOCUMENTS = {"dropin": "dropin.yml", "locations": "locations.yml",  # document -> its file
             "teams": "teams.yml"}
TEAMS_KEY = re.compile(r"^teams\s*:", re.MULTILINE)


def fact_id(document: str) -> str:
    return f"facts/{document}"


def document_of(text_id: str) -> str | None:
    """The document an id names (`facts/dropin` -> `dropin`); None for a text's id."""
    name = text_id.removeprefix("facts/")
    return name if text_id.startswith("facts/") and name in DOCUMENTS else None


@dataclass(frozen=True)
class Parsed:
    """The schedule and the locations, each parsed (the schedule against the locations' ids);
    the teams document is parsed on its own (`Facts.parse_teams`)."""

    texts: tuple[str, str]  # dropin, locations
    places: Places
    schedule: Schedule

    @property
    def locations(self) -> frozenset[str]:
        """Every location that may hold bookings: the listed ones and the schedule's."""
        return frozenset(self.places.ids | {s.location for s in self.schedule.sessions.values()})


@dataclass(frozen=True)
class Impact:
    """The bookings a change takes away."""

    affected: tuple[Affected, ...]

    def to_json(self) -> dict[str, object]:
        return {"bookings": len(self.affected), "slots": [a.to_json() for a in self.affected]}


class Facts:
    def __init__(self, *, store: WorkspaceStore, bookings: BookingService,
                 shipped: Mapping[str, str], places: Places, schedule: Schedule,
                 teams: Teams, settle_seconds: float) -> None:
        """`shipped`: each document's file text; `places`, `schedule` and `teams`: the objects
        this process runs with, which `apply` updates in place; `settle_seconds`: when the sweep
        runs after a publish (every process has reloaded by then)."""
        self.store = store
        self.bookings = bookings
        self.shipped = {name: shipped[name] for name in DOCUMENTS}
        self.live_places = places
        self.live_schedule = schedule
        self.live_teams = teams
        self.settle = settle_seconds
        self.held = HeldBookings(bookings)
        self._applied = (self.shipped["dropin"], self.shipped["locations"])
        self._applied_teams = self.shipped["teams"]
        self._parsed: Parsed | None = None
        self._parsed_teams: tuple[str, Teams] | None = None
        # The ids every version must keep: those of the file this process started with.
        self.team_ids = frozenset(Teams.parse(self.shipped["teams"], DOCUMENTS["teams"]).teams)

    # ------------------------------------------------------------------ reading
    @staticmethod
    def known(document: str) -> str:
        if document not in DOCUMENTS:
            raise WorkspaceError(400, f'"document" must be one of {", ".join(DOCUMENTS)}.',
                                 "document")
        return document

    async def _published(self) -> dict[str, dict[str, Any]]:
        """The published overrides of the documents only (one Redis read)."""
        return await self.store.published_fields([field_of(LANGUAGE, fact_id(name))
                                                  for name in DOCUMENTS])

    def _texts(self, published: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        texts = {}
        for name in DOCUMENTS:
            entry = published.get(field_of(LANGUAGE, fact_id(name)))
            texts[name] = str(entry["text"]) if entry is not None else self.shipped[name]
        return texts

    async def documents(self) -> dict[str, dict[str, object]]:
        """Each document's current text and version (0: the shipped file)."""
        published = await self._published()
        texts = self._texts(published)
        return {name: {"yaml": texts[name],
                       "version": int(published.get(field_of(LANGUAGE, fact_id(name)),
                                                    {}).get("version", 0))}
                for name in DOCUMENTS}

    async def version(self, document: str) -> int:
        """The published version of a document (0: the shipped file)."""
        entry = (await self._published()).get(field_of(LANGUAGE, fact_id(document)))
        return int(entry["version"]) if entry is not None else 0

    def parse(self, texts: Mapping[str, str], edited: str | None = None) -> Parsed:
        """The schedule and the locations parsed; WorkspaceError 400 naming the line and field
        if not (about `edited`, the document being changed)."""
        key = (texts["dropin"], texts["locations"])
        if self._parsed is not None and self._parsed.texts == key:
            return self._parsed
        try:
            places = Places.parse(texts["locations"], DOCUMENTS["locations"])
        except PlacesError as exc:
            raise WorkspaceError(400, str(exc), "yaml", exc.line) from None
        try:
            schedule = Schedule.parse(texts["dropin"], DOCUMENTS["dropin"], places.ids)
        except ScheduleError as exc:
            if edited == "locations":  # the line is the schedule's, not this document's
                raise WorkspaceError(400, f"{DOCUMENTS['locations']}: the drop-in schedule "
                                          f"does not fit this version ({exc}); change the "
                                          "schedule first.", "yaml") from None
            raise WorkspaceError(400, str(exc), "yaml", exc.line) from None
        self._parsed = Parsed(key, places, schedule)
        return self._parsed

    def parse_teams(self, text: str) -> Teams:
        """The teams document parsed; WorkspaceError 400 naming the line and field if not, or
        if its team ids are not the shipped file's."""
        if self._parsed_teams is not None and self._parsed_teams[0] == text:
            return self._parsed_teams[1]
        source = DOCUMENTS["teams"]
        try:
            teams = Teams.parse(text, source)
        except TeamsError as exc:
            raise WorkspaceError(400, str(exc), "yaml", exc.line) from None
        missing, new = sorted(self.team_ids - teams.teams.keys()), sorted(
            teams.teams.keys() - self.team_ids)
        if missing or new:
            found = TEAMS_KEY.search(text)
            line = text.count("\n", 0, found.start()) + 1 if found else None
            said = "; ".join(f"{what}: {', '.join(ids)}" for what, ids in
                             (("missing", missing), ("new", new)) if ids)
            raise WorkspaceError(400, f"{source}:{line}: teams: the team ids must stay those of "
                                      f"the shipped file ({said}). Coach accounts, lead queues "
                                      "and canned replies name them: a developer adds, removes "
                                      "or renames a team in config/teams.yml.", "yaml", line)
        self._parsed_teams = (text, teams)
        return teams

    async def current(self) -> Parsed:
        """The documents published now (from Redis: not this process's memory, which may be
        a moment behind)."""
        return self.parse(self._texts(await self._published()))

    async def published_schedule(self) -> tuple[Schedule, frozenset[str]]:
        """For the closure jobs: the schedule published now, and where bookings may be."""
        parsed = await self.current()
        return parsed.schedule, parsed.locations

    # ------------------------------------------------------------------ impact
    async def impact(self, document: str, text: str) -> tuple[Parsed, Impact]:
        """The documents with `text` as `document`, and the bookings that change takes away
        (those the schedule published now keeps). WorkspaceError 400 if it does not parse."""
        self.known(document)
        texts = self._texts(await self._published())
        if document == "teams":  # no booking depends on the teams
            self.parse_teams(text)
            return self.parse(texts), Impact(())
        before = self.parse(texts)
        after = self.parse({**texts, document: text}, document)
        if after.texts[0] == before.texts[0]:
            return after, Impact(())  # the schedule is the same: no booking changes
        held = await self.held.future(before.locations | after.locations,
                                      lookahead(before.schedule, after.schedule))
        now = self.bookings.now().timestamp()
        already = {a.booking.code for a in taken_away(before.schedule, held, now)}
        return after, Impact(tuple(a for a in taken_away(after.schedule, held, now)
                                   if a.booking.code not in already))

    # ------------------------------------------------------------------ changing
    async def propose(self, document: str, text: str, author: str,
                      base: int | None = None) -> tuple[Draft, Impact]:
        """A draft of the whole document, once it parses, with what it would take away. It
        remembers the version it was written from (`base`: the one the editor opened, else the
        current): a whole document replaces the published one, so approving it after someone
        else's change would silently undo that change."""
        _, impact = await self.impact(document, text)
        current = await self.version(document)
        if base is not None and base != current:
            raise WorkspaceError(409, f"You edited version {base}, and version {current} has "
                                      "been published since: open the document again.",
                                 "base_version")
        draft = await self.store.add_draft(fact_id(document), LANGUAGE, text, author,
                                           base=current)
        return draft, impact

    async def approve(self, draft: Draft, approver: str,
                      expected_bookings: int | None = None) -> tuple[int, Impact]:
        """Publishes a draft written by someone else: (its version, what it took away).
        `expected_bookings`: how many cancellations the approver was shown; if bookings came
        or went since, nothing is published (409) and they are shown the new count."""
        document = document_of(draft.id)
        if document is None or draft.language != LANGUAGE:
            raise WorkspaceError(404, "No such draft (it may have been approved or discarded).")
        if draft.author == approver:
            raise WorkspaceError(403, "You wrote this draft: another operator must approve it.")
        current = await self.version(document)
        if draft.base is not None and draft.base != current:
            raise WorkspaceError(409, f"This draft was written from version {draft.base}, and "
                                      f"version {current} has been published since: write the "
                                      "change again from the current version.", "draft")
        if expected_bookings is not None:
            _, impact = await self.impact(document, draft.text)
            if len(impact.affected) != expected_bookings:
                raise WorkspaceError(409, f"Approving now cancels {len(impact.affected)} "
                                          f"bookings, not {expected_bookings}: look again.",
                                     "expected_bookings")
        return await self._publish(document, draft.text, draft_id=draft.draft,
                                   author=draft.author, approved_by=approver, kind="edit")

    async def rollback(self, document: str, version: int, operator: str) -> tuple[int, Impact]:
        """Publishes an earlier version again, at once (it was reviewed when published, or is
        the shipped file), if it still fits the other document."""
        versions = await self.versions(document)
        chosen = next((v for v in versions if v["version"] == version), None)
        if chosen is None:
            raise WorkspaceError(400, f"Version {version} does not exist; versions: "
                                      f"{', '.join(str(v['version']) for v in versions)}.",
                                 "version")
        return await self._publish(document, str(chosen["text"]), draft_id="",
                                   author=operator, approved_by=operator, kind="rollback")

    async def _publish(self, document: str, text: str, *, draft_id: str, author: str,
                       approved_by: str, kind: str) -> tuple[int, Impact]:
        """Checked again now (the other document and the bookings may have changed since the
        draft), then published with its closure jobs in one transaction."""
        _, impact = await self.impact(document, text)
        now = self.bookings.now().timestamp()
        ref = secrets.token_hex(8)
        jobs = closure_jobs(impact.affected, now)
        if document == "dropin":
            jobs.append(NewJob(SWEEP_JOB, {}, due=now + self.settle,
                               job_id=f"closure-sweep:{ref}"))
        await self.bookings.jobs.schedule_many(jobs, also=lambda pipe: self.store.publish_in(
            pipe, draft_id=draft_id, text_id=fact_id(document), language=LANGUAGE, text=text,
            author=author, approved_by=approved_by, kind=kind, source_hash=source_hash(text),
            ref=ref))
        version = await self.store.version_of(LANGUAGE, fact_id(document), ref)
        if version is None:  # the draft was approved or discarded meanwhile: its jobs find
            # nothing to do when they run (they decide against the published schedule)
            raise WorkspaceError(404, "No such draft (it may have been approved or discarded).")
        log.info("facts_published", extra={"detail": document, "count": len(impact.affected)})
        return version, impact

    async def versions(self, document: str) -> list[dict[str, Any]]:
        """Newest first; version 0 is the shipped file."""
        self.known(document)
        shipped = {"version": 0, "text": self.shipped[document], "author": None,
                   "approved_by": None, "at": None, "kind": "shipped"}
        history = await self.store.history(LANGUAGE, fact_id(document))
        return [*reversed(history), shipped]

    # ------------------------------------------------------------------ this process
    def apply(self, published: Mapping[str, Mapping[str, Any]]) -> bool:
        """Swap the published documents into the objects this process runs with, if they
        changed; whether they did. A version that does not parse here (it did when it was
        approved) is logged and the running one kept."""
        texts = self._texts(published)
        teams = self._apply_teams(texts["teams"])
        if (texts["dropin"], texts["locations"]) == self._applied:
            return teams
        try:
            parsed = self.parse(texts)
        except WorkspaceError as exc:
            log.error("facts_not_loaded", extra={"detail": exc.message[:300]})
            return teams
        self.live_places.adopt(parsed.places)
        self.live_schedule.adopt(parsed.schedule)
        self._applied = parsed.texts
        log.info("facts_loaded")
        return True

    def _apply_teams(self, text: str) -> bool:
        """The teams document into the live Teams, on its own (see the module's docstring)."""
        if text == self._applied_teams:
            return False
        try:
            teams = self.parse_teams(text)
        except WorkspaceError as exc:
            log.error("facts_not_loaded", extra={"detail": exc.message[:300]})
            return False
        self.live_teams.adopt(teams)
        self._applied_teams = text
        log.info("facts_loaded", extra={"detail": "teams"})
        return True
