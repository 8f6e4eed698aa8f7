"""E-mail to staff through a real SMTP server on loopback (aiosmtpd): the message as sent, a
server that is down named without the password, no header injection, and the daily SLA digest
(counts per team, nothing about anyone, once a day however many workers)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.coach.notify import Notifier
from bot.config import ConfigError, Settings
from bot.core.mail import Mail, Mailer, MailError
from bot.runtime.gateway import SERVICES, create_app
from scripts.stack import free_port
from tests.clock import FixedClock
from tests.conftest import make_settings
from tests.journeys import FIXTURE_CONFIG


async def test_a_mail_arrives_as_sent(smtp_server) -> None:
    mailer = Mailer(smtp_server.url, "lotsen@stad.test")
    assert mailer.enabled and not Mailer("", "x@y.z").enabled
    await mailer.send(Mail("anna@stad.test", "Ny lead väntar", "En ny lead väntar i kön."))
    (recipients, message, _), = await smtp_server.wait_for(1, timeout=5)
    assert recipients == ["anna@stad.test"]
    assert (message["From"], message["To"], message["Subject"]) == (
        "lotsen@stad.test", "anna@stad.test", "Ny lead väntar")
    assert message.get_content().strip() == "En ny lead väntar i kön."
    assert message["Message-ID"] and message["Date"]


async def test_a_server_that_is_down_is_named_without_the_password() -> None:
    mailer = Mailer(f"smtp://lotsen:s3cret-pw@127.0.0.1:{free_port()}", "lotsen@stad.test",
                    timeout=2)
    started = time.monotonic()
    with pytest.raises(MailError) as raised:
        await mailer.send(Mail("anna@stad.test", "x", "y"))
    assert time.monotonic() - started < 3
    assert "127.0.0.1" in str(raised.value) and "s3cret" not in str(raised.value)


@pytest.mark.parametrize("to", ["anna@stad.test\nBcc: all@stad.test", "a@b.c, d@e.f",
                                "not an address", ""])
async def test_a_recipient_must_be_one_plain_address(smtp_server, to: str) -> None:
    with pytest.raises(ValueError, match="one plain e-mail address"):
        await Mailer(smtp_server.url, "lotsen@stad.test").send(Mail(to, "x", "y"))
    assert smtp_server.messages == []



@pytest.mark.parametrize("url", ["mail.example.org", "http://mail.example.org", "smtp://",
                                 "smtp://:25", "smtp://host:abc", "smtp://host:99999",
                                 "smtp://host:0", "smtps://u:s3cret-pw@:465"])
def test_a_bad_smtp_url_is_refused_at_start_up_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError, match="LOTSEN_SMTP_URL") as raised:
        Settings.from_env({"LOTSEN_SMTP_URL": url})
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize("url", ["", "smtp://mail.stad.test", "smtp://mail.stad.test:25",
                                 "smtp://u:p%40ss@mail.stad.test:587?starttls=true",
                                 "smtps://u:pw@mail.stad.test:465"])
def test_the_documented_smtp_urls_are_accepted(url: str) -> None:
    assert Settings.from_env({"LOTSEN_SMTP_URL": url}).smtp_url == url


async def test_the_daily_digest_counts_leads_over_the_sla_once_a_day(
        aiohttp_client, prefix, redis, smtp_server) -> None:
    # The tests' teams have no opening hours: the SLA runs on the clock (shipped teams have
    # office hours, and then a lead waits over a night or a weekend without escalating).
    settings = make_settings(prefix, smtp_url=smtp_server.url, config_dir=FIXTURE_CONFIG)
    services = (await aiohttp_client(create_app(settings))).server.app[SERVICES]
    team = next(iter(services.teams.teams))
    accounts = services.accounts
    await accounts.add("anna", "a long password", [team], email="anna@stad.test")
    await accounts.add("olle", "a long password", [team], email="olle@stad.test")
    await accounts.set_disabled("olle", True)  # disabled: no mail
    await services.leads.create("web:abc", team, {"name": "Amina Hassan", "language": "ar"})
    later = datetime.fromtimestamp(time.time() + services.teams.sla_seconds + 60, UTC)
    clock = FixedClock(later)  # fixed clock: after the SLA has passed
    notifier = Notifier(services.staff_events, accounts, services.leads, services.teams,
                        Mailer(smtp_server.url, "lotsen@stad.test"), services.keys,
                        "https://lotsen.test/coach/", digest_hour=0, clock=clock)
    await notifier.digest_if_due()
    await notifier.digest_if_due()  # the same day again: nothing more
    messages = await smtp_server.wait_for(1, timeout=5)
    assert [m[0] for m in messages] == [["anna@stad.test"]]
    message = messages[0][1]
    body = message.get_content()
    assert message["Subject"] == "Lotsen: leads som väntat för länge"
    assert f"- {services.teams.teams[team].name}: 1" in body
    assert "Amina" not in message.as_string()
