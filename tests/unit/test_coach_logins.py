"""Coach logins under attack: attempts are counted before a password is checked, so a burst of
wrong passwords is refused rather than verified; the account backs off instead of locking, so
the real coach gets in afterwards; argon2 never stalls the event loop; a password change or
the removal of the account ends that coach's sessions; login takes JSON only."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import aiohttp
import pytest
from argon2 import PasswordHasher

from bot.coach.accounts import CoachAccounts
from bot.core.clock import system_clock
from bot.core.handover.teams import Teams
from bot.core.keys import Keys
from bot.runtime.gateway import SERVICES, create_app
from scripts.stack import free_port, start_python, stop, wait_http
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
ATTACKER, COACH = "203.0.113.5", "198.51.100.7"
PROBE = """
import sys, time, urllib.request
for _ in range(25):
    started = time.perf_counter()
    urllib.request.urlopen(sys.argv[1], timeout=5).read()
    print((time.perf_counter() - started) * 1000, flush=True)
    time.sleep(0.03)
"""


@pytest.fixture
async def gateway(aiohttp_client, prefix, redis):
    client = await aiohttp_client(create_app(make_settings(prefix)))
    services = client.server.app[SERVICES]
    accounts = services.accounts
    await accounts.add("sara", PASSWORD, [next(iter(services.teams.teams))], name="Sara")
    return client


def accounts_of(client) -> CoachAccounts:
    services = client.server.app[SERVICES]
    return services.accounts


async def login(client, password: str = PASSWORD):
    return await client.post("/coach/api/login", json={"username": "sara",
                                                       "password": password})


@pytest.fixture
def gateway_process(prefix: str, redis):
    """The gateway in its own process, so the load below does not share its event loop."""
    port = free_port()
    env = {"LOTSEN_PORT": str(port), "LOTSEN_KEY_PREFIX": prefix, "LOTSEN_LOG_LEVEL": "ERROR",
           "LOTSEN_RASA_URL": "http://127.0.0.1:9", "LOTSEN_TRUSTED_PROXIES": "127.0.0.1"}
    process = start_python(["bot", "serve"], env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, process, "gateway")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


async def test_100_parallel_wrong_passwords_verify_at_most_10_and_health_stays_fast(
        gateway_process, redis, prefix) -> None:
    settings = make_settings(prefix)
    teams = Teams.load(settings.config_dir / "teams.yml")
    await CoachAccounts(redis=redis, keys=Keys(prefix), clock=system_clock, teams=teams).add(
       "sara", PASSWORD, [next(iter(teams.teams))])
    async with aiohttp.ClientSession() as http:
        async def attempt(password: str, address: str = ATTACKER) -> aiohttp.ClientResponse:
            # Through the trusted proxy on loopback, which names the client's address.
            async with http.post(f"{gateway_process}/coach/api/login",
                                 json={"username": "sara", "password": password},
                                 headers={"X-Forwarded-For": address}) as resp:
                await resp.read()
                return resp

        await attempt("warm up the connection pool")  # one failure, counted like the rest
        # /healthz is timed from another process, so the load generator's own event loop does
        # not count as the gateway's latency.
        probe = subprocess.Popen([sys.executable, "-c", PROBE, f"{gateway_process}/healthz"],
                                 stdout=subprocess.PIPE, text=True)
        await asyncio.sleep(0.1)
        answers = await asyncio.gather(*(attempt(f"wrong password {i}") for i in range(100)))
        health_ms = [float(line) for line in probe.communicate(timeout=30)[0].split()]
        statuses = [answer.status for answer in answers]
        # A 401 is only ever answered after argon2 checked the password; a 429 before it.
        assert statuses.count(401) + 1 <= 10, statuses
        assert statuses.count(401) + statuses.count(429) == 100
        # Every probe answered during the storm, none held for seconds (every guess verified
        # on the event loop would hold them that long). That argon2 never runs on the event
        # loop is checked directly below; its latency belongs in a benchmark, not here (a
        # shared 2-core machine delayed a probe past 100 ms by itself).
        slowest = sorted(health_ms)
        assert len(health_ms) == 25 and slowest[-1] < 3000, slowest[-5:]

        refused = await attempt(PASSWORD, COACH)  # the real coach, during the backoff
        assert refused.status == 429 and int(refused.headers["Retry-After"]) <= 4
        await asyncio.sleep(int(refused.headers["Retry-After"]) + 0.2)
        assert (await attempt(PASSWORD, COACH)).status == 200  # ... and after it
        # The attacker's address has used up its attempts for the window.
        blocked = await attempt(PASSWORD)
        assert blocked.status == 429 and int(blocked.headers["Retry-After"]) > 60


async def test_argon2_never_runs_on_the_event_loop(gateway, monkeypatch) -> None:
    loop_thread, threads = threading.current_thread(), []
    for name in ("hash", "verify"):
        original = getattr(PasswordHasher, name)

        def recording(self, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            threads.append(threading.current_thread())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHasher, name, recording)
    assert (await login(gateway, "wrong password")).status == 401  # verify
    assert (await gateway.post("/coach/api/login", json={"username": "nobody",
                                                         "password": "x"})).status == 401  # hash
    assert (await login(gateway)).status == 200
    assert len(threads) >= 3
    assert [t.name for t in threads if t is loop_thread] == []
    assert all(t.name.startswith("argon2") for t in threads), [t.name for t in threads]


async def test_a_password_change_or_removal_ends_the_coachs_sessions(gateway) -> None:
    assert (await login(gateway)).status == 200
    assert (await gateway.get("/coach/api/me")).status == 200
    await accounts_of(gateway).set_password("sara", "a new long password")
    assert (await gateway.get("/coach/api/me")).status == 401
    assert (await login(gateway, "a new long password")).status == 200
    assert (await gateway.get("/coach/api/me")).status == 200
    assert await accounts_of(gateway).remove("sara")
    assert (await gateway.get("/coach/api/me")).status == 401


async def test_login_takes_json_only(gateway) -> None:
    resp = await gateway.post("/coach/api/login", data={"username": "sara",
                                                        "password": PASSWORD})
    assert resp.status == 415 and "application/json" in (await resp.json())["error"]
