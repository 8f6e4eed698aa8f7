"""A chart (bot/core/stats/charts.py) drawn as a standalone, accessible SVG on the server.

Matplotlib draws it (a maintained library, no drawing by hand), through `Figure` and the SVG
backend directly: no pyplot, so no global figure registry. Its settings (text kept as text,
the id salt) are read from rcParams while saving, which is global state, so rendering holds a
lock. The same chart always gives the same SVG: no date in the metadata, the ids salted with
the chart's id (unique per chart, so several charts can share one HTML page).

Accessibility: `<title>` and `<desc>` (the summary) come first under `<svg role="img">`, named
by aria-labelledby; series differ by marker and line style (lines) or hatch (bars) as well as
by colour, and every colour has at least 3:1 contrast against white (WCAG 1.4.11).
"""

from __future__ import annotations

import io
import math
import re
import threading
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from bot.core.stats.charts import Chart

# Dark enough for 3:1 against white (tests/unit/test_stats_svg.py computes it), and apart
# from each other for people who see colour; markers, dashes and hatches carry the rest.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#007A5A", "#882255",
                            "#555555", "#8A5A00", "#3B3B98", "#B0306A")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)),
                               (0, (8, 2)), (0, (1, 3)), (0, (3, 1, 3, 3)))
HATCHES: tuple[str, ...] = ("//", "\\\\", "xx", "..", "--", "++", "oo", "||")
MAX_SERIES = len(PALETTE)

WIDTH_PT, HEIGHT_PT = 480.0, 240.0  # 640 x 320 CSS pixels (a point is 4/3 px)
MAX_DAY_TICKS = 8
EMPTY = "Inga data"
MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
RC: dict[Any, Any] = {  # (matplotlib types the keys as a Literal of every rc name)
    "svg.fonttype": "none",  # text stays text: searchable, selectable, sharp when scaled
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "hatch.linewidth": 1.0,
    "axes.edgecolor": "#555555",
    "axes.labelcolor": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
}
_LOCK = threading.Lock()


def short_day(label: Any) -> str:
    """An ISO day as "6 dec" (anything else as it is)."""
    try:
        day = date.fromisoformat(str(label))
    except ValueError:
        return str(label)
    return f"{day.day} {MONTHS[day.month - 1]}"


def _value(value: Any) -> float:
    return math.nan if value is None else float(value)


def is_empty(chart: Chart) -> bool:
    """Nothing to draw: no rows or series, no value at all, or only zero counts."""
    values = [v for row in chart["rows"] for v in row[1:len(chart["columns"])] if v is not None]
    if not chart["rows"] or len(chart["columns"]) < 2 or not values:
        return True
    return not chart["percent"] and not any(values)


def _per_cent(value: float, _position: float | None = None) -> str:
    return f"{value * 100:.0f} %"


def _line(axes: Axes, chart: Chart, labels: list[str]) -> None:
    positions = list(range(len(labels)))
    for i, name in enumerate(chart["columns"][1:MAX_SERIES + 1]):
        axes.plot(positions, [_value(row[i + 1]) for row in chart["rows"]], label=name,
                  color=PALETTE[i], marker=MARKERS[i], linestyle=LINESTYLES[i],
                  linewidth=1.6, markersize=4.5, gid=f"series-{i}")
    step = max(1, math.ceil(len(labels) / MAX_DAY_TICKS))
    ticks = positions[::step]
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.set_xticklabels([labels[p] for p in ticks])
    axes.set_xlim(-0.5, len(labels) - 0.5)


def _bar(axes: Axes, chart: Chart, labels: list[str]) -> None:
    series = chart["columns"][1:MAX_SERIES + 1]
    width = 0.8 / len(series)
    for i, name in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        bars = axes.bar([p + offset for p in range(len(labels))],
                 [0.0 if row[i + 1] is None else float(row[i + 1]) for row in chart["rows"]],
                 width=width, label=name, color=PALETTE[i], hatch=HATCHES[i],
                 edgecolor="white", linewidth=0.6)
        for j, patch in enumerate(bars.patches):
            patch.set_gid(f"series-{i}-bar-{j}")
    axes.set_xticks(range(len(labels)))
    long = sum(len(label) + 3 for label in labels) > 70  # would run into each other
    axes.set_xticklabels(labels, rotation=30 if long else 0, ha="right" if long else "center")


def _draw(figure: Figure, chart: Chart) -> None:
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    axes.set_axisbelow(True)
    if is_empty(chart):
        axes.spines[["left", "bottom"]].set_visible(False)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.text(0.5, 0.5, EMPTY, transform=axes.transAxes, ha="center", va="center",
                  fontsize=12, color="#333333")
        return
    labels = [short_day(row[0]) if chart["kind"] == "line" else str(row[0])
              for row in chart["rows"]]
    (_line if chart["kind"] == "line" else _bar)(axes, chart, labels)
    axes.set_xlabel(chart["columns"][0])
    axes.set_ylabel("Andel" if chart["percent"] else "Antal")
    axes.set_ylim(bottom=0)
    if chart["percent"]:
        axes.yaxis.set_major_formatter(FuncFormatter(_per_cent))
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    else:
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=1))
        top = axes.get_ylim()[1]
        axes.set_ylim(0, max(top, 1))
    series = len(chart["columns"][1:MAX_SERIES + 1])
    axes.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=min(series, 4),
                frameon=False, borderaxespad=0.0, handlelength=2.8)


def _accessible(svg: str, chart: Chart) -> str:
    """The root with role and size, title and desc first, every id made the chart's own."""
    prefix = "chart-" + re.sub(r"[^A-Za-z0-9_-]", "-", chart["id"] or "x")
    svg = svg[svg.index("<svg"):]  # no XML declaration or DOCTYPE: it goes inline in HTML
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    root_end = svg.index(">") + 1
    root = svg[:root_end]
    root = re.sub(r'\s(width|height)="[^"]*"', "", root)
    root = root[:-1] + (f' width="100%" role="img" aria-labelledby="{prefix}-title '
                        f'{prefix}-desc" style="max-width: 640px; height: auto">')
    head = (f'\n <title id="{prefix}-title">{escape(chart["title"])}</title>'
            f'\n <desc id="{prefix}-desc">{escape(chart["summary"])}</desc>')
    return root + head + svg[root_end:]


def render(chart: Chart) -> str:
    """The chart as an `<svg>` element (no XML declaration), the same for the same chart."""
    figure = Figure(figsize=(WIDTH_PT / 72, HEIGHT_PT / 72), layout="constrained")
    FigureCanvasSVG(figure)
    out = io.StringIO()
    settings = dict(RC)
    settings["svg.hashsalt"] = f"lotsen-{chart['id']}"
    with _LOCK, rc_context(settings):
        _draw(figure, chart)
        figure.savefig(out, format="svg", metadata={"Date": None})
    return _accessible(out.getvalue(), chart)
