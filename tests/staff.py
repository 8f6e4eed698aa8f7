"""Operators logged in to gateway processes over HTTP, as a browser would be: for tests that run
the staff panel's API against real gateway processes (the content workspace, facts)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import aiohttp

from bot.coach.accounts import CoachAccounts
from bot.core.clock import system_clock
from bot.core.handover.teams import Teams
from bot.core.keys import Keys
from tests.integration.test_booking_processes import FIXTURE_CONFIG

PASSWORD = "a long enough password 24"


class Operator:
    """One operator's browser on one gateway: its own cookies and CSRF token."""

    def __init__(self, base: str, http: aiohttp.ClientSession, csrf: str) -> None:
        self.base, self.http, self.headers = base, http, {"X-CSRF-Token": csrf}

    async def get(self, path: str) -> tuple[int, dict]:
        async with self.http.get(self.base + path) as resp:
            return resp.status, await resp.json()

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        async with self.http.post(self.base + path, json=body, headers=self.headers) as resp:
            return resp.status, await resp.json()


@asynccontextmanager
async def operators_on(redis, prefix: str, bases: Sequence[str],
                       names: Sequence[str] = ("anna", "bo")) -> AsyncIterator[list[Operator]]:
    """One operator account per name, each logged in on its gateway (`bases`, in order)."""
    accounts = CoachAccounts(redis=redis, keys=Keys(prefix), clock=system_clock,
                             teams=Teams.load(FIXTURE_CONFIG / "teams.yml"))
    sessions, logged_in = [], []
    try:
        for name, base in zip(names, bases, strict=True):
            await accounts.add(name, PASSWORD, [], name=name.title(), role="operator")
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            sessions.append(http)
            async with http.post(f"{base}/coach/api/login",
                                 json={"username": name, "password": PASSWORD}) as resp:
                assert resp.status == 200, await resp.text()
                logged_in.append(Operator(base, http, (await resp.json())["csrf_token"]))
        yield logged_in
    finally:
        for http in sessions:
            await http.close()
