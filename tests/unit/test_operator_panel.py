"""The coach panel's campaign routes: only for accounts with the operator role, with their
session and CSRF token; the same service as the admin API (a campaign made in the panel is the
admin API's campaign); the live cost of a text; roles from the CLI. Real Redis, no NLU."""

from __future__ import annotations

import io
import sys

import pytest

from bot.coach.accounts import AccountError
from bot.core.outreach.subscriptions import Consent, Subscription
from bot.runtime import admin
from bot.runtime.gateway import SERVICES
from connectors.sms_text import segments
from tests import journeys
from tests.clock import FixedClock
from tests.unit.test_campaign_api import AR, CLOCK, SV, campaign_gateway

PASSWORD = "correct horse battery"
ADMIN = {"Authorization": "Bearer test-admin"}
BODY = {"name": "sfi Tensta", "audience": {"topics": ["sfi_parents"]},
        "texts": {"sv": SV, "ar": AR}}


@pytest.fixture
async def client(aiohttp_client, prefix, redis, providers):
    """The campaign tests' gateway, with operator Olga and coach Sara."""
    client = await campaign_gateway(aiohttp_client, prefix, providers)
    services = client.server.app[SERVICES]
    accounts = services.accounts
    await accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    await accounts.add("sara", PASSWORD, [next(iter(services.teams.teams))], name="Sara")
    return client


async def log_in(client, username: str) -> dict[str, str]:
    """Log in; the headers a state-changing request needs (the CSRF token)."""
    resp = await client.post("/coach/api/login", json={"username": username,
                                                       "password": PASSWORD})
    assert resp.status == 200
    me = await resp.json()
    return {"X-CSRF-Token": me["csrf_token"], "role": me["role"]}


async def subscribe(client, conversation: str, language: str, clock: FixedClock = CLOCK) -> None:
    now = clock.timestamp()
    await client.server.app[SERVICES].subscriptions.save(Subscription(
        conversation, language, ("sfi_parents",), (),
        Consent("v1", now, conversation.split(":")[0], language, "0" * 64),
        now + 200 * 86400), now)


async def test_only_operators_reach_the_campaign_routes(client) -> None:
    assert (await client.get("/coach/api/campaigns")).status == 401  # no session
    assert (await client.get("/coach/api/outreach")).status == 401
    coach = await log_in(client, "sara")
    assert coach.pop("role") == "coach"
    for method, path in [("get", "/coach/api/campaigns"), ("get", "/coach/api/outreach"),
                         ("post", "/coach/api/campaigns"),
                         ("post", "/coach/api/outreach/segments")]:
        resp = await getattr(client, method)(path, json=BODY, headers=coach)
        assert resp.status == 403, path
        assert "operator role" in (await resp.json())["error"]
    assert (await client.get("/api/campaigns", headers=ADMIN)).status == 200
    assert (await (await client.get("/api/campaigns", headers=ADMIN)).json())["campaigns"] == []

    await client.post("/coach/api/logout", headers=coach)
    operator = await log_in(client, "olga")
    assert operator.pop("role") == "operator"
    # A state-changing request without the session's CSRF token changes nothing.
    assert (await client.post("/coach/api/campaigns", json=BODY)).status == 403
    assert (await client.post("/coach/api/campaigns", json=BODY,
                              headers={"X-CSRF-Token": "forged"})).status == 403
    assert (await (await client.get("/coach/api/campaigns")).json())["campaigns"] == []


async def test_a_campaign_made_in_the_panel_is_previewed_sent_and_followed(
        client, redis, providers) -> None:
    await subscribe(client, "telegram:7", "ar")
    await subscribe(client, "sms:+46701000001", "sv")
    await subscribe(client, "sms:+46701000002", "so")  # no Somali text: skipped
    operator = await log_in(client, "olga")
    operator.pop("role")

    options = await (await client.get("/coach/api/outreach")).json()
    assert [t["id"] for t in options["topics"]] == ["sfi_parents", "jobbtorg_unga",
                                                    "jobbtorg", "komvux", "dropin"]
    assert all(t["name"] for t in options["topics"])
    assert options["channels"] == ["sms", "telegram"]
    assert {"code": "ar", "native": "العربية", "dir": "rtl"} in options["languages"]
    assert "Tensta" in options["districts"]

    bad = await client.post("/coach/api/campaigns", json={**BODY, "texts": {"xx": "hej"}},
                            headers=operator)
    assert bad.status == 400 and "not enabled" in (await bad.json())["error"]
    resp = await client.post("/coach/api/campaigns", json=BODY, headers=operator)
    assert resp.status == 201
    preview = await resp.json()
    assert (preview["recipients"], preview["by_channel"], preview["by_language"],
            preview["sms_segments"], preview["missing_languages"],
            preview["skipped_reasons"]) == (
        2, {"telegram": 1, "sms": 1}, {"ar": 1, "sv": 1}, segments(SV).count, ["so"],
        {"no_text": 1})
    campaign = preview["id"]
    # The admin API sees the same campaign, and the stored preview for the panel to reopen.
    view = await (await client.get(f"/api/campaigns/{campaign}", headers=ADMIN)).json()
    assert view["status"] == "draft" and view["preview"]["recipients"] == 2

    assert (await client.post(f"/coach/api/campaigns/{campaign}/send")).status == 403
    sent = await client.post(f"/coach/api/campaigns/{campaign}/send", headers=operator)
    assert sent.status == 202 and (await sent.json())["status"] == "scheduled"
    await journeys.run_worker_until_sent(client.settings, redis, clock=CLOCK)
    view = await (await client.get(f"/coach/api/campaigns/{campaign}")).json()
    assert (view["status"], view["recipients"], view["sent"], view["skipped"]) == \
        ("done", 3, 2, 1)
    assert [m["chat_id"] for m in providers.telegram_sent] == [7]
    assert providers.telegram_sent[0]["text"].startswith(AR + "\n\nhttps://t.me/")
    refused = await client.post(f"/coach/api/campaigns/{campaign}/cancel", headers=operator)
    assert refused.status == 409
    listed = (await (await client.get("/coach/api/campaigns")).json())["campaigns"]
    assert [c["id"] for c in listed] == [campaign]


async def test_the_cost_of_each_text_is_counted_while_it_is_written(client) -> None:
    operator = await log_in(client, "olga")
    operator.pop("role")
    short_sv = "Ny sfi-grupp i Tensta på måndag kl 10."
    resp = await client.post("/coach/api/outreach/segments", headers=operator, json={
        "texts": {"sv": short_sv, "ar": AR, "so": SV + "  "}})
    assert resp.status == 200
    costs = (await resp.json())["texts"]
    assert costs == {"sv": {"characters": len(short_sv), "segments": {"sms": 1}},
                     "ar": {"characters": len(AR), "segments": {"sms": segments(AR).count}},
                     "so": {"characters": len(SV), "segments": {"sms": 2}}}
    assert segments(AR).count == 2  # Arabic is UCS-2: 70 characters a segment
    for body in ({}, {"texts": "hej"}, {"texts": {"xx": "hej"}}, {"texts": {"sv": 5}},
                 {"texts": {"sv": "x" * 5000}}):
        bad = await client.post("/coach/api/outreach/segments", json=body, headers=operator)
        assert bad.status == 400, body
        assert "texts" in (await bad.json())["error"]


async def test_roles_from_the_cli_and_a_coach_needs_a_team(client, monkeypatch) -> None:
    services = client.server.app[SERVICES]
    accounts = services.accounts
    with pytest.raises(AccountError, match="a coach needs a team"):
        await accounts.add("tom", PASSWORD, [])
    with pytest.raises(AccountError, match="role must be one of coach, operator"):
        await accounts.add("tom", PASSWORD, [], role="admin")
    assert (await accounts.get("olga")).is_operator
    assert not (await accounts.get("sara")).is_operator

    args = admin.parser().parse_args(["add-coach", "petra", "--role", "operator",
                                      "--name", "Petra"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    printed: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *a: printed.append(" ".join(map(str, a))))
    await admin.coach_command(services.settings, services.teams, services.redis, args)
    assert printed == ["operator petra saved for team(s) (none)"]
    petra = await accounts.get("petra")
    assert petra is not None and petra.is_operator and petra.teams == ()
    with pytest.raises(SystemExit):
        admin.parser().parse_args(["add-coach", "petra", "--role", "admin"])


async def test_operators_see_every_teams_numbers_and_coaches_their_own(client) -> None:
    services = client.server.app[SERVICES]
    teams = list(services.teams.teams)
    await services.leads.create("web:one", teams[0], {"language": "sv"})
    await services.leads.create("web:two", teams[-1], {"language": "ar"})
    coach = await log_in(client, "sara")
    mine = (await (await client.get("/coach/api/teams")).json())["teams"]
    assert [(t["id"], t["waiting"]) for t in mine] == [(teams[0], 1)]
    await client.post("/coach/api/logout", headers={"X-CSRF-Token": coach["X-CSRF-Token"]})
    await log_in(client, "olga")
    every = {t["id"]: t for t in (await (await client.get("/coach/api/teams")).json())["teams"]}
    assert list(every) == teams
    assert (every[teams[0]]["waiting"], every[teams[-1]]["waiting"]) == (1, 1)
    assert set(every[teams[0]]) == {"id", "name", "waiting", "over_sla", "claimed"}  # numbers
    lead = (await services.leads.team_leads(teams[-1]))[0]
    refused = await client.get(f"/coach/api/leads/{lead.id}")  # not Olga's team: no transcript
    assert refused.status == 404
