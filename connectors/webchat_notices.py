"""`GET /webchat/notices?language=sv`: the city's live notices for the chat page, which shows them
above the chat (the web chat's `Capabilities.notices_in_page`), each in the chosen language or
else in the default one. Nothing about the person is asked or kept: the page asks anyone.

Each notice says its language and direction (a fallback text is marked as what it is) and how
many seconds it has left by the server's clock, so the page can take it down on time without
trusting the browser's date.
"""

from __future__ import annotations

from aiohttp import web

from bot.core.dialogue import DialogueEngine
from bot.core.notices.flow import notice_board
from bot.http import bad_request


def notices_route(engine: DialogueEngine) -> web.RouteDef:
    board = notice_board(engine.flows)
    languages = engine.languages

    async def notices(request: web.Request) -> web.Response:
        language = request.query.get("language") or languages.default
        if not languages.is_enabled(language):
            raise bad_request(f"Unsupported language {language!r}; "
                              f"use one of {', '.join(languages.enabled)}.")
        now = board.clock().timestamp() if board is not None else 0.0
        shown = await board.active(now, language) if board is not None else []
        return web.json_response(
            {"notices": [{"id": n.id, "text": n.text, "language": n.language,
                          "direction": languages.languages[n.language].direction,
                          "seconds_left": max(1, int(n.ends_at - now))} for n in shown]},
            headers={"Cache-Control": "no-store"})

    return web.get("/webchat/notices", notices)
