"""The statement as an HTML page in Swedish or English: prose from `statement.yml`, facts from
`config/accessibility.yml`, laid out by `statement.html`.

Every text is escaped before it reaches the page (the facts are typed by people), and the page
has no inline style or script, so it works under the gateway's strict Content-Security-Policy.
Dates are formatted with babel for the page's language, with the ISO date in `<time>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from html import escape
from pathlib import Path
from string import Template

import yaml
from babel.dates import format_date

from bot.accessibility.facts import LANGUAGES, StatementFacts

HERE = Path(__file__).resolve().parent
PROSE = HERE / "statement.yml"
TEMPLATE = HERE / "statement.html"
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/accessibility/static"
PATHS = {"sv": "/tillganglighet", "en": "/accessibility"}
LOCALES = {"sv": "sv_SE", "en": "en_GB"}
Fill = Callable[[str], str]  # prose -> safe HTML with the facts put in


@dataclass(frozen=True)
class Words:
    """One language's prose from `statement.yml`: a text, or paragraphs (a text or a list of
    them), some per compliance status; a value of the wrong shape is a ValueError naming it."""

    path: Path
    texts: Mapping[str, object]

    def _value(self, key: str, case: str | None) -> object:
        value = self.texts[key]
        if case is None:
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"{self.path}: {key!r} must have a text per compliance status")
        return value[case]

    def text(self, key: str) -> str:
        value = self._value(key, None)
        if not isinstance(value, str):
            raise ValueError(f"{self.path}: {key!r} must be a text")
        return value

    def paragraphs(self, key: str, case: str | None = None) -> list[str]:
        value = self._value(key, case)
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ValueError(f"{self.path}: {key!r} must be a text or a list of texts")
        return [str(t) for t in value]


@cache
def prose(path: Path = PROSE) -> dict[str, Words]:
    """The texts of each language; both must have the same keys, so no section goes missing."""
    texts = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(texts, Mapping):
        raise ValueError(f"{path}: expected a mapping of languages")
    by_language: dict[str, Mapping[str, object]] = {}
    for language in LANGUAGES:
        words = texts.get(language) or {}
        if not isinstance(words, Mapping):
            raise ValueError(f"{path}: {language!r} must be a mapping of texts")
        by_language[language] = words
    keys = {language: set(words) for language, words in by_language.items()}
    if keys["sv"] != keys["en"]:
        raise ValueError(f"{path}: sv and en differ in {sorted(keys['sv'] ^ keys['en'])}")
    return {language: Words(path, words) for language, words in by_language.items()}


def render(facts: StatementFacts, language: str) -> str:
    """The whole page in `language` ("sv" or "en")."""
    if language not in LANGUAGES:
        raise ValueError(f"no statement in {language!r}: only {', '.join(LANGUAGES)}")
    words = prose()[language]
    other = "en" if language == "sv" else "sv"
    values = {"organisation": escape(facts.organisation.in_language(language)),
              "service": escape(facts.service_name.in_language(language)),
              "days": str(facts.response_working_days),
              "made": _date(facts.statement_made, language),
              "reviewed": _date(facts.last_reviewed, language)}

    def fill(text: str) -> str:
        """Plain prose made safe, then the (already escaped) facts put in."""
        return Template(escape(" ".join(text.split()))).substitute(values)

    def heading(key: str) -> str:
        return fill(words.text(key))

    def paragraphs(key: str, case: str | None = None) -> str:
        return "\n".join(f"    <p>{fill(t)}</p>" for t in words.paragraphs(key, case))

    days = "response_time_one" if facts.response_working_days == 1 else "response_time_many"
    page = {
        "lang": language, "title": heading("title"), "css": f"{STATIC_PREFIX}/statement.css",
        "other_lang": other, "other_href": PATHS[other],
        "other_label": escape(prose()[other].text("this_language")),
        "navigation": heading("navigation"), "back_to_chat": heading("back_to_chat"),
        "notice": _notice(words, fill) if facts.sample else "",
        "intro": paragraphs("intro"),
        "status_heading": heading("status_heading"),
        "status": paragraphs("status", facts.compliance),
        "alternatives_heading": heading("alternatives_heading"),
        "alternatives": paragraphs("alternatives"),
        "report_heading": heading("report_heading"), "report": paragraphs("report"),
        "contact": _contact(facts, words, fill), "response_time": paragraphs(days),
        "supervision_heading": heading("supervision_heading"),
        "supervision": paragraphs("supervision"),
        "digg_href": escape(facts.digg_report_url), "digg_link": heading("digg_link"),
        "technical_heading": heading("technical_heading"),
        "technical": paragraphs("technical", facts.compliance),
        "problems_heading": heading("problems_heading"),
        "problems": _problems(facts, language, paragraphs),
        "method_heading": heading("method_heading"), "method": paragraphs("method"),
        "dates": paragraphs("dates"),
    }
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(page)


def _date(day: date, language: str) -> str:
    shown = format_date(day, format="long", locale=LOCALES[language])
    return f'<time datetime="{day.isoformat()}">{escape(shown)}</time>'


def _notice(words: Words, fill: Fill) -> str:
    return (f'    <p class="notice"><strong>{fill(words.text("sample_label"))}</strong> '
            f'{fill(words.text("sample_notice"))}</p>')


def _contact(facts: StatementFacts, words: Words, fill: Fill) -> str:
    items = []
    if facts.email:
        email = escape(facts.email)
        items.append(f'{fill(words.text("email_label"))} <a href="mailto:{email}">{email}</a>')
    if facts.form_url:
        items.append(f'{fill(words.text("form_label"))} '
                     f'<a href="{escape(facts.form_url)}">{fill(words.text("form_link"))}</a>')
    lines = "\n".join(f"      <li>{item}</li>" for item in items)
    return f'    <ul class="contact">\n{lines}\n    </ul>'


def _problems(facts: StatementFacts, language: str, paragraphs: Fill) -> str:
    if not facts.known_problems:
        return paragraphs("no_problems")
    items = "\n".join(f"      <li>{escape(p.in_language(language))}</li>"
                      for p in facts.known_problems)
    return f'{paragraphs("problems")}\n    <ul class="problems">\n{items}\n    </ul>'
