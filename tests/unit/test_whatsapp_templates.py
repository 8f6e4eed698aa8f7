"""WhatsApp templates: the shipped config covers every kind in every enabled language (Somali
and Tigrinya by their fallback), messages are in the Cloud API's shape with parameters WhatsApp
accepts, and every mistake in the file is named by file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.config import ROOT
from bot.core.i18n import LanguageTable
from connectors.whatsapp_templates import (
    BODY_LIMIT,
    KINDS,
    Choice,
    Template,
    TemplateError,
    WhatsAppTemplates,
    flatten,
    units,
)

CONFIG = ROOT / "config" / "whatsapp.yml"
ENABLED = LanguageTable.load(ROOT / "bot" / "content" / "languages.yml").enabled
SHIPPED = WhatsAppTemplates.load(CONFIG, ENABLED)
FORBIDDEN = re.compile(r"[\n\r\t]| {5,}")


def only_parameter(message: dict[str, object]) -> str:
    """The text of the one body parameter of a template message object."""
    template = message["template"]
    assert isinstance(template, dict)
    [component] = template["components"]
    [parameter] = component["parameters"]
    assert parameter["type"] == "text"
    text = parameter["text"]
    assert isinstance(text, str)
    return text


def test_the_enabled_languages_are_the_ones_the_config_is_written_for() -> None:
    assert set(ENABLED) == {"sv", "en", "ar", "so", "fa", "ti", "uk"}


def test_the_shipped_config_is_sample_data_with_whatsapps_codes_and_categories() -> None:
    assert SHIPPED.sample is True
    for kind in KINDS:
        for language, code in {"sv": "sv", "en": "en", "ar": "ar", "fa": "fa",
                                "uk": "uk"}.items():
            choice = SHIPPED.choose(kind, language)
            assert choice.fallback is None
            assert choice.template is not None
            assert choice.template.language == code
            assert choice.template.parameters == 1
            assert choice.template.category == ("marketing" if kind == "campaign"
                                                else "utility")
    names = {template.name for kind in KINDS if (template := SHIPPED.choose(kind, "sv").template)}
    assert len(names) == len(KINDS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ENABLED)
def test_every_kind_reaches_every_enabled_language(kind: str, language: str) -> None:
    choice = SHIPPED.choose(kind, language)
    assert choice.template is not None or choice.fallback == "sms"
    if choice.template is not None:
        # Meta has no template language for Somali or Tigrinya: never a code for them
        assert choice.template.language.split("_")[0] not in {"so", "ti"}


def test_somali_and_tigrinya_get_the_fallback_the_config_states() -> None:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for language in ("so", "ti"):
        for kind in KINDS:
            assert language not in data["templates"][kind]["languages"]
            stated = data["fallback"][language][kind]
            choice = SHIPPED.choose(kind, language)
            if stated == "sms":
                assert choice == Choice(None, "sms")
            else:
                assert choice == SHIPPED.choose(kind, stated)


def test_a_language_nobody_configured_gets_nothing_and_an_unknown_kind_is_an_error() -> None:
    assert SHIPPED.choose("reminder", "de") == Choice(None, None)
    with pytest.raises(TemplateError, match="unknown message kind"):
        SHIPPED.choose("birthday", "sv")


def test_the_message_object_is_the_cloud_apis_template_shape() -> None:
    template = SHIPPED.choose("coach_reply", "ar").template
    assert template is not None
    assert SHIPPED.message(template, ["مرحبا"]) == {
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"policy": "deterministic", "code": "ar"},
            "components": [{"type": "body",
                            "parameters": [{"type": "text", "text": "مرحبا"}]}],
        },
    }


def test_parameters_are_flattened_the_way_the_api_requires() -> None:
    template = SHIPPED.choose("reminder", "sv").template
    assert template is not None
    text = "Hej!\n\nDin tid:\tmån 10:00\r\n1. Kista\n2. Husby      (hiss finns)\u2028Välkommen\x07"
    parameter = only_parameter(SHIPPED.message(template, [text]))
    assert parameter == "Hej! Din tid: mån 10:00 – 1. Kista – 2. Husby (hiss finns) – Välkommen"


@pytest.mark.parametrize("text", [
    "a\nb", "a\n\n\nb", "a\tb", "a     b", " \t \n lead and trail \n\t ", "a" + "\u00a0" * 5 + "b",
    "line.\nnext", "سؤال؟\nجواب", "ሰላም።\nቀጽል", "• one\n• two\n• three", "x" * 3000,
    "ord " * 600, "🙂" * 700, "a\u2028b\u2029c\x0bd\x0ce\x85f",
])
def test_a_flattened_parameter_never_breaks_a_rule(text: str) -> None:
    for limit in (BODY_LIMIT, 100, 21):
        flat = flatten(text, limit)
        assert not FORBIDDEN.search(flat)
        assert flat == flat.strip()
        assert units(flat) <= limit
        assert not re.search(r"\s{2,}", flat)


def test_a_long_message_is_cut_so_the_filled_in_body_fits_1024_characters() -> None:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    long_text = ("Hej och välkommen till Kompetensverkstan i Järva 🙂 " * 60).strip()
    for kind in KINDS:
        for language, spec in data["templates"][kind]["languages"].items():
            template = SHIPPED.choose(kind, language).template
            assert template is not None
            text = only_parameter(SHIPPED.message(template, [long_text]))
            assert text.endswith("…")
            assert "Kompetensverkstan" in text
            assert units(spec["body"].replace("{{1}}", text)) <= BODY_LIMIT
            assert units(spec["body"].replace("{{1}}", text)) > BODY_LIMIT - 40  # not cut short


def test_a_short_message_is_not_touched_and_words_are_kept_whole_when_cut() -> None:
    assert flatten("Din tid är bokad.") == "Din tid är bokad."
    assert flatten("ett två tre fyra fem sex", 14) == "ett två tre…"


def test_a_wrong_number_of_values_or_an_empty_value_is_refused() -> None:
    template = SHIPPED.choose("notice", "en").template
    assert template is not None
    with pytest.raises(TemplateError, match="takes 1 parameter"):
        SHIPPED.message(template, [])
    with pytest.raises(TemplateError, match="empty"):
        SHIPPED.message(template, [" \n\t "])


def test_a_template_without_parameters_sends_no_components() -> None:
    template = Template(name="lotsen_hello", language="sv", category="utility", parameters=0)
    assert SHIPPED.message(template, []) == {"type": "template", "template": {
        "name": "lotsen_hello", "language": {"policy": "deterministic", "code": "sv"}}}


# A small valid file for three languages (sv, en with templates; so by fallback): each broken
# variant below changes one thing, and the error must name the file, that line and that field.
LANGUAGES = ["sv", "en", "so"]
VALID = """\
sample: true
templates:
  reminder:
    category: utility
    name: r_reminder
    parameters: 1
    languages:
      sv: {code: sv, body: "Påminnelse: {{1}} Svara här."}
      en: {code: en, body: "Reminder: {{1}} Reply here."}
  coach_reply:
    category: utility
    name: r_coach
    parameters: 1
    languages:
      sv: {code: sv, body: "Coach: {{1}} Svara här."}
      en: {code: en, body: "Coach: {{1}} Reply here."}
  notice:
    category: utility
    name: r_notice
    parameters: 1
    languages:
      sv: {code: sv, body: "Meddelande: {{1}} Svara här."}
      en: {code: en, body: "Message: {{1}} Reply here."}
  campaign:
    category: marketing
    name: r_campaign
    parameters: 1
    languages:
      sv: {code: sv, body: "Nyheter: {{1}} Svara STOPP."}
      en: {code: en, body: "News: {{1}} Reply STOP."}
fallback:
  so:
    reminder: sv
    coach_reply: en
    notice: sv
    campaign: sms
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "whatsapp.yml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    found = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return found[occurrence - 1]


def test_the_small_valid_file_loads_with_its_fallbacks(tmp_path: Path) -> None:
    templates = WhatsAppTemplates.load(write(tmp_path, VALID), LANGUAGES)
    assert templates.choose("reminder", "so").template == Template("r_reminder", "sv",
                                                                   "utility", 1)
    assert templates.choose("coach_reply", "so").template == Template("r_coach", "en",
                                                                      "utility", 1)
    assert templates.choose("campaign", "so") == Choice(None, "sms")
    assert templates.choose("campaign", "en").template == Template("r_campaign", "en",
                                                                   "marketing", 1)


BROKEN = [
    # (what, old, new, the line's fragment in the broken text, occurrence, field, words)
    ("unknown kind", "  notice:\n", "  notices:\n", "notices:", 1, "templates.notices",
     "unknown kind"),
    ("bad category", "category: marketing", "category: promotion", "category: promotion", 1,
     "templates.campaign.category", "utility, marketing"),
    ("missing language, no fallback", "    notice: sv\n", "", "    languages:", 3,
     "templates.notice.languages.so", "no fallback"),
    ("fallback to a language without a template", "coach_reply: en", "coach_reply: ar",
     "coach_reply: ar", 1, "fallback.so.coach_reply", "has a coach_reply template"),
    ("fallback to itself", "reminder: sv\n    coach", "reminder: so\n    coach", "reminder: so",
     1, "fallback.so.reminder", "not 'so'"),
    ("fallback for an unknown kind", "    campaign: sms\n", "    campaign: sms\n    birthday: sv\n",
     "birthday: sv", 1, "fallback.so.birthday", "unknown kind"),
    ("duplicate kind", "  campaign:\n", "  reminder:\n", "  reminder:", 2, "reminder",
     "twice"),
    ("duplicate field", "    name: r_coach\n", "    name: r_coach\n    name: r_coach2\n",
     "name: r_coach2", 1, "name", "twice"),
    ("duplicate fallback language", "fallback:\n  so:\n",
     "fallback:\n  so: {reminder: sv}\n  so:\n", "  so:", 2, "so", "twice"),
    ("Somali code", 'en: {code: en, body: "Reminder', 'en: {code: so, body: "Reminder',
     "code: so", 1, "templates.reminder.languages.en.code", "no template language"),
    ("malformed code", 'sv: {code: sv, body: "Coach', 'sv: {code: sv-SE, body: "Coach',
     "code: sv-SE", 1, "templates.coach_reply.languages.sv.code", "not a WhatsApp template"),
    ("one code twice", 'en: {code: en, body: "News', 'en: {code: sv, body: "News',
     'en: {code: sv, body: "News', 1, "templates.campaign.languages.en.code", "already"),
    ("language not enabled", '      en: {code: en, body: "Message',
     '      de: {code: de, body: "Message', "de: {code: de", 1,
     "templates.notice.languages.de", "enabled languages"),
    ("body without the parameter", '"Påminnelse: {{1}} Svara här."', '"Påminnelse. Svara här."',
     "Påminnelse. Svara", 1, "templates.reminder.languages.sv.body", "{{1}}"),
    ("parameters not a number", "    name: r_notice\n    parameters: 1",
     "    name: r_notice\n    parameters: one", "parameters: one", 1,
     "templates.notice.parameters", "whole number"),
    ("bad name", "name: r_coach", "name: Coach Reply", "name: Coach Reply", 1,
     "templates.coach_reply.name", "lower-case"),
    ("unknown field", "    category: utility\n    name: r_notice",
     "    category: utility\n    catgory: utility\n    name: r_notice", "catgory", 1,
     "templates.notice.catgory", "unknown field"),
    ("sample not a boolean", "sample: true", "sample: maybe", "sample: maybe", 1, "sample",
     "true or false"),
]


@pytest.mark.parametrize(("what", "old", "new", "fragment", "occurrence", "field", "words"),
                         BROKEN, ids=[case[0] for case in BROKEN])
def test_each_mistake_names_file_line_and_field(tmp_path: Path, what: str, old: str, new: str,
                                                fragment: str, occurrence: int, field: str,
                                                words: str | None) -> None:
    assert old in VALID, what
    text = VALID.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        WhatsAppTemplates.load(path, LANGUAGES)
    line = line_of(text, fragment, occurrence)
    error = caught.value
    assert str(error).startswith(f"{path}:{line}: "), str(error)
    assert field in str(error)
    assert (error.line, error.field) == (line, field)
    if words == "{{1}}":  # the body error quotes the parameter it wants
        assert "{{1}}" in str(error)
    elif words:
        assert words in str(error)


def test_a_kind_left_out_is_named_at_the_templates_line(tmp_path: Path) -> None:
    block = ("  notice:\n    category: utility\n    name: r_notice\n    parameters: 1\n"
             "    languages:\n      sv: {code: sv, body: \"Meddelande: {{1}} Svara här.\"}\n"
             "      en: {code: en, body: \"Message: {{1}} Reply here.\"}\n")
    assert block in VALID and "    notice: sv\n" in VALID
    text = VALID.replace(block, "").replace("    notice: sv\n", "")
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        WhatsAppTemplates.load(path, LANGUAGES)
    assert str(caught.value).startswith(f"{path}:{line_of(text, 'templates:')}: ")
    assert caught.value.field == "templates.notice.languages.sv"
    assert "no notice template" in str(caught.value)


def test_a_parameter_count_the_bodies_do_not_match_is_an_error_on_the_body(
        tmp_path: Path) -> None:
    text = VALID.replace("    name: r_notice\n    parameters: 1",
                         "    name: r_notice\n    parameters: 2")
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        WhatsAppTemplates.load(path, LANGUAGES)
    assert caught.value.field == "templates.notice.languages.sv.body"
    assert caught.value.line == line_of(text, "Meddelande: {{1}}")
    assert "{{1}}, {{2}}" in str(caught.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    text = VALID.replace("    name: r_coach\n", "    name: [r_coach\n")
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        WhatsAppTemplates.load(path, LANGUAGES)
    assert str(caught.value).startswith(f"{path}:")
    assert "not valid YAML" in str(caught.value)
    assert caught.value.line is not None


def test_the_shipped_file_with_a_mistake_is_refused_too(tmp_path: Path) -> None:
    shipped = CONFIG.read_text(encoding="utf-8")
    assert "  ti:\n    reminder: en\n" in shipped
    text = shipped.replace("  ti:\n    reminder: en\n", "  ti:\n")
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        WhatsAppTemplates.load(path, ENABLED)
    assert caught.value.field == "templates.reminder.languages.ti"
    assert caught.value.line == line_of(text, "    languages:")
