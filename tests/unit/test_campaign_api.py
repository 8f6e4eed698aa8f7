"""The campaign API and CLI (one service behind both): a bad request is a 400 that says what
to fix and changes nothing, an unknown id 404, the preview counts (fallback, skipped, missing
languages, SMS segments), send is idempotent, cancel stops, a cancelled campaign is not sent;
real Redis, no NLU."""

from __future__ import annotations

from argparse import Namespace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.keys import JOBS_DUE, Keys
from bot.core.outreach.subscriptions import Consent, Subscription
from bot.runtime import outreach_cli
from bot.runtime.gateway import SERVICES, create_app
from connectors.optout import OptOuts
from connectors.sms_text import segments
from tests import journeys
from tests.clock import FixedClock
from tests.conftest import make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, TELEGRAM_TOKEN

CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # fixed clock: Monday noon
ADMIN = {"Authorization": "Bearer test-admin"}
SV = ("Välkommen till sfi för föräldralediga i Tensta! Ta med barnet, vi har fika och "
      "en lekhörna. Du behöver inte anmäla dig i förväg, kom när det passar dig under "
      "öppettiderna.")  # over 160 characters: two segments
AR = "مرحبا بكم في دروس اللغة السويدية للآباء في إجازة الوالدين في تنستا، أهلا وسهلا"
GOOD = {"name": "sfi Tensta", "audience": {"topics": ["sfi_parents"]},
        "texts": {"sv": SV, "ar": AR}}


async def campaign_gateway(aiohttp_client, prefix: str, providers):  # type: ignore[no-untyped-def]
    """The gateway with Telegram and 46elks (stand-ins) configured, on the fixed clock."""
    settings = make_settings(prefix, public_url="http://lotsen.test",
                             telegram_token=TELEGRAM_TOKEN,
                             telegram_api_url=providers.url, elks_username=ELKS_USER,
                             elks_password=ELKS_PASSWORD, elks_api_url=providers.url)
    client = await aiohttp_client(create_app(settings, clock=CLOCK))
    client.settings = settings  # type: ignore[attr-defined]
    return client


@pytest.fixture
async def client(aiohttp_client, prefix, redis, providers):
    return await campaign_gateway(aiohttp_client, prefix, providers)


async def subscribe(client, conversation: str, language: str, topics=("sfi_parents",),
                    districts=()) -> None:
    services = client.server.app[SERVICES]
    now = CLOCK.timestamp()
    await services.subscriptions.save(Subscription(
        conversation, language, tuple(topics), tuple(districts),
        Consent("v1", now, conversation.split(":")[0], language, "0" * 64),
        now + 200 * 86400), now)


async def post(client, path: str, body=None, **kwargs):
    return await client.post(path, json=body, headers=ADMIN, **kwargs)


def bad_bodies() -> list[tuple[object, str]]:
    def with_audience(**audience: object) -> dict:
        return {**GOOD, "audience": {"topics": ["sfi_parents"], **audience}}

    in_the_past = (CLOCK() - timedelta(hours=1)).isoformat()
    return [
        ([], "JSON object"),
        ({**GOOD, "name": ""}, '"name"'),
        ({**GOOD, "name": "x" * 101}, '"name"'),
        ({k: v for k, v in GOOD.items() if k != "audience"}, '"audience"'),
        ({**GOOD, "audience": {"topics": []}}, "at least one topic"),
        ({**GOOD, "audience": {}}, "at least one topic"),
        (with_audience(topics=["cooking"]), "'cooking'"),
        (with_audience(topics="sfi_parents"), "must be a list"),
        (with_audience(districts=["Atlantis"]), "Unknown district 'Atlantis'"),
        (with_audience(channels=["whatsapp"]), "'whatsapp'"),
        (with_audience(channels=["webchat"]), "'webchat'"),
        (with_audience(languages=["xx"]), "'xx'"),
        (with_audience(age=["16-19"]), "Unknown field 'age'"),
        ({**GOOD, "texts": {}}, '"texts"'),
        ({**GOOD, "texts": {"sv": "  "}}, "empty"),
        ({**GOOD, "texts": {"sv": "x" * 1001}}, "at most 1000"),
        ({**GOOD, "texts": {"xx": "hej"}}, "not enabled"),
        ({**GOOD, "texts": {"sv": 5}}, "empty"),
        ({**GOOD, "fallback": "so"}, '"fallback"'),
        ({**GOOD, "send_at": "tomorrow"}, "ISO 8601"),
        ({**GOOD, "send_at": "2026-11-24T09:00:00"}, "no UTC offset"),  # fixed clock date
        ({**GOOD, "send_at": in_the_past}, "in the past"),
        ({**GOOD, "send_at": (CLOCK() + timedelta(days=91)).isoformat()}, "90 days"),
        ({**GOOD, "sendAt": "x"}, "Unknown field 'sendAt'"),
    ]


async def test_bad_requests_are_400_with_the_reason_and_change_nothing(client, redis,
                                                                       prefix) -> None:
    await subscribe(client, "telegram:1", "sv")
    before = await journeys.dump(redis, prefix)
    for body, reason in bad_bodies():
        resp = await post(client, "/api/campaigns", body)
        assert resp.status == 400, (body, await resp.text())
        assert reason in (await resp.json())["error"], (reason, await resp.text())
    resp = await client.post("/api/campaigns", data=b"{not json", headers=ADMIN)
    assert resp.status == 400
    assert await journeys.dump(redis, prefix) == before
    assert (await (await client.get("/api/campaigns", headers=ADMIN)).json()) == \
        {"campaigns": []}


async def test_the_admin_token_is_required(client) -> None:
    for method, path in (("POST", "/api/campaigns"), ("GET", "/api/campaigns"),
                         ("GET", "/api/campaigns/abc"), ("POST", "/api/campaigns/abc/send"),
                         ("POST", "/api/campaigns/abc/cancel")):
        resp = await client.request(method, path, json=GOOD,
                                    headers={"Authorization": "Bearer wrong"})
        assert resp.status == 401, path


async def test_unknown_campaigns_are_404(client) -> None:
    for campaign in ("abcdef1234", "no%20such", "x" * 40):
        assert (await client.get(f"/api/campaigns/{campaign}", headers=ADMIN)).status == 404
        assert (await post(client, f"/api/campaigns/{campaign}/send")).status == 404
        assert (await post(client, f"/api/campaigns/{campaign}/cancel")).status == 404


async def test_the_preview_counts_fallback_skipped_missing_languages_and_segments(
        client) -> None:
    await subscribe(client, "telegram:1", "sv")
    await subscribe(client, "telegram:2", "ar")
    await subscribe(client, "sms:+46701000001", "sv")
    await subscribe(client, "sms:+46701000002", "ar")
    await subscribe(client, "sms:+46701000003", "so")
    await subscribe(client, "sms:+46701000004", "so", districts=["Tensta"])
    await subscribe(client, "sms:+46701000005", "fa", districts=["Kista"])
    await subscribe(client, "telegram:3", "sv", topics=["komvux"])  # another topic
    await OptOuts(redis=client.server.app[SERVICES].redis,
                  keys=client.server.app[SERVICES].keys).opt_out("sms:+46701000006")
    await subscribe(client, "sms:+46701000006", "sv")  # said STOP: never counted

    sv, ar = segments(SV).count, segments(AR).count
    assert (sv, ar) == (2, 2)  # GSM-7 over 160; Arabic is UCS-2 over 70
    resp = await post(client, "/api/campaigns", GOOD)
    assert resp.status == 201
    preview = await resp.json()
    assert preview["status"] == "draft"
    assert {k: preview[k] for k in ("recipients", "by_channel", "by_language",
                                    "sms_segments", "missing_languages", "skipped",
                                    "skipped_reasons")} == {
        "recipients": 4, "by_channel": {"telegram": 2, "sms": 2},
        "by_language": {"sv": 2, "ar": 2}, "sms_segments": sv + ar,
        "missing_languages": ["fa", "so"], "skipped": 4,
        "skipped_reasons": {"no_text": 3, "opted_out": 1}}

    resp = await post(client, "/api/campaigns", {**GOOD, "fallback": "sv"})
    fallback = await resp.json()
    assert (fallback["recipients"], fallback["by_language"], fallback["sms_segments"],
            fallback["missing_languages"], fallback["skipped"]) == \
        (7, {"sv": 5, "ar": 2}, 4 * sv + ar, ["fa", "so"], 1)

    narrow = await (await post(client, "/api/campaigns", {
        **GOOD, "fallback": "sv", "audience": {"topics": ["sfi_parents"],
                                               "districts": ["tensta"],
                                               "channels": ["sms"]}})).json()
    # A subscriber without districts asked for the whole city; Kista is not Tensta.
    assert (narrow["recipients"], narrow["by_channel"]) == (4, {"sms": 4})
    view = await (await client.get(f"/api/campaigns/{narrow['id']}", headers=ADMIN)).json()
    assert view["audience"]["districts"] == ["Tensta"] and view["status"] == "draft"
    assert (view["recipients"], view["sent"], view["queued"]) == (4, 0, 0)
    listed = (await (await client.get("/api/campaigns", headers=ADMIN)).json())["campaigns"]
    assert sorted(c["id"] for c in listed) == sorted([narrow["id"], fallback["id"],
                                                       preview["id"]])


async def test_send_is_idempotent_cancel_stops_and_a_cancelled_campaign_is_not_sent(
        client, redis, prefix) -> None:
    await subscribe(client, "telegram:1", "sv")
    later = (CLOCK() + timedelta(hours=2)).isoformat()
    campaign = (await (await post(client, "/api/campaigns", {**GOOD, "send_at": later}))
                .json())["id"]
    first = await post(client, f"/api/campaigns/{campaign}/send")
    assert first.status == 202
    body = await first.json()
    assert (body["status"], body["scheduled_now"]) == ("scheduled", True)
    assert datetime.fromisoformat(body["send_at"]).timestamp() == CLOCK.timestamp() + 7200
    again = await post(client, f"/api/campaigns/{campaign}/send")
    assert again.status == 202 and (await again.json())["scheduled_now"] is False
    due = await redis.zrange(Keys(prefix)(JOBS_DUE), 0, -1, withscores=True)
    assert due == [(f"campaign-start-{campaign}", CLOCK.timestamp() + 7200)]  # one start job

    cancelled = await post(client, f"/api/campaigns/{campaign}/cancel")
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
    assert await redis.zcard(Keys(prefix)(JOBS_DUE)) == 0
    assert (await post(client, f"/api/campaigns/{campaign}/cancel")).status == 200
    refused = await post(client, f"/api/campaigns/{campaign}/send")
    assert refused.status == 409 and "cancelled" in (await refused.json())["error"]


async def test_a_finished_campaign_cannot_be_cancelled(client, redis, providers) -> None:
    await subscribe(client, "telegram:5", "sv")
    campaign = (await (await post(client, "/api/campaigns", GOOD)).json())["id"]
    assert (await post(client, f"/api/campaigns/{campaign}/send")).status == 202
    await journeys.run_worker_until_sent(client.settings, redis, clock=CLOCK)
    assert [m["chat_id"] for m in providers.telegram_sent] == [5]
    view = await (await client.get(f"/api/campaigns/{campaign}", headers=ADMIN)).json()
    assert (view["status"], view["sent"], view["delivered"]) == ("done", 1, 1)
    refused = await post(client, f"/api/campaigns/{campaign}/cancel")
    assert refused.status == 409


def cli_args(**values: object) -> Namespace:
    defaults: dict[str, object] = {"command": "campaign", "action": "create", "name": "sfi",
                                   "topic": ["sfi_parents"], "district": [], "channel": [],
                                   "language": [], "text": [], "send_at": None,
                                   "fallback": None}
    return Namespace(**{**defaults, **values})


async def test_the_cli_uses_the_same_service(client, tmp_path) -> None:
    await subscribe(client, "sms:+46701000001", "so")
    services = client.server.app[SERVICES]
    text = tmp_path / "sv.txt"
    text.write_text(SV + "\n", encoding="utf-8")
    said: list[str] = []
    await outreach_cli.run(services, cli_args(text=[f"sv={text}", f"ar={AR}"],
                                              fallback="sv"), said.append)
    campaign = said[0].split()[1]
    assert said[1:] == ["recipients: 1 (sms 1)", "by language: sv 1", "SMS segments: 2",
                        "missing languages: so", "skipped: 0 (none)"]
    stored = await services.campaigns.get(campaign)
    assert stored.texts == {"sv": SV, "ar": AR} and stored.fallback == "sv"
    with pytest.raises(SystemExit, match="Unknown value 'cooking'"):
        await outreach_cli.run(services, cli_args(topic=["cooking"], text=["sv=hej"]),
                               said.append)
    with pytest.raises(SystemExit, match="No campaign 'nope'"):
        await outreach_cli.run(services, cli_args(action="send", id="nope"), said.append)
    said.clear()
    await outreach_cli.run(services, cli_args(action="send", id=campaign), said.append)
    await outreach_cli.run(services, cli_args(action="send", id=campaign), said.append)
    assert said[0].startswith(f"campaign {campaign} scheduled to send at ")
    assert said[1] == f"campaign {campaign} was already scheduled; nothing changed"
    said.clear()
    await outreach_cli.run(services, cli_args(action="list"), said.append)
    assert said == [f"{campaign}\tscheduled\t1 recipients\t0 sent\tsfi"]
