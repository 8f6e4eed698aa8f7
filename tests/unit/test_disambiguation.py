"""Which tie between two readings the bot asks about ("did you mean"), and the referrals'
configuration. Pure functions on parses: the dialogue and the real model are tested in
tests/integration/test_did_you_mean.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.disambiguation import CloseCall, closest_call
from bot.core.nlu import ParseResult, to_result
from bot.core.referrals import Referrals, ReferralsError

OFFERABLE = {"info_sfi", "info_sfi_parents", "info_jobbtorg", "info_vuxenutbildning", "book_dropin"}
ANSWERS = {"info_sfi_parents/bring_child", "info_sfi_parents/who_can_join",
           "out_of_scope/forsakringskassan", "out_of_scope/social_services"}
ROOT = Path(__file__).resolve().parents[2]


def call(parsed: ParseResult, best_answer: str | None = None) -> CloseCall | None:
    return closest_call(parsed, offerable=OFFERABLE, has_answer=ANSWERS.__contains__,
                        threshold=0.4, answer_threshold=0.4, best_answer=best_answer)


def test_two_offerable_topics_make_a_call_with_their_gap() -> None:
    parsed = ParseResult("info_sfi_parents", 0.48,
                         ranking=(("info_sfi_parents", 0.48), ("info_sfi", 0.40)))
    found = call(parsed)
    assert found is not None and (found.first, found.second) == ("info_sfi_parents", "info_sfi")
    assert found.gap == pytest.approx(0.08)


def test_the_best_topics_specific_answer_is_offered_instead_of_the_bare_topic() -> None:
    parsed = ParseResult("info_sfi_parents", 0.5,
                         ranking=(("info_sfi_parents", 0.5), ("info_sfi", 0.45)))
    found = call(parsed, best_answer="info_sfi_parents/bring_child")
    assert found is not None and found.first == "info_sfi_parents/bring_child"


def test_two_topics_neither_sure_alone_make_a_call_when_together_they_are() -> None:
    together = ParseResult("info_vuxenutbildning", 0.35,
                           ranking=(("info_vuxenutbildning", 0.35), ("info_sfi", 0.3)))
    found = call(together)  # "sfi or komvux?"
    assert found is not None and found.second == "info_sfi"
    scattered = ParseResult("info_vuxenutbildning", 0.2,
                            ranking=(("info_vuxenutbildning", 0.2), ("info_sfi", 0.15)))
    assert call(scattered) is None  # the clarifying menu's case


def test_a_topic_the_menus_never_offer_makes_no_topic_call() -> None:
    parsed = ParseResult("greet", 0.5, ranking=(("greet", 0.5), ("info_sfi", 0.49)))
    assert call(parsed) is None


def test_two_answers_within_the_topic_make_a_call_and_overview_is_the_topic() -> None:
    parsed = ParseResult("info_sfi_parents", 0.9, ranking=(("info_sfi_parents", 0.9),),
                         answers=(("info_sfi_parents/overview", 0.45),
                                  ("info_sfi_parents/bring_child", 0.40)))
    found = call(parsed)
    assert found is not None
    assert (found.first, found.second) == ("info_sfi_parents", "info_sfi_parents/bring_child")
    assert found.gap == pytest.approx(0.05)


def test_two_weak_answers_make_no_call() -> None:
    parsed = ParseResult("info_sfi_parents", 0.9, ranking=(("info_sfi_parents", 0.9),),
                         answers=(("info_sfi_parents/bring_child", 0.2),
                                  ("info_sfi_parents/who_can_join", 0.15)))
    assert call(parsed) is None  # together under the answer threshold


def test_the_closer_of_two_ties_counts() -> None:
    parsed = ParseResult("out_of_scope", 0.6,
                         ranking=(("out_of_scope", 0.6), ("info_jobbtorg", 0.3)),
                         answers=(("out_of_scope/forsakringskassan", 0.5),
                                  ("out_of_scope/social_services", 0.46)))
    found = call(parsed)
    assert found is not None and found.second == "out_of_scope/social_services"
    assert found.gap == pytest.approx(0.04)


def test_parse_keeps_the_answers_of_the_best_topic_with_their_shares() -> None:
    parsed = to_result({"intent_ranking": [
        {"name": "out_of_scope__forsakringskassan", "confidence": 0.5},
        {"name": "out_of_scope", "confidence": 0.2},
        {"name": "out_of_scope__social_services", "confidence": 0.1},
        {"name": "info_sfi__where", "confidence": 0.2}]})
    assert parsed.intent == "out_of_scope" and parsed.confidence == pytest.approx(0.8)
    assert parsed.answer == "out_of_scope/forsakringskassan"
    assert [name for name, _ in parsed.answers] == ["out_of_scope/forsakringskassan",
                                                     "out_of_scope/social_services"]
    assert parsed.answers[0][1] == pytest.approx(0.625)
    assert ParseResult.from_json(parsed.to_json()) == parsed  # the cache keeps them


def test_the_shipped_referrals_match_the_answers_and_are_marked_sample() -> None:
    referrals = Referrals.load(ROOT / "config" / "referrals.yml")
    assert referrals.sample  # the seeds hold no contact details of other authorities
    referrals.check([f"out_of_scope/{key}" for key in referrals.authorities], "shipped")
    assert referrals.of("out_of_scope/forsakringskassan").name == "Försäkringskassan"
    assert referrals.of("info_sfi/where") is None


@pytest.mark.parametrize(("text", "named"), [
    ("authorities:\n  fk:\n    name: FK\n", "3: authority 'fk': `web`"),
    ("authorities:\n  fk:\n    name: FK\n    web: http://fk.example\n", "https://"),
    ("authorities:\n  fk:\n    name: FK\n    web: https://fk.example\n    phone: call us\n",
     "`phone`"),
    ("authorities: [fk]\n", "`authorities` must map"),
    ("authorities:\n  fk: {name: FK\n", "not valid YAML"),
])
def test_a_broken_referrals_file_is_refused_naming_line_and_field(text: str, named: str) -> None:
    with pytest.raises(ReferralsError, match=r"referrals\.yml") as caught:
        Referrals.parse(text, "referrals.yml")
    assert named in str(caught.value)


def test_an_answer_without_its_authority_stops_the_start() -> None:
    referrals = Referrals.parse("authorities:\n  fk: {name: FK, web: 'https://fk.example'}\n",
                                "referrals.yml")
    with pytest.raises(ReferralsError, match=r"\['skv'\], which have no entry"):
        referrals.check(["out_of_scope/fk", "out_of_scope/skv"], "referrals.yml")
