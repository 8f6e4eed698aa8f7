"""What `make run` starts (scripts/run.py): Rasa, gateway and worker answer over real HTTP,
in Swedish to Swedish and in English to English, a killed child comes back while the others
keep running, and Ctrl-C / SIGTERM stops everything."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bot.config import ROOT
from scripts.stack import free_port
from tests.waiting import until_sync

READY_SECONDS = 300  # Rasa alone takes 20 s on an idle machine, much longer beside a CI run
CHILD_LINE = re.compile(r"run: ([\w-]+) (?:started|restarted) \(pid (\d+)\)")


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def say_hej(base: str) -> dict:
    """One web chat exchange, as the widget makes it."""
    session = post(f"{base}/webchat/sessions", {})["session"]
    return post(f"{base}/webchat/sessions/{session}/messages", {"text": "hej"})


def command_line(pid: int) -> list[str]:
    """The live process' arguments; empty once it is gone (or only a zombie is left)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        if re.search(r"^State:\s+Z", status, re.MULTILINE):
            return []
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


class RunPy:
    """scripts/run.py in its own session. A thread keeps reading its output (the children
    write to the same pipe, and a full pipe would block them) and keeps every line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    @property
    def output(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float, after: int = 0) -> re.Match[str]:
        """The first line from index `after` on matching `pattern`."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines[after:]:
                    if match := re.search(pattern, line):
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r}:\n{''.join(self.lines)}")
                self.changed.wait(min(left, 1))

    def mark(self) -> int:
        with self.changed:
            return len(self.lines)

    def since(self, mark: int) -> str:
        with self.changed:
            return "".join(self.lines[mark:])

    def pids(self) -> dict[str, int]:
        """Each child's current pid, from the `run: <child> started/restarted (pid N)` lines."""
        with self.changed:
            return {m[1]: int(m[2]) for line in self.lines if (m := CHILD_LINE.search(line))}

    def stop(self, signum: int) -> int:
        os.killpg(self.process.pid, signum)
        self.process.wait(90)
        self.reader.join(30)
        return self.process.returncode

    def kill_everything(self) -> None:
        """After a failed test: nothing may outlive it (children have their own sessions)."""
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop(signal.SIGTERM)
        for pid in self.pids().values():
            if command_line(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def make_run(prefix: str, **extra: str) -> Iterator[tuple[RunPy, str]]:
    """scripts/run.py on free ports with its own Rasa, until it says it is ready."""
    port, nlu_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTSEN_")}
    env.update(LOTSEN_PORT=str(port), LOTSEN_NLU_PORT=str(nlu_port), LOTSEN_KEY_PREFIX=prefix,
               **extra)
    run = RunPy(env)
    try:
        run.wait_for("run: ready", READY_SECONDS)
        yield run, f"http://127.0.0.1:{port}"
    finally:
        run.kill_everything()


def test_run_starts_everything_and_answers_in_the_users_language(prefix, redis) -> None:
    with make_run(prefix) as (run, base):
        session = post(f"{base}/webchat/sessions", {})["session"]
        sv = post(f"{base}/webchat/sessions/{session}/messages",
                  {"text": "vad erbjuder jobbtorg för stöd"})
        assert sv["language"] == "sv" and "praktik" in sv["replies"][0]["text"]
        en = post(f"{base}/webchat/sessions/{session}/messages",
                  {"text": "what does jobbtorg offer people looking for work"})
        assert en["language"] == "en" and "work placement" in en["replies"][0]["text"]
        code = run.stop(signal.SIGINT)
    assert code == 0
    assert "run: stopped" in run.output


def test_run_restarts_a_killed_child_and_keeps_the_others_running(prefix, redis) -> None:
    with make_run(prefix) as (run, base):
        first = run.pids()
        assert "bot" in command_line(first["worker"]) and "worker" in command_line(first["worker"])
        assert "serve" in command_line(first["gateway"])

        mark = run.mark()
        os.kill(first["worker"], signal.SIGKILL)
        run.wait_for(r"run: worker exited with code -9; restarting in 1 s", 30, mark)
        assert healthy(base) and say_hej(base)["replies"], "the gateway went down with the worker"
        run.wait_for(r"run: worker restarted \(pid \d+\)", 60, mark)
        worker = run.pids()["worker"]
        assert worker != first["worker"]
        # Logged right after the fork: give exec a moment (an exec'ing process has no cmdline).
        until_sync(lambda: "worker" in command_line(worker), timeout=10,
                   what="the new worker's exec")

        mark = run.mark()
        os.kill(first["gateway"], signal.SIGKILL)
        run.wait_for(r"run: gateway exited with code -9; restarting in 1 s", 30, mark)
        run.wait_for(r"run: gateway restarted \(pid \d+\)", 60, mark)
        until_sync(lambda: healthy(base), timeout=90, interval=0.2,
                   what="the restarted gateway's /healthz")
        assert say_hej(base)["replies"]
        gateway = run.pids()["gateway"]
        assert gateway != first["gateway"] and "serve" in command_line(gateway)  # it answered

        assert run.pids()["rasa"] == first["rasa"] and command_line(first["rasa"])
        assert "run: rasa exited" not in run.output
        assert "run: worker exited" not in run.since(mark)
        code = run.stop(signal.SIGTERM)
    assert code == 0, run.output
    assert "run: stopped" in run.output
    for pid in (first["rasa"], gateway, worker):
        assert not command_line(pid), f"pid {pid} outlived scripts/run.py"


def test_two_rasa_replicas_and_one_killed_keeps_free_text_answered(prefix, redis) -> None:
    with make_run(prefix, LOTSEN_NLU_REPLICAS="2") as (run, base):
        first = run.pids()
        assert {"rasa-1", "rasa-2", "gateway", "worker"} <= set(first)
        os.kill(first["rasa-1"], signal.SIGKILL)
        session = post(f"{base}/webchat/sessions", {})["session"]
        for _ in range(4):  # every parse is answered by rasa-2 while rasa-1 is away
            sv = post(f"{base}/webchat/sessions/{session}/messages",
                      {"text": "vad erbjuder jobbtorg för stöd"})
            assert "praktik" in sv["replies"][0]["text"], sv
        run.wait_for(r"run: rasa-1 restarted \(pid \d+\)", 60)
        assert run.pids()["rasa-2"] == first["rasa-2"]
        assert run.stop(signal.SIGTERM) == 0, run.output
