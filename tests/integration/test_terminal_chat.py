"""`printf 'hej, vad är sfi?\\n' | python -m bot chat` with the real trained Rasa model behind it
answers in Swedish about sfi."""

from __future__ import annotations

from bot.core.content import Content
from bot.runtime.wiring import load_content
from tests.conftest import make_settings
from tests.unit.test_terminal_channel import chat_process


def content() -> Content:
    return load_content(make_settings("unused")).content


async def test_a_swedish_question_about_sfi_gets_the_swedish_sfi_answer(rasa_server, prefix,
                                                                         redis) -> None:
    done = chat_process(prefix, "hej, vad är sfi?\n", rasa_url=rasa_server.url,
                        rasa_token=rasa_server.token)
    assert done.returncode == 0, done.stderr
    assert content().text("info_sfi", "sv") in done.stdout
    assert [k async for k in redis.scan_iter(match=f"{prefix}:conv:terminal:*:state")]


async def test_lang_switches_the_answers_to_english(rasa_server, prefix, redis) -> None:
    done = chat_process(prefix, "/lang en\nwhat is sfi?\n", rasa_url=rasa_server.url,
                        rasa_token=rasa_server.token)
    assert done.returncode == 0, done.stderr
    assert content().text("info_sfi", "en") in done.stdout
