"""The operators' content page ("Innehåll", issue 24) in a real headless Chromium against the
real gateway and Redis: axe-core finds no WCAG 2.1 A/AA violation with the list, with the editor
open and its preview shown, and with a refused save, at 1280 and 320 px (and nothing scrolls
sideways); an operator reaches the search, opens a text, edits it and saves a draft with the
keyboard alone; her own draft offers her no approve button; a second operator approves it in
the page (published: reviewed by him) and rolls it back after a confirm step; a coach never
sees the page. Saves reports/coach-content.png."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.config import ROOT
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, chromium, contrast
from tests.conftest import make_settings
from tests.integration.test_coach_accessibility import FOCUS_JS, set_viewport, sideways

SCREENSHOT = ROOT / "reports" / "coach-content.png"
PASSWORD = "correct horse battery"
TEXT_ID = "answers/info_sfi/where/text"
SOMALI = f"{TEXT_ID}|so"
ARABIC = f"{TEXT_ID}|ar"
NEW_SO = "Järva waxaad sfi ku baran kartaa Komvux Rinkeby iyo Komvux Kista."
TOO_LONG = "Tani waa qoraal aad u dheer. " * 20  # 580 characters: over the SMS limit


@pytest.fixture
async def panel(aiohttp_client, prefix, redis) -> TestClient:
    """The gateway with two operators (Olga writes, Omar reviews) and a coach (Sara)."""
    client = await aiohttp_client(create_app(make_settings(prefix)))
    accounts = client.server.app[SERVICES].accounts
    await accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    await accounts.add("omar", PASSWORD, [], name="Omar", role="operator")
    await accounts.add("sara", PASSWORD, ["jobbtorg-unga-jarva"], name="Sara")
    return client


async def operator_api(panel: TestClient, aiohttp_client, username: str) -> TestClient:
    """A logged-in HTTP client of its own (its own cookies), to check what the page did."""
    browser = await aiohttp_client(panel.server)
    response = await browser.post("/coach/api/login", json={"username": username,
                                                            "password": PASSWORD})
    assert response.status == 200
    return browser


async def somali_text(api: TestClient) -> dict[str, Any]:
    response = await api.get("/coach/api/content", params={"language": "so", "q": TEXT_ID,
                                                           "status": ""})
    texts = [t for t in (await response.json())["texts"] if t["id"] == TEXT_ID]
    assert len(texts) == 1
    return texts[0]


# ---------------------------------------------------------------------- browser helpers
def wait(driver, timeout: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def base_url(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


def active(driver) -> dict[str, str | None]:
    return driver.execute_script(
        "const a = document.activeElement;"
        "return {id: a.id || null, key: a.dataset.key || null, tag: a.tagName,"
        "        text: a.textContent.trim().slice(0, 60)}")


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).get_attribute("textContent") or ""


def log_in(driver, base: str, username: str, hash_: str = "#innehall") -> None:
    """Log in by typing (keyboard only: the name, the password and Enter)."""
    driver.get(f"{base}/coach/{hash_}")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "username"))).send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    wait(driver).until(ec.visibility_of_element_located((By.ID, "who")))


def wait_for_rows(driver, at_least: int = 1) -> None:
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#content-body tr"))
                       >= at_least)


def row_button(driver, key: str):  # type: ignore[no-untyped-def]
    return driver.find_element(By.CSS_SELECTOR, f'#content-body button[data-key="{key}"]')


def search(driver, query: str, language: str = "") -> None:
    """Search with the form (not a test of the keyboard: that is below)."""
    wait(driver).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f'#content-language option[value="{language}"]'))
    field = driver.find_element(By.ID, "content-q")
    field.clear()
    field.send_keys(query)
    Select(driver.find_element(By.ID, "content-language")).select_by_value(language)
    driver.find_element(By.CSS_SELECTOR, "#content-form button[type=submit]").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#content-body tr") and all(
        key.startswith(query) and (not language or key.endswith(f"|{language}"))
        for key in d.execute_script(
            "return [...document.querySelectorAll('#content-body button')]"
            ".map((b) => b.dataset.key)")))


def open_editor(driver, key: str) -> None:
    row_button(driver, key).click()
    wait(driver).until(lambda d: active(d)["id"] == "content-editor-title")
    wait(driver).until(lambda d: text_of(d, "content-sms-facts"))  # the preview is shown


def press(driver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver, wanted, limit: int = 25) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Press Tab until `wanted(active element)` holds; the focus state of each stop."""
    stops = []
    for _ in range(limit):
        press(driver, Keys.TAB)
        stops.append(driver.execute_script(FOCUS_JS))
        if wanted(active(driver)):
            return stops
    raise AssertionError(f"Tab never reached the element; stops: {[s['key'] for s in stops]}")


def weak_focus(stops: list[dict[str, Any]]) -> dict[str, tuple[object, ...]]:
    """Focus indicators that are missing, thin or under 3:1 against what is behind them."""
    return {s["key"]: (s["style"], s["color"], s["width"], s["behind"]) for s in stops
            if not s["focusVisible"] or s["style"] in ("none", "hidden") or s["width"] < 2
            or contrast(s["color"], s["behind"]) < 3}


# ---------------------------------------------------------------------- 1. axe, 1280 and 320
def list_editor_and_preview(base: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        wait_for_rows(driver, 50)
        seen["nav"] = driver.find_element(By.ID, "nav-content").get_attribute("aria-current")
        seen["queue_shown"] = driver.find_element(By.ID, "work-view").is_displayed()
        seen["count"] = text_of(driver, "content-count")
        seen["summary"] = driver.find_element(By.ID, "content-summary-body").text
        seen["axe_list"] = axe_violations(driver)

        search(driver, TEXT_ID)
        open_editor(driver, ARABIC)
        seen["ar"] = {name: driver.find_element(By.ID, name).get_attribute("dir")
                      for name in ("content-text", "content-webchat", "content-sms")}
        open_editor(driver, SOMALI)
        seen["label"] = driver.find_element(By.ID, "content-text").accessible_name
        seen["readability"] = text_of(driver, "content-readability")
        seen["webchat"] = text_of(driver, "content-webchat")
        seen["sms"] = text_of(driver, "content-sms-facts")
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#content-versions li"))
        seen["versions"] = driver.find_element(By.ID, "content-versions").text
        seen["axe_editor"] = axe_violations(driver)
        driver.execute_script("window.scrollTo(0, 0)")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))

        area = driver.find_element(By.ID, "content-text")
        area.clear()
        area.send_keys(TOO_LONG)
        wait(driver).until(lambda d: "SMS-delar" in text_of(d, "content-sms-facts")
                           and text_of(d, "content-webchat").strip() == TOO_LONG.strip())
        driver.find_element(By.ID, "content-save").click()
        wait(driver).until(lambda d: text_of(d, "content-text-error"))
        seen["refused"] = {"error": text_of(driver, "content-text-error"),
                           "invalid": area.get_attribute("aria-invalid"),
                           "described": area.get_attribute("aria-describedby"),
                           "focus": active(driver)["id"]}
        seen["axe_refused"] = axe_violations(driver)

        set_viewport(driver, 320, 700)
        seen["narrow_editor"] = sideways(driver)
        seen["axe_narrow_editor"] = axe_violations(driver)
        driver.find_element(By.ID, "content-close").click()
        wait(driver).until(lambda d: active(d)["key"] == SOMALI)  # back to its row
        seen["narrow_list"] = sideways(driver)
        seen["axe_narrow_list"] = axe_violations(driver)
    return seen


async def test_no_axe_violations_with_the_list_the_editor_and_its_preview_at_1280_and_320(
        panel, aiohttp_client) -> None:
    seen = await asyncio.to_thread(list_editor_and_preview, base_url(panel))
    for state in ("axe_list", "axe_editor", "axe_refused", "axe_narrow_editor",
                  "axe_narrow_list"):
        assert seen[state] == [], state
    assert seen["nav"] == "page" and not seen["queue_shown"]
    assert seen["count"].startswith("Visar de första 200 texter")  # more than 200: narrow it
    texts = len(panel.server.app[SERVICES].workspace.inventory.items)  # every text, draft
    assert "somaliska" in seen["summary"] and f"0 {texts} 0 0" in seen["summary"]
    assert seen["ar"] == {"content-text": "rtl", "content-webchat": "rtl", "content-sms": "rtl"}
    assert seen["label"] == "Text på somaliska"
    assert "ord per mening" in seen["readability"] and "LIX" not in seen["readability"]
    assert seen["webchat"].startswith("Järva waxaad sfi")
    assert seen["sms"].startswith("1 SMS-del")
    assert seen["versions"].startswith("Version 0")
    refused = seen["refused"]
    assert refused["error"].startswith("Inte sparat:") and "480" in refused["error"]
    assert refused["invalid"] == "true" and refused["focus"] == "content-text"
    assert "content-text-error" in refused["described"].split()
    for state in ("narrow_editor", "narrow_list"):
        scroll_width, inner_width = seen[state]
        assert scroll_width <= inner_width, state
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
    olga = await operator_api(panel, aiohttp_client, "olga")
    drafts = await (await olga.get("/coach/api/content/drafts")).json()
    assert drafts["drafts"] == []  # the refused edit left nothing behind


# ---------------------------------------------------------------------- 2. keyboard, review
def write_a_draft_by_keyboard(base: str) -> dict[str, Any]:
    """Olga: Tab to the search, type, Enter; Tab to the Somali text, Enter; Tab, type; Tab to
    save, Enter. No clicks."""
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "olga")
        wait(driver).until(lambda d: active(d)["id"] == "content-title")
        wait_for_rows(driver)
        stops = tab_to(driver, lambda a: a["id"] == "content-q", limit=1)
        press(driver, TEXT_ID, Keys.ENTER)
        wait(driver).until(lambda d: text_of(d, "content-count") == "7 texter.")
        stops += tab_to(driver, lambda a: a["key"] == SOMALI)
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: active(d)["id"] == "content-editor-title")
        stops += tab_to(driver, lambda a: a["id"] == "content-text", limit=1)
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL) \
            .send_keys(NEW_SO).perform()
        wait(driver).until(lambda d: text_of(d, "content-webchat") == NEW_SO)  # live preview
        seen["readability"] = text_of(driver, "content-readability")
        stops += tab_to(driver, lambda a: a["id"] == "content-save", limit=1)
        press(driver, Keys.ENTER)
        wait(driver).until(lambda d: "är sparat" in text_of(d, "content-live"))
        seen["live"] = text_of(driver, "content-live")
        seen["live_role"] = driver.find_element(By.ID, "content-live").get_attribute("role")
        seen["after_save"] = active(driver)
        seen["editor_shown"] = driver.find_element(By.ID, "content-editor").is_displayed()
        seen["row_status"] = driver.find_element(
            By.XPATH, "//button[@data-key='" + SOMALI + "']/ancestor::tr").text
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#content-drafts-list li"))
        own = driver.find_element(By.CSS_SELECTOR, "#content-drafts-list li")
        seen["own_draft"] = {"text": own.text, "buttons": [
            b.get_attribute("data-action") for b in own.find_elements(By.TAG_NAME, "button")]}
        seen["stops"] = stops
        seen["axe_saved"] = axe_violations(driver)
    return seen


def approve_and_roll_back(base: str) -> dict[str, Any]:
    """Omar: approves Olga's draft in the page, then rolls the text back to the shipped one."""
    seen: dict[str, Any] = {}
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "omar")
        wait(driver).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, "#content-drafts-list button[data-action=approve]"))
        draft = driver.find_element(By.CSS_SELECTOR, "#content-drafts-list li")
        seen["draft"] = draft.text
        approve = draft.find_element(By.CSS_SELECTOR, "button[data-action=approve]")
        seen["approve_name"] = approve.accessible_name
        approve.send_keys(Keys.ENTER)
        wait(driver).until(lambda d: "Godkänt och publicerat" in text_of(d,
                                                                         "content-drafts-status"))
        seen["approved"] = text_of(driver, "content-drafts-status")
        seen["after_approve"] = active(driver)["id"]
        seen["drafts_left"] = len(driver.find_elements(By.CSS_SELECTOR,
                                                       "#content-drafts-list li"))
        seen["axe_approved"] = axe_violations(driver)

        search(driver, TEXT_ID, "so")
        open_editor(driver, SOMALI)
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR,
                                                         "#content-versions > li")) == 2)
        seen["versions"] = driver.find_element(By.ID, "content-versions").text
        shipped = driver.find_elements(By.CSS_SELECTOR, "#content-versions > li")[1]
        restore = shipped.find_element(By.XPATH, ".//button[text()='Återställ version 0']")
        restore.send_keys(Keys.ENTER)
        confirm = shipped.find_element(By.CSS_SELECTOR, ".confirm")
        wait(driver).until(lambda d: confirm.is_displayed())
        seen["confirm"] = {"group": confirm.accessible_name, "focus": active(driver)["text"]}
        seen["axe_confirm"] = axe_violations(driver)
        press(driver, Keys.ENTER)  # "Ja, återställ version 0"
        wait(driver).until(lambda d: "återställd" in text_of(d, "content-versions-status")
                           or text_of(d, "content-versions-error"))
        assert text_of(driver, "content-versions-error") == ""
        seen["rolled_back"] = text_of(driver, "content-versions-status")
        seen["after_rollback"] = active(driver)["id"]
    return seen


async def test_keyboard_only_draft_then_a_second_operator_approves_and_rolls_back(
        panel, aiohttp_client) -> None:
    olga = await operator_api(panel, aiohttp_client, "olga")
    shipped = (await somali_text(olga))["text"]
    seen = await asyncio.to_thread(write_a_draft_by_keyboard, base_url(panel))
    assert [s["key"] for s in seen["stops"][:1]] == ["content-q"]  # from the heading: search
    assert weak_focus(seen["stops"]) == {}
    assert "ord per mening" in seen["readability"]
    assert seen["live"] == (f"Utkastet för {TEXT_ID} på somaliska är sparat. En annan operatör "
                            "måste godkänna det innan det publiceras.")
    assert seen["live_role"] == "status"
    assert seen["after_save"]["key"] == SOMALI and not seen["editor_shown"]
    assert "utkast från olga väntar på granskning" in seen["row_status"]
    assert "Du skrev utkastet" in seen["own_draft"]["text"]
    assert seen["own_draft"]["buttons"] == ["discard"]  # no approve button on her own draft
    assert seen["axe_saved"] == []
    drafts = (await (await olga.get("/coach/api/content/drafts")).json())["drafts"]
    assert [(d["id"], d["language"], d["text"], d["author"]) for d in drafts] == [
        (TEXT_ID, "so", NEW_SO, "olga")]
    assert (await somali_text(olga))["text"] == shipped  # a draft publishes nothing

    seen = await asyncio.to_thread(approve_and_roll_back, base_url(panel))
    assert "olga" in seen["draft"] and NEW_SO in seen["draft"]
    assert seen["approve_name"] == f"Godkänn och publicera {TEXT_ID} på somaliska"
    assert seen["approved"] == f"Godkänt och publicerat: {TEXT_ID} på somaliska, version 1."
    assert seen["after_approve"] == "content-drafts-title" and seen["drafts_left"] == 0
    assert seen["axe_approved"] == [] and seen["axe_confirm"] == []
    assert seen["versions"].startswith("Version 1") and "godkänd av omar" in seen["versions"]
    assert seen["confirm"]["group"].startswith("Återställa version 0?")
    assert seen["confirm"]["focus"] == "Ja, återställ version 0"
    assert seen["rolled_back"].startswith("Version 0 är återställd och publicerad som version")
    assert seen["after_rollback"] == "content-versions-title"
    now = await somali_text(olga)
    assert now["text"] == shipped and now["version"] >= 2


# ---------------------------------------------------------------------- 3. operators only
def coach_at_the_content_page(base: str) -> dict[str, bool]:
    with chromium(width=1280, height=1000) as driver:
        log_in(driver, base, "sara")
        wait(driver).until(ec.visibility_of_element_located((By.ID, "work-view")))
        return {name: driver.find_element(By.ID, name).is_displayed()
                for name in ("nav-content", "content-view", "work-view")}


async def test_a_coach_never_sees_the_content_page(panel) -> None:
    seen = await asyncio.to_thread(coach_at_the_content_page, base_url(panel))
    assert seen == {"nav-content": False, "content-view": False, "work-view": True}
