"""The terminal channel (`python -m bot chat`): the real engine and Redis, menus numbered,
`/lang xx`, later messages printed. With Rasa down (a closed port) it shows the numbered topic
menu and a number picks a topic."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from redis.asyncio import Redis

from bot.config import ROOT
from bot.core.messages import Reply
from bot.runtime.wiring import build_services
from connectors.terminal import TerminalChannel
from tests.conftest import REDIS_URL, make_settings


def chat_process(prefix: str, stdin: str, *args: str, rasa_url: str = "http://127.0.0.1:9",
                 rasa_token: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOTSEN_REDIS_URL": REDIS_URL, "LOTSEN_KEY_PREFIX": prefix,
           "LOTSEN_RASA_URL": rasa_url, "LOTSEN_RASA_TOKEN": rasa_token,
           "LOTSEN_LOG_LEVEL": "ERROR"}
    return subprocess.run([sys.executable, "-m", "bot", "chat", *args], input=stdin, env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
async def services(prefix: str, redis: Redis):
    services = await build_services(make_settings(prefix))
    yield services
    await services.close()


async def test_rasa_down_gives_the_numbered_topic_menu_and_a_number_picks(services,
                                                                           prefix) -> None:
    content = services.content
    done = chat_process(prefix, "vad är sfi?\n2\n")
    assert done.returncode == 0, done.stderr
    topics = [content.button(p, "sv").title for p in content.menus["main"]]
    assert content.text("nlu_down", "sv") in done.stdout
    assert f"  1. {topics[0]}" in done.stdout and f"  2. {topics[1]}" in done.stdout
    second = content.menus["main"][1].lstrip("/")
    answer = done.stdout.split("> 2\n", 1)[1]
    assert answer.startswith(content.text(second, "sv"))


async def test_lang_command_and_a_coach_message_that_arrives_later(services) -> None:
    channel = services.channels["terminal"]
    assert isinstance(channel, TerminalChannel)
    await services.deliveries.send("terminal:ali", [Reply("Hi, this is Sara", ())])
    out = io.StringIO()
    code = await channel.run(["--user", "ali"], stdin=io.StringIO("/lang en\n/quit\nnot read\n"),
                             stdout=out)
    text = out.getvalue()
    assert code == 0
    assert services.content.text("language_set", "en") in text
    assert "Hi, this is Sara" in text and "not read" not in text
    state = await services.engine.store.load("terminal:ali")
    assert state.language == "en" and state.language_chosen


def test_an_unknown_command_is_refused_with_the_list() -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "nosuch"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 2 and "chat" in done.stderr and "serve" in done.stderr
