"""An ordinary web chat message costs two Redis round trips: one read (state, this minute's
count, the session record, the parse cache's entry) and one write (count, state, transcript,
the session's log, the review counter, a missed cache entry), each one batch (bot/core/batch.py).
Counted on the real client: every pipeline sent and every single command, from the task that
answered the request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio.client import Pipeline, Redis

from bot.core import batch
from bot.runtime.gateway import SERVICES
from tests.conftest import Conversation
from tests.waiting import until

pytestmark = pytest.mark.integration


class RoundTrips:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, str]] = []  # (task, kind, every argument as text)
        self.on = False

    def record(self, kind: str, args: tuple[Any, ...] | list[Any]) -> None:
        """One call; a batch (bot/core/batch.py) is shown as the commands it carries."""
        task = asyncio.current_task()
        if not self.on or task is None:
            return
        if kind == "command" and args[:2] == ("EVAL", batch.BATCH):
            args = tuple(json.loads(args[3]))
        self.calls.append((id(task), kind, repr(args)))

    def of_request(self, session: str) -> list[tuple[str, str]]:
        """The calls made by the task that handled the request naming `session`."""
        tasks = {task for task, _, args in self.calls if session in args}
        assert len(tasks) == 1, f"the request's calls came from {len(tasks)} tasks"
        return [(kind, args) for task, kind, args in self.calls if task in tasks]


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    counter = RoundTrips()
    execute, command = Pipeline.execute, Redis.execute_command

    async def counted_execute(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        counter.record("pipeline", [c[0] for c in self.command_stack])
        return await execute(self, *args, **kwargs)

    async def counted_command(self: Redis, *args: Any, **kwargs: Any) -> Any:
        counter.record("command", args)
        return await command(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", counted_execute)
    monkeypatch.setattr(Redis, "execute_command", counted_command)
    yield counter


async def test_an_ordinary_message_is_one_read_and_one_write(chat, round_trips) -> None:
    talk = await Conversation.start(chat, "sv")
    await talk.say("hej")  # the first parse starts the health checks, which learn the model
    rasa = chat.server.app[SERVICES].rasa
    await until(lambda: rasa.model, what="the model's name, for the parse cache's key")
    await talk.say("hallå")  # the cache's keyed hash reads its secret once per process
    for text in ("Vad är sfi för föräldralediga?", "Var ligger Jobbtorg?", "tack"):
        round_trips.calls.clear()
        round_trips.on = True
        answer = await talk.say(text)
        round_trips.on = False
        assert answer
        calls = round_trips.of_request(talk.session)
        assert [kind for kind, _ in calls] == ["command", "command"], calls
        read, write = (args for _, args in calls)
        assert "['HGETALL'" in read and "['GET'" in read
        assert all(f"['{word}'" not in read for word in ("SET", "INCR", "RPUSH", "EXPIRE"))
        for word in ("INCR", "SET", "RPUSH", "INCRBY", "HINCRBY"):  # count, state, transcript,
            assert f"['{word}'" in write                          # the log, review counter


async def test_an_unknown_session_reads_once_and_writes_nothing(chat, round_trips) -> None:
    session = "x" * 32
    round_trips.on = True
    resp = await chat.post(f"/webchat/sessions/{session}/messages", json={"text": "hej"})
    round_trips.on = False
    assert resp.status == 404
    calls = round_trips.of_request(session)
    assert [kind for kind, _ in calls] == ["command"], calls
    assert "['HGETALL'" in calls[0][1]
    assert all(f"['{word}'" not in calls[0][1]
               for word in ("SET", "INCR", "INCRBY", "RPUSH", "EXPIRE"))


async def test_a_published_edit_is_said_without_one_more_redis_read(chat, round_trips) -> None:
    """The content workspace's overrides live in memory: the message that says an edited text
    costs the same two round trips as before the workspace existed."""
    services = chat.server.app[SERVICES]
    edited = "Sfi läser du i Järva hos Komvux Rinkeby och Komvux Kista (och två folkhögskolor)."
    draft = await services.workspace.propose("answers/info_sfi/where/text", "sv", edited, "anna")
    await services.workspace.approve(draft.draft, "bo")
    version = await services.workspace.store.version()
    await until(lambda: services.live_content.loaded == version,
                what="the published edit loaded in this process")
    talk = await Conversation.start(chat, "sv")
    await talk.send(payload="/info_sfi/where")  # the session's first message
    round_trips.calls.clear()
    round_trips.on = True
    reply = await talk.send(payload="/info_sfi/where")
    round_trips.on = False
    assert edited in reply["replies"][0]["text"]
    calls = round_trips.of_request(talk.session)
    assert [kind for kind, _ in calls] == ["command", "command"], calls
