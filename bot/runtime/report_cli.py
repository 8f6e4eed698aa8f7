"""`python -m bot.admin report --month YYYY-MM --out DIR`: the committee's monthly report.

Writes `DIR/lotsen-YYYY-MM.html` and `DIR/lotsen-YYYY-MM.pdf` (bot/core/stats/report.py; DIR
is made if missing), prints their paths and the key figures as the report shows them (small
counts as "<5"), and says what it is doing on standard error. Only Redis is needed, not the
rest of the services.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.config import Settings
from bot.core.keys import Keys
from bot.core.redis_types import StrRedis
from bot.core.stats.query import StatsQuery
from bot.core.stats.report import ReportError, key_figures, month_range, write_report


def month(value: str) -> str:
    """--month as YYYY-MM, or argparse's usage error naming what is wrong."""
    try:
        return f"{month_range(value)[0]:%Y-%m}"
    except ReportError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--month ")) from None


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `report` command, on the admin CLI's subparsers."""
    report = commands.add_parser("report", help="the committee's monthly report (HTML and PDF)")
    report.add_argument("--month", required=True, type=month, metavar="YYYY-MM",
                        help="the month, YYYY-MM (Stockholm days from the first to the last)")
    report.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="the directory to write lotsen-YYYY-MM.html and .pdf to "
                             "(made if missing)")


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def writable(out: Path) -> None:
    """Make DIR, or exit saying why it cannot be written to (before any work is done)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        sys.exit(f"error: cannot create the directory {out}: {exc.strerror or exc}")
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        sys.exit(f"error: cannot write to the directory {out}")


async def run(settings: Settings, redis: StrRedis, args: argparse.Namespace) -> None:
    first, last = month_range(args.month)
    out: Path = args.out
    writable(out)
    progress(f"reading the statistics of {first} to {last} from Redis")
    stats = await StatsQuery(redis=redis, keys=Keys(settings.key_prefix)).load(first, last)
    progress("drawing the charts and writing the HTML and the PDF")
    try:
        html, pdf = write_report(stats, args.month, out)
    except ReportError as exc:
        sys.exit(f"error: {exc}")
    print(html)
    print(pdf)
    for name, value, _ in key_figures(stats):
        print(f"{name}: {value}")
