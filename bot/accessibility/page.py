"""The statement as an HTML page in Swedish or English: prose from `statement.yml`, facts from
`config/accessibility.yml`, laid out by `statement.html`.

Every text is escaped before it reaches the page (the facts are typed by people), and the page
has no inline style or script, so it works under the gateway's strict Content-Security-Policy.
Dates are formatted with babel for the page's language, with the ISO date in `<time>`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache
from html import escape
from pathlib import Path
from string import Template
from typing import Any

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


@cache
def prose(path: Path = PROSE) -> dict[str, dict[str, Any]]:
    """The texts of each language; both must have the same keys, so no section goes missing."""
    texts = yaml.safe_load(path.read_text(encoding="utf-8"))
    keys = {language: set(texts.get(language) or {}) for language in LANGUAGES}
    if keys["sv"] != keys["en"]:
        raise ValueError(f"{path}: sv and en differ in {sorted(keys['sv'] ^ keys['en'])}")
    return texts


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

    def paragraphs(texts: str | list[str], css: str = "") -> str:
        attribute = f' class="{css}"' if css else ""
        items = [texts] if isinstance(texts, str) else texts
        return "\n".join(f"    <p{attribute}>{fill(t)}</p>" for t in items)

    days = "response_time_one" if facts.response_working_days == 1 else "response_time_many"
    page = {
        "lang": language, "title": fill(words["title"]), "css": f"{STATIC_PREFIX}/statement.css",
        "other_lang": other, "other_href": PATHS[other],
        "other_label": escape(prose()[other]["this_language"]),
        "navigation": fill(words["navigation"]), "back_to_chat": fill(words["back_to_chat"]),
        "notice": _notice(words, fill) if facts.sample else "",
        "intro": paragraphs(words["intro"]),
        "status_heading": fill(words["status_heading"]),
        "status": paragraphs(words["status"][facts.compliance]),
        "alternatives_heading": fill(words["alternatives_heading"]),
        "alternatives": paragraphs(words["alternatives"]),
        "report_heading": fill(words["report_heading"]), "report": paragraphs(words["report"]),
        "contact": _contact(facts, words, fill), "response_time": paragraphs(words[days]),
        "supervision_heading": fill(words["supervision_heading"]),
        "supervision": paragraphs(words["supervision"]),
        "digg_href": escape(facts.digg_report_url), "digg_link": fill(words["digg_link"]),
        "technical_heading": fill(words["technical_heading"]),
        "technical": paragraphs(words["technical"][facts.compliance]),
        "problems_heading": fill(words["problems_heading"]),
        "problems": _problems(facts, language, words, paragraphs),
        "method_heading": fill(words["method_heading"]), "method": paragraphs(words["method"]),
        "dates": paragraphs(words["dates"]),
    }
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(page)


def _date(day: date, language: str) -> str:
    shown = format_date(day, format="long", locale=LOCALES[language])
    return f'<time datetime="{day.isoformat()}">{escape(shown)}</time>'


def _notice(words: dict[str, Any], fill: Fill) -> str:
    return (f'    <p class="notice"><strong>{fill(words["sample_label"])}</strong> '
            f'{fill(words["sample_notice"])}</p>')


def _contact(facts: StatementFacts, words: dict[str, Any], fill: Fill) -> str:
    items = []
    if facts.email:
        email = escape(facts.email)
        items.append(f'{fill(words["email_label"])} <a href="mailto:{email}">{email}</a>')
    if facts.form_url:
        items.append(f'{fill(words["form_label"])} '
                     f'<a href="{escape(facts.form_url)}">{fill(words["form_link"])}</a>')
    lines = "\n".join(f"      <li>{item}</li>" for item in items)
    return f'    <ul class="contact">\n{lines}\n    </ul>'


def _problems(facts: StatementFacts, language: str, words: dict[str, Any],
              paragraphs: Fill) -> str:
    if not facts.known_problems:
        return paragraphs(words["no_problems"])
    items = "\n".join(f"      <li>{escape(p.in_language(language))}</li>"
                      for p in facts.known_problems)
    return f'{paragraphs(words["problems"])}\n    <ul class="problems">\n{items}\n    </ul>'
