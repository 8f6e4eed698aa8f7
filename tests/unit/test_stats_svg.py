"""The server-drawn charts: valid SVG, named for a screen reader, series told apart without
colour, colours with 3:1 contrast against white, the same SVG for the same chart, and an empty
chart that says so."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from bot.core.stats.charts import Chart
from bot.core.stats.svg import EMPTY, HATCHES, LINESTYLES, MARKERS, PALETTE, render

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"
START = date(2025, 12, 1)  # a fixed month: nothing here depends on today


def line_chart(series: int = 3, days: int = 10) -> Chart:
    names = ["web", "telegram", "sms", "whatsapp", "terminal"][:series]
    rows = [[(START + timedelta(days=n)).isoformat(), *((n * (s + 2)) % 7 + s for s in
                                                          range(series))]
            for n in range(days)]
    return {"id": "conversations", "title": "Samtal per dag & kanal <alla>", "kind": "line",
            "summary": "Samtal per kanal: web 30, telegram 20 & sms 5.",
            "columns": ["Dag", *names], "rows": rows, "percent": False}


def bar_chart() -> Chart:
    return {"id": "topics", "title": "Vanligaste ämnen", "kind": "bar",
            "summary": "Vanligaste ämnet: info_sfi (12 svar).",
            "columns": ["Ämne", "Besvarade", "Det hjälpte", "Det hjälpte inte"],
            "rows": [["info_sfi", 12, 7, 2], ["info_komvux", 9, 3, 1], ["dropin", 4, 0, 3]],
            "percent": False}


def percent_chart() -> Chart:
    return {"id": "not_understood", "title": "Andel som inte förstods, per språk",
            "kind": "bar", "summary": "Andel: sv 12 %, ar 35 %.",
            "columns": ["Språk", "Andel inte förstådda"],
            "rows": [["sv", 0.12], ["ar", 0.35], ["so", None]], "percent": True}


def parse(svg: str) -> ET.Element:
    assert svg.startswith("<svg"), "inline SVG: no XML declaration, no DOCTYPE"
    return ET.fromstring(svg)


def group(root: ET.Element, gid: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if (g.get("id") or "").endswith(f"-{gid}")]
    assert len(found) == 1, f"one group {gid}"
    return found[0]


def by_id(root: ET.Element) -> dict[str, ET.Element]:
    return {element.get("id", ""): element for element in root.iter() if element.get("id")}


def texts(root: ET.Element, id_part: str) -> list[str]:
    return [text.text or "" for g in root.iter(f"{SVG}g") if id_part in (g.get("id") or "")
            for text in g.iter(f"{SVG}text")]


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour #rrggbb."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_wcag_arithmetic_is_right() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffff00", "#ffffff") < 3  # yellow on white would fail


def test_every_palette_colour_has_3_to_1_contrast_against_white() -> None:
    assert len(set(PALETTE)) == len(PALETTE) >= 5
    for colour in PALETTE:
        assert re.fullmatch(r"#[0-9A-Fa-f]{6}", colour)
        assert contrast(colour, "#FFFFFF") >= 3.0, colour


def test_markers_line_styles_and_hatches_are_all_different() -> None:
    assert len(set(MARKERS)) == len(MARKERS) == len(PALETTE)
    assert len({str(style) for style in LINESTYLES}) == len(LINESTYLES) == len(PALETTE)
    assert len(set(HATCHES)) == len(HATCHES) == len(PALETTE)


@pytest.mark.parametrize("chart", [line_chart(), bar_chart(), percent_chart()],
                         ids=["line", "bar", "percent"])
def test_root_is_an_image_named_by_its_title_and_summary(chart: Chart) -> None:
    root = parse(render(chart))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%" and root.get("height") is None
    assert root.get("viewBox") == "0 0 480 240"
    first, second = list(root)[:2]
    assert first.tag == f"{SVG}title" and first.text == chart["title"]
    assert second.tag == f"{SVG}desc" and second.text == chart["summary"]
    assert (root.get("aria-labelledby") or "").split() == [first.get("id"), second.get("id")]
    assert len(root.findall(f"{SVG}title")) == 1
    legend = texts(root, "legend")
    assert legend == chart["columns"][1:], "a legend names every series"
    assert chart["columns"][0] in texts(root, "axis")  # the x axis label


def test_each_line_has_its_own_marker_shape_and_dash_pattern() -> None:
    chart = line_chart(series=5)
    root = parse(render(chart))
    ids = by_id(root)
    shapes, dashes, colours = [], [], []
    for i in range(5):
        series = group(root, f"series-{i}")
        line = series.find(f"{SVG}path")
        assert line is not None
        style = line.get("style", "")
        dash = re.search(r"stroke-dasharray: ([^;]+)", style)
        dashes.append(dash.group(1) if dash else "solid")
        colours.append(re.search(r"stroke: (#[0-9a-f]{6})", style).group(1))  # type: ignore[union-attr]
        uses = list(series.iter(f"{SVG}use"))
        assert len(uses) == len(chart["rows"]), "a marker on every point"
        markers = {use.get(XLINK, "").removeprefix("#") for use in uses}
        assert len(markers) == 1
        shapes.append(ids[markers.pop()].get("d"))
    assert len(set(shapes)) == 5, "marker shapes differ"
    assert len(set(dashes)) == 5, "line styles differ"
    assert len(set(colours)) == 5 and {c.upper() for c in colours} <= set(PALETTE)


def test_each_bar_series_has_its_own_hatch() -> None:
    chart = bar_chart()
    root = parse(render(chart))
    ids = by_id(root)
    hatches = []
    for i in range(3):
        fills = set()
        for j in range(len(chart["rows"])):
            bar = group(root, f"series-{i}-bar-{j}").find(f"{SVG}path")
            assert bar is not None
            fill = re.search(r"url\(#([^)]+)\)", bar.get("style", ""))
            assert fill, "the bar is filled with a hatch pattern"
            fills.add(fill.group(1))
        assert len(fills) == 1, "one hatch per series"
        pattern = ids[fills.pop()]
        assert pattern.tag == f"{SVG}pattern"
        lines = pattern.find(f"{SVG}path")
        assert lines is not None
        hatches.append(lines.get("d"))
    assert len(set(hatches)) == 3, "the hatch lines differ, not only the colour"


def test_days_are_short_and_counts_are_whole_numbers() -> None:
    root = parse(render(line_chart(days=8)))
    xticks = texts(root, "xtick")
    assert xticks == [f"{n} dec" for n in range(1, 9)]
    yticks = texts(root, "ytick")
    assert yticks and all(re.fullmatch(r"\d+", tick) for tick in yticks), yticks
    month = parse(render(line_chart(days=31)))
    assert 4 <= len(texts(month, "xtick")) <= 8, "a month's days are thinned out"


def test_shares_are_per_cent() -> None:
    yticks = texts(parse(render(percent_chart())), "ytick")
    assert "0 %" in yticks and all(re.fullmatch(r"\d+ %", tick) for tick in yticks), yticks


def test_the_same_chart_gives_the_same_svg_and_charts_share_no_ids() -> None:
    first, again = render(line_chart()), render(line_chart())
    assert first == again
    assert "dc:date" not in first and "<metadata" not in first
    ids_line, ids_bar = set(by_id(parse(first))), set(by_id(parse(render(bar_chart()))))
    assert ids_line and ids_bar and not ids_line & ids_bar
    changed = line_chart()
    changed["rows"][0][1] += 1
    assert render(changed) != first


def test_text_stays_text() -> None:
    root = parse(render(bar_chart()))
    labels = texts(root, "xtick")
    assert labels == ["info_sfi", "info_komvux", "dropin"]
    assert all("DejaVu Sans" in t.get("style", "") for t in root.iter(f"{SVG}text"))


@pytest.mark.parametrize("rows", [[], "zeros"], ids=["no rows", "only zeros"])
def test_an_empty_chart_says_there_is_no_data(rows: object) -> None:
    chart = line_chart()
    chart["summary"] = "Inga samtal under perioden."
    if rows == "zeros":
        chart["rows"] = [[row[0], 0, 0, 0] for row in chart["rows"]]
    else:
        chart["rows"] = []
    title, desc = list(parse(render(chart)))[:2]
    assert title.text == chart["title"]
    assert desc.text == "Inga samtal under perioden."
    root = parse(render(chart))
    assert EMPTY in [t.text for t in root.iter(f"{SVG}text")]
    assert not any("series-" in (g.get("id") or "") for g in root.iter(f"{SVG}g"))
    assert EMPTY not in render(line_chart())
