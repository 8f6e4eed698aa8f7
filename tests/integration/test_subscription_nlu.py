"""Subscribing and unsubscribing in words, with the real trained Rasa model and real Redis.
The phrasings are fresh (neither training data nor the evaluation set)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.messages import IncomingMessage
from bot.runtime.wiring import build_services
from tests.clock import FixedClock
from tests.conftest import make_settings

SUBSCRIBE = {
    "sv": "jag vill få besked om nya sfi-grupper",
    "ar": "أريد أن تصلني رسائل عندما تبدأ دورات جديدة",
    "so": "waxaan jeclaan lahaa in la ii soo diro ogeysiis marka kooxo cusub bilaabmaan",
}
UNSUBSCRIBE = {
    "sv": "sluta prenumerera",
    "ar": "لا أريد أن أكون مشتركًا في الأخبار بعد اليوم",
    "so": "fadlan iga jooji ogeysiisyada",
}


@pytest.fixture
async def services(rasa_server, prefix, redis):
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # a fixed clock: any day
    services = await build_services(make_settings(prefix, rasa_server), clock=clock)
    yield services
    await services.close()


async def say(services, text: str, user: str):
    return await services.engine.handle(IncomingMessage("test", user, text=text))


@pytest.mark.parametrize("language", sorted(SUBSCRIBE))
async def test_subscribe_and_unsubscribe_are_understood(services, language: str) -> None:
    user = f"words-{language}"
    asked = await say(services, SUBSCRIBE[language], user)
    assert (asked.intent, asked.language) == ("subscribe", language)
    assert asked.replies[-1].text == services.content.text("subscribe", language)
    stopped = await say(services, UNSUBSCRIBE[language], user)
    if stopped.fallback == "disambiguate":  # a close call: asked, and "unsubscribe" is offered
        offered = [b.payload for b in stopped.replies[-1].buttons]
        assert "/unsubscribe" in offered[:2] and "/subscribe" in offered[:2]
        stopped = await services.engine.handle(IncomingMessage("test", user,
                                                               payload="/unsubscribe"))
    assert stopped.intent == "unsubscribe"
    assert stopped.replies[-1].text == services.content.text("subscription_none", language)


async def test_a_whole_subscription_in_swedish_words(services) -> None:
    user, clock = "words-whole", services.clock
    await say(services, SUBSCRIBE["sv"], user)
    topics = await say(services, "ja", user)  # affirm answers the consent
    assert topics.replies[-1].buttons[0].payload == "/sub:topic:sfi_parents"
    await say(services, "1", user)            # the first topic
    state = await services.engine.store.load(f"test:{user}")
    await say(services, str(state.menu.index("/sub:done") + 1), user)
    await say(services, "Rinkeby", user)
    subscription = await services.subscriptions.get(f"test:{user}", clock().timestamp())
    assert subscription is not None
    assert subscription.topics == ("sfi_parents",) and subscription.districts == ("Rinkeby",)
    gone = await say(services, UNSUBSCRIBE["sv"], user)
    assert gone.replies[-1].text == services.content.text("unsubscribe", "sv")
    assert await services.subscriptions.get(f"test:{user}", clock().timestamp()) is None
