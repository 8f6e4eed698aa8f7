"""Whole conversations through the web chat routes, with the real Rasa model and real Redis."""

from __future__ import annotations

import time

from bot.core.clock import system_clock
from bot.core.delivery import Deliveries
from bot.core.jobs import JobQueue
from bot.core.keys import CONV_STATE, CONV_TRANSCRIPT, Keys
from bot.runtime.worker import job_handlers
from connectors.webchat import WebchatStore
from tests.conftest import Conversation
from tests.redis_keys import scan


async def test_swedish_conversation(chat) -> None:
    talk = await Conversation.start(chat)
    assert "Lotsen" in await talk.say("hej")
    assert talk.language == "sv"
    answer = await talk.say("jag vill plugga svenska medan jag är föräldraledig")
    assert "föräldraledig" in answer.lower()  # the SFF topic, or its answer on studying on leave
    answer = await talk.say("vad kan jobbtorg hjälpa mig med")
    assert "praktik" in answer and talk.language == "sv"
    answer = await talk.say("var ligger ni i skärholmen")
    assert "Jobbtorg Skärholmen" in answer and "Jobbtorg unga Järva" not in answer
    assert "Exempeldata" in answer or "exempel" in answer.lower()
    assert "tack" in (await talk.say("tack så mycket")).lower() or talk.language == "sv"


async def test_english_conversation(chat) -> None:
    talk = await Conversation.start(chat)
    answer = await talk.say("hello, what can you help me with?")
    assert talk.language == "en" and "Jobbtorg" in answer
    answer = await talk.say("I am 22 and I do not work or study, is there help for young people")
    assert "16–29" in answer and talk.language == "en"
    answer = await talk.say("what are your opening hours")
    assert "Mon–" in answer
    answer = await talk.say("tell me about adult education")
    assert "komvux" in answer.lower()


async def test_buttons_are_returned_and_pressing_one_answers(chat) -> None:
    talk = await Conversation.start(chat, language="en")
    data = await talk.send(payload="/greet")
    buttons = data["replies"][0]["buttons"]
    assert {"title", "payload"} <= set(buttons[0])
    pressed = await talk.send(payload=buttons[0]["payload"])
    assert pressed["replies"][0]["text"]


async def test_language_follows_the_person_and_short_replies_keep_it(chat) -> None:
    talk = await Conversation.start(chat)
    await talk.say("where can I learn swedish as an adult")
    assert talk.language == "en"
    await talk.say("ok")
    assert talk.language == "en"
    await talk.say("jag vill hellre skriva på svenska nu")
    assert talk.language == "sv"


async def test_change_language_by_name_is_explicit_and_sticks(chat) -> None:
    talk = await Conversation.start(chat)
    answer = await talk.say("kan du svara på engelska")
    assert talk.language == "en" and "English" in answer
    await talk.say("jag har en fråga om sfi för föräldrar")
    assert talk.language == "en"


async def test_message_log_returns_later_messages_from_the_worker(chat, redis, prefix) -> None:
    talk = await Conversation.start(chat)
    await talk.send(payload="/greet")
    seen = await talk.messages()
    last = seen[-1]["seq"]
    # A message scheduled for delivery (as reminders and coach replies are) reaches the session.
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)
    await queue.schedule("send_message", {"conversation": f"webchat:{talk.session}",
                                           "replies": [{"text": "Påminnelse", "buttons": []}]},
                         due=time.time() - 1)
    deliveries = Deliveries()
    deliveries.register("webchat", WebchatStore(redis=redis, keys=Keys(prefix), clock=system_clock,
                                                   retention_seconds=3600).append)
    assert await queue.run_due(job_handlers(deliveries)) == 1
    later = await talk.messages(after=last)
    assert [m["text"] for m in later] == ["Påminnelse"]
    assert later[0]["seq"] == last + 1


async def test_delete_my_data_through_free_text(chat, redis, prefix) -> None:
    talk = await Conversation.start(chat)
    await talk.say("berätta om komvux")
    data = await talk.send("radera all min data")
    assert [b["payload"] for b in data["replies"][0]["buttons"]] == ["/erase:yes", "/erase:no"]
    await talk.send(payload="/erase:yes")
    keys = Keys(prefix)
    conversation = f"webchat:{talk.session}"
    assert await scan(redis, keys.glob(CONV_STATE, conversation=conversation),
                      keys.glob(CONV_TRANSCRIPT, conversation=conversation)) == []
