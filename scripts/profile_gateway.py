"""`make profile`: what one web chat message costs the gateway, and where it goes.

Starts one Rasa server and one gateway (`python -m bot serve`) and sends messages through the web
chat API: the seven-language mix of scripts/bench_mix.yml, or with `--questions` only the
held-out questions (what `make bench`'s parse-cache-off runs send). Three ways to look:

- `--mode instructions` (make profile's default): the gateway under callgrind, counting only
  while the messages are sent one at a time: instructions per message. The same code gives the
  same count on a loaded machine, so two versions compare exactly (CPU time on these shared
  machines varied by a third between runs of the same code).
- `--mode cpu`: the gateway's CPU time per message from /proc (user and kernel), `--rounds`
  times (the least counts), and the Redis commands per message (INFO commandstats: the whole
  server's, so other clients show too).
- `--mode pyinstrument`: the gateway under pyinstrument; the functions that took the most
  (reports/profile-gateway.pstats).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import pstats
import secrets
import shutil
import signal
import subprocess
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
REDIS_URL = "redis://127.0.0.1:6379/0"
REPORT = ROOT / "reports" / "profile-gateway.pstats"


async def drive(base: str, texts: list[str], users: int) -> tuple[int, float]:
    """Send `texts` through `users` web chat sessions at once; (messages sent, seconds)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sessions = []
        for _ in range(users):
            async with http.post(f"{base}/webchat/sessions", json={}) as resp:
                sessions.append((await resp.json())["session"])
        queue, sent = list(texts), 0

        async def user(index: int) -> None:
            nonlocal sent
            while queue:
                text = queue.pop()
                async with http.post(f"{base}/webchat/sessions/{sessions[index]}/messages",
                                     json={"text": text}) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise SystemExit(f"profile: HTTP {resp.status} for {text!r}")
                sent += 1

        started = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(users)))
        return sent, time.monotonic() - started


def user_system(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def command_counts() -> dict[str, int]:
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    stats = await redis.info("commandstats")
    await redis.aclose()
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def measure_cpu(gateway: subprocess.Popen[bytes], base: str, texts: list[str],
                args: argparse.Namespace) -> None:
    figures = []
    for _ in range(args.rounds):
        before, split_before = asyncio.run(command_counts()), user_system(gateway.pid)
        cpu_before = cpu_seconds(gateway.pid)
        sent, wall = asyncio.run(drive(base, texts, args.users))
        cpu = cpu_seconds(gateway.pid) - cpu_before
        user, system = (b - a for a, b in zip(split_before, user_system(gateway.pid),
                                              strict=True))
        after = asyncio.run(command_counts())
        figures.append(cpu / sent * 1000)
        print(f"profile: {sent} messages in {wall:.1f} s, {args.users} at a time: gateway CPU "
              f"{figures[-1]:.2f} ms per message (user {user / sent * 1000:.2f}, kernel "
              f"{system / sent * 1000:.2f})")
        counts = {k: (after[k] - before.get(k, 0)) / sent for k in after
                  if k != "info" and after[k] != before.get(k, 0)}
        print("profile: Redis commands per message (all clients): " + ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))
    if len(figures) > 1:
        print(f"profile: least of {len(figures)} rounds: {min(figures):.2f} ms per message")


def measure_instructions(gateway: subprocess.Popen[bytes], base: str, texts: list[str]) -> int:
    """Messages sent one at a time with callgrind counting (it counts nothing else)."""
    control = str(shutil.which("callgrind_control"))
    subprocess.run([control, "-i", "on", str(gateway.pid)], check=True, capture_output=True)
    sent, _ = asyncio.run(drive(base, texts, 1))
    subprocess.run([control, "-i", "off", str(gateway.pid)], check=True, capture_output=True)
    return sent


def counted_instructions(out: str) -> int:
    """The instructions callgrind counted, from the file it writes as the gateway ends."""
    found = 0
    for path in glob.glob(out + "*"):
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                found = max(found, int(line.split()[1]))
    return found


def print_profile(path: Path, top: int = 25) -> None:
    """The functions that took most of the gateway's time, themselves and with what they call."""
    stats = pstats.Stats(str(path))
    rows = stats.stats  # type: ignore[attr-defined]
    total = max(sum(row[2] for row in rows.values()), 1e-9)

    def where(func: tuple[str, int, str]) -> str:
        file, line, name = func
        return f"{file.replace(str(ROOT) + '/', '')}:{line} {name}"
    print(f"profile: wrote {path.relative_to(ROOT)}; own time (share of all samples):")
    for func, (_, _, own, _, _) in sorted(rows.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"  {own / total:6.1%}  {where(func)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("instructions", "cpu", "pyinstrument"),
                        default="instructions")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=100,
                        help="messages sent before measuring (first-use costs, Rasa's warm-up)")
    parser.add_argument("--users", type=int, default=10, help="at once (cpu, pyinstrument)")
    parser.add_argument("--rounds", type=int, default=3, help="cpu: measure this many times")
    parser.add_argument("--cache", choices=("true", "false"), default="false",
                        help="the parse cache (off: every message is parsed by Rasa)")
    parser.add_argument("--keep", metavar="FILE",
                        help="instructions: keep callgrind's output as FILE (callgrind_annotate "
                             "FILE shows the C functions and extensions that cost)")
    parser.add_argument("--questions", action="store_true",
                        help="only the held-out questions (what make bench's cache-off runs send)")
    args = parser.parse_args()
    if args.mode == "instructions" and not shutil.which("callgrind_control"):
        sys.exit("profile: valgrind is not installed (Debian: apt-get install valgrind)")
    token, rasa_port, port = secrets.token_urlsafe(16), free_port(), free_port()
    print("profile: starting Rasa (about 30 s)...", flush=True)
    rasa = start_rasa(rasa_port, token)
    REPORT.parent.mkdir(exist_ok=True)
    env = {**os.environ, "LOTSEN_PORT": str(port),
           "LOTSEN_RASA_URL": f"http://127.0.0.1:{rasa_port}", "LOTSEN_RASA_TOKEN": token,
           "LOTSEN_KEY_PREFIX": PREFIX, "LOTSEN_LOG_LEVEL": "ERROR", "LOTSEN_NLU_CACHE": args.cache,
           "LOTSEN_LIMIT_EXEMPT": "127.0.0.1,::1", "LOTSEN_RATE_LIMIT_PER_MINUTE": "1000000",
           "LOTSEN_LIMIT_MESSAGES_PER_MINUTE": "1000000",
           # Under callgrind the gateway runs far slower than Rasa: no budget or timeout trips.
           "LOTSEN_NLU_BUDGET_MS": "60000", "LOTSEN_NLU_TIMEOUT_SECONDS": "60"}
    command = [str(PYTHON), "-m", "bot", "serve"]
    callgrind_out = f"/tmp/lotsen-callgrind.{os.getpid()}.out"
    if args.mode == "pyinstrument":
        command = [str(PYTHON), "-m", "pyinstrument", "-r", "pstats", "-o", str(REPORT),
                   *command[1:]]
    elif args.mode == "instructions":
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={callgrind_out}", *command]
    gateway = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True,
                               stderr=subprocess.DEVNULL if args.mode == "instructions" else None)
    base = f"http://127.0.0.1:{port}"
    texts = questions() if args.questions else mixed_messages(args.warmup + args.messages, seed=5)
    warm = (texts * (1 + args.warmup // len(texts)))[:args.warmup]
    measured = (texts[args.warmup % len(texts):] + texts)[:args.messages]
    sent = 0
    try:
        wait_rasa(rasa_port, token, rasa)
        wait_http(f"{base}/healthz", 300, gateway, "gateway")
        asyncio.run(drive(base, warm, args.users))  # Rasa, the parse cache, first-use costs
        if args.mode == "instructions":
            sent = measure_instructions(gateway, base, measured)
        else:
            measure_cpu(gateway, base, measured, args)
    finally:
        if gateway.poll() is None:
            os.killpg(gateway.pid, signal.SIGINT)
            try:
                gateway.wait(120)
            except subprocess.TimeoutExpired:
                stop(gateway)
        stop(rasa)
        asyncio.run(cleanup())
    if args.mode == "instructions":
        count = counted_instructions(callgrind_out)
        for leftover in glob.glob(callgrind_out + "*"):
            if args.keep:  # for callgrind_annotate: which C functions (and extensions) cost
                shutil.move(leftover, args.keep + leftover.removeprefix(callgrind_out))
            else:
                os.unlink(leftover)
        if not count or not sent:
            sys.exit("profile: callgrind counted nothing")
        print(f"profile: {sent} {'questions' if args.questions else 'messages of the mix'}, one "
              f"at a time: {count / sent / 1e6:.2f} million instructions per message in the "
              "gateway (callgrind)")
    if args.mode == "pyinstrument":
        print_profile(REPORT)


async def cleanup() -> None:
    redis = Redis.from_url(REDIS_URL)
    async for key in redis.scan_iter(match=f"{PREFIX}:*", count=1000):
        await redis.delete(key)
    await redis.aclose()


if __name__ == "__main__":
    main()
