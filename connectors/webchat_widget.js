// Lotsen's embed script, served at GET /widget.js. A city page adds
//   <script src="https://lotsen.example/widget.js" data-lang="sv" data-position="right" defer></script>
// and gets a launcher button that opens the chat in a labelled panel. Rules kept here:
// - nothing takes focus on page load: the chat's frame is only created when the person opens it;
// - Escape (in the panel or inside the chat) closes it and focus returns to the launcher;
// - styles live in a shadow root (constructed stylesheet, so a strict host CSP does not block
//   them and the host's CSS does not leak in); targets are at least 44 px whatever the host's
//   root font size.
(() => {
  "use strict";
  const LABELS = /*LABELS*/{};  // per language: open, close, title, accessibility, dir, statement
  const DEFAULT = /*DEFAULT*/"sv";
  const script = document.currentScript;
  if (!script || window.__lotsenWidget) return;
  window.__lotsenWidget = true;
  const base = new URL(".", script.src);
  const lang = LABELS[script.dataset.lang] ? script.dataset.lang : DEFAULT;
  const side = script.dataset.position === "left" ? "left" : "right";
  const t = LABELS[lang];

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .launcher, .panel { position: fixed; z-index: 2147483000; ${side}: 1rem;
      font-family: system-ui, "Segoe UI", "Noto Sans", "Noto Sans Arabic", "Noto Sans Ethiopic", sans-serif; }
    .launcher { bottom: 1rem; display: inline-flex; align-items: center; gap: .5em;
      min-height: max(44px, 2.75rem); min-width: max(44px, 2.75rem); padding: .5em 1.1em;
      font-size: max(16px, 1rem); font-weight: 600; color: #fff; background: #0b5394;
      border: 2px solid #fff; border-radius: 999px; cursor: pointer;
      box-shadow: 0 2px 6px rgba(0, 0, 0, .35); }
    .launcher svg { width: 1.25em; height: 1.25em; flex: none; }
    .panel { bottom: calc(max(44px, 2.75rem) + 1.75rem); width: min(26rem, calc(100vw - 2rem));
      height: min(40rem, calc(100vh - 7rem)); display: flex; flex-direction: column;
      background: #fff; color: #1a1a1a; border: 1px solid #6b7280; border-radius: .75rem;
      overflow: hidden; box-shadow: 0 6px 24px rgba(0, 0, 0, .3); font-size: max(16px, 1rem); }
    .panel[hidden] { display: none; }
    .bar { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem .75rem;
      padding: .25rem .5rem .25rem 1rem; background: #0b5394; color: #fff; }
    .title { font-weight: 700; margin-inline-end: auto; }
    .bar a { color: #fff; display: inline-flex; align-items: center; min-height: max(44px, 2.75rem);
      text-underline-offset: .2em; }
    .close { min-height: max(44px, 2.75rem); min-width: max(44px, 2.75rem); font: inherit;
      font-size: 1.5em; line-height: 1; color: #fff; background: transparent;
      border: 2px solid #fff; border-radius: .5rem; cursor: pointer; }
    iframe { flex: 1; width: 100%; border: 0; }
    :focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
    .bar :focus-visible { outline-color: #fff; box-shadow: 0 0 0 2px #0b5394; }
    @media (max-width: 30em), (max-height: 32em) {
      .panel { inset: 0; width: auto; height: auto; border-radius: 0; border: 0; }
    }
    @media (forced-colors: active) { .launcher, .close { border-color: ButtonText; } }`;

  const host = document.createElement("div");
  host.className = "lotsen-widget";
  const root = host.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = CSS;
    root.append(style);
  }

  const element = (tag, props = {}, attrs = {}) => {
    const el = Object.assign(document.createElement(tag), props);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
    return el;
  };
  const launcher = element("button", { type: "button", className: "launcher", lang, dir: t.dir },
                           { "aria-expanded": "false", "aria-controls": "lotsen-panel" });
  const SVG = "http://www.w3.org/2000/svg";  // built node by node: no innerHTML (Trusted Types)
  const icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  icon.append(path);
  launcher.append(icon);
  launcher.append(element("span", { textContent: t.open }));
  const panel = element("div", { className: "panel", id: "lotsen-panel", hidden: true, lang, dir: t.dir },
                        { role: "dialog", "aria-labelledby": "lotsen-title" });
  const bar = element("div", { className: "bar" });
  const title = element("span", { className: "title", id: "lotsen-title", textContent: t.title });
  const statement = element("a", { href: new URL(t.statement, base).href, textContent: t.accessibility,
                                    target: "_blank", rel: "noopener" }, { hreflang: lang === "sv" ? "sv" : "en" });
  const close = element("button", { type: "button", className: "close" }, { "aria-label": t.close });
  close.append(element("span", { textContent: "×" }, { "aria-hidden": "true" }));
  bar.append(title, statement, close);
  panel.append(bar);
  root.append(launcher, panel);

  let frame = null;
  let frameReady = false;

  function focusChat() {
    frame.focus();
    if (frameReady) frame.contentWindow.postMessage({ lotsen: "focus" }, base.origin);
  }

  function open() {
    if (!frame) {
      const src = new URL(base.href);
      src.searchParams.set("lang", lang);
      frame = element("iframe", { src: src.href, title: t.title });
      frame.addEventListener("load", () => { frameReady = true; if (!panel.hidden) focusChat(); });
      panel.append(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    focusChat();
  }

  function shut() {
    if (panel.hidden) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : shut()));
  close.addEventListener("click", shut);
  root.addEventListener("keydown", (event) => { if (event.key === "Escape") shut(); });
  window.addEventListener("message", (event) => {
    if (frame && event.source === frame.contentWindow && event.origin === base.origin
        && event.data && event.data.lotsen === "close") shut();
  });

  const attach = () => document.body.append(host);
  if (document.body) attach(); else document.addEventListener("DOMContentLoaded", attach);
})();
