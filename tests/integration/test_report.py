"""`python -m bot.admin report --month YYYY-MM --out DIR`: a month of counters in real Redis
becomes an HTML page and a PDF with the month's key figures, small counts as "<5" (the PDF's
text read back with pdftotext), and a bad month or directory is refused with a clear message."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

from redis.asyncio import Redis

from bot.config import ROOT
from bot.core.hashing import KeyedHash
from bot.core.keys import Keys
from bot.core.redis_types import StrRedis
from bot.core.stats.counters import Cell, satisfaction
from bot.core.stats.recorder import StatsRecorder
from tests.clock import STOCKHOLM, FixedClock
from tests.conftest import REDIS_URL

CLOCK = FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=STOCKHOLM))
WEB, TELEGRAM, SMS = Cell("web", "sv", "info_sfi"), Cell("telegram", "ar", "info_komvux"), \
    Cell("sms", "so", "dropin")
# Per cell, split over two days of the month: counts, some under 5 on purpose.
SEEDED: dict[str, dict[Cell, int]] = {
    "conversations": {WEB: 40, TELEGRAM: 12, SMS: 3},
    "messages": {WEB: 120, TELEGRAM: 30, SMS: 4},
    "answered": {WEB: 100, TELEGRAM: 20, SMS: 2},
    "conversations_answered": {WEB: 35, TELEGRAM: 10, SMS: 2},
    "not_understood": {WEB: 8, TELEGRAM: 6, SMS: 1},
    "handovers_requested": {WEB: 7, TELEGRAM: 3},
    "handovers_consented": {WEB: 6, TELEGRAM: 2},
    "bookings_made": {WEB: 7},
    "attended": {WEB: 3},
    "no_show": {WEB: 1},
    satisfaction(5): {WEB: 6},
    satisfaction(4): {TELEGRAM: 3},
    satisfaction(2): {SMS: 1},
}
CLAIM_SECONDS = (60, 120, 180, 240, 300, 600)  # median 210 s


def last_month(clock: FixedClock) -> date:
    """The first day of the month before the clock's (the month a report is made for)."""
    return (clock.day().replace(day=1) - timedelta(days=1)).replace(day=1)


async def seed(client: Redis, prefix: str, first: date) -> None:
    keys, redis = Keys(prefix), cast(StrRedis, client)  # the fixture decodes responses
    recorder = StatsRecorder(redis=redis, keys=keys, clock=CLOCK,
                             hasher=KeyedHash(redis=redis, keys=keys, secret="test"))
    days = (first + timedelta(days=2), first + timedelta(days=16))
    for counter, cells in SEEDED.items():
        for cell, n in cells.items():
            await recorder.add(counter, cell, n - n // 2, day=days[0])
            if n // 2:
                await recorder.add(counter, cell, n // 2, day=days[1])
    for seconds in CLAIM_SECONDS:
        await recorder.claimed(WEB, seconds, within_sla=True, day=days[1])
    # Outside the month: never in its report.
    await recorder.add("conversations", WEB, 1000, day=first - timedelta(days=1))


def admin(prefix: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOTSEN_REDIS_URL": REDIS_URL, "LOTSEN_KEY_PREFIX": prefix}
    return subprocess.run([sys.executable, "-m", "bot.admin", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def row(html: str, name: str) -> list[str]:
    """The cells of the first table row headed `name`."""
    match = re.search(rf'<tr><th scope="row">{re.escape(name)}</th>(.*?)</tr>', html)
    assert match, f"a row {name!r}"
    return re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))


def pdf_text(path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: `make pdf` (Debian poppler-utils) installs it"
    done = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True)
    return done.stdout.replace("\u00a0", " ")


async def test_a_month_becomes_html_and_pdf_with_its_figures_and_small_counts_hidden(
        redis: Redis, prefix: str, tmp_path: Path) -> None:
    first = last_month(CLOCK)
    month = f"{first:%Y-%m}"
    await seed(redis, prefix, first)
    out = tmp_path / "rapporter" / "nya"  # made by the command
    done = admin(prefix, "report", "--month", month, "--out", str(out))
    assert done.returncode == 0, done.stderr
    html_path, pdf_path = out / f"lotsen-{month}.html", out / f"lotsen-{month}.pdf"
    assert done.stdout.splitlines()[:2] == [str(html_path), str(pdf_path)]
    assert "Samtal: 55" in done.stdout and "Närvaro på drop-in: –" in done.stdout
    assert "reading the statistics" in done.stderr
    assert pdf_path.read_bytes().startswith(b"%PDF-")

    html = html_path.read_text(encoding="utf-8")
    assert '<html lang="sv">' in html
    assert "Lotsen – månadsrapport februari 2026" in html
    assert row(html, "Samtal")[0] == "55"  # 1000 the day before the month are not counted
    assert row(html, "Personer som fått hjälp")[0] == "53"  # 47 answered + 6 claimed
    assert row(html, "Andel besvarade av Lotsen")[0] == "79\u00a0%"  # 122 of 154
    assert row(html, "Andel överlämnade till en coach")[0] == "15\u00a0%"  # 8 of 55
    assert row(html, "Mediantid tills en coach tog ärendet")[0] == "3\u00a0min 30\u00a0s"
    assert row(html, "Närvaro på drop-in")[0].startswith("–")  # 3 of 4: too few
    assert "för få för att visa" in row(html, "Närvaro på drop-in")[0]
    assert row(html, "Nöjdhet, medelvärde")[0] == "4,4 av 5"  # (6·5 + 3·4 + 2) / 10
    assert row(html, "Nöjdhet, fördelning")[0] == (
        "1: &lt;5, 2: &lt;5, 3: &lt;5, 4: &lt;5, 5: 6")
    # Totals per channel and language: SMS and Somali are all under 5.
    assert row(html, "web")[:3] == ["40", "120", "100"]
    assert row(html, "sms") == ["&lt;5"] * 6
    assert row(html, "so")[:2] == ["&lt;5", "&lt;5"]
    # Every chart inline with its table; the Somali share rests on 4 messages.
    assert html.count('<svg ') == 6 and html.count('role="img"') == 6
    assert html.count("<caption>Siffrorna i diagrammet") == 6
    assert re.search(r'<th scope="row">so</th><td class="n">–</td>', html)
    assert re.search(r'<th scope="row">ar</th><td class="n">20\u00a0%</td>', html)
    assert "Inga personuppgifter sparas" in html
    # No count under 5 is printed as a number in any table cell.
    cells = re.findall(r'<td class="n">([^<]*)</td>', html)
    assert cells and not [c for c in cells if re.fullmatch(r"[0-4]", c)]

    text = pdf_text(pdf_path)
    assert "Lotsen – månadsrapport februari 2026" in text
    assert re.search(r"Samtal\s+55\b", text), text[:2000]
    assert re.search(r"Personer som fått hjälp\s+53\b", text)
    assert "79 %" in text and "4,4 av 5" in text and "3 min 30 s" in text
    assert "<5" in text and "för få för att visa" in text


def test_a_bad_month_or_directory_is_refused_naming_it(prefix: str, tmp_path: Path) -> None:
    for month in ("2026-13", "dec", "2026-1"):
        done = admin(prefix, "report", "--month", month, "--out", str(tmp_path))
        assert done.returncode != 0
        assert "--month" in done.stderr and "YYYY-MM" in done.stderr and month in done.stderr
    assert not list(tmp_path.iterdir())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    done = admin(prefix, "report", "--month", "2026-02", "--out", str(blocker / "inside"))
    assert done.returncode != 0
    assert "cannot create the directory" in done.stderr and str(blocker) in done.stderr
