"""Outcome statistics: daily counters with no personal data, for operators and the committee.

counters.py names what is counted (fixed in PRODUCT.md §8); recorder.py adds to the day's
counters as things happen; query.py reads a date range back as totals, rows and chart series;
export.py writes the CSV with small counts hidden. Pages and the report live elsewhere
(bot/coach/stats.py, bot/core/stats/report.py)."""
