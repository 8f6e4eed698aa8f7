"""Every text Lotsen can say, by stable id, with the shipped text of each language.

The ids are the ones the catalogs already carry as comments (`#. answers/info_sfi/where/text`),
written by the YAML extractor (bot/core/i18n_extract.py) into `locales/lotsen.pot`; the source
text (English) is the message id, each language's shipped text its `.po` entry. A few texts share
one message (the same English words in two places): an edit of one id is an edit of the message,
so the others show it too (`also`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.core.i18n import DOMAIN, SOURCE_LANGUAGE

TEMPLATE = "lotsen.pot"


@dataclass(frozen=True)
class TextItem:
    id: str
    msgid: str  # the shipped English text: the catalogs' key
    plural: str | None = None  # the English plural form, for texts counted with ngettext
    also: tuple[str, ...] = ()  # other ids of the same message


@dataclass(frozen=True)
class Inventory:
    items: dict[str, TextItem]  # by id, sorted by id
    shipped: dict[str, dict[str, str]]  # language -> msgid -> its text ("" when missing)
    fuzzy: dict[str, frozenset[str]]  # language -> msgids marked fuzzy in its catalog

    @classmethod
    def load(cls, locales_dir: Path, languages: list[str]) -> Inventory:
        template = _read(locales_dir / TEMPLATE)
        ids: dict[str, TextItem] = {}
        for message in template:
            if not message.id:
                continue
            msgid, plural = _forms(message.id)
            names = list(message.auto_comments) or [f"code/{msgid}"]
            for name in names:
                ids[name] = TextItem(name, msgid, plural,
                                     tuple(n for n in names if n != name))
        shipped: dict[str, dict[str, str]] = {}
        fuzzy: dict[str, frozenset[str]] = {}
        for language in languages:
            if language == SOURCE_LANGUAGE:
                shipped[language] = {item.msgid: item.msgid for item in ids.values()}
                fuzzy[language] = frozenset()
                continue
            path = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
            catalog = _read(path) if path.exists() else Catalog()
            texts: dict[str, str] = {}
            marked: set[str] = set()
            for message in catalog:
                if not message.id:
                    continue
                msgid, _ = _forms(message.id)
                texts[msgid] = _forms(message.string)[0] if message.string else ""
                if message.fuzzy:
                    marked.add(msgid)
            shipped[language] = texts
            fuzzy[language] = frozenset(marked)
        return cls(dict(sorted(ids.items())), shipped, fuzzy)

    def item(self, text_id: str) -> TextItem | None:
        return self.items.get(text_id)


def _forms(value: object) -> tuple[str, str | None]:
    """(singular, plural or None) of a catalog id or string, which babel gives as a tuple for
    plural messages."""
    if isinstance(value, tuple | list):
        return str(value[0]), (str(value[1]) if len(value) > 1 else None)
    return str(value), None


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)
