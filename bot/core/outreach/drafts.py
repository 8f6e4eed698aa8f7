"""Reading a campaign request (from the API's JSON or the CLI's options, which build the same
object), checked completely before anything is stored: a mistake is a `CampaignError` that
says what to fix, and nothing changes."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.outreach.subscriptions import TOPICS, Audience
from bot.core.places import fold

MAX_NAME_CHARS = 100
MAX_TEXT_CHARS = 1000
MAX_DAYS_AHEAD = 90
FIELDS = ("name", "audience", "texts", "send_at", "fallback")
AUDIENCE_FIELDS = ("topics", "districts", "channels", "languages")


class CampaignError(ValueError):
    """A campaign request that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Draft:
    name: str
    audience: Audience
    texts: dict[str, str]
    fallback: str | None
    send_at: float | None


def read_draft(body: Mapping[str, object], *, languages: Collection[str],
               districts: Sequence[str], channels: Collection[str], now: float) -> Draft:
    """The request as a `Draft`, or a `CampaignError` naming the first problem. `languages`:
    the enabled ones; `districts`: the known ones (any spelling is matched case- and
    accent-insensitively); `channels`: those that can carry campaigns now."""
    _only(body, FIELDS, "the request")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_CHARS:
        raise CampaignError(f'"name" must be a non-empty text of at most {MAX_NAME_CHARS} '
                            "characters.")
    audience = body.get("audience")
    if not isinstance(audience, Mapping):
        raise CampaignError('"audience" must be an object with "topics" (required), '
                            '"districts", "channels" and "languages".')
    _only(audience, AUDIENCE_FIELDS, '"audience"')
    topics = _codes(audience, "topics", TOPICS)
    if not topics:
        raise CampaignError(f'"audience.topics" needs at least one topic: {", ".join(TOPICS)}.')
    known = {fold(d): d for d in districts}
    wanted = _texts_list(audience, "districts")
    unknown = [d for d in wanted if fold(d) not in known]
    if unknown:
        raise CampaignError(f'Unknown district {unknown[0]!r} in "audience.districts"; known: '
                            f'{", ".join(districts)}.')
    chosen = Audience(topics=topics,
                      districts=tuple(dict.fromkeys(known[fold(d)] for d in wanted)),
                      channels=_codes(audience, "channels", sorted(channels)),
                      languages=_codes(audience, "languages", sorted(languages)))
    texts = _read_texts(body.get("texts"), languages)
    fallback = body.get("fallback")
    if fallback is not None and (not isinstance(fallback, str) or fallback not in texts):
        raise CampaignError('"fallback" must name a language that has a text (e.g. "sv"), '
                            "or be left out.")
    return Draft(name.strip(), chosen, texts, fallback, _send_at(body.get("send_at"), now))


def _only(data: Mapping[str, object], allowed: Sequence[str], where: str) -> None:
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise CampaignError(f"Unknown field {extra[0]!r} in {where}; allowed: "
                            f"{', '.join(allowed)}.")


def _texts_list(data: Mapping[str, object], name: str) -> list[str]:
    value = data.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CampaignError(f'"audience.{name}" must be a list of non-empty texts.')
    return [v.strip() for v in value]


def _codes(data: Mapping[str, object], name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    values = _texts_list(data, name)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise CampaignError(f'Unknown value {unknown[0]!r} in "audience.{name}"; allowed: '
                            f'{", ".join(allowed) or "none"}.')
    return tuple(dict.fromkeys(values))


def _read_texts(texts: object, languages: Collection[str]) -> dict[str, str]:
    if not isinstance(texts, Mapping) or not texts:
        raise CampaignError('"texts" must be an object of language -> text, e.g. '
                            '{"sv": "...", "ar": "..."}.')
    read: dict[str, str] = {}
    for language, text in texts.items():
        if language not in languages:
            raise CampaignError(f'"texts" has language {language!r}, which is not enabled; '
                                f'enabled: {", ".join(sorted(languages))}.')
        if not isinstance(text, str) or not text.strip():
            raise CampaignError(f'The text for {language!r} is empty.')
        if len(text.strip()) > MAX_TEXT_CHARS:
            raise CampaignError(f"The text for {language!r} has {len(text.strip())} characters; "
                                f"at most {MAX_TEXT_CHARS}.")
        read[language] = text.strip()
    return read


def _send_at(value: object, now: float) -> float | None:
    if value is None:
        return None
    when = parse_instant(value, '"send_at"')
    if when < now - 60:
        raise CampaignError('"send_at" is in the past; leave it out to send when asked.')
    if when > now + MAX_DAYS_AHEAD * 24 * 3600:
        raise CampaignError(f'"send_at" is more than {MAX_DAYS_AHEAD} days ahead.')
    return when


def parse_instant(value: object, what: str) -> float:
    """An ISO 8601 time with a UTC offset (e.g. 2026-03-02T09:00:00+01:00) as a timestamp."""
    if not isinstance(value, str):
        raise CampaignError(f"{what} must be an ISO 8601 time text with a UTC offset.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CampaignError(f"{what} {value!r} is not an ISO 8601 time "
                            "(e.g. 2026-03-02T09:00:00+01:00).") from None
    if parsed.tzinfo is None:
        raise CampaignError(f"{what} {value!r} has no UTC offset (add e.g. +01:00 or Z).")
    return parsed.timestamp()
