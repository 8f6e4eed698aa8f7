"""HTTP helpers shared by every route: JSON errors and body parsing with clear messages."""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def json_object(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return {}
        raise bad_request("The request body is empty; send a JSON object.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def admin_refusal(request: web.Request, token: str) -> web.Response | None:
    """None when the request carries the admin bearer token; else the response refusing it."""
    if not token:
        return error(503, "The admin API is disabled: set LOTSEN_ADMIN_TOKEN to enable it.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
        return None
    return error(401, "Missing or wrong admin token (Authorization: Bearer <token>).")
