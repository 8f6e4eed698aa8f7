"""One job of the queue (bot/core/jobs.py): what a handler receives, its JSON form in Redis
(written and read only here), the steps of a multi-step job that already succeeded, and what
a handler's exception means for the job (retry, after how long, counted or not; dead letter).

The body is a JSON object in the job's own key: `name`, `args` (the payload), `attempts` and
`conversation` as before this module existed, plus `max_attempts`, `due` and `steps` (left out
while empty). A body written before these fields existed still runs (the queue's limit, due 0,
no steps done), and a worker that predates them ignores them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
Payload: TypeAlias = Mapping[str, JsonValue]
DEFAULT_MAX_ATTEMPTS = 5


class GiveUp(Exception):
    """The job can never succeed (e.g. the provider refused the number): a dead letter now,
    kept with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(Exception):
    """Run this job again in `delay` seconds (None: the queue's backoff, 2^attempts s).
    `failed` counts it towards the dead-letter limit (a provider error); a rate limit or the
    provider's own `retry_after` does not."""

    def __init__(self, delay: float | None, *, failed: bool = False, reason: str = "") -> None:
        super().__init__(reason or ("retry with backoff" if delay is None
                                    else f"retry in {delay:.1f} s"))
        self.delay = delay
        self.failed = failed
        self.reason = reason


class MalformedJob(ValueError):
    """A body in Redis that is not a job (names the field)."""


# ------------------------------------------------------------------ outcomes
@dataclass(frozen=True)
class Retry:
    """Run the job again: after `delay` seconds (None: the queue's backoff, 2^attempts s);
    `counted` towards the job's attempts (a failure) or not (a rate limit)."""

    delay: float | None
    counted: bool
    error: str


@dataclass(frozen=True)
class Dead:
    """Make the job a dead letter now (the attempts left do not matter)."""

    error: str


Outcome: TypeAlias = Retry | Dead


def outcome_of(exc: Exception) -> Outcome:
    """What a handler's exception means for its job. A dead letter's `error` is the exception's
    type and, for our own exceptions, their reason (never another exception's message, which
    may quote what a person wrote)."""
    if isinstance(exc, GiveUp):
        return Dead(f"GiveUp: {exc.reason}")
    if isinstance(exc, RetryLater):
        error = f"RetryLater: {exc.reason}" if exc.reason else "RetryLater"
        return Retry(exc.delay, counted=exc.failed, error=error)
    return Retry(None, counted=True, error=type(exc).__name__)


# ------------------------------------------------------------------ steps
class Steps:
    """The steps of a multi-step job that succeeded. `run` saves a step with the job as soon as
    it succeeded, so a retry, or a run after the worker died, skips it (a crash between the
    step and its saving runs it again: at least once, as every job)."""

    def __init__(self, done: Iterable[str] = ()) -> None:
        self._done = set(done)
        self._save: Callable[[], Awaitable[None]] | None = None

    @property
    def done(self) -> frozenset[str]:
        return frozenset(self._done)

    def __contains__(self, step: object) -> bool:
        return step in self._done

    def bind(self, save: Callable[[], Awaitable[None]]) -> None:
        """How to save the job with its steps (the queue binds it before the handler runs)."""
        self._save = save

    async def run(self, step: str, action: Callable[[], Awaitable[object]]) -> bool:
        """Run `action` unless `step` succeeded before; True if it ran now."""
        if step in self._done:
            return False
        await action()
        self._done.add(step)
        if self._save is not None:
            await self._save()
        return True


# ------------------------------------------------------------------ the job
@dataclass(frozen=True)
class Job:
    """One job as its handler receives it (arq's `Job` is the model). `due`: when it was last
    due (unix time; 0 for a job queued before the field existed)."""

    id: str
    name: str
    payload: Payload
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    due: float = 0.0
    conversation: str | None = None  # the person it is for, so erasure can find it
    steps: Steps = field(default_factory=Steps, compare=False, repr=False)

    def to_json(self, **extra: JsonValue) -> str:
        """The body in Redis (`extra`: a dead letter's `died` and `error`)."""
        return _body(self.name, self.payload, self.attempts, self.max_attempts, self.due,
                     self.conversation, self.steps.done, extra)

    @classmethod
    def from_json(cls, job_id: str, raw: str | bytes,
                  default_max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Job:
        """The job in `raw`; `MalformedJob` naming the field when it is not one."""
        try:
            body = json.loads(raw)
        except ValueError:
            raise MalformedJob(f"job {job_id}: the body is not JSON") from None
        if not isinstance(body, dict):
            raise MalformedJob(f"job {job_id}: the body is not a JSON object")
        name, payload = body.get("name"), body.get("args")
        if not isinstance(name, str) or not name:
            raise MalformedJob(f"job {job_id}: 'name' must be text")
        if not isinstance(payload, dict):
            raise MalformedJob(f"job {job_id}: 'args' must be an object")
        conversation, steps = body.get("conversation"), body.get("steps", [])
        if conversation is not None and not isinstance(conversation, str):
            raise MalformedJob(f"job {job_id}: 'conversation' must be text")
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise MalformedJob(f"job {job_id}: 'steps' must be a list of text")
        return cls(id=job_id, name=name, payload=payload,
                   attempts=_int(body, "attempts", 0, job_id),
                   max_attempts=_int(body, "max_attempts", default_max_attempts, job_id),
                   due=_float(body, "due", job_id),
                   conversation=conversation, steps=Steps(steps))


@dataclass(frozen=True)
class NewJob:
    """A job to schedule. `args` is its payload: JSON values (`body` raises `TypeError`
    naming the job before anything is written when it is not)."""

    name: str
    args: Mapping[str, object]
    due: float
    conversation: str | None = None  # the person it is for, so erasure can find it
    job_id: str | None = None        # a given id makes scheduling idempotent
    max_attempts: int | None = None  # None: the queue's

    def body(self, default_max_attempts: int) -> str:
        return _body(self.name, self.args, 0, self.max_attempts or default_max_attempts,
                     self.due, self.conversation, frozenset(), {})


def _body(name: str, payload: Mapping[str, object], attempts: int, max_attempts: int,
          due: float, conversation: str | None, steps: frozenset[str],
          extra: Mapping[str, JsonValue]) -> str:
    body: dict[str, object] = {"name": name, "args": dict(payload), "attempts": attempts,
                               "max_attempts": max_attempts, "due": due,
                               "conversation": conversation}
    if steps:
        body["steps"] = sorted(steps)
    body.update(extra)
    try:
        return json.dumps(body, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job {name!r}: its args must be JSON values ({exc})") from None


def _int(body: Mapping[str, object], name: str, default: int, job_id: str) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedJob(f"job {job_id}: {name!r} must be a whole number")
    return value


def _float(body: Mapping[str, object], name: str, job_id: str) -> float:
    value = body.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedJob(f"job {job_id}: {name!r} must be a number")
    return float(value)


# ------------------------------------------------------------------ reading a payload
# A payload without the field a handler needs can never succeed: `GiveUp`, naming the field.
def text_field(payload: Payload, name: str) -> str:
    """A payload field that must be text (a number is taken as its digits: chat ids)."""
    value = payload.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise GiveUp(f"the job's {name!r} must be text")


def int_field(payload: Payload, name: str) -> int:
    value = payload.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise GiveUp(f"the job's {name!r} must be a whole number")


def object_field(payload: Payload, name: str) -> dict[str, object]:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise GiveUp(f"the job's {name!r} must be an object")
    return dict(value)


def objects_field(payload: Payload, name: str) -> list[dict[str, object]]:
    value = payload.get(name)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise GiveUp(f"the job's {name!r} must be a list of objects")
    return [dict(item) for item in value if isinstance(item, dict)]
