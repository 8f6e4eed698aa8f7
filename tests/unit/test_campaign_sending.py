"""What the worker decides for one campaign message, at send time: quiet hours (no SMS
21:00-08:00 Stockholm, also on the nights the clocks change), STOP and unsubscribing after the
campaign was queued, the fallback text, the daily limit, and a message that fails every
attempt counted as failed. Real Redis; the worker's jobs called directly, on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.jobs import Job, RetryLater
from bot.core.outreach.campaigns import RecipientState
from bot.core.outreach.quiet_hours import STOCKHOLM, next_allowed, stockholm_day
from bot.core.outreach.sending import IN_DOUBT_AFTER, CampaignSender
from bot.core.outreach.service import START_JOB, message_job_id
from bot.core.outreach.subscriptions import Consent, Subscription
from bot.runtime.wiring import build_services
from connectors.optout import OptOuts
from connectors.send_limits import paced_rate
from tests.clock import FixedClock
from tests.conftest import make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, TELEGRAM_TOKEN

WINTER = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # fixed clock: Monday 12:00 Stockholm
SPRING = datetime(2027, 3, 27, 11, 0, tzinfo=UTC)  # fixed clock: the day before summer time
AUTUMN = datetime(2027, 10, 30, 10, 0, tzinfo=UTC)  # fixed clock: the day before winter time


def local(base: datetime, days: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Stockholm wall-clock time `days` after the fixed clock's day."""
    day = base.astimezone(STOCKHOLM).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=STOCKHOLM)


@pytest.mark.parametrize("base", [WINTER, SPRING, AUTUMN])
def test_quiet_hours_end_at_eight_in_stockholm(base: datetime) -> None:
    eight_tomorrow = local(base, 1, 8)
    for now, allowed in [(local(base, 0, 8), local(base, 0, 8)),
                         (local(base, 0, 20, 59, 59), local(base, 0, 20, 59, 59)),
                         (local(base, 0, 21), eight_tomorrow),
                         (local(base, 0, 23, 30), eight_tomorrow),
                         (local(base, 1, 1, 30), eight_tomorrow),
                         (local(base, 1, 7, 59, 59), eight_tomorrow)]:
        assert next_allowed(now.astimezone(UTC)) == allowed, now
    assert stockholm_day(local(base, 1, 0, 30).astimezone(UTC)) == \
        eight_tomorrow.date().isoformat()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(WINTER)


@pytest.fixture
async def services(prefix, redis, providers, clock):
    built = await build_services(make_settings(
        prefix, public_url="http://lotsen.test", telegram_token=TELEGRAM_TOKEN,
        telegram_api_url=providers.url, elks_username=ELKS_USER, elks_password=ELKS_PASSWORD,
        elks_api_url=providers.url), clock)
    yield built
    await built.close()


def sender(services, clock, max_per_day: int = 1) -> CampaignSender:
    return CampaignSender(services.campaigns.store, services.subscriptions, services.jobs,
                          services.reaches, clock, max_per_day, services.critical)


async def subscribe(services, clock, conversation: str, language: str = "sv") -> Subscription:
    now = clock.timestamp()
    subscription = Subscription(conversation, language, ("dropin",), (),
                                Consent("v1", now, "sms", language, "0" * 64),
                                now + 100 * 86400)
    await services.subscriptions.save(subscription, now)
    return subscription


async def queued_campaign(services, clock, texts: dict[str, str] | None = None,
                          **extra: object) -> str:
    """A campaign sent and its audience queued (the start job run)."""
    campaign = await services.campaigns.create({
        "name": "drop-in", "audience": {"topics": ["dropin"]},
        "texts": texts or {"sv": "Drop-in i morgon!"}, **extra})
    await services.campaigns.send(campaign.id)
    await sender(services, clock).handlers()[START_JOB](Job("start", START_JOB,
                                                            {"campaign": campaign.id}))
    return campaign.id


async def test_an_sms_due_after_nine_in_the_evening_waits_for_eight(services, clock,
                                                                   providers) -> None:
    await subscribe(services, clock, "sms:+46701000001")
    campaign = await queued_campaign(services, clock)
    clock.now = local(WINTER, 0, 21, 30).astimezone(UTC)  # the job ran late
    with pytest.raises(RetryLater) as held:
        await sender(services, clock).message({"campaign": campaign,
                                               "conversation": "sms:+46701000001"})
    assert clock.timestamp() + held.value.delay == local(WINTER, 1, 8).timestamp()
    assert held.value.failed is False and providers.elks_sent == []
    state = await services.campaigns.store.state(campaign, "sms:+46701000001")
    assert state[0] == RecipientState.QUEUED


async def test_stop_and_unsubscribing_after_queueing_and_the_fallback(services, clock, redis,
                                                                      providers) -> None:
    people = [f"sms:+4670100000{n}" for n in range(1, 5)]
    for person in people:
        await subscribe(services, clock, person, language="so")
    campaign = await queued_campaign(services, clock,
                                     {"sv": "Drop-in i morgon!", "ar": "غدا"}, fallback="sv")
    optouts = OptOuts(redis=redis, keys=services.keys)
    await optouts.opt_out(people[0])  # STOP after the campaign was queued
    await optouts.opt_out(people[1])  # ... and, whatever became of the subscription,
    await subscribe(services, clock, people[1], language="so")  # the STOP list decides
    await services.subscriptions.remove(people[2])  # unsubscribed
    run = sender(services, clock)
    for person in people:
        await run.message({"campaign": campaign, "conversation": person})
    assert [(m["to"], m["message"]) for m in providers.elks_sent] == \
        [("+46701000004", "Drop-in i morgon!")]  # the Swedish fallback
    status = await services.campaigns.status(campaign)
    assert (status["sent"], status["skipped"]) == (1, 3)
    assert status["skipped_reasons"]["opted_out"] == 1
    assert status["skipped_reasons"]["unsubscribed"] >= 1
    await run.message({"campaign": campaign, "conversation": people[3]})  # runs again
    assert len(providers.elks_sent) == 1


async def test_the_daily_limit_counts_campaigns_not_retries(services, clock,
                                                           providers) -> None:
    await subscribe(services, clock, "sms:+46701000001")
    first = await queued_campaign(services, clock)
    second = await queued_campaign(services, clock)
    third = await queued_campaign(services, clock)
    store, day = services.campaigns.store, stockholm_day(clock())
    assert await store.claim_day("sms:+46701000001", day, first, 2)
    assert await store.claim_day("sms:+46701000001", day, first, 2)  # a retried job
    run = sender(services, clock, max_per_day=2)
    for campaign in (first, first, second, third):  # the first one's job runs twice
        await run.message({"campaign": campaign, "conversation": "sms:+46701000001"})
    assert len(providers.elks_sent) == 2
    reasons = (await services.campaigns.status(third))["skipped_reasons"]
    assert reasons == {"daily_limit": 1}
    clock.now += timedelta(days=1)
    fourth = await queued_campaign(services, clock)
    await run.message({"campaign": fourth, "conversation": "sms:+46701000001"})
    assert len(providers.elks_sent) == 3  # a new day


@pytest.fixture
async def unanswered(prefix, redis, clock):
    """Services whose SMS provider never answers, with one SMS subscriber queued."""
    built = await build_services(make_settings(
        prefix, elks_username=ELKS_USER, elks_password=ELKS_PASSWORD,
        elks_api_url="http://127.0.0.1:9"), clock)  # nobody answers there
    await subscribe(built, clock, "sms:+46701000001")
    yield built, await queued_campaign(built, clock)
    await built.close()


async def test_a_message_that_fails_every_attempt_counts_as_failed(unanswered, clock) -> None:
    built, campaign = unanswered
    run = sender(built, clock)
    for _ in range(built.jobs.max_attempts):
        await built.jobs.run_due(run.handlers(), dead=run.dead_handlers())
        clock.now += timedelta(minutes=5)
    status = await built.campaigns.status(campaign)
    assert (status["failed"], status["queued"], status["sent"]) == (1, 0, 0)
    assert [letter.name for letter in await built.jobs.dead_letters()] == ["campaign_message"]


async def due_of(services, campaign: str, conversation: str) -> float:
    return float(await services.redis.zscore(services.jobs.keys.due,
                                              message_job_id(campaign, conversation)))


async def test_an_sms_campaign_created_at_ten_to_nine_is_held_until_eight(services, clock,
                                                                          providers) -> None:
    clock.now = local(WINTER, 0, 20, 50).astimezone(UTC)
    await subscribe(services, clock, "sms:+46701000001")
    await subscribe(services, clock, "telegram:4711")
    campaign = await queued_campaign(services, clock)
    assert await due_of(services, campaign, "sms:+46701000001") == \
        local(WINTER, 1, 8).timestamp()
    assert await due_of(services, campaign, "telegram:4711") == clock.timestamp()  # free: now
    await services.jobs.run_due(sender(services, clock).handlers())
    assert providers.elks_sent == [] and len(providers.telegram_sent) == 1


async def test_an_sms_campaign_starts_only_if_it_ends_by_half_past_eight(services, clock) -> None:
    """At 5 SMS a second (paced at 5 / 1.1, connectors/send_limits.py), 8 recipients take
    1.76 s: at 20:29:58 they go now (the first second's four at once, then one every 0.22 s);
    at 20:29:58.5 they would end after 20:30, so they wait for 08:00 (never half tonight, half
    tomorrow)."""
    numbers = [f"sms:+4670100000{n}" for n in range(8)]
    for conversation in numbers:
        await subscribe(services, clock, conversation)
    rate = paced_rate(5.0)
    assert services.reaches["sms"].per_second == rate
    paced = [0.0] * int(rate) + [(i + 1) / rate for i in range(len(numbers) - int(rate))]
    clock.now = local(WINTER, 0, 20, 29, 58).astimezone(UTC)
    early = await queued_campaign(services, clock)
    assert sorted([await due_of(services, early, c) for c in numbers]) == \
        [clock.timestamp() + step for step in paced]
    clock.now += timedelta(seconds=0.5)
    late = await queued_campaign(services, clock)
    eight = local(WINTER, 1, 8).timestamp()
    assert sorted([await due_of(services, late, c) for c in numbers]) == \
        [eight + step for step in paced]


async def test_a_send_cut_off_by_a_killed_worker_is_not_sent_again(services, clock,
                                                                   providers) -> None:
    await subscribe(services, clock, "telegram:4711")
    campaign = await queued_campaign(services, clock)
    store = services.campaigns.store
    assert await store.begin_send(campaign, "telegram:4711", clock.timestamp())  # then killed
    job = {"campaign": campaign, "conversation": "telegram:4711"}
    clock.now += timedelta(seconds=5)
    with pytest.raises(RetryLater):  # it may still be in progress somewhere: wait
        await sender(services, clock).message(job)
    clock.now += timedelta(seconds=IN_DOUBT_AFTER)
    await sender(services, clock).message(job)
    status = await services.campaigns.status(campaign)
    assert (status["sent"], status["in_doubt"], status["queued"]) == (1, 1, 0)
    assert providers.telegram_sent == []  # not sent a second time


async def test_a_provider_error_leaves_the_person_queued_for_the_retry(unanswered,
                                                                      clock) -> None:
    built, campaign = unanswered
    with pytest.raises(RetryLater):
        await sender(built, clock).message({"campaign": campaign,
                                            "conversation": "sms:+46701000001"})
    state = await built.campaigns.store.state(campaign, "sms:+46701000001")
    assert state[0] == RecipientState.QUEUED
