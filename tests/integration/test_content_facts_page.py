"""The content page's "Fakta och schema" (issue 24) in a real headless Chromium against the real
gateway and Redis, on the test schedule (open every day) with three people booked on one slot:
axe-core finds no WCAG 2.1 A/AA violation with the document editor open showing a mistake (its
line named, the field marked invalid, a button that puts the cursor on that line) and showing
what a change cancels, at 1280 and 320 px, and nothing scrolls sideways; an operator opens the
drop-in schedule, lowers a capacity, checks and saves a draft with the keyboard alone; a second
operator sees the draft with what changed and the two bookings it cancels before the approve
button, approves through the confirm step, and the API then has the new version; he rolls it
back from the page's versions after a confirm step that says what the rollback cancels."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.core.booking.closures import closure_job_id
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium
from tests.clock import real_clock_day
from tests.conftest import make_settings
from tests.integration.test_coach_accessibility import set_viewport, sideways
from tests.integration.test_content_page import (
    PASSWORD,
    active,
    base_url,
    log_in,
    operator_api,
    press,
    tab_to,
    text_of,
    wait,
    weak_focus,
)
from tests.integration.test_handover import FIXTURE_CONFIG

DROPIN = (FIXTURE_CONFIG / "dropin.yml").read_text(encoding="utf-8")
CAPACITY = "    capacity: 3"  # the unga-jarva session's: three seats, three people booked
CAPACITY_LINE = DROPIN.splitlines().index(CAPACITY) + 1


def with_capacity(seats: int) -> str:
    assert DROPIN.count(CAPACITY + "\n") == 1
    return DROPIN.replace(CAPACITY + "\n", f"    capacity: {seats}\n")


@pytest.fixture
async def panel(aiohttp_client, prefix, redis) -> TestClient:
    """The gateway on the test schedule with two operators (Olga writes, Omar reviews)."""
    client = await aiohttp_client(create_app(make_settings(prefix, config_dir=FIXTURE_CONFIG)))
    accounts = client.server.app[SERVICES].accounts
    await accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    await accounts.add("omar", PASSWORD, [], name="Omar", role="operator")
    return client


@pytest.fixture
async def booked(panel: TestClient) -> tuple[str, list[str]]:
    """Three people booked on the unga-jarva slot three days from now (the clock's), through
    the gateway's own booking service: (the slot, their codes, in the order booked)."""
    slot = f"unga-jarva:{real_clock_day(3).isoformat()}T10:00"
    bookings = panel.server.app[SERVICES].bookings
    codes = []
    for n, language in enumerate(("sv", "ar", "so")):
        result = await bookings.book(f"webchat:facts-page-{n}", slot, language)
        assert result.booking is not None, result.status
        codes.append(result.booking.code)
    return slot, codes


# ---------------------------------------------------------------------- browser helpers
def open_facts(driver) -> None:  # type: ignore[no-untyped-def]
    driver.find_element(By.ID, "facts-open").click()
    wait(driver).until(lambda d: active(d)["id"] == "facts-editor-title")
    wait(driver).until(lambda d: d.find_element(By.ID, "facts-yaml").get_attribute("value"))


def set_yaml(driver, text: str) -> None:  # type: ignore[no-untyped-def]
    """Replace the document as a paste would (not a test of the keyboard: that is below)."""
    driver.execute_script(
        "const a = document.getElementById('facts-yaml'); a.value = arguments[0];"
        "a.dispatchEvent(new Event('input', {bubbles: true}))", text)


def impact_shown(driver, count: int) -> bool:  # type: ignore[no-untyped-def]
    return f"Ändringen avbokar {count} bokningar:" in text_of(driver, "facts-impact")


def error_state(driver) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    area = driver.find_element(By.ID, "facts-yaml")
    goto = driver.find_element(By.ID, "facts-goto")
    return {"error": text_of(driver, "facts-error"), "invalid": area.get_attribute("aria-invalid"),
            "described": area.get_attribute("aria-describedby"),
            "goto": goto.text if goto.is_displayed() else None}


def cursor_line(driver) -> int:  # type: ignore[no-untyped-def]
    return int(driver.execute_script(
        "const a = document.getElementById('facts-yaml');"
        "return a.value.slice(0, a.selectionStart).split('\\n').length"))


# ---------------------------------------------------------------------- 1. axe, 1280 and 320
def mistake_and_impact(base: str, line: int) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#content-body tr"))
        open_facts(driver)
        area = driver.find_element(By.ID, "facts-yaml")
        seen["field"] = {"name": area.accessible_name,
                         "spellcheck": area.get_attribute("spellcheck"),
                         "dir": area.get_attribute("dir"), "wrap": area.get_attribute("wrap"),
                         "font": driver.execute_script(
                             "return getComputedStyle(arguments[0]).fontFamily", area)}
        seen["about"] = text_of(driver, "facts-about")
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#facts-versions > li"))
        seen["versions"] = driver.find_element(By.ID, "facts-versions").text

        set_yaml(driver, with_capacity(0))  # checked while typing (debounced)
        wait(driver).until(lambda d: text_of(d, "facts-error").startswith(f"Rad {line}:"))
        seen["mistake"] = error_state(driver)
        wait(driver).until(lambda d: text_of(d, "facts-announcer"))
        seen["mistake_said"] = text_of(driver, "facts-announcer")
        seen["axe_mistake"] = axe_violations(driver)
        driver.find_element(By.ID, "facts-goto").send_keys(Keys.ENTER)
        seen["after_goto"] = {"focus": active(driver)["id"], "line": cursor_line(driver),
                              "cursor": text_of(driver, "facts-cursor")}

        set_yaml(driver, with_capacity(1))
        wait(driver).until(lambda d: impact_shown(d, 2))
        seen["impact"] = text_of(driver, "facts-impact")
        seen["impact_items"] = [li.text for li in driver.find_elements(
            By.CSS_SELECTOR, "#facts-impact li")]
        seen["fixed"] = error_state(driver)
        seen["axe_impact"] = axe_violations(driver)

        set_viewport(driver, 320, 700)
        seen["narrow_impact"] = sideways(driver)
        seen["axe_narrow_impact"] = axe_violations(driver)
        set_yaml(driver, with_capacity(0))
        wait(driver).until(lambda d: text_of(d, "facts-error").startswith(f"Rad {line}:"))
        seen["narrow_mistake"] = sideways(driver)
        seen["axe_narrow_mistake"] = axe_violations(driver)
    return seen


async def test_no_axe_violations_with_a_mistake_and_with_an_impact_at_1280_and_320(
        panel, booked, aiohttp_client) -> None:
    slot, codes = booked
    olga = await operator_api(panel, aiohttp_client, "olga")
    token = (await (await olga.get("/coach/api/me")).json())["csrf_token"]
    refused = await olga.post("/coach/api/content/facts/impact", headers={"X-CSRF-Token": token},
                              json={"document": "dropin", "yaml": with_capacity(0)})
    line = (await refused.json())["line"]  # where the server says the mistake is
    assert refused.status == 400 and isinstance(line, int)

    seen = await asyncio.to_thread(mistake_and_impact, base_url(panel), line)
    for state in ("axe_mistake", "axe_impact", "axe_narrow_impact", "axe_narrow_mistake"):
        assert seen[state] == [], state
    assert seen["field"]["name"] == "Drop-in-schema (YAML)"
    assert (seen["field"]["spellcheck"], seen["field"]["dir"], seen["field"]["wrap"]) == (
        "false", "ltr", "off")
    assert "mono" in seen["field"]["font"].lower()
    assert "0 (levererad med Lotsen)" in seen["about"]
    assert seen["versions"].startswith("Version 0")

    mistake = seen["mistake"]
    assert mistake["error"].startswith(f"Rad {line}: 'capacity' must be a whole number")
    assert mistake["invalid"] == "true" and "facts-error" in mistake["described"].split()
    assert mistake["goto"] == f"Gå till rad {line}"
    assert seen["mistake_said"].startswith(f"Fel på rad {line}:")
    assert seen["after_goto"]["focus"] == "facts-yaml" and seen["after_goto"]["line"] == line
    assert seen["after_goto"]["cursor"].startswith(f"Markören står på rad {line},")

    assert seen["impact"].startswith("Inga fel.")
    assert len(seen["impact_items"]) == 2
    day = slot.split(":", 1)[1]
    for item in seen["impact_items"]:  # the time in words, the code, why: never who
        assert "kl. 10:00, unga-jarva" in item and "fler bokade än" in item
        assert any(code in item for code in codes)
    assert sum(code in " ".join(seen["impact_items"]) for code in codes) == 2
    assert day not in " ".join(seen["impact_items"])  # a date people read, not an ISO one
    assert seen["fixed"]["invalid"] is None and seen["fixed"]["goto"] is None
    for state in ("narrow_impact", "narrow_mistake"):
        scroll_width, inner_width = seen[state]
        assert scroll_width <= inner_width, state
    drafts = await (await olga.get("/coach/api/content/drafts")).json()
    assert drafts["drafts"] == []  # checking saves nothing


# ---------------------------------------------------------------------- 2. keyboard, review
def draft_by_keyboard(base: str) -> dict[str, Any]:
    """Olga: Tab to the document, Tab and Enter to open it; Tab into the field, go to the
    capacity with the arrow keys and change it; Tab to Kontrollera, Enter; Tab to save, Enter."""
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        wait(driver).until(lambda d: active(d)["id"] == "content-title")
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#content-body tr"))
        stops = tab_to(driver, lambda a: a["id"] == "facts-document", limit=8)
        seen["document"] = driver.find_element(By.ID, "facts-document").get_attribute("value")
        stops += tab_to(driver, lambda a: a["id"] == "facts-open", limit=1)
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: active(d)["id"] == "facts-editor-title")
        wait(driver).until(lambda d: d.find_element(By.ID, "facts-yaml").get_attribute("value")
                           == DROPIN)
        stops += tab_to(driver, lambda a: a["id"] == "facts-yaml", limit=1)
        ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.HOME).key_up(Keys.CONTROL) \
            .send_keys(*([Keys.DOWN] * (CAPACITY_LINE - 1)), Keys.END, Keys.BACKSPACE, "1") \
            .perform()
        seen["typed"] = driver.find_element(By.ID, "facts-yaml").get_attribute("value")
        wait(driver).until(lambda d: impact_shown(d, 2))  # checked while typing
        wait(driver).until(lambda d: text_of(d, "facts-announcer"))  # and said
        stops += tab_to(driver, lambda a: a["id"] == "facts-check", limit=1)
        # Said again when asked for, even though nothing changed since.
        driver.execute_script("document.getElementById('facts-announcer').textContent = ''")
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: text_of(d, "facts-announcer"))
        seen["checked"] = text_of(driver, "facts-announcer")
        stops += tab_to(driver, lambda a: a["id"] == "facts-save", limit=1)
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: "är sparat" in text_of(d, "facts-live"))
        seen["live"] = text_of(driver, "facts-live")
        seen["live_role"] = driver.find_element(By.ID, "facts-live").get_attribute("role")
        seen["after_save"] = active(driver)["id"]
        seen["editor_shown"] = driver.find_element(By.ID, "facts-editor").is_displayed()
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                     ".facts-draft .facts-impact ul"))
        own = driver.find_element(By.CSS_SELECTOR, ".facts-draft")
        seen["own_draft"] = {"text": own.text, "buttons": [
            b.get_attribute("data-action") for b in own.find_elements(By.TAG_NAME, "button")]}
        seen["stops"] = stops
        seen["axe_saved"] = axe_violations(driver)
    return seen


def approve_and_roll_back(base: str) -> dict[str, Any]:
    """Omar: approves Olga's draft through the confirm step, then rolls the schedule back."""
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "omar")
        wait(driver).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, ".facts-draft .facts-impact-count"))
        draft = driver.find_element(By.CSS_SELECTOR, ".facts-draft")
        seen["draft"] = draft.text
        seen["changes"] = [li.get_attribute("textContent") for li in draft.find_elements(
            By.CSS_SELECTOR, ".facts-diff li.del, .facts-diff li.ins")]
        approve = draft.find_element(By.CSS_SELECTOR, "button[data-action=approve]")
        seen["impact_first"] = driver.execute_script(
            "return Boolean(arguments[0].compareDocumentPosition(arguments[1])"
            "               & Node.DOCUMENT_POSITION_FOLLOWING)",
            draft.find_element(By.CSS_SELECTOR, ".facts-impact-list"), approve)
        seen["approve"] = {"name": approve.accessible_name,
                           "description": driver.execute_script(
                               "return document.getElementById(arguments[0].getAttribute("
                               "'aria-describedby')).textContent", approve)}
        approve.send_keys(Keys.ENTER)
        confirm = draft.find_element(By.CSS_SELECTOR, ".confirm")
        wait(driver).until(lambda d: confirm.is_displayed())
        seen["confirm"] = {"group": confirm.accessible_name, "focus": active(driver)["text"],
                           "approve_shown": approve.is_displayed()}
        seen["axe_confirm"] = axe_violations(driver)
        press(driver, Keys.ENTER)  # "Ja, godkänn och avboka 2 bokningar"
        wait(driver).until(lambda d: "Godkänt och publicerat" in text_of(d,
                                                                         "content-drafts-status")
                           or text_of(d, "content-drafts-error"))
        assert text_of(driver, "content-drafts-error") == ""
        seen["approved"] = text_of(driver, "content-drafts-status")
        seen["after_approve"] = active(driver)["id"]
        seen["drafts_left"] = len(driver.find_elements(By.CSS_SELECTOR, "#content-drafts-list li"))
        seen["api_after_approve"] = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/coach/api/content/facts', {credentials: 'same-origin'})"
            "  .then((r) => r.json()).then((b) => done(b.documents.dropin))")

        open_facts(driver)
        seen["opened"] = driver.find_element(By.ID, "facts-yaml").get_attribute("value")
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR,
                                                         "#facts-versions > li")) == 2)
        seen["versions"] = driver.find_element(By.ID, "facts-versions").text
        shipped = driver.find_elements(By.CSS_SELECTOR, "#facts-versions > li")[1]
        shipped.find_element(By.XPATH, ".//button[text()='Återställ version 0']").send_keys(
            Keys.ENTER)
        confirm = shipped.find_element(By.CSS_SELECTOR, ".confirm")
        wait(driver).until(lambda d: confirm.is_displayed())
        seen["rollback_confirm"] = {"group": confirm.accessible_name, "text": confirm.text,
                                    "focus": active(driver)["text"]}
        seen["axe_rollback"] = axe_violations(driver)
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: "återställd" in text_of(d, "facts-versions-status")
                           or text_of(d, "facts-versions-error"))
        assert text_of(driver, "facts-versions-error") == ""
        seen["rolled_back"] = text_of(driver, "facts-versions-status")
        seen["after_rollback"] = active(driver)["id"]
        seen["shown_after_rollback"] = driver.find_element(By.ID, "facts-yaml").get_attribute(
            "value")
    return seen


async def test_keyboard_only_draft_then_a_second_operator_approves_through_the_confirm_step(
        panel, booked, aiohttp_client) -> None:
    _, codes = booked
    seen = await asyncio.to_thread(draft_by_keyboard, base_url(panel))
    assert seen["document"] == "dropin"
    assert seen["typed"] == with_capacity(1)
    assert weak_focus(seen["stops"]) == {}
    assert seen["checked"] == "Inga fel. Ändringen avbokar 2 bokningar."
    assert seen["live"] == ("Utkastet för Drop-in-schema är sparat. Godkänns det avbokas 2 "
                            "bokningar. En annan operatör måste godkänna det innan det publiceras.")
    assert seen["live_role"] == "status"
    assert seen["after_save"] == "facts-open" and not seen["editor_shown"]
    own = seen["own_draft"]
    assert own["text"].startswith("Drop-in-schema (fakta och schema)")
    assert "Ändringen avbokar 2 bokningar" in own["text"] and "Du skrev utkastet" in own["text"]
    assert own["buttons"] == ["discard"]  # no approve button on her own draft
    assert seen["axe_saved"] == []

    olga = await operator_api(panel, aiohttp_client, "olga")
    drafts = (await (await olga.get("/coach/api/content/drafts")).json())["drafts"]
    assert [(d["id"], d["language"], d["text"], d["author"]) for d in drafts] == [
        ("facts/dropin", "facts", with_capacity(1), "olga")]
    documents = (await (await olga.get("/coach/api/content/facts")).json())["documents"]
    assert documents["dropin"] == {"yaml": DROPIN, "version": 0}  # a draft publishes nothing

    seen = await asyncio.to_thread(approve_and_roll_back, base_url(panel))
    assert "Skrivet av olga" in seen["draft"] and "Ändringen avbokar 2 bokningar" in seen["draft"]
    assert "Ändringar mot den publicerade versionen (version 0)" in seen["draft"]
    # What changed, line by line: said in words (hidden), shown with the line and a sign.
    assert seen["changes"] == [" −Borttagen rad:     capacity: 3",
                               f"{CAPACITY_LINE} +Ny rad {CAPACITY_LINE}:     capacity: 1"]
    assert seen["impact_first"]  # the bookings it cancels come before the approve button
    assert seen["approve"]["name"] == "Godkänn och publicera Drop-in-schema"
    assert seen["approve"]["description"].startswith("Godkänner du utkastet avbokas 2 bokningar")
    assert seen["confirm"]["group"].startswith("Godkänna Drop-in-schema? 2 bokningar avbokas")
    assert seen["confirm"]["focus"] == "Ja, godkänn och avboka 2 bokningar"
    assert not seen["confirm"]["approve_shown"]
    assert seen["axe_confirm"] == [] and seen["axe_rollback"] == []
    assert seen["approved"].startswith("Godkänt och publicerat: Drop-in-schema, version 1. "
                                       "2 bokningar avbokas")
    assert seen["after_approve"] == "content-drafts-title" and seen["drafts_left"] == 0
    assert seen["api_after_approve"] == {"yaml": with_capacity(1), "version": 1}

    assert seen["opened"] == with_capacity(1)
    assert seen["versions"].startswith("Version 1") and "godkänd av omar" in seen["versions"]
    assert "Inga bokningar påverkas." in seen["rollback_confirm"]["text"]
    assert seen["rollback_confirm"]["group"].startswith("Återställa version 0 av Drop-in-schema?")
    assert seen["rollback_confirm"]["focus"] == "Ja, återställ version 0"
    assert seen["rolled_back"].startswith("Version 0 är återställd och publicerad som version 2.")
    assert seen["after_rollback"] == "facts-versions-title"
    assert seen["shown_after_rollback"] == DROPIN

    omar = await operator_api(panel, aiohttp_client, "omar")
    versions = (await (await omar.get("/coach/api/content/versions",
                                      params={"id": "facts/dropin", "language": "facts"})).json())
    assert [(v["version"], v["kind"], v["author"], v["approved_by"])
            for v in versions["versions"]] == [
        (2, "rollback", "omar", "omar"), (1, "edit", "olga", "omar"), (0, "shipped", None, None)]
    assert versions["versions"][1]["text"] == with_capacity(1)
    documents = (await (await omar.get("/coach/api/content/facts")).json())["documents"]
    assert documents["dropin"] == {"yaml": DROPIN, "version": 2}
    # The approval queued a cancellation for the two latest bookings (no worker runs here).
    jobs = await panel.server.app[SERVICES].bookings.jobs.load(
        [closure_job_id(code) for code in codes])
    assert sum(job is not None for job in jobs) == 2
