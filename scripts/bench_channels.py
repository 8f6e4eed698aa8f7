"""`make bench-channels`: throughput and latency through the web chat API, side by side with
Rasa's own `/model/parse` and a bare aiohttp endpoint, in one run on this machine.

The ratios show where time goes: bare aiohttp is the floor of HTTP handling, Rasa alone is the
cost of NLU, and the web chat adds the dialogue engine and Redis. The load generator runs on the
same (2-core) machine, so absolute numbers are lower than on a dedicated server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import PYTHON, free_port, running_stack, stop, wait_http  # noqa: E402

TEXTS = ["hej, vad kan du hjälpa mig med", "var ligger jobbtorg i kista",
         "finns det sfi för föräldralediga", "I want to learn swedish",
         "what are your opening hours", "jag är 19 och har inget jobb",
         "kan jag studera på komvux", "can I talk to a coach"]


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def row(self) -> dict[str, float | int | str]:
        lat = sorted(self.latencies)

        def pick(q: float) -> float:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else 0.0

        return {"target": self.name, "requests": len(lat), "errors": self.errors,
                "rps": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
                "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
                "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else 0.0}


async def load(name: str, users: int, seconds: float, make_request) -> Result:  # type: ignore[no-untyped-def]
    """`users` concurrent loops, each sending one request after another for `seconds`."""
    result = Result(name)
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.monotonic() + seconds
        started = time.monotonic()

        async def user(index: int) -> None:
            state: dict[str, str] = {}
            texts = itertools.cycle(TEXTS[index % len(TEXTS):] + TEXTS[:index % len(TEXTS)])
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    ok = await make_request(session, state, next(texts))
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                if ok:
                    result.latencies.append(time.perf_counter() - t0)
                else:
                    result.errors += 1

        await asyncio.gather(*(user(i) for i in range(users)))
        result.seconds = time.monotonic() - started
    return result


def webchat_request(base: str):  # type: ignore[no-untyped-def]
    async def request(session: aiohttp.ClientSession, state: dict[str, str], text: str) -> bool:
        if "session" not in state:
            async with session.post(f"{base}/webchat/sessions", json={}) as resp:
                state["session"] = (await resp.json())["session"]
        async with session.post(f"{base}/webchat/sessions/{state['session']}/messages",
                                json={"text": text}) as resp:
            await resp.read()
            return resp.status == 200
    return request


def rasa_request(base: str, token: str):  # type: ignore[no-untyped-def]
    async def request(session: aiohttp.ClientSession, state: dict[str, str], text: str) -> bool:
        async with session.post(f"{base}/model/parse", params={"token": token},
                                json={"text": text}) as resp:
            await resp.read()
            return resp.status == 200
    return request


TELEGRAM_SECRET = "bench-secret"


def telegram_request(base: str):  # type: ignore[no-untyped-def]
    """The Telegram webhook: an update in, the dialogue, the reply queued in the outbox."""
    counter = itertools.count(1)

    async def request(session: aiohttp.ClientSession, state: dict[str, str], text: str) -> bool:
        if "chat" not in state:
            state["chat"] = str(100000 + next(counter))
        update_id = next(counter) * 1000 + int(state["chat"]) % 1000
        update = {"update_id": update_id, "message": {
            "message_id": update_id, "date": int(time.time()), "text": text,
            "chat": {"id": int(state["chat"]), "type": "private"},
            "from": {"id": int(state["chat"]), "is_bot": False, "first_name": "B"}}}
        async with session.post(f"{base}/telegram/webhook", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
                                ) as resp:
            await resp.read()
            return resp.status == 200
    return request


def bare_request(base: str):  # type: ignore[no-untyped-def]
    async def request(session: aiohttp.ClientSession, state: dict[str, str], text: str) -> bool:
        async with session.post(f"{base}/bare", json={"text": text}) as resp:
            await resp.read()
            return resp.status == 200
    return request


def print_table(rows: list[dict[str, float | int | str]], users: int, seconds: float) -> None:
    print(f"\nbench: {users} concurrent users, {seconds:.0f} s per target, same machine")
    print(f"{'target':22}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'p99 ms':>9}")
    for r in rows:
        print(f"{r['target']:22}{r['requests']:>9}{r['errors']:>7}{r['rps']:>9}{r['p50_ms']:>9}"
              f"{r['p95_ms']:>9}{r['p99_ms']:>9}")
    by = {r["target"]: r for r in rows}
    if by.get("webchat API", {}).get("rps") and by.get("rasa /model/parse", {}).get("rps"):
        print(f"\nweb chat p50 / Rasa p50: "
              f"{by['webchat API']['p50_ms'] / max(by['rasa /model/parse']['p50_ms'], 0.1):.2f}x;"
              f" bare aiohttp req/s / web chat req/s: "
              f"{by['bare aiohttp']['rps'] / max(by['webchat API']['rps'], 0.1):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-channels.json")
    args = parser.parse_args()
    print("bench: starting Rasa, the gateway and a bare aiohttp server...", flush=True)
    bare_port = free_port()
    bare = subprocess.Popen([str(PYTHON), str(ROOT / "scripts" / "bare_server.py"),
                             str(bare_port)], start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{bare_port}/healthz", 20, bare, "bare server")
        # The load generator is one address on loopback: exempt from the per-address limits
        # (LOTSEN_LIMIT_EXEMPT), as a city would exempt its own load tests.
        bench_env = {"LOTSEN_RATE_LIMIT_PER_MINUTE": "1000000",
                     "LOTSEN_LIMIT_EXEMPT": "127.0.0.1,::1",
                     "LOTSEN_TELEGRAM_TOKEN": "1:bench", "LOTSEN_TELEGRAM_WEBHOOK_SECRET":
                     TELEGRAM_SECRET, "LOTSEN_PUBLIC_URL": "http://bench.invalid"}
        with running_stack(prefix="lotsen-bench", extra_env=bench_env) as stack:
            rows = []
            for name, make in [
                ("bare aiohttp", bare_request(f"http://127.0.0.1:{bare_port}")),
                ("rasa /model/parse", rasa_request(stack.rasa_url, stack.rasa_token)),
                ("webchat API", webchat_request(stack.gateway_url)),
                ("telegram webhook", telegram_request(stack.gateway_url)),
            ]:
                print(f"bench: {name} for {args.seconds:.0f} s...", flush=True)
                rows.append(asyncio.run(load(name, args.users, args.seconds, make)).row())
            asyncio.run(cleanup(stack.env))
    finally:
        stop(bare)
    print_table(rows, args.users, args.seconds)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps({"users": args.users, "seconds": args.seconds,
                                    "results": rows}, indent=2))
    print(f"bench: wrote {args.out.relative_to(ROOT)}")


async def cleanup(env: dict[str, str]) -> None:
    """Delete the bench's own keys so repeated runs leave nothing behind in Redis."""
    from redis.asyncio import Redis

    redis = Redis.from_url(env.get("LOTSEN_REDIS_URL", "redis://127.0.0.1:6379/0"))
    async for key in redis.scan_iter(match=f"{env['LOTSEN_KEY_PREFIX']}:*", count=1000):
        await redis.delete(key)
    await redis.aclose()


if __name__ == "__main__":
    main()
