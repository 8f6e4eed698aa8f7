"""Campaign sending at the providers' limits, against stand-in providers that take 100 ms a call.

Four runs, each with a fresh key prefix and the real worker process (`python -m bot worker`):

1. Telegram: 3,000 subscribers. Meanwhile 50 of them also get two ordinary replies each (as
   people answering a campaign would), so the per-chat limit is exercised. Shows the rate (≥ 27
   messages/s wanted), the most messages that reached Telegram in any one-second window (≤ 30,
   Telegram's limit) and the shortest gap between two messages to one chat (≥ 1 s), and that
   each subscriber got the campaign exactly once.
2. SMS: 1,000 subscribers, half through 46elks and half through Twilio, with
   LOTSEN_SMS_RATE_PER_SECOND 10: never more than 10 in any one-second window, and the rate
   within 5 % of the pace that keeps that (connectors/send_limits.py `paced_rate`, 9.1/s).
3. WhatsApp: 3,000 subscribers in every enabled language, at LOTSEN_WHATSAPP_RATE_PER_SECOND
   80 (the Cloud API's default throughput): never more than 80 in any one-second window at the
   stand-in Graph API, the rate at least 0.9 x 80 (72/s; the pacing margin lets through at most
   1 / 1.1 of the rate, 72.7/s), each subscriber exactly once, and each message the campaign
   template in the language config/whatsapp.yml chooses (Somali and Tigrinya: their fallback).
4. A `kill -9` of the worker in the middle of a 1,000-subscriber Telegram campaign, then a new
   worker: every subscriber has exactly one message afterwards.

A "one-second window" is any window [t, t + 1 s) at the stand-in provider, over the times the
requests arrived there (a sliding window: what the provider's limit counts), not calendar
seconds, which miss a burst that straddles two of them; the most in one calendar second is
shown beside it.

The worker runs under faketime at 10:00 Stockholm time (the next one), so SMS quiet hours do not
hold the run whenever it is started; the pacing uses Redis' own clock and is not affected.
Results: printed, and written to reports/bench-campaign.json. Exit status 1 if a target is
missed. Run with `make bench-campaign` (about seven minutes; `python -m scripts.bench_campaign
--help` for smaller runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.config import ROOT, Settings
from bot.core.messages import Purpose, Reply
from bot.core.outreach.quiet_hours import STOCKHOLM
from bot.core.outreach.subscriptions import Consent, Subscription
from bot.runtime.wiring import Services, build_services
from connectors.outbox import Outbox
from connectors.send_limits import paced_rate
from connectors.whatsapp import WhatsAppChannel
from scripts import libfaketime
from scripts.stack import PYTHON, stop
from tests.fakes import (
    ELKS_PASSWORD,
    ELKS_USER,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    WHATSAPP_APP_SECRET,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    WHATSAPP_VERIFY_TOKEN,
    WHATSAPP_VERSION,
    Providers,
)

LATENCY = 0.1
SMS_RATE = 10.0
TELEGRAM_LIMIT = 30  # Telegram's own limit: the bar at the provider, whatever is configured
WHATSAPP_RATE = 80.0  # LOTSEN_WHATSAPP_RATE_PER_SECOND: the Cloud API's default throughput
WHATSAPP_SHARE = 0.9  # the rate wanted, as a share of the configured one
TEXTS = {"sv": "Drop-in på Jobbtorg i morgon.", "ar": "دروب إن غدًا.", "so": "Drop-in berri."}
# A campaign in every enabled language (WhatsApp: Somali and Tigrinya go in a fallback frame).
WHATSAPP_TEXTS = {**TEXTS, "en": "Drop-in at Jobbtorg tomorrow.", "fa": "دراپ‌این فردا.",
                  "ti": "ድሮፕ-ኢን ጽባሕ።", "uk": "Дроп-ін завтра в Jobbtorg."}
Check = tuple[str, bool, str]


def most_in_one_second(times: list[float]) -> int:
    """The largest number of `times` in any window [t, t + 1 s)."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def most_in_a_calendar_second(times: list[float]) -> int:
    """The largest number of `times` within one whole second [n, n + 1) of the clock: shown
    beside the sliding window, never the bar (it misses a burst split over two seconds)."""
    return max(Counter(int(at) for at in times).values(), default=0)


def rate(times: list[float]) -> float:
    """Messages per second from the first to the last arrival."""
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def offset_to_ten_in_stockholm() -> int:
    """Seconds from now to the next 10:00 in Stockholm (the worker's faked time)."""
    now = datetime.now(STOCKHOLM)
    ten = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if ten <= now:
        ten += timedelta(days=1)
    return int((ten - now).total_seconds())


class Bench:
    def __init__(self, providers: Providers, url: str) -> None:
        self.providers = providers
        self.env = {"LOTSEN_KEY_PREFIX": f"lotsen-bench-campaign-{secrets.token_hex(3)}",
                    "LOTSEN_LOG_LEVEL": "ERROR",
                    "LOTSEN_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "LOTSEN_TELEGRAM_API_URL": url,
                    "LOTSEN_ELKS_USERNAME": ELKS_USER, "LOTSEN_ELKS_PASSWORD": ELKS_PASSWORD,
                    "LOTSEN_ELKS_API_URL": url, "LOTSEN_TWILIO_ACCOUNT_SID": TWILIO_SID,
                    "LOTSEN_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "LOTSEN_TWILIO_FROM": "+46700000000",
                    "LOTSEN_TWILIO_API_URL": url, "LOTSEN_SMS_RATE_PER_SECOND": str(SMS_RATE),
                    "LOTSEN_WHATSAPP_TOKEN": WHATSAPP_TOKEN,
                    "LOTSEN_WHATSAPP_PHONE_NUMBER_ID": WHATSAPP_PHONE_ID,
                    "LOTSEN_WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET,
                    "LOTSEN_WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY_TOKEN,
                    "LOTSEN_WHATSAPP_API_URL": f"{url}/{WHATSAPP_VERSION}",
                    "LOTSEN_WHATSAPP_RATE_PER_SECOND": str(WHATSAPP_RATE)}
        self.offset = offset_to_ten_in_stockholm()
        self.worker: subprocess.Popen[bytes] | None = None

    async def clean(self) -> None:
        """Delete this run's keys (nothing is left behind in Redis) and take a new prefix."""
        services = await self.services()
        async for key in services.redis.scan_iter(match=f"{self.env['LOTSEN_KEY_PREFIX']}:*",
                                                  count=1000):
            await services.redis.delete(key)
        await services.close()
        self.env["LOTSEN_KEY_PREFIX"] = f"lotsen-bench-campaign-{secrets.token_hex(3)}"

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [str(PYTHON), "-m", "bot", "worker"], cwd=ROOT, start_new_session=True,
            env={**os.environ, **self.env, **libfaketime.environment(self.offset)})

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(10)

    async def services(self) -> Services:
        return await build_services(Settings.from_env(self.env))

    async def subscribe(self, services: Services, conversations: list[str],
                        languages: tuple[str, ...] = ("sv", "ar", "so")) -> None:
        now = time.time()
        for n, conversation in enumerate(conversations):
            language = languages[n % len(languages)]
            await services.subscriptions.save(Subscription(
                conversation, language, ("dropin",), (),
                Consent("bench", now, conversation.split(":")[0], language, "0" * 64),
                now + 365 * 86400), now)

    async def campaign(self, services: Services, channel: str,
                       texts: dict[str, str] | None = None) -> str:
        created = await services.campaigns.create({
            "name": f"bench {channel}", "audience": {"topics": ["dropin"], "channels": [channel]},
            "texts": texts or TEXTS})
        await services.campaigns.send(created.id)
        return created.id

    async def wait_until(self, services: Services, campaign: str, done: Callable[[], bool],
                         limit: float, label: str) -> dict[str, Any]:
        start, last = time.monotonic(), -1
        while time.monotonic() - start < limit:
            status = await services.campaigns.status(campaign)
            if status["sent"] != last:
                print(f"  {label}: {status['sent']}/{status['recipients']} sent "
                      f"({time.monotonic() - start:.0f} s)", flush=True)
                last = status["sent"]
            if status["status"] == "done" and done():
                return status
            await asyncio.sleep(5)
        raise SystemExit(f"bench-campaign: {label} did not finish in {limit:.0f} s")

    def arrivals(self, providers: tuple[str, ...], since: int) -> list[tuple[str, float]]:
        return [(to, at) for name, to, at in self.providers.arrivals[since:] if name in providers]

    # ------------------------------------------------------------------ runs
    async def telegram(self, count: int) -> tuple[dict[str, Any], list[Check]]:
        print(f"bench-campaign: Telegram, {count} subscribers, {LATENCY * 1000:.0f} ms a call",
              flush=True)
        services = await self.services()
        chats = [str(800_000_000 + n) for n in range(count)]
        await self.subscribe(services, [f"telegram:{chat}" for chat in chats])
        since = len(self.providers.arrivals)
        campaign = await self.campaign(services, "telegram")
        self.start_worker()
        replies = Outbox(services.jobs, "telegram")
        for chat in chats[:50]:  # people answering meanwhile: two ordinary replies each
            await replies.send(chat, [Reply("Tack!"), Reply("Vi hörs.")])
        expected = count + 100
        status = await self.wait_until(
            services, campaign, lambda: len(self.arrivals(("telegram",), since)) >= expected,
            count / 20 + 120, "telegram")
        stop(self.worker)
        await services.close()
        got = self.arrivals(("telegram",), since)
        times = sorted(at for _, at in got)
        per_chat: dict[str, list[float]] = defaultdict(list)
        for chat, at in got:
            per_chat[chat].append(at)
        gaps = [b - a for times in per_chat.values() for a, b in pairwise(sorted(times))]
        sent = Counter(chat for chat, _ in got)
        result: dict[str, Any] = {
            "subscribers": count, "messages": len(got), "rate_per_second": round(rate(times), 2),
            "most_in_one_second": most_in_one_second(times),
            "most_in_a_calendar_second": most_in_a_calendar_second(times),
            "shortest_gap_one_chat_seconds": round(min(gaps), 3) if gaps else None,
            "status": status}
        exactly = all(sent[chat] == (3 if n < 50 else 1) for n, chat in enumerate(chats))
        checks = [("telegram rate >= 27/s", result["rate_per_second"] >= 27,
                   f"{result['rate_per_second']}/s"),
                  (f"telegram <= {TELEGRAM_LIMIT} in any 1 s window",
                   result["most_in_one_second"] <= TELEGRAM_LIMIT,
                   f"{result['most_in_one_second']} (calendar second: "
                   f"{result['most_in_a_calendar_second']})"),
                  ("telegram one chat >= 1 s apart", bool(gaps) and min(gaps) >= 1.0,
                   f"{result['shortest_gap_one_chat_seconds']} s"),
                  ("telegram each subscriber exactly once", exactly and status["sent"] == count,
                   f"{status['sent']} sent, {len(got)} messages")]
        return result, checks

    async def sms(self, count: int) -> tuple[dict[str, Any], list[Check]]:
        print(f"bench-campaign: SMS, {count} subscribers at {SMS_RATE:.0f}/s "
              "(46elks and Twilio)", flush=True)
        services = await self.services()
        numbers = [f"+4670{n:07d}" for n in range(count)]
        await self.subscribe(services, [f"sms:{number}" for number in numbers])
        for number in numbers[::2]:
            await services.reaches["sms"].remember(number, "twilio", 86400)
        since = len(self.providers.arrivals)
        campaign = await self.campaign(services, "sms")
        self.start_worker()
        status = await self.wait_until(
            services, campaign, lambda: len(self.arrivals(("46elks", "twilio"), since)) >= count,
            count / SMS_RATE + 120, "sms")
        stop(self.worker)
        await services.close()
        got = self.arrivals(("46elks", "twilio"), since)
        times = [at for _, at in got]
        measured, pace, most = rate(times), paced_rate(SMS_RATE), most_in_one_second(times)
        by_provider = Counter(name for name, _, _ in self.providers.arrivals[since:])
        result = {"subscribers": count, "configured_per_second": SMS_RATE,
                  "paced_per_second": round(pace, 2), "rate_per_second": round(measured, 2),
                  "most_in_one_second": most,
                  "most_in_a_calendar_second": most_in_a_calendar_second(times),
                  "by_provider": dict(by_provider), "status": status}
        once = Counter(to for to, _ in got)
        checks = [(f"sms <= {SMS_RATE:.0f} in any 1 s window", most <= SMS_RATE,
                   f"{most} (calendar second: {result['most_in_a_calendar_second']})"),
                  ("sms rate within 5 % of its pace", abs(measured / pace - 1) <= 0.05,
                   f"{measured:.2f}/s of {pace:.2f}/s"),
                  ("sms each subscriber exactly once",
                   sorted(once) == sorted(numbers) and set(once.values()) == {1},
                   f"{len(got)} messages, {by_provider.get('46elks', 0)} 46elks / "
                   f"{by_provider.get('twilio', 0)} Twilio")]
        return result, checks

    async def whatsapp(self, count: int) -> tuple[dict[str, Any], list[Check]]:
        rate_wanted = WHATSAPP_SHARE * WHATSAPP_RATE
        print(f"bench-campaign: WhatsApp, {count} subscribers at {WHATSAPP_RATE:.0f}/s "
              f"(every language; {rate_wanted:.0f}/s wanted)", flush=True)
        services = await self.services()
        channel = services.channels["whatsapp"]
        assert isinstance(channel, WhatsAppChannel) and channel.templates is not None
        languages = tuple(sorted(WHATSAPP_TEXTS))
        numbers = [f"+4673{n:07d}" for n in range(count)]
        language_of = {number: languages[n % len(languages)] for n, number in enumerate(numbers)}
        await self.subscribe(services, [f"whatsapp:{number}" for number in numbers], languages)
        since, bodies_since = len(self.providers.arrivals), len(self.providers.whatsapp_sent)
        campaign = await self.campaign(services, "whatsapp", WHATSAPP_TEXTS)
        preview = (await services.campaigns.get(campaign)).preview
        self.start_worker()
        status = await self.wait_until(
            services, campaign, lambda: len(self.arrivals(("whatsapp",), since)) >= count,
            count / rate_wanted + 120, "whatsapp")
        stop(self.worker)
        await services.close()
        got = self.arrivals(("whatsapp",), since)
        times = [at for _, at in got]
        measured, most = rate(times), most_in_one_second(times)
        # The template each language's campaign message must go as: config/whatsapp.yml's
        # choice (Somali and Tigrinya: the fallback it names).
        wanted = {language: channel.templates.choose(Purpose.CAMPAIGN, language).template
                  for language in languages}
        frames = {language: f"{t.name}/{t.language}" if t else None
                  for language, t in wanted.items()}
        wrong = [body["to"] for body in self.providers.whatsapp_sent[bodies_since:]
                 if body.get("type") != "template" or frames[language_of[body["to"]]] !=
                 f"{body['template']['name']}/{body['template']['language']['code']}"]
        once = Counter(f"+{to}" for to, _ in got)
        result = {"subscribers": count, "configured_per_second": WHATSAPP_RATE,
                  "paced_per_second": round(paced_rate(WHATSAPP_RATE), 2),
                  "rate_per_second": round(measured, 2), "most_in_one_second": most,
                  "most_in_a_calendar_second": most_in_a_calendar_second(times),
                  "templates_by_language": frames, "preview": preview, "status": status}
        checks = [(f"whatsapp rate >= {rate_wanted:.0f}/s", measured >= rate_wanted,
                   f"{measured:.2f}/s (paced at {paced_rate(WHATSAPP_RATE):.2f}/s)"),
                  (f"whatsapp <= {WHATSAPP_RATE:.0f} in any 1 s window", most <= WHATSAPP_RATE,
                   f"{most} (calendar second: {result['most_in_a_calendar_second']})"),
                  ("whatsapp each subscriber exactly once",
                   sorted(once) == sorted(numbers) and set(once.values()) == {1}
                   and status["sent"] == count, f"{status['sent']} sent, {len(got)} messages"),
                  ("whatsapp campaign template per language", not wrong,
                   f"so -> {frames.get('so')}, ti -> {frames.get('ti')}; {len(wrong)} wrong")]
        return result, checks

    async def kill(self, count: int) -> tuple[dict[str, Any], list[Check]]:
        print(f"bench-campaign: kill -9 of the worker during a {count}-subscriber Telegram "
              "campaign", flush=True)
        services = await self.services()
        chats = [str(900_000_000 + n) for n in range(count)]
        await self.subscribe(services, [f"telegram:{chat}" for chat in chats])
        since = len(self.providers.arrivals)
        campaign = await self.campaign(services, "telegram")
        self.start_worker()
        while len(self.arrivals(("telegram",), since)) < count * 0.4:
            await asyncio.sleep(0.05)
        self.kill_worker()
        at_kill = len(self.arrivals(("telegram",), since))
        print(f"  killed with {at_kill} sent; starting a new worker", flush=True)
        self.start_worker()
        status = await self.wait_until(
            services, campaign, lambda: len(self.arrivals(("telegram",), since)) >= count,
            count / 20 + 180, "after the kill")
        await asyncio.sleep(3)  # time for a second copy to show up, if there were one
        stop(self.worker)
        await services.close()
        sent = Counter(chat for chat, _ in self.arrivals(("telegram",), since))
        result = {"subscribers": count, "sent_before_kill": at_kill,
                  "messages": sum(sent.values()), "twice": sum(1 for n in sent.values() if n > 1),
                  "missing": sum(1 for chat in chats if chat not in sent),
                  "in_doubt": status["in_doubt"], "status": status}
        checks = [("kill -9: each subscriber exactly once",
                   result["twice"] == 0 and result["missing"] == 0,
                   f"{result['messages']} messages, {result['twice']} twice, "
                   f"{result['missing']} missing, {result['in_doubt']} in doubt")]
        return result, checks


def show(checks: list[Check]) -> None:
    print("  check                                     result")
    for label, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label:<38} {detail}", flush=True)


async def main(telegram: int, sms: int, whatsapp: int, kill: int, out: Path) -> int:
    if libfaketime.library() is None:
        raise SystemExit("bench-campaign: libfaketime not found (make faketime installs it)")
    providers = Providers(delay=LATENCY)
    runner = web.AppRunner(providers.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bench = Bench(providers, f"http://127.0.0.1:{port}")
    results: dict[str, Any] = {"latency_seconds": LATENCY}
    checks: list[Check] = []
    runs: list[tuple[str, Callable[[], Awaitable[tuple[dict[str, Any], list[Check]]]]]] = [
        ("telegram", lambda: bench.telegram(telegram)), ("sms", lambda: bench.sms(sms)),
        ("whatsapp", lambda: bench.whatsapp(whatsapp)), ("kill", lambda: bench.kill(kill))]
    try:
        for name, run in runs:
            results[name], found = await run()
            checks += found
            show(found)  # now: a later run that fails must not take these figures with it
            await bench.clean()
    finally:
        stop(bench.worker)
        await runner.cleanup()
    print("\nbench-campaign: all checks")
    show(checks)
    results["checks"] = [{"check": label, "pass": ok, "result": detail}
                         for label, ok, detail in checks]
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"bench-campaign: wrote {out}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegram", type=int, default=3000)
    parser.add_argument("--sms", type=int, default=1000)
    parser.add_argument("--whatsapp", type=int, default=3000)
    parser.add_argument("--kill", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-campaign.json")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.telegram, args.sms, args.whatsapp, args.kill, args.out)))
