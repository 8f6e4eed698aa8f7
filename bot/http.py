"""HTTP helpers shared by every route: JSON errors and body parsing with clear messages."""

from __future__ import annotations

import hmac
import json
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.config import networks

Address = IPv4Address | IPv6Address


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def too_many(message: str, retry_after: int) -> web.HTTPTooManyRequests:
    """A 429 that says what to do, with Retry-After."""
    return web.HTTPTooManyRequests(text=json.dumps({"error": message}, ensure_ascii=False),
                                   content_type="application/json",
                                   headers={"Retry-After": str(retry_after)})


def bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


MAX_JSON_DEPTH = 32


async def json_object(request: web.Request, *, allow_empty: bool = False) -> dict[str, object]:
    """The request body as a JSON object, or a 400 that says what is wrong with it: not JSON,
    not an object, nested too deep, a number too long to read, or text that is not Unicode
    (a lone surrogate cannot be stored)."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return {}
        raise bad_request("The request body is empty; send a JSON object.")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise bad_request("The JSON body is nested too deeply.") from None
    except (UnicodeDecodeError, ValueError):  # ValueError: also numbers over 4300 digits
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    _check_value(data, 0)
    return data


def _check_value(value: object, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise bad_request(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            _check_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)


def check_text(text: str) -> str:
    """`text` if it is valid Unicode (no lone surrogates), else a 400."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("The text is not valid Unicode (it has a lone surrogate).") from None
    return text


async def form_fields(request: web.Request) -> dict[str, str]:
    """A form body (urlencoded or multipart) as text fields, or a 400 that says why not."""
    try:
        form = await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError, LookupError,
            HttpProcessingError) as exc:  # a broken multipart part is HttpProcessingError
        raise bad_request(f"The form body cannot be read ({type(exc).__name__}).") from None
    fields: dict[str, str] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            raise bad_request(f"Form field {key!r} must be text, not a file.")
        fields[check_text(key)] = check_text(value)
    return fields


def whole_number(raw: str, name: str, *, default: int = 0, maximum: int = 10**12) -> int:
    """A query parameter that must be a plain whole number (ASCII digits), else a 400."""
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(maximum)) or \
            int(raw) > maximum:
        raise bad_request(f'"{name}" must be a whole number from 0 to {maximum}.')
    return int(raw)


def admin_refusal(request: web.Request, token: str) -> web.Response | None:
    """None when the request carries the admin bearer token; else the response refusing it."""
    if not token:
        return error(503, "The admin API is disabled: set LOTSEN_ADMIN_TOKEN to enable it.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
        return None
    return error(401, "Missing or wrong admin token (Authorization: Bearer <token>).")


class ClientAddresses:
    """Who is asking: the TCP peer, or, when the peer is a trusted proxy, the first address in
    X-Forwarded-For (from the right) that is not one of the trusted proxies. A client cannot
    choose its address by sending the header itself."""

    def __init__(self, trusted_proxies: str = "", exempt: str = "") -> None:
        self.trusted = networks(trusted_proxies)
        self.exempt_networks = networks(exempt)

    def of(self, request: web.Request) -> Address | None:
        peer = _parse(request.remote)
        if peer is None or not self._trusted(peer):
            return peer
        hops = [_parse(part.strip()) for header in request.headers.getall("X-Forwarded-For", [])
                for part in header.split(",")]
        for hop in reversed(hops):
            if hop is None:
                return peer  # a malformed entry: trust nothing to its left
            if not self._trusted(hop):
                return hop
        return peer

    def exempt(self, address: Address | None) -> bool:
        return address is not None and any(address in net for net in self.exempt_networks)

    def _trusted(self, address: Address) -> bool:
        return any(address in net for net in self.trusted)


@lru_cache(maxsize=4096)  # the same few addresses (a proxy, loopback, regular clients) again
def _parse(text: str | None) -> Address | None:
    try:
        return ip_address(text) if text else None
    except ValueError:
        return None
