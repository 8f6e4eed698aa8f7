"""A copy of one's data through the real gateway (and, for Telegram and SMS, the real worker and
the providers' stand-ins), in Swedish, Arabic and Somali: two people take the same number of
steps (a message of their own, then one books a drop-in where the other asks for help), then ask
what Lotsen keeps. Each gets their own data and nothing of the other: the web chat a link to its
session's export (JSON and a readable page; another session id is 404), Telegram a document in
the chat (sendDocument), SMS a short summary and how to ask for the full copy. The admin
command's file is the same copy the web chat person downloaded, and the audit log records it.

How the person asks is one line per language in ASKS: the payload `/data_access` until the NLU
model knows the intent, then free-text lines (`Ask("sv", "vilka uppgifter har ni om mig?")`),
which start the real Rasa for this module.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from argparse import Namespace
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.coach.audit import AuditLog
from bot.core.access.render import Words
from bot.core.keys import Keys
from bot.core.messages import Reply
from bot.runtime import access_cli, worker
from bot.runtime.admin import parser as admin_parser
from bot.runtime.gateway import SERVICES, create_app
from connectors.sms_text import normalise, render
from scripts.browser import axe_violations, chromium
from tests.clock import TickingClock
from tests.conftest import Conversation
from tests.fakes import Providers
from tests.job_queue import queue_idle
from tests.journeys import CLOCK, journey_settings, sms, telegram
from tests.waiting import until

DATA_ACCESS = "/data_access"


@dataclass(frozen=True)
class Ask:
    """How a person asks for their data: free text, or (None) the intent's payload."""

    language: str
    text: str | None = None


ASKS = [
    Ask("sv"),
    Ask("ar"),
    Ask("so"),
    Ask("sv", "vilka uppgifter har ni om mig?"),
    Ask("ar", "أريد نسخة من بياناتي التي تحتفظون بها"),
    Ask("so", "fadlan ii soo dir xogta aad iga haysaan"),
]
MINE, THEIRS = "Amina 4711", "Bashir 5822"  # what each person writes (in every language)


def ask_id(ask: Ask) -> str:
    return f"{ask.language}-{'text' if ask.text else 'payload'}"


@pytest.fixture
def settings(request, prefix, providers, redis):
    """The journeys' settings; the real Rasa only when some person asks in free text."""
    extra: dict[str, object] = {"telegram_chat_rate_per_second": 100.0}
    if any(ask.text for ask in ASKS):
        rasa = request.getfixturevalue("rasa_server")
        extra.update(rasa_url=rasa.url, rasa_token=rasa.token)
    return journey_settings(prefix, providers, **extra)


@pytest.fixture
async def gateway(aiohttp_client, settings) -> TestClient:
    """On the fixed clock: two copies made at the same moment are the same bytes."""
    return await aiohttp_client(create_app(settings, clock=CLOCK))


@pytest.fixture
def ticking() -> TickingClock:
    return TickingClock(CLOCK.now)


@pytest.fixture
async def pushing(aiohttp_client, settings, ticking) -> TestClient:
    """The gateway and the worker on a moving clock, sending to the providers' stand-ins."""
    client = await aiohttp_client(create_app(settings, clock=ticking))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2, clock=ticking))
    yield client
    stop.set()
    await asyncio.wait_for(task, 10)


def second_step(books: bool, days_ahead: int) -> str:
    """The step after the person's own message: a drop-in booking, or the help menu."""
    return f"/book:ok:{CLOCK.slot('unga-jarva', days_ahead, '10:00')}" if books else "/help"


def words(client: TestClient, language: str) -> Words:
    return Words(client.server.app[SERVICES].content, language)


# ------------------------------------------------------------------ the web chat
async def web_person(client: TestClient, ask: Ask, said: str, books: bool) -> tuple[
        Conversation, str, list[dict[str, str]]]:
    """Three steps and the question; returns the conversation, the answer's text and its
    links."""
    talk = await Conversation.start(client, language=ask.language)
    await talk.send(said)
    await talk.send(payload=second_step(books, 2))
    answer = await talk.send(ask.text) if ask.text else await talk.send(payload=DATA_ACCESS)
    assert talk.language == ask.language
    return (talk, "\n".join(reply["text"] for reply in answer["replies"]),
            [link for reply in answer["replies"] for link in reply.get("links", [])])


async def export(client: TestClient, session: str, kind: str = "json") -> tuple[int, bytes]:
    query = "?format=html" if kind == "html" else ""
    response = await client.get(f"/webchat/sessions/{session}/export{query}")
    return response.status, await response.read()


@pytest.mark.parametrize("ask", ASKS, ids=ask_id)
async def test_web_chat_links_to_its_own_export_and_nothing_else(gateway, ask: Ask) -> None:
    content, language = gateway.server.app[SERVICES].content, ask.language
    mine, answer, links = await web_person(gateway, ask, MINE, books=True)
    theirs, _, _ = await web_person(gateway, ask, THEIRS, books=False)
    lines = answer.split("\n")
    assert lines[0] == content.text("data_access", language)
    public = gateway.server.app[SERVICES].settings.public_url  # the link is absolute
    link = f"{public}/webchat/sessions/{mine.session}/export"
    assert lines[-1] == content.text("access_copy_link", language)
    assert links == [{"title": content.text("access_link_page", language),
                      "href": f"{link}?format=html"},
                     {"title": content.text("access_link_file", language), "href": link}]
    # The links stay out of the text, so the session id never reaches the transcript.
    assert mine.session not in answer and theirs.session not in answer
    transcript = await gateway.server.app[SERVICES].engine.store.transcript(
        f"webchat:{mine.session}")
    assert transcript and not any(mine.session in entry["text"] for entry in transcript)

    status, body = await export(gateway, mine.session)
    assert status == 200
    copy = json.loads(body)
    assert copy["language"] == language and copy["channel"] == "webchat"
    text = body.decode()
    assert MINE in text and THEIRS not in text and theirs.session not in text
    [booking] = copy["groups"]["bookings"]["items"]
    assert booking["status"] == "booked" and booking["location"] == "Jobbtorg unga Järva"
    assert copy["groups"]["chat_log"]["items"][-1]["text"] == answer  # what the page showed
    their_copy = json.loads((await export(gateway, theirs.session))[1])
    assert their_copy["groups"]["bookings"]["items"] == []
    assert MINE not in json.dumps(their_copy, ensure_ascii=False)

    status, page = await export(gateway, mine.session, "html")
    assert status == 200 and f'<html lang="{language}"'.encode() in page
    assert content.text("access_group_bookings", language).encode() in page
    assert MINE.encode() in page and THEIRS.encode() not in page

    unknown = secrets.token_urlsafe(24)
    for session in (unknown, "x", mine.session[:-1] + "!", ""):
        status, _ = await export(gateway, session)
        assert status == 404, session
    assert (await export(gateway, unknown, "html"))[0] == 404
    bad = await gateway.get(f"/webchat/sessions/{mine.session}/export?format=pdf")
    assert bad.status == 400


def axe_of_pages(base: str, sessions: dict[str, str]) -> dict[str, list[str]]:
    found = {}
    with chromium(width=320, height=700) as driver:
        for language, session in sessions.items():
            driver.get(f"{base}/webchat/sessions/{session}/export?format=html")
            found[language] = axe_violations(driver)
    return found


async def test_the_readable_page_passes_axe_in_swedish_and_arabic(gateway) -> None:
    sessions = {}
    for language in ("sv", "ar"):
        talk, _, _ = await web_person(gateway, Ask(language), MINE, books=True)
        sessions[language] = talk.session
    base = str(gateway.make_url("")).rstrip("/")
    found = await asyncio.to_thread(axe_of_pages, base, sessions)
    assert found == {"sv": [], "ar": []}


# ------------------------------------------------------------------ the admin command
async def test_the_admin_command_writes_what_the_web_person_got_and_is_audited(
        gateway, prefix, tmp_path: Path) -> None:
    services = gateway.server.app[SERVICES]
    talk, _, _ = await web_person(gateway, Ask("ar"), MINE, books=True)
    args = admin_parser().parse_args(["subject-access", "--channel", "webchat", "--address",
                                      talk.session, "--out", str(tmp_path / "copy.json"),
                                      "--operator", "registrator-eva"])
    assert await access_cli.run(services, args) == 0
    assert (tmp_path / "copy.json").read_bytes() == (await export(gateway, talk.session))[1]
    args.out = tmp_path / "copy.html"
    assert await access_cli.run(services, args) == 0
    assert (tmp_path / "copy.html").read_bytes() == (await export(gateway, talk.session,
                                                                  "html"))[1]

    log = AuditLog(redis=services.redis, keys=Keys(prefix), keep_days=30,
                   clock=CLOCK.timestamp)
    entries = await log.entries()
    assert [(e.coach, e.action) for e in entries] == [("registrator-eva", "subject_access")] * 2
    assert all(re.fullmatch(r"webchat:[0-9a-f]{16}", e.target) for e in entries)
    assert talk.session not in str(entries)

    nobody = Namespace(channel="sms", address="070-999 88 77", out=tmp_path / "nobody.json",
                       operator="registrator-eva")
    assert await access_cli.run(services, nobody) == 1  # nothing kept: said, and written
    empty = json.loads((tmp_path / "nobody.json").read_text())
    assert empty["channel"] == "sms"
    assert all(not g["items"] for name, g in empty["groups"].items() if name != "opt_out")
    assert len(await log.entries()) == 3
    wrong = Namespace(channel="fax", address="1", out=tmp_path / "fax.json", operator=None)
    assert await access_cli.run(services, wrong) == 2 and not (tmp_path / "fax.json").exists()
    bad_number = Namespace(channel="sms", address="hello", out=tmp_path / "x.json",
                           operator=None)
    assert await access_cli.run(services, bad_number) == 2
    assert len(await log.entries()) == 3  # nothing made, nothing recorded


# ------------------------------------------------------------------ Telegram and SMS
async def telegram_person(client: TestClient, ask: Ask, chat: int, said: str,
                          books: bool) -> None:
    language = ask.language
    await telegram(client, chat=chat, button=f"/lang:{language}", language=language)
    await telegram(client, said, chat=chat, language=language)
    await telegram(client, chat=chat, button=second_step(books, 3), language=language)
    if ask.text:
        await telegram(client, ask.text, chat=chat, language=language)
    else:
        await telegram(client, chat=chat, button=DATA_ACCESS, language=language)


async def sms_person(client: TestClient, ask: Ask, number: str, said: str, books: bool) -> None:
    """The language chosen and the booking pressed as the numbered menu would (the payloads),
    the person's own words by the 46elks webhook."""
    sms_channel = client.server.app[SERVICES].channels["sms"]
    await sms_channel.inbox.handle(sms_channel.message(number, payload=f"/lang:{ask.language}"))
    await sms(client, said, number=number)
    await sms_channel.inbox.handle(sms_channel.message(number, payload=second_step(books, 4)))
    if ask.text:
        await sms(client, ask.text, number=number)
    else:
        await sms_channel.inbox.handle(sms_channel.message(number, payload=DATA_ACCESS))


def sms_to(providers: Providers, number: str) -> list[str]:
    return [m["message"] for m in providers.elks_sent if m["to"] == number]


def short(client: TestClient, key: str, language: str) -> str:
    content = client.server.app[SERVICES].content
    return normalise(content.catalogs.gettext(language, content.templates[key].short or ""))


@pytest.mark.parametrize("ask", ASKS, ids=ask_id)
async def test_telegram_sends_the_copy_as_a_document_and_sms_a_summary(
        pushing, providers, redis, prefix, ticking, ask: Ask) -> None:
    content, language = pushing.server.app[SERVICES].content, ask.language
    await telegram_person(pushing, ask, 5001, MINE, books=True)
    await telegram_person(pushing, ask, 5002, THEIRS, books=False)
    await sms_person(pushing, ask, "+46701110001", MINE, books=True)
    await sms_person(pushing, ask, "+46701110002", THEIRS, books=False)
    documents = await until(lambda: {d["chat_id"]: d for d in providers.telegram_documents}
                            if len(providers.telegram_documents) == 2 else None,
                            what="both copies as documents")
    await until(lambda: queue_idle(redis, prefix, ticking.timestamp()), what="every send")

    # Telegram: the answer says a file follows; the file is the person's own page.
    sent_to = {chat: [m["text"] for m in providers.telegram_sent if m["chat_id"] == chat]
               for chat in (5001, 5002)}
    promise = content.text("access_copy_document", language)
    assert all(texts[-1].split("\n")[-1] == promise for texts in sent_to.values())
    assert sent_to[5001][-1].split("\n")[0] == content.text("data_access", language)
    for chat, own, other in ((5001, MINE, THEIRS), (5002, THEIRS, MINE)):
        document = documents[chat]
        page = document["content"].decode()
        assert document["filename"] == f"lotsen-data-{CLOCK.day(0).isoformat()}.html"
        assert document["mime_type"] == "text/html"
        assert document["caption"] == content.text("access_document_caption", language)
        assert f'<html lang="{language}"' in page and own in page and other not in page
        assert escape(promise) in page  # made after the answer, which it holds
    booked = content.text("access_booking_booked", language)
    assert booked in documents[5001]["content"].decode()
    assert booked not in documents[5002]["content"].decode()

    # SMS: the short summary, in the person's language; the booking only in the booker's.
    mine, theirs = sms_to(providers, "+46701110001"), sms_to(providers, "+46701110002")
    summary, their_summary = mine[-1], theirs[-1]
    for text in (summary, their_summary):
        assert text.startswith(short(pushing, "data_access", language))
        assert text.endswith(short(pushing, "access_copy_ask", language))
        assert "http" not in text and "@" not in text  # no address invented
    said = words(pushing, language)
    retention = pushing.server.app[SERVICES].settings.retention_seconds
    slot = pushing.server.app[SERVICES].static.schedule.slot(
        CLOCK.slot("unga-jarva", 4, "10:00"), now=CLOCK())
    assert slot is not None
    bookings_line = render(Reply(said.text(
        "access_line", group=said.heading("bookings"), count=1,
        date=said.day(slot.end.timestamp() + retention, short=True))))
    assert bookings_line in summary.split("\n") and bookings_line not in their_summary
    messages = said.heading("messages")
    assert any(line.startswith(normalise(messages)) for line in summary.split("\n"))
