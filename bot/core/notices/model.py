"""A notice and the checks an operator's request goes through before anything is stored: a
mistake is a `NoticeError` naming the field to fix (`texts.ar`, `ends_at`), and nothing changes.

A notice has a text per enabled language (the default language's is required: it is what a
person whose language has no text is shown), optionally the teams and districts it is about
(none: everyone), and an end time in the future, at most `MAX_DAYS_AHEAD` days ahead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.handover.teams import Teams
from bot.core.places import fold

MAX_TEXT_CHARS = 300  # sent as an SMS too: at most two GSM-7 segments
MAX_DAYS_AHEAD = 90
MAX_ACTIVE = 20       # notices at once: each is sent to every conversation
FIELDS = ("texts", "teams", "districts", "ends_at")
STOCKHOLM = ZoneInfo("Europe/Stockholm")  # a time without a UTC offset is the city's time


class NoticeError(ValueError):
    """A request that cannot be accepted: what to fix, and the field it is about."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Draft:
    """A checked request: what an operator wants posted."""

    texts: dict[str, str]
    teams: tuple[str, ...]
    districts: tuple[str, ...]
    ends_at: float


@dataclass(frozen=True)
class Notice:
    id: str
    texts: dict[str, str]
    teams: tuple[str, ...]
    districts: tuple[str, ...]
    ends_at: float
    created_by: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "texts": self.texts, "teams": list(self.teams),
                "districts": list(self.districts), "ends_at": self.ends_at,
                "created_by": self.created_by, "created_at": self.created_at}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        return cls(id=str(data["id"]), texts={str(k): str(v) for k, v in data["texts"].items()},
                   teams=tuple(str(t) for t in data.get("teams") or ()),
                   districts=tuple(str(d) for d in data.get("districts") or ()),
                   ends_at=float(data["ends_at"]), created_by=str(data.get("created_by", "")),
                   created_at=float(data.get("created_at", 0)))

    def text_in(self, language: str, fallback: str) -> tuple[str, str]:
        """(the language shown, the text): the person's, else the fallback's, else the first."""
        for code in (language, fallback):
            if code in self.texts:
                return code, self.texts[code]
        code = next(iter(self.texts))
        return code, self.texts[code]

    def applies_to(self, district: str | None, teams: Teams) -> bool:
        """Whether a person in `district` (None: not known) is meant. A notice for no team and
        no district is for everyone, and so is any notice when the district is not known (the
        person may well be there); a team stands for its districts, and the default team for
        every district no other team names."""
        if district is None or not (self.teams or self.districts):
            return True
        wanted = fold(district)
        if any(fold(d) == wanted for d in self.districts):
            return True
        named_anywhere = any(fold(d) == wanted for d in teams.districts())
        for team_id in self.teams:
            team = teams.teams.get(team_id)
            if team is None:
                continue
            if any(fold(d) == wanted for d in team.districts):
                return True
            if team_id == teams.default_team and not named_anywhere:
                return True
        return False


def read_notice(body: Mapping[str, object], *, languages: Sequence[str], required: str,
                teams: Teams, districts: Sequence[str], now: float) -> Draft:
    """The request as a `Draft`, or a `NoticeError` naming the first problem. `languages`: the
    enabled ones; `required`: the language every notice needs a text in (the default);
    `districts`: the known ones (matched case- and accent-insensitively)."""
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise NoticeError(f"Unknown field {extra[0]!r}; allowed: {', '.join(FIELDS)}.", extra[0])
    texts = _texts(body.get("texts"), languages, required)
    team_ids = _list(body, "teams")
    unknown = [t for t in team_ids if t not in teams.teams]
    if unknown:
        raise NoticeError(f'Unknown team {unknown[0]!r} in "teams"; known: '
                          f'{", ".join(teams.teams)}.', "teams")
    known = {fold(d): d for d in districts}
    wanted = _list(body, "districts")
    strange = [d for d in wanted if fold(d) not in known]
    if strange:
        raise NoticeError(f'Unknown district {strange[0]!r} in "districts"; known: '
                          f'{", ".join(districts)}.', "districts")
    return Draft(texts=texts, teams=tuple(dict.fromkeys(team_ids)),
                 districts=tuple(dict.fromkeys(known[fold(d)] for d in wanted)),
                 ends_at=_ends_at(body.get("ends_at"), now))


def _texts(value: object, languages: Sequence[str], required: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise NoticeError(f'"texts" must be an object of language -> text with at least the '
                          f'{required!r} text, e.g. {{"{required}": "..."}}.', "texts")
    texts: dict[str, str] = {}
    for language, text in value.items():
        field = f"texts.{language}"
        if language not in languages:
            raise NoticeError(f'"texts" has language {language!r}, which is not enabled; '
                              f'enabled: {", ".join(languages)}.', field)
        if not isinstance(text, str) or not text.strip():
            raise NoticeError(f"The text for {language!r} is empty.", field)
        if len(text.strip()) > MAX_TEXT_CHARS:
            raise NoticeError(f"The text for {language!r} has {len(text.strip())} characters; "
                              f"at most {MAX_TEXT_CHARS}.", field)
        texts[language] = text.strip()
    if required not in texts:
        raise NoticeError(f"A text in {required!r} is required: it is shown to everyone whose "
                          "language has no text.", f"texts.{required}")
    return texts


def _list(body: Mapping[str, object], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise NoticeError(f'"{name}" must be a list of non-empty texts (or left out: '
                          "everyone).", name)
    return [v.strip() for v in value]


def _ends_at(value: object, now: float) -> float:
    if not isinstance(value, str) or not value.strip():
        raise NoticeError('"ends_at" is required: an ISO 8601 time such as '
                          "2026-03-02T17:00:00+01:00.", "ends_at")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise NoticeError(f'"ends_at" {value!r} is not an ISO 8601 time (e.g. '
                          "2026-03-02T17:00:00+01:00).", "ends_at") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=STOCKHOLM)
    when = parsed.timestamp()
    if when <= now:
        raise NoticeError('"ends_at" is not in the future.', "ends_at")
    if when > now + MAX_DAYS_AHEAD * 24 * 3600:
        raise NoticeError(f'"ends_at" is more than {MAX_DAYS_AHEAD} days ahead.', "ends_at")
    return when
