"""Canned replies: the shipped files load, every reply is translated into every enabled
language, a team gets everyone's replies and its own once each, and a mistake in the files
names the file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ROOT
from bot.core.handover.canned import CannedError, CannedReplies
from bot.core.handover.teams import Teams
from bot.core.i18n import SOURCE_LANGUAGE, Catalogs, LanguageTable

CONTENT = ROOT / "bot" / "content" / "canned.yml"
LANGUAGES = LanguageTable.load(ROOT / "bot" / "content" / "languages.yml")
CATALOGS = Catalogs(ROOT / "locales", LANGUAGES)
TEAMS = Teams.load(ROOT / "config" / "teams.yml").teams


def load(config: Path = ROOT / "config" / "canned.yml", content: Path = CONTENT) -> CannedReplies:
    return CannedReplies.load(config, content, CATALOGS, TEAMS)


def test_every_reply_is_translated_into_every_enabled_language() -> None:
    canned = load()
    assert len(canned.replies) >= 6
    for reply_id, reply in canned.replies.items():
        for language in LANGUAGES.enabled:
            text, title = canned.text(reply_id, language), canned.title(reply_id, language)
            if language == SOURCE_LANGUAGE:
                assert (text, title) == (reply.text, reply.title)
            else:
                assert text != reply.text and title != reply.title, (reply_id, language)


def test_a_team_gets_everyones_replies_then_its_own_once_each() -> None:
    canned = load()
    jarva = [reply.id for reply in canned.for_team("jobbtorg-unga-jarva")]
    assert jarva[:len(canned.default)] == list(canned.default)
    assert "dropin" in jarva and len(jarva) == len(set(jarva))
    farsta = [reply.id for reply in canned.for_team("jobbtorg-farsta")]
    assert farsta == list(canned.default)
    assert canned.offers("jobbtorg-unga-jarva", "dropin")
    assert not canned.offers("jobbtorg-farsta", "dropin")
    assert not canned.offers("jobbtorg-farsta", "no-such-reply")


@pytest.mark.parametrize(("config", "content", "message"), [
    ("default: [greeting]\nteams:\n  no-such-team: [greeting]\n", None, "unknown team"),
    ("default: [greeting, shout]\n", None, "unknown canned reply 'shout'"),
    ("default: greeting\n", None, "must be a list"),
    ("default: [greeting]\n", "canned:\n  greeting: {title: Hi}\n", "needs a title and a text"),
])
def test_a_mistake_names_the_file_and_the_entry(tmp_path, config: str, content: str | None,
                                                message: str) -> None:
    config_file = tmp_path / "canned.yml"
    config_file.write_text(config, encoding="utf-8")
    content_file = CONTENT
    if content is not None:
        content_file = tmp_path / "content.yml"
        content_file.write_text(content, encoding="utf-8")
    with pytest.raises(CannedError, match=message) as raised:
        load(config_file, content_file)
    assert str(config_file if content is None else content_file) in str(raised.value)
