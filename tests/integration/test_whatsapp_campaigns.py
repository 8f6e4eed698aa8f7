"""WhatsApp as a campaign channel.

1. Throughput, with the real worker process against the stand-in Graph API answering each call
   in 100 ms (`make bench-campaign`'s WhatsApp run, scripts/bench_campaign.py, smaller): 1,000
   subscribers in every enabled language at LOTSEN_WHATSAPP_RATE_PER_SECOND 80 (the default,
   about 14 s) each get the campaign exactly once, at >= 0.9 x 80 a second and never more than
   80 in any one-second window, counted from the stand-in's own receive times; each message is
   the campaign template in the language config/whatsapp.yml chooses (Somali and Tigrinya: the
   fallback it names). The worker runs under faketime at 10:00 Stockholm time (campaigns on
   WhatsApp go by day only).
2. People on WhatsApp: subscribing through the real flow's buttons and numbered menu, STOP, an
   imported list (a bad number named with its line), the preview counting WhatsApp recipients
   and the ones without a template (named per language), the campaign going out as marketing
   templates (Somali and Tigrinya by their fallback, nothing to whoever said STOP or has no
   template), its delivered and failed statuses and a reply counted for it. A fixed clock at
   noon; the templates file is the real one with Persian's campaign template taken out."""

from __future__ import annotations

import asyncio
import time
from argparse import Namespace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ROOT
from bot.core.messages import Purpose
from bot.core.outreach.flow import ALL_DISTRICTS, DONE, OFFER, YES
from bot.core.outreach.subscriptions import Consent, Subscription
from bot.runtime import outreach_cli, worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.optout import OptOuts
from connectors.whatsapp import WhatsAppChannel
from scripts.bench_campaign import WHATSAPP_RATE, Bench
from tests import journeys
from tests.fakes import (
    WHATSAPP_APP_SECRET,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    WHATSAPP_VERIFY_TOKEN,
    WHATSAPP_VERSION,
    Providers,
    whatsapp_status,
    whatsapp_webhook,
)
from tests.integration.test_whatsapp import Person, choices, post
from tests.job_queue import queue_idle
from tests.waiting import until

ADMIN = {"Authorization": "Bearer test-admin"}
CLOCK = journeys.CLOCK  # a Monday, 12:00 in Stockholm: within the hours campaigns may go
TEXTS = {"sv": "Nytt: sfi för föräldralediga i Tensta på tisdagar.",
         "so": "Cusub: sfi waalidiinta fasaxa ku jira ee Tensta.",
         "ti": "ሓድሽ፦ sfi ንወለዲ ኣብ Tensta ሰሉስ።",
         "ar": "جديد: دروس sfi للآباء في إجازة الوالدين في تنستا.",
         "fa": "تازه: sfi برای والدین در مرخصی والدینی در Tensta."}
SWEDE, SOMALI, STOPPER = "+46701000101", "+46701000102", "+46701000103"
TIGRINYA, ARABIC, PERSIAN, RACE = "+46701112233", "+46701112234", "+46701112235", \
    "+46701112236"


# ------------------------------------------------------------------ 1. throughput
async def test_a_campaign_to_1000_subscribers_reaches_each_once_within_the_rate(
        providers) -> None:
    providers.delay = 0.1  # the stand-in Graph API answers each call in 100 ms
    bench = Bench(providers, providers.url)
    try:
        result, checks = await bench.whatsapp(1000)
    finally:
        await bench.clean()
    assert [label for label, ok, _ in checks if not ok] == [], checks
    assert result["configured_per_second"] == WHATSAPP_RATE == 80
    assert result["rate_per_second"] >= 0.9 * WHATSAPP_RATE
    assert result["most_in_one_second"] <= WHATSAPP_RATE
    assert providers.most_in_flight > 1  # sends overlap: one at a time could not pass 10/s
    frames = result["templates_by_language"]
    # Somali and Tigrinya have no WhatsApp template language: the configured fallback's frame.
    assert frames["so"] != frames["ti"] and not frames["so"].endswith(("/so", "/ti"))
    assert frames["so"] == frames[frames["so"].rsplit("/", 1)[1]]  # that language's template
    assert frames["ti"] == frames[frames["ti"].rsplit("/", 1)[1]]
    assert result["status"]["sent"] == 1000 and result["status"]["by_channel"]["whatsapp"][
        "sent"] == 1000


# ------------------------------------------------------------------ 2. people
@pytest.fixture
def templates_file(tmp_path) -> Path:
    """config/whatsapp.yml, with Persian's campaign template taken out (`sms` instead)."""
    data = yaml.safe_load((ROOT / "config" / "whatsapp.yml").read_text(encoding="utf-8"))
    del data["templates"]["campaign"]["languages"]["fa"]
    data["fallback"]["fa"] = {"campaign": "sms"}
    path = tmp_path / "whatsapp.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def settings(prefix, providers, redis, templates_file):
    return journeys.journey_settings(
        prefix, providers, whatsapp_token=WHATSAPP_TOKEN,
        whatsapp_phone_number_id=WHATSAPP_PHONE_ID, whatsapp_app_secret=WHATSAPP_APP_SECRET,
        whatsapp_verify_token=WHATSAPP_VERIFY_TOKEN,
        whatsapp_api_url=f"{providers.url}/{WHATSAPP_VERSION}",
        whatsapp_templates=templates_file)


@pytest.fixture
async def gateway(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings, clock=CLOCK))


@pytest.fixture
async def running_worker(settings):
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2, clock=CLOCK))
    yield
    stop.set()
    await asyncio.wait_for(task, 10)


async def pick(person: Person, answers: list[dict[str, Any]], payload: str
               ) -> list[dict[str, Any]]:
    """Press the button or list row with `payload`, or, where the choices are a numbered text
    menu (more than ten), write its number."""
    if any(found == payload for message in answers for _, found in choices(message)):
        return await person.choose(answers, payload)
    services = person.gateway.server.app[SERVICES]
    menu = (await services.engine.store.load(f"whatsapp:{person.number}")).menu
    assert payload in menu, (payload, menu)
    return await person.write(str(menu.index(payload) + 1))


async def subscribes(person: Person, language: str | None = None) -> None:
    """The subscription flow on WhatsApp: (a language,) the offer, consent, topics, area."""
    if language:
        await person.press(f"/lang:{language}")
    answers = await person.press(OFFER["sfi_parents"])
    for payload in (YES, DONE, ALL_DISTRICTS):
        answers = await pick(person, answers, payload)
    services = person.gateway.server.app[SERVICES]
    subscription = await services.subscriptions.get(f"whatsapp:{person.number}",
                                                    CLOCK.timestamp())
    assert subscription is not None and subscription.topics == ("sfi_parents",)


def campaign_messages(providers: Providers, number: str) -> list[dict[str, Any]]:
    return [m for m in providers.whatsapp_sent if m["to"] == number and m["type"] == "template"
            and m["template"]["name"] == "lotsen_campaign"]


def parameter(message: dict[str, Any]) -> str:
    return message["template"]["components"][0]["parameters"][0]["text"]


async def test_subscribers_on_whatsapp_get_the_campaign_as_its_template_in_their_language(
        gateway, providers, redis, prefix, running_worker, tmp_path) -> None:
    services = gateway.server.app[SERVICES]
    channel = services.channels["whatsapp"]
    assert isinstance(channel, WhatsAppChannel) and channel.templates is not None
    now = CLOCK.timestamp()

    # Three people subscribe through the flow on WhatsApp; one of them then says STOP.
    swede, somali, stopper = (Person(gateway, providers, redis, prefix, number)
                              for number in (SWEDE, SOMALI, STOPPER))
    await subscribes(swede)
    await subscribes(somali, "so")
    await subscribes(stopper)
    subscription = await services.subscriptions.get(f"whatsapp:{SOMALI}", now)
    assert subscription is not None and subscription.language == "so"
    assert subscription.consent.channel == "whatsapp"
    await stopper.write("STOP")
    assert await services.subscriptions.get(f"whatsapp:{STOPPER}", now) is None

    # An imported list: Tigrinya, Arabic and Persian numbers in any E.164 spelling; a bad one.
    consented = (CLOCK() - timedelta(days=10)).isoformat()
    listed = tmp_path / "list.csv"
    listed.write_text("\n".join([
        "channel,address,language,topics,districts,consent_source,consented_at",
        f'whatsapp,"+46 70-111 22 33",ti,sfi_parents,,open-preschool,{consented}',
        f"whatsapp,0046701112234,ar,sfi_parents,Tensta,open-preschool,{consented}",
        f"whatsapp,+46701112235,fa,sfi_parents,,open-preschool,{consented}",
        f"whatsapp,12345,sv,sfi_parents,,open-preschool,{consented}"]) + "\n",
        encoding="utf-8")
    said: list[str] = []
    imported = await outreach_cli.import_file(services, listed, said.append)
    assert imported.saved == 3
    assert [str(p) for p in imported.rejected] == [
        "line 5: address: '12345' is not a phone number in E.164 (e.g. +46701234567)"]
    # A STOP that came in as a subscription was saved (a race): the send-time check holds.
    await OptOuts(redis=redis, keys=services.keys).opt_out(f"whatsapp:{RACE}")
    await services.subscriptions.save(Subscription(
        f"whatsapp:{RACE}", "sv", ("sfi_parents",), (),
        Consent("v", now, "whatsapp", "sv", "0" * 64), now + 86400), now)

    # The preview: WhatsApp recipients, and Persian named as having no campaign template.
    created = await gateway.post("/api/campaigns", headers=ADMIN, json={
        "name": "sfi", "audience": {"topics": ["sfi_parents"]}, "texts": TEXTS})
    assert created.status == 201, await created.text()
    preview = await created.json()
    assert (preview["recipients"], preview["by_channel"], preview["missing_templates"],
            preview["skipped_reasons"]) == (
        4, {"whatsapp": 4}, {"whatsapp": {"fa": 1}}, {"no_template": 1, "opted_out": 1})
    assert preview["by_language"] == {"sv": 1, "so": 1, "ti": 1, "ar": 1}
    cli: list[str] = []
    await outreach_cli.campaign_command(services, Namespace(
        command="campaign", action="create", name="sfi cli", topic=["sfi_parents"],
        district=[], channel=["whatsapp"], language=[], send_at=None, fallback=None,
        text=[f"{language}={text}" for language, text in TEXTS.items()]), cli.append)
    assert "missing templates: whatsapp fa 1" in cli

    # A text longer than the campaign template leaves room for is refused, not cut.
    long = await gateway.post("/api/campaigns", headers=ADMIN, json={
        "name": "long", "audience": {"topics": ["sfi_parents"], "channels": ["whatsapp"]},
        "texts": {"sv": "Ord " * 250}})
    assert long.status == 400
    assert "cannot go by whatsapp" in (await long.json())["error"]

    campaign = preview["id"]
    sent = await gateway.post(f"/api/campaigns/{campaign}/send", headers=ADMIN)
    assert sent.status == 202
    view = await until(lambda: campaign_done(gateway, campaign), what="the campaign sent")
    assert (view["sent"], view["skipped"], view["skipped_reasons"]) == \
        (4, 2, {"no_template": 1, "opted_out": 1})  # decided again at send time
    expected = {SWEDE: "sv", SOMALI: "so", TIGRINYA: "ti", ARABIC: "ar"}
    for number, language in expected.items():
        [message] = campaign_messages(providers, number)  # exactly once
        template = channel.templates.choose(Purpose.CAMPAIGN, language).template
        assert template is not None and template.category == "marketing"
        assert message["template"]["language"]["code"] == template.language
        assert parameter(message) == TEXTS[language]
    somali_code = campaign_messages(providers, SOMALI)[0]["template"]["language"]["code"]
    tigrinya_code = campaign_messages(providers, TIGRINYA)[0]["template"]["language"]["code"]
    assert (somali_code, tigrinya_code) == ("sv", "en")  # config/whatsapp.yml's fallbacks
    for number in (STOPPER, PERSIAN, RACE):
        assert campaign_messages(providers, number) == []

    # Statuses: a delivery counted once (also when redelivered), a failure counted failed.
    swedes = campaign_messages(providers, SWEDE)[0]["id"]
    tigrinyas = campaign_messages(providers, TIGRINYA)[0]["id"]
    for _ in range(2):
        assert (await post(gateway, whatsapp_webhook(statuses=[
            whatsapp_status(SWEDE, swedes, "delivered")]))).status == 200
    assert (await post(gateway, whatsapp_webhook(statuses=[
        whatsapp_status(TIGRINYA, tigrinyas, "failed", 131026)]))).status == 200
    await swede.write("hej")  # a reply to the campaign
    await until(lambda: queue_idle(redis, prefix, time.time()), what="the jobs done")
    final = await services.campaigns.status(campaign)
    assert (final["delivered"], final["failed"], final["replies"]) == (1, 1, 1)
    assert final["by_channel"]["whatsapp"]["delivered"] == 1


async def campaign_done(gateway, campaign: str) -> dict[str, Any] | None:
    view = await (await gateway.get(f"/api/campaigns/{campaign}", headers=ADMIN)).json()
    return view if view["status"] == "done" else None
