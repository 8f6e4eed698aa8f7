"""`printf 'hej, vad är sfi?\\n' | python -m bot chat` with the real trained Rasa model behind it
answers in Swedish about sfi."""

from __future__ import annotations

from bot.core.content import Content
from bot.core.keys import CONV_STATE, Keys
from bot.runtime.wiring import load_content
from tests.conftest import make_settings
from tests.redis_keys import part, scan
from tests.unit.test_terminal_channel import chat_process


def content() -> Content:
    return load_content(make_settings("unused")).content


async def test_a_swedish_question_about_sfi_gets_the_swedish_sfi_answer(rasa_server, prefix,
                                                                         redis) -> None:
    done = chat_process(prefix, "hej, vad är sfi?\n", rasa_url=rasa_server.url,
                        rasa_token=rasa_server.token)
    assert done.returncode == 0, done.stderr
    assert content().text("info_sfi", "sv") in done.stdout
    keys = Keys(prefix)
    conversations = [part(keys, CONV_STATE, key, "conversation")
                     for key in await scan(redis, keys.glob(CONV_STATE))]
    assert [c for c in conversations if c and c.startswith("terminal:")]


async def test_lang_switches_the_answers_to_english(rasa_server, prefix, redis) -> None:
    done = chat_process(prefix, "/lang en\nwhat is sfi?\n", rasa_url=rasa_server.url,
                        rasa_token=rasa_server.token)
    assert done.returncode == 0, done.stderr
    assert content().text("info_sfi", "en") in done.stdout
