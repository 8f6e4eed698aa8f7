"""The accessibility statement through the real gateway and in a real headless Chromium: both
language versions are served, pass axe-core's WCAG 2.1 A/AA rules, have tall enough links and
visible focus rings, and reflow at 320 px with 200 % text. A broken config stops the start."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.accessibility.facts import StatementError, StatementFacts
from bot.config import ROOT
from bot.runtime.gateway import create_app
from scripts.browser import axe_violations, chromium, contrast, focus_ring
from tests.conftest import make_settings

PAGES = {"sv": "/tillganglighet", "en": "/accessibility"}
CSS = "/accessibility/static/statement.css"

# Links that stand on their own (not inside running text) with their height in CSS px.
STANDALONE_LINKS_JS = """
return [...document.querySelectorAll('nav a, .contact a, .standalone a')]
  .map((a) => ({name: a.textContent.trim(), height: a.getBoundingClientRect().height}));
"""


@pytest.fixture
async def client(aiohttp_client, prefix, redis):
    """The whole gateway app; the statement needs Redis (for the app) but not Rasa."""
    return await aiohttp_client(create_app(make_settings(prefix)))


async def test_both_languages_are_served_as_html_with_their_lang(client) -> None:
    for language, path in PAGES.items():
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == "text/html" and response.charset == "utf-8"
        html = await response.text()
        assert html.startswith("<!doctype html>")
        assert f'<html lang="{language}">' in html
        assert f'href="{CSS}"' in html
        policy = response.headers["Content-Security-Policy"]
        assert "style-src 'self'" in policy and "script-src 'self'" in policy
        assert "public" in response.headers["Cache-Control"]
    css = await client.get(CSS)
    assert css.status == 200 and css.content_type == "text/css"
    assert ".notice" in await css.text()
    assert (await client.get("/accessibility/static/missing.css")).status == 404


def check_in_browser(base_url: str) -> dict[str, object]:
    found: dict[str, object] = {}
    with chromium(width=1280, height=900) as driver:
        for language, path in PAGES.items():
            driver.get(base_url + path)
            found[f"{language} lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute(
                "lang")
            found[f"{language} stylesheet applied"] = driver.execute_script(
                "return getComputedStyle(document.querySelector('.notice')).borderInlineStartStyle")
            found[f"{language} axe"] = axe_violations(driver)
            found[f"{language} links"] = driver.execute_script(STANDALONE_LINKS_JS)
            rings = []
            body = driver.find_element(By.TAG_NAME, "body")
            for _ in range(len(driver.find_elements(By.CSS_SELECTOR, "a[href]"))):
                body.send_keys(Keys.TAB)
                rings.append(focus_ring(driver))
            found[f"{language} rings"] = rings
    with chromium(width=320, height=700, font_size=32) as driver:
        for language, path in PAGES.items():
            driver.get(base_url + path)
            found[f"{language} fonts"] = driver.execute_script(
                "return ['html', 'p', 'h1'].map((s) => "
                "parseFloat(getComputedStyle(document.querySelector(s)).fontSize))")
            found[f"{language} widths at 320"] = driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            found[f"{language} axe at 320"] = axe_violations(driver)
    return found


async def test_both_pages_pass_axe_and_reflow_at_320_px_with_double_text(client) -> None:
    found = await asyncio.to_thread(check_in_browser, str(client.make_url("")).rstrip("/"))
    for language in PAGES:
        assert found[f"{language} lang"] == language
        assert found[f"{language} stylesheet applied"] == "solid"  # the CSP let the CSS in
        assert found[f"{language} axe"] == []
        assert found[f"{language} axe at 320"] == []
        links = found[f"{language} links"]
        assert len(links) >= 4  # back to the chat, other language, contact, Digg
        assert [link for link in links if link["height"] < 44] == []
        rings = found[f"{language} rings"]
        assert len(rings) >= 4
        weak = [(r["name"], round(contrast(r["ring"], r["behind"]), 2)) for r in rings
                if r["style"] == "none" or r["width"] < 2 or contrast(r["ring"], r["behind"]) < 3]
        assert weak == []
        root, text, heading = found[f"{language} fonts"]
        assert root == text == 32 and heading > text  # the person's own font size counts
        scroll_width, inner_width = found[f"{language} widths at 320"]
        assert inner_width == 320 and scroll_width <= inner_width, (language, scroll_width)


def test_a_broken_statement_config_stops_the_start(tmp_path: Path, prefix: str) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    facts = StatementFacts.load(config / "accessibility.yml")
    path = config / "accessibility.yml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        f"compliance: {facts.compliance}\n", "compliance: almost\n"), encoding="utf-8")
    with pytest.raises(StatementError, match=rf"{path}:\d+: 'compliance' must be one of"):
        create_app(make_settings(prefix, config_dir=config))
