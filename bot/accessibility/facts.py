"""The facts of the accessibility statement, from `config/accessibility.yml`.

The city edits that file, so it is validated at start-up: a wrong compliance status, a date
that is not an ISO date or a missing field stops the gateway with the file and line named,
instead of publishing a statement that says something wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml


class Compliance(StrEnum):
    """How far the service meets the law (the statement's wording depends on it)."""

    FULLY = "fully"
    PARTIALLY = "partially"
    NOT = "not"


LANGUAGES = ("sv", "en")
COMPLIANCE = tuple(Compliance)
FIELDS = ("sample", "organisation", "service_name", "contact", "response_working_days",
          "compliance", "digg_report_url", "statement_made", "last_reviewed", "known_problems")
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
URL = re.compile(r"^https?://[^\s<>\"]+$")
LINES = "__lines__"  # per mapping: the line of each key, so an error names the right line


class StatementError(ValueError):
    """The statement's config is invalid; the message names the file and line."""


@dataclass(frozen=True)
class Text:
    """One text in each language of the statement."""

    sv: str
    en: str

    def in_language(self, language: str) -> str:
        return self.en if language == "en" else self.sv


@dataclass(frozen=True)
class StatementFacts:
    sample: bool
    organisation: Text
    service_name: Text
    email: str | None
    form_url: str | None
    response_working_days: int
    compliance: Compliance
    digg_report_url: str
    statement_made: date
    last_reviewed: date
    known_problems: tuple[Text, ...]

    @classmethod
    def load(cls, path: Path) -> StatementFacts:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
        except OSError as exc:
            raise StatementError(f"{path}: cannot be read ({exc.strerror}): the gateway needs "
                                 "it for the accessibility statement") from exc
        except yaml.YAMLError as exc:
            raise StatementError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise StatementError(f"{path}: expected a mapping at the top")
        return _Parser(path).facts(data)


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every key of every mapping under `__lines__`."""

    # Any: the signature of SafeLoader's own method (keys and values are any YAML).
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        lines = {"": node.start_mark.line + 1}
        lines.update({str(key.value): key.start_mark.line + 1 for key, _ in node.value})
        mapping[LINES] = lines
        return mapping


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, entry: Mapping[str, object], key: str, message: str) -> StatementError:
        lines = entry.get(LINES)
        line = (lines.get(key) or lines.get("")) if isinstance(lines, dict) else None
        return StatementError(f"{self.path}:{line}: {message}" if line else
                              f"{self.path}: {message}")

    def facts(self, data: Mapping[str, object]) -> StatementFacts:
        for key in data:
            if key != LINES and key not in FIELDS:
                raise self.fail(data, key, f"unknown field {key!r} (known: {', '.join(FIELDS)})")
        for key in FIELDS:
            if key not in data:
                raise self.fail(data, "", f"the field '{key}' is missing")
        sample = data["sample"]
        if not isinstance(sample, bool):
            raise self.fail(data, "sample", "'sample' must be true or false")
        named = data["compliance"]
        if not isinstance(named, str) or named not in COMPLIANCE:
            raise self.fail(data, "compliance", f"'compliance' must be one of "
                            f"{', '.join(COMPLIANCE)}, not {named!r}")
        compliance = Compliance(named)
        made, reviewed = self.date(data, "statement_made"), self.date(data, "last_reviewed")
        if reviewed < made:
            raise self.fail(data, "last_reviewed", "'last_reviewed' is before 'statement_made'")
        problems = self.problems(data)
        if compliance is not Compliance.FULLY and not problems:
            raise self.fail(data, "known_problems", f"compliance '{compliance}' needs at least "
                            "one known problem: say what is not accessible and why")
        email, form_url = self.contact(data)
        days = data["response_working_days"]
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise self.fail(data, "response_working_days",
                            "'response_working_days' must be a whole number >= 1")
        return StatementFacts(
            sample=sample, organisation=self.text(data, "organisation"),
            service_name=self.text(data, "service_name"), email=email, form_url=form_url,
            response_working_days=days, compliance=compliance,
            digg_report_url=self.url(data, "digg_report_url"), statement_made=made,
            last_reviewed=reviewed, known_problems=problems)

    def text(self, entry: Mapping[str, object], key: str) -> Text:
        """A plain text (the same in every language) or a mapping {sv: ..., en: ...}."""
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return Text(sv=" ".join(value.split()), en=" ".join(value.split()))
        if isinstance(value, dict):
            return self.texts(value, f"'{key}'")
        raise self.fail(entry, key, f"'{key}' must be a text or a mapping with "
                        f"{' and '.join(LANGUAGES)} texts")

    def texts(self, value: Mapping[str, object], what: str) -> Text:
        texts: dict[str, str] = {}
        for language in LANGUAGES:
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                raise self.fail(value, language, f"{what} needs a non-empty '{language}' text")
            texts[language] = " ".join(text.split())
        return Text(**texts)

    def date(self, entry: Mapping[str, object], key: str) -> date:
        value = entry.get(key)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            if isinstance(value, str) and len(value) == 10:
                return date.fromisoformat(value)
        except ValueError:
            pass
        raise self.fail(entry, key, f"'{key}' must be an ISO date (YYYY-MM-DD), "
                        f"not {value!r}")

    def url(self, entry: Mapping[str, object], key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not URL.match(value.strip()):
            raise self.fail(entry, key, f"'{key}' must be a web address starting with "
                            "https:// (or http://)")
        return value.strip()

    def contact(self, data: Mapping[str, object]) -> tuple[str | None, str | None]:
        contact = data["contact"]
        if not isinstance(contact, dict):
            raise self.fail(data, "contact", "'contact' must be a mapping with 'email' "
                            "and/or 'form_url'")
        unknown = [k for k in contact if k not in (LINES, "email", "form_url")]
        if unknown:
            raise self.fail(contact, unknown[0], f"unknown contact field {unknown[0]!r} "
                            "(known: email, form_url)")
        email = contact.get("email")
        if email is not None and (not isinstance(email, str) or not EMAIL.match(email.strip())):
            raise self.fail(contact, "email", f"'email' is not an e-mail address: {email!r}")
        form_url = self.url(contact, "form_url") if contact.get("form_url") is not None else None
        if not email and not form_url:
            raise self.fail(data, "contact", "'contact' needs an 'email' or a 'form_url' "
                            "where people can report problems")
        return (email.strip() if email else None), form_url

    def problems(self, data: Mapping[str, object]) -> tuple[Text, ...]:
        items = data["known_problems"]
        if items is None:
            return ()
        if not isinstance(items, list):
            raise self.fail(data, "known_problems", "'known_problems' must be a list of "
                            "{sv: ..., en: ...} texts")
        problems = []
        for item in items:
            if not isinstance(item, dict):
                raise self.fail(data, "known_problems", "every known problem must be a "
                                "mapping with an 'sv' and an 'en' text")
            unknown = [k for k in item if k not in (LINES, *LANGUAGES)]
            if unknown:
                raise self.fail(item, unknown[0], f"unknown field {unknown[0]!r} in a known "
                                f"problem (known: {', '.join(LANGUAGES)})")
            problems.append(self.texts(item, "a known problem"))
        return tuple(problems)
