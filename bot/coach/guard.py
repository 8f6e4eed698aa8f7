"""Who may call a coach-panel route: a logged-in session of an account that still exists with
the same password generation, the session's CSRF token on every state-changing request, and
for some routes a role. One guard for every coach route, so no route forgets a check."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp_session import get_session

from bot.coach.accounts import Coach, CoachAccounts, Role
from bot.http import error

CoachHandler = Callable[[web.Request, Coach], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SessionGuard:
    def __init__(self, accounts: CoachAccounts) -> None:
        self.accounts = accounts

    def __call__(self, handler: CoachHandler, *, csrf: bool = False,
                 role: Role | None = None) -> Handler:
        """`handler` behind the checks: 401 without a valid session (log in again), 403
        without the CSRF token (`csrf`) or without the `role` (when one is named)."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = await get_session(request)
            coach = await self.accounts.get(session.get("username", ""))
            if coach is None or coach.disabled or session.get("generation") != coach.generation:
                session.invalidate()  # removed, disabled, or the password changed
                return error(401, "Log in first (POST /coach/api/login).")
            if csrf and not hmac.compare_digest(request.headers.get("X-CSRF-Token", ""),
                                                str(session.get("csrf", ""))):
                return error(403, "Missing or wrong X-CSRF-Token header.")
            if role is not None and coach.role != role:
                return error(403, f"This needs the {role} role; ask an administrator.")
            return await handler(request, coach)
        return guarded

    def access(self, role: Role) -> Callable[[Handler, bool], Handler]:
        """For routes written without a coach argument (the campaign routes, shared with the
        admin API): (handler, whether it changes anything) -> the handler behind this guard,
        with the CSRF check on changes and `role` required."""
        def wrap(handler: Handler, changes: bool) -> Handler:
            async def as_coach(request: web.Request, coach: Coach) -> web.StreamResponse:
                return await handler(request)
            return self(as_coach, csrf=changes, role=role)
        return wrap
