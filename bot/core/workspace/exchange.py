"""Gettext exchange: a language's texts out as a `.po` file for a translator's tool (Poedit,
Weblate) and back in as drafts, and the published overrides out as YAML a developer commits.

A `.po` export holds the current text of every message (the published override if there is
one, else the shipped text), the text ids as extracted comments (`#. answers/info_sfi/where/
text`, as the shipped catalogs have) and, flagged `fuzzy`, every text not reviewed against the
current source, so the tool shows what needs a native speaker. An import never publishes: each
changed entry becomes a draft for a second operator, whatever its flags; entries the workspace
cannot take are reported with their id and why. One message can be several ids (the same
English words in two places): it is one text at runtime, so an import proposes for the first
id (the export puts the one whose override is live first) and notes the others.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import PoFileError, read_po, write_po

from bot.core.i18n import DOMAIN, SOURCE_LANGUAGE
from bot.core.workspace.inventory import TextItem
from bot.core.workspace.service import ContentWorkspace, Status, TextState, WorkspaceError
from bot.core.workspace.store import Draft

IMPORT_ORIGIN = "import"
PLURAL_REJECTED = "plural forms: edit in the catalog files"


class ExchangeError(Exception):
    """A file or request the exchange cannot work with; `line` (1-based) when one is to blame."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


@dataclass(frozen=True)
class ImportReport:
    language: str
    drafts: list[Draft] = field(default_factory=list)
    skipped: int = 0  # unchanged, empty, or the same as a draft already waiting
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    fuzzy: list[str] = field(default_factory=list)  # ids of drafts whose entry was fuzzy
    shared: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # id, its others


# ------------------------------------------------------------------ export
async def export_po(workspace: ContentWorkspace, language: str, *, locales_dir: Path) -> bytes:
    """The complete `.po` of `language` (UTF-8). `locales_dir` holds the shipped catalogs: their
    plural texts are exported as they are (they are edited in the catalog files), with their
    `Plural-Forms` rule, which the runtime counts with (babel's rule for the locale otherwise;
    the two differ for fa and ti)."""
    language = _known(workspace, language)
    if language == SOURCE_LANGUAGE:
        raise ExchangeError(f"{SOURCE_LANGUAGE} is the source language: its texts are the "
                            "message ids of the .po files; export it with --format yaml.")
    now = workspace.store.clock()
    catalog = Catalog(locale=language, domain=DOMAIN, project="Lotsen",
                      version=f"content {await workspace.store.version()}",
                      creation_date=now, revision_date=now, fuzzy=False,
                      language_team=f"{_name(language)} <content workspace>",
                      last_translator="Lotsen content workspace",
                      header_comment=_header(language))
    shipped = _shipped(locales_dir, language)
    if shipped is not None:  # the runtime counts with the shipped catalog's plural rule
        catalog.mime_headers = [("Plural-Forms", shipped.plural_forms)]
    plurals = shipped_plurals(locales_dir, language, shipped)
    for group in (await _messages(workspace, language)).values():
        current = group[0]
        item = current.item
        flags = [] if current.status == Status.REVIEWED else ["fuzzy"]
        comments = []
        if current.status == Status.STALE:
            comments.append("stale: the English text changed after this was reviewed")
        if current.source != item.msgid:
            comments.append(f"English now: {current.source}")
        ids = [state.item.id for state in group]
        if item.plural is None:
            catalog.add(item.msgid, current.text, auto_comments=ids, user_comments=comments,
                        flags=flags)
        else:
            forms = _padded(plurals.get(item.msgid, ()), catalog.num_plurals)
            catalog.add((item.msgid, item.plural), forms, auto_comments=ids,
                        user_comments=comments, flags=flags)
    buffer = io.BytesIO()
    write_po(buffer, catalog, sort_output=True, ignore_obsolete=True)
    return buffer.getvalue()


async def export_yaml(workspace: ContentWorkspace, language: str | None = None) -> str:
    """The published overrides, for a developer to commit back into the shipped files.

    Layout: a mapping language -> text id -> fields, languages in the workspace's order and
    ids sorted; `{}` when nothing is published. Each text's fields:

        text: the published text (what Lotsen says now)
        msgid: the shipped English text, the key of the text's entry in the .po files
        version: its number in the text's history (`content versions` in the staff panel)
        author: who wrote it; approved_by: who published it; kind: edit | rollback
        published: when (UTC, ISO 8601)

    Committing back: an `en` text replaces the source text at its id in bot/content/*.yml
    (then `make i18n-update`); any other language's text is the msgstr of `msgid` in
    locales/<language>/LC_MESSAGES/lotsen.po (or export that language with --format po).
    """
    languages = [_known(workspace, language)] if language else workspace.languages
    published = await workspace.store.published()
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for code in languages:
        for item in workspace.inventory.items.values():
            entry = published.get(f"{code}|{item.id}")
            if entry is not None:
                found.setdefault(code, {})[item.id] = _yaml_entry(item, entry)
    head = (f"# Lotsen: published content overrides, content version "
            f"{await workspace.store.version()}.\n"
            "# language -> text id -> text, msgid (the shipped English), version, author,\n"
            "# approved_by, kind, published (UTC). See bot/core/workspace/exchange.py.\n")
    body = yaml.safe_dump(found, allow_unicode=True, sort_keys=False, width=100) \
        if found else "{}\n"
    return head + body


def _yaml_entry(item: TextItem, entry: dict[str, Any]) -> dict[str, Any]:
    at = entry.get("at")
    return {"text": str(entry["text"]), "msgid": item.msgid, "version": entry.get("version"),
            "author": entry.get("author"), "approved_by": entry.get("approved_by"),
            "kind": entry.get("kind"),
            "published": datetime.fromtimestamp(float(at), UTC).isoformat(timespec="seconds")
            if at is not None else None}


# ------------------------------------------------------------------ import
async def import_po(workspace: ContentWorkspace, data: bytes, author: str,
                    language: str | None = None, *, locales_dir: Path) -> ImportReport:
    """Drafts from a translator's `.po`, by `author`; nothing is published.

    The language is `language` or the file's `Language:` header (they must agree if both are
    given). Per entry: a changed text becomes a draft (fuzzy or not; fuzzy ones are listed); an
    unchanged or empty one, or one already waiting as a draft, is skipped; an unknown id or
    English text, a changed plural, an earlier version of a since-published text, or a text
    the workspace's checks refuse is rejected with the id and why."""
    catalog = parse_po(data)
    language = _import_language(workspace, language, catalog.locale_identifier)
    messages = await _messages(workspace, language)
    by_msgid = {item.msgid: item for item in reversed(workspace.inventory.items.values())}
    waiting = {(d.language, d.id, d.text) for d in await workspace.store.drafts()}
    plurals = shipped_plurals(locales_dir, language)
    drafts: list[Draft] = []
    rejected: list[tuple[str, str]] = []
    fuzzy: list[str] = []
    shared: list[tuple[str, tuple[str, ...]]] = []
    skipped = 0
    for message in catalog:
        if not message.id:
            continue  # the header
        msgid = _singular(message.id)
        item, name, why = _item(workspace, message, msgid, by_msgid)
        if item is None or why:
            rejected.append((name, _where(message, why)))
            continue
        if item.plural is not None:
            forms = _strings(message.string)
            shipped = _padded(plurals.get(msgid, ()), len(forms))
            if not any(forms) or forms == shipped:
                skipped += 1
            else:
                rejected.append((item.id, _where(message, PLURAL_REJECTED)))
            continue
        text = _singular(message.string)
        current = messages.get(msgid)
        if not text or (current and text == current[0].text) or \
                (language, item.id, text) in waiting:
            skipped += 1
            continue
        if current and current[0].version > 0:
            older = await _older_version(workspace, current[0], text)
            if older is not None:
                rejected.append((item.id, _where(message, (
                    f"this is version {older} of the text, which version {current[0].version} "
                    "has replaced since the file was exported; export it again (a rollback is "
                    "done in the staff panel)"))))
                continue
        try:
            draft = await workspace.propose(item.id, language, text, author, IMPORT_ORIGIN)
        except WorkspaceError as exc:
            rejected.append((item.id, _where(message, exc.message)))
            continue
        drafts.append(draft)
        if message.fuzzy:
            fuzzy.append(item.id)
        if item.also:
            shared.append((item.id, item.also))
    return ImportReport(language, drafts, skipped, rejected, fuzzy, shared)


def parse_po(data: bytes) -> Catalog:
    """The catalog in `data`; ExchangeError (with the line when babel names one) if it is not
    a readable `.po` file."""
    try:
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except PoFileError as exc:
        raise ExchangeError(f"not a valid .po file: {exc.args[0] if exc.args else exc} "
                            f"({str(exc.line).strip()[:60]!r})", exc.lineno + 1) from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise ExchangeError(f"not a UTF-8 .po file ({exc})") from None
    except (ValueError, UnknownLocaleError) as exc:
        raise ExchangeError(f"not a valid .po file ({exc})") from None
    if not any(message.id for message in catalog):
        raise ExchangeError("no entries (is it a .po file?)")
    return catalog


def shipped_plurals(locales_dir: Path, language: str,
                    shipped: Catalog | None = None) -> dict[str, tuple[str, ...]]:
    """Shipped English singular -> the language's plural forms, from its catalog file."""
    shipped = shipped or _shipped(locales_dir, language)
    if shipped is None:
        return {}
    return {_singular(message.id): _strings(message.string)
            for message in shipped if message.id and message.pluralizable}


def _shipped(locales_dir: Path, language: str) -> Catalog | None:
    path = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle)


# ------------------------------------------------------------------ helpers
async def _messages(workspace: ContentWorkspace,
                    language: str) -> dict[str, list[TextState]]:
    """English msgid -> the states of its ids, the one whose text is live first: the id
    published last (as live.py chooses), else the first id."""
    groups: dict[str, list[TextState]] = {}
    for state in await workspace.states([language]):
        groups.setdefault(state.item.msgid, []).append(state)
    for states in groups.values():
        published = [s for s in states if s.version > 0 and s.review is not None]
        live = max(published, key=lambda s: s.review.at if s.review else 0.0) \
            if published else states[0]
        states.sort(key=lambda s: (s is not live, s.item.id))
    return groups


async def _older_version(workspace: ContentWorkspace, current: TextState,
                         text: str) -> int | None:
    """The number of an earlier version of the live text that is `text`, if any: a file
    exported before the last publish would otherwise undo it with its old words."""
    for version in await workspace.versions(current.item.id, current.language):
        if version["version"] != current.version and version["text"] == text:
            return int(version["version"])
    return None


def _item(workspace: ContentWorkspace, message: Message, msgid: str,
          by_msgid: dict[str, TextItem]) -> tuple[TextItem | None, str, str]:
    """(the text an entry edits, the name to report it by, why it cannot be taken or "").
    The text is the entry's first known id, else the one with its English text."""
    ids = [c.strip() for c in message.auto_comments if c.strip()]
    item = next((found for found in map(workspace.inventory.item, ids) if found), None)
    if item is None and ids:
        return None, ids[0], "no text has this id"
    if item is None:
        item = by_msgid.get(msgid)
        if item is None:
            return None, f"msgid {_short(msgid)!r}", "no text has this English text"
    if item.msgid != msgid:
        return item, item.id, (f"the English text is not this text's ({_short(item.msgid)!r}): "
                               "the file is from another version; export it again")
    if (item.plural is None) == message.pluralizable:
        return item, item.id, ("singular and plural differ from the catalog; export the file "
                               "again")
    return item, item.id, ""


def _import_language(workspace: ContentWorkspace, given: str | None,
                     header: str | None) -> str:
    named = {name: _language_of(workspace, code) for name, code in
             (("--lang", given), ("Language: header", header)) if code}
    if not named:
        raise ExchangeError("the file has no Language: header; give the language with --lang")
    for name, code in named.items():
        if code is None:
            raise ExchangeError(f"unknown language {given if name == '--lang' else header!r} "
                                f"({name}); use one of {', '.join(workspace.languages)}")
    if len(set(named.values())) > 1:
        raise ExchangeError(f"the file's Language: header says {header!r} but --lang is "
                            f"{given!r}")
    language = next(iter(named.values()))
    assert language is not None
    if language == SOURCE_LANGUAGE:
        raise ExchangeError(f"{SOURCE_LANGUAGE} is the source language: its texts are the "
                            "message ids; edit them in the staff panel")
    return language


def _language_of(workspace: ContentWorkspace, code: str) -> str | None:
    """A workspace language from a code as tools write it (`so`, `so_SO`, `so-SO`)."""
    if code in workspace.languages:
        return code
    base = re.split(r"[_\-@.]", code, maxsplit=1)[0].lower()
    return base if base in workspace.languages else None


def _known(workspace: ContentWorkspace, language: str) -> str:
    if language not in workspace.languages:
        raise ExchangeError(f"unknown language {language!r}; use one of "
                            f"{', '.join(workspace.languages)}")
    return language


def _name(language: str) -> str:
    try:
        return Locale.parse(language).english_name or language
    except (ValueError, UnknownLocaleError):
        return language


def _header(language: str) -> str:
    return (f"# {_name(language)} texts of Lotsen, from the content workspace.\n"
            "# Entries marked fuzzy are not reviewed yet. An import makes drafts\n"
            "# that a second operator approves in the staff panel.\n"
            "# Keep the #. lines: they are the ids of the texts.")


def _where(message: Message, why: str) -> str:
    return f"{why} (line {message.lineno})" if message.lineno else why


def _singular(value: object) -> str:
    if isinstance(value, tuple | list):
        return str(value[0]) if value else ""
    return str(value or "")


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple | list):
        return tuple(str(v or "") for v in value)
    return (str(value or ""),)


def _padded(forms: Sequence[str], count: int) -> tuple[str, ...]:
    return tuple(forms[:count]) + ("",) * max(0, count - len(forms))


def _short(text: str) -> str:
    return text if len(text) <= 50 else text[:47] + "..."
