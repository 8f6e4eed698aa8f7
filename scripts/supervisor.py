"""Keeps `make run`'s children alive: a child that exits unexpectedly is started again after a
pause that doubles with each quick crash, and the others keep running meanwhile.

One crashing process must not take the whole local stack down (a `kill -9` of the worker used to
stop the gateway and Rasa too), and a child that crashes at once must not be restarted in a tight
loop either.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scripts.stack import stop

Starter = Callable[[], subprocess.Popen]


def announce(text: str) -> None:
    """One `run:` line on stdout: the only output `make run` adds to its children's logs."""
    print(f"run: {text}", flush=True)


@dataclass
class Backoff:
    """Pause before a restart: `first`, doubling up to `cap`; back to `first` once the child
    had run `stable` seconds (a crash after a long good run is not part of a crash loop)."""

    first: float = 1.0
    cap: float = 30.0
    stable: float = 60.0
    current: float = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.first

    def next_delay(self, ran_for: float) -> float:
        if ran_for >= self.stable:
            self.current = self.first
        delay = self.current
        self.current = min(self.current * 2, self.cap)
        return delay


@dataclass
class Child:
    """One supervised process and what the supervisor knows about it."""

    name: str
    start: Starter
    backoff: Backoff
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Supervisor:
    """Starts children, restarts the ones that exit (with backoff) and stops them all."""

    def __init__(self, say: Callable[[str], None] = announce,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.children: list[Child] = []
        self.say = say
        self.clock = clock

    def add(self, name: str, start: Starter, backoff: Backoff | None = None) -> Child:
        child = Child(name, start, backoff or Backoff())
        self.children.append(child)
        return child

    def start_all(self) -> None:
        for child in self.children:
            self._start(child, "started")

    def check_started(self) -> None:
        """While starting, an exit is a configuration or port problem that a restart would
        only repeat: raise instead (`make run` then stops with the reason)."""
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode} "
                                   "while starting")

    def tick(self) -> None:
        """Notice exits and start the children whose pause is over."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is None and child.process is not None:
                code = child.process.poll()
                if code is not None:
                    delay = child.backoff.next_delay(now - child.started_at)
                    child.restart_at = now + delay
                    self.say(f"{child.name} exited with code {code}; restarting in {delay:g} s")
            if child.restart_at is not None and now >= child.restart_at:
                self._start(child, "restarted")

    def run(self, stopping: Callable[[], bool], interval: float = 0.5) -> None:
        """Supervise until `stopping()` (set by the Ctrl-C / SIGTERM handler)."""
        while not stopping():
            self.tick()
            time.sleep(interval)

    def stop_all(self) -> None:
        """Stop the children in reverse start order (the worker first, Rasa last)."""
        for child in reversed(self.children):
            stop(child.process)
            child.restart_at = None

    def _start(self, child: Child, verb: str) -> None:
        child.restart_at = None
        child.started_at = self.clock()
        try:
            child.process = child.start()
        except OSError as exc:  # e.g. the venv was removed meanwhile: try again later
            delay = child.backoff.next_delay(0)
            child.process, child.restart_at = None, self.clock() + delay
            self.say(f"{child.name} could not be started ({exc}); retrying in {delay:g} s")
            return
        self.say(f"{child.name} {verb} (pid {child.process.pid})")
