// Lotsen web chat: talks to the JSON routes of spec §7. Accessibility rules kept here:
// - focus moves only when the person acted in the chat, and only if the action left it nowhere;
// - the language changes on an explicit action (the Choose button or Enter), never on arrow keys;
// - new messages are announced once through #announcer; restored history is not announced;
// - used reply buttons are disabled; every label comes from the server in the chosen language;
// - bot bubbles take the conversation's direction, with Latin runs (addresses) isolated;
// - the city's notices sit above the chat in the chosen language (else Swedish), each announced
//   once per tab through #notices-announcer; polls and language changes update them silently.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const composer = $("composer");
  const input = $("text");
  const sendButton = $("send");
  const status = $("status");
  const announcer = $("announcer");
  const picker = $("language");
  const languageForm = $("language-form");
  const embedded = window.parent !== window;
  const params = new URLSearchParams(window.location.search);
  const STATEMENTS = { sv: "/tillganglighet", other: "/accessibility" };
  // A run of Latin words, digits and the punctuation inside addresses, times and phone numbers.
  const LATIN_RUN = /[A-Za-zÀ-ɏ0-9][A-Za-zÀ-ɏ0-9 .,:/@'’()+\-–]*[A-Za-zÀ-ɏ0-9)]|[A-Za-zÀ-ɏ0-9]/g;

  // sessionStorage can be refused (a blocked third-party frame): the chat then works without it.
  const saved = {
    get(key) { try { return sessionStorage.getItem(`lotsen.${key}`); } catch { return null; } },
    set(key, value) { try { sessionStorage.setItem(`lotsen.${key}`, value); } catch { /* none */ } },
    drop(...keys) { for (const k of keys) { try { sessionStorage.removeItem(`lotsen.${k}`); } catch { /* none */ } } },
  };

  let session = saved.get("session");
  let lastSeq = Number(saved.get("seq") || 0);
  let language = params.get("lang") || saved.get("language");
  let mine = JSON.parse(saved.get("mine") || "[]");  // the person's own messages: {after, text}
  let busy = false;
  let polling = null;
  const directions = {};
  const names = {};
  const labels = {};

  const ui = (key) => (labels[language] || {})[key] || "";
  const rtl = () => directions[language] === "rtl";

  function applyLanguage(code) {
    if (!code || !directions[code]) return;
    const changed = code !== language;
    language = code;
    saved.set("language", code);
    document.documentElement.lang = code;
    document.documentElement.dir = directions[code];
    picker.value = code;
    input.placeholder = ui("placeholder");
    sendButton.textContent = ui("send");
    $("text-label").textContent = ui("message_label");
    $("language-label").textContent = ui("language");
    $("language-apply").textContent = ui("language_apply");
    log.setAttribute("aria-label", ui("log_label"));
    const link = $("statement");
    link.textContent = ui("accessibility");
    link.href = code === "sv" ? STATEMENTS.sv : STATEMENTS.other;
    link.hreflang = code === "sv" ? "sv" : "en";
    document.title = ui("title");
    $("notices-title").textContent = ui("notices_label");
    if (changed && noticesStarted) refreshNotices();
  }

  // ------------------------------------------------------------------ the city's notices
  // GET /webchat/notices at start, on a change of language, every few minutes, and when the
  // first one ends (the server says in how many seconds: the browser's date is not trusted).
  const NOTICES_EVERY_MS = 180000;
  let noticesStarted = false;
  let noticesAsked = 0;         // only the newest answer is shown
  let noticesEnd = null;        // the timer that asks again when the first notice ends
  let noticesShown = "";        // what the list shows, to leave it alone when nothing changed
  let noticesHeard = JSON.parse(saved.get("notices") || "[]");  // ids announced in this tab

  async function refreshNotices() {
    const asked = ++noticesAsked;
    let data;
    try {
      data = await api(`/webchat/notices?language=${encodeURIComponent(language || "")}`);
    } catch {
      return;  // offline or refused: what is shown stays until the next try
    }
    if (asked === noticesAsked) showNotices(data.notices || []);
  }

  function showNotices(notices) {
    const signature = JSON.stringify(notices.map((n) => [n.id, n.text, n.language]));
    if (signature !== noticesShown) {
      noticesShown = signature;
      $("notices-list").replaceChildren(...notices.map((n) => {
        const item = document.createElement("li");
        item.lang = n.language;
        item.dir = n.direction || "auto";
        item.textContent = n.text;
        return item;
      }));
      $("notices").hidden = !notices.length;
    }
    const fresh = notices.filter((n) => !noticesHeard.includes(n.id));
    if (fresh.length) {
      noticesHeard = [...noticesHeard, ...fresh.map((n) => n.id)].slice(-50);
      saved.set("notices", JSON.stringify(noticesHeard));
      const said = [ui("notices_label"), ...fresh.map((n) => n.text)].join("\n");
      const region = $("notices-announcer");
      region.textContent = "";
      window.setTimeout(() => { region.textContent = said; }, 50);
    }
    window.clearTimeout(noticesEnd);
    if (notices.length) {
      const first = Math.min(...notices.map((n) => Number(n.seconds_left) || 60));
      noticesEnd = window.setTimeout(refreshNotices, Math.min(first * 1000 + 500, NOTICES_EVERY_MS));
    }
  }

  function remember(seq) {
    if (seq > lastSeq) { lastSeq = seq; saved.set("seq", String(seq)); }
  }

  // Text into `element`; in a right-to-left bubble each Latin run is an LTR isolate, so an address
  // or a phone number reads in its own order and does not reorder the sentence around it.
  function fillText(element, text, isolate) {
    if (!isolate) { element.append(text); return; }
    let at = 0;
    for (const match of text.matchAll(LATIN_RUN)) {
      let run = match[0];
      if (!run.includes("(")) run = run.replace(/\)+$/, "");
      if (!run) continue;
      element.append(text.slice(at, match.index));
      const bdi = document.createElement("bdi");
      bdi.dir = "ltr";
      bdi.textContent = run;
      element.append(bdi);
      at = match.index + run.length;
    }
    element.append(text.slice(at));
  }

  function addMessage(text, who, buttons, links) {
    const item = document.createElement("li");
    item.className = `msg ${who}`;
    const speaker = document.createElement("span");
    speaker.className = "visually-hidden";
    speaker.textContent = `${ui(who === "me" ? "you_said" : "bot_said")} `;
    const body = document.createElement("span");
    body.className = "text";
    if (who === "me") { item.dir = "auto"; body.textContent = text; }
    else { item.dir = directions[language] || "ltr"; fillText(body, text, rtl()); }
    item.append(speaker, body);
    if (links && links.length) {  // a download of one's own data: links kept out of the text
      const list = document.createElement("ul");
      list.className = "links";
      for (const l of links) {
        const entry = document.createElement("li");
        const a = document.createElement("a");
        a.href = l.href;
        a.textContent = l.title;
        entry.appendChild(a);
        list.appendChild(entry);
      }
      item.appendChild(list);
    }
    if (buttons && buttons.length) {
      const group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", ui("choices"));
      for (const b of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.dir = "auto";
        button.textContent = b.title;
        button.addEventListener("click", () => {
          if (!busy) send({ payload: b.payload }, b.title, button);
        });
        group.appendChild(button);
      }
      item.appendChild(group);
    }
    log.appendChild(item);
    reveal(item);
    return item;
  }

  // Scroll a new message into view if it is not (the log or the page scrolls; focus stays put):
  // its start when it is taller than the view, so a long answer is read from the top.
  function reveal(item) {
    const box = log.scrollHeight > log.clientHeight + 1 ? log.getBoundingClientRect()
      : { top: 0, bottom: window.innerHeight - composer.offsetHeight };
    const r = item.getBoundingClientRect();
    if (r.top >= box.top && r.bottom <= box.bottom) return;
    item.scrollIntoView({ block: r.height > box.bottom - box.top ? "start" : "nearest" });
  }

  // Buttons the person has answered (by a button or by typing) are used: out of the tab order.
  function retireButtons() {
    for (const button of log.querySelectorAll(".buttons button")) button.disabled = true;
  }

  function announce(texts) {
    announcer.textContent = "";
    if (texts.length) window.setTimeout(() => { announcer.textContent = texts.join("\n"); }, 50);
  }

  async function api(path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: body === undefined ? "GET" : "POST",
        headers: { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw Object.assign(new Error(ui("offline")), { status: 0 });
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(data.error || ui("error")), { status: response.status });
    return data;
  }

  function forget() {
    session = null; lastSeq = 0; mine = [];
    saved.drop("session", "seq", "mine", "notices");  // the tab keeps nothing of the chat
  }

  async function ensureSession() {
    if (session) return;
    const data = await api("/webchat/sessions", language ? { language } : {});
    session = data.session;
    saved.set("session", session);
  }

  async function post(body) {
    await ensureSession();
    try {
      return await api(`/webchat/sessions/${session}/messages`, body);
    } catch (err) {
      if (err.status !== 404) throw err;
      forget();  // the session expired: start a new one and send once more
      await ensureSession();
      return api(`/webchat/sessions/${session}/messages`, body);
    }
  }

  const focusLost = () => !document.activeElement || document.activeElement === document.body
    || document.activeElement.disabled;

  // `origin` is what the person acted with (the text box, a reply button, the picker).
  async function send(body, shownText, origin) {
    busy = true;
    sendButton.setAttribute("aria-disabled", "true");
    let own = null;
    if (shownText) {
      retireButtons();
      if (origin && focusLost()) input.focus();  // the pressed button is retired: keep the person here
      addMessage(shownText, "me");
      own = { after: lastSeq, text: shownText };
    }
    status.textContent = ui("busy");
    try {
      const data = await post(body);
      if (own) { mine.push(own); saved.set("mine", JSON.stringify(mine)); }
      applyLanguage(data.language);
      // The replies are in the session's log too: show them from there, once and in order;
      // after an erasure the log is gone, and the replies are shown as they came.
      if (!(await poll())) show(data.replies);
      status.textContent = "";
    } catch (err) {
      status.textContent = err.message || ui("error");
    } finally {
      busy = false;
      sendButton.removeAttribute("aria-disabled");
      if (origin && focusLost()) input.focus();
    }
  }

  function show(messages) {
    for (const m of messages) addMessage(m.text, "bot", m.buttons, m.links);
    announce(messages.map((m) => `${ui("bot_said")} ${m.text}`));
  }

  // New messages of the session's log; false when the session is gone (expired, or the person
  // erased their data: then nothing of it is kept in this tab either).
  async function fetchNew() {
    if (!session) return false;
    try {
      const data = await api(`/webchat/sessions/${session}/messages?after=${lastSeq}`);
      const fresh = data.messages.filter((m) => m.seq > lastSeq);
      show(fresh);
      for (const m of fresh) remember(m.seq);
    } catch (err) {
      if (err.status === 404) { forget(); return false; }
    }
    return true;
  }

  async function poll() {
    while (polling) await polling;
    polling = fetchNew();
    try { return await polling; } finally { polling = null; }
  }

  // After a reload: the session's log and the person's own messages, in order, not announced.
  async function restore() {
    let messages;
    try {
      messages = (await api(`/webchat/sessions/${session}/messages?after=0`)).messages;
    } catch (err) {
      if (err.status === 404) { forget(); return; }
      throw err;
    }
    const own = [...mine];
    for (const m of messages) {
      while (own.length && own[0].after < m.seq) { retireButtons(); addMessage(own.shift().text, "me"); }
      addMessage(m.text, "bot", m.buttons, m.links);
      remember(m.seq);
    }
    for (const o of own) { retireButtons(); addMessage(o.text, "me"); }
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    send({ text }, text, input);
  });

  // Arrow keys only move the selection; Choose (or Enter on the list) changes the language.
  languageForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = picker.value;
    if (code === language || busy) return;
    applyLanguage(code);
    status.textContent = ui("language_changed").replace("{language}", names[code]);
    send({ payload: `/lang:${code}` }, names[code], picker);
  });
  picker.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); languageForm.requestSubmit(); }
  });

  if (embedded) {
    // The widget's panel closes on Escape also while focus is inside this frame.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") window.parent.postMessage({ lotsen: "close" }, "*");
    });
    window.addEventListener("message", (event) => {
      if (event.source === window.parent && event.data && event.data.lotsen === "focus") input.focus();
    });
    document.documentElement.classList.add("embedded");
  }

  async function start() {
    const data = await api("/webchat/languages");
    for (const l of data.languages) {
      directions[l.code] = l.direction;
      names[l.code] = l.name;
      labels[l.code] = l.ui;
      const option = document.createElement("option");
      option.value = l.code;
      option.lang = l.code;
      option.dir = l.direction;
      option.textContent = l.name;
      picker.appendChild(option);
    }
    applyLanguage(directions[language] ? language : data.default);
    noticesStarted = true;
    refreshNotices();
    window.setInterval(refreshNotices, NOTICES_EVERY_MS);
    if (session) await restore();
    if (!log.children.length) await send({ payload: "/greet" }, null, null);
    window.setInterval(poll, 5000);
  }
  start().catch((err) => { status.textContent = err.message || "Lotsen"; });
})();
