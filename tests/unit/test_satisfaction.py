"""The satisfaction question after a coach closes, and "This helped" / "That didn't help", with
the real engine and real Redis (NLU down: a closed port; none of this needs it): asked once a
week in the person's language, never after STOP, a left chat or no conversation at all; a typed
digit in any script counts; a comment goes to the review inbox redacted; the counts land in the
statistics as `StatsQuery` reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.core.handover.leads import Lead
from bot.core.keys import Keys
from bot.core.messages import Capabilities, IncomingMessage
from bot.core.review.flow import HELPFUL, UNHELPFUL
from bot.core.stats.counters import Cell, satisfaction
from bot.core.stats.query import Filters
from bot.core.stats.recorder import STATS_DAY
from bot.core.stats.satisfaction import (
    ASKED,
    ASKED_DAYS,
    NO_COMMENT,
    SCORE,
    SatisfactionFlow,
    ask_satisfaction,
    satisfaction_flow,
    typed_score,
)
from bot.runtime.wiring import Services, build_services
from connectors.optout import OptOuts
from connectors.sms import SmsChannel
from tests.clock import FixedClock
from tests.conftest import make_settings

CLOCK = FixedClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # a Tuesday
BUTTONS = Capabilities()
SMS = SmsChannel.capabilities
TEAM = "jobbtorg-unga-jarva"


@pytest.fixture
async def services(prefix: str, redis: Redis):
    services = await build_services(make_settings(prefix), clock=CLOCK)
    yield services
    await services.close()


def flow_of(services: Services) -> SatisfactionFlow:
    flow = satisfaction_flow(services.engine.flows)
    assert flow is not None
    return flow


def msg(channel: str, user: str, text: str = "", payload: str | None = None,
        capabilities: Capabilities = BUTTONS, hint: str | None = None) -> IncomingMessage:
    return IncomingMessage(channel, user, text=text, payload=payload, capabilities=capabilities,
                           language_hint=hint, received_at=CLOCK())


async def lead_of(services: Services, conversation: str, language: str = "sv",
                  **fields: str) -> Lead:
    values = {"language": language, "channel": conversation.partition(":")[0],
              "topic": "work", "district": "Rinkeby", "user_left": "", **fields}
    _, lead_id = await services.leads.create(conversation, TEAM, values)
    lead = await services.leads.get(lead_id)
    assert lead is not None
    return lead


async def counted(services: Services) -> dict[str, int]:
    stats = await services.stats_query.load(CLOCK.day(), CLOCK.day(), Filters())
    return dict(stats["totals"]["satisfaction"])


async def day_fields(redis: Redis, prefix: str) -> dict[str, str]:
    return await redis.hgetall(Keys(prefix)(STATS_DAY, day=CLOCK.day().isoformat()))


def test_a_score_is_one_digit_from_1_to_5_in_any_script() -> None:
    assert [typed_score(t) for t in ("4", " 4. ", "٤", "۴", "４", "1", "5!")] == \
        [4, 4, 4, 4, 4, 1, 5]
    assert [typed_score(t) for t in ("0", "6", "٦", "44", "four", "", "4 stars")] == [None] * 7


async def test_asked_once_a_week_with_buttons_in_the_persons_language(services, redis,
                                                                      prefix) -> None:
    await services.engine.handle(msg("telegram", "1", payload="/greet", hint="ar"))
    lead = await lead_of(services, "telegram:1", language="ar")
    asked = await ask_satisfaction(flow_of(services), lead, BUTTONS)
    assert [r.text for r in asked] == [services.content.text("satisfaction_question", "ar")]
    assert [b.payload for b in asked[0].buttons] == list(SCORE.values())
    assert asked[0].buttons[0].title == "1 – سيئ جدًا"
    key = Keys(prefix)(ASKED, conversation="telegram:1")
    assert ASKED_DAYS * 86400 - 60 < await redis.ttl(key) <= ASKED_DAYS * 86400
    assert await ask_satisfaction(flow_of(services), lead, BUTTONS) == []  # the same week
    again = await lead_of(services, "telegram:1", language="ar")  # a second handover
    assert await ask_satisfaction(flow_of(services), again, BUTTONS) == []


async def test_on_sms_a_short_reply_1_to_5_without_a_menu_and_a_typed_4_counts(
        services, redis, prefix) -> None:
    await services.engine.handle(msg("sms", "+46701234567", payload="/greet", capabilities=SMS))
    lead = await lead_of(services, "sms:+46701234567")
    [question] = await ask_satisfaction(flow_of(services), lead, SMS)
    assert question.buttons == () and "1–5" in question.text and "\n1" not in question.text
    assert question.text == services.content.catalogs.gettext(
        "sv", services.content.templates["satisfaction_question"].short or "")
    answered = await services.engine.handle(msg("sms", "+46701234567", "4", capabilities=SMS))
    assert answered.intent == "satisfaction"
    assert answered.replies[0].buttons == () and "kommentar" in answered.replies[0].text
    assert await counted(services) == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    field = Cell("sms", "sv", "work", "Rinkeby").field(satisfaction(4))
    assert (await day_fields(redis, prefix))[field] == "1"


@pytest.mark.parametrize("digit", ["٤", "۴"])
async def test_an_arabic_indic_or_persian_digit_counts(services, digit: str) -> None:
    await services.engine.handle(msg("telegram", "7", payload="/greet", hint="fa"))
    lead = await lead_of(services, "telegram:7", language="fa")
    assert await ask_satisfaction(flow_of(services), lead, BUTTONS)
    answered = await services.engine.handle(msg("telegram", "7", digit))
    assert answered.intent == "satisfaction"
    assert await counted(services) == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}


async def test_a_button_counts_and_the_answer_is_not_relayed_to_the_closed_handover(
        services) -> None:
    await services.engine.handle(msg("webchat", "w1", payload="/greet", hint="uk"))
    lead = await lead_of(services, "webchat:w1", language="uk")
    state = await services.engine.store.load("webchat:w1")
    state.handover_lead = lead.id  # as the handover flow leaves it when the coach closes
    await services.engine.store.save("webchat:w1", state)
    assert await ask_satisfaction(flow_of(services), lead, BUTTONS)
    assert (await services.engine.store.load("webchat:w1")).handover_lead is None
    answered = await services.engine.handle(msg("webchat", "w1", payload=SCORE[5]))
    assert answered.intent == "satisfaction"
    assert answered.replies[0].text == services.content.text("satisfaction_thanks", "uk")
    assert [b.payload for b in answered.replies[0].buttons] == [NO_COMMENT]
    assert await counted(services) == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}


async def test_typed_answers_and_cancel_words_go_to_the_question_not_the_coach(
        services) -> None:
    await services.engine.handle(msg("webchat", "w2", payload="/greet"))
    lead = await lead_of(services, "webchat:w2")
    state = await services.engine.store.load("webchat:w2")
    state.handover_lead = lead.id
    await services.engine.store.save("webchat:w2", state)
    assert await ask_satisfaction(flow_of(services), lead, BUTTONS)
    cancelled = await services.engine.handle(msg("webchat", "w2", "avbryt"))
    assert cancelled.replies[0].text == services.content.text("satisfaction_done", "sv")
    await services.engine.handle(msg("webchat", "w2", "2"))  # the flow ended: the main menu
    assert await services.leads.messages(lead.id) == []  # nothing relayed to the coach
    assert not (await services.leads.get(lead.id) or lead).fields.get("user_left")
    assert await counted(services) == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


async def test_never_asked_after_stop_a_left_chat_or_without_a_conversation(
        services, redis, prefix) -> None:
    optouts = OptOuts(redis=redis, keys=Keys(prefix), secret=services.settings.hash_secret)
    await services.engine.handle(msg("sms", "+46700000001", payload="/greet", capabilities=SMS))
    await optouts.opt_out("sms:+46700000001")
    stopped = await lead_of(services, "sms:+46700000001")
    await services.engine.handle(msg("webchat", "left", payload="/greet"))
    left = await lead_of(services, "webchat:left", user_left="1764000000.0")
    never = await lead_of(services, "sms:+46700000002")  # no state: never wrote
    flow = flow_of(services)
    for lead, capabilities in ((stopped, SMS), (left, BUTTONS), (never, SMS)):
        assert await ask_satisfaction(flow, lead, capabilities) == [], lead.conversation
        assert not await redis.exists(Keys(prefix)(ASKED, conversation=lead.conversation))
        state = await services.engine.store.load(lead.conversation)
        assert state.flow is None and SCORE[1] not in state.menu
    await optouts.opt_in("sms:+46700000001")  # after START it may be asked again
    assert await ask_satisfaction(flow, stopped, SMS)


async def test_a_comment_goes_to_the_review_inbox_redacted_and_not_as_not_understood(
        services) -> None:
    await services.engine.handle(msg("webchat", "c1", payload="/greet"))
    lead = await lead_of(services, "webchat:c1")
    await ask_satisfaction(flow_of(services), lead, BUTTONS)
    await services.engine.handle(msg("webchat", "c1", payload=SCORE[2]))
    comment = "Coachen svarade sent, ring mig på 070-123 45 67 eller skriv till a.b@example.se"
    thanked = await services.engine.handle(msg("webchat", "c1", comment))
    assert thanked.replies[0].text == services.content.text("satisfaction_comment_thanks", "sv")
    [group] = await services.review.groups("sv")
    assert group.reasons == {"comment": 1} and group.predicted == "satisfaction_2"
    [kept] = group.examples
    assert "Coachen svarade sent" in kept
    assert "070" not in kept and "example.se" not in kept
    week = (await services.review.weeks(["sv"], count=1))[0]["languages"]["sv"]
    assert week["not_understood"] == 0
    assert (await services.engine.store.load("webchat:c1")).flow is None
    # The flow has ended: the next text is an ordinary message, not a second comment.
    later = await services.engine.handle(msg("webchat", "c1", "och en sak till om coachen"))
    assert later.intent != "satisfaction"
    assert (await services.review.groups("sv"))[0].count == 1


async def test_no_thanks_ends_it_and_a_later_number_is_ordinary_text(services) -> None:
    await services.engine.handle(msg("webchat", "n1", payload="/greet", hint="so"))
    lead = await lead_of(services, "webchat:n1", language="so")
    await ask_satisfaction(flow_of(services), lead, BUTTONS)
    await services.engine.handle(msg("webchat", "n1", "3"))
    done = await services.engine.handle(msg("webchat", "n1", payload=NO_COMMENT))
    assert done.replies[0].text == services.content.text("satisfaction_done", "so")
    assert await services.review.groups("so") == []
    later = await services.engine.handle(msg("webchat", "n1", "5"))
    assert later.intent != "satisfaction"
    stale = await services.engine.handle(msg("webchat", "n1", payload=SCORE[1]))
    assert stale.intent == "help"  # an old button answers nothing
    assert await counted(services) == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 0}


async def test_no_thanks_typed_on_sms_is_not_kept_as_a_comment(services) -> None:
    await services.engine.handle(msg("sms", "+46700000003", payload="/greet", capabilities=SMS))
    lead = await lead_of(services, "sms:+46700000003")
    await ask_satisfaction(flow_of(services), lead, SMS)
    await services.engine.handle(msg("sms", "+46700000003", "1", capabilities=SMS))
    done = await services.engine.handle(msg("sms", "+46700000003", "Nej tack!",
                                            capabilities=SMS))
    assert done.intent == "satisfaction" and done.replies[0].buttons == ()
    assert await services.review.groups("sv") == []


async def answered_by_number(services: Services, user: str,
                             capabilities: Capabilities = BUTTONS) -> list[str]:
    """A topic answered to a typed message (NLU is down: the numbered topic menu, then a
    number); returns the answer's button payloads."""
    await services.engine.handle(msg("webchat", user, "var kan jag lära mig svenska",
                                     capabilities=capabilities))
    answer = await services.engine.handle(msg("webchat", user, "3", capabilities=capabilities))
    assert answer.intent == "info_sfi"
    return [b.payload for b in answer.replies[-1].buttons]


async def test_this_helped_and_that_didnt_help_are_counted_once_per_answer_by_topic(
        services) -> None:
    payloads = await answered_by_number(services, "h1")
    assert payloads[-2:] == [HELPFUL, UNHELPFUL]
    thanks = await services.engine.handle(msg("webchat", "h1", payload=HELPFUL))
    assert thanks.replies[0].text == services.content.text("helpful_thanks", "sv")
    await services.engine.handle(msg("webchat", "h1", payload=HELPFUL))  # once per answer
    await answered_by_number(services, "h2")
    unhelpful = await services.engine.handle(msg("webchat", "h2", payload=UNHELPFUL))
    assert unhelpful.replies[0].text == services.content.text("unhelpful_thanks", "sv")
    stats = await services.stats_query.load(CLOCK.day(), CLOCK.day(), Filters())
    assert (stats["totals"]["helped"], stats["totals"]["not_helped"]) == (1, 1)
    [topic] = [t for t in stats["topics"] if t["topic"] == "info_sfi"]
    assert (topic["helped"], topic["not_helped"]) == (1, 1)


async def test_no_helped_buttons_on_sms(services) -> None:
    payloads = await answered_by_number(services, "s1", capabilities=SMS)
    assert HELPFUL not in payloads and UNHELPFUL not in payloads
