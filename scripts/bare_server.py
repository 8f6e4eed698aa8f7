"""A bare aiohttp endpoint: the floor that `make bench` compares the gateway against."""

import sys

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({"text": body.get("text", "")})


if __name__ == "__main__":
    app = web.Application()
    app.router.add_post("/bare", echo)
    app.router.add_get("/healthz", lambda request: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
