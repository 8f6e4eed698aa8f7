"""A copy of one's data (bot/core/access/) with the real engine and real Redis on an injected
clock (NLU down: a closed port; buttons and payloads need none): two people take the same steps
(a message, a booking, notices with consent, a handover a coach answers and closes, a campaign
message, the satisfaction question) and each copy holds the person's own data and nothing of the
other, no internal id (lead, job, campaign, keyed hash, coach username), and when each group
expires; the page is in the person's language and escapes what they wrote; the chat's answer
sums it up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.core.access.data import GROUPS, PersonalData
from bot.core.access.flow import access_of
from bot.core.access.render import FORMAT, Words, as_json, html_page, json_bytes, summary_lines
from bot.core.handover.flow import AGE, CONTACT_CHAT, TOPIC, YES
from bot.core.hashing import KeyedHash
from bot.core.keys import JOBS_TO, Keys
from bot.core.messages import Capabilities, IncomingMessage, Outcome
from bot.core.outreach.campaigns import Campaign
from bot.core.outreach.flow import ALL_DISTRICTS, OFFER
from bot.core.outreach.flow import DONE as SUB_DONE
from bot.core.outreach.flow import YES as SUB_YES
from bot.core.outreach.subscriptions import Audience
from bot.core.stats.satisfaction import ask_satisfaction, satisfaction_flow
from bot.runtime.wiring import Services, build_services
from connectors.optout import OptOuts
from tests.clock import FixedClock
from tests.conftest import make_settings

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # Monday 12:00 in Stockholm
DAY = 24 * 3600
COACH_LOGIN, COACH_NAME = "coach-olof-7", "Olof"
TEAM_NAME = "Jobbtorg unga Järva"


@pytest.fixture
async def services(prefix: str, redis: Redis):
    services = await build_services(make_settings(prefix, config_dir=FIXTURE_CONFIG),
                                    clock=CLOCK)
    yield services
    await services.close()


async def say(services: Services, user: str, *, payload: str | None = None,
              text: str = "") -> Outcome:
    return await services.engine.handle(IncomingMessage("telegram", user, text=text,
                                                        payload=payload, received_at=CLOCK()))


async def everything(services: Services, user: str, name: str, said: str, slot: str) -> str:
    """One person's steps (the same number for everyone); returns their lead id."""
    conversation = f"telegram:{user}"
    await say(services, user, payload="/lang:sv")
    await say(services, user, text=said)
    await say(services, user, payload=f"/book:ok:{slot}")
    for payload in (OFFER["sfi_parents"], SUB_YES, SUB_DONE, ALL_DISTRICTS):
        await say(services, user, payload=payload)
    await say(services, user, payload="/request_coach")
    await say(services, user, payload=YES)
    await say(services, user, text=name)
    for payload in (CONTACT_CHAT, "/handover:district:Rinkeby", AGE["20-29"], TOPIC["work"]):
        await say(services, user, payload=payload)
    lead = await services.leads.open_for(conversation)
    assert lead is not None
    assert await services.leads.claim(lead, COACH_LOGIN, 3600)
    await services.leads.add_message(lead.id, "coach", f"Hej {name}, välkommen!", COACH_NAME)
    await services.leads.close(lead, COACH_LOGIN, "enrolled")
    flow = satisfaction_flow(services.engine.flows)
    assert flow is not None
    closed = await services.leads.get(lead.id)
    assert closed is not None and await ask_satisfaction(flow, closed, Capabilities())
    campaign = Campaign(id=f"camp{user}", name="Höstens sfi-kampanj", audience=Audience(
        topics=("sfi_parents",)), texts={"sv": f"Nytt om sfi för dig, {name}"}, fallback=None,
        send_at=None, created_at=CLOCK.timestamp())
    await services.campaigns.store.create(campaign)
    await services.campaigns.store.mark_recent(conversation, campaign.id, CLOCK.timestamp(),
                                               "sv")
    return lead.id


async def copy_of(services: Services, user: str, language: str | None = None) -> PersonalData:
    access = access_of(services.engine.flows)
    assert access is not None
    return await access.collect(f"telegram:{user}", language)


def slot_end(services: Services, slot: str) -> float:
    found = services.static.schedule.slot(slot, now=CLOCK())
    assert found is not None
    return found.end.timestamp()


class Structure(HTMLParser):
    """Checks that every element opened is closed in order, and collects headings and `th`."""

    VOID = frozenset({"meta", "br", "img", "input", "link"})  # no end tag

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.scopes: list[str | None] = []
        self.html_attrs: dict[str, str | None] = {}
        self._heading: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.html_attrs = dict(attrs)
        if tag == "th":
            self.scopes.append(dict(attrs).get("scope"))
        if tag in ("h1", "h2", "h3"):
            self._heading = tag
            self.text = []
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()
        if tag == self._heading:
            self.headings.append((tag, "".join(self.text)))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Structure:
    structure = Structure()
    structure.feed(page)
    structure.close()
    assert structure.open == []
    return structure


async def test_each_copy_holds_the_persons_own_data_and_nothing_of_the_other(
        services, redis, prefix) -> None:
    slot_a, slot_b = CLOCK.slot("unga-jarva", 2, "10:00"), CLOCK.slot("unga-jarva", 3, "11:00")
    lead_a = await everything(services, "111", "Amina", "Hej, <b>Amina</b> här om sfi", slot_a)
    lead_b = await everything(services, "222", "Bashir", "Hej, Bashir här om sfi", slot_b)
    [booking_a] = await services.bookings.store.for_user("telegram:111")
    [booking_b] = await services.bookings.store.for_user("telegram:222")

    mine, theirs = await copy_of(services, "111"), await copy_of(services, "222")
    text_a, text_b = json_bytes(mine).decode(), json_bytes(theirs).decode()
    assert "Amina" in text_a and booking_a.code in text_a
    assert "Bashir" not in text_a and booking_b.code not in text_a
    assert "Bashir" in text_b and "Amina" not in text_b and booking_a.code not in text_b
    # The same steps: the same shape, group by group.
    for group in GROUPS:
        assert len(mine.section(group).items) == len(theirs.section(group).items), group

    # No internal ids: leads, jobs, campaigns, stream entries, keyed hashes, the coach's login.
    keys = Keys(prefix)
    jobs = await redis.smembers(keys(JOBS_TO, conversation="telegram:111"))
    digest = await KeyedHash(redis=redis, keys=keys,
                             secret=services.settings.hash_secret).hexdigest("telegram:111")
    lead = await services.leads.get(lead_a)
    assert lead is not None and jobs
    for internal in (lead_a, lead_b, lead.fields["stream_id"], *jobs, "camp111", digest[:40],
                     COACH_LOGIN, "enrolled", "telegram:111", booking_a.slot,
                     "jobbtorg-unga-jarva"):
        assert internal not in text_a, internal
    assert COACH_NAME in text_a  # the coach's name, as the person was shown it


async def test_groups_hold_what_was_kept_with_when_each_expires(services) -> None:
    slot = CLOCK.slot("unga-jarva", 1, "10:00")
    await everything(services, "111", "Amina", "Hej om sfi", slot)
    copy = await copy_of(services, "111")
    data = as_json(copy)
    assert data["format"] == FORMAT and data["channel"] == "telegram"
    assert data["language"] == "sv" and data["generated_at"] == "2026-11-23T11:00:00Z"
    groups = data["groups"]
    assert isinstance(groups, dict) and list(groups) == list(GROUPS)
    now, retention = CLOCK.timestamp(), services.settings.retention_seconds
    expected = {"messages": now + retention, "bookings": slot_end(services, slot) + retention,
                "subscription": now + 365 * DAY, "handover": now + retention,
                "campaigns": now + 7 * DAY, "satisfaction": now + 7 * DAY,
                "chat_log": None, "city_notices": None, "opt_out": None}
    assert {group: copy.section(group).kept_until for group in GROUPS} == expected

    said = copy.section("messages").items
    assert said[0] == {"at": "2026-11-23T11:00:00Z", "from": "you", "text": "[Svenska]"}
    assert {"from": "you", "text": "Hej om sfi"}.items() <= said[2].items()
    assert {item["from"] for item in said} == {"you", "lotsen"}
    [booking] = copy.section("bookings").items
    assert booking["service"] == "Jobbtorg unga drop-in (16–29)" and booking["status"] == "booked"
    assert booking["location"] == "Jobbtorg unga Järva" and booking["attendance"] is None
    [subscription] = copy.section("subscription").items
    assert subscription["topics"] == ["sfi_parents"] and subscription["districts"] == []
    consent = subscription["consent"]
    assert isinstance(consent, dict) and consent["given_at"] == "2026-11-23T11:00:00Z"
    [handover] = copy.section("handover").items
    assert handover["team"] == TEAM_NAME and handover["status"] == "closed"
    assert (handover["name"], handover["district"], handover["topic"]) == \
        ("Amina", "Rinkeby", "work")
    messages = handover["messages"]
    assert isinstance(messages, list) and messages[-1] == {
        "at": "2026-11-23T11:00:00Z", "from": "coach", "name": COACH_NAME,
        "text": "Hej Amina, välkommen!"}
    [campaign] = copy.section("campaigns").items
    assert campaign == {"sent_at": "2026-11-23T11:00:00Z", "language": "sv",
                        "text": "Nytt om sfi för dig, Amina", "replied": False}
    assert copy.section("satisfaction").items == [{"asked_at": "2026-11-23T11:00:00Z"}]
    assert copy.section("opt_out").items == [{"stopped": False}] and not copy.stopped


async def test_stop_is_kept_until_start_and_an_unknown_address_has_an_empty_copy(
        services, redis, prefix) -> None:
    await say(services, "333", payload="/greet")
    optouts = OptOuts(redis=redis, keys=Keys(prefix), secret=services.settings.hash_secret)
    await optouts.opt_out("telegram:333")
    copy = await copy_of(services, "333")
    assert copy.stopped and copy.section("opt_out").kept_until is None
    words = Words(services.content, "sv")
    assert summary_lines(copy, words)[-1] == services.content.text("access_opt_out_yes", "sv")
    await optouts.opt_in("telegram:333")
    assert not (await copy_of(services, "333")).stopped

    nobody = await copy_of(services, "999")
    assert nobody.empty and nobody.language == "sv"
    groups = as_json(nobody)["groups"]
    assert isinstance(groups, dict)
    assert {g: v for g, v in groups.items() if g != "opt_out"} == {
        g: {"kept_until": None, "items": []} for g in GROUPS if g != "opt_out"}


async def test_the_page_is_in_the_persons_language_with_headings_tables_and_no_script(
        services) -> None:
    slot = CLOCK.slot("unga-jarva", 1, "10:00")
    await everything(services, "111", "Amina", "Hej, <script>alert(1)</script> om sfi", slot)
    content = services.content
    for language, direction in (("sv", "ltr"), ("ar", "rtl"), ("so", "ltr")):
        page = html_page(await copy_of(services, "111", language), content)
        structure = parsed(page)
        assert structure.html_attrs == {"lang": language, "dir": direction}
        headings = structure.headings
        assert headings[0] == ("h1", content.text("access_title", language))
        assert [text for tag, text in headings if tag == "h2"] == [
            content.text(f"access_group_{group}", language) for group in GROUPS]
        assert ("h3", content.text("access_coach_messages", language)) in headings
        assert structure.scopes and set(structure.scopes) == {"col"}
        assert "<script" not in page and "style=" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        words = Words(content, language)
        until = CLOCK.timestamp() + services.settings.retention_seconds
        assert content.text("access_kept_until", language, date=words.day(until)) in page
        assert content.text("access_opt_out_no", language) in page
        assert content.text("access_none", language) in page  # nothing sent to a web chat


async def test_the_answer_sums_up_the_groups_and_says_how_to_ask_for_the_copy(services) -> None:
    slot = CLOCK.slot("unga-jarva", 1, "10:00")
    await everything(services, "111", "Amina", "Hej om sfi", slot)
    before = await copy_of(services, "111")
    answer = await say(services, "111", payload="/data_access")
    assert answer.intent == "data_access"
    content, words = services.content, Words(services.content, "sv")
    lines = answer.replies[0].text.split("\n")
    assert lines[0] == content.text("data_access", "sv")
    assert lines[1:-1] == summary_lines(before, words)
    until = words.day(CLOCK.timestamp() + services.settings.retention_seconds)
    assert content.text("access_line", "sv", group=content.text("access_group_messages", "sv"),
                        count=len(before.section("messages").items), date=until) in lines
    assert content.text("access_line_one", "sv",
                        group=content.text("access_group_handover", "sv"), date=until) in lines
    assert lines[-1] == content.text("access_copy_ask", "sv")
    assert [b.payload for b in answer.replies[0].buttons] == ["/delete_my_data", "/help"]
    assert "Amina" not in answer.replies[0].text  # a summary: counts and dates only

    fresh = await say(services, "444", payload="/data_access")
    assert fresh.replies[0].text == content.text("access_nothing_kept", "sv")


async def test_the_json_file_is_stable_and_readable(services) -> None:
    await say(services, "111", text="Hej om sfi")
    copy = await copy_of(services, "111")
    first, again = json_bytes(copy), json_bytes(await copy_of(services, "111"))
    assert first == again and first.endswith(b"\n")
    assert json.loads(first) == as_json(copy)
    assert "Hej om sfi" in first.decode()  # UTF-8, not \u escapes
    assert datetime.fromisoformat(str(as_json(copy)["generated_at"]).replace("Z", "+00:00")) \
        == CLOCK() - timedelta(0)
