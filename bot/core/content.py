"""Reply templates from `bot/content/replies.yml`, rendered in the user's language.

Code names a reply by its key; the words live in YAML (English source) and the catalogs. The
specific answers within the topic intents (`info_sfi_parents/bring_child`) live beside it in
`answers.yml`: each is a template under its own key and a button `/<key>` with its title.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.i18n import Catalogs, LanguageTable
from bot.core.messages import Button, Reply
from bot.core.payloads import LANGUAGE


@dataclass(frozen=True)
class Template:
    text: str
    buttons: tuple[str, ...] = ()
    plural: str | None = None  # with `count`: gettext plural forms of the language
    short: str | None = None   # a shorter text for channels where every character costs


ANSWERS_FILE = "answers.yml"


class ContentError(ValueError):
    """The content YAML is inconsistent (a button without a title, an unknown menu)."""


class Content:
    def __init__(self, path: Path, catalogs: Catalogs, languages: LanguageTable) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.catalogs = catalogs
        self.languages = languages
        self.menus: dict[str, tuple[str, ...]] = {
            name: tuple(items) for name, items in data["menus"].items()}
        self.button_titles: dict[str, str] = {
            payload: entry["title"] for payload, entry in data["buttons"].items()}
        self.templates: dict[str, Template] = {}
        self.ui_keys: tuple[str, ...] = tuple(data.get("ui", {}))
        self.intents: tuple[str, ...] = tuple(data["intents"])  # every intent the bot answers
        answers_path = path.parent / ANSWERS_FILE
        answers: dict[str, Mapping[str, object]] = {}
        if answers_path.exists():
            answers = yaml.safe_load(answers_path.read_text(encoding="utf-8"))["answers"] or {}
        for key, entry in answers.items():
            self.button_titles[f"/{key}"] = str(entry["title"])
        for section in ("intents", "system", "ui"):
            for key, entry in data[section].items():
                self.templates[key] = self._template(key, entry)
        self.answers: dict[str, tuple[str, ...]] = {}  # intent -> its specific answers
        for key, entry in answers.items():
            intent, _, name = key.partition("/")
            if not name or intent not in data["intents"]:
                raise ContentError(f"{ANSWERS_FILE}: {key!r} is not <intent>/<answer> of an "
                                   f"intent in replies.yml")
            self.templates[key] = self._template(key, entry)
            self.answers[intent] = (*self.answers.get(intent, ()), key)

    def _template(self, key: str, entry: Mapping[str, object]) -> Template:
        buttons = self._resolve_buttons(key, entry.get("buttons"))
        plural = str(entry["plural"]) if "plural" in entry else None
        short = str(entry["short"]) if "short" in entry else None
        return Template(text=str(entry["text"]), buttons=buttons, plural=plural, short=short)

    def _resolve_buttons(self, key: str, spec: object) -> tuple[str, ...]:
        if spec is None:
            return ()
        if isinstance(spec, str):
            if spec not in self.menus:
                raise ContentError(f"reply {key!r} names unknown menu {spec!r}")
            return self.menus[spec]
        if not isinstance(spec, list):
            raise ContentError(f"reply {key!r}: buttons must be a menu's name or a list")
        payloads = tuple(str(p) for p in spec)
        for payload in payloads:
            if payload not in self.button_titles:
                raise ContentError(f"reply {key!r} has button {payload!r} without a title")
        return payloads

    def has(self, key: str) -> bool:
        return key in self.templates

    def text(self, key: str, language: str, **values: object) -> str:
        template = self.templates[key]
        if template.plural is not None:
            count = values["count"]
            if not isinstance(count, int | float | str):
                raise TypeError(f"reply {key!r}: count must be a number")
            translated = self.catalogs.ngettext(language, template.text, template.plural,
                                                int(count))
        else:
            translated = self.catalogs.gettext(language, template.text)
        return translated.format(**values) if values else translated

    def button(self, payload: str, language: str) -> Button:
        if LANGUAGE.owns(payload):
            code = payload.removeprefix(LANGUAGE.value)
            return Button(self.languages.languages[code].native, payload)
        return Button(self.catalogs.gettext(language, self.button_titles[payload]), payload)

    def describe(self, payload: str, language: str) -> str:
        """What a pressed button said, for transcripts: its title, or the payload's last part
        (a district, a date) for buttons made from data."""
        if payload in self.button_titles or LANGUAGE.owns(payload):
            return self.button(payload, language).title
        return payload.rsplit(":", 1)[-1].lstrip("/")

    def buttons(self, payloads: tuple[str, ...] | list[str], language: str) -> tuple[Button, ...]:
        return tuple(self.button(p, language) for p in payloads)

    def reply(self, key: str, language: str, *, text: str | None = None,
              buttons: tuple[str, ...] | list[str] | None = None, short: bool = False,
              **values: object) -> Reply:
        """The reply `key` in `language`; `text`/`buttons` replace the template's own.
        `short` (a channel where every character costs) takes the template's short text and the
        short main menu when it has them."""
        template = self.templates[key]
        if text is None and short and template.short:
            text = self.catalogs.gettext(language, template.short).format(**values)
        body = text if text is not None else self.text(key, language, **values)
        payloads = template.buttons if buttons is None else buttons
        if short and tuple(payloads) == self.menus["main"]:
            payloads = self.menus["short_main"]
        return Reply(body, self.buttons(payloads, language))

    def ui_labels(self, language: str) -> dict[str, str]:
        """The chat page's own labels in `language`."""
        return {key: self.text(key, language) for key in self.ui_keys}

    def compose(self, key: str, language: str, buttons: tuple[Button, ...] | list[Button] = (),
                extra: tuple[str, ...] = (), **values: object) -> Reply:
        """The text `key` with buttons made from data, then the fixed buttons `extra`."""
        return Reply(self.text(key, language, **values),
                     (*buttons, *self.buttons(extra, language)))

    def language_buttons(self) -> tuple[str, ...]:
        return tuple(LANGUAGE(code) for code in self.languages.enabled)
