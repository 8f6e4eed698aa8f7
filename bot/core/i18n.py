"""Translations (gettext catalogs compiled from `locales/`) and babel formatting per language.

English is the source language of the catalogs; every other language must have a complete
catalog (a test checks). A missing translation falls back to English rather than crashing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from babel import Locale
from babel.support import NullTranslations, Translations

DOMAIN = "lotsen"
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class Language:
    code: str
    native: str
    locale: str
    direction: str
    enabled: bool
    names: tuple[str, ...]

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(self.locale)


@dataclass(frozen=True)
class LanguageTable:
    default: str
    languages: dict[str, Language]
    neutral_words: frozenset[str]
    cancel_words: frozenset[str]

    @property
    def enabled(self) -> list[str]:
        return [code for code, lang in self.languages.items() if lang.enabled]

    def is_enabled(self, code: str | None) -> bool:
        return isinstance(code, str) and code in self.languages and self.languages[code].enabled

    @classmethod
    def load(cls, path: Path) -> LanguageTable:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        languages = {
            code: Language(code=code, native=str(entry["native"]), locale=str(entry["locale"]),
                           direction=str(entry.get("dir", "ltr")),
                           enabled=bool(entry.get("enabled", False)),
                           names=tuple(str(n).lower() for n in entry.get("names", [])))
            for code, entry in data["languages"].items()
        }
        default = str(data.get("default", "sv"))
        if default not in languages or not languages[default].enabled:
            raise ValueError(f"{path}: default language {default!r} is not an enabled language")
        return cls(default=default, languages=languages,
                   neutral_words=frozenset(w.lower() for w in data.get("neutral_words", [])),
                   cancel_words=frozenset(w.lower() for w in data.get("cancel_words", [])))


class Catalogs:
    """One gettext translation per language code, loaded once at start-up."""

    def __init__(self, locales_dir: Path, languages: LanguageTable) -> None:
        self._translations: dict[str, NullTranslations] = {}
        self._overrides: dict[str, dict[str, str]] = {}
        for code in languages.languages:
            if code == SOURCE_LANGUAGE:
                self._translations[code] = NullTranslations()
                continue
            mo = locales_dir / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if mo.exists():
                with mo.open("rb") as fh:
                    self._translations[code] = Translations(fh, domain=DOMAIN)
            elif languages.languages[code].enabled:
                raise FileNotFoundError(
                    f"{mo} is missing: run `make catalogs` to compile the translations")

    def set_overrides(self, overrides: dict[str, dict[str, str]]) -> None:
        """Published edits (language -> shipped English text -> the text to say instead),
        swapped in whole by the content workspace (bot/core/workspace/live.py)."""
        self._overrides = overrides

    def gettext(self, language: str, message: str) -> str:
        override = self._overrides.get(language)
        if override is not None and message in override:
            return override[message]
        translation = self._translations.get(language)
        return translation.gettext(message) if translation else message

    def ngettext(self, language: str, singular: str, plural: str, n: int) -> str:
        translation = self._translations.get(language)
        if translation is None:
            return singular if n == 1 else plural
        return translation.ngettext(singular, plural, n)
