"""The dialogue engine against real Redis. These paths never need NLU: buttons, numbered menus,
language choice, deletion, guards; and NLU down (a closed port, so a real connection failure)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.core.keys import CONV_RATE, CONV_STATE, CONV_TRANSCRIPT, Keys
from bot.core.messages import IncomingMessage
from bot.core.nlu import ParseResult
from bot.core.review.flow import UNHELPFUL
from bot.core.store import ConversationState
from bot.runtime.wiring import build_services
from tests.conftest import make_settings
from tests.redis_keys import conversation_keys, scan


@pytest.fixture
async def services(prefix: str, redis: Redis):
    services = await build_services(make_settings(prefix, max_message_chars=200,
                                                  rate_limit_per_minute=5))
    yield services
    await services.close()


def msg(text: str = "", payload: str | None = None, user: str = "u1", hint: str | None = None):
    return IncomingMessage("test", user, text=text, payload=payload, language_hint=hint)


async def test_button_payload_answers_that_intent_in_default_swedish(services) -> None:
    outcome = await services.engine.handle(msg(payload="/info_sfi_parents"))
    assert outcome.language == "sv" and outcome.intent == "info_sfi_parents"
    assert "föräldralediga" in outcome.replies[0].text
    assert outcome.replies[0].buttons


async def test_language_hint_is_used_until_something_better(services) -> None:
    outcome = await services.engine.handle(msg(payload="/help", hint="en"))
    assert outcome.language == "en" and "I can tell you about" in outcome.replies[0].text


async def test_a_number_picks_from_the_last_menu(services) -> None:
    first = await services.engine.handle(msg(payload="/greet"))
    second_title = first.replies[0].buttons[1].payload
    outcome = await services.engine.handle(msg("2"))
    assert outcome.intent == second_title.lstrip("/")


async def test_explicit_language_choice_wins_and_is_remembered(services) -> None:
    outcome = await services.engine.handle(msg(payload="/lang:en"))
    assert outcome.language == "en" and "English" in outcome.replies[0].text
    later = await services.engine.handle(msg(payload="/info_jobbtorg", hint="sv"))
    assert later.language == "en"
    state = await services.engine.store.load("test:u1")
    assert state.language_chosen and state.language == "en"


async def test_too_long_message_gets_polite_reply_and_nothing_is_stored(services, redis,
                                                                        prefix) -> None:
    outcome = await services.engine.handle(msg("x" * 5000))
    assert outcome.fallback == "too_long"
    assert "5000" in outcome.replies[0].text and "200" in outcome.replies[0].text
    keys = Keys(prefix)
    assert await scan(redis, keys.glob(CONV_STATE, conversation="test:u1"),
                      keys.glob(CONV_TRANSCRIPT, conversation="test:u1")) == []


async def test_rate_limit_refuses_politely(services) -> None:
    outcomes = [await services.engine.handle(msg(payload="/help")) for _ in range(7)]
    assert [o.fallback for o in outcomes[:5]] == [None] * 5
    assert outcomes[5].fallback == outcomes[6].fallback == "rate_limited"
    # One polite answer per window, then silence: on SMS every answer is paid for.
    assert len(outcomes[5].replies) == 1 and outcomes[6].replies == []


async def test_nlu_down_gives_numbered_menu_and_numbers_work(services) -> None:
    outcome = await services.engine.handle(msg("var kan jag lära mig svenska"))
    assert outcome.fallback == "nlu_down"
    text = outcome.replies[0].text
    assert "1. " in text and "3. " in text
    third = outcome.replies[0].buttons[2].payload.lstrip("/")
    picked = await services.engine.handle(msg("3"))
    assert picked.intent == third and picked.fallback is None


async def test_delete_my_data_asks_then_erases_everything(services, redis, prefix) -> None:
    await services.engine.handle(msg(payload="/info_sfi"))
    assert await services.engine.store.transcript("test:u1")
    ask = await services.engine.handle(msg(payload="/delete_my_data"))
    assert [b.payload for b in ask.replies[0].buttons] == ["/erase:yes", "/erase:no"]
    done = await services.engine.handle(msg(payload="/erase:yes"))
    assert done.intent == "delete_my_data"
    assert await conversation_keys(redis, prefix, "test:u1", without=[CONV_RATE]) == []


async def test_delete_can_be_cancelled_and_nothing_is_erased(services) -> None:
    await services.engine.handle(msg(payload="/delete_my_data"))
    outcome = await services.engine.handle(msg(payload="/erase:no"))
    assert outcome.intent == "deny"
    assert await services.engine.store.transcript("test:u1")


async def test_erase_button_outside_the_flow_erases_nothing(services) -> None:
    await services.engine.handle(msg(payload="/info_sfi"))
    outcome = await services.engine.handle(msg(payload="/erase:yes"))
    assert outcome.intent == "help"
    assert await services.engine.store.transcript("test:u1")


async def test_locations_list_sample_notice_in_users_language(services) -> None:
    outcome = await services.engine.handle(msg(payload="/ask_opening_hours", hint="en"))
    text = outcome.replies[0].text
    assert "Mon–Thu 09:00–16:00" in text and "Example data" in text
    sv = await services.engine.handle(msg(payload="/ask_opening_hours", user="u2"))
    assert "mån–tors 09:00–16:00" in sv.replies[0].text


async def test_unknown_payload_falls_back_to_help(services) -> None:
    outcome = await services.engine.handle(msg(payload="/does_not_exist"))
    assert outcome.intent == "help"


@pytest.mark.parametrize(("intent", "answer", "confidence", "given"), [
    ("info_sfi_parents", "info_sfi_parents/bring_child", 0.9, "info_sfi_parents/bring_child"),
    ("info_sfi_parents", "info_sfi_parents/bring_child", 0.2, None),   # not confident
    ("info_sfi", "info_sfi_parents/bring_child", 0.9, None),           # another topic's answer
    ("info_sfi_parents", "info_sfi_parents/overview", 0.9, None),      # the topic's own answer
    ("info_sfi_parents", None, 0.0, None),                             # a model without answers
])
def test_a_specific_answer_is_given_only_when_sure_and_within_the_intent(
        services, intent: str, answer: str | None, confidence: float, given: str | None) -> None:
    parsed = ParseResult(intent, 0.95, answer=answer, answer_confidence=confidence)
    assert services.engine.specific_answer(parsed) == given


async def test_a_specific_answers_button_answers_it_and_reports_its_topic(services) -> None:
    outcome = await services.engine.handle(msg(payload="/info_sfi_parents/bring_child",
                                               hint="en"))
    assert outcome.intent == "info_sfi_parents"
    assert outcome.replies[0].text == services.content.text("info_sfi_parents/bring_child", "en")
    assert all(b.payload != UNHELPFUL for b in outcome.replies[0].buttons)  # not for buttons


async def test_a_chosen_page_language_outranks_detection(services) -> None:
    chosen = IncomingMessage("test", "u9", text="where can I learn some swedish please",
                             language_hint="ar", language_chosen=True)
    assert services.engine._language_for(chosen, ConversationState()) == "ar"
    guessed = IncomingMessage("test", "u9", text="where can I learn some swedish please",
                              language_hint="ar")
    assert services.engine._language_for(guessed, ConversationState()) == "en"


async def test_beyond_the_in_flight_limit_free_text_gets_the_busy_menu_and_nothing_is_stored(
        services, redis, prefix) -> None:
    engine = services.engine
    engine.max_in_flight, engine.in_flight = 2, 2  # two messages already being handled
    shed = await engine.handle(msg("var kan jag lära mig svenska", user="busy", hint="ar"))
    assert shed.fallback == "nlu_busy" and shed.language == "ar"
    assert shed.replies[0].text.startswith(services.content.text("nlu_busy", "ar"))
    assert "1. " in shed.replies[0].text
    assert await conversation_keys(redis, prefix, "test:busy") == []
    pressed = await engine.handle(msg(payload="/info_sfi", user="busy"))  # buttons still work
    assert pressed.intent == "info_sfi" and pressed.fallback is None
    assert engine.in_flight == 2  # what it counted, it gave back
