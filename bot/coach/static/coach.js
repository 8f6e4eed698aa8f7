// Lotsen coach dashboard: the queue of warm leads for the coach's teams, claim, reply, close.
//
// The panel follows /coach/api/events (Server-Sent Events; polling every 5 s only while that
// stream is down) and updates in place: one <tr> per lead id, created once and
// updated cell by cell, so a focused button keeps its focus; the transcript (role="log") only
// ever gets new messages appended, so a screen reader announces each message once. Polling
// never moves focus; only the coach's own actions (log in, claim, open, close) do.
//
// Operators also get the "Utskick" view (outreach.js) and the review inbox (review.js): views
// are hash routes (#ko, #dropin, #utskick, #granska) so the browser's back button works; a view
// change moves focus to its heading.
// outreach.js uses the helpers in window.LotsenCoach and the coach:login / coach:logout /
// coach:view events.
//
// A WhatsApp lead shows its 24-hour window above the reply box (open until when, or closed and
// how a reply would go: the template's name, a fallback, or not at all); a change of it is
// announced once (role="status"). A reply that would go as a template or a fallback first asks
// the coach to confirm, naming the template, and the API is told what the coach confirmed, so
// it refuses to send if the window changed meanwhile.
//
// Presence: the header's "Tillgänglig" toggle (aria-pressed). The panel tells the server the
// coach is there when it opens and, at most once a minute, when they use it; 30 minutes
// without that and they count as away by themselves. Pressing the toggle is the coach's own
// choice ("Borta" holds until they press it again); the panel's own reports say "auto".
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const TOPICS = { work: "Arbete", studies: "Studier", sfi: "Svenska (sfi)", other: "Annat" };
  const LANGUAGES = { sv: "svenska", en: "engelska", ar: "arabiska", so: "somaliska",
                      fa: "dari/persiska", ti: "tigrinja", uk: "ukrainska" };
  const STATUS = { waiting: "väntar", claimed: "tagen" };
  const SENDERS = { user: "Personen", bot: "Lotsen", coach: "Coach", system: "" };
  const COLUMNS = [["waiting", "Väntat"], ["topic", "Ämne"], ["district", "Område"],
                   ["age", "Ålder"], ["language", "Språk"], ["status", "Status"]];
  const FACTS = [["name", "Namn"], ["contact", "Nås"], ["district", "Område"], ["age", "Ålder"],
                 ["topic", "Ämne"], ["language", "Språk"], ["waiting", "Väntat"]];
  let csrf = null;
  let current = null;         // id of the lead open in the detail view
  let busy = false;           // a poll is under way
  let again = false;          // another poll was asked for meanwhile
  const rows = new Map();     // lead id -> the queue row's elements and state
  const factCells = new Map();  // fact key -> its <dd>
  let transcriptLead = null;  // the lead whose messages the transcript shows
  let shown = [];             // signatures of the messages in the transcript, in order
  let me = null;              // the logged-in account (GET /coach/api/me)

  async function api(path, body) {
    const options = { method: body === undefined ? "GET" : "POST", credentials: "same-origin",
                      headers: { "Content-Type": "application/json" } };
    if (body !== undefined) { options.body = JSON.stringify(body); if (csrf) options.headers["X-CSRF-Token"] = csrf; }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { const err = new Error(data.error || response.statusText); err.status = response.status; err.data = data; throw err; }
    return data;
  }

  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
  function setAttr(node, name, value) {
    if (value === null) { if (node.hasAttribute(name)) node.removeAttribute(name); }
    else if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }
  function el(tag, attrs = {}) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    return node;
  }

  function minutes(seconds) {
    if (seconds < 60) return "< 1 min";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }
  const topic = (lead) => TOPICS[lead.topic] || lead.topic || "";
  const district = (lead) => (lead.district === "other" ? "annat" : lead.district || "");
  const language = (code) => LANGUAGES[code] || code || "";

  // Focus moves only when the element that had it is about to vanish, and then to `fallback`.
  function rescueFocus(container, fallback) {
    if (container.contains(document.activeElement)) fallback.focus();
  }

  function status(text) { setText($("queue-status"), text); }

  function showLoggedIn(account, moveFocus) {
    me = account;
    csrf = me.csrf_token;
    $("login-view").hidden = true;
    $("who").hidden = false;
    $("who-name").textContent = me.name;
    $("email").value = me.email || "";
    $("queue-teams").textContent = me.teams.length ? "– " + me.teams.map((t) => t.name).join(", ") : "";
    $("views-nav").hidden = false;
    $("nav-outreach").hidden = me.role !== "operator";
    $("nav-review").hidden = me.role !== "operator";
    $("nav-content").hidden = me.role !== "operator";
    $("notify-on").hidden = !("Notification" in window) || Notification.permission !== "default";
    document.dispatchEvent(new CustomEvent("coach:login", { detail: me }));
    showView(viewOfHash(), moveFocus);
    listen();
    startPresence();
    loadCanned().then(refresh);
  }

  function showLogin(moveFocus) {
    const wasLoggedIn = me !== null;
    if (events) { events.close(); events = null; }
    stopPresence();
    document.title = TITLE;
    csrf = null; me = null; current = null; transcriptLead = null; shown = [];
    resetWindow();
    rows.clear(); $("queue-body").replaceChildren(); $("transcript-list").replaceChildren();
    status("");
    $("login-view").hidden = false; $("work-view").hidden = true; $("who").hidden = true;
    $("lead-view").hidden = true; $("views-nav").hidden = true; $("outreach-view").hidden = true;
    $("dropin-view").hidden = true; $("review-view").hidden = true; $("notify-on").hidden = true;
    $("content-view").hidden = true; $("nav-content").hidden = true;
    if (wasLoggedIn) document.dispatchEvent(new CustomEvent("coach:logout"));
    if (moveFocus) $("login-title").focus();
  }

  // ------------------------------------------------------------------ views
  const VIEWS = { queue: { hash: "#ko", box: "work-view", heading: "queue-title" },
                  dropin: { hash: "#dropin", box: "dropin-view", heading: "dropin-title" },
                  outreach: { hash: "#utskick", box: "outreach-view", heading: "compose-title" },
                  review: { hash: "#granska", box: "review-view", heading: "review-title" },
                  content: { hash: "#innehall", box: "content-view", heading: "content-title" } };
  const OPERATOR_VIEWS = ["outreach", "review", "content"];
  const viewOfHash = () => Object.keys(VIEWS).find((name) => VIEWS[name].hash === location.hash) || "queue";

  function showView(name, moveFocus) {
    if (!me) return;
    if (OPERATOR_VIEWS.includes(name) && me.role !== "operator") name = "queue";
    for (const [key, view] of Object.entries(VIEWS)) {
      $(view.box).hidden = key !== name;
      setAttr(document.querySelector(`#views-nav [data-view="${key}"]`), "aria-current",
              key === name ? "page" : null);
    }
    document.dispatchEvent(new CustomEvent("coach:view", { detail: name }));
    if (moveFocus) $(VIEWS[name].heading).focus();
  }

  window.addEventListener("hashchange", () => showView(viewOfHash(), true));

  // ------------------------------------------------------------------ live updates
  // Server-Sent Events say what changed (ids only); the panel then asks the API. EventSource
  // reconnects by itself and resumes after the last event; while it is down the panel polls.
  const TITLE = document.title;
  let events = null;
  let lastEvent = 0;          // when the stream last said anything (or opened)

  function listen() {
    if (events || !("EventSource" in window)) return;
    events = new EventSource("/coach/api/events");
    events.addEventListener("open", () => { lastEvent = Date.now(); });
    for (const kind of ["lead_waiting", "lead_claimed", "lead_message", "lead_closed"]) {
      events.addEventListener(kind, (event) => {
        lastEvent = Date.now();
        refresh();
        if (kind === "lead_waiting") notify(JSON.parse(event.data));
      });
    }
    for (const kind of ["booking_created", "booking_cancelled"]) {
      events.addEventListener(kind, (event) => {
        document.dispatchEvent(new CustomEvent("coach:booking", { detail: JSON.parse(event.data) }));
      });
    }
    events.addEventListener("error", () => {
      if (events && events.readyState === EventSource.CLOSED) { events = null; setTimeout(listen, 5000); }
    });
  }
  const live = () => events && events.readyState === EventSource.OPEN;

  function notify(data) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
    const team = (me.teams.find((t) => t.id === data.team) || {}).name || data.team;
    new Notification("Ny lead väntar", { body: team, tag: `lead-${data.lead}` });
  }

  // The tab's title counts the leads nobody has taken: visible from another tab.
  function badge(leads) {
    const waiting = leads.filter((lead) => lead.status === "waiting").length;
    document.title = waiting ? `(${waiting}) ${TITLE}` : TITLE;
  }

  $("notify-on").addEventListener("click", async () => {
    const answer = await Notification.requestPermission();
    $("notify-on").hidden = answer !== "default";
    status(answer === "granted" ? "Aviseringar är på: du får en när en ny lead väntar."
                                : "Aviseringar är inte på.");
  });

  async function refresh() {
    if (!csrf) return;
    if (busy) { again = true; return; }
    busy = true; again = false;
    try {
      const data = await api("/coach/api/leads");
      renderQueue(data.leads);
      badge(data.leads);
      if (current) await openLead(current, false);
    } catch (err) { if (err.status === 401) showLogin(true); }
    finally { busy = false; if (again) refresh(); }
  }

  // ------------------------------------------------------------------ presence
  const ACTIVITY_MS = 60000;  // at most one "the coach is active" a minute
  let presence = null;        // the last answer of /coach/api/presence
  let presenceSent = 0;       // when the panel last said the coach is active
  let presenceTimer = null;   // asks again when the presence would lapse

  function renderPresence(state) {
    presence = state;
    setAttr($("presence"), "aria-pressed", state.present ? "true" : "false");
    setText($("presence-state"), state.present ? "Du visas som tillgänglig."
      : state.away ? "Du visas som borta." : "Du visas som borta (ingen aktivitet på 30 minuter).");
    clearTimeout(presenceTimer); presenceTimer = null;
    if (state.present && state.seconds_left !== null) {
      presenceTimer = setTimeout(loadPresence, Math.min(state.seconds_left + 1, 3600) * 1000);
    }
  }

  async function postPresence(present, auto) {
    if (!csrf) return;
    try { renderPresence(await api("/coach/api/presence", { present, auto })); }
    catch (err) { if (err.status === 401) showLogin(true); }
  }

  async function loadPresence() {
    if (!csrf) return;
    try { renderPresence(await api("/coach/api/presence")); }
    catch (err) { if (err.status === 401) showLogin(true); }
  }

  function startPresence() {
    const hasTeams = me.teams.length > 0;
    $("presence").hidden = !hasTeams;
    $("presence-state").hidden = !hasTeams;
    if (!hasTeams) return;
    presenceSent = Date.now();
    postPresence(true, true);  // the panel is open: present, unless the coach chose "Borta"
  }

  function stopPresence() {
    clearTimeout(presenceTimer); presenceTimer = null; presence = null;
    $("presence").hidden = true; $("presence-state").hidden = true;
    setText($("presence-state"), "");
  }

  function activity(event) {
    if (!csrf || !presence || presence.away || $("presence").hidden) return;
    if (event && event.target instanceof Element && event.target.closest("#presence")) return;
    if (Date.now() - presenceSent < ACTIVITY_MS) return;
    presenceSent = Date.now();
    postPresence(true, true);
  }

  for (const kind of ["keydown", "pointerdown"]) document.addEventListener(kind, activity, { passive: true });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") activity(null); });
  $("presence").addEventListener("click", () => {
    presenceSent = Date.now();
    postPresence($("presence").getAttribute("aria-pressed") !== "true", false);
  });
  // The panel closes: not present any more (without choosing "Borta"; a reload says so again).
  window.addEventListener("pagehide", () => {
    if (!csrf || !presence || !presence.present) return;
    fetch("/coach/api/presence", { method: "POST", credentials: "same-origin", keepalive: true,
                                   headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
                                   body: JSON.stringify({ present: false, auto: true }) }).catch(() => {});
  });

  // ------------------------------------------------------------------ the queue
  function createRow(lead) {
    const row = el("tr", { role: "row", "data-lead": lead.id });
    const cells = {};
    for (const [key, label] of COLUMNS) {
      const cell = el("td", { role: "cell", "data-label": label });
      cells[key] = cell; row.appendChild(cell);
    }
    const badge = el("span", { class: "badge" });
    const left = el("span", { class: "left" });
    cells.status.append(badge, left);
    const action = el("td", { role: "cell", class: "action" });
    const button = el("button", { type: "button", id: `lead-button-${lead.id}`, "data-lead": lead.id });
    action.appendChild(button);
    row.appendChild(action);
    const arrived = new Date(Date.now() - lead.waiting_seconds * 1000)
      .toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Stockholm" });
    const entry = { row, cells, badge, left, button, arrived, mine: false, blocked: false };
    button.addEventListener("click", () => {
      if (entry.blocked) { status("En annan coach har redan tagit den här leaden."); return; }
      if (entry.mine) openLead(lead.id, true); else claim(lead.id);
    });
    return entry;
  }

  function updateRow(entry, lead) {
    const { row, cells, badge, left, button } = entry;
    const selected = lead.id === current;
    row.classList.toggle("sla", Boolean(lead.sla_breached));
    row.classList.toggle("selected", selected);
    setAttr(row, "aria-current", selected ? "true" : null);
    setText(cells.waiting, minutes(lead.waiting_seconds));
    setText(cells.topic, topic(lead));
    setText(cells.district, district(lead));
    setText(cells.age, lead.age_group || "");
    setText(cells.language, language(lead.language));
    setAttr(badge, "class", "badge" + (lead.sla_breached ? " sla" : ""));
    setText(badge, lead.sla_breached ? "över SLA" : (lead.claimed_by_me ? "din" : STATUS[lead.status] || lead.status));
    setText(left, lead.user_left ? " (har lämnat)" : "");
    entry.mine = Boolean(lead.claimed_by_me);
    entry.blocked = !entry.mine && lead.status === "claimed";
    const verb = entry.mine ? "Öppna" : "Ta";
    setText(button, verb);
    setAttr(button, "class", entry.mine ? "secondary" : null);
    setAttr(button, "aria-disabled", entry.blocked ? "true" : null);
    // Unique and stable per lead: what it is about, who, when it came in and its number.
    setAttr(button, "aria-label",
            `${verb}: ${topic(lead)}, ${district(lead)}, ${lead.age_group || ""} år, ` +
            `${language(lead.language)}, inkom ${entry.arrived}, ärende ${lead.id.slice(0, 6)}` +
            (entry.blocked ? " (tagen av en annan coach)" : ""));
  }

  function renderQueue(leads) {
    const body = $("queue-body");
    const active = document.activeElement;
    const wanted = new Set(leads.map((lead) => lead.id));
    for (const [id, entry] of rows) {
      if (wanted.has(id)) continue;
      if (entry.row.contains(active)) { $("queue-title").focus(); status("Leaden du stod på har lämnat kön."); }
      entry.row.remove();
      rows.delete(id);
    }
    let next = body.firstElementChild;
    for (const lead of leads) {
      let entry = rows.get(lead.id);
      if (!entry) { entry = createRow(lead); rows.set(lead.id, entry); }
      updateRow(entry, lead);
      if (entry.row === next) next = next.nextElementSibling;
      else body.insertBefore(entry.row, next);  // a new row, or one whose place changed
    }
    // Moving a row in the DOM drops its focus: give it back to the same element.
    if (active && active.isConnected && document.activeElement !== active && body.contains(active)) {
      active.focus({ preventScroll: true });
    }
    $("queue-empty").hidden = leads.length > 0;
    $("queue-table").hidden = leads.length === 0;
  }

  function markSelected() {
    for (const [id, entry] of rows) {
      entry.row.classList.toggle("selected", id === current);
      setAttr(entry.row, "aria-current", id === current ? "true" : null);
    }
  }

  const CLAIM_ERRORS = { 409: "En annan coach har redan tagit den här leaden, eller så är den avslutad.",
                         404: "Leaden finns inte längre i dina team." };

  async function claim(id) {
    status("");
    try {
      const lead = await api(`/coach/api/leads/${id}/claim`, {});
      current = id; renderLead(lead); markSelected();
      $("lead-title").focus();
    } catch (err) {
      if (err.status === 401) { showLogin(true); return; }
      status(CLAIM_ERRORS[err.status] || "Det gick inte att ta leaden. Försök igen.");
    }
    refresh();
  }

  // ------------------------------------------------------------------ one lead
  function closeLeadView(message) {
    rescueFocus($("lead-view"), $("queue-title"));
    current = null; transcriptLead = null; shown = [];
    resetWindow();
    $("lead-view").hidden = true;
    $("transcript-list").replaceChildren();
    markSelected();
    if (message) status(message);
  }

  async function openLead(id, byCoach) {
    try {
      const lead = await api(`/coach/api/leads/${id}`);
      if (!byCoach && current !== id) return;  // the coach opened another lead meanwhile
      current = id; renderLead(lead); markSelected();
      if (byCoach) { status(""); $("lead-title").focus(); }
    } catch (err) {
      if (err.status === 401) { showLogin(true); return; }
      if ((err.status === 404 || err.status === 409) && current === id) {
        closeLeadView("Leaden är inte längre din.");
      }
    }
  }

  function renderFacts(lead) {
    const list = $("lead-facts");
    if (!factCells.size) {
      for (const [key, term] of FACTS) {
        const dt = el("dt"); dt.textContent = term;
        const dd = el("dd");
        factCells.set(key, dd); list.append(dt, dd);
      }
    }
    const values = { name: lead.name || "",
                     contact: lead.contact === "phone" ? `telefon ${lead.phone}` : `här i chatten (${lead.channel})`,
                     district: district(lead), age: lead.age_group || "", topic: topic(lead),
                     language: language(lead.language), waiting: minutes(lead.waiting_seconds) };
    for (const [key, dd] of factCells) setText(dd, values[key]);
  }

  const signature = (m) => `${m.t}|${m.from}|${m.name || ""}|${m.text}`;

  function messageItem(m) {
    const item = el("li", { class: m.from });
    const who = m.from === "coach" ? m.name : SENDERS[m.from];
    item.textContent = m.from === "system" && m.text === "user_left"
      ? "Personen har lämnat chatten." : (who ? `${who}: ${m.text}` : m.text);
    return item;
  }

  // Append only the messages not shown yet; a different lead starts a new transcript.
  function renderTranscript(leadId, messages) {
    const box = $("transcript");
    const list = $("transcript-list");
    const signatures = messages.map(signature);
    let start = 0;
    let fresh = transcriptLead !== leadId;
    if (!fresh && shown.length) {
      const last = signatures.lastIndexOf(shown[shown.length - 1]);
      if (last === -1) fresh = true; else start = last + 1;
    }
    if (fresh) { list.replaceChildren(); shown = []; transcriptLead = leadId; start = 0; }
    if (start >= messages.length) return;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
    const items = document.createDocumentFragment();
    for (let i = start; i < messages.length; i++) { items.appendChild(messageItem(messages[i])); shown.push(signatures[i]); }
    list.appendChild(items);
    if (fresh || atBottom) box.scrollTop = box.scrollHeight;
  }

  // ------------------------------------------------------------------ the WhatsApp window
  // GET /coach/api/leads/{id} gives `window` for a channel that lets Lotsen write freely only
  // for a while after the person's last message (WhatsApp: 24 hours); null for the others.
  const CHANNEL_NAMES = { whatsapp: "WhatsApp" };
  let windowNow = null;       // the open lead's window, as the API last said
  let windowKey = null;       // what of it is announced when it changes (lead, open, how)
  let windowTimer = null;     // reloads the lead when an open window is due to close
  let pending = null;         // the reply waiting for the coach's confirmation

  const clock = (date) => date.toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Stockholm" });
  const day = (date) => date.toLocaleDateString("sv-SE", { timeZone: "Europe/Stockholm" });
  function within(seconds) {
    if (seconds < 60) return "om mindre än 1 min";
    const hours = Math.floor(seconds / 3600), mins = Math.floor((seconds % 3600) / 60);
    return hours ? `om ${hours} h ${mins} min` : `om ${mins} min`;
  }
  // A template's language: WhatsApp's code (sv, en_GB, prs_AF) as Lotsen's, named in Swedish.
  const WHATSAPP_CODES = { prs: "fa" };
  const lotsenCode = (code) => { const base = (code || "").split("_")[0]; return WHATSAPP_CODES[base] || base; };
  const templateLanguage = (code) => (code ? language(lotsenCode(code)) : "");

  // How a reply would go now, in words; and whether the coach must confirm it first.
  function replyWay(w, leadLanguage) {
    const how = w.reply_as;
    if (how.kind === "text") return "Svaret skickas som ett vanligt meddelande.";
    if (how.kind === "template") {
      const other = how.language && lotsenCode(how.language) !== leadLanguage
        ? ` – det finns ingen mall på ${language(leadLanguage)}` : "";
      return `Svaret kan bara skickas som den godkända mallen ”${how.template}” (${templateLanguage(how.language)}${other}).`;
    }
    if (how.kind === "fallback") {
      return how.fallback === "sms" ? "Ingen WhatsApp-mall passar: svaret skickas som sms till personens nummer."
                                    : `Ingen WhatsApp-mall passar: svaret skickas via ${how.fallback}.`;
    }
    return "Ingen godkänd mall passar, så svaret kan inte skickas här. Kontakta personen på annat sätt, eller vänta tills hen skriver igen.";
  }

  function windowText(w, leadLanguage) {
    const name = CHANNEL_NAMES[w.channel] || w.channel;
    if (w.open && w.until) {
      const until = new Date(w.until);
      const now = new Date(until.getTime() - (w.seconds_left || 0) * 1000);  // the server's now
      const when = day(until) === day(now) ? clock(until) : `i morgon ${clock(until)}`;
      return `${name}: Fönstret är öppet till ${when} (${within(w.seconds_left || 0)}). ${replyWay(w, leadLanguage)}`;
    }
    return `${name}: Fönstret är stängt – personen har inte skrivit på 24 timmar. ${replyWay(w, leadLanguage)}`;
  }

  function renderWindow(lead) {
    const line = $("window-line");
    const w = lead.window || null;
    windowNow = w;
    clearTimeout(windowTimer); windowTimer = null;
    if (pending && pending.lead !== lead.id) cancelConfirm(false);  // another lead opened
    if (!w) { line.hidden = true; setText(line, ""); windowKey = null; cancelConfirm(false); return; }
    const text = windowText(w, lead.language);
    setText(line, text);
    line.className = "window-line" + (w.open ? "" : " closed");
    line.hidden = false;
    const key = `${lead.id}|${w.open}|${w.reply_as.kind}|${w.reply_as.template}|${w.reply_as.language}|${w.reply_as.fallback}`;
    if (windowKey !== null && windowKey.startsWith(`${lead.id}|`) && windowKey !== key) {
      setText($("window-announcer"), text);  // the same lead, a new state: said once
      if (pending && !sameWay(pending.way, w.reply_as)) cancelConfirm(true);
    }
    windowKey = key;
    if (w.open && w.seconds_left !== null) {
      // Closing time: load the lead again so the line (and the way a reply goes) is current.
      windowTimer = setTimeout(() => { if (current === lead.id) openLead(lead.id, false); },
                               Math.min(w.seconds_left + 1, 86400) * 1000);
    }
  }

  function resetWindow() {
    clearTimeout(windowTimer); windowTimer = null;
    windowNow = null; windowKey = null;
    cancelConfirm(false);
    $("window-line").hidden = true; setText($("window-line"), ""); setText($("window-announcer"), "");
  }

  const sameWay = (a, b) => ["kind", "template", "language", "fallback"].every((k) => (a[k] ?? null) === (b[k] ?? null));
  const needsConfirm = (w) => Boolean(w) && (w.reply_as.kind === "template" || w.reply_as.kind === "fallback");

  // The confirm step: says how the reply would go and sends only on "yes".
  function askConfirm(body, form, after, changed) {
    const how = windowNow.reply_as;
    pending = { body, form, after, lead: current, way: { ...how } };
    const confirm = $("reply-confirm");
    form.after(confirm);  // right below the form that is being sent
    const lead = $("reply-confirm-question");
    setText(lead, (changed ? "Fönstret har ändrats sedan du började. " : "") +
            (how.kind === "template"
              ? `Fönstret är stängt. Svaret skickas som WhatsApp-mallen ”${how.template}” (${templateLanguage(how.language)}): personen får mallens text med ditt svar i. Skicka så?`
              : `Fönstret är stängt och ingen WhatsApp-mall passar. Svaret skickas som ${how.fallback === "sms" ? "sms" : how.fallback} i stället. Skicka så?`));
    setText($("reply-confirm-send"), how.kind === "template" ? `Ja, skicka som mallen ${how.template}`
                                                             : `Ja, skicka som ${how.fallback === "sms" ? "sms" : how.fallback}`);
    confirm.hidden = false;
    $("reply-confirm-send").focus();
  }

  function cancelConfirm(moveFocus) {
    const confirm = $("reply-confirm");
    const form = pending ? pending.form : null;
    const hadFocus = confirm.contains(document.activeElement);
    pending = null;
    confirm.hidden = true;
    if ((moveFocus || hadFocus) && form && !form.hidden) {
      (form.querySelector("textarea") || form.querySelector("select") || form.querySelector("button")).focus();
    } else if (hadFocus) $("lead-title").focus();
  }

  // One message to the lead: asked to confirm first when it would go as a template or a
  // fallback; told again when the API says the window changed meanwhile.
  async function sendMessage(body, form, after) {
    if (!current) return;
    $("lead-error").textContent = "";
    if (needsConfirm(windowNow) && !body.reply_as) { askConfirm(body, form, after, false); return; }
    const sent = windowNow && !body.reply_as ? { ...body, reply_as: windowNow.reply_as } : body;
    const id = current;
    try {
      const answer = await api(`/coach/api/leads/${id}/messages`, sent);
      const way = answer.sent_as;
      if (way && way.kind === "template") setText($("window-announcer"), `Skickat som mallen ${way.template}.`);
      else if (way && way.kind === "fallback") setText($("window-announcer"), `Skickat som ${way.fallback}.`);
      await after();
      await openLead(id, false);
    } catch (err) {
      if (err.status === 401) { showLogin(true); return; }
      const reason = err.data && err.data.reason;
      if (err.status === 409 && err.data && err.data.window && current === id) {
        renderWindow({ id, language: currentLanguage, window: err.data.window });
        if (reason === "reply_as_changed" && needsConfirm(windowNow)) {
          const { reply_as: _, ...plain } = body;
          askConfirm(plain, form, after, true);
          return;
        }
      }
      $("lead-error").textContent = reason === "no_template"
        ? "Svaret skickades inte: fönstret är stängt och ingen godkänd mall passar. Kontakta personen på annat sätt."
        : reason === "reply_as_changed" ? "Svaret skickades inte: fönstret har ändrats. Skicka igen."
        : ERRORS[err.status] || err.message;
    }
  }

  $("reply-confirm-send").addEventListener("click", () => {
    if (!pending) return;
    const { body, form, after, way, lead } = pending;
    if (lead !== current) { cancelConfirm(false); return; }
    pending = null;
    // What the form holds now: the coach may have edited the reply while asked.
    if (form === $("reply-form")) body.text = $("reply-text").value.trim() || body.text;
    if (form === $("canned-form")) body.canned = $("canned-choice").value || body.canned;
    $("reply-confirm").hidden = true;
    form.querySelector("button[type=submit]").focus();
    sendMessage({ ...body, reply_as: way }, form, after);
  });
  $("reply-confirm-cancel").addEventListener("click", () => cancelConfirm(true));
  $("reply-confirm").addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); cancelConfirm(true); }
  });

  // ------------------------------------------------------------------ canned replies
  let canned = [];            // GET /coach/api/canned: Swedish title and text, and the teams

  async function loadCanned() {
    try { canned = (await api("/coach/api/canned")).canned; } catch (err) { canned = []; }
  }

  function renderCanned(lead) {
    const offered = canned.filter((reply) => reply.teams.includes(lead.team));
    const select = $("canned-choice");
    const key = `${lead.id}|${offered.map((r) => r.id).join(",")}`;
    if (select.dataset.key !== key) {
      select.dataset.key = key;
      select.replaceChildren(...offered.map((reply) => {
        const option = el("option", { value: reply.id }); option.textContent = reply.title; return option;
      }));
    }
    $("canned-form").hidden = offered.length === 0 || Boolean(lead.user_left);
    previewCanned(lead.language);
  }

  function previewCanned(code) {
    const reply = canned.find((r) => r.id === $("canned-choice").value);
    setText($("canned-preview"), reply ? `”${reply.text}” – skickas på ${language(code)}.` : "");
  }

  $("canned-choice").addEventListener("change", () => previewCanned(currentLanguage));
  let currentLanguage = "sv";

  $("canned-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!current || !$("canned-choice").value) return;
    sendMessage({ canned: $("canned-choice").value }, $("canned-form"), async () => {
      status("Snabbsvaret är skickat.");
    });
  });

  function renderLead(lead) {
    $("lead-view").hidden = false;
    currentLanguage = lead.language;
    renderCanned(lead);
    setText($("lead-title"), `Lead: ${lead.name}`);
    renderFacts(lead);
    const at = new Date(lead.consent.at * 1000).toLocaleString("sv-SE", { timeZone: "Europe/Stockholm" });
    setText($("lead-consent"), `Samtycke ${lead.consent.version} gavs ${at} via ${lead.consent.channel} (${language(lead.consent.language)}).`);
    renderTranscript(lead.id, lead.transcript);
    const left = Boolean(lead.user_left);
    if (left && !$("reply-form").hidden) rescueFocus($("reply-form"), $("lead-title"));
    $("reply-form").hidden = left;
    if (left) cancelConfirm(false);
    renderWindow(lead);
  }

  // ------------------------------------------------------------------ forms
  const ERRORS = { 409: "Det gick inte: personen har lämnat chatten eller leaden är inte längre din." };

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const me = await api("/coach/api/login", { username: $("username").value, password: $("password").value });
      $("password").value = "";
      showLoggedIn(me, true);
    } catch (err) {
      $("login-error").textContent = err.status === 401 ? "Fel användarnamn eller lösenord."
        : err.status === 429 ? "För många försök. Vänta en stund och försök igen." : err.message;
    }
  });

  $("reply-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text || !current) return;
    sendMessage({ text }, $("reply-form"), async () => {
      $("reply-text").value = "";
      $("reply-text").focus();
    });
  });

  $("close-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    $("lead-error").textContent = "";
    try {
      await api(`/coach/api/leads/${current}/close`, { outcome: $("outcome").value });
      closeLeadView("Leaden är avslutad.");
      $("queue-title").focus();
      refresh();
    } catch (err) {
      if (err.status === 401) { showLogin(true); return; }
      $("lead-error").textContent = ERRORS[err.status] || err.message;
    }
  });

  $("email-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setText($("email-status"), "");
    try {
      me = await api("/coach/api/me", { email: $("email").value.trim() });
      setText($("email-status"), me.email ? `Sparat: aviseringar går till ${me.email}.` : "Sparat: inga e-postaviseringar.");
    } catch (err) {
      if (err.status === 401) { showLogin(true); return; }
      setText($("email-status"), err.status === 400 ? "Det där ser inte ut som en e-postadress." : err.message);
    }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("/coach/api/logout", {}); } catch (err) { /* logged out either way */ }
    showLogin(true);
  });

  window.LotsenCoach = { api, el, setText, setAttr, language, onUnauthorized: () => showLogin(true) };
  window.LotsenCoach.me = () => me;
  window.LotsenCoach.live = () => Boolean(live());  // whether the event stream is open
  api("/coach/api/me").then((account) => showLoggedIn(account, false)).catch(() => showLogin(false));
  // Polling only while the live stream is down (and once a minute regardless: waiting times).
  setInterval(() => { if (!live() || Date.now() - lastEvent > 60000) { lastEvent = Date.now(); refresh(); } }, 5000);
})();
