"""NLU capacity (bot/core/nlu/): a budget instead of a cliff, several replicas, the parse cache.

Every parse goes to the real Rasa server; "replicas" are TCP proxies in front of it (tests/proxy.py)
that the test closes and reopens, so the gateway sees real refused connections.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from prometheus_client import REGISTRY

from bot.core.keys import Keys
from bot.core.nlu import NLUBusy, NLUUnavailable
from bot.core.nlu.cache import NLU_CACHE_KEY, CachedParser, ParseCache
from bot.core.nlu.pool import RasaPool
from bot.runtime.gateway import create_app
from bot.runtime.wiring import load_content
from tests.conftest import Conversation, make_settings
from tests.proxy import TcpProxy
from tests.redis_keys import scan
from tests.waiting import until


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def proxies(rasa_server):
    pair = [TcpProxy(rasa_server.port), TcpProxy(rasa_server.port)]
    for proxy in pair:
        await proxy.open()
    yield pair
    for proxy in pair:
        await proxy.close()


async def test_a_peak_beyond_capacity_gets_busy_answers_and_rasa_stays_in(
        http, rasa_server) -> None:
    pool = RasaPool(http, [rasa_server.url], rasa_server.token, budget_seconds=0.05,
                    concurrency=1)
    outcomes = await asyncio.gather(*(pool.parse(f"var ligger jobbtorg {i}") for i in range(40)),
                                    return_exceptions=True)
    parsed = [o for o in outcomes if not isinstance(o, BaseException)]
    busy = [o for o in outcomes if isinstance(o, NLUBusy)]
    assert parsed and busy and len(parsed) + len(busy) == 40  # nothing else went wrong
    assert all(r.healthy for r in pool.replicas)  # queue time did not open the breaker
    assert (await pool.parse("vad är sfi")).intent == "info_sfi"  # no pause after the peak
    await pool.close()


async def test_a_message_parses_the_same_however_its_persian_is_spelled(http, rasa_server) -> None:
    # with a zero-width non-joiner, joined, with a space, and on an Arabic keyboard (ي, ك): the
    # pool sends the one spelling the model was trained on (bot/core/nlu/spelling.py)
    pool = RasaPool(http, [rasa_server.url], rasa_server.token)
    forms = ["می\u200cخوام برای کلاس سوئدی ثبت نام کنم", "میخوام برای کلاس سوئدی ثبت نام کنم",
             "می خوام برای کلاس سوئدی ثبت نام کنم", "مي خوام براي كلاس سوئدي ثبت نام كنم"]
    parses = [await pool.parse(form) for form in forms]
    assert parses[0].intent.startswith("info_sfi")
    assert all(parse == parses[0] for parse in parses), [(p.intent, p.confidence) for p in parses]
    await pool.close()


async def test_busy_messages_get_the_topic_menu_in_their_language_counted_apart(
        aiohttp_client, rasa_server, prefix, redis) -> None:
    settings = make_settings(prefix, rasa_server, nlu_budget_ms=1, nlu_concurrency=1,
                             nlu_cache=False)
    client = await aiohttp_client(create_app(settings))
    talks = [await Conversation.start(client, "sv") for _ in range(12)]
    busy_before = counted("lotsen_fallbacks_total", reason="nlu_busy")
    down_before = counted("lotsen_fallbacks_total", reason="nlu_down")
    replies = await asyncio.gather(*(t.say("var kan jag lära mig svenska") for t in talks))
    content = load_content(settings).content
    busy_text = content.text("nlu_busy", "sv")
    busy = [r for r in replies if r.startswith(busy_text)]
    assert busy and len(busy) < len(replies)  # some waited too long, some were parsed
    assert all("1. " in r and "2. " in r for r in busy)  # the numbered topic menu
    assert counted("lotsen_fallbacks_total", reason="nlu_busy") - busy_before == len(busy)
    assert counted("lotsen_fallbacks_total", reason="nlu_down") == down_before
    waited = talks[replies.index(busy[0])]
    assert "komvux" in (await waited.say("5")).lower()  # the menu's numbers work


async def test_parses_spread_over_replicas_and_a_failed_one_comes_back(
        http, rasa_server, proxies) -> None:
    first, second = proxies
    pool = RasaPool(http, [f"http://127.0.0.1:{p.port}" for p in proxies], rasa_server.token,
                    health_interval=0.2)
    await asyncio.gather(*(pool.parse("hej") for _ in range(8)))
    assert first.parses >= 2 and second.parses >= 2  # both replicas took work

    await first.close()
    results = [await pool.parse("vad är sfi") for _ in range(6)]  # no NLUUnavailable
    assert all(r.intent == "info_sfi" for r in results)
    assert [r.healthy for r in pool.replicas] == [False, True]

    await first.open()
    await until(lambda: pool.replicas[0].healthy, timeout=10,  # checked every 0.2 s here
                what="the health check to put the replica back")
    before = first.parses
    await asyncio.gather(*(pool.parse("tack") for _ in range(6)))
    assert first.parses > before

    await first.close()
    await second.close()
    with pytest.raises(NLUUnavailable) as failure:
        await pool.parse("hej")
    assert not isinstance(failure.value, NLUBusy)  # an outage, not a busy moment
    await pool.close()


async def test_the_cache_skips_rasa_for_a_repeated_short_text_and_keeps_no_text(
        http, rasa_server, proxies, redis, prefix) -> None:
    proxy = proxies[0]
    pool = RasaPool(http, [f"http://127.0.0.1:{proxy.port}"], rasa_server.token)
    parser = CachedParser(pool, ParseCache(redis=redis, keys=Keys(prefix), secret="test-secret"))
    assert (await pool.status())[0] and pool.model  # the health check learns the model
    hits = counted("lotsen_nlu_cache_total", result="hit")

    first = await parser.parse("Hej!")
    sent = proxy.parses
    again = await parser.parse("  hej ")  # the same after normalising
    assert again == first and proxy.parses == sent
    assert counted("lotsen_nlu_cache_total", result="hit") == hits + 1

    cached = Keys(prefix).glob(NLU_CACHE_KEY)
    keys = await scan(redis, cached)
    assert len(keys) == 1
    stored = await redis.get(keys[0])
    assert "hej" not in stored.lower() and json.loads(stored)["intent"] == "greet"
    assert 23 * 3600 < await redis.ttl(keys[0]) <= 24 * 3600

    await parser.parse("jag heter Amina Hassan")  # a name: parsed, never cached
    await parser.parse("ring mig på 070-123 45 67")
    assert len(await scan(redis, cached)) == 1

    pool.replicas[0].model = "nlu-another-model.tar.gz"  # a new model: its own entries
    sent = proxy.parses
    await parser.parse("hej")
    assert proxy.parses == sent + 1
    await pool.close()
