"""The one wiring place: what `build_services` opened is closed again when building fails, and
stores get their collaborators through their constructors (nothing is set afterwards)."""

from __future__ import annotations

import ast
from pathlib import Path

import aiohttp
import pytest

from bot.core.content import ContentError
from bot.core.dialogue import DialogueEngine
from bot.runtime import wiring
from tests.conftest import REDIS_URL, make_settings

ROOT = Path(__file__).resolve().parents[2]


async def test_a_start_that_breaks_off_closes_the_redis_client_and_the_http_session(
        monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    opened: list[object] = []
    closed: list[str] = []
    real_client = wiring.redis_client

    def recording_client(settings):  # type: ignore[no-untyped-def]
        client = real_client(settings)
        close = client.aclose

        async def aclose() -> None:
            closed.append("redis")
            await close()
        client.aclose = aclose
        opened.append(client)
        return client

    class RecordingSession(aiohttp.ClientSession):
        def __init__(self, **options: object) -> None:
            super().__init__(**options)  # type: ignore[arg-type]
            opened.append(self)

    def typo(self: DialogueEngine) -> None:
        raise ContentError("unknown button payload '/gret' in replies.yml buttons")

    monkeypatch.setattr(wiring, "redis_client", recording_client)
    monkeypatch.setattr(wiring.aiohttp, "ClientSession", RecordingSession)
    monkeypatch.setattr(DialogueEngine, "check_payloads", typo)
    with pytest.raises(ContentError, match="/gret"):
        await wiring.build_services(make_settings(prefix, redis_url=REDIS_URL))
    sessions = [o for o in opened if isinstance(o, aiohttp.ClientSession)]
    assert len(opened) == 2 and len(sessions) == 1
    assert sessions[0].closed
    assert closed == ["redis"]


def test_the_wiring_sets_nothing_on_an_object_after_making_it() -> None:
    """No `thing.attribute = ...` and no `.append(` on another object's list in wiring.py:
    collaborators go in through constructors, keyword arguments only."""
    tree = ast.parse((ROOT / "bot" / "runtime" / "wiring.py").read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [f"line {node.lineno}" for t in targets if isinstance(t, ast.Attribute)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("append", "extend") and \
                isinstance(node.func.value, ast.Attribute):
            found.append(f"line {node.lineno}")
    assert not found, f"set after construction in bot/runtime/wiring.py: {found}"
