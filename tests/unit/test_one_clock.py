"""One clock: nothing under bot/ or connectors/ reads the wall clock except bot/core/clock.py.

Everything else takes the injected clock, so every test can run on any date (test-calendar).
Durations (`time.monotonic`, `time.perf_counter`) are not the wall clock and are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {ROOT / "bot" / "core" / "clock.py"}
# (module, attribute) pairs that read the wall clock, however they are imported.
WALL_CLOCK = {("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime"),
              ("time", "ctime"), ("time", "strftime"), ("datetime", "now"),
              ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}
OWNERS = {"time", "datetime", "date"}


def wall_clock_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each call that reads the wall clock: `time.time()`,
    `datetime.now(...)`, `datetime.datetime.now()`, `date.today()`, and names imported from
    `time` (`from time import time`). `time.gmtime(x)`/`strftime(f, t)` with an explicit time
    only format it, so a call with the time argument given is allowed."""
    imported: dict[str, tuple[str, str]] = {}
    modules = {name: name for name in OWNERS}  # a local name -> the module or class it is
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update({alias.asname: alias.name for alias in node.names
                            if alias.asname and alias.name in OWNERS})
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if (node.module, alias.name) in WALL_CLOCK:
                    imported[alias.asname or alias.name] = (node.module, alias.name)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, pair = node.func, None
        if isinstance(func, ast.Attribute):
            owner = func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else \
                owner.id if isinstance(owner, ast.Name) else None
            if name in modules:
                pair = (modules[name], func.attr)
        elif isinstance(func, ast.Name) and func.id in imported:
            pair = imported[func.id]
        if pair is None or pair not in WALL_CLOCK:
            continue
        formats_given_time = (pair[1] in ("localtime", "gmtime", "ctime") and node.args) or \
            (pair[1] == "strftime" and len(node.args) >= 2)
        if not formats_given_time:
            found.append((node.lineno, ".".join(pair)))
    return found


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    offenders = []
    for folder in ("bot", "connectors"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in ALLOWED:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            offenders += [f"{path.relative_to(ROOT)}:{line} {what}()"
                          for line, what in wall_clock_reads(tree)]
    assert not offenders, ("read the injected clock (bot/core/clock.py) instead of the wall "
                           "clock:\n" + "\n".join(offenders))


def test_the_check_finds_each_way_of_reading_the_clock() -> None:
    source = """
import time, datetime as dt
import time as clock_module
from datetime import datetime, date
from time import time as now
a = time.time()
a2 = clock_module.time()
b = datetime.now(UTC)
c = dt.datetime.utcnow()
d = date.today()
e = now()
f = time.gmtime()
ok1 = time.monotonic()
ok2 = time.gmtime(12)
ok3 = datetime.fromtimestamp(0)
"""
    found = [what for _, what in wall_clock_reads(ast.parse(source))]
    assert found == ["time.time", "time.time", "datetime.now", "datetime.utcnow", "date.today",
                     "time.time", "time.gmtime"]
