"""Content and catalogs: every reply renders, every translation is complete and intact."""

import io
import re
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from bot.config import ROOT
from bot.core.content import Content
from bot.core.i18n import SOURCE_LANGUAGE, Catalogs, LanguageTable
from bot.core.i18n_extract import extract_yaml

SPEC_INTENTS = {"greet", "goodbye", "thanks", "affirm", "deny", "help", "bot_challenge",
                "out_of_scope", "info_jobbtorg", "info_jobbtorg_unga", "info_sfi",
                "info_sfi_parents", "info_vuxenutbildning", "ask_location", "ask_opening_hours",
                "book_dropin", "cancel_booking", "list_bookings", "request_coach",
                "change_language", "delete_my_data", "subscribe", "unsubscribe", "data_access"}
LANGUAGES = LanguageTable.load(ROOT / "bot" / "content" / "languages.yml")
PLACEHOLDER = re.compile(r"\{\w+\}")


def po_path(code: str):
    return ROOT / "locales" / code / "LC_MESSAGES" / "lotsen.po"


@pytest.fixture(scope="module")
def content() -> Content:
    return Content(ROOT / "bot" / "content" / "replies.yml",
                   Catalogs(ROOT / "locales", LANGUAGES), LANGUAGES)


def test_every_spec_intent_has_an_answer(content: Content) -> None:
    assert set(content.templates) >= SPEC_INTENTS


def test_nlu_training_data_covers_every_intent_in_every_enabled_language() -> None:
    for code in LANGUAGES.enabled:
        data = yaml.safe_load((ROOT / "nlu" / "data" / f"nlu_{code}.yml").read_text())
        # A topic with specific answers is a retrieval intent: `info_sfi/overview` is `info_sfi`.
        intents = {block["intent"].partition("/")[0] for block in data["nlu"] if "intent" in block}
        assert intents == SPEC_INTENTS, code


def examples_by_intent(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" not in block:
            continue  # a lookup table
        found.setdefault(block["intent"], []).extend(
            line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- "))
    return found


def test_every_specific_answer_has_training_examples_in_every_language(content: Content) -> None:
    answers = {key for keys in content.answers.values() for key in keys}
    assert len(answers) >= 40
    for code in LANGUAGES.enabled:
        # Referrals to other authorities (`out_of_scope/<authority>`) have a file of their own.
        trained = {**examples_by_intent(ROOT / "nlu" / "data" / f"answers_{code}.yml"),
                   **examples_by_intent(ROOT / "nlu" / "data" / f"referrals_{code}.yml")}
        trained.pop("out_of_scope", None)  # what belongs to no authority: no answer of its own
        assert set(trained) == answers, code
        thin = {key: len(v) for key, v in trained.items() if len(v) < 7}
        assert not thin, (code, thin)


def test_no_development_question_is_in_the_training_data() -> None:
    def normal(text: str) -> str:
        return " ".join(re.findall(r"\w+", text.lower()))
    trained = {normal(example) for path in (ROOT / "nlu" / "data").glob("*.yml")
               for examples in examples_by_intent(path).values() for example in examples}
    for path in [*(ROOT / "nlu" / "eval").glob("answers_dev_*.yml"),
                 *(ROOT / "nlu" / "eval").glob("intents_dev_*.yml"),
                 *(ROOT / "nlu" / "eval" / "fresh").glob("*.yml")]:  # issue 28's fresh set
        leaked = [q for v in examples_by_intent(path).values() for q in v if normal(q) in trained]
        assert not leaked, (path.name, leaked)
    shared = ROOT.parent / "shared" / "eval" / "nlu_dev.yml"  # beside the repository, as in CI
    if shared.exists():
        cases = yaml.safe_load(shared.read_text(encoding="utf-8"))["cases"]
        leaked = [c["text"] for c in cases if normal(c["text"]) in trained]
        assert not leaked, (shared.name, leaked)


@pytest.mark.parametrize("language", LANGUAGES.enabled)
def test_every_reply_renders_in_every_enabled_language(content: Content, language: str) -> None:
    values = {"name": "N", "address": "A", "hours": "H", "district": "D", "length": 1,
              "limit": 2, "count": 3, "code": "K7M2QX", "service": "S", "location": "L",
              "when": "W", "day": "D", "days": 14, "team": "T", "text": "X", "topics": "P",
              "area": "R", "date": "E"}
    for key in content.templates:
        reply = content.reply(key, language, **values)
        assert reply.text and "{" not in reply.text, (language, key)
        assert all(b.title for b in reply.buttons)


def test_extractor_finds_every_text_and_title() -> None:
    raw = (ROOT / "bot" / "content" / "replies.yml").read_bytes()
    found = {message for _, _, message, _ in extract_yaml(io.BytesIO(raw), None, None, {})}
    data = yaml.safe_load(raw)
    entries = [e for section in ("intents", "system", "ui") for e in data[section].values()]
    expected: set[object] = {(e["text"], e["plural"]) if "plural" in e else e["text"]
                             for e in entries}
    expected |= {e["title"] for e in data["buttons"].values()}
    expected |= {e["short"] for e in entries if "short" in e}
    assert found == expected
    assert ("You have {count} booking:", "You have {count} bookings:") in found


@pytest.mark.parametrize("language", [c for c in LANGUAGES.languages if c != SOURCE_LANGUAGE
                                      and po_path(c).exists()])
def test_catalog_complete_with_placeholders_and_draft_header(language: str) -> None:
    pot = read_po((ROOT / "locales" / "lotsen.pot").open("rb"))
    catalog = read_po(po_path(language).open("rb"))
    if not LANGUAGES.languages[language].enabled and not any(m.string for m in catalog if m.id):
        pytest.skip(f"{language} is not enabled and not translated yet")
    wanted = {m.id for m in pot if m.id}
    translated = {m.id: m.string for m in catalog
                  if m.id and not m.fuzzy and m.string and all(_forms(m.string))}
    missing = wanted - set(translated)
    assert not missing, f"{language}: untranslated: {sorted(map(str, missing))[:5]}"
    for msgid, msgstr in translated.items():
        expected = set().union(*(PLACEHOLDER.findall(i) for i in _forms(msgid)))
        for form in _forms(msgstr):
            assert set(PLACEHOLDER.findall(form)) == expected, \
                f"{language}: placeholders differ in {msgid!r}"
        if isinstance(msgid, tuple):
            assert len(_forms(msgstr)) == catalog.num_plurals, f"{language}: {msgid!r}"
    header = po_path(language).read_text(encoding="utf-8").split("msgid", 1)[0]
    assert "DRAFT" in header and "native" in header, f"{language}: header must say draft"
    assert all("DRAFT" not in form for s in translated.values() for form in _forms(s))


def _forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


# gettext plural rules: the number of forms each language needs (GNU gettext's conventions).
PLURAL_FORMS = {"sv": 2, "ar": 6, "so": 2, "fa": 2, "ti": 2, "uk": 3}


@pytest.mark.parametrize(("language", "forms"), sorted(PLURAL_FORMS.items()))
def test_plural_forms_are_right(content: Content, language: str, forms: int) -> None:
    catalog = read_po(po_path(language).open("rb"))
    assert catalog.num_plurals == forms
    one = content.text("booking_list", language, count=1)
    many = content.text("booking_list", language, count=5)
    assert "1" in one or "١" in one or "۱" in one
    if language == "uk":  # 1 запис / 2 записи / 5 записів: three different words
        assert len({content.text("booking_list", language, count=n) .replace(str(n), "")
                    for n in (1, 2, 5)}) == 3
    if language == "sv":
        assert one != many.replace("5", "1")
