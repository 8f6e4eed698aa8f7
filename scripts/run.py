"""`make run`: Rasa, the gateway and the worker in the foreground until Ctrl-C.

Honours the LOTSEN_* variables (LOTSEN_PORT, LOTSEN_REDIS_URL, LOTSEN_KEY_PREFIX, ...). Without
LOTSEN_RASA_URL it starts its own Rasa server on port 5005 (LOTSEN_NLU_PORT) with a fresh token.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.stack import start_python, start_rasa, stop, wait_http, wait_rasa


def main() -> None:
    env: dict[str, str] = {}
    processes = []
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    port = int(os.environ.get("LOTSEN_PORT", "8080"))
    try:
        if not os.environ.get("LOTSEN_RASA_URL"):
            token = os.environ.get("LOTSEN_RASA_TOKEN") or secrets.token_urlsafe(16)
            rasa_port = int(os.environ.get("LOTSEN_NLU_PORT", "5005"))
            env.update(LOTSEN_RASA_URL=f"http://127.0.0.1:{rasa_port}", LOTSEN_RASA_TOKEN=token)
            print(f"run: starting Rasa NLU on 127.0.0.1:{rasa_port} (about 20 s)...", flush=True)
            rasa = start_rasa(rasa_port, token)
            processes.append(("rasa", rasa))
        print(f"run: starting gateway on http://127.0.0.1:{port}/ and the worker", flush=True)
        gateway = start_python(["bot", "serve"], env)
        processes.append(("gateway", gateway))
        processes.append(("worker", start_python(["bot", "worker"], env)))
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, gateway, "gateway")
        if "LOTSEN_RASA_TOKEN" in env:
            rasa_port = urlparse(env["LOTSEN_RASA_URL"]).port or 5005
            wait_rasa(rasa_port, env["LOTSEN_RASA_TOKEN"], processes[0][1])
        print(f"run: ready. Open http://127.0.0.1:{port}/ (Ctrl-C stops everything)", flush=True)
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    print(f"run: {name} exited with code {process.returncode}; stopping",
                          flush=True)
                    stopping = True
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as exc:
        print(f"run: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        for _, process in reversed(processes):
            stop(process)
        print("run: stopped", flush=True)


if __name__ == "__main__":
    main()
