"""The days Jobbtorg is closed whatever the weekday: Swedish public holidays, and Midsummer Eve,
Christmas Eve and New Year's Eve.

All of them come from the maintained `holidays` package. The three eves are not public holidays
in Swedish law, so its default (PUBLIC) category leaves them out; its BANK category has them
(the days Swedish banks are closed, from the Riksbank's calendar) together with half days such as
"Maundy Thursday (from 2pm)", which we leave out: only the three full days are taken from it,
by their English names (tests/unit/test_hours.py checks them against the rules: Midsummer Eve is
the Friday between 19 and 25 June, Christmas Eve 24 December, New Year's Eve 31 December).
Sundays are left out of the public ones: the weekly hours say which weekdays are open.
"""

from __future__ import annotations

from datetime import date

from holidays.constants import BANK
from holidays.countries.sweden import Sweden

FULL_DAY_EVES = ("Midsummer Eve", "Christmas Eve", "New Year's Eve")


class SwedishHolidays:
    """Whether a date is a closed day by the calendar, with its English name (years computed
    once each, on first use)."""

    def __init__(self) -> None:
        self._years: dict[int, dict[date, str]] = {}

    def _year(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            public = Sweden(years=year, include_sundays=False, language="en_US")
            bank = Sweden(years=year, categories=(BANK,), language="en_US")
            found = {day: str(name) for day, name in public.items()}
            found.update({day: str(name) for day, name in bank.items()
                          if str(name) in FULL_DAY_EVES})
            self._years[year] = found
        return found

    def name(self, day: date) -> str | None:
        """The holiday's English name, or None on an ordinary day."""
        return self._year(day.year).get(day)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in self._year(day.year)


SWEDEN = SwedishHolidays()  # one calendar for the process: the years are computed once
