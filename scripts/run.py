"""`make run`: Rasa, the gateway and the worker in the foreground until Ctrl-C.

Honours the LOTSEN_* variables (LOTSEN_PORT, LOTSEN_REDIS_URL, LOTSEN_KEY_PREFIX, ...). Without
LOTSEN_RASA_URL it starts its own Rasa servers: LOTSEN_NLU_REPLICAS of them (default 1) on ports
5005, 5006, ... (from LOTSEN_NLU_PORT) with one fresh token, and gives the gateway their list.

A child that exits unexpectedly is restarted with backoff while the others keep running
(scripts/supervisor.py); a restarted Rasa comes back on the same port with the same token, so
the gateway (which answers with its numbered menu meanwhile) recovers by itself.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.stack import answers, model_path, rasa_status_url, start_python, start_rasa
from scripts.supervisor import Supervisor, announce

GATEWAY_START_SECONDS = 30
RASA_START_SECONDS = 120


def add_rasa(supervisor: Supervisor, env: dict[str, str], replicas: int) -> dict[str, str]:
    """`replicas` Rasa servers as supervised children; returns their status URLs by name.
    Ports, token and model are chosen once, so a restarted Rasa is the same server to the
    gateway (which meanwhile sends its parses to the others)."""
    token = os.environ.get("LOTSEN_RASA_TOKEN") or secrets.token_urlsafe(16)
    first_port = int(os.environ.get("LOTSEN_NLU_PORT", "5005"))
    ports = [first_port + i for i in range(replicas)]
    model = model_path()
    env.update(LOTSEN_RASA_URL=",".join(f"http://127.0.0.1:{port}" for port in ports),
               LOTSEN_RASA_TOKEN=token)
    names = {port: "rasa" if replicas == 1 else f"rasa-{i + 1}" for i, port in enumerate(ports)}
    announce(f"starting {replicas} Rasa NLU server{'s' if replicas > 1 else ''} on 127.0.0.1:"
             f"{', '.join(map(str, ports))} (about 20 s)...")
    for port in ports:
        supervisor.add(names[port], lambda port=port: start_rasa(port, token, model))
    return {names[port]: rasa_status_url(port, token) for port in ports}


def replica_count() -> int:
    raw = os.environ.get("LOTSEN_NLU_REPLICAS", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise RuntimeError(f"LOTSEN_NLU_REPLICAS must be a whole number >= 1, got {raw!r}")
    return int(raw)


def wait_ready(supervisor: Supervisor, checks: dict[str, tuple[str, float]],
               stopping: Callable[[], bool]) -> bool:
    """Wait until every check's URL answers within its time limit; False if asked to stop
    meanwhile. A child exiting now is a start-up failure, not something to restart."""
    started, pending = time.monotonic(), dict(checks)
    while pending:
        if stopping():
            return False
        supervisor.check_started()
        for name, (url, limit) in list(pending.items()):
            if answers(url):
                del pending[name]
            elif time.monotonic() - started > limit:
                # Without the query string: Rasa's token stays out of the terminal.
                raise TimeoutError(f"{name} did not answer {url.split('?')[0]} "
                                   f"within {limit:.0f} s")
        time.sleep(0.3)
    return True


def main() -> None:
    env: dict[str, str] = {}
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    port = int(os.environ.get("LOTSEN_PORT", "8080"))
    supervisor = Supervisor()
    checks = {"gateway": (f"http://127.0.0.1:{port}/healthz", GATEWAY_START_SECONDS)}
    try:
        if not os.environ.get("LOTSEN_RASA_URL"):
            for name, url in add_rasa(supervisor, env, replica_count()).items():
                checks[name] = (url, RASA_START_SECONDS)
        announce(f"starting gateway on http://127.0.0.1:{port}/ and the worker")
        supervisor.add("gateway", lambda: start_python(["bot", "serve"], env))
        supervisor.add("worker", lambda: start_python(["bot", "worker"], env))
        supervisor.start_all()
        if wait_ready(supervisor, checks, lambda: stopping):
            announce(f"ready. Open http://127.0.0.1:{port}/ (Ctrl-C stops everything)")
            supervisor.run(lambda: stopping)
    except (RuntimeError, TimeoutError) as exc:
        print(f"run: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        supervisor.stop_all()
        announce("stopped")


if __name__ == "__main__":
    main()
