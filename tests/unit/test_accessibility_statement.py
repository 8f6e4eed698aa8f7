"""The accessibility statement: its config is validated with file and line, and each language's
page has every section of Digg's model, the facts from the config (escaped) and the sample
notice only while the facts are samples."""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.accessibility.facts import StatementError, StatementFacts, Text
from bot.accessibility.page import render
from bot.config import ROOT

CONFIG = ROOT / "config" / "accessibility.yml"
# The sections of Digg's model statement, as the headings of each language's page.
SECTIONS = {
    "sv": ["Tillgänglighetsredogörelse för", "Hur tillgänglig är tjänsten?",
           "Vad kan du göra om du inte kan använda delar av tjänsten?",
           "Rapportera brister i tjänstens tillgänglighet", "Tillsyn",
           "Teknisk information om tjänstens tillgänglighet", "Innehåll som inte är tillgängligt",
           "Hur vi testat tjänsten"],
    "en": ["Accessibility statement for", "How accessible is the service?",
           "What can you do if you cannot use parts of the service?",
           "Report accessibility problems", "Supervision",
           "Technical information about the accessibility of the service",
           "Content that is not accessible", "How we tested the service"],
}
COMPLIANCE_WORDS = {"sv": {"fully": "är helt förenlig", "partially": "är delvis förenlig",
                           "not": "är inte förenlig"},
                    "en": {"fully": "is fully compliant", "partially": "is partially compliant",
                           "not": "is not compliant"}}
SUPERVISION = {"sv": "Myndigheten för digital förvaltning (Digg) har ansvaret för tillsyn",
               "en": "The Agency for Digital Government (Myndigheten för digital förvaltning, "
                     "Digg) supervises"}
NOTICE = 'class="notice"'


class Outline(HTMLParser):
    """The page's headings (level, text) and the text of its `<p>`s."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.paragraphs: list[str] = []
        self.html_lang = ""
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.html_lang = dict(attrs).get("lang") or ""
        if tag in ("h1", "h2", "h3", "h4", "p"):
            self._open, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            text = " ".join("".join(self._text).split())
            if tag == "p":
                self.paragraphs.append(text)
            else:
                self.headings.append((int(tag[1]), text))
            self._open = None


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def facts() -> StatementFacts:
    return StatementFacts.load(CONFIG)


def broken(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the shipped config with one line changed, and that line's number."""
    text = CONFIG.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    line = text[:text.index(old)].count("\n") + 1
    path = tmp_path / "accessibility.yml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path, line


def test_the_shipped_config_loads_and_is_marked_sample(facts: StatementFacts) -> None:
    assert facts.sample is True
    assert facts.compliance in ("fully", "partially", "not")
    assert facts.email or facts.form_url
    assert facts.last_reviewed >= facts.statement_made
    assert len(facts.known_problems) >= 4
    for problem in facts.known_problems:
        assert problem.sv and problem.en and problem.sv != problem.en


def test_the_known_problems_are_honest_about_this_codebase(facts: StatementFacts) -> None:
    english = " ".join(p.en for p in facts.known_problems)
    assert "only in Swedish" in english and "/coach/" in english
    assert "Telegram" in english and "SMS" in english
    assert "native speaker" in english  # the catalogs are drafts awaiting native review
    assert "self-assessment" in english and "external audit" in english
    for catalog in (ROOT / "locales").glob("*/LC_MESSAGES/lotsen.po"):
        assert "awaiting native review" in catalog.read_text(encoding="utf-8")[:2000], catalog


def test_a_bad_compliance_status_names_the_file_and_line(tmp_path: Path,
                                                         facts: StatementFacts) -> None:
    path, line = broken(tmp_path, f"compliance: {facts.compliance}\n", "compliance: mostly\n")
    with pytest.raises(StatementError) as error:
        StatementFacts.load(path)
    assert f"{path}:{line}:" in str(error.value)
    assert "fully, partially, not" in str(error.value) and "mostly" in str(error.value)


def test_a_missing_field_names_the_file_line_and_field(tmp_path: Path,
                                                       facts: StatementFacts) -> None:
    days = f"response_working_days: {facts.response_working_days}"
    path, _ = broken(tmp_path, days, "# (removed)")
    with pytest.raises(StatementError) as error:
        StatementFacts.load(path)
    assert re.search(rf"^{re.escape(str(path))}:\d+: ", str(error.value))
    assert "'response_working_days' is missing" in str(error.value)


def test_a_date_that_is_not_an_iso_date_names_the_file_and_line(tmp_path: Path,
                                                                facts: StatementFacts) -> None:
    for written in ("next week", '"tomorrow"', "1"):
        path, line = broken(tmp_path, f"last_reviewed: {facts.last_reviewed.isoformat()}\n",
                            f"last_reviewed: {written}\n")
        with pytest.raises(StatementError) as error:
            StatementFacts.load(path)
        assert f"{path}:{line}:" in str(error.value)
        assert "ISO date" in str(error.value)


def test_other_mistakes_are_named_too(tmp_path: Path, facts: StatementFacts) -> None:
    made = f"statement_made: {facts.statement_made.isoformat()}\n"
    later = facts.last_reviewed + timedelta(days=1)
    cases = [
        (made, f"statement_made: {later.isoformat()}\n", "before 'statement_made'"),
        ("sample: true\n", "sample: true\nsampel: false\n", "unknown field 'sampel'"),
        (f"  email: {facts.email}\n", "  email: not-an-address\n", "not an e-mail address"),
        (f"digg_report_url: {facts.digg_report_url}\n", "digg_report_url: digg.se\n",
         "https://"),
        (f"compliance: {facts.compliance}\n", "compliance: partially\nknown_problems_x: 1\n",
         "unknown field"),
    ]
    for old, new, message in cases:
        path, _ = broken(tmp_path, old, new)
        with pytest.raises(StatementError, match=re.escape(message)) as error:
            StatementFacts.load(path)
        assert re.match(rf"{re.escape(str(path))}:\d+: ", str(error.value)), error.value
    with pytest.raises(StatementError, match="cannot be read"):
        StatementFacts.load(tmp_path / "missing.yml")


def test_partial_compliance_needs_a_known_problem(tmp_path: Path) -> None:
    text = CONFIG.read_text(encoding="utf-8")
    path = tmp_path / "accessibility.yml"
    path.write_text(text[:text.index("known_problems:")] + "known_problems: []\n",
                    encoding="utf-8")
    with pytest.raises(StatementError, match="needs at least one known problem"):
        StatementFacts.load(path)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_each_language_has_every_section_of_the_model(facts: StatementFacts,
                                                      language: str) -> None:
    page = outline(render(facts, language))
    assert page.html_lang == language
    levels = [level for level, _ in page.headings]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))  # no skipped level
    texts = [text for _, text in page.headings]
    for section in SECTIONS[language]:
        assert any(text.startswith(section) for text in texts), (section, texts)
    assert facts.service_name.in_language(language) in texts[0]


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_page_states_the_configured_facts(facts: StatementFacts, language: str) -> None:
    html = render(facts, language)
    text = " ".join(outline(html).paragraphs)
    assert COMPLIANCE_WORDS[language][facts.compliance] in text
    for problem in facts.known_problems:
        assert f"<li>{escape(problem.in_language(language))}</li>" in html
    assert escape(facts.organisation.in_language(language)) in text
    if facts.email:
        assert f'href="mailto:{facts.email}"' in html and f">{facts.email}</a>" in html
    if facts.form_url:
        assert f'href="{escape(facts.form_url)}"' in html
    assert f" {facts.response_working_days} " in text
    assert SUPERVISION[language] in text
    assert f'href="{escape(facts.digg_report_url)}"' in html
    for day in (facts.statement_made, facts.last_reviewed):
        assert f'<time datetime="{day.isoformat()}">' in html


@pytest.mark.parametrize("language", ["sv", "en"])
def test_each_compliance_status_has_its_own_words(facts: StatementFacts, language: str) -> None:
    for status, words in COMPLIANCE_WORDS[language].items():
        text = " ".join(outline(render(dataclasses.replace(facts, compliance=status),
                                       language)).paragraphs)
        assert words in text
        others = [w for s, w in COMPLIANCE_WORDS[language].items() if s != status]
        assert not any(other in text for other in others), status


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_sample_notice_shows_only_while_the_facts_are_samples(facts: StatementFacts,
                                                                  language: str) -> None:
    assert facts.sample
    assert render(facts, language).count(NOTICE) == 1
    assert NOTICE not in render(dataclasses.replace(facts, sample=False), language)


def test_the_language_versions_link_to_each_other_and_to_the_chat(facts: StatementFacts) -> None:
    swedish, english = render(facts, "sv"), render(facts, "en")
    assert '<a href="/accessibility" lang="en" hreflang="en">' in swedish
    assert '<a href="/tillganglighet" lang="sv" hreflang="sv">' in english
    for html in (swedish, english):
        assert '<a href="/">' in html
        assert "style=" not in html and "<style" not in html and "<script" not in html


def test_config_values_are_html_escaped(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script> & \"quotes\""
    text = CONFIG.read_text(encoding="utf-8") + (
        f"  - sv: '{hostile}'\n    en: '{hostile}'\n")
    path = tmp_path / "accessibility.yml"
    path.write_text(text, encoding="utf-8")
    facts = StatementFacts.load(path)
    facts = dataclasses.replace(facts, organisation=Text(sv="A<b>", en="A<b>"))
    for language in ("sv", "en"):
        html = render(facts, language)
        assert "<script>" not in html and "A<b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in html
        assert "A&lt;b&gt;" in html
