"""Canned replies: short answers a coach sends with one click, in the person's language.

The texts live in bot/content/canned.yml (English, the gettext msgid) with their translations
in the catalogs, like every other reply; config/canned.yml says which team offers which. Both
are checked at start-up: an unknown team or reply id, or a reply without a text or title, stops
the start with the file and the entry named. A coach writes Swedish; the panel shows them the
Swedish text of what the person will get in their own language.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.i18n import Catalogs


class CannedError(ValueError):
    """The canned-reply files are invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class Canned:
    id: str
    title: str  # English source
    text: str


@dataclass(frozen=True)
class CannedReplies:
    replies: dict[str, Canned]
    default: tuple[str, ...]
    extras: dict[str, tuple[str, ...]]
    catalogs: Catalogs

    @classmethod
    def load(cls, config_path: Path, content_path: Path, catalogs: Catalogs,
             team_ids: Collection[str]) -> CannedReplies:
        content = yaml.safe_load(content_path.read_text(encoding="utf-8")) or {}
        replies: dict[str, Canned] = {}
        for reply_id, entry in (content.get("canned") or {}).items():
            if not isinstance(entry, dict) or not all(
                    isinstance(entry.get(k), str) and entry[k].strip() for k in ("title", "text")):
                raise CannedError(f"{content_path}: canned reply {reply_id!r} needs a title "
                                  "and a text")
            replies[str(reply_id)] = Canned(str(reply_id), entry["title"], entry["text"])
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}

        def ids(value: object, where: str) -> tuple[str, ...]:
            if not isinstance(value, list):
                raise CannedError(f"{config_path}: {where} must be a list of reply ids")
            unknown = [str(v) for v in value if str(v) not in replies]
            if unknown:
                raise CannedError(f"{config_path}: {where}: unknown canned reply "
                                  f"{unknown[0]!r}; known: {', '.join(replies)}")
            return tuple(dict.fromkeys(str(v) for v in value))

        default = ids(config.get("default") or [], "default")
        extras: dict[str, tuple[str, ...]] = {}
        for team, value in (config.get("teams") or {}).items():
            if team not in team_ids:
                raise CannedError(f"{config_path}: teams: unknown team {team!r} (see "
                                  "config/teams.yml)")
            extras[str(team)] = ids(value, f"teams.{team}")
        return cls(replies, default, extras, catalogs)

    def for_team(self, team: str) -> list[Canned]:
        """The team's replies: everyone's, then the team's own, each once."""
        chosen = dict.fromkeys((*self.default, *self.extras.get(team, ())))
        return [self.replies[reply_id] for reply_id in chosen]

    def offers(self, team: str, reply_id: str) -> bool:
        return reply_id in self.default or reply_id in self.extras.get(team, ())

    def text(self, reply_id: str, language: str) -> str:
        return self.catalogs.gettext(language, self.replies[reply_id].text)

    def title(self, reply_id: str, language: str) -> str:
        return self.catalogs.gettext(language, self.replies[reply_id].title)
