"""A copy of one person's data in three forms: JSON (a stable structure, documented in
docs/privacy.md "A copy of one's data"), a readable HTML page in the person's language, and the
short summary the chat answers with (counts per group and when each expires).

The JSON keeps the stores' plain values and documented codes (`"from": "you"`, `"status":
"booked"`); the page and the summary put them in words from the content texts (`access_*` in
bot/content/replies.yml). The page is plain semantic HTML: headings per group, tables and
description lists, no script and no inline style (it is also served under the gateway's strict
Content-Security-Policy), `lang` and `dir` of the person's language, every text escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time

from bot.core.access.data import (
    BOOKINGS,
    CAMPAIGNS,
    CHAT_LOG,
    CITY_NOTICES,
    GROUPS,
    HANDOVER,
    MESSAGES,
    OPT_OUT,
    SATISFACTION,
    SUBSCRIPTION,
    PersonalData,
    Record,
    Section,
    Value,
    instant,
    iso,
)
from bot.core.content import Content
from bot.core.handover.flow import CONTACT_CHAT, CONTACT_PHONE, OTHER_DISTRICT
from bot.core.handover.flow import TOPIC as HANDOVER_TOPIC
from bot.core.outreach.flow import area_text, topics_text

FORMAT = "lotsen.personal-data/1"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
SINGLE = (SUBSCRIPTION, HANDOVER, SATISFACTION)  # one record at most: no count in the summary


# ------------------------------------------------------------------ JSON
def as_json(data: PersonalData) -> dict[str, Value]:
    """The copy as JSON values: `format`, `generated_at`, `channel`, `language`, and `groups`
    with every group of GROUPS (`kept_until`: ISO time or null; `items`: its records)."""
    groups: dict[str, Value] = {}
    for group in GROUPS:
        section = data.section(group)
        groups[group] = {"kept_until": iso(section.kept_until)
                         if section.kept_until is not None else None,
                         "items": list(section.items)}
    return {"format": FORMAT, "generated_at": iso(data.generated_at), "channel": data.channel,
            "language": data.language, "groups": groups}


def filename(data: PersonalData, suffix: str) -> str:
    """The copy's file name: `lotsen-data-<Stockholm date>.<suffix>` (no name or number)."""
    day = datetime.fromtimestamp(data.generated_at, STOCKHOLM).date()
    return f"lotsen-data-{day.isoformat()}.{suffix}"


def json_bytes(data: PersonalData) -> bytes:
    """The JSON file: UTF-8, indented, the same bytes for the same data."""
    return (json.dumps(as_json(data), ensure_ascii=False, indent=2) + "\n").encode()


# ------------------------------------------------------------------ words
@dataclass(frozen=True)
class Words:
    """The content texts and date formats of one language."""

    content: Content
    language: str

    @property
    def locale(self) -> Locale:
        return self.content.languages.languages[self.language].babel_locale

    def text(self, key: str, **values: object) -> str:
        return self.content.text(key, self.language, **values)

    def title(self, payload: str) -> str:
        return self.content.button(payload, self.language).title

    def day(self, when: float, short: bool = False) -> str:
        local = datetime.fromtimestamp(when, STOCKHOLM).date()
        return format_date(local, "medium" if short else "long", locale=self.locale)

    def moment(self, when: str) -> str:
        local = instant(when).astimezone(STOCKHOLM)
        return f"{format_date(local.date(), 'medium', locale=self.locale)} " \
               f"{format_time(local, 'short', tzinfo=STOCKHOLM, locale=self.locale)}"

    def heading(self, group: str) -> str:
        return self.text(f"access_group_{group}")

    def code(self, prefix: str, value: Value) -> str:
        """A documented code (`booked`, `waiting`) in words: the text `<prefix><code>`; the code
        itself for one that has none (a status added later)."""
        key = f"{prefix}{value}"
        return self.text(key) if self.content.has(key) else str(value or "")

    def language_name(self, code: Value) -> str:
        languages = self.content.languages.languages
        return languages[code].native if isinstance(code, str) and code in languages \
            else str(code or "")


# ------------------------------------------------------------------ the chat's summary
def summary_lines(data: PersonalData, words: Words, short: bool = False) -> list[str]:
    """One line per group that holds something: its name, how many, until when; then whether
    the conversation said STOP."""
    lines = []
    for group in GROUPS:
        section = data.section(group)
        if group == OPT_OUT or not section.items or section.kept_until is None:
            continue
        date = words.day(section.kept_until, short)
        if group in SINGLE:
            lines.append(words.text("access_line_one", group=words.heading(group), date=date))
        else:
            lines.append(words.text("access_line", group=words.heading(group),
                                    count=len(section.items), date=date))
    if data.stopped:
        lines.append(words.text("access_opt_out_yes"))
    return lines


# ------------------------------------------------------------------ the page
def _time(words: Words, when: Value) -> str:
    if not isinstance(when, str):
        return ""
    return f'<time datetime="{escape(when)}">{escape(words.moment(when))}</time>'


def _cell(text: str, html: bool = False) -> str:
    """A table cell; a text's own line breaks (a numbered menu) stay line breaks."""
    return f'<td dir="auto">{text if html else escape(text).replace(chr(10), "<br>")}</td>'


def _table(words: Words, labels: list[str], rows: list[list[str]]) -> list[str]:
    """A table with column headings; each row's cells are HTML already."""
    head = "".join(f'<th scope="col">{escape(words.text(label))}</th>' for label in labels)
    body = ["<tr>" + "".join(row) + "</tr>" for row in rows]
    return ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>", *body, "</tbody>",
            "</table>"]


def _details(words: Words, pairs: list[tuple[str, str]]) -> list[str]:
    """A description list of (label key, HTML value); empty values are left out."""
    lines = ["<dl>"]
    for label, value in pairs:
        if value:
            lines += [f"<dt>{escape(words.text(label))}</dt>", f'<dd dir="auto">{value}</dd>']
    return [*lines, "</dl>"]


def _speaker(words: Words, item: Record) -> str:
    said_by = item.get("from")
    if said_by == "you":
        return words.text("access_from_you")
    if said_by == "coach":
        name = item.get("name")
        coach = words.text("access_from_coach")
        return f"{coach} ({name})" if isinstance(name, str) and name else coach
    return words.text("access_from_lotsen")


def _messages(words: Words, items: list[Record]) -> list[str]:
    rows = [[_cell(_time(words, item.get("at")), html=True), _cell(_speaker(words, item)),
             _cell(str(item.get("text") or ""))] for item in items]
    return _table(words, ["access_label_time", "access_label_from", "access_label_text"], rows)


def _sent(words: Words, items: list[Record], when: str) -> list[str]:
    rows = [[_cell(_time(words, item.get(when)), html=True), _cell(str(item.get("text") or ""))]
            for item in items]
    return _table(words, ["access_label_time", "access_label_text"], rows)


def _bookings(words: Words, items: list[Record]) -> list[str]:
    rows = []
    for item in items:
        status = words.code("access_booking_", item.get("status"))
        if item.get("attendance"):
            status = f"{status}; {words.code('access_booking_', item.get('attendance'))}"
        rows.append([_cell(str(item.get("code") or "")), _cell(str(item.get("service") or "")),
                     _cell(str(item.get("location") or "")),
                     _cell(_time(words, item.get("start")), html=True), _cell(status)])
    return _table(words, ["access_label_code", "access_label_service", "access_label_place",
                          "access_label_time", "access_label_status"], rows)


def _consent(words: Words, consent: Value) -> str:
    if not isinstance(consent, dict):
        return ""
    given = _time(words, consent.get("given_at"))
    version = consent.get("version")
    return f"{given} ({escape(str(version))})" if version else given


def _strings(value: Value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _subscription(words: Words, items: list[Record]) -> list[str]:
    lines: list[str] = []
    for item in items:
        content, language = words.content, words.language
        lines += _details(words, [
            ("access_label_topics", escape(topics_text(content, language,
                                                       _strings(item.get("topics"))))),
            ("access_label_areas", escape(area_text(content, language,
                                                    tuple(_strings(item.get("districts")))))),
            ("access_label_language", escape(words.language_name(item.get("language")))),
            ("access_label_consent", _consent(words, item.get("consent"))),
            ("access_label_ends", _time(words, item.get("ends")))])
    return lines


def _contact(words: Words, item: Record) -> str:
    contact = item.get("contact")
    if contact == "phone":
        phone = item.get("phone")
        return f"{words.title(CONTACT_PHONE)}: {phone}" if phone else words.title(CONTACT_PHONE)
    return words.title(CONTACT_CHAT) if contact == "chat" else ""


def _handover(words: Words, items: list[Record]) -> list[str]:
    lines: list[str] = []
    for item in items:
        status = "left" if item.get("you_ended") else item.get("status")
        district, topic = item.get("district"), item.get("topic")
        lines += _details(words, [
            ("access_label_team", escape(str(item.get("team") or ""))),
            ("access_label_status", escape(words.code("access_lead_", status))),
            ("access_label_name", escape(str(item.get("name") or ""))),
            ("access_label_contact", escape(_contact(words, item))),
            ("access_label_area", escape(words.title(OTHER_DISTRICT) if district == "other"
                                         else str(district or ""))),
            ("access_label_age", escape(str(item.get("age_group") or ""))),
            ("access_label_topic", escape(words.title(HANDOVER_TOPIC[topic])
                                          if isinstance(topic, str) and topic in HANDOVER_TOPIC
                                          else "")),
            ("access_label_language", escape(words.language_name(item.get("language")))),
            ("access_label_consent", _consent(words, item.get("consent")))])
        said = item.get("messages")
        if isinstance(said, list) and said:
            lines.append(f"<h3>{escape(words.text('access_coach_messages'))}</h3>")
            lines += _messages(words, [m for m in said if isinstance(m, dict)])
    return lines


def _satisfaction(words: Words, items: list[Record]) -> list[str]:
    return [f"<p>{escape(words.text('access_satisfaction_asked', date=words.moment(str(at))))}"
            "</p>" for item in items if isinstance(at := item.get("asked_at"), str)]


def _kept(words: Words, section: Section, stopped: bool) -> str:
    if section.group == OPT_OUT:
        return words.text("access_opt_out_yes" if stopped else "access_opt_out_no")
    if not section.items:
        return words.text("access_none")
    if section.kept_until is None:
        return ""
    return words.text("access_kept_until", date=words.day(section.kept_until))


def _section(words: Words, data: PersonalData, group: str) -> list[str]:
    section = data.section(group)
    ident = f"group-{group.replace('_', '-')}"
    lines = [f'<section aria-labelledby="{ident}">',
             f'<h2 id="{ident}">{escape(words.heading(group))}</h2>',
             f"<p>{escape(_kept(words, section, data.stopped))}</p>"]
    items = section.items
    if items:
        if group == MESSAGES:
            lines += _messages(words, items)
        elif group == CHAT_LOG:
            lines += _sent(words, items, "at")
        elif group == CAMPAIGNS:
            lines += _sent(words, items, "sent_at")
        elif group == CITY_NOTICES:
            lines += ["<ul>", *(f"<li>{escape(str(item.get('text') or ''))}</li>"
                                for item in items), "</ul>"]
        elif group == BOOKINGS:
            lines += _bookings(words, items)
        elif group == SUBSCRIPTION:
            lines += _subscription(words, items)
        elif group == HANDOVER:
            lines += _handover(words, items)
        elif group == SATISFACTION:
            lines += _satisfaction(words, items)
    return [*lines, "</section>"]


def html_page(data: PersonalData, content: Content) -> str:
    """The copy as a page in the person's language: a heading, when it was made, then one
    section per group with when it expires and what it holds."""
    words = Words(content, data.language)
    language = content.languages.languages[data.language]
    title = escape(words.text("access_title"))
    made = f'<time datetime="{iso(data.generated_at)}">' \
           f'{escape(words.moment(iso(data.generated_at)))}</time>'
    # The date goes into the escaped sentence as a <time> element, where the text has it.
    intro = escape(words.text("access_intro", date="\x00")).replace("\x00", made)
    lines = ["<!DOCTYPE html>",
             f'<html lang="{escape(data.language)}" dir="{escape(language.direction)}">',
             "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{title}</title>", "</head>", "<body>", "<main>", f"<h1>{title}</h1>",
             f"<p>{intro}</p>"]
    for group in GROUPS:
        lines += _section(words, data, group)
    return "\n".join([*lines, "</main>", "</body>", "</html>", ""])
