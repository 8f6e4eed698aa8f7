"""The Cloud API's errors as the job queue's outcomes, mapped in this one place for every Graph
API call a job makes (sends, templates, mark-as-read) and for the `failed` statuses webhooks
report later. Meta's advice is to act on the numeric `code`, never on the title or message
(developers.facebook.com, WhatsApp "Error codes"); a reason kept in a dead letter names the
code and our own words, never the API's message, which can quote what was sent.

- 131047 (re-engagement: more than 24 hours since the person last wrote): `OutsideWindow`, a
  `GiveUp` the sender catches to send the same message once as its template.
- 130429 (throughput reached), 131056 (too many messages to one person), 80007 (the account's
  rate limit), 4 (the app's call limit), HTTP 429: `RetryLater` after a pause, not counted:
  the message is not lost and a rate limit is not a failure.
- 131026 (undeliverable: not on WhatsApp, an old app, terms not accepted): `GiveUp`.
- 190 (the access token expired or is invalid), HTTP 401: `TokenRejected`, a `GiveUp`; the
  sender records it so `/readyz` warns.
- 1, 2, 131000, 133004 (temporary), HTTP 5xx, no connection: `RetryLater` counted, with the
  queue's backoff.
- Anything else (a malformed request, a template not approved): `GiveUp` naming the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from bot.core.jobs import GiveUp, RetryLater

OUTSIDE_WINDOW = 131047
UNDELIVERABLE = 131026
# Rate limits and the pause before trying again (seconds): the Cloud API's throughput is per
# second, a person's own limit lets one message through every few seconds.
RATE_LIMITS: Mapping[int, float] = {130429: 1.0, 131056: 6.0, 80007: 60.0, 4: 60.0}
TOKEN_CODES = frozenset({190})
TRANSIENT = frozenset({1, 2, 131000, 133004})


class OutsideWindow(GiveUp):
    """131047: a free-form message outside the 24-hour window; its template may be sent."""


class TokenRejected(GiveUp):
    """190 or HTTP 401: the access token expired or is not valid; nothing can be sent."""


def error_code(answer: object) -> int | None:
    """The Graph API error's `code` in an answer ({"error": {"code": ...}}), if any."""
    if not isinstance(answer, Mapping):
        return None
    found = answer.get("error")
    return _code(found.get("code")) if isinstance(found, Mapping) else None


def status_code(status: Mapping[str, object]) -> int | None:
    """The first error code of a `failed` status (`statuses[].errors[].code`), if any."""
    errors = status.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        return _code(errors[0].get("code"))
    return None


def _code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def raise_for(call: str, http_status: int, code: int | None) -> NoReturn:
    """Raise the outcome of a refused Graph API call (`call` names it in the reason)."""
    named = f"error {code}" if code is not None else f"HTTP {http_status}"
    if code == OUTSIDE_WINDOW:
        raise OutsideWindow(f"whatsapp {call}: {OUTSIDE_WINDOW} outside the 24-hour window")
    if code in RATE_LIMITS or (code is None and http_status == 429):
        raise RetryLater(RATE_LIMITS.get(code or 0, 5.0), reason=f"whatsapp rate limit ({named})")
    if code == UNDELIVERABLE:
        raise GiveUp(f"whatsapp {call}: {UNDELIVERABLE} undeliverable (not on WhatsApp, an old "
                     "app, or the terms not accepted)")
    if code in TOKEN_CODES or (code is None and http_status == 401):
        raise TokenRejected(f"whatsapp {call}: the access token was rejected ({named}): set a "
                            "new LOTSEN_WHATSAPP_TOKEN")
    if code in TRANSIENT or http_status >= 500:
        raise RetryLater(None, failed=True, reason=f"whatsapp {call}: {named}")
    raise GiveUp(f"whatsapp refused {call}: {named}")


def failure_reason(code: int | None) -> str:
    """A dead letter's reason for a message a `failed` status reported."""
    if code == UNDELIVERABLE:
        return (f"whatsapp reported {UNDELIVERABLE}: undeliverable (not on WhatsApp, an old app, "
                "or the terms not accepted)")
    return f"whatsapp reported the message failed (error {code})" if code is not None \
        else "whatsapp reported the message failed (no error code)"
