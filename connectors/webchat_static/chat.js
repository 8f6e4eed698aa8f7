// Lotsen web chat widget: talks to the JSON routes of spec §7, keyboard- and RTL-aware.
(() => {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const status = document.getElementById("status");
  const picker = document.getElementById("language");
  let session = sessionStorage.getItem("lotsen.session");
  let lastSeq = Number(sessionStorage.getItem("lotsen.seq") || 0);
  let language = sessionStorage.getItem("lotsen.language") || null;
  const params = new URLSearchParams(window.location.search);
  if (params.get("lang")) language = params.get("lang");
  let directions = {};
  let labels = {};

  function ui(key) { return (labels[language] || {})[key] || ""; }

  function applyLanguage(code) {
    if (!code) return;
    language = code;
    sessionStorage.setItem("lotsen.language", code);
    document.documentElement.lang = code;
    document.documentElement.dir = directions[code] || "ltr";
    picker.value = code;
    input.placeholder = ui("placeholder");
    sendButton.textContent = ui("send");
    document.getElementById("language-label").textContent = ui("language");
    document.title = ui("title");
  }

  function remember(seq) {
    if (seq && seq > lastSeq) { lastSeq = seq; sessionStorage.setItem("lotsen.seq", String(seq)); }
  }

  function addMessage(text, who, buttons) {
    const item = document.createElement("li");
    item.className = `msg ${who}`;
    item.dir = "auto";  // each bubble takes the direction of its own text (Latin names in RTL)
    item.textContent = text;
    if (buttons && buttons.length) {
      const group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      for (const b of buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.dir = "auto";
        btn.textContent = b.title;
        btn.addEventListener("click", () => send({ payload: b.payload }, b.title));
        group.appendChild(btn);
      }
      item.appendChild(group);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  async function api(path, body) {
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { const err = new Error(data.error || response.statusText); err.status = response.status; throw err; }
    return data;
  }

  async function ensureSession() {
    if (session) return session;
    const data = await api("/webchat/sessions", language ? { language } : {});
    session = data.session;
    sessionStorage.setItem("lotsen.session", session);
    lastSeq = 0;
    return session;
  }

  async function send(body, shownText) {
    if (shownText) addMessage(shownText, "me");
    status.textContent = ui("busy");
    sendButton.disabled = true;
    try {
      await ensureSession();
      let data;
      try {
        data = await api(`/webchat/sessions/${session}/messages`, body);
      } catch (err) {
        if (err.status !== 404) throw err;
        session = null;  // expired session: start a new one and resend once
        await ensureSession();
        data = await api(`/webchat/sessions/${session}/messages`, body);
      }
      applyLanguage(data.language);
      await poll();  // the replies are in the log too; show them once, in order
      status.textContent = "";
    } catch (err) {
      status.textContent = err.message || ui("error");
    } finally {
      sendButton.disabled = false;
      input.focus();
    }
  }

  async function poll() {
    if (!session) return;
    try {
      const data = await api(`/webchat/sessions/${session}/messages?after=${lastSeq}`);
      for (const m of data.messages) { addMessage(m.text, "bot", m.buttons); remember(m.seq); }
    } catch (err) {
      if (err.status === 404) { session = null; sessionStorage.removeItem("lotsen.session"); }
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text }, text);
  });

  picker.addEventListener("change", () => {
    const option = picker.selectedOptions[0];
    applyLanguage(picker.value);
    send({ payload: `/lang:${picker.value}` }, option.textContent);
  });

  async function start() {
    const data = await api("/webchat/languages");
    for (const l of data.languages) {
      directions[l.code] = l.direction;
      labels[l.code] = l.ui;
      const option = document.createElement("option");
      option.value = l.code;
      option.textContent = l.name;
      picker.appendChild(option);
    }
    if (!directions[language]) language = null;
    applyLanguage(language || data.default);
    if (session) { lastSeq = 0; await poll(); }
    if (!log.children.length) await send({ payload: "/greet" }, null);
    setInterval(poll, 5000);
  }
  start().catch((err) => { status.textContent = err.message; });
})();
