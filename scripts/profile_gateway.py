"""`make profile`: where the gateway's CPU goes on the web chat path.

Starts one Rasa server and one gateway (`python -m bot serve`, parse cache as configured) and
sends a varied multilingual mix (scripts/bench_mix.yml: the held-out questions of seven languages
and the short messages every chat is full of) through the web chat API, `--users` at a time.
It prints the gateway's CPU per message (from /proc, the whole process) and, with `--profile`,
runs the gateway under pyinstrument and writes `reports/profile-gateway.html` and a text tree.
The Redis commands per message are counted with INFO commandstats (before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
import time
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import cpu_seconds, mixed_messages, questions  # noqa: E402
from scripts.stack import PYTHON, free_port, start_rasa, stop, wait_http, wait_rasa  # noqa: E402

PREFIX = "lotsen-profile"


async def command_counts(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def round_trips(redis: Redis) -> int:
    """Requests Redis has read from clients so far (a pipeline is one read for small ones)."""
    stats = await redis.info("stats")
    return int(stats.get("total_commands_processed", 0))


async def drive(base: str, texts: list[str], users: int) -> tuple[int, float]:
    """Send `texts` through `users` web chat sessions at once; (messages sent, seconds)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sessions = []
        for _ in range(users):
            async with http.post(f"{base}/webchat/sessions", json={}) as resp:
                sessions.append((await resp.json())["session"])
        queue = list(enumerate(texts))
        sent = 0

        async def user(index: int) -> None:
            nonlocal sent
            while queue:
                _, text = queue.pop()
                async with http.post(f"{base}/webchat/sessions/{sessions[index]}/messages",
                                     json={"text": text}) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise SystemExit(f"profile: HTTP {resp.status} for {text!r}")
                sent += 1

        started = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(users)))
        return sent, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure this many times (the machine is shared: the least counts)")
    parser.add_argument("--profile", action="store_true", help="run the gateway under pyinstrument")
    parser.add_argument("--cprofile", action="store_true",
                        help="cProfile instead (every call counted: slower, exact call counts)")
    parser.add_argument("--cache", choices=("true", "false"), default="true")
    parser.add_argument("--questions", action="store_true",
                        help="only the held-out questions (what make bench's cache-off runs send)")
    args = parser.parse_args()
    token, rasa_port, port = secrets.token_urlsafe(16), free_port(), free_port()
    print("profile: starting Rasa (about 30 s)...", flush=True)
    rasa = start_rasa(rasa_port, token)
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    env = {**os.environ, "LOTSEN_PORT": str(port), "LOTSEN_RASA_URL": f"http://127.0.0.1:{rasa_port}",
           "LOTSEN_RASA_TOKEN": token, "LOTSEN_KEY_PREFIX": PREFIX, "LOTSEN_LOG_LEVEL": "ERROR",
           "LOTSEN_NLU_CACHE": args.cache, "LOTSEN_LIMIT_EXEMPT": "127.0.0.1,::1",
           "LOTSEN_RATE_LIMIT_PER_MINUTE": "1000000", "LOTSEN_LIMIT_MESSAGES_PER_MINUTE": "1000000"}
    command = [str(PYTHON), "-m", "bot", "serve"]
    if args.profile:
        command = [str(PYTHON), "-m", "pyinstrument", "-r", "pstats", "-o",
                   str(out / "profile-gateway.pstats"), "-m", "bot", "serve"]
    if args.cprofile:
        command = [str(PYTHON), "-m", "cProfile", "-o", str(out / "profile-gateway.pstats"),
                   "-m", "bot", "serve"]
    import subprocess

    gateway = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_rasa(rasa_port, token, rasa)
        wait_http(f"{base}/healthz", 30, gateway, "gateway")
        texts = questions()[:args.messages + 100] if args.questions else \
            mixed_messages(args.messages + 100, seed=5)
        asyncio.run(drive(base, texts[:100], args.users))  # warm-up: Rasa, caches, imports

        def user_system() -> tuple[float, float]:
            fields = Path(f"/proc/{gateway.pid}/stat").read_text().rsplit(")", 1)[1].split()
            tick = os.sysconf("SC_CLK_TCK")
            return int(fields[11]) / tick, int(fields[12]) / tick

        async def measured() -> tuple[int, float, dict[str, int], int]:
            redis = Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
            before_cmds, before_trips = await command_counts(redis), await round_trips(redis)
            cpu_before, split_before = cpu_seconds(gateway.pid), user_system()
            sent, wall = await drive(base, texts[100:], args.users)
            cpu = cpu_seconds(gateway.pid) - cpu_before
            split = [after - before for after, before in zip(user_system(), split_before,
                                                             strict=True)]
            print(f"profile: of which user {split[0] / sent * 1000:.2f} ms, system (kernel) "
                  f"{split[1] / sent * 1000:.2f} ms per message")
            after_cmds, after_trips = await command_counts(redis), await round_trips(redis)
            await redis.aclose()
            diff = {k: after_cmds[k] - before_cmds.get(k, 0) for k in after_cmds
                    if after_cmds[k] != before_cmds.get(k, 0)}
            return sent, wall, {"cpu_ms": int(cpu * 1e6), **diff}, after_trips - before_trips

        figures = []
        for _ in range(args.rounds):
            sent, wall, counts, _ = asyncio.run(measured())
            cpu_ms = counts.pop("cpu_ms") / 1000
            figures.append(cpu_ms / sent)
            print(f"profile: {sent} messages in {wall:.1f} s, {args.users} at a time; gateway "
                  f"CPU {cpu_ms / sent:.2f} ms per message (cache {args.cache})")
        if len(figures) > 1:
            print(f"profile: least of {len(figures)} rounds: {min(figures):.2f} ms per message")
        skip = {"info"}
        per = {k: v / sent for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
               if k not in skip}
        print("profile: Redis commands per message: "
              + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))
    finally:
        if gateway.poll() is None:
            os.killpg(gateway.pid, signal.SIGINT)
            try:
                gateway.wait(60)
            except subprocess.TimeoutExpired:
                stop(gateway)
        stop(rasa)

        async def cleanup() -> None:
            redis = Redis.from_url("redis://127.0.0.1:6379/0")
            async for key in redis.scan_iter(match=f"{PREFIX}:*", count=1000):
                await redis.delete(key)
            await redis.aclose()
        asyncio.run(cleanup())
    if args.profile or args.cprofile:
        print_profile(out / "profile-gateway.pstats")


def print_profile(path: Path, top: int = 25) -> None:
    """The functions that took most of the gateway's time, themselves and with what they call."""
    import pstats

    stats = pstats.Stats(str(path))
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    rows = stats.stats  # type: ignore[attr-defined]
    def where(func: tuple[str, int, str]) -> str:
        file, line, name = func
        return f"{file.replace(str(ROOT) + '/', '')}:{line} {name}"
    print(f"profile: wrote {path.relative_to(ROOT)}; own time (share of all samples):")
    for func, (_, _, own, _, _) in sorted(rows.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"  {own / total:6.1%}  {where(func)}")
    print("profile: with callees:")
    for func, (_, _, _, cum, _) in sorted(rows.items(), key=lambda kv: -kv[1][3])[:top]:
        print(f"  {cum / total:6.1%}  {where(func)}")


if __name__ == "__main__":
    main()
