"""`make bench`: NLU capacity and scale-out, in one run on this machine (about 5 minutes).

0. Warm-up: every Rasa server parses for a while before any figure counts (a cold TensorFlow
   graph parses at half speed: a cold baseline makes every ratio look better than it is).
1. Bare Rasa saturation: one replica's `/model/parse`, closed loop (its ceiling), measured at the
   start and again at the end; the two must agree within 10 % for the ratios to count.
2. Web chat saturation with 1 and with 2 Rasa replicas (parse cache off, so every reply needs a
   real parse): goodput = replies from a real parse per second.
3. Overload: an open-loop load of 3x the single-replica ceiling for 30 s on the 1-replica
   gateway; latency counted from each message's scheduled send time, so a queue cannot hide.
4. The parse cache's hit rate on a realistic mix (scripts/bench_mix.yml).

Every web chat run also reports the gateway's CPU per message (its process's CPU time in the run
over the messages it answered), the figure that decides how far two cores carry.

Messages are the held-out questions of nlu/eval/answers_dev_<lang>.yml, seven languages. The
Rasa servers are started once and shared by three gateways (one per configuration). The load
generator runs on the same 2 cores as everything else: compare the ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.runtime.wiring import load_content  # noqa: E402
from scripts.stack import free_port, start_python, start_rasa, stop, wait_http, wait_rasa  # noqa: E402

PREFIX = "lotsen-bench"
WEB_USERS = 24       # closed-loop web chat users: enough to keep two replicas' slots full
RASA_USERS = 4       # closed-loop clients of bare Rasa (it parses one message at a time)
BUDGET_P99 = 1.5     # seconds: the overload run's bar for p99
WARMUP_PARSES = 400  # per Rasa server, before anything is measured
BASELINE_AGREEMENT = 0.10  # the two bare-Rasa baselines may differ by this share at most
GATEWAY_CPU_MS = 1.0  # the bar for the gateway's CPU per web chat message


def questions() -> list[str]:
    """Held-out questions in every language, shuffled the same way every run."""
    texts = []
    for path in sorted((ROOT / "nlu" / "eval").glob("answers_dev_*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            texts += [re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line[2:].strip())
                      for line in block["examples"].splitlines() if line.startswith("- ")]
    random.Random(7).shuffle(texts)
    return texts


def mixed_messages(count: int, seed: int = 11) -> list[str]:
    """`count` messages drawn from scripts/bench_mix.yml: short ones by weight, else questions."""
    mix = yaml.safe_load((ROOT / "scripts" / "bench_mix.yml").read_text(encoding="utf-8"))
    rng, pool = random.Random(seed), questions()
    kinds = [(None, mix["questions"])] + [(k["texts"], k["weight"]) for k in mix["short"].values()]
    picked = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds], k=count)
    return [rng.choice(texts) if texts else pool[i % len(pool)] for i, texts in enumerate(picked)]


@dataclass
class Run:
    """What one load run saw. `kinds` counts replies: parsed (a real parse), nlu_busy,
    nlu_down, or http_<status>/error for failures."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)  # share of one core, by process group
    all_sent: int = 0      # messages sent in the whole run, warm-up included
    gateway_cpu_seconds: float = 0.0  # CPU time of the run's own gateway process in the run

    @property
    def gateway_ms_per_message(self) -> float:
        return 1000 * self.gateway_cpu_seconds / self.all_sent if self.all_sent else 0.0

    def quantile(self, q: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0

    @property
    def sent(self) -> int:
        return sum(self.kinds.values())

    @property
    def goodput(self) -> float:
        return self.kinds["parsed"] / self.seconds if self.seconds else 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for k, n in self.kinds.items() if re.fullmatch(r"http_5\d\d", k))

    def row(self) -> dict[str, object]:
        return {"run": self.name, "sent": self.sent, "seconds": round(self.seconds, 1),
                "goodput_per_s": round(self.goodput, 1), "kinds": dict(self.kinds),
                "p50_ms": round(self.quantile(0.50) * 1000), "p95_ms":
                round(self.quantile(0.95) * 1000), "p99_ms": round(self.quantile(0.99) * 1000),
                "cpu_cores": {k: round(v, 2) for k, v in self.cpu.items()},
                "gateway_cpu_ms_per_message": round(self.gateway_ms_per_message, 3)}


Send = Callable[[aiohttp.ClientSession, int, str], Awaitable[str]]


async def closed_loop(name: str, send: Send, texts: list[str], users: int,
                      seconds: float, warmup: float = 3.0) -> Run:
    """`users` clients, each sending its next message when the last was answered; the first
    `warmup` seconds are not counted."""
    run = Run(name)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        begin = time.monotonic()
        counted_from, deadline = begin + warmup, begin + warmup + seconds

        async def user(index: int) -> None:
            turn = index
            while time.monotonic() < deadline:
                started = time.monotonic()
                kind = await send(http, index, texts[turn % len(texts)])
                run.all_sent += 1
                turn += users
                if started >= counted_from:
                    run.kinds[kind] += 1
                    run.latencies.append(time.monotonic() - started)

        await asyncio.gather(*(user(i) for i in range(users)))
        run.seconds = seconds
    return run


async def open_loop(name: str, send: Send, texts: list[str], rate: float, seconds: float,
                    sessions: int) -> Run:
    """Messages at fixed times (`rate` per second) whatever the answers' speed: the latency of
    each is counted from when it was due, so a slow server shows as latency, not as less load."""
    run = Run(name, seconds=seconds)
    total = int(rate * seconds)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        start = time.monotonic() + 0.5

        async def one(i: int) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            kind = await send(http, i % sessions, texts[i % len(texts)])
            run.all_sent += 1
            run.kinds[kind] += 1
            run.latencies.append(time.monotonic() - due)

        await asyncio.gather(*(one(i) for i in range(total)))
    return run


class WebChat:
    """Sends through the web chat API and tells a real answer from the two topic menus."""

    def __init__(self, base: str, menus: dict[str, list[tuple[str, str]]]) -> None:
        self.base = base
        self.sessions: list[str] = []
        self.menus = menus  # language -> [(kind, the menu's first line)]

    async def open_sessions(self, count: int) -> None:
        async with aiohttp.ClientSession() as http:
            for _ in range(count):
                async with http.post(f"{self.base}/webchat/sessions", json={}) as resp:
                    self.sessions.append((await resp.json())["session"])

    async def send(self, http: aiohttp.ClientSession, user: int, text: str) -> str:
        session = self.sessions[user % len(self.sessions)]
        try:
            async with http.post(f"{self.base}/webchat/sessions/{session}/messages",
                                 json={"text": text},
                                 timeout=aiohttp.ClientTimeout(total=30)) as resp:
                if resp.status != 200:
                    await resp.read()
                    return f"http_{resp.status}"
                body = await resp.json()
        except (TimeoutError, aiohttp.ClientError):
            return "error"
        first = body["replies"][0]["text"] if body.get("replies") else ""
        for kind, line in self.menus.get(body.get("language", ""), []):
            if first.startswith(line):
                return kind
        return "parsed"


def rasa_sender(url: str, token: str) -> Send:
    async def send(http: aiohttp.ClientSession, user: int, text: str) -> str:
        try:
            async with http.post(f"{url}/model/parse", params={"token": token},
                                 json={"text": text}) as resp:
                await resp.read()
                return "parsed" if resp.status == 200 else f"http_{resp.status}"
        except (TimeoutError, aiohttp.ClientError):
            return "error"
    return send


async def cache_counts(base: str) -> Counter[str]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    found: Counter[str] = Counter()
    for result, value in re.findall(r'lotsen_nlu_cache_total\{result="(\w+)"\} ([\d.e+]+)', text):
        found[result] = int(float(value))
    return found


def menu_lines() -> dict[str, list[tuple[str, str]]]:
    static = load_content(Settings())
    return {code: [(kind, static.content.text(kind, code)) for kind in ("nlu_busy", "nlu_down")]
            for code in static.languages.enabled}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, rasa_ports: list[int], token: str, rasas: list[subprocess.Popen]) -> None:
        self.rasa_urls = [f"http://127.0.0.1:{port}" for port in rasa_ports]
        self.token = token
        self.rasas = rasas
        self.gateways: list[subprocess.Popen] = []

    def cpu(self) -> dict[str, float]:
        return {"rasa": sum(cpu_seconds(p.pid) for p in self.rasas),
                "gateway": sum(cpu_seconds(p.pid) for p in self.gateways),
                "load generator": sum(os.times()[:2])}

    async def timed(self, run: Awaitable[Run], gateway: subprocess.Popen | None = None) -> Run:
        """`run`, with the cores each group of processes used meanwhile (1.0 = one core) and
        the CPU time of the run's own gateway."""
        before, started = self.cpu(), time.monotonic()
        own = cpu_seconds(gateway.pid) if gateway else 0.0
        result = await run
        wall, after = time.monotonic() - started, self.cpu()
        result.cpu = {k: (after[k] - before[k]) / wall for k in after}
        if gateway is not None:
            result.gateway_cpu_seconds = cpu_seconds(gateway.pid) - own
        return result

    async def warm_up(self) -> None:
        """Every Rasa server parses `WARMUP_PARSES` held-out questions before anything counts."""
        texts = questions()
        async with aiohttp.ClientSession() as http:
            for url in self.rasa_urls:
                send = rasa_sender(url, self.token)
                for start in range(0, WARMUP_PARSES, RASA_USERS):
                    await asyncio.gather(*(send(http, i, texts[(start + i) % len(texts)])
                                           for i in range(RASA_USERS)))

    def gateway(self, replicas: int, cache: bool) -> str:
        port = free_port()
        env = {"LOTSEN_PORT": str(port), "LOTSEN_RASA_URL": ",".join(self.rasa_urls[:replicas]),
               "LOTSEN_RASA_TOKEN": self.token, "LOTSEN_KEY_PREFIX": PREFIX,
               "LOTSEN_NLU_CACHE": "true" if cache else "false", "LOTSEN_LOG_LEVEL": "ERROR",
               # One loopback address sends everything: exempt from the per-address and
               # per-conversation limits, as a city would exempt its own load tests.
               "LOTSEN_LIMIT_EXEMPT": "127.0.0.1,::1", "LOTSEN_RATE_LIMIT_PER_MINUTE": "1000000",
               "LOTSEN_LIMIT_MESSAGES_PER_MINUTE": "1000000"}
        process = start_python(["bot", "serve"], env)
        self.gateways.append(process)
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, process, "gateway")
        return f"http://127.0.0.1:{port}"


def say(text: str) -> None:
    print(f"bench: {text}", flush=True)


async def measure(bench: Bench, seconds: float, overload_seconds: float) -> dict[str, object]:
    texts, menus = questions(), menu_lines()
    runs: dict[str, Run] = {}
    say(f"0/6 warm-up: {WARMUP_PARSES} parses on each Rasa server...")
    await bench.warm_up()

    async def baseline(key: str, when: str) -> float:
        say(f"{when} bare Rasa, {RASA_USERS} clients, {seconds:.0f} s...")
        runs[key] = await bench.timed(closed_loop(
            f"bare Rasa (1 replica, {'first' if key == 'rasa' else 'again'})",
            rasa_sender(bench.rasa_urls[0], bench.token), texts, RASA_USERS, seconds))
        return runs[key].goodput

    first = await baseline("rasa", "1/6")
    say(f"1/6 bare Rasa, 2 replicas side by side, {2 * RASA_USERS} clients, {seconds:.0f} s...")
    both = [rasa_sender(url, bench.token) for url in bench.rasa_urls]

    async def either(http: aiohttp.ClientSession, user: int, text: str) -> str:
        return await both[user % 2](http, user, text)
    runs["rasa2"] = await bench.timed(closed_loop("bare Rasa (2 replicas)", either, texts,
                                                  2 * RASA_USERS, seconds))
    for step, replicas in ((2, 1), (3, 2)):
        chat = WebChat(bench.gateway(replicas, cache=False), menus)
        gateway = bench.gateways[-1]
        await chat.open_sessions(WEB_USERS)
        say(f"{step}/6 web chat with {replicas} replica{'s' * (replicas > 1)}, {WEB_USERS} users, "
            f"{seconds:.0f} s...")
        runs[f"web{replicas}"] = await bench.timed(closed_loop(
            f"web chat, {replicas} replica{'s' * (replicas > 1)}", chat.send, texts, WEB_USERS,
            seconds), gateway)
        if replicas == 1:
            single, single_gateway = chat, gateway
    rate = 3 * first
    await single.open_sessions(300 - len(single.sessions))
    say(f"4/6 overload: {rate:.0f} messages/s (3x bare Rasa) for {overload_seconds:.0f} s, "
        "open loop, 1 replica...")
    runs["overload"] = await bench.timed(open_loop(
        f"overload {rate:.0f}/s, 1 replica", single.send, texts, rate, overload_seconds,
        len(single.sessions)), single_gateway)
    cached = WebChat(bench.gateway(1, cache=True), menus)
    await cached.open_sessions(50)
    mix = mixed_messages(1200)
    say(f"5/6 parse cache: the mix of scripts/bench_mix.yml (seven languages), 8 users, "
        f"{seconds:.0f} s, 1 replica...")
    async with aiohttp.ClientSession() as http:  # the first parse starts the health checks,
        await cached.send(http, 0, "hej")          # which learn the model's name for the key
    await asyncio.sleep(1.5)
    before = await cache_counts(cached.base)
    runs["cache"] = await bench.timed(closed_loop("web chat, cache on, mix", cached.send, mix, 8,
                                                  seconds, warmup=0), bench.gateways[-1])
    after = await cache_counts(cached.base)
    lookups = {k: after[k] - before[k] for k in ("hit", "miss", "skip")}
    again = await baseline("rasa_again", "6/6")
    return {"runs": runs, "capacity": (first + again) / 2, "baselines": (first, again),
            "cache": lookups}


def report(result: dict[str, object], out: Path) -> bool:
    runs: dict[str, Run] = result["runs"]  # type: ignore[assignment]
    print(f"\n{'run':34}{'sent':>7}{'good/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
          f"{'gw ms/msg':>10}  cores used: rasa/gateway/load  replies")
    for run in runs.values():
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(run.kinds.items()))
        cores = "/".join(f"{run.cpu.get(k, 0):.2f}" for k in ("rasa", "gateway", "load generator"))
        print(f"{run.name:34}{run.sent:>7}{run.goodput:>8.1f}{run.quantile(.5) * 1000:>8.0f}"
              f"{run.quantile(.95) * 1000:>8.0f}{run.quantile(.99) * 1000:>8.0f}"
              f"{run.gateway_ms_per_message or float('nan'):>10.2f}  {cores:>26}"
              f"  {kinds}")
    capacity = float(result["capacity"])  # type: ignore[arg-type]
    first, again = result["baselines"]  # type: ignore[misc]
    spread = abs(first - again) / max(first, again, 1e-9)
    over, cache = runs["overload"], result["cache"]
    hits, misses, skips = (cache[k] for k in ("hit", "miss", "skip"))  # type: ignore[index]
    hit_rate = hits / (hits + misses) if hits + misses else 0.0
    ratio1 = runs["web1"].goodput / capacity if capacity else 0.0
    ratio_bare = runs["rasa2"].goodput / capacity if capacity else 0.0
    ratio2 = runs["web2"].goodput / capacity if capacity else 0.0
    answered = over.kinds["parsed"] + over.kinds["nlu_busy"] + over.kinds["nlu_down"]
    web1, mixed = runs["web1"].gateway_ms_per_message, runs["cache"].gateway_ms_per_message
    checks = [
        (f"bare Rasa baseline measured twice: {first:.1f} and {again:.1f} parses/s "
         f"({spread:.1%} apart)", spread <= BASELINE_AGREEMENT,
         f"<= {BASELINE_AGREEMENT:.0%}"),
        (f"gateway CPU per web chat message, cache off: {web1:.2f} ms", web1 <= GATEWAY_CPU_MS,
         f"<= {GATEWAY_CPU_MS} ms"),
        (f"gateway CPU per web chat message, the seven-language mix: {mixed:.2f} ms",
         mixed <= GATEWAY_CPU_MS, f"<= {GATEWAY_CPU_MS} ms"),
        (f"web chat goodput, 2 replicas / bare Rasa = {ratio2:.2f} (1 replica: {ratio1:.2f})",
         ratio2 >= 1.5, ">= 1.5"),
        (f"overload: 5xx {over.server_errors}", over.server_errors == 0, "0"),
        (f"overload: p99 {over.quantile(.99):.2f} s", over.quantile(.99) <= BUDGET_P99,
         f"<= {BUDGET_P99} s"),
        (f"overload: answered {answered}/{over.sent}", answered == over.sent, "all"),
        (f"overload: nlu_down replies {over.kinds['nlu_down']}", over.kinds["nlu_down"] == 0,
         "0 while Rasa is up"),
    ]
    print(f"\nbare Rasa saturation: {capacity:.1f} parses/s (two replicas alone: "
          f"{ratio_bare:.2f}x); overload offered "
          f"{3 * capacity:.0f}/s: nlu_busy share {over.kinds['nlu_busy'] / max(over.sent, 1):.1%}")
    print(f"parse cache on the mix: hit rate {hit_rate:.1%} of lookups ({hits} hits, {misses} "
          f"misses); {skips} messages not cacheable (personal data, long, or numbers of a menu "
          "are read without NLU and not counted)")
    for text, ok, bar in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}  (bar: {bar})")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"capacity_per_s": capacity, "cache": cache, "hit_rate": hit_rate,
                               "runs": [r.row() for r in runs.values()],
                               "checks": [{"check": t, "pass": ok} for t, ok, _ in checks]},
                              indent=2, ensure_ascii=False))
    print(f"bench: wrote {out.relative_to(ROOT)}")
    return all(ok for _, ok, _ in checks)


async def cleanup() -> None:
    """Delete the bench's own keys so repeated runs leave nothing behind in Redis."""
    from redis.asyncio import Redis

    redis = Redis.from_url(Settings.from_env().redis_url)
    async for key in redis.scan_iter(match=f"{PREFIX}:*", count=1000):
        await redis.delete(key)
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="each saturation run")
    parser.add_argument("--overload-seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench.json")
    args = parser.parse_args()
    token = secrets.token_urlsafe(16)
    ports = [free_port(), free_port()]
    say("starting two Rasa servers (about 30 s)...")
    rasas = [start_rasa(port, token) for port in ports]
    bench = Bench(ports, token, rasas)
    try:
        for port, process in zip(ports, rasas, strict=True):
            wait_rasa(port, token, process)
        result = asyncio.run(measure(bench, args.seconds, args.overload_seconds))
    finally:
        for process in [*bench.gateways, *rasas]:
            stop(process)
        asyncio.run(cleanup())
    sys.exit(0 if report(result, args.out) else 1)


if __name__ == "__main__":
    main()
