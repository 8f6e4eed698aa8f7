"""The key registry: every Redis key pattern is declared once, with its owner, its expiry and how
erasure finds it. Stores build keys only through `Keys`, so a key that no declaration covers
cannot be written by accident, and a test lists every key a journey creates and checks that each
one is declared (tests/unit/test_key_registry.py).

Core patterns are declared here; a connector declares its own patterns in its module with
`declare`, so adding a channel stays one module. A template names its variable parts in braces;
`conversation`, `slot`, `scope`, `id` and `value` may contain colons (`<channel>:<user>`,
`unga-jarva:2026-11-24T08:00`, an IPv6 address), every other part may not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Owner(StrEnum):
    CONVERSATION = "conversation"  # about one person's conversation
    LEAD = "lead"                  # a warm lead (the person's name, contact, messages)
    BOOKING = "booking"            # one booking (names its conversation)
    STAFF = "staff"                # coach accounts, logins and sessions
    SYSTEM = "system"              # queues, indexes, counters


class Erasure(StrEnum):
    WITH_CONVERSATION = "deleted with the conversation (by pattern)"
    BY_OWNER = "deleted by its store's eraser (found through the conversation's index)"
    EXPIRES = "short-lived: expires by itself"
    KEPT = "kept on purpose (see the note)"
    NOT_PERSONAL = "holds nothing about a person"


PART = {"conversation": r"[^:]+:[^:]+", "slot": r".+", "value": r".+", "scope": r".+",
        "id": r".+"}
DEFAULT_PART = r"[^:]+"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class KeyPattern:
    template: str
    owner: Owner
    expiry: str
    erasure: Erasure
    note: str = ""
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    parts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(PLACEHOLDER.findall(self.template)))
        pieces, last = [], 0
        for match in PLACEHOLDER.finditer(self.template):
            pieces.append(re.escape(self.template[last:match.start()]))
            pieces.append(f"(?P<{match.group(1)}>{PART.get(match.group(1), DEFAULT_PART)})")
            last = match.end()
        pieces.append(re.escape(self.template[last:]))
        object.__setattr__(self, "regex", re.compile("".join(pieces)))

    def build(self, **parts: object) -> str:
        missing = [name for name in self.parts if name not in parts]
        if missing:
            raise KeyError(f"key {self.template!r} needs {sorted(missing)}")
        return self.template.format(**{k: str(v) for k, v in parts.items()})


REGISTRY: dict[str, KeyPattern] = {}


def declare(template: str, *, owner: Owner, expiry: str, erasure: Erasure,
            note: str = "") -> KeyPattern:
    """Declare a key pattern (once: a second declaration of the same template is an error)."""
    if template in REGISTRY:
        raise ValueError(f"key pattern {template!r} is declared twice")
    pattern = KeyPattern(template, owner, expiry, erasure, note)
    REGISTRY[template] = pattern
    return pattern


class Keys:
    """Key names under one prefix (configurable, so tests never touch other data)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, pattern: KeyPattern, **parts: object) -> str:
        return f"{self.prefix}:{pattern.build(**parts)}"

    def glob(self, pattern: KeyPattern, **parts: object) -> str:
        """A SCAN pattern: the given parts filled in (glob characters escaped), the rest `*`."""
        values = {name: _escape_glob(str(parts[name])) if name in parts else "*"
                  for name in pattern.parts}
        return f"{_escape_glob(self.prefix)}:{pattern.template.format(**values)}"

    def match(self, key: str) -> KeyPattern | None:
        """The declared pattern a full key name belongs to, or None."""
        head = f"{self.prefix}:"
        if not key.startswith(head):
            return None
        name = key[len(head):]
        return next((p for p in REGISTRY.values() if p.regex.fullmatch(name)), None)


def _escape_glob(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


RETENTION = "the retention period (LOTSEN_RETENTION_DAYS)"

# ------------------------------------------------------------------ conversations
CONV_STATE = declare("conv:{conversation}:state", owner=Owner.CONVERSATION, expiry=RETENTION,
                     erasure=Erasure.WITH_CONVERSATION)
CONV_TRANSCRIPT = declare("conv:{conversation}:transcript", owner=Owner.CONVERSATION,
                          expiry=RETENTION, erasure=Erasure.WITH_CONVERSATION)
CONV_RATE = declare("conv:{conversation}:rate:{window}", owner=Owner.CONVERSATION,
                    expiry="2 minutes", erasure=Erasure.WITH_CONVERSATION)
CONV_OPEN_LEAD = declare("conv:{conversation}:open_lead", owner=Owner.CONVERSATION,
                         expiry=RETENTION, erasure=Erasure.WITH_CONVERSATION)
CONV_LEADS = declare("conv:{conversation}:leads", owner=Owner.CONVERSATION, expiry=RETENTION,
                     erasure=Erasure.WITH_CONVERSATION,
                     note="the lead eraser reads it first to find the person's leads")

# ------------------------------------------------------------------ bookings
BOOKING = declare("booking:{code}", owner=Owner.BOOKING, expiry="slot end + retention",
                  erasure=Erasure.BY_OWNER)
BOOKING_REMINDED = declare("booking:{code}:reminded", owner=Owner.BOOKING,
                           expiry="slot end + retention", erasure=Erasure.BY_OWNER)
BOOKING_SLOT = declare("booking:slot:{slot}", owner=Owner.SYSTEM, expiry="slot end + retention",
                       erasure=Erasure.BY_OWNER, note="booking codes holding seats in one slot")
BOOKING_USER = declare("booking:user:{conversation}", owner=Owner.CONVERSATION,
                       expiry="last slot end + retention", erasure=Erasure.BY_OWNER)
BOOKING_HELD = declare("booking:held:{conversation}", owner=Owner.CONVERSATION,
                       expiry="last slot end + retention", erasure=Erasure.BY_OWNER,
                       note="every code the person held, cancelled ones too, for erasure")
BOOKING_DAY = declare("booking:day:{location}:{day}", owner=Owner.SYSTEM,
                      expiry="slot end + retention", erasure=Erasure.BY_OWNER,
                      note="booking codes of a location and day, for staff")

# ------------------------------------------------------------------ leads
LEAD = declare("lead:{lead}", owner=Owner.LEAD, expiry=RETENTION, erasure=Erasure.BY_OWNER)
LEAD_MESSAGES = declare("lead:{lead}:messages", owner=Owner.LEAD, expiry=RETENTION,
                        erasure=Erasure.BY_OWNER)
LEAD_STREAM = declare("leads:{team}", owner=Owner.SYSTEM,
                      expiry="entries trimmed after the retention period (MINID)",
                      erasure=Erasure.BY_OWNER, note="entries name lead ids; erasure XDELs")

# ------------------------------------------------------------------ jobs (bot/core/jobs.py)
JOBS_DUE = declare("jobs:due", owner=Owner.SYSTEM, expiry="none (job ids)",
                   erasure=Erasure.NOT_PERSONAL)
JOBS_RUNNING = declare("jobs:running", owner=Owner.SYSTEM, expiry="none (job ids)",
                       erasure=Erasure.NOT_PERSONAL)
JOB = declare("jobs:job:{id}", owner=Owner.CONVERSATION, expiry="2 days after it was due",
              erasure=Erasure.BY_OWNER, note="found through jobs:to:<conversation>")
JOBS_DEAD = declare("jobs:dead", owner=Owner.SYSTEM, expiry="entries pruned after the "
                    "dead-letter period", erasure=Erasure.NOT_PERSONAL, note="dead letter ids")
JOB_DEAD = declare("jobs:dead:{id}", owner=Owner.CONVERSATION,
                   expiry="LOTSEN_DEAD_LETTER_DAYS (7)", erasure=Erasure.BY_OWNER,
                   note="a job that failed five times, for an operator to retry or drop")
JOBS_TO = declare("jobs:to:{conversation}", owner=Owner.CONVERSATION,
                  expiry="its last job's expiry", erasure=Erasure.BY_OWNER,
                  note="the person's job ids, for erasure")
JOBS_WAKE = declare("jobs:wake", owner=Owner.SYSTEM, expiry="none (10 entries at most)",
                    erasure=Erasure.NOT_PERSONAL)
LIMIT = declare("limit:{name}:{subject}:{window}", owner=Owner.SYSTEM,
                expiry="its window (a minute or a day)", erasure=Erasure.EXPIRES,
                note="an abuse-limit counter; the subject is a digest, never an id or address")
WORKER_HEARTBEAT = declare("worker:heartbeat", owner=Owner.SYSTEM, expiry="30 seconds",
                           erasure=Erasure.NOT_PERSONAL)

# ------------------------------------------------------------------ staff
COACH = declare("coach:{username}", owner=Owner.STAFF, expiry="none (an account)",
                erasure=Erasure.NOT_PERSONAL)
COACH_LOGIN_FAILURES = declare("coach-login-failures:{kind}:{value}", owner=Owner.STAFF,
                               expiry="15 minutes", erasure=Erasure.EXPIRES)
COACH_SESSION = declare("coach-session:{token}", owner=Owner.STAFF,
                        expiry="LOTSEN_COACH_SESSION_HOURS", erasure=Erasure.EXPIRES)

# ------------------------------------------------------------------ content workspace
_CONTENT_NOTE = "texts the city publishes and staff usernames; nothing about a citizen"
CONTENT_DRAFTS = declare("content:drafts", owner=Owner.STAFF, expiry="none (until approved "
                         "or discarded)", erasure=Erasure.KEPT, note=_CONTENT_NOTE)
CONTENT_PUBLISHED = declare("content:published", owner=Owner.STAFF,
                            expiry="none (the live overrides of the shipped texts)",
                            erasure=Erasure.KEPT, note=_CONTENT_NOTE)
CONTENT_HISTORY = declare("content:history:{language}:{id}", owner=Owner.STAFF,
                          expiry="none (every published version, for rollback)",
                          erasure=Erasure.KEPT, note=_CONTENT_NOTE)
CONTENT_REVIEWS = declare("content:reviews", owner=Owner.STAFF,
                          expiry="none (who reviewed which text, against which source)",
                          erasure=Erasure.KEPT, note=_CONTENT_NOTE)
CONTENT_VERSION = declare("content:version", owner=Owner.SYSTEM,
                          expiry="none (a counter; also the pub/sub channel's name)",
                          erasure=Erasure.NOT_PERSONAL)
