"""Importing an existing opt-in list (CSV) as subscriptions.

Columns (a header line, any order): `channel,address,language,topics,districts,consent_source,
consented_at`. `topics` and `districts` are `;`-separated; `channel` is a name a channel's
reach accepts (its own name, or a provider's, which the person is then reached through;
docs/operators.md lists them, under Importing); `consented_at` is ISO 8601 with a UTC offset,
or a plain date (`2026-10-01`, as a spreadsheet writes it), which means 00:00 that day in
Europe/Stockholm (the lists come from forms and events here; a time without an offset is
refused, as it is ambiguous).

Every line is checked on its own: a bad one is reported with its line number and why, and
skipped; the others are imported (and the admin command exits non-zero, so a script notices).
A subscription lasts 12 months (SUBSCRIPTION_DAYS) from `consented_at`, so a line whose consent
is older is skipped as expired. The consent is recorded as version "import", source
"import:<consent_source>", and its text hash is the SHA-256 of the line's `consent_source` (the
list carries no consent text; the source names the form or event where consent was given, so
lines from the same source share the hash).

Importing is idempotent: the same file twice gives the same subscriptions. A person who
subscribed in the chat keeps their own choice, and one who said STOP is not imported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.core.outreach.reach import Reach
from bot.core.outreach.subscriptions import (
    TOPICS,
    Consent,
    Subscription,
    SubscriptionStore,
)
from bot.core.places import fold

COLUMNS = ("channel", "address", "language", "topics", "districts", "consent_source",
           "consented_at")
CONSENT_VERSION = "import"
MAX_SOURCE_CHARS = 200
FUTURE_SLACK_SECONDS = 300
LOCAL_ZONE = ZoneInfo("Europe/Stockholm")  # where a plain date's day starts
PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no or a wrong header)."""


@dataclass(frozen=True)
class ImportChannel:
    """How one value of the `channel` column is imported."""

    channel: str                   # the conversation channel
    via: str                       # how to reach the person ("" = the channel's default)
    address: Callable[[str], str]  # the canonical user id, or ValueError saying why


def import_channels(reaches: Mapping[str, Reach]) -> dict[str, ImportChannel]:
    return {name: ImportChannel(reach.channel, via, reach.address)
            for reach in reaches.values() for name, via in reach.import_names.items()}


@dataclass(frozen=True)
class Line:
    number: int
    subscription: Subscription
    via: str


@dataclass(frozen=True)
class Problem:
    number: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.reason}"


@dataclass
class Parsed:
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _Bad(ValueError):
    pass


def parse(text: str, *, channels: Mapping[str, ImportChannel], languages: Collection[str],
          districts: Sequence[str], now: float) -> Parsed:
    """Check every line; no Redis, no clock but `now`."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    names = [h.strip().lower() for h in header or []]
    if sorted(names) != sorted(COLUMNS):
        raise ImportFileError(f"line 1 must be the header {','.join(COLUMNS)} "
                              f"(got {','.join(names) or 'nothing'})")
    known = {fold(d): d for d in districts}
    parsed, seen = Parsed(), dict[str, int]()
    last = reader.line_num
    for row in reader:
        number, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != len(names):
                raise _Bad(f"has {len(row)} fields, expected {len(names)}")
            line = _line(number, dict(zip(names, row, strict=True)), channels, languages,
                         known, now)
        except _Bad as bad:
            parsed.problems.append(Problem(number, str(bad)))
            continue
        conversation = line.subscription.conversation
        if conversation in seen:
            parsed.problems.append(Problem(number, f"the same address as line "
                                                   f"{seen[conversation]}; skipped"))
            continue
        seen[conversation] = number
        parsed.lines.append(line)
    return parsed


def _line(number: int, cells: dict[str, str], channels: Mapping[str, ImportChannel],
          languages: Collection[str], districts: Mapping[str, str], now: float) -> Line:
    name = cells["channel"].strip().lower()
    if name not in channels:
        raise _Bad(f"unknown channel {name!r} (one of {', '.join(sorted(channels))})")
    channel = channels[name]
    try:
        user_id = channel.address(cells["address"].strip())
    except ValueError as exc:
        raise _Bad(f"address: {exc}") from None
    language = cells["language"].strip().lower()
    if language not in languages:
        raise _Bad(f"language {language!r} is not enabled ({', '.join(sorted(languages))})")
    topics = _split(cells["topics"], lower=True)
    if not topics:
        raise _Bad("no topic")
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise _Bad(f"unknown topic {unknown[0]!r} (known: {', '.join(TOPICS)})")
    wanted = _split(cells["districts"])
    strange = [d for d in wanted if fold(d) not in districts]
    if strange:
        raise _Bad(f"unknown district {strange[0]!r}")
    source = cells["consent_source"].strip()
    if not source or len(source) > MAX_SOURCE_CHARS or not source.isprintable():
        raise _Bad(f"consent_source must be 1-{MAX_SOURCE_CHARS} printable characters")
    consented = _instant(cells["consented_at"].strip())
    if consented > now + FUTURE_SLACK_SECONDS:
        raise _Bad("consented_at is in the future")
    expires = SubscriptionStore.expiry(consented)
    if expires <= now:
        ended = datetime.fromtimestamp(expires, UTC).date().isoformat()
        raise _Bad(f"the consent expired on {ended} (12 months after consented_at); skipped")
    consent = Consent(version=CONSENT_VERSION, at=consented, channel=channel.channel,
                      language=language,
                      text_sha256=hashlib.sha256(source.encode()).hexdigest(),
                      source=f"import:{source}")
    subscription = Subscription(
        conversation=f"{channel.channel}:{user_id}", language=language, topics=topics,
        districts=tuple(dict.fromkeys(districts[fold(d)] for d in wanted)), consent=consent,
        expires_at=expires)
    return Line(number, subscription, channel.via)


def _split(cell: str, *, lower: bool = False) -> tuple[str, ...]:
    parts = (p.strip().lower() if lower else p.strip() for p in cell.split(";"))
    return tuple(dict.fromkeys(p for p in parts if p))


def _instant(text: str) -> float:
    """A time with its UTC offset, or a plain date as the start of that day in Stockholm."""
    try:
        if PLAIN_DATE.fullmatch(text):
            day = date.fromisoformat(text)
            return datetime.combine(day, time(0), tzinfo=LOCAL_ZONE).timestamp()
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(f"consented_at {text!r} is not an ISO 8601 time or date (e.g. "
                   "2026-10-01T09:30:00+02:00 or 2026-10-01)") from None
    if parsed.tzinfo is None:
        raise _Bad(f"consented_at {text!r} has no UTC offset (e.g. +01:00 or Z); "
                   "a plain date such as 2026-10-01 is also accepted")
    return parsed.timestamp()


@dataclass
class Imported:
    saved: int = 0
    unchanged: int = 0
    kept: list[Problem] = field(default_factory=list)      # lines not imported on purpose
    rejected: list[Problem] = field(default_factory=list)  # bad lines (parse's problems)


async def apply(parsed: Parsed, store: SubscriptionStore, reaches: Mapping[str, Reach],
                now: float) -> Imported:
    """Save the checked lines (idempotent), and remember how each person is reached."""
    result = Imported(rejected=list(parsed.problems))
    for line in parsed.lines:
        subscription = line.subscription
        reach = reaches.get(subscription.channel)
        user_id = subscription.conversation.split(":", 1)[1]
        if reach is not None and await reach.opted_out(user_id):
            result.kept.append(Problem(line.number, "this person said STOP; not imported"))
            continue
        existing = await store.get(subscription.conversation, now)
        if existing is not None and not existing.consent.source.startswith("import:"):
            result.kept.append(Problem(line.number, "subscribed in the chat already; their "
                                                    "own choice is kept"))
            continue
        if existing is not None and existing.expires_at == subscription.expires_at:
            subscription = replace(subscription, renewal_asked=existing.renewal_asked)
        if existing == subscription:
            result.unchanged += 1
        else:
            await store.save(subscription, now)
            result.saved += 1
        if reach is not None and line.via:
            await reach.remember(user_id, line.via, int(subscription.expires_at - now))
    return result
