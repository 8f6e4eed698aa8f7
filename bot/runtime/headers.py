"""Security headers on every response the gateway sends.

- Content-Security-Policy: scripts, styles and connections only from this site, no inline
  script (the pages have none), no plugins;
- framing: the coach panel and every API may never be framed (clickjacking); the chat page may
  be framed by this site and by the origins in LOTSEN_EMBED_ORIGINS (the city's pages that embed
  the widget);
- `nosniff`, `Referrer-Policy: no-referrer` (a session id in a URL never leaves in a Referer);
- `Cache-Control: no-store` on every route that answers with personal data;
- HSTS when the public URL is https.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.config import Settings

EMBEDDABLE_PAGE, EMBEDDABLE_FILES = "/", "/static/"  # the chat page and its files
PRIVATE = ("/coach/api/", "/webchat/sessions", "/api/", "/staff/api/")
BASE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'")


def security_headers(settings: Settings) -> Middleware:
    embedders = " ".join(origin for origin in settings.embed_origins.split() if origin)
    framed_policy = f"{BASE_POLICY}; frame-ancestors 'self'{' ' + embedders if embedders else ''}"
    closed_policy = f"{BASE_POLICY}; frame-ancestors 'none'"
    https = settings.public_url.lower().startswith("https://")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        path = request.path
        embeddable = path == EMBEDDABLE_PAGE or path.startswith(EMBEDDABLE_FILES)
        headers = response.headers
        headers["Content-Security-Policy"] = framed_policy if embeddable else closed_policy
        if not embeddable:
            headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        if path.startswith(PRIVATE):
            headers["Cache-Control"] = "no-store"
        if https:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    return middleware
