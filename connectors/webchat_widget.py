"""The embed script at `GET /widget.js`: one `<script>` tag puts Lotsen's chat on a city page.

The script (webchat_widget.js) is static except for its labels: the launcher's and the panel's
accessible names in every enabled language, taken from the catalogs here, so the host page
needs no second request (and no CORS) before it can show a named button. The chat itself opens
in an iframe of `/`, which the security headers let only LOTSEN_EMBED_ORIGINS frame.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from bot.accessibility.page import PATHS as STATEMENT_PATHS
from bot.core.content import Content
from bot.core.i18n import LanguageTable

TEMPLATE = Path(__file__).resolve().parent / "webchat_widget.js"
LABELS_MARK, DEFAULT_MARK = '/*LABELS*/{}', '/*DEFAULT*/"sv"'


def widget_labels(content: Content, languages: LanguageTable) -> dict[str, dict[str, str]]:
    """What the widget shows or names, per enabled language."""
    labels = {}
    for code in languages.enabled:
        ui = content.ui_labels(code)
        labels[code] = {"open": ui["widget_open"], "close": ui["widget_close"],
                        "title": ui["title"], "accessibility": ui["accessibility"],
                        "dir": languages.languages[code].direction,
                        # relative to the script's folder; Swedish, else the English page
                        "statement": STATEMENT_PATHS.get(code, STATEMENT_PATHS["en"]).lstrip("/")}
    return labels


def render_widget(content: Content, languages: LanguageTable) -> str:
    script = TEMPLATE.read_text(encoding="utf-8")
    if LABELS_MARK not in script or DEFAULT_MARK not in script:
        raise RuntimeError(f"{TEMPLATE} lost its {LABELS_MARK} or {DEFAULT_MARK} marker")
    labels = json.dumps(widget_labels(content, languages), ensure_ascii=False)
    return script.replace(LABELS_MARK, labels).replace(DEFAULT_MARK,
                                                       json.dumps(languages.default))


def widget_route(content: Content, languages: LanguageTable) -> web.RouteDef:
    """GET /widget.js, rendered once at start-up; any site may load it (it holds no data)."""
    body = render_widget(content, languages)

    async def widget(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/javascript", charset="utf-8",
                            headers={"Cache-Control": "public, max-age=300",
                                     "Cross-Origin-Resource-Policy": "cross-origin"})

    return web.get("/widget.js", widget)
