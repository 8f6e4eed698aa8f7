"""The chat page in a real headless Chromium: greeting, typing, buttons, keyboard, RTL."""

from __future__ import annotations

import asyncio

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from scripts.browser import bot_messages, chromium, say, wait_for_bot_messages


def arabic_session(url: str) -> dict[str, object]:
    with chromium() as driver:
        driver.get(url)
        wait_for_bot_messages(driver, 1)
        greeting = bot_messages(driver)[0]
        answer = say(driver, "أريد أن أتعلم اللغة السويدية")
        html = driver.find_element(By.TAG_NAME, "html")
        bubble = driver.find_elements(By.CSS_SELECTOR, ".msg.bot")[-1]
        log = driver.find_element(By.ID, "log")
        return {"dir": html.get_attribute("dir"), "lang": html.get_attribute("lang"),
                "greeting": greeting, "answer": answer,
                "bubble_right": bubble.rect["x"] + bubble.rect["width"],
                "log_right": log.rect["x"] + log.rect["width"],
                "placeholder": driver.find_element(By.ID, "text").get_attribute("placeholder")}


def keyboard_session(url: str) -> list[str]:
    """Use only the keyboard: Tab to the first topic button, Enter to press it."""
    with chromium() as driver:
        driver.get(url)
        wait_for_bot_messages(driver, 1)
        field = driver.find_element(By.ID, "text")
        field.send_keys(Keys.SHIFT + Keys.TAB)  # from the input back to the last button
        focused = driver.switch_to.active_element
        assert focused.tag_name == "button"
        focused.send_keys(Keys.ENTER)
        wait_for_bot_messages(driver, 2)
        return bot_messages(driver)


async def test_arabic_page_is_right_to_left_and_answers_in_arabic(chat) -> None:
    result = await asyncio.to_thread(arabic_session, str(chat.make_url("/?lang=ar")))
    assert result["dir"] == "rtl" and result["lang"] == "ar"
    assert "مرحب" in result["greeting"]
    assert "sfi" in result["answer"] and "السويدية" in result["answer"]
    assert result["placeholder"] != "Write your question…"
    # Bot bubbles start at the right edge in a right-to-left layout.
    assert abs(result["bubble_right"] - result["log_right"]) < 40


async def test_topics_work_with_the_keyboard_alone(chat) -> None:
    messages = await asyncio.to_thread(keyboard_session, str(chat.make_url("/?lang=sv")))
    assert len(messages) >= 2 and messages[0].startswith("Hej")
