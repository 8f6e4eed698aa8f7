"""Importing opt-in lists: every line checked on its own (a bad one named with its line number
and skipped, the others imported), expired consent skipped, idempotent, the SMS provider a
list names remembered, a chat subscription and a STOP respected; real Redis."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from argparse import Namespace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ROOT
from bot.core.keys import Keys
from bot.core.outreach import importer
from bot.core.outreach.subscriptions import SUBSCRIPTION_DAYS, Consent, Subscription
from bot.runtime import outreach_cli
from bot.runtime.wiring import build_services
from connectors.optout import OptOuts
from connectors.sms import PROVIDER
from tests import journeys
from tests.clock import FixedClock
from tests.conftest import REDIS_URL, make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, TELEGRAM_TOKEN

CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # fixed clock
HEADER = "channel,address,language,topics,districts,consent_source,consented_at"


def ago(days: int) -> str:
    return (CLOCK() - timedelta(days=days)).isoformat()


@pytest.fixture
async def services(prefix, redis):
    built = await build_services(make_settings(
        prefix, telegram_token=TELEGRAM_TOKEN, elks_username=ELKS_USER,
        elks_password=ELKS_PASSWORD), CLOCK)
    yield built
    await built.close()


def parse(services, text: str) -> importer.Parsed:
    return importer.parse(text, channels=importer.import_channels(services.reaches),
                          languages=services.languages.enabled,
                          districts=services.static.districts, now=CLOCK.timestamp())


async def test_bad_lines_are_named_and_skipped_and_the_rest_imported(services) -> None:
    lines = [
        HEADER,                                                                       # 1
        f"telegram,123456,sv,sfi_parents,Tensta,form-a,{ago(10)}",                    # 2 ok
        f"fax,123,sv,sfi_parents,,form-a,{ago(10)}",                                  # 3
        f"sms,not-a-number,sv,sfi_parents,,form-a,{ago(10)}",                         # 4
        f"telegram,-55,sv,sfi_parents,,form-a,{ago(10)}",                             # 5
        f"46elks,+46701234567,xx,sfi_parents,,form-a,{ago(10)}",                      # 6
        f"46elks,+46701234567,ar,cooking,,form-a,{ago(10)}",                          # 7
        f"46elks,+46701234567,ar,,,form-a,{ago(10)}",                                 # 8
        f"46elks,+46701234567,ar,dropin,Atlantis,form-a,{ago(10)}",                   # 9
        f"46elks,+46701234567,ar,dropin,,,{ago(10)}",                                 # 10
        "46elks,+46701234567,ar,dropin,,form-a,yesterday",                            # 11
        "46elks,+46701234567,ar,dropin,,form-a,2026-01-05T10:00:00",  # 12 fixed clock: no offset
        f"46elks,+46701234567,ar,dropin,,form-a,{ago(-3)}",                           # 13
        f"46elks,+46701234567,ar,dropin,,form-a,{ago(SUBSCRIPTION_DAYS + 1)}",        # 14
        "46elks,+46701234567,ar,dropin,,form-a",                                     # 15
        "",                                                                           # 16 blank
        f'twilio,"+46 70-765 43 21",so,"dropin; sfi_parents",husby;RINKEBY,"form, b",'
        f"{ago(300)}",                                                                # 17 ok
        f"sms,0701112233,sv,komvux,,form-a,{ago(1)}",                                 # 18 ok
        f"telegram,123456,ar,dropin,,form-a,{ago(1)}",                                # 19 dup
    ]
    parsed = parse(services, "\n".join(lines) + "\n")
    reasons = {p.number: p.reason for p in parsed.problems}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 19]
    for number, words in {3: "unknown channel 'fax'", 4: "not a phone number",
                          5: "not a Telegram chat id", 6: "'xx' is not enabled",
                          7: "unknown topic 'cooking'", 8: "no topic",
                          9: "unknown district 'Atlantis'", 10: "consent_source",
                          11: "not an ISO 8601 time", 12: "no UTC offset", 13: "in the future",
                          14: "expired", 15: "has 6 fields", 19: "same address as line 2"}.items():
        assert words in reasons[number], (number, reasons[number])
    assert [line.number for line in parsed.lines] == [2, 17, 18]
    twilio = parsed.lines[1].subscription
    assert twilio.conversation == "sms:+46707654321" and parsed.lines[1].via == "twilio"
    assert (twilio.topics, twilio.districts) == (("dropin", "sfi_parents"), ("Husby", "Rinkeby"))
    assert parsed.lines[2].subscription.conversation == "sms:+46701112233"
    assert parsed.lines[2].via == ""  # "sms": the default provider


def test_a_file_without_the_header_is_refused_as_a_whole() -> None:
    with pytest.raises(importer.ImportFileError, match="line 1 must be the header"):
        importer.parse(f"telegram,1,sv,dropin,,a,{ago(1)}\n", channels={}, languages=["sv"],
                       districts=[], now=CLOCK.timestamp())


async def test_importing_twice_gives_the_same_state(services, redis, prefix, tmp_path) -> None:
    consented = CLOCK() - timedelta(days=30)
    path = tmp_path / "list.csv"
    path.write_text("\ufeff" + "\n".join([
        HEADER,
        f"46elks,+46701000001,ar,sfi_parents,Tensta,open-preschool-tensta,{consented.isoformat()}",
        f"twilio,+46701000002,so,dropin,,open-preschool-tensta,{consented.isoformat()}",
        f"sms,+46701000003,sv,komvux,,paper,{consented.isoformat()}",
        f"telegram,42,sv,jobbtorg_unga,,school-visit,{consented.isoformat()}",
        "telegram,43,sv,bogus,,school-visit,2026-11-01T10:00:00+01:00"]) + "\n",  # fixed clock
        encoding="utf-8")
    said: list[str] = []
    first = await outreach_cli.import_file(services, path, said.append)
    assert (first.saved, first.unchanged) == (4, 0)
    assert said[0].startswith("line 6: unknown topic 'bogus'")
    before = await journeys.dump(redis, prefix)
    said.clear()
    second = await outreach_cli.import_file(services, path, said.append)
    assert (second.saved, second.unchanged) == (0, 4)
    assert await journeys.dump(redis, prefix) == before

    store, now = services.subscriptions, CLOCK.timestamp()
    ar = await store.get("sms:+46701000001", now)
    assert ar is not None and (ar.language, ar.topics, ar.districts) == \
        ("ar", ("sfi_parents",), ("Tensta",))
    assert ar.consent == Consent("import", consented.timestamp(), "sms", "ar",
                                 hashlib.sha256(b"open-preschool-tensta").hexdigest(),
                                 "import:open-preschool-tensta")
    assert ar.expires_at == consented.timestamp() + SUBSCRIPTION_DAYS * 86400
    keys = Keys(prefix)
    assert await redis.get(keys(PROVIDER, number="+46701000001")) == "46elks"
    assert await redis.get(keys(PROVIDER, number="+46701000002")) == "twilio"
    assert await redis.get(keys(PROVIDER, number="+46701000003")) is None  # the default
    assert await redis.ttl(keys(PROVIDER, number="+46701000002")) > (
        SUBSCRIPTION_DAYS - 31) * 86400
    assert (await store.get("telegram:42", now)).consent.source == "import:school-visit"

    said.clear()
    await outreach_cli.stats(services, said.append)
    assert said == ["subscribers: 4", "by channel: sms 3, telegram 1",
                    "by language: ar 1, so 1, sv 2",
                    "by topic: dropin 1, jobbtorg_unga 1, komvux 1, sfi_parents 1",
                    "by source: import 4"]


async def test_a_chat_subscription_and_a_stop_are_respected(services, redis, tmp_path) -> None:
    now = CLOCK.timestamp()
    own = Subscription("sms:+46701000011", "sv", ("dropin",), (),
                       Consent("v1", now, "sms", "sv", "a" * 64), now + 100 * 86400)
    await services.subscriptions.save(own, now)
    await OptOuts(redis=redis, keys=services.keys).opt_out("sms:+46701000012")
    path = tmp_path / "list.csv"
    path.write_text("\n".join([HEADER, f"sms,+46701000011,ar,komvux,,list,{ago(5)}",
                               f"sms,+46701000012,ar,komvux,,list,{ago(5)}"]) + "\n")
    said: list[str] = []
    done = await outreach_cli.import_file(services, path, said.append)
    assert done.saved == 0
    assert said[:2] == ["line 2: subscribed in the chat already; their own choice is kept",
                        "line 3: this person said STOP; not imported"]
    assert await services.subscriptions.get("sms:+46701000011", now) == own
    assert await services.subscriptions.get("sms:+46701000012", now) is None


def test_the_admin_command_imports_and_counts(prefix, redis, tmp_path) -> None:
    """`python -m bot.admin subscribers ...` as an operator runs it (a separate process, so on
    the real clock: the consent date is relative to it)."""
    consented = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    path = tmp_path / "list.csv"
    path.write_text("\n".join([HEADER, f"46elks,+46701000021,so,sfi_parents,,form,{consented}",
                               f"sms,12,sv,sfi_parents,,form,{consented}"]) + "\n")
    env = {**os.environ, "LOTSEN_REDIS_URL": REDIS_URL, "LOTSEN_KEY_PREFIX": prefix,
           "LOTSEN_ELKS_USERNAME": ELKS_USER, "LOTSEN_ELKS_PASSWORD": ELKS_PASSWORD}

    def admin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.admin", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    done = admin("subscribers", "import", str(path))
    assert done.returncode == 1 and "1 bad line(s) not imported" in done.stderr  # issue 23
    assert done.stdout.splitlines()[0].startswith("line 3: address: '12' is not a phone")
    assert "imported 1 line(s)" in done.stdout
    stats = admin("subscribers", "stats")
    assert "subscribers: 1" in stats.stdout and "by language: so 1" in stats.stdout
    missing = admin("subscribers", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "error: cannot read" in missing.stderr


async def test_whatsapp_numbers_in_e164_are_imported_and_a_bad_one_named(services,
                                                                         tmp_path) -> None:
    """`whatsapp` in the channel column: the number in E.164, however it is spelled; a bad one
    is named with its line and skipped, the others imported, and the command exits 1."""
    path = tmp_path / "list.csv"
    path.write_text("\n".join([
        HEADER,
        f"whatsapp,+46701000031,so,sfi_parents,,form,{ago(5)}",                 # 2 ok
        f'WhatsApp,"+46 70-100 00 32",ti,dropin,Tensta,form,{ago(5)}',           # 3 ok
        f"whatsapp,0046701000033,ar,komvux,,form,{ago(5)}",                     # 4 ok
        f"whatsapp,0701000034,sv,komvux,,form,{ago(5)}",                        # 5 no country
        f"whatsapp,+46 70 abc,sv,komvux,,form,{ago(5)}",                        # 6
        f"whatsapp,+46701000031,sv,komvux,,form,{ago(5)}"]) + "\n",             # 7 dup of 2
        encoding="utf-8")
    said: list[str] = []
    with pytest.raises(SystemExit, match=r"error: 3 bad line\(s\) not imported"):
        await outreach_cli.run(services, Namespace(command="subscribers", action="import",
                                                   file=path), said.append)
    assert said[:3] == [
        "line 5: address: '0701000034' is not a phone number in E.164 (e.g. +46701234567)",
        "line 6: address: '+46 70 abc' is not a phone number in E.164 (e.g. +46701234567)",
        "line 7: the same address as line 2; skipped"]
    assert said[3].startswith("imported 3 line(s) (3 saved")
    now = CLOCK.timestamp()
    found = {s.conversation: s for s in await services.subscriptions.load(
        await services.subscriptions.conversations(now), now)}
    assert sorted(found) == ["whatsapp:+46701000031", "whatsapp:+46701000032",
                             "whatsapp:+46701000033"]
    tigrinya = found["whatsapp:+46701000032"]
    assert (tigrinya.language, tigrinya.topics, tigrinya.districts) == ("ti", ("dropin",),
                                                                        ("Tensta",))
    assert tigrinya.consent.channel == "whatsapp" and tigrinya.consent.source == "import:form"
