"""Telegram's errors as the job queue's outcomes, mapped in this one place for every Bot API call
a job makes (outbox sends, campaign sends, callback answers, a group's refusal and leave).

- RetryAfter (429): `RetryLater` after Telegram's own seconds, not counted (a rate limit).
- Forbidden (403): `Blocked`, a `GiveUp`: the person blocked the bot, or the bot is no longer
  in the chat. A caller that can act on it catches it (the sender opts the person out; a group
  the bot was removed from is left already); otherwise the job becomes a dead letter.
- BadRequest (400): `GiveUp` with the words Telegram's reason starts with ("Chat not found",
  "Can't parse entities"): the rest of a reason can quote the message sent, which is kept
  out of dead letters and logs (the same call can never succeed).
- Any other network error (TimedOut, a 5xx, no connection): `RetryLater` counted against the
  job's attempts, with the queue's backoff.
Other Telegram errors (a wrong token, a migrated group) are left to the queue as failures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.core.jobs import GiveUp, RetryLater

REASON_WORDS = re.compile(r"[A-Za-z' ]*")


class Blocked(GiveUp):
    """Telegram answered Forbidden: blocked by the person, or no longer in the chat."""


@contextmanager
def telegram_outcome(call: str) -> Iterator[None]:
    """Around one Bot API call (`call` names it in a dead letter's reason)."""
    try:
        yield
    except RetryAfter as exc:
        raise RetryLater(seconds(exc.retry_after), reason="telegram retry_after") from exc
    except Forbidden as exc:
        raise Blocked(f"telegram {call}: forbidden") from exc
    except BadRequest as exc:  # before NetworkError: BadRequest is one
        raise GiveUp(f"telegram refused {call}: {reason_words(exc.message)}") from exc
    except NetworkError as exc:
        raise RetryLater(None, failed=True,
                         reason=f"telegram {call}: {type(exc).__name__}") from exc


def reason_words(message: str) -> str:
    """The leading words of Telegram's reason, up to anything that is not a plain word."""
    words = REASON_WORDS.match(message.removeprefix("Bad Request: "))
    return (words.group(0).strip() if words else "") or "BadRequest"


def seconds(value: object) -> float:
    """RetryAfter's `retry_after`: a timedelta, or seconds in older releases."""
    total = getattr(value, "total_seconds", None)
    if callable(total):
        return float(total())
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"retry_after is neither seconds nor a timedelta: {type(value).__name__}")
