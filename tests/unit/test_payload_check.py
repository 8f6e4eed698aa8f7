"""Every button payload is checked at start-up: in replies.yml (titles, menus, replies) and the
fixed payloads flows show. A wrong one stops the start with its name."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.core.content import ContentError
from bot.core.payloads import BOOKING, HANDOVER, LANGUAGE, Prefix, intent, intent_name
from bot.runtime.wiring import build_services
from tests.conftest import make_settings


@pytest.fixture
async def services(prefix: str, redis: Redis):
    services = await build_services(make_settings(prefix))
    yield services
    await services.close()


def test_prefixes_build_and_split_payloads() -> None:
    slot = "unga-jarva:day-7T10:00"  # slot ids carry colons: only the first one splits
    assert BOOKING("ok", slot) == f"/book:ok:{slot}"
    assert BOOKING.split(f"/book:ok:{slot}") == ("ok", slot)
    assert Prefix("/x:").owns("/x:y") and not HANDOVER.owns("/book:ok")
    assert intent("info_sfi") == "/info_sfi" and intent_name("/info_sfi") == "info_sfi"
    assert intent_name(LANGUAGE("sv")) is None and intent_name("info_sfi") is None


async def test_the_shipped_content_passes(services) -> None:
    services.engine.check_payloads()  # build_services ran it too; it must stay quiet


@pytest.mark.parametrize("bad", ["/handover:contcat:chat", "/info_sfii", "/book:okk:x",
                                 "/lang:xx", "/erase:maybe"])
async def test_a_mistyped_payload_in_replies_yml_stops_the_start(services, bad: str) -> None:
    services.content.button_titles[bad] = "A title"
    with pytest.raises(ContentError, match=bad.replace("/", ".")):
        services.engine.check_payloads()


async def test_a_mistyped_payload_in_a_menu_is_named_with_its_menu(services) -> None:
    services.content.menus["main"] = (*services.content.menus["main"], "/ask_locaton")
    with pytest.raises(ContentError, match=r"/ask_locaton.*menu 'main'"):
        services.engine.check_payloads()


async def test_a_mistyped_fixed_payload_in_a_flow_stops_the_start(services,
                                                                 monkeypatch) -> None:
    flow = services.engine.flow("booking")
    monkeypatch.setattr(flow, "fixed_payloads", lambda: ("/book:stpo",))
    services.content.button_titles["/book:stpo"] = "Stop"
    with pytest.raises(ContentError, match="/book:stpo"):
        services.engine.check_payloads()
    monkeypatch.setattr(flow, "fixed_payloads", lambda: (HANDOVER("end"), "/book:nothing"))
    with pytest.raises(ContentError, match="no title"):
        services.engine.check_payloads()
