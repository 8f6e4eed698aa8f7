"""The tests wait on conditions, not on time (tests/waiting.py): no test sleeps a fixed time
over half a second. A fixed sleep is too long on a fast machine and too short on a loaded one;
this guard reads every file under tests/ and names each one it finds. Also: `until` itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.waiting import until, until_sync

TESTS = Path(__file__).resolve().parent.parent
LONGEST = 0.5  # seconds: a fixed sleep this long is allowed, a longer one is not
SLEEPS = {("asyncio", "sleep"), ("time", "sleep")}


def _number(node: ast.expr, names: dict[str, float]) -> float | None:
    """The value of a numeric constant, a module-level name bound to one, or simple arithmetic
    on those; None for anything computed at run time."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand, names)
        return None if value is None else -value
    if isinstance(node, ast.BinOp):
        left, right = _number(node.left, names), _number(node.right, names)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div) and right:
            return left / right
    return None


def _sleep_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """How the file refers to the sleeps: module aliases (`import time as t`) and names
    imported directly (`from asyncio import sleep`)."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names
                        if alias.name in ("asyncio", "time")}
        elif isinstance(node, ast.ImportFrom) and node.module in ("asyncio", "time"):
            functions |= {alias.asname or alias.name for alias in node.names
                          if alias.name == "sleep"}
    return modules, functions


def long_sleeps(source: str, filename: str) -> list[str]:
    """`file:line: sleep(seconds)` for each fixed sleep over LONGEST seconds in `source`."""
    tree = ast.parse(source, filename)
    names: dict[str, float] = {}
    for statement in tree.body:  # module-level constants, e.g. `DELAY = 3`
        targets = (statement.targets if isinstance(statement, ast.Assign) else
                   [statement.target] if isinstance(statement, ast.AnnAssign)
                   and statement.value is not None else [])
        value = getattr(statement, "value", None)
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and value is not None:
            number = _number(value, names)
            if number is not None:
                names[targets[0].id] = number
    modules, functions = _sleep_names(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        is_sleep = ((isinstance(func, ast.Attribute) and func.attr == "sleep"
                     and isinstance(func.value, ast.Name) and func.value.id in modules)
                    or (isinstance(func, ast.Name) and func.id in functions))
        argument = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in ("delay", "seconds", "secs")), None)
        seconds = _number(argument, names) if is_sleep and argument is not None else None
        if seconds is not None and seconds > LONGEST:
            found.append((node.lineno, f"{filename}:{node.lineno}: sleep({seconds:g})"))
    return [text for _, text in sorted(found)]


def test_no_test_sleeps_a_fixed_time_over_half_a_second() -> None:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        found += long_sleeps(path.read_text(encoding="utf-8"),
                             str(path.relative_to(TESTS.parent)))
    assert found == [], ("wait for the condition instead (tests/waiting.py `until`):\n"
                         + "\n".join(found))


def test_the_guard_sees_every_spelling_of_a_long_sleep() -> None:
    source = "\n".join([
        "import asyncio", "import time as clock", "from asyncio import sleep as nap",
        "DELAY = 2", "async def f(x):",
        "    await asyncio.sleep(1)",          # 6
        "    clock.sleep(0.75)",               # 7
        "    await nap(DELAY)",                # 8
        "    await asyncio.sleep(delay=3)",    # 9
        "    await asyncio.sleep(DELAY * 2)",  # 10
        "    await asyncio.sleep(0.5)",        # allowed
        "    await asyncio.sleep(1 / 10)",     # allowed
        "    await asyncio.sleep(x)",          # computed: not a fixed time
        "    other.sleep(5)",                  # not a sleep this guard knows
    ])
    assert long_sleeps(source, "t.py") == [
        "t.py:6: sleep(1)", "t.py:7: sleep(0.75)", "t.py:8: sleep(2)", "t.py:9: sleep(3)",
        "t.py:10: sleep(4)"]


async def test_until_returns_the_first_truthy_value_of_a_sync_or_async_check() -> None:
    calls: list[int] = []

    def grows() -> list[int]:
        calls.append(1)
        return calls if len(calls) >= 3 else []

    async def ready() -> str:
        return "ready"

    assert await until(grows, interval=0.001) == [1, 1, 1]
    assert await until(ready) == "ready"
    assert until_sync(lambda: 7) == 7


async def test_until_fails_naming_what_it_waited_for_and_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"waited 0.05 s for the reply; last value: \[\]"):
        await until(lambda: [], timeout=0.05, interval=0.01, what="the reply")
    with pytest.raises(AssertionError, match="for the page; last value: 0"):
        until_sync(lambda: 0, timeout=0.05, interval=0.01, what="the page")
