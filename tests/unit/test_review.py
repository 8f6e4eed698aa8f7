"""The review inbox's parts: redaction (pure), grouping, labels, weekly shares and expiry in a
real Redis, and the NLU YAML export."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from bot.coach.review import nlu_yaml
from bot.core.keys import Keys
from bot.core.review.inbox import REVIEW_GROUP, REVIEW_INDEX, ReviewInbox, week_of
from bot.core.review.redact import redact, signature, similarity
from tests.journeys import CLOCK

SHARED = ["jobbtorg", "kista", "komvux", "arbetsförmedlingen"]


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("Hej jag heter Amina Yusuf och mitt nummer är 070-123 45 67", "Hej jag heter <name>",
     ["Amina", "Yusuf", "070"]),
    ("my name is john, write to john.doe@example.com", "<email>", ["john", "example"]),
    ("min personnummer är 811218-9876", "<personnummer>", ["811218"]),
    ("ring +46 70 123 45 67 efter lunch", "<phone>", ["123 45"]),
    ("can Ahmed come with me to Jobbtorg in Kista?", "to Jobbtorg in Kista", ["Ahmed"]),
    ("اسمي أحمد محمد وأريد عمل", "اسمي <name>", ["أحمد", "محمد"]),
    ("мене звати Олена", "мене звати <name>", ["Олена"]),
    ("Magacaygu waa Hodan, sidee baan u bartaa", "<name>", ["Hodan"]),
])
def test_personal_data_is_replaced(text: str, kept: str, gone: list[str]) -> None:
    cleaned = redact(text, SHARED)
    assert kept in cleaned
    for word in gone:
        assert word not in cleaned


@pytest.mark.parametrize("text", ["I am pregnant, can I study sfi?", "jag är 17 år",
                                  "what is komvux in Kista?", "Jobbtorg unga"])
def test_questions_without_personal_data_stay_as_they_are(text: str) -> None:
    assert redact(text, [*SHARED, "unga"]) == text


def test_alike_questions_are_similar_and_different_ones_are_not() -> None:
    a = signature("can I bring my baby to sfi?")
    b = signature("can i bring my baby to the sfi class")
    c = signature("where is jobbtorg kista")
    assert similarity(a, b) >= 0.5 > similarity(a, c)


@pytest.fixture
def inbox(redis, prefix) -> ReviewInbox:
    return ReviewInbox(redis=redis, keys=Keys(prefix), retention_seconds=3600, clock=CLOCK,
                       shared_words=SHARED)


async def test_alike_questions_share_a_group_and_a_new_question_reopens_a_label(
        inbox: ReviewInbox, redis, prefix) -> None:
    first = await inbox.record("can I bring my baby to sfi?", "en", "info_sfi", "clarify")
    second = await inbox.record("can i bring my baby to the sfi class", "en", "info_sfi",
                                "unhelpful")
    other = await inbox.record("can you fix my bike", "en", "out_of_scope", "out_of_scope")
    assert first == second != other
    groups = await inbox.groups("en")
    assert [g.count for g in groups] == [2, 1]
    assert groups[0].reasons == {"clarify": 1, "unhelpful": 1}
    assert await inbox.groups("sv") == []

    await inbox.label(first, "info_sfi_parents/bring_child")
    assert [g.id for g in await inbox.groups("en", labelled=True)] == [first]
    await inbox.record("may I bring my baby to sfi", "en", "info_sfi", "clarify")
    assert await inbox.groups("en", labelled=True) == []  # it needs a new look

    ttl = await redis.ttl(Keys(prefix)(REVIEW_GROUP, id=first))
    assert 0 < ttl <= 3600


async def test_an_expired_group_leaves_the_index(inbox: ReviewInbox, redis, prefix) -> None:
    gid = await inbox.record("can you fix my bike", "en", "out_of_scope", "out_of_scope")
    await redis.delete(Keys(prefix)(REVIEW_GROUP, id=gid))  # what expiry does
    assert await inbox.groups("en") == []
    assert await redis.zcard(Keys(prefix)(REVIEW_INDEX, language="en")) == 0


async def test_weekly_share_not_understood_per_language(inbox: ReviewInbox) -> None:
    for _ in range(4):
        await inbox.seen("sv")
    await inbox.record("kan ni laga min cykel", "sv", "out_of_scope", "out_of_scope")
    await inbox.seen("ar")
    weeks = await inbox.weeks(["sv", "ar", "en"], count=2)
    assert weeks[0]["week"] == week_of(CLOCK())
    assert weeks[1]["week"] == week_of(CLOCK() - timedelta(days=7))
    assert weeks[0]["languages"] == {
        "sv": {"messages": 4, "not_understood": 1, "share": 0.25},
        "ar": {"messages": 1, "not_understood": 0, "share": 0.0},
        "en": {"messages": 0, "not_understood": 0, "share": None}}


async def test_a_question_of_only_personal_data_is_not_kept(inbox: ReviewInbox) -> None:
    assert await inbox.record("070-123 45 67", "sv", "out_of_scope", "out_of_scope") is None
    assert await inbox.groups("sv") == []


async def test_export_is_rasa_nlu_yaml_and_a_topic_label_is_its_overview(
        inbox: ReviewInbox) -> None:
    one = await inbox.record("can you fix my bike", "en", "out_of_scope", "out_of_scope")
    two = await inbox.record("what about sfi [for](x) parents", "en", "info_sfi", "clarify")
    three = await inbox.record("blah blah", "en", "greet", "clarify")
    await inbox.label(one, "out_of_scope")
    await inbox.label(two, "info_sfi_parents")
    await inbox.label(three, "ignore")
    text = nlu_yaml(await inbox.groups("en", labelled=True), {"info_sfi_parents"})
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    assert data["nlu"] == [
        {"intent": "info_sfi_parents/overview", "examples": "- what about sfi for x parents\n"},
        {"intent": "out_of_scope", "examples": "- can you fix my bike\n"}]
