"""What `make run` starts (scripts/run.py): Rasa, gateway and worker answer over real HTTP,
in Swedish to Swedish and in English to English, and Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from bot.config import ROOT
from scripts.stack import free_port


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def test_run_starts_everything_and_answers_in_the_users_language(prefix, redis) -> None:
    port, nlu_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTSEN_")}
    env.update(LOTSEN_PORT=str(port), LOTSEN_NLU_PORT=str(nlu_port), LOTSEN_KEY_PREFIX=prefix)
    process = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if not line and process.poll() is not None:
                break
            output.append(line)
            if "run: ready" in line:
                break
        assert any("run: ready" in line for line in output), "".join(output)
        base = f"http://127.0.0.1:{port}"
        session = post(f"{base}/webchat/sessions", {})["session"]
        sv = post(f"{base}/webchat/sessions/{session}/messages",
                  {"text": "vad erbjuder jobbtorg för stöd"})
        assert sv["language"] == "sv" and "praktik" in sv["replies"][0]["text"]
        en = post(f"{base}/webchat/sessions/{session}/messages",
                  {"text": "what does jobbtorg offer people looking for work"})
        assert en["language"] == "en" and "work placement" in en["replies"][0]["text"]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "run: stopped" in rest
