"""Run a process at another time with Debian's libfaketime, preloaded directly.

Not through the `faketime` wrapper: the wrapper keeps a POSIX semaphore and a shared-memory
segment named after its own process id in /dev/shm and removes them only when it exits itself.
A `kill -9` (the crash tests do that to the worker) leaves them behind, and a later wrapper that
happens to get the same process id fails with "sem_open: File exists". The library alone keeps
nothing: each process reads FAKETIME from its environment.
"""

from __future__ import annotations

import glob
from pathlib import Path

LIBRARY_PATTERN = "/usr/lib/*/faketime/libfaketime.so.1"


def library() -> Path | None:
    """Where Debian's `faketime` package put the library, or None when it is not installed."""
    found = sorted(glob.glob(LIBRARY_PATTERN))
    return Path(found[0]) if found else None


def environment(offset_seconds: int) -> dict[str, str]:
    """The variables that move a process's wall clock `offset_seconds` ahead; the monotonic clock
    stays real, so timeouts and pacing are not affected."""
    path = library()
    if path is None:
        raise SystemExit("libfaketime not found (make faketime installs Debian's faketime)")
    return {"LD_PRELOAD": str(path), "FAKETIME": f"+{offset_seconds}",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
