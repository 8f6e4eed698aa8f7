"""`make chat`: the terminal channel (`python -m bot chat`) with a real Rasa behind it.

With LOTSEN_RASA_URL set (e.g. the Rasa of a running `make run`, with LOTSEN_RASA_TOKEN), it
talks to that; otherwise it starts its own Rasa on a free port first (about 20 s).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.stack import PYTHON, ROOT, free_port, start_rasa, stop, wait_rasa


def main() -> int:
    env = dict(os.environ)
    rasa = None
    try:
        if not env.get("LOTSEN_RASA_URL"):
            port, token = free_port(), secrets.token_urlsafe(16)
            print(f"chat: starting Rasa NLU on 127.0.0.1:{port} (about 20 s)...", flush=True)
            rasa = start_rasa(port, token)
            wait_rasa(port, token, rasa)
            env.update(LOTSEN_RASA_URL=f"http://127.0.0.1:{port}", LOTSEN_RASA_TOKEN=token)
        return subprocess.call([str(PYTHON), "-m", "bot", "chat", *sys.argv[1:]], env=env,
                               cwd=ROOT)
    except KeyboardInterrupt:
        return 130
    finally:
        stop(rasa)


if __name__ == "__main__":
    sys.exit(main())
