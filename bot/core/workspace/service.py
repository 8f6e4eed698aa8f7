"""The content workspace's rules: what each text's status is, who may approve what, and what a
rollback publishes. Routes (bot/coach/content.py) and the CLI (bot/admin.py) both come here.

Status of a text in a language: `missing` (no text), `reviewed` (approved by an operator
against the current source text), `stale` (approved, but the source changed since), `draft`
(anything else: the shipped catalogs start here, machine-assisted and never reviewed).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.core.i18n import SOURCE_LANGUAGE
from bot.core.workspace.checks import Problem, TextLimit, check
from bot.core.workspace.inventory import Inventory, TextItem
from bot.core.workspace.readability import measure
from bot.core.workspace.store import Draft, Review, WorkspaceStore, field_of

if TYPE_CHECKING:  # facts.py builds on this module
    from bot.core.workspace.facts import Facts


class Status(StrEnum):
    MISSING = "missing"
    DRAFT = "draft"
    REVIEWED = "reviewed"
    STALE = "stale"


class WorkspaceError(Exception):
    """A request the workspace refuses; `status` is the HTTP status it means; `line`: the line
    of an edited document (a fact document's YAML) the message is about."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.line = status, message, field, line


@dataclass(frozen=True)
class TextState:
    item: TextItem
    language: str
    source: str
    text: str
    status: Status
    version: int
    review: Review | None
    draft: Draft | None


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


class ContentWorkspace:
    def __init__(self, *, store: WorkspaceStore, inventory: Inventory, languages: list[str],
                 limits: Sequence[TextLimit], lix_threshold: float,
                 facts: Facts | None = None) -> None:
        self.store = store
        self.facts = facts  # the drop-in schedule and the locations, edited the same way
        self.inventory = inventory
        self.languages = [SOURCE_LANGUAGE, *(code for code in languages
                                             if code != SOURCE_LANGUAGE)]
        self.limits = list(limits)
        self.lix_threshold = lix_threshold

    # ------------------------------------------------------------------ reading
    async def states(self, languages: Sequence[str] | None = None) -> list[TextState]:
        """Every text in every language asked for (three Redis reads in all)."""
        published = await self.store.published()
        reviews = await self.store.reviews()
        drafts = {(d.language, d.id): d for d in await self.store.drafts()}
        states = []
        for item in self.inventory.items.values():
            source = self._text(published, SOURCE_LANGUAGE, item)
            for language in languages or self.languages:
                field = field_of(language, item.id)
                text = self._text(published, language, item)
                review = reviews.get(field)
                states.append(TextState(
                    item, language, source, text, self._status(language, text, source, review),
                    int(published[field]["version"]) if field in published else 0, review,
                    drafts.get((language, item.id))))
        return states

    def _text(self, published: dict[str, dict[str, Any]], language: str, item: TextItem) -> str:
        override = published.get(field_of(language, item.id))
        if override is not None:
            return str(override["text"])
        return self.inventory.shipped.get(language, {}).get(item.msgid, "")

    @staticmethod
    def _status(language: str, text: str, source: str, review: Review | None) -> Status:
        if not text:
            return Status.MISSING
        if review is None:
            return Status.DRAFT
        if language != SOURCE_LANGUAGE and review.source_hash != source_hash(source):
            return Status.STALE
        return Status.REVIEWED

    async def summary(self) -> dict[str, dict[str, int]]:
        """Per language: how many texts have each status, and how many are over the
        readability threshold (LIX for Swedish, words per sentence elsewhere are shown only)."""
        counts: dict[str, Counter[str]] = {lang: Counter() for lang in self.languages}
        for state in await self.states():
            counts[state.language][state.status] += 1
            if self.over_threshold(state.language, state.text):
                counts[state.language]["over_threshold"] += 1
        return {lang: {key: counter.get(key, 0) for key in
                       (*(s.value for s in Status), "over_threshold")}
                for lang, counter in counts.items()}

    def over_threshold(self, language: str, text: str) -> bool:
        """LIX is a Swedish measure: only Swedish texts of 25 words or more are held to it."""
        if language != "sv" or not text:
            return False
        figures = measure(text)
        return figures.words >= 25 and figures.lix > self.lix_threshold

    # ------------------------------------------------------------------ changing
    def problems(self, text_id: str, language: str, text: str) -> tuple[TextItem, list[Problem]]:
        item = self.inventory.item(text_id)
        if item is None:
            raise WorkspaceError(404, f"No text has the id {text_id!r}.", "id")
        if language not in self.languages:
            raise WorkspaceError(400, f"Unknown language {language!r}; use one of "
                                      f"{', '.join(self.languages)}.", "language")
        if item.plural is not None:
            raise WorkspaceError(400, "This text has plural forms: edit it in a .po file "
                                      "(content export/import).", "id")
        has_short = text_id.endswith("/text") and \
            f"{text_id.removesuffix('/text')}/short" in self.inventory.items
        return item, check(text_id, item.msgid, text, self.limits, has_short)

    async def propose(self, text_id: str, language: str, text: str, author: str,
                      origin: str = "edit") -> Draft:
        """A draft, once every check passes (WorkspaceError 400 naming the field if not)."""
        _, problems = self.problems(text_id, language, text)
        if problems:
            raise WorkspaceError(400, problems[0].message, problems[0].field)
        return await self.store.add_draft(text_id, language, text, author, origin)

    async def approve(self, draft_id: str, approver: str) -> tuple[Draft, int]:
        """Publishes a draft written by someone else: (the draft, its new version)."""
        draft = await self.store.draft(draft_id)
        if draft is None:
            raise WorkspaceError(404, "No such draft (it may have been approved or discarded).")
        if draft.author == approver:
            raise WorkspaceError(403, "You wrote this draft: another operator must approve it.")
        version = await self.store.publish(
            draft_id=draft_id, text_id=draft.id, language=draft.language, text=draft.text,
            author=draft.author, approved_by=approver, kind="edit",
            source_hash=await self._source_hash(draft.id, draft.language, draft.text))
        if version is None:
            raise WorkspaceError(404, "No such draft (it may have been approved or discarded).")
        return draft, version

    async def rollback(self, text_id: str, language: str, version: int,
                       operator: str) -> int:
        """Publishes an earlier version again (it was reviewed when it was published, or is
        the shipped text): the new version's number."""
        versions = await self.versions(text_id, language)
        chosen = next((v for v in versions if v["version"] == version), None)
        if chosen is None:
            raise WorkspaceError(400, f"Version {version} does not exist; versions: "
                                      f"{', '.join(str(v['version']) for v in versions)}.",
                                 "version")
        text = str(chosen["text"])
        published = await self.store.publish(
            draft_id="", text_id=text_id, language=language, text=text, author=operator,
            approved_by=operator, kind="rollback",
            source_hash=await self._source_hash(text_id, language, text))
        assert published is not None  # no draft to lose: the script always publishes
        return published

    async def versions(self, text_id: str, language: str) -> list[dict[str, Any]]:
        """Newest first; version 0 is the shipped text."""
        item = self.inventory.item(text_id)
        if item is None:
            raise WorkspaceError(404, f"No text has the id {text_id!r}.", "id")
        if language not in self.languages:
            raise WorkspaceError(400, f"Unknown language {language!r}.", "language")
        shipped = {"version": 0, "text": self.inventory.shipped.get(language, {}).get(
            item.msgid, ""), "author": None, "approved_by": None, "at": None, "kind": "shipped"}
        return [*reversed(await self.store.history(language, text_id)), shipped]

    async def _source_hash(self, text_id: str, language: str, text: str) -> str:
        """The source a review is made against: the text itself for the source language."""
        if language == SOURCE_LANGUAGE:
            return source_hash(text)
        item = self.inventory.items[text_id]
        published = await self.store.published()
        return source_hash(self._text(published, SOURCE_LANGUAGE, item))
