"""The committee's monthly report: the month's key figures, charts and totals as one Swedish
HTML page, and the same page as a PDF (`python -m bot.admin report`, bot/runtime/report_cli.py).

The report may leave the city's hands, so nothing in it singles out a small group: every count
under 5 reads "<5", a share or mean resting on fewer than 5 reads "–", and the charts leave such
values out too (a bar 2 high would tell what the table hides). The numbers come from
`StatsQuery.load`, the same JSON as the Statistik page, so the two cannot disagree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from html import escape
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from bot.core.stats.charts import Chart, all_charts
from bot.core.stats.counters import SCORES, SMALL

TOO_FEW = "för få för att visa"
SHORT_TABLE = 12  # rows: a table this short is never split over two pages
HIDDEN = "–"
NBSP = "\u00a0"
DEBIAN_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"
Json = dict[str, Any]


class ReportError(ValueError):
    """A report that cannot be made (the message says why, for the command line)."""


# ------------------------------------------------------------------ the month
def month_range(month: str) -> tuple[date, date]:
    """`YYYY-MM` as its first and last day."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReportError(f"--month must be a month as YYYY-MM (such as 2025-12), not {month!r}")
    try:
        first = date(int(match.group(1)), int(match.group(2)), 1)
        following = (first + timedelta(days=32)).replace(day=1)
    except (ValueError, OverflowError):  # year 0000 or 9999-12
        raise ReportError(f"--month {month!r} is out of range") from None
    return first, following - timedelta(days=1)


def month_name(month: str) -> str:
    """"december 2025": the month as the heading names it."""
    return format_date(month_range(month)[0], "LLLL y", locale="sv")


# ------------------------------------------------------------------ numbers as published
def count(n: int) -> str:
    """A count as published: under 5 it is "<5"."""
    return f"<{SMALL}" if n < SMALL else format_decimal(n, locale="sv")


def too_few(*parts: int) -> bool:
    return any(part < SMALL for part in parts)


def per_cent(share: float | None) -> str:
    return HIDDEN if share is None else f"{share * 100:.0f}{NBSP}%"


def share(value: float | None, numerator: int, denominator: int) -> str:
    """A share, or "–" when what it rests on is too small to show."""
    return HIDDEN if value is None or too_few(numerator, denominator) else per_cent(value)


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}{NBSP}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}{NBSP}min {rest}{NBSP}s" if rest else f"{minutes}{NBSP}min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}{NBSP}tim {minutes}{NBSP}min"


def decimal(value: float) -> str:
    return format_decimal(value, format="0.0", locale="sv")


# ------------------------------------------------------------------ key figures
def key_figures(stats: Json) -> list[tuple[str, str, str]]:
    """(name, value as published, what it counts), in the report's order."""
    totals, figures, claims = stats["totals"], stats["key_figures"], stats["time_to_claim"]
    marked = totals["attended"] + totals["no_show"]
    answers = figures["satisfaction_answers"]
    median = figures["median_seconds_to_claim"]
    mean = figures["satisfaction_mean"]
    scores = totals["satisfaction"]
    return [
        ("Personer som fått hjälp", count(figures["people_helped"]),
         "Samtal som fick minst ett svar av Lotsen en dag, plus ärenden som en coach tog "
         "över. Den som skriver flera dagar räknas en gång per dag."),
        ("Samtal", count(figures["conversations"]),
         "Samtal per dag: ett samtal som fortsätter en annan dag räknas igen den dagen."),
        ("Andel besvarade av Lotsen",
         share(figures["answered_share"], totals["answered"], totals["messages"]),
         f"Meddelanden som Lotsen svarade på med ett ämne eller ett eget svar, av alla "
         f"{count(totals['messages'])} meddelanden."),
        ("Andel överlämnade till en coach",
         share(figures["handed_over_share"], totals["handovers_consented"],
               totals["conversations"]),
         "Samtal där personen sa ja till att få prata med en coach, av alla samtal."),
        ("Mediantid tills en coach tog ärendet",
         HIDDEN if median is None or too_few(claims["claims"]) else duration(median),
         f"Hälften av ärendena togs snabbare än så ({count(claims['claims'])} ärenden)."),
        ("Närvaro på drop-in",
         share(figures["attendance_share"], totals["attended"], marked),
         f"Av bokade besök som markerats som kom eller kom inte ({count(marked)}): "
         "andelen som kom."),
        ("Nöjdhet, medelvärde",
         HIDDEN if mean is None or too_few(answers) else f"{decimal(mean)} av 5",
         f"Svar på frågan om nöjdhet efter ett samtal med en coach, från 1 (inte nöjd) "
         f"till 5 (mycket nöjd); {count(answers)} svar."),
        ("Nöjdhet, fördelning",
         ", ".join(f"{score}: {count(scores[score])}" for score in SCORES),
         "Antal svar per betyg."),
    ]


# ------------------------------------------------------------------ charts as published
def _share_parts(stats: Json, chart: Chart) -> dict[Any, tuple[int, int]]:
    """What each share of a per-cent chart rests on (label → numerator, denominator)."""
    if chart["id"] == "not_understood":
        return {entry["language"]: (entry["not_understood"], entry["messages"])
                for entry in stats["languages"]}
    return {}


def _published_value(chart: Chart, parts: dict[Any, tuple[int, int]], label: Any,
                     value: Any) -> tuple[str, Any]:
    """A table cell and the value drawn (None: left out of the picture)."""
    if chart["percent"]:
        if value is None or too_few(*parts.get(label, (SMALL, SMALL))):
            return HIDDEN, None
        return per_cent(value), value
    if value is None:
        return HIDDEN, None
    return count(int(value)), value if value >= SMALL else None


def _label(chart: Chart, label: Any) -> str:
    from bot.core.stats.svg import short_day

    return short_day(label) if chart["kind"] == "line" else str(label)


_SMALL_NUMBER = re.compile(r"(?<![\d\-,.])(\d+)(?![\d\-]|[.,]\d|\s?%)")


def _summary(stats: Json, chart: Chart, cells: list[list[str]]) -> str:
    """The chart's sentence with small counts as "<5"; shares and the mean are said again from
    the table, where a small base already reads "–"."""
    if chart["percent"]:
        listed = ", ".join(f"{row[0]} {row[1]}" for row in cells)
        return f"{chart['title']}: {listed}." if cells else chart["summary"]
    if chart["id"] == "topics" and cells:  # how many topics is no count of people
        return (f"Vanligaste ämnet: {cells[0][0]} ({cells[0][1]} svar). "
                f"{len(cells)} ämnen visas.")
    if chart["id"] == "satisfaction":
        answers, mean = (stats["key_figures"]["satisfaction_answers"],
                         stats["key_figures"]["satisfaction_mean"])
        if not answers:
            return chart["summary"]
        said = HIDDEN if mean is None or too_few(answers) else decimal(mean)
        return f"{count(answers)} svar, medelvärde {said} av 5."
    return _SMALL_NUMBER.sub(lambda m: count(int(m.group(1))), chart["summary"])


def published(stats: Json, chart: Chart) -> tuple[Chart, list[list[str]], bool]:
    """The chart to draw (small values left out), its table as text, and whether anything was
    left out."""
    parts = _share_parts(stats, chart)
    drawn_rows: list[list[Any]] = []
    cells: list[list[str]] = []
    hidden = False
    for row in chart["rows"]:
        drawn_row: list[Any] = [row[0]]
        cell_row = [_label(chart, row[0])]
        for value in row[1:]:
            text, drawn = _published_value(chart, parts, row[0], value)
            hidden = hidden or (drawn is None and value is not None)
            drawn_row.append(drawn)
            cell_row.append(text)
        drawn_rows.append(drawn_row)
        cells.append(cell_row)
    drawn_chart: Chart = {**chart, "rows": drawn_rows,
                          "summary": _summary(stats, chart, cells)}
    return drawn_chart, cells, hidden


# ------------------------------------------------------------------ totals per channel, language
TOTAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("conversations", "Samtal"), ("messages", "Meddelanden"),
    ("answered", "Besvarade av Lotsen"), ("handovers_consented", "Överlämnade"),
    ("bookings_made", "Bokningar"), ("attended", "Kom till drop-in"))


def totals_by(stats: Json, part: str) -> list[tuple[str, dict[str, int]]]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: {name: 0 for name, _ in TOTAL_COLUMNS})
    for row in stats["days"]:
        for name, _ in TOTAL_COLUMNS:
            sums[row[part] or "okänt"][name] += row[name]
    return sorted(sums.items(), key=lambda item: (-item[1]["conversations"], item[0]))


# ------------------------------------------------------------------ HTML
CSS = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-right { content: "Sida " counter(page) " av " counter(pages);
                        font-size: 8pt; color: #444; } }
html { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; font-size: 10pt;
       color: #111; line-height: 1.4; }
body { max-width: 46rem; margin: 1.5rem auto; padding: 0 1rem; }
@media print { body { max-width: none; margin: 0; padding: 0; } }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid #888;
     break-after: avoid; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; break-after: avoid; }
p { margin: .3rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .88rem; }
caption { text-align: left; font-weight: bold; padding-bottom: .2rem; break-after: avoid; }
th, td { border: 1px solid #999; padding: .1rem .4rem; text-align: left;
         vertical-align: top; }
th { background: #eee; }
td.n, th.n { text-align: right; white-space: nowrap; }
thead { display: table-header-group; }
tr, figure, table.short { break-inside: avoid; }
.figures th[scope="row"] { width: 30%; }
.figures td.n { width: 22%; white-space: normal; }
.figures .note { display: block; }
figure { margin: .5rem 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: .92rem; margin-top: .2rem; }
.note { color: #333; font-size: .88rem; }
footer { margin-top: 2rem; border-top: 1px solid #888; padding-top: .5rem; font-size: .9rem;
         break-inside: avoid; }
"""


def _table(caption: str | None, head: list[str], rows: list[list[str]],
           numeric_from: int = 1) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        kind = ' class="n"' if i >= numeric_from else ""
        scope = ' scope="col"' if tag == "th" else ""
        return f"<{tag}{kind}{scope}>{escape(text)}</{tag}>"

    header = "".join(cell("th", i, text) for i, text in enumerate(head))
    body = "".join("<tr>" + f'<th scope="row">{escape(row[0])}</th>'
                   + "".join(cell("td", i, text) for i, text in enumerate(row) if i)
                   + "</tr>\n" for row in rows)
    captioned = f"<caption>{escape(caption)}</caption>" if caption else ""
    short = ' class="short"' if len(rows) <= SHORT_TABLE else ""
    return (f"<table{short}>{captioned}<thead><tr>{header}</tr></thead>"
            f"<tbody>\n{body}</tbody></table>")


def _key_figures_html(stats: Json) -> str:
    rows = []
    for name, value, definition in key_figures(stats):
        note = f' <span class="note">({TOO_FEW})</span>' if value == HIDDEN else ""
        rows.append(f'<tr><th scope="row">{escape(name)}</th>'
                    f'<td class="n">{escape(value)}{note}</td><td>{escape(definition)}</td></tr>')
    return ('<table class="figures"><caption>Nyckeltal för månaden</caption><thead><tr>'
            '<th scope="col">Nyckeltal</th><th scope="col" class="n">Värde</th>'
            '<th scope="col">Vad det räknar</th></tr></thead><tbody>\n'
            + "\n".join(rows) + "\n</tbody></table>")


def _chart_html(stats: Json, chart: Chart) -> str:
    from bot.core.stats.svg import render

    drawn, cells, hidden = published(stats, chart)
    left_out = (f' <span class="note">Värden under {SMALL} och andelar av färre än {SMALL} '
                "visas inte i diagrammet; tabellen visar dem som "
                f"”&lt;{SMALL}” och ”{HIDDEN}”.</span>") if hidden else ""
    table = _table(f"Siffrorna i diagrammet: {chart['title']}", chart["columns"], cells)
    return (f'<section class="chart" id="diagram-{escape(chart["id"])}">'
            f"<h3>{escape(chart['title'])}</h3>\n<figure>{render(drawn)}\n"
            f"<figcaption>{escape(drawn['summary'])}{left_out}</figcaption></figure>\n"
            f"{table}</section>")


def _totals_html(stats: Json, part: str, title: str, first: str) -> str:
    rows = [[name, *(count(sums[column]) for column, _ in TOTAL_COLUMNS)]
            for name, sums in totals_by(stats, part)]
    if not rows:
        return f"<h3>{escape(title)}</h3><p>Inga samtal under månaden.</p>"
    return f"<h3>{escape(title)}</h3>" + _table(  # the heading names the table
        None, [first, *(label for _, label in TOTAL_COLUMNS)], rows)


FOOTER = (
    "<p><strong>Om siffrorna.</strong> Lotsen räknar medan den används: för varje dag, kanal, "
    "språk, ämne och område (där det är känt) ökas en räknare när ett samtal börjar, när ett "
    "meddelande besvaras eller inte förstås, när någon lämnas över till en coach, bokar eller "
    "kommer till en drop-in och när någon svarar på frågan om nöjdhet. Ett samtal räknas en "
    "gång per dag; ”personer som fått hjälp” är samtalsdagar, inte unika personer.</p>"
    "<p><strong>Inga personuppgifter sparas.</strong> Räknarna innehåller inga namn, "
    "telefonnummer, adresser, samtals-id eller meddelandetexter, bara antal. De sparas i tre "
    "år. I den här rapporten visas varje antal under 5 som ”&lt;5” och en andel eller ett "
    "medelvärde som vilar på färre än 5 som ”–”, så att ingen liten grupp kan kännas igen. "
    "Siffrorna är desamma som på sidan Statistik i Lotsens personalvy.</p>")


def build_report(stats: Json, month: str) -> str:
    """The month's report as one HTML page (Swedish; the charts inline as SVG)."""
    first, last = month_range(month)
    title = f"Lotsen – månadsrapport {month_name(month)}"
    period = (f"{format_date(first, 'd MMMM', locale='sv')}–"
              f"{format_date(last, 'd MMMM y', locale='sv')}")
    charts = "\n".join(_chart_html(stats, chart) for chart in all_charts(stats))
    return f"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p>Perioden {escape(period)}, alla kanaler, språk och områden. Antal under {SMALL} visas som
”&lt;{SMALL}”.</p>
</header>
<main>
<section id="nyckeltal">
<h2>Nyckeltal</h2>
{_key_figures_html(stats)}
</section>
<section id="diagram">
<h2>Diagram</h2>
<p>Varje diagram har en tabell med samma siffror under sig.</p>
{charts}
</section>
<section id="summor">
<h2>Summor per kanal och språk</h2>
{_totals_html(stats, "channel", "Per kanal", "Kanal")}
{_totals_html(stats, "language", "Per språk", "Språk")}
</section>
</main>
<footer>
{FOOTER}
</footer>
</body>
</html>
"""


def write_report(stats: Json, month: str, out_dir: Path) -> tuple[Path, Path]:
    """Write `lotsen-YYYY-MM.html` and `.pdf` into `out_dir` (made if missing)."""
    month = f"{month_range(month)[0]:%Y-%m}"
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: the Pango libraries are missing
        raise ReportError(
            f"cannot make the PDF: WeasyPrint does not load ({exc}). On Debian install "
            f"{DEBIAN_PACKAGES} (apt-get install -y {DEBIAN_PACKAGES})") from exc
    html = build_report(stats, month)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        html_path, pdf_path = out_dir / f"lotsen-{month}.html", out_dir / f"lotsen-{month}.pdf"
        html_path.write_text(html, encoding="utf-8")
        weasyprint.HTML(string=html).write_pdf(pdf_path)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out_dir}: "
                          f"{exc.strerror or exc}") from exc
    return html_path, pdf_path
