"""Issue 28 end to end with the real model and real Redis: a close call asks "did you mean"
with two buttons and "something else" (numbered on SMS), each button leads to its answer; Arabic
written in Latin letters gets an Arabic answer and, once, the offer of another language; a
question for another authority gets a referral naming who can help, not a Lotsen topic.

The close calls are messages that name two services at once ("sfi or komvux?"), asked with the
configured margin: the model cannot settle them, whether its closest tie is between the two
topics or between two answers of the topic it leans to (the kept model offers komvux's levels
against komvux as a whole for the Swedish one); the test takes whichever two are offered.
Which wording the model finds close moves with each training: the Arabic one was "sfi ولا
komvux، شو الأحسن" ("…, which is better") until the model of the last session of issue 28 read
it as komvux (0.70, gap 0.16); "sfi ولا komvux؟" mirrors the Swedish question.
How often real messages are close calls, and what each margin gives, `make eval` measures."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from tests.conftest import Conversation, make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, elks_auth
from tests.waiting import until

CLOSE = {
    "sv": "sfi eller komvux?",
    "ar": "sfi ولا komvux؟",
    "so": "sfi ama komvux, kee baa ii fiican",
}
ELKS_SECRET = "elks-webhook-secret"
PHONE = "+46701234599"


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("lang", ["sv", "ar", "so"])
async def test_a_close_call_asks_and_each_button_leads_to_its_answer(chat, lang: str) -> None:
    content = chat.server.app[SERVICES].content
    before = counted("lotsen_fallbacks_total", reason="disambiguate")
    talk = await Conversation.start(chat)
    asked = await talk.send(CLOSE[lang])
    assert asked["language"] == lang
    reply = asked["replies"][0]
    assert reply["text"] == content.text("did_you_mean", lang)
    offered = [b["payload"] for b in reply["buttons"]]
    assert len(offered) == 3 and len(set(offered)) == 3 and offered[2] == "/something_else"
    assert counted("lotsen_fallbacks_total", reason="disambiguate") == before + 1
    for payload in offered[:2]:
        key = payload.removeprefix("/")
        assert content.has(key), payload  # a topic or a specific answer with a text
        answered = await talk.send(payload=payload)
        assert answered["replies"][0]["text"].startswith(content.text(key, lang)), payload
    other = await talk.send(payload="/something_else")
    assert other["replies"][0]["text"] == content.text("something_else", lang)
    assert [b["payload"] for b in other["replies"][0]["buttons"]] == list(content.menus["main"])


async def test_with_the_margin_at_zero_the_best_reading_is_answered(aiohttp_client, rasa_server,
                                                                     prefix, redis) -> None:
    client = await aiohttp_client(create_app(make_settings(prefix, rasa_server,
                                                           disambiguation_margin=0.0)))
    talk = await Conversation.start(client)
    answered = await talk.send(CLOSE["sv"])
    assert answered["replies"][0]["text"] != \
        client.server.app[SERVICES].content.text("did_you_mean", "sv")


async def test_on_sms_the_question_is_numbered_and_a_number_picks(providers, prefix,
                                                                  rasa_server, redis,
                                                                  aiohttp_client) -> None:
    settings = make_settings(prefix, rasa_server, elks_username=ELKS_USER,
                             elks_password=ELKS_PASSWORD, elks_webhook_secret=ELKS_SECRET,
                             elks_api_url=providers.url,
                             public_url="https://lotsen.example.org")
    gateway = await aiohttp_client(create_app(settings))
    content = gateway.server.app[SERVICES].content
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.5))
    try:
        async def sms(text: str, message_id: str) -> None:
            form = {"from": PHONE, "to": "+46766861234", "message": text, "id": message_id,
                    "direction": "incoming"}
            resp = await gateway.post("/sms/46elks", data=form, headers=elks_auth(ELKS_SECRET))
            assert resp.status == 200

        await sms(CLOSE["sv"], "d1")
        await until(lambda: len(providers.elks_sent) == 1)
        question = providers.elks_sent[0]["message"]
        assert question.startswith(content.text("did_you_mean", "sv"))
        lines = question.splitlines()
        numbered = [line for line in lines if line[:2] in ("1 ", "2 ", "3 ")]
        assert [line[0] for line in numbered] == ["1", "2", "3"]
        assert numbered[2] == "3 " + content.button("/something_else", "sv").title
        second_title = numbered[1][2:]
        await sms("2", "d2")
        await until(lambda: len(providers.elks_sent) == 2)
        picked = next(p for p in content.button_titles
                      if content.button(p, "sv").title == second_title)
        key = picked.removeprefix("/")
        assert providers.elks_sent[1]["message"].startswith(
            content.reply(key, "sv", short=True).text)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_arabizi_gets_an_arabic_answer_and_the_offer_of_another_language_once(
        chat) -> None:
    content = chat.server.app[SERVICES].content
    talk = await Conversation.start(chat)
    first = await talk.send("salam, ana baddi at3allam el lugha el swediya, shu ya3ni sfi?")
    assert first["language"] == "ar"
    reply = first["replies"][-1]
    assert content.text("language_offer", "ar") in reply["text"]
    assert reply["buttons"][-1]["payload"] == "/change_language"
    answer = first["replies"][0]["text"]  # an answer about sfi, in Arabic
    assert any(answer.startswith(content.text(key, "ar")) for key in content.templates
               if key.startswith("info_sfi")), answer
    again = await talk.send("w kam sa3a el dawam taba3kom ya3ni")
    assert again["language"] == "ar"
    assert all(content.text("language_offer", "ar") not in r["text"] for r in again["replies"])
    switched = await talk.send(payload="/change_language")
    assert "/lang:sv" in [b["payload"] for b in switched["replies"][0]["buttons"]]


@pytest.mark.parametrize(("lang", "text"), [
    ("sv", "jag är föräldraledig, hur mycket föräldrapenning får jag per dag"),
    ("ar", "كم يوم föräldrapenning باقيلي، ومتى بينزل المصاري"),
    ("so", "lacagta föräldrapenning goorma ayay iisoo dhacaysaa"),
])
async def test_a_parental_benefit_question_gets_the_referral(chat, lang: str, text: str) -> None:
    services = chat.server.app[SERVICES]
    content, referrals = services.content, services.static.referrals
    talk = await Conversation.start(chat, language=lang)
    answered = await talk.send(text)
    reply = answered["replies"][0]["text"]
    assert reply.startswith(content.text("out_of_scope/forsakringskassan", lang))
    fk = referrals.authorities["forsakringskassan"]
    assert f"{fk.name}: {fk.web}" in reply
    assert content.text("sample_notice", lang) in reply  # the contact is sample data
    assert content.text("info_sfi_parents", lang) not in reply


async def test_other_out_of_scope_gets_the_topics(chat) -> None:
    content = chat.server.app[SERVICES].content
    talk = await Conversation.start(chat, language="sv")
    answered = await talk.send("vem vann fotbollsmatchen igår kväll tror du")
    assert answered["replies"][0]["text"] == content.text("out_of_scope", "sv")
    assert [b["payload"] for b in answered["replies"][0]["buttons"]][:3] == \
        list(content.menus["main"])[:3]
