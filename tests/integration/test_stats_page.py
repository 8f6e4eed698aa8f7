"""The operators' "Statistik" page (issue 26) in a real headless Chromium against the real
gateway and Redis, with daily counters of known numbers written through the recorder for days
computed from the gateway's injected clock: the view opens on its heading with the server's
last 30 days (logged in at #statistik, or by Enter on its menu link, asking anew each time);
the key figures are the hand-counted ones; every chart is a picture of the server's SVG (alt:
its title) with a caption and a table holding exactly the numbers of the chart's rows in
GET /coach/api/stats, before and after a keyboard-only change of filter; the tables are
reachable with Tab and scroll sideways inside themselves at 320 px while the page does not; a
reversed or too long range is refused in words; axe-core finds no WCAG 2.1 A/AA violation at
1280 and 320 px; a coach sees no link and gets 403 from the API. Saves reports/stats.png."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.config import ROOT
from bot.core.stats.counters import Cell
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium, contrast
from tests import journeys
from tests.clock import FixedClock
from tests.integration.test_coach_accessibility import FOCUS_JS, set_viewport, sideways

SCREENSHOT = ROOT / "reports" / "stats.png"
PASSWORD = "correct horse battery"
CLOCK = FixedClock(datetime(2026, 5, 20, 9, 30, tzinfo=UTC))  # the gateway's now

WEB = Cell("webchat", "sv", "", "Rinkeby")
WEB_SFI = Cell("webchat", "sv", "info_sfi", "Rinkeby")
SMS = Cell("sms", "so", "", "Tensta")
SMS_KOMVUX = Cell("sms", "so", "info_komvux", "Tensta")
TELEGRAM = Cell("telegram", "ar", "", "Rinkeby")
TELEGRAM_SFI = Cell("telegram", "ar", "info_sfi", "Rinkeby")

# (days after the clock's day, counter, cell, count): yesterday on the web, the day before by
# SMS, today on Telegram; and 40 days ago, outside the default 30 days.
SEED: list[tuple[int, str, Cell, int]] = [
    (-1, "conversations", WEB, 10), (-1, "new_conversations", WEB, 10),
    (-1, "messages", WEB, 30), (-1, "answered", WEB_SFI, 20), (-1, "not_understood", WEB, 4),
    (-1, "conversations_answered", WEB, 8), (-1, "handovers_consented", WEB, 2),
    (-1, "helped", WEB_SFI, 5), (-1, "not_helped", WEB_SFI, 1),
    (-1, "bookings_made", WEB, 5), (-1, "attended", WEB, 3), (-1, "no_show", WEB, 1),
    (-1, "satisfaction_5", WEB, 3), (-1, "satisfaction_4", WEB, 2),
    (-2, "conversations", SMS, 6), (-2, "messages", SMS, 12), (-2, "answered", SMS_KOMVUX, 6),
    (-2, "clarified", SMS, 2), (-2, "conversations_answered", SMS, 4),
    (-2, "handovers_consented", SMS, 1), (-2, "satisfaction_2", SMS, 1),
    (0, "conversations", TELEGRAM, 4), (0, "messages", TELEGRAM, 8),
    (0, "answered", TELEGRAM_SFI, 4), (0, "not_understood", TELEGRAM, 2),
    (0, "conversations_answered", TELEGRAM, 3),
    (-40, "conversations", WEB, 100), (-40, "messages", WEB, 100),
]
# (days after the clock's day, cell, seconds to claim, the SLA kept)
CLAIMS: list[tuple[int, Cell, float, bool]] = [(-1, WEB, 120, True), (-1, WEB, 600, True),
                                               (-1, WEB, 4000, False)]

# Counted by hand from SEED and CLAIMS, as the page shows them (the last 30 days).
FIGURES = {"Personer som fick hjälp": "18",      # 8 + 4 + 3 answered, 3 claimed
           "Samtal": "20",
           "Andel besvarade av Lotsen": "60 %",  # 30 of 50 messages
           "Andel till coach": "15 %",           # 3 of 20 conversations
           "Mediantid till coach tar": "10 min",  # 120, 600, 4000 s
           "Närvaro på drop-in": "75 %",         # 3 came, 1 did not
           "Nöjdhet, medelvärde": "4,17 av 5"}   # (3·5 + 2·4 + 2) / 6
SMS_FIGURES = {"Personer som fick hjälp": "4", "Samtal": "6",
               "Andel besvarade av Lotsen": "50 %", "Andel till coach": "16,7 %",
               "Mediantid till coach tar": "–", "Närvaro på drop-in": "–",
               "Nöjdhet, medelvärde": "2 av 5"}
Client = TestClient[Any, Any]
Driver = Any  # a Selenium Chrome driver (scripts.browser.chromium)
CHART_IDS = ["conversations", "languages", "topics", "not_understood", "bookings",
             "satisfaction"]


@pytest.fixture
async def panel(aiohttp_client: Any, prefix: str, redis: Any, providers: Any) -> Client:
    """The gateway (web chat, Telegram and SMS) on the fixed clock, with an operator (Olga), a
    coach (Sara) and the counters of SEED and CLAIMS."""
    settings = journeys.journey_settings(prefix, providers)
    app = create_app(settings, clock=CLOCK)
    client: Client = await aiohttp_client(app)
    services = app[SERVICES]
    await services.accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    await services.accounts.add("sara", PASSWORD, [next(iter(services.teams.teams))],
                                name="Sara")
    for offset, counter, cell, n in SEED:
        await services.stats.add(counter, cell, n, day=CLOCK.day(offset))
    for offset, cell, seconds, kept in CLAIMS:
        await services.stats.claimed(cell, seconds, kept, day=CLOCK.day(offset))
    return client


async def logged_in(panel: Client, aiohttp_client: Any, username: str) -> Client:
    """An HTTP client with its own cookies, logged in as `username`."""
    http: Client = await aiohttp_client(panel.server)
    response = await http.post("/coach/api/login", json={"username": username,
                                                         "password": PASSWORD})
    assert response.status == 200
    return http


async def stats_json(http: Client, **query: str) -> dict[str, Any]:
    response = await http.get("/coach/api/stats", params=query)
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


# ---------------------------------------------------------------------- browser helpers
def wait(driver: Driver, timeout: float = 30) -> WebDriverWait[Driver]:
    return WebDriverWait(driver, timeout)


def base_url(client: Client) -> str:
    return str(client.make_url("")).rstrip("/")


def text_of(driver: Driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).get_attribute("textContent") or ""


def focused(driver: Driver) -> dict[str, Any]:
    state: dict[str, Any] = driver.execute_script(
        "const a = document.activeElement;"
        "return {id: a.id || null, cls: a.className || '', role: a.getAttribute('role'),"
        "        label: a.getAttribute('aria-label'), tag: a.tagName}")
    return state


def press(driver: Driver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver: Driver, wanted: Callable[[dict[str, Any]], bool],
           limit: int = 40) -> list[dict[str, Any]]:
    """Press Tab until `wanted(focused element)` holds; the focus state of each stop."""
    stops = []
    for _ in range(limit):
        press(driver, Keys.TAB)
        stops.append(driver.execute_script(FOCUS_JS))
        if wanted(focused(driver)):
            return stops
    raise AssertionError(f"Tab never got there; stops: {[s['key'] for s in stops]}")


def weak_focus(stops: list[dict[str, Any]]) -> dict[str, tuple[object, ...]]:
    """Focus rings that are missing, thin or under 3:1 against what is behind them. In a date
    field the calendar button's focus does not match :focus-visible: what counts there is the
    ring the field draws (`:focus-within`)."""
    return {s["key"]: (s["style"], s["color"], s["width"], s["behind"]) for s in stops
            if not (s["focusVisible"] or s["tag"] == "INPUT")
            or s["style"] in ("none", "hidden") or s["width"] < 2
            or contrast(s["color"], s["behind"]) < 3}


def log_in(driver: Driver, base: str, username: str, hash_: str = "#statistik") -> None:
    """Open the page at `hash_` and log in by typing (the name, the password, Enter)."""
    driver.get(f"{base}/coach/{hash_}")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "username"))).send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    wait(driver).until(ec.visibility_of_element_located((By.ID, "who")))


def wait_until_shown(driver: Driver, part: str) -> None:
    """Until the status says the numbers of a query naming `part` are on screen."""
    wait(driver).until(lambda d: "visas för" in text_of(d, "stats-status")
                       and part in text_of(d, "stats-status")
                       and d.find_element(By.ID, "stats-results").get_attribute("aria-busy")
                       == "false")


READ_PAGE_JS = """
const figures = {};
for (const box of document.querySelectorAll('#stats-figures > div')) {
  const value = box.querySelector('dd .stats-value');
  const items = [...box.querySelectorAll('dd li')].map((li) => li.textContent.trim());
  figures[box.querySelector('dt').textContent.trim()] =
    value ? value.textContent.trim() : items.join('; ');
}
const charts = [...document.querySelectorAll('#stats-charts figure')].map((f) => {
  const img = f.querySelector('img');
  const scroll = f.querySelector('.stats-table-scroll');
  const table = f.querySelector('table');
  return {
    id: f.dataset.chart, name: f.getAttribute('aria-labelledby')
      && document.getElementById(f.getAttribute('aria-labelledby')).textContent,
    caption: f.querySelector('figcaption').textContent,
    alt: img && img.getAttribute('alt'), src: img && img.getAttribute('src'),
    loaded: Boolean(img && img.complete && img.naturalWidth > 0),
    region: {tabindex: scroll.getAttribute('tabindex'), role: scroll.getAttribute('role'),
             label: scroll.getAttribute('aria-label')},
    tableCaption: table.caption && table.caption.textContent,
    columns: [...table.tHead.rows[0].cells].map((c) => [c.textContent, c.getAttribute('scope')]),
    rows: [...table.tBodies[0].rows].map((r) => [...r.cells].map((c) =>
      [c.tagName, c.getAttribute('scope'), c.textContent])),
  };
});
return {figures, charts, from: document.getElementById('stats-from').value,
        to: document.getElementById('stats-to').value,
        csv: document.getElementById('stats-csv').getAttribute('href')};
"""


def read_page(driver: Driver) -> dict[str, Any]:
    page: dict[str, Any] = driver.execute_script(READ_PAGE_JS)
    return page


# ---------------------------------------------------------------------- what the page shows
def cell_number(text: str, percent: bool) -> float | None:
    """A table cell back as the JSON's value: "1 234" -> 1234, "16,7 %" -> 0.167, "–" -> None."""
    if text == "–":
        return None
    plain = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    if percent:
        assert plain.endswith("%"), text
        return float(plain[:-1])
    return float(plain)


def table_problems(chart: dict[str, Any], shown: dict[str, Any]) -> list[str]:
    """What differs between a chart of the JSON and its figure on the page (nothing: [])."""
    problems = []
    title = chart["title"]
    if shown["alt"] != title or shown["tableCaption"] != title or shown["name"] != title:
        problems.append(f"{chart['id']}: title {title!r} vs {shown['alt']!r}, "
                        f"{shown['tableCaption']!r}, {shown['name']!r}")
    if title not in shown["caption"] or chart["summary"] not in shown["caption"]:
        problems.append(f"{chart['id']}: caption {shown['caption']!r}")
    svg = base64.b64decode(shown["src"].split("base64,", 1)[1]).decode("utf-8")
    if not shown["src"].startswith("data:image/svg+xml;base64,") or svg != chart["svg"]:
        problems.append(f"{chart['id']}: the image is not the chart's SVG")
    if not shown["loaded"]:
        problems.append(f"{chart['id']}: the image did not load")
    if shown["region"] != {"tabindex": "0", "role": "region", "label": f"Tabell: {title}"}:
        problems.append(f"{chart['id']}: scroll box {shown['region']}")
    if shown["columns"] != [[name, "col"] for name in chart["columns"]]:
        problems.append(f"{chart['id']}: columns {shown['columns']} vs {chart['columns']}")
    if len(shown["rows"]) != len(chart["rows"]):
        problems.append(f"{chart['id']}: {len(shown['rows'])} rows vs {len(chart['rows'])}")
    for want, got in zip(chart["rows"], shown["rows"], strict=False):
        label, *values = want
        (head_tag, head_scope, head_text), *cells = got
        if head_tag != "TH" or head_scope != "row" or not (
                head_text == str(label) or head_text.endswith(f"({label})")):
            problems.append(f"{chart['id']}: row header {got[0]} for {label!r}")
        numbers = [cell_number(text, chart["percent"]) for _, _, text in cells]
        wanted = [None if v is None else (round(v * 100, 1) if chart["percent"] else v)
                  for v in values]
        if numbers != wanted or any(tag != "TD" for tag, _, _ in cells):
            problems.append(f"{chart['id']}: row {label}: {numbers} vs {wanted}")
    return problems


# ---------------------------------------------------------------------- 1. the operator
def operator_uses_the_page(base: str) -> dict[str, Any]:
    """Olga, keyboard only after the page loads: the default view, then SMS only."""
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        wait(driver).until(lambda d: focused(d)["id"] == "stats-title")
        wait_until_shown(driver, "alla kanaler")
        seen["nav"] = driver.find_element(By.ID, "nav-stats").get_attribute("aria-current")
        seen["queue_shown"] = driver.find_element(By.ID, "work-view").is_displayed()
        seen["default"] = read_page(driver)
        seen["axe_wide"] = axe_violations(driver)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        set_viewport(driver, 1280, min(int(height), 6000))
        SCREENSHOT.parent.mkdir(exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))
        set_viewport(driver, 1280, 1000)

        # From the heading: Tab to the channel filter, type "SMS", Tab to "Visa", Enter.
        stops = tab_to(driver, lambda a: a["id"] == "stats-channel")
        press(driver, "SMS")
        stops += tab_to(driver, lambda a: a["id"] == "stats-show")
        press(driver, Keys.ENTER)
        wait_until_shown(driver, "SMS")
        seen["after_show"] = focused(driver)["id"]
        seen["status"] = text_of(driver, "stats-status")
        seen["status_role"] = driver.find_element(By.ID, "stats-status").get_attribute("role")
        seen["sms"] = read_page(driver)
        # On past the CSV link into the first table's scroll box.
        stops += tab_to(driver, lambda a: a["role"] == "region")
        seen["first_region"] = focused(driver)["label"]
        seen["stops"] = stops

        set_viewport(driver, 320, 800)
        seen["narrow"] = sideways(driver)
        seen["axe_narrow"] = axe_violations(driver)
        # The topics table is wider than a phone: it scrolls inside its box, by arrow key.
        topics = driver.find_element(
            By.CSS_SELECTOR, 'figure[data-chart="topics"] .stats-table-scroll')
        seen["topics_wider"] = driver.execute_script(
            "return arguments[0].scrollWidth > arguments[0].clientWidth", topics)
        stops = tab_to(driver, lambda a: a["label"] == "Tabell: Vanligaste ämnen", limit=20)
        press(driver, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        wait(driver, 5).until(lambda d: d.execute_script("return arguments[0].scrollLeft > 0",
                                                         topics))
        seen["narrow_stops"] = stops
        seen["narrow_after_scroll"] = sideways(driver)
    return seen


async def test_key_figures_and_every_chart_table_match_the_api_at_1280_and_320(
        panel: Client, aiohttp_client: Any) -> None:
    olga = await logged_in(panel, aiohttp_client, "olga")
    seen = await asyncio.to_thread(operator_uses_the_page, base_url(panel))
    first, last = CLOCK.day(-29).isoformat(), CLOCK.day(0).isoformat()

    assert seen["axe_wide"] == [] and seen["axe_narrow"] == []
    assert seen["nav"] == "page" and not seen["queue_shown"]
    page = seen["default"]
    assert (page["from"], page["to"]) == (first, last)  # the gateway's last 30 days
    assert {term: page["figures"][term] for term in FIGURES} == FIGURES
    assert page["figures"]["Nöjdhet, fördelning (betyg: antal svar)"] == (
        "5: 3 svar; 4: 2 svar; 3: 0 svar; 2: 1 svar; 1: 0 svar")
    data = await stats_json(olga)
    assert (data["from"], data["to"]) == (first, last)
    assert [c["id"] for c in data["charts"]] == CHART_IDS
    assert [c["id"] for c in page["charts"]] == CHART_IDS
    for chart, shown in zip(data["charts"], page["charts"], strict=True):
        assert table_problems(chart, shown) == [], chart["id"]
    # The tables' own numbers, summed on the page: what was seeded, not what was 40 days ago.
    conversations = next(c for c in page["charts"] if c["id"] == "conversations")
    assert sum(cell_number(text, False) or 0 for row in conversations["rows"]
               for _, _, text in row[1:]) == 20
    assert len(conversations["rows"]) == 30

    sms = seen["sms"]
    assert {term: sms["figures"][term] for term in SMS_FIGURES} == SMS_FIGURES
    query = {"from": first, "to": last, "channel": "sms"}
    data = await stats_json(olga, **query)
    for chart, shown in zip(data["charts"], sms["charts"], strict=True):
        assert table_problems(chart, shown) == [], chart["id"]
    csv = urlsplit(sms["csv"])
    assert csv.path == "/coach/api/stats.csv" and dict(parse_qsl(csv.query)) == query
    response = await olga.get(sms["csv"])
    assert response.status == 200 and response.content_type == "text/csv"
    assert seen["after_show"] == "stats-show"  # "Visa" keeps the focus
    assert seen["status_role"] == "status" and "SMS" in seen["status"]
    assert seen["first_region"] == "Tabell: Samtal per dag och kanal"
    assert weak_focus(seen["stops"]) == {}

    scroll_width, inner_width = seen["narrow"]
    assert scroll_width <= inner_width  # the page does not scroll sideways at 320 px
    assert seen["narrow_after_scroll"][0] <= seen["narrow_after_scroll"][1]
    assert seen["topics_wider"]  # ... the topics table does, inside its box
    assert weak_focus(seen["narrow_stops"]) == {}
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 20_000


# ---------------------------------------------------------------------- 2. menu, wrong range
STATS_REQUESTS_JS = ("return performance.getEntriesByType('resource')"
                     ".filter((e) => e.name.includes('/coach/api/stats?')).length")


def menu_and_wrong_ranges(base: str, first: str, last: str, too_early: str) -> dict[str, Any]:
    """From the queue to Statistik and back and again by the menu (Enter on its links): the
    heading gets focus and the numbers are asked for anew. Then a reversed range (the page
    refuses it) and one longer than the statistics are kept (the server refuses it), each said
    in the alert region."""
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga", "#ko")
        wait(driver).until(lambda d: focused(d)["id"] == "queue-title")
        seen["hidden_at_queue"] = not driver.find_element(By.ID, "stats-view").is_displayed()
        seen["asked_at_queue"] = driver.execute_script(STATS_REQUESTS_JS)
        opened = []
        for _ in range(2):
            driver.find_element(By.ID, "nav-stats").send_keys(Keys.ENTER)
            wait(driver).until(lambda d: focused(d)["id"] == "stats-title")
            wait_until_shown(driver, "alla kanaler")
            opened.append((driver.execute_script(STATS_REQUESTS_JS),
                           driver.find_element(By.ID, "work-view").is_displayed(),
                           driver.find_element(By.ID, "nav-stats").get_attribute("aria-current")))
            driver.find_element(By.ID, "nav-queue").send_keys(Keys.ENTER)
            wait(driver).until(lambda d: focused(d)["id"] == "queue-title")
            opened.append((None, not driver.find_element(By.ID, "stats-view").is_displayed(),
                           driver.find_element(By.ID, "nav-stats").get_attribute("aria-current")))
        seen["opened"] = opened
        driver.find_element(By.ID, "nav-stats").send_keys(Keys.ENTER)
        wait(driver).until(lambda d: d.execute_script(STATS_REQUESTS_JS) == 3)
        wait_until_shown(driver, "alla kanaler")

        before = driver.execute_script(STATS_REQUESTS_JS)
        driver.execute_script("document.getElementById('stats-from').value = arguments[0];"
                              "document.getElementById('stats-to').value = arguments[1];",
                              last, first)
        driver.find_element(By.ID, "stats-show").send_keys(Keys.ENTER)
        wait(driver).until(lambda d: text_of(d, "stats-form-error"))
        seen["reversed"] = {"error": text_of(driver, "stats-form-error"),
                            "invalid": driver.find_element(By.ID, "stats-from")
                            .get_attribute("aria-invalid"),
                            "focus": focused(driver)["id"],
                            "asked": driver.execute_script(STATS_REQUESTS_JS) - before}
        seen["role"] = driver.find_element(By.ID, "stats-form-error").get_attribute("role")
        seen["axe_reversed"] = axe_violations(driver)

        driver.execute_script("document.getElementById('stats-from').value = arguments[0];"
                              "document.getElementById('stats-to').value = arguments[1];",
                              too_early, last)
        driver.find_element(By.ID, "stats-show").send_keys(Keys.ENTER)
        wait(driver).until(lambda d: "Urvalet" in text_of(d, "stats-form-error"))
        seen["too_long"] = text_of(driver, "stats-form-error")
        seen["invalid_after"] = driver.find_element(By.ID, "stats-from") \
            .get_attribute("aria-invalid")
        seen["figures_kept"] = read_page(driver)["figures"].get("Samtal")
    return seen


async def test_opened_from_the_menu_and_a_wrong_range_refused_in_words(
        panel: Client, aiohttp_client: Any) -> None:
    first, last = CLOCK.day(-29).isoformat(), CLOCK.day(0).isoformat()
    too_early = (CLOCK.day(0) - timedelta(days=5 * 365)).isoformat()
    seen = await asyncio.to_thread(menu_and_wrong_ranges, base_url(panel), first, last,
                                   too_early)
    assert seen["hidden_at_queue"] and seen["asked_at_queue"] == 0
    assert seen["opened"] == [(1, False, "page"), (None, True, None),
                              (2, False, "page"), (None, True, None)]
    reversed_ = seen["reversed"]
    assert reversed_["error"].startswith("Från-datumet är efter Till-datumet")
    assert reversed_["invalid"] == "true" and reversed_["focus"] == "stats-from"
    assert reversed_["asked"] == 0  # refused before asking the server
    assert seen["role"] == "alert" and seen["axe_reversed"] == []
    assert seen["too_long"].startswith("Urvalet går inte att visa: ")
    assert seen["too_long"] != "Urvalet går inte att visa: "  # and the server's reason
    assert seen["invalid_after"] is None
    assert seen["figures_kept"] == "20"  # the numbers on screen stay those of the last answer
    olga = await logged_in(panel, aiohttp_client, "olga")
    response = await olga.get("/coach/api/stats", params={"from": last, "to": first})
    assert response.status == 400 and (await response.json())["error"]


# ---------------------------------------------------------------------- 3. operators only
def coach_at_the_stats_page(base: str) -> dict[str, bool]:
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "sara")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "work-view")))
        wait(driver).until(lambda d: focused(d)["id"] == "queue-title")
        return {name: driver.find_element(By.ID, name).is_displayed()
                for name in ("nav-stats", "stats-view", "work-view")}


async def test_a_coach_sees_no_statistics_link_and_the_api_refuses_her(
        panel: Client, aiohttp_client: Any) -> None:
    seen = await asyncio.to_thread(coach_at_the_stats_page, base_url(panel))
    assert seen == {"nav-stats": False, "stats-view": False, "work-view": True}
    sara = await logged_in(panel, aiohttp_client, "sara")
    for path in ("/coach/api/stats", "/coach/api/stats.csv"):
        response = await sara.get(path)
        assert response.status == 403, path
