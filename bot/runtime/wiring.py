"""The one place where the core and the channels are put together, for every process.

`build_services` loads and validates content and configuration (a mistake stops the start with
its file and name), makes the one Redis client, the engine with its flows, and every registered
channel. The gateway, the worker and the terminal channel all start from here, so a channel or a
flow is wired once.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial

import aiohttp

from bot.coach.accounts import CoachAccounts
from bot.config import Settings, rasa_urls
from bot.core.access.collect import Access, configuration_names
from bot.core.access.flow import AccessFlow
from bot.core.booking.flow import BookingFlow
from bot.core.booking.schedule import Schedule
from bot.core.booking.service import BookingService
from bot.core.booking.store import BookingStore
from bot.core.booking.texts import BookingTexts
from bot.core.booking.when import WhenParser
from bot.core.clock import Clock, system_clock
from bot.core.content import Content
from bot.core.critical import CriticalSections
from bot.core.delivery import Deliveries
from bot.core.dialogue import DialogueEngine
from bot.core.flows.base import Flow
from bot.core.flows.erase import ErasureFlow
from bot.core.handover.canned import CannedReplies
from bot.core.handover.flow import HandoverFlow
from bot.core.handover.leads import LeadStore
from bot.core.handover.teams import Teams
from bot.core.hashing import KeyedHash
from bot.core.hours.presence import Presence
from bot.core.hours.staffing import Staffing
from bot.core.i18n import Catalogs, LanguageTable
from bot.core.jobs import JobQueue
from bot.core.keys import Keys
from bot.core.language import LanguageDetector
from bot.core.limits import DailyLimit, Limits
from bot.core.nlu.cache import CachedParser, ParseCache
from bot.core.nlu.pool import RasaPool
from bot.core.notices.board import NoticeBoard
from bot.core.notices.flow import NoticeFlow
from bot.core.notices.shown import shown_export
from bot.core.outreach.campaigns import CampaignStore
from bot.core.outreach.flow import SubscriptionFlow
from bot.core.outreach.reach import Reach
from bot.core.outreach.service import CampaignService
from bot.core.outreach.subscriptions import SubscriptionStore
from bot.core.places import Places
from bot.core.redis_types import StrRedis
from bot.core.referrals import INTENT as REFERRAL_INTENT
from bot.core.referrals import Referrals
from bot.core.review.flow import ReviewFlow
from bot.core.review.inbox import ReviewInbox
from bot.core.staff_events import StaffEvents
from bot.core.stats.query import StatsQuery
from bot.core.stats.recorder import StatsRecorder
from bot.core.stats.satisfaction import SatisfactionFlow, asked_export
from bot.core.store import ConversationStore
from bot.core.workspace.checks import TextLimit
from bot.core.workspace.facts import DOCUMENTS, Facts
from bot.core.workspace.inventory import Inventory
from bot.core.workspace.live import LiveContent
from bot.core.workspace.service import ContentWorkspace
from bot.core.workspace.store import WorkspaceStore
from bot.runtime.channels import ChannelRegistry, channel_eraser
from bot.runtime.redis_connection import redis_client
from connectors.base import ChannelContext, StoreContext
from connectors.optout import OptOuts
from connectors.webchat import WebchatStore

__all__ = ["Services", "StaticContent", "build_services", "load_content", "redis_client"]


@dataclass(frozen=True)
class StaticContent:
    """Everything loaded from files at start-up (validated: a mistake stops the start). The
    places, the schedule and the teams are the objects every part holds: a version staff publish is
    swapped into them in place (bot/core/workspace/facts.py)."""

    languages: LanguageTable
    content: Content
    places: Places
    schedule: Schedule
    teams: Teams
    canned: CannedReplies
    referrals: Referrals

    @property
    def districts(self) -> list[str]:
        """Every district the configuration names (teams, then places), once each."""
        named = [*self.teams.districts(),
                 *(d for place in self.places.locations for d in place.districts)]
        return list(dict.fromkeys(named))


def load_content(settings: Settings) -> StaticContent:
    languages = LanguageTable.load(settings.content_dir / "languages.yml")
    catalogs = Catalogs(settings.locales_dir, languages)
    content = Content(settings.content_dir / "replies.yml", catalogs, languages)
    places = Places.load(settings.config_dir / "locations.yml")
    schedule = Schedule.load(settings.config_dir / "dropin.yml",
                             {loc.id for loc in places.locations})
    teams = Teams.load(settings.config_dir / "teams.yml")
    canned = CannedReplies.load(settings.config_dir / "canned.yml",
                                settings.content_dir / "canned.yml", catalogs, teams.teams)
    referrals = Referrals.load(settings.config_dir / "referrals.yml")
    referrals.check(content.answers.get(REFERRAL_INTENT, ()),
                    str(settings.config_dir / "referrals.yml"))
    return StaticContent(languages, content, places, schedule, teams, canned, referrals)


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    clock: Clock
    redis: StrRedis
    http: aiohttp.ClientSession
    keys: Keys
    static: StaticContent
    rasa: RasaPool
    jobs: JobQueue
    bookings: BookingService
    booking_texts: BookingTexts
    leads: LeadStore
    accounts: CoachAccounts
    subscriptions: SubscriptionStore
    engine: DialogueEngine
    channels: ChannelRegistry
    deliveries: Deliveries
    reaches: dict[str, Reach]
    campaigns: CampaignService
    staff_events: StaffEvents
    review: ReviewInbox
    stats: StatsRecorder       # the daily counters (bot/core/stats/), added to as things happen
    stats_query: StatsQuery
    workspace: ContentWorkspace
    live_content: LiveContent  # published edits, reloaded in memory (a background task)
    critical: CriticalSections  # sends a stopping worker finishes before it closes its clients

    @property
    def languages(self) -> LanguageTable:
        return self.static.languages

    @property
    def content(self) -> Content:
        return self.static.content

    @property
    def teams(self) -> Teams:
        return self.static.teams

    async def close(self) -> None:
        await self.rasa.close()
        await self.http.close()
        await self.redis.aclose()


async def build_services(settings: Settings, clock: Clock = system_clock,
                         redis: StrRedis | None = None) -> Services:
    """Everything a process needs. If building fails half-way (a payload typo found by
    `check_payloads`, say), what was already opened is closed before the error goes on."""
    static = load_content(settings)
    async with AsyncExitStack() as opened:
        if redis is None:
            redis = redis_client(settings)
            opened.push_async_callback(redis.aclose)
        # No cookie jar: Rasa and the providers' APIs set none, and it is work on every call.
        http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        opened.push_async_callback(http.close)
        rasa = RasaPool(http, rasa_urls(settings.rasa_url), settings.rasa_token,
                        timeout_seconds=settings.nlu_timeout_seconds,
                        budget_seconds=settings.nlu_budget_ms / 1000,
                        concurrency=settings.nlu_concurrency, resolve=settings.rasa_resolve)
        opened.push_async_callback(rasa.close)
        services = _wire(settings, static, clock, redis, http, rasa)
        opened.pop_all()  # built: the caller closes it all with `Services.close`
    return services


def _wire(settings: Settings, static: StaticContent, clock: Clock, redis: StrRedis,
          http: aiohttp.ClientSession, rasa: RasaPool) -> Services:
    languages, content, places = static.languages, static.content, static.places
    keys, retention = Keys(settings.key_prefix), settings.retention_seconds
    store = ConversationStore(redis=redis, keys=keys, clock=clock, retention_seconds=retention)
    stats = StatsRecorder(redis=redis, keys=keys, clock=clock,
                          hasher=KeyedHash(redis=redis, keys=keys, secret=settings.hash_secret))
    jobs = JobQueue(redis=redis, keys=keys, clock=clock,
                    lease_seconds=settings.job_lease_seconds,
                    dead_letter_seconds=settings.dead_letter_days * 24 * 3600)
    staff_events = StaffEvents(redis=redis, keys=keys)
    booking_store = BookingStore(redis=redis, keys=keys, retention_seconds=retention,
                                 events=staff_events)
    bookings = BookingService(static.schedule, booking_store, jobs, clock=clock, stats=stats,
                              districts={place.id: place.districts[0]
                                         for place in places.locations if place.districts})
    texts = BookingTexts(content, static.schedule, places)
    when = WhenParser(settings.content_dir / "dates.yml",
                      [languages.languages[c].babel_locale for c in languages.enabled])
    leads = LeadStore(redis=redis, keys=keys, clock=clock, retention_seconds=retention,
                      events=staff_events)
    subscriptions = SubscriptionStore(redis=redis, keys=keys, stats=stats)
    campaign_store = CampaignStore(redis=redis, keys=keys, recipients_seconds=retention,
                                   stats=stats)
    stores = StoreContext(settings=settings, redis=redis, keys=keys, clock=clock)
    erasure = ErasureFlow(content, store, erasers=[
        bookings.erase, leads.erase_user, jobs.erase_for, subscriptions.erase,
        channel_eraser(stores), campaign_store.erase, stats.erase])
    notices = NoticeBoard(redis=redis, keys=keys, clock=clock, teams=static.teams,
                          fallback=languages.default)
    access = Access(conversations=store, collectors=[  # a copy of one's data: like erasure
        store.export, WebchatStore(redis=redis, keys=keys, clock=clock,
                                   retention_seconds=retention).export,
        booking_store.export, leads.export, subscriptions.export, campaign_store.export,
        partial(asked_export, store), partial(shown_export, store, notices),
        OptOuts(redis=redis, keys=keys, secret=settings.hash_secret).export],
        names=configuration_names(texts, static.teams), default_language=languages.default,
        clock=clock)
    limits = Limits(redis=redis, keys=keys, clock=clock)
    daily_bookings = DailyLimit(limits, "bookings", settings.limit_bookings_per_day,
                                settings.limit_bookings_per_address_per_day)
    daily_leads = DailyLimit(limits, "leads", None, settings.limit_leads_per_address_per_day)
    shared_words = {*languages.neutral_words, *static.districts}
    review = ReviewInbox(redis=redis, keys=keys, retention_seconds=retention, clock=clock,
                         shared_words=shared_words)
    flows: list[Flow] = [
        BookingFlow(bookings, texts, content, places, when, daily_bookings),
        HandoverFlow(leads, static.teams, content, store, daily_leads, stats,
                     Staffing(Presence(redis=redis, keys=keys, clock=clock))), erasure,
        SubscriptionFlow(subscriptions, content, places, clock),
        AccessFlow(access, content, jobs, settings.public_url),
        SatisfactionFlow(content, store, review, stats=stats, opted_out=OptOuts(
            redis=redis, keys=keys, secret=settings.hash_secret).opted_out),
        NoticeFlow(notices, content),  # before the answer
        ReviewFlow(review, content, stats),  # last: its buttons end the answer's buttons
    ]
    cache = ParseCache(redis=redis, keys=keys, secret=settings.hash_secret,
                       shared_words=shared_words) \
        if settings.nlu_cache else None
    engine = DialogueEngine(store=store, nlu=CachedParser(rasa, cache), content=content,
                            languages=languages,
                            detector=LanguageDetector(languages), places=places,
                            threshold=settings.nlu_threshold,
                            max_message_chars=settings.max_message_chars,
                            rate_limit_per_minute=settings.rate_limit_per_minute, flows=flows,
                            answer_threshold=settings.answer_threshold, review=review,
                            disambiguation_margin=settings.disambiguation_margin,
                            referrals=static.referrals,
                            max_in_flight=settings.max_in_flight, stats=stats)
    engine.check_payloads()
    channels = ChannelRegistry(ChannelContext(settings=settings, redis=redis, keys=keys,
                                              clock=clock, http=http, engine=engine, jobs=jobs))
    reaches = channels.reaches()
    campaigns = CampaignService(campaign_store, subscriptions, jobs, reaches, languages.enabled,
                                static.districts, clock)
    accounts = CoachAccounts(redis=redis, keys=keys, clock=clock, teams=static.teams)
    workspace, live_content = _workspace(settings, static, redis, keys, clock, channels,
                                         bookings)
    return Services(settings=settings, clock=clock, redis=redis, http=http, keys=keys,
                    static=static, rasa=rasa, jobs=jobs, bookings=bookings, booking_texts=texts,
                    leads=leads, accounts=accounts, subscriptions=subscriptions, engine=engine,
                    channels=channels, deliveries=channels.deliveries(), reaches=reaches,
                    campaigns=campaigns, staff_events=staff_events, review=review,
                    stats=stats, stats_query=StatsQuery(redis=redis, keys=keys),
                    workspace=workspace, live_content=live_content,
                    critical=CriticalSections())


def _workspace(settings: Settings, static: StaticContent, redis: StrRedis, keys: Keys,
               clock: Clock, channels: ChannelRegistry,
               bookings: BookingService) -> tuple[ContentWorkspace, LiveContent]:
    """The content workspace over every language's texts, checked against the length each
    channel allows, and over the drop-in schedule, the locations and the teams; and the watcher
    that keeps this process's texts, schedule, locations and teams up to date."""
    languages = static.languages
    inventory = Inventory.load(settings.locales_dir, list(languages.languages))
    store = WorkspaceStore(redis=redis, keys=keys, clock=clock)
    limits = [TextLimit(name, channel.capabilities.max_reply_chars,
                        short_forms=channel.capabilities.short_replies,
                        title_chars_shown=channel.capabilities.title_chars)
              for name, channel in channels.channels.items()]
    # The sweep after a schedule's publish waits until every process has reloaded it.
    facts = Facts(store=store, bookings=bookings, places=static.places, schedule=static.schedule,
                  teams=static.teams,
                  shipped={name: (settings.config_dir / file).read_text(encoding="utf-8")
                           for name, file in DOCUMENTS.items()},
                  settle_seconds=2 * settings.content_poll_seconds + 1)
    workspace = ContentWorkspace(store=store, inventory=inventory, languages=languages.enabled,
                                 limits=limits, lix_threshold=settings.content_lix_threshold,
                                 facts=facts)
    live = LiveContent(store=store, inventory=inventory, catalogs=static.content.catalogs,
                       poll_seconds=settings.content_poll_seconds, facts=facts)
    return workspace, live
