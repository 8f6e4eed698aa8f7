"""The chat page as a person with a keyboard, a screen reader or a phone meets it (WCAG 2.1 AA):
axe-core in real Chromium, focus that stays where the person put it, a language picker that waits
for a confirmation, used buttons retired, history restored without being read out again,
translated accessible names, 44 px targets, reflow and focus rings of at least 3:1."""

from __future__ import annotations

import asyncio

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from bot.config import ROOT
from bot.core.messages import Reply
from bot.runtime.gateway import SERVICES
from scripts.browser import (
    axe_violations,
    bot_messages,
    chromium,
    contrast,
    focus_ring,
    interactive_sizes,
    say,
    sideways_overflow,
    wait_for_bot_messages,
)
from tests.browser_waits import announced as announced_texts
from tests.browser_waits import before_next_page, posts, record_posts, requests_to, settle
from tests.waiting import until_sync

PHONE_SCREENSHOT = ROOT / "reports" / "webchat-ar-phone.png"


def run(function, *args):
    return asyncio.to_thread(function, *args)


def open_chat(driver, url: str) -> None:
    driver.get(url)
    wait_for_bot_messages(driver, 1)


def active_id(driver) -> str:
    return driver.execute_script(
        "return document.activeElement.id || document.activeElement.textContent")


def enabled_reply_buttons(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, ".buttons button:not(:disabled)")


def axe_states(base: str) -> dict[str, list[str]]:
    """axe in each state the issue names; returns the violations per state."""
    found = {}
    with chromium() as driver:
        open_chat(driver, f"{base}/?lang=sv")
        found["fresh"] = axe_violations(driver)
        for text in ("vad är jobbtorg", "sfi för föräldralediga", "var ligger ni"):
            say(driver, text)
        enabled_reply_buttons(driver)[0].send_keys(Keys.ENTER)  # a used group, a new group
        wait_for_bot_messages(driver, 5)
        found["after three messages"] = axe_violations(driver)
    with chromium(width=360, height=740, phone=True) as driver:
        open_chat(driver, f"{base}/?lang=ar")
        say(driver, "أين تقع مكاتبكم؟")
        found["Arabic on a 360×740 phone"] = axe_violations(driver)
        PHONE_SCREENSHOT.parent.mkdir(exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(PHONE_SCREENSHOT))
    with chromium() as driver:
        open_chat(driver, f"{base}/?lang=ti")
        say(driver, "ብዛዕባ sfi ሓብረኒ")
        found["Tigrinya"] = axe_violations(driver)
    return found


async def test_axe_finds_no_violation_in_any_state(chat) -> None:
    found = await run(axe_states, str(chat.make_url("")).rstrip("/"))
    assert found == {state: [] for state in found}
    assert len(found) == 4
    assert PHONE_SCREENSHOT.stat().st_size > 10_000


def picker_session(url: str) -> dict[str, object]:
    with chromium() as driver:
        open_chat(driver, url)
        mine_before = len(driver.find_elements(By.CSS_SELECTOR, ".msg.me"))
        picker = driver.find_element(By.ID, "language")
        record_posts(driver)
        picker.send_keys(Keys.ARROW_DOWN)  # on a closed select: moves the selection only
        settle(driver)  # whatever the key started has run: a post would have been made
        after_arrow = {"lang": driver.find_element(By.TAG_NAME, "html").get_attribute("lang"),
                       "posts": posts(driver),
                       "picked": picker.get_attribute("value"), "focus": active_id(driver),
                       "mine": len(driver.find_elements(By.CSS_SELECTOR, ".msg.me")) - mine_before,
                       "bot": len(bot_messages(driver))}
        picker.send_keys(Keys.ENTER)  # the explicit action
        WebDriverWait(driver, 20).until(lambda d: len(bot_messages(d)) > after_arrow["bot"])
        return {"after_arrow": after_arrow,
                "lang": driver.find_element(By.TAG_NAME, "html").get_attribute("lang"),
                "mine": [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.me")],
                "focus": active_id(driver)}


async def test_arrow_keys_on_the_picker_change_nothing_until_confirmed(chat) -> None:
    result = await run(picker_session, str(chat.make_url("/?lang=sv")))
    arrow = result["after_arrow"]
    assert arrow["picked"] != "sv"  # the selection moved …
    assert arrow["lang"] == "sv" and arrow["mine"] == 0 and arrow["bot"] == 1  # … nothing else
    assert arrow["posts"] == []  # not even a request
    assert arrow["focus"] == "language"
    assert result["lang"] == arrow["picked"]  # Enter chose it
    assert len(result["mine"]) == 1
    assert result["focus"] == "language"  # the person is still where they acted


def focus_session(url: str, deliver) -> dict[str, object]:
    with chromium() as driver:
        open_chat(driver, url)
        first = enabled_reply_buttons(driver)
        groups = driver.find_elements(By.CSS_SELECTOR, ".buttons[role=group]")
        group_name = groups[0].accessible_name
        first[0].send_keys(Keys.ENTER)  # press a reply button with the keyboard
        wait_for_bot_messages(driver, 2)
        WebDriverWait(driver, 10).until(lambda d: active_id(d) == "text")
        pressed_disabled = not first[0].is_enabled()
        # Tab to a reply button of the new answer, then a coach's message arrives by polling.
        buttons = enabled_reply_buttons(driver)
        driver.execute_script("arguments[0].focus()", buttons[-1])
        focused = buttons[-1].text
        deliver(driver.execute_script("return sessionStorage.getItem('lotsen.session')"))
        wait_for_bot_messages(driver, 3, timeout=15)
        announced = until_sync(  # the announcer is given the text 50 ms after the message
            lambda: driver.find_element(By.ID, "announcer").get_attribute("textContent"),
            timeout=10, what="the coach's message to be announced")
        still = driver.switch_to.active_element.text
        for text in ("vad är jobbtorg", "sfi"):
            say(driver, text)
        usable = enabled_reply_buttons(driver)
        groups = driver.find_elements(By.CSS_SELECTOR, ".buttons")
        return {"group_name": group_name, "pressed_disabled": pressed_disabled,
                "focused": focused, "still": still, "announced": announced,
                "usable": len(usable), "last_group": len(groups[-1].find_elements(
                    By.TAG_NAME, "button"))}


async def test_focus_stays_where_the_person_put_it_and_used_buttons_retire(chat) -> None:
    channel = chat.server.app[SERVICES].channels["webchat"]
    loop = asyncio.get_running_loop()

    def deliver(session: str) -> None:
        reply = Reply("Hej, det här är Anna, din coach.")
        asyncio.run_coroutine_threadsafe(channel.deliver(session, [reply]), loop).result(10)

    result = await run(focus_session, str(chat.make_url("/?lang=sv")), deliver)
    assert result["group_name"] == "Svarsalternativ"
    assert result["pressed_disabled"] is True
    assert result["still"] == result["focused"]  # a message arrived; focus did not move
    assert "Anna, din coach" in result["announced"]
    # Only the newest answer's buttons stay in the tab order, however long the chat.
    assert result["usable"] == result["last_group"]


def reload_session(url: str) -> dict[str, object]:
    with chromium() as driver:
        open_chat(driver, url)
        say(driver, "vad är jobbtorg")
        say(driver, "sfi för föräldralediga")
        before = [(e.get_attribute("class"), e.text) for e in
                  driver.find_elements(By.CSS_SELECTOR, ".msg")]
        before_next_page(driver, interval_ms=100)  # the 5 s poll every 0.1 s; announcements kept
        driver.refresh()
        WebDriverWait(driver, 20).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg")) >= len(before))
        # Polls after the restore (`after=0`): nothing new arrives, nothing is read out.
        until_sync(lambda: requests_to(driver, "/messages?after=") >= 3, timeout=20,
                   what="two polls after the reload")
        settle(driver)
        after = [(e.get_attribute("class"), e.text) for e in
                 driver.find_elements(By.CSS_SELECTOR, ".msg")]
        announced = "\n".join(announced_texts(driver))
        usable = len(enabled_reply_buttons(driver))
        last = len(driver.find_elements(By.CSS_SELECTOR, ".msg")[-1].find_elements(
            By.CSS_SELECTOR, "button"))
        return {"before": before, "after": after, "announced": announced, "usable": usable,
                "last": last}


async def test_reload_restores_the_history_with_the_persons_own_messages_unannounced(chat) -> None:
    result = await run(reload_session, str(chat.make_url("/?lang=sv")))
    assert result["after"] == result["before"]
    assert [c for c, _ in result["after"]].count("msg me") == 2
    assert result["announced"] == ""
    assert result["usable"] == result["last"]


def erase_session(url: str, yes: str) -> dict[str, object]:
    with chromium() as driver:
        open_chat(driver, url)
        say(driver, "vad är jobbtorg")
        say(driver, "jag vill radera mina uppgifter")
        before = len(bot_messages(driver))
        next(b for b in enabled_reply_buttons(driver) if b.text == yes).send_keys(Keys.ENTER)
        wait_for_bot_messages(driver, before + 1)
        confirmation = bot_messages(driver)[-1]
        kept = driver.execute_script(
            "return Object.keys(sessionStorage).filter((k) => k !== 'lotsen.language')")
        driver.refresh()
        wait_for_bot_messages(driver, 1)
        # The greeting's send is over (and, before it, any restore of the old chat).
        until_sync(lambda: driver.find_element(By.ID, "send").get_attribute(
            "aria-disabled") is None, timeout=20, what="the greeting to finish")
        settle(driver)
        return {"confirmation": confirmation, "kept": kept,
                "after_reload": [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg")]}


async def test_erasure_is_confirmed_and_leaves_nothing_in_the_tab(chat) -> None:
    content = chat.server.app[SERVICES].engine.content
    result = await run(erase_session, str(chat.make_url("/?lang=sv")),
                       content.button("/erase:yes", "sv").title)
    assert result["confirmation"] == content.text("erased", "sv")
    assert result["kept"] == []  # no session, no own messages, no position in the log
    assert len(result["after_reload"]) == 1  # a fresh greeting, nothing of the old chat


def names_session(base: str, codes: list[str]) -> dict[str, dict[str, object]]:
    found = {}
    with chromium() as driver:
        for code in codes:
            # A page of the same origin without the chat's script: clearing the storage there
            # cannot race a chat that is still starting (and would store its session after).
            driver.get(f"{base}/webchat/languages")
            driver.execute_script("sessionStorage.clear()")
            open_chat(driver, f"{base}/?lang={code}")
            found[code] = {
                "text": driver.find_element(By.ID, "text").accessible_name,
                "log": driver.find_element(By.ID, "log").accessible_name,
                "group": driver.find_element(By.CSS_SELECTOR, ".buttons").accessible_name,
                "picker": driver.find_element(By.ID, "language").accessible_name,
                "send": driver.find_element(By.ID, "send").accessible_name,
                "link": driver.find_element(By.ID, "statement").accessible_name,
                "options": driver.execute_script(
                    "return [...document.querySelectorAll('#language option')]"
                    ".map((o) => [o.value, o.lang])"),
                "dir": driver.find_element(By.TAG_NAME, "html").get_attribute("dir")}
    return found


async def test_accessible_names_are_translated_in_every_language(chat) -> None:
    services = chat.server.app[SERVICES]
    codes = services.engine.languages.enabled
    assert len(codes) == 7
    found = await run(names_session, str(chat.make_url("")).rstrip("/"), codes)
    for code in codes:
        ui = services.engine.content.ui_labels(code)
        names = found[code]
        assert names["text"] == ui["message_label"], code
        assert names["log"] == ui["log_label"], code
        assert names["group"] == ui["choices"], code
        assert names["picker"] == ui["language"], code
        assert names["send"] == ui["send"] and names["link"] == ui["accessibility"], code
        assert all(value == lang for value, lang in names["options"]), code
        assert names["dir"] == services.engine.languages.languages[code].direction
    # Translated, not left in Swedish or English: seven different names for the text box.
    assert len({found[code]["text"] for code in codes}) == 7


def rtl_session(url: str) -> dict[str, object]:
    with chromium(width=360, height=740, phone=True) as driver:
        open_chat(driver, url)
        say(driver, "أين تقع مكاتبكم؟")
        bubble = driver.find_elements(By.CSS_SELECTOR, ".msg.bot")[-1]
        return {"dir": bubble.get_attribute("dir"),
                "direction": driver.execute_script(
                    "return getComputedStyle(arguments[0]).direction", bubble),
                "isolated": [e.text for e in bubble.find_elements(By.TAG_NAME, "bdi")]}


async def test_right_to_left_bubbles_isolate_swedish_addresses(chat) -> None:
    places = chat.server.app[SERVICES].engine.places
    result = await run(rtl_session, str(chat.make_url("/?lang=ar")))
    assert result["dir"] == "rtl" and result["direction"] == "rtl"
    # Each address sits whole inside one left-to-right isolate (not split, not reordered).
    addresses = [place.address for place in places.locations]
    assert any(address in run for address in addresses for run in result["isolated"]), \
        result["isolated"]


def phone_session(url: str) -> dict[str, object]:
    with chromium(width=360, height=740, phone=True) as driver:
        open_chat(driver, url)
        say(driver, "vad är jobbtorg")
        small = [e for e in interactive_sizes(driver) if e["height"] < 44 or e["width"] < 44]
        count = len(interactive_sizes(driver))
    with chromium(width=320, height=700, font_size=32) as driver:
        open_chat(driver, url)
        say(driver, "vad är jobbtorg")
        say(driver, "sfi för föräldralediga")
        return {"small": small, "count": count, "sideways": sideways_overflow(driver),
                "font": driver.execute_script("return parseFloat(getComputedStyle("
                                              "document.getElementById('text')).fontSize)"),
                "input_width": driver.find_element(By.ID, "text").rect["width"]}


async def test_phone_targets_and_reflow_at_320_px_with_200_percent_text(chat) -> None:
    result = await run(phone_session, str(chat.make_url("/?lang=sv")))
    assert result["count"] >= 8 and result["small"] == []
    assert result["sideways"] == 0
    assert result["font"] >= 30  # the person's own font size counts
    assert result["input_width"] > 200  # the text box keeps room to write in


def ring_session(url: str) -> list[dict[str, object]]:
    with chromium() as driver:
        open_chat(driver, url)
        say(driver, "vad är jobbtorg")
        driver.execute_script("document.activeElement.blur()")
        rings, seen = [], set()
        for _ in range(30):
            ActionChains(driver).send_keys(Keys.TAB).perform()  # to whatever has focus
            ring = focus_ring(driver)
            if ring["tag"] == "BODY":
                continue  # the page itself had focus, not yet a control
            if ring["name"] in seen:
                break
            seen.add(ring["name"])
            rings.append(ring)
        border = driver.execute_script(
            "const s = getComputedStyle(document.getElementById('text'));"
            "return [s.borderTopColor, getComputedStyle(document.getElementById('composer'))"
            ".backgroundColor]")
        return [*rings, {"name": "text box border", "ring": border[0], "style": "solid",
                         "width": 3, "behind": border[1]}]


async def test_focus_rings_and_borders_have_three_to_one_contrast(chat) -> None:
    rings = await run(ring_session, str(chat.make_url("/?lang=sv")))
    assert len(rings) >= 8  # picker, choose, link, log, reply buttons, text box, send …
    weak = [(r["name"], round(contrast(r["ring"], r["behind"]), 2)) for r in rings
            if r["style"] == "none" or r["width"] < 2 or contrast(r["ring"], r["behind"]) < 3]
    assert weak == []
