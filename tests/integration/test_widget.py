"""The embed script on a city's page (another origin, a strict CSP, its own autofocused field):
a named 44 px launcher, a labelled panel, Escape closes it and focus returns, nothing takes focus
on load, axe finds nothing in the host page or the chat inside it."""

from __future__ import annotations

import asyncio

from aiohttp import web
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from bot.config import ROOT
from bot.runtime.gateway import SERVICES, create_app
from scripts.browser import axe_violations, bot_messages, chromium, wait_for_bot_messages
from tests.conftest import make_settings

SCREENSHOT = ROOT / "reports" / "widget-host.png"
HOST_PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stockholms stad – Föräldraledig</title></head>
<body><main><h1>Föräldraledig och vill lära dig svenska?</h1>
<p>En sida hos staden som bäddar in Lotsen.</p>
<form><label for="search">Sök på webbplatsen</label> <input id="search" autofocus></form>
</main>
<script src="{lotsen}/widget.js" data-lang="{lang}" data-position="right" defer></script>
</body></html>"""
SHADOW = "document.querySelector('.lotsen-widget').shadowRoot"


async def host_site(aiohttp_server, lotsen: dict[str, str]) -> str:
    """A city page on its own origin, with a CSP that allows Lotsen's script and frame only."""
    async def page(request: web.Request) -> web.Response:
        origin = lotsen["origin"]
        return web.Response(
            text=HOST_PAGE.format(lotsen=origin, lang=request.query.get("lang", "sv")),
            content_type="text/html", headers={"Content-Security-Policy": (
                f"default-src 'self'; script-src {origin}; frame-src {origin}; "
                "style-src 'self'")})

    app = web.Application()
    app.router.add_get("/", page)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


def widget_session(host: str) -> dict[str, object]:
    with chromium(width=1024, height=768) as driver:
        wait = WebDriverWait(driver, 20)
        driver.get(f"{host}/?lang=sv")
        wait.until(lambda d: d.execute_script(
            "const h = document.querySelector('.lotsen-widget');"
            "return h && h.shadowRoot.querySelector('.launcher')"))
        launcher = driver.execute_script(f"return {SHADOW}.querySelector('.launcher')")
        seen = {"focus_on_load": driver.switch_to.active_element.get_attribute("id"),
                "launcher_name": launcher.accessible_name,
                "launcher_size": launcher.size, "expanded": launcher.get_attribute(
                    "aria-expanded"), "frames_before_open": len(
                    driver.find_elements(By.TAG_NAME, "iframe")) + driver.execute_script(
                    f"return {SHADOW}.querySelectorAll('iframe').length")}
        driver.switch_to.active_element.send_keys(Keys.TAB)  # from the host's field …
        seen["tab_reaches_launcher"] = driver.execute_script(
            f"return {SHADOW}.activeElement === {SHADOW}.querySelector('.launcher')")
        driver.switch_to.active_element.send_keys(Keys.ENTER)  # … and open with the keyboard
        frame = wait.until(lambda d: d.execute_script(f"return {SHADOW}.querySelector('iframe')"))
        seen["panel_name"] = driver.execute_script(
            f"return {SHADOW}.querySelector('[role=dialog]')").accessible_name
        seen["frame_title"] = frame.get_attribute("title")
        seen["expanded_open"] = launcher.get_attribute("aria-expanded")
        seen["host_violations"] = axe_violations(driver)
        driver.switch_to.frame(frame)
        wait_for_bot_messages(driver, 1)
        wait.until(lambda d: d.execute_script("return document.activeElement.id") == "text")
        seen["focus_in_chat"] = "text"
        seen["greeting"] = bot_messages(driver)[0]
        seen["chat_violations"] = axe_violations(driver)
        driver.switch_to.default_content()
        driver.save_screenshot(str(SCREENSHOT))
        driver.switch_to.frame(frame)
        driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # Escape inside the chat
        driver.switch_to.default_content()
        wait.until(lambda d: d.execute_script(f"return {SHADOW}.querySelector('.panel').hidden"))
        seen["focus_after_escape"] = driver.execute_script(
            f"return {SHADOW}.activeElement && {SHADOW}.activeElement.className")
        seen["expanded_closed"] = launcher.get_attribute("aria-expanded")
        # Open again with a click; Escape on the panel's own close button closes it too.
        launcher.click()
        close = driver.execute_script(f"return {SHADOW}.querySelector('.close')")
        seen["close_name"] = close.accessible_name
        close.send_keys(Keys.ESCAPE)
        wait.until(lambda d: d.execute_script(f"return {SHADOW}.querySelector('.panel').hidden"))
        seen["focus_after_close_escape"] = driver.execute_script(
            f"return {SHADOW}.activeElement && {SHADOW}.activeElement.className")
    return seen


async def test_widget_on_a_city_page(aiohttp_client, aiohttp_server, rasa_server, prefix,
                                     redis) -> None:
    lotsen: dict[str, str] = {}
    host = await host_site(aiohttp_server, lotsen)
    client = await aiohttp_client(create_app(make_settings(prefix, rasa_server,
                                                           embed_origins=host)))
    lotsen["origin"] = str(client.make_url("")).rstrip("/")
    framing = (await client.get("/")).headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {host}" in framing

    seen = await asyncio.to_thread(widget_session, host)
    ui = client.server.app[SERVICES].engine.content.ui_labels("sv")
    assert seen["focus_on_load"] == "search"  # the host's autofocus stays
    assert seen["frames_before_open"] == 0  # the chat loads only when asked for
    assert seen["launcher_name"] == ui["widget_open"]
    assert seen["launcher_size"]["height"] >= 44 and seen["launcher_size"]["width"] >= 44
    assert seen["expanded"] == "false" and seen["tab_reaches_launcher"] is True
    assert seen["panel_name"] == ui["title"] and seen["frame_title"] == ui["title"]
    assert seen["expanded_open"] == "true"
    assert seen["greeting"].startswith("Hej")
    assert seen["host_violations"] == [] and seen["chat_violations"] == []
    assert seen["focus_after_escape"] == "launcher" and seen["expanded_closed"] == "false"
    assert seen["close_name"] == ui["widget_close"]
    assert seen["focus_after_close_escape"] == "launcher"
    assert SCREENSHOT.stat().st_size > 10_000


async def test_widget_script_carries_every_languages_labels(chat) -> None:
    response = await chat.get("/widget.js")
    assert response.status == 200
    assert response.content_type == "text/javascript"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    script = await response.text()
    services = chat.server.app[SERVICES]
    for code in services.engine.languages.enabled:
        ui = services.engine.content.ui_labels(code)
        assert ui["widget_open"] in script and ui["widget_close"] in script, code
    assert "/*LABELS*/" not in script
