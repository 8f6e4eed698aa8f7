"""The content workspace (issue 24): two operators, two gateway processes, one Redis.

An edit is a draft until another operator approves it; the approval reaches a web chat on the
other gateway within seconds, a rollback likewise; checks refuse a text that would break a
placeholder or a channel's length and change nothing; status follows reviews and the source.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from bot.core.keys import CONTENT_DRAFTS, CONTENT_PUBLISHED, Keys
from scripts.stack import free_port, start_python, stop, wait_http
from tests.integration.test_booking_processes import process_env
from tests.staff import Operator, operators_on
from tests.waiting import until

TEXT_ID = "answers/info_sfi/where/text"
PAYLOAD = "/info_sfi/where"  # the button that gives that answer (no NLU needed)


@pytest.fixture
def two_gateways(prefix: str) -> Iterator[list[str]]:
    ports = [free_port(), free_port()]
    env = {**process_env(prefix), "LOTSEN_CONTENT_POLL_SECONDS": "2"}
    processes = [start_python(["bot", "serve"], {**env, "LOTSEN_PORT": str(port)})
                 for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", 30, process, "gateway")
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            stop(process)


@pytest.fixture
async def operators(two_gateways, redis, prefix) -> AsyncIterator[tuple[Operator, Operator]]:
    """Anna on the first gateway, Bo on the second."""
    async with operators_on(redis, prefix, two_gateways) as (anna, bo):
        yield anna, bo


async def somali_answer(base: str) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/webchat/sessions", json={"language": "so"}) as resp:
            session = (await resp.json())["session"]
        async with http.post(f"{base}/webchat/sessions/{session}/messages",
                             json={"payload": PAYLOAD}) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["replies"][0]["text"])


async def text_state(operator: Operator, language: str, text_id: str = TEXT_ID) -> dict:
    status, body = await operator.get(f"/coach/api/content?language={language}&q={text_id}")
    assert status == 200, body
    return next(t for t in body["texts"] if t["id"] == text_id)


async def test_an_edit_approved_by_another_operator_is_live_on_the_other_gateway_and_rolls_back(
        operators, two_gateways) -> None:
    anna, bo = operators
    before = await somali_answer(two_gateways[1])
    shipped = (await text_state(anna, "so"))["text"]
    assert shipped and shipped in before and (await text_state(anna, "so"))["status"] == "draft"

    new = ("Järva waxaad sfi ku baran kartaa Komvux Rinkeby iyo Komvux Kista. Waxaa kale oo "
           "jira Kista folkhögskola iyo Södertörns folkhögskola.")
    status, body = await anna.post("/coach/api/content/drafts",
                                   {"id": TEXT_ID, "language": "so", "text": new})
    assert status == 201, body
    draft = body["draft"]
    # Nothing is live before the second person approves; the author cannot approve.
    status, body = await anna.post(f"/coach/api/content/drafts/{draft}/approve", {})
    assert status == 403, body
    assert new not in await somali_answer(two_gateways[1])

    status, body = await bo.post(f"/coach/api/content/drafts/{draft}/approve", {})
    assert status == 200 and body["version"] == 1, body
    approved_at = time.monotonic()
    await until(lambda: _shows(two_gateways[1], new), timeout=5, interval=0.2,
                what="the approved Somali text on the other gateway")
    await until(lambda: _shows(two_gateways[0], new), timeout=5, interval=0.2,
                what="the approved Somali text on the author's gateway")
    assert time.monotonic() - approved_at < 5
    state = await text_state(anna, "so")
    assert (state["status"], state["reviewed_by"], state["version"]) == ("reviewed", "bo", 1)

    status, body = await anna.post("/coach/api/content/rollback",
                                   {"id": TEXT_ID, "language": "so", "version": 0})
    assert status == 200 and body["version"] == 2, body
    await until(lambda: _shows(two_gateways[1], shipped), timeout=5, interval=0.2,
                what="the rolled-back Somali text on the other gateway")
    status, body = await bo.get(f"/coach/api/content/versions?id={TEXT_ID}&language=so")
    assert [(v["version"], v["kind"]) for v in body["versions"]] == [
        (2, "rollback"), (1, "edit"), (0, "shipped")]
    status, audit = await bo.get("/coach/api/audit")
    actions = {(e["action"], e["target"].split(":")[0]) for e in audit["entries"]}
    assert {("content_edit", "so"), ("content_publish", "so"),
            ("content_rollback", "so")} <= actions
    assert not any(new in str(e) for e in audit["entries"])  # ids, never the text


async def _shows(base: str, text: str) -> bool:
    return text in await somali_answer(base)


@pytest.mark.parametrize(("text", "named"), [
    ("Järva waxaad sfi ku baran kartaa.", None),  # fine (no placeholder in the source)
    ("Järva {district} waxaad sfi ku baran kartaa.", "{district}"),
    ("<b>Järva</b> waxaad sfi ku baran kartaa.", "Markup"),
    ("Järva " * 900, "4000"),
])
async def test_checks_refuse_with_the_field_and_limit_named_and_change_nothing(
        operators, redis, prefix, text, named) -> None:
    anna, _ = operators
    status, body = await anna.post("/coach/api/content/drafts",
                                   {"id": TEXT_ID, "language": "so", "text": text})
    keys = Keys(prefix)
    if named is None:
        assert status == 201, body
        return
    assert status == 400 and body["field"] == "text" and named in body["error"], body
    assert not await redis.exists(keys(CONTENT_DRAFTS), keys(CONTENT_PUBLISHED))


async def test_a_placeholder_dropped_from_a_translation_is_refused(operators) -> None:
    anna, _ = operators
    status, body = await anna.get("/coach/api/content?language=so&q={")
    with_placeholder = next(t for t in body["texts"] if "{" in t["source"]
                            and "plural" not in t["id"])
    status, body = await anna.post("/coach/api/content/drafts", {
        "id": with_placeholder["id"], "language": "so", "text": "Qoraal aan lahayn meel."})
    assert status == 400 and body["field"] == "text" and "missing {" in body["error"], body


async def test_a_changed_source_makes_its_reviewed_translations_stale(operators) -> None:
    anna, bo = operators
    for language, text in (("so", "Järva waxaad sfi ku baran kartaa Komvux Rinkeby."),
                           ("en", "In Järva you can study sfi at Komvux Rinkeby and Kista.")):
        status, body = await anna.post("/coach/api/content/drafts",
                                       {"id": TEXT_ID, "language": language, "text": text})
        assert status == 201, body
        if language == "so":
            status, _ = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve", {})
            assert status == 200
            assert (await text_state(anna, "so"))["status"] == "reviewed"
            assert (await text_state(anna, "sv"))["status"] == "draft"
        else:
            status, _ = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve", {})
            assert status == 200
    assert (await text_state(anna, "so"))["status"] == "stale"
    assert (await text_state(anna, "en"))["status"] == "reviewed"
    async with anna.http.get(f"{anna.base}/metrics") as resp:
        metrics = await resp.text()
    assert 'lotsen_content_texts{language="so",status="stale"} 1.0' in metrics
    assert 'lotsen_content_texts{language="en",status="reviewed"} 1.0' in metrics
    status, body = await anna.get("/coach/api/content?language=so&status=stale")
    assert [t["id"] for t in body["texts"]] == [TEXT_ID]
    assert body["summary"]["so"]["stale"] == 1 and body["summary"]["so"]["reviewed"] == 0


async def test_a_title_whatsapp_shows_shortened_is_noted_and_still_saved(operators) -> None:
    anna, _ = operators
    title_id = "answers/info_sfi/where/title"
    body = {"id": title_id, "language": "sv", "text": "Var kan jag läsa sfi i Järva?"}
    status, preview = await anna.post("/coach/api/content/preview", body)
    assert status == 200 and preview["problems"] == [], preview
    assert [n for n in preview["notes"] if n.startswith("whatsapp shows at most 20")], preview
    status, saved = await anna.post("/coach/api/content/drafts", body)
    assert status == 201, saved
    status, preview = await anna.post("/coach/api/content/preview",
                                      {**body, "text": "Var läser jag sfi?"})
    assert preview["notes"] == []
