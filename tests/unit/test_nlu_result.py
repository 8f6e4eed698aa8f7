"""Rasa's flat classes become the intents of spec §4 plus a specific answer (bot/core/nlu.py)."""

import pytest

from bot.core.nlu import to_result as _to_result


def rasa(*ranking: tuple[str, float]) -> dict:
    """A /model/parse body as Rasa 3.6 sends it with `ranking_length: 0`."""
    name, confidence = ranking[0]
    return {"text": "x", "intent": {"name": name, "confidence": confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "entities": [{"entity": "district", "value": "Kista"}]}


def test_a_topic_is_the_sum_of_its_answers_and_outranks_a_stronger_single_intent() -> None:
    parsed = _to_result(rasa(("help", 0.40), ("info_sfi_parents__bring_child", 0.30),
                             ("info_sfi_parents__overview", 0.20), ("info_sfi__where", 0.10)))
    assert parsed.intent == "info_sfi_parents"
    assert parsed.confidence == pytest.approx(0.50)
    assert parsed.answer == "info_sfi_parents/bring_child"
    assert parsed.answer_confidence == pytest.approx(0.60)  # its share of the topic
    assert [name for name, _ in parsed.ranking] == ["info_sfi_parents", "help", "info_sfi"]
    assert parsed.entity("district") == "Kista"


def test_the_overview_class_is_the_topics_own_answer() -> None:
    parsed = _to_result(rasa(("info_jobbtorg__overview", 0.7), ("info_jobbtorg__cv", 0.2),
                             ("greet", 0.1)))
    assert (parsed.intent, parsed.answer) == ("info_jobbtorg", "info_jobbtorg/overview")


def test_an_intent_without_answers_has_none() -> None:
    parsed = _to_result(rasa(("greet", 0.9), ("info_jobbtorg__cv", 0.1)))
    assert (parsed.intent, parsed.confidence, parsed.answer) == ("greet", 0.9, None)


def test_an_empty_answer_is_out_of_scope() -> None:
    parsed = _to_result({"text": "", "intent": {}, "intent_ranking": [], "entities": []})
    assert (parsed.intent, parsed.confidence, parsed.answer) == ("out_of_scope", 0.0, None)


def test_training_data_is_flattened_with_the_separator_the_gateway_reads() -> None:
    from bot.core.nlu import FLAT_SEPARATOR
    from tests.nlu_build import load_build
    build = load_build()
    data = ("- intent: info_sfi/where\n  examples: |\n    - var finns sfi/sfx\n"
            "- intent: greet\n  examples: |\n    - hej\n")
    assert build.flatten(data) == data.replace("info_sfi/where", f"info_sfi{FLAT_SEPARATOR}where")
    assert build.FLAT_SEPARATOR == FLAT_SEPARATOR
