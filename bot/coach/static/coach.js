// Lotsen coach dashboard: the queue of warm leads for the coach's teams, claim, reply, close.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const TOPICS = { work: "Arbete", studies: "Studier", sfi: "Svenska (sfi)", other: "Annat" };
  const LANGUAGES = { sv: "svenska", en: "engelska", ar: "arabiska", so: "somaliska",
                      fa: "dari/persiska", ti: "tigrinja", uk: "ukrainska" };
  const STATUS = { waiting: "väntar", claimed: "tagen" };
  const SENDERS = { user: "Personen", bot: "Lotsen", coach: "Coach", system: "" };
  let csrf = null;
  let current = null;  // id of the lead open in the detail view

  async function api(path, body) {
    const options = { method: body === undefined ? "GET" : "POST", credentials: "same-origin",
                      headers: { "Content-Type": "application/json" } };
    if (body !== undefined) { options.body = JSON.stringify(body); if (csrf) options.headers["X-CSRF-Token"] = csrf; }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { const err = new Error(data.error || response.statusText); err.status = response.status; throw err; }
    return data;
  }

  function minutes(seconds) {
    if (seconds < 60) return "< 1 min";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }

  function showLoggedIn(me) {
    csrf = me.csrf_token;
    $("login-view").hidden = true;
    $("work-view").hidden = false;
    $("who").hidden = false;
    $("who-name").textContent = me.name;
    $("queue-teams").textContent = "– " + me.teams.map((t) => t.name).join(", ");
    refresh();
  }

  function showLogin() {
    csrf = null; current = null;
    $("login-view").hidden = false; $("work-view").hidden = true; $("who").hidden = true;
  }

  async function refresh() {
    if (!csrf) return;
    try {
      const data = await api("/coach/api/leads");
      renderQueue(data.leads);
      if (current) await openLead(current, false);
    } catch (err) { if (err.status === 401) showLogin(); }
  }

  function renderQueue(leads) {
    const body = $("queue-body");
    body.replaceChildren();
    $("queue-empty").hidden = leads.length > 0;
    for (const lead of leads) {
      const row = document.createElement("tr");
      if (lead.sla_breached) row.classList.add("sla");
      if (lead.id === current) row.classList.add("selected");
      const cells = [minutes(lead.waiting_seconds), TOPICS[lead.topic] || lead.topic,
                     lead.district === "other" ? "annat" : lead.district, lead.age_group,
                     LANGUAGES[lead.language] || lead.language];
      for (const text of cells) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
      const status = document.createElement("td");
      const badge = document.createElement("span");
      badge.className = "badge" + (lead.sla_breached ? " sla" : "");
      badge.textContent = lead.sla_breached ? "över SLA" : (lead.claimed_by_me ? "din" : STATUS[lead.status]);
      status.appendChild(badge);
      if (lead.user_left) status.append(" (har lämnat)");
      row.appendChild(status);
      const action = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      if (lead.claimed_by_me) { button.textContent = "Öppna"; button.className = "secondary"; button.onclick = () => openLead(lead.id, true); }
      else { button.textContent = "Ta"; button.disabled = lead.status === "claimed"; button.onclick = () => claim(lead.id); }
      button.setAttribute("aria-label", `${button.textContent}: ${cells[1]}, ${cells[2]}`);
      action.appendChild(button);
      row.appendChild(action);
      body.appendChild(row);
    }
  }

  async function claim(id) {
    try { renderLead(await api(`/coach/api/leads/${id}/claim`, {})); current = id; refresh(); }
    catch (err) { $("lead-error").textContent = err.message; refresh(); }
  }

  async function openLead(id, focus) {
    try {
      renderLead(await api(`/coach/api/leads/${id}`));
      current = id;
      if (focus) $("reply-text").focus();
    } catch (err) {
      if (err.status === 404 || err.status === 409) { current = null; $("lead-view").hidden = true; }
    }
  }

  function renderLead(lead) {
    $("lead-view").hidden = false;
    $("lead-error").textContent = "";
    $("lead-title").textContent = `Lead: ${lead.name}`;
    const facts = [["Namn", lead.name],
                   ["Nås", lead.contact === "phone" ? `telefon ${lead.phone}` : `här i chatten (${lead.channel})`],
                   ["Område", lead.district === "other" ? "annat" : lead.district],
                   ["Ålder", lead.age_group], ["Ämne", TOPICS[lead.topic] || lead.topic],
                   ["Språk", LANGUAGES[lead.language] || lead.language], ["Väntat", minutes(lead.waiting_seconds)]];
    const list = $("lead-facts");
    list.replaceChildren();
    for (const [term, value] of facts) {
      const dt = document.createElement("dt"); dt.textContent = term;
      const dd = document.createElement("dd"); dd.textContent = value;
      list.append(dt, dd);
    }
    const at = new Date(lead.consent.at * 1000).toLocaleString("sv-SE", { timeZone: "Europe/Stockholm" });
    $("lead-consent").textContent = `Samtycke ${lead.consent.version} gavs ${at} via ${lead.consent.channel} (${LANGUAGES[lead.consent.language] || lead.consent.language}).`;
    const transcript = $("transcript");
    transcript.replaceChildren();
    for (const m of lead.transcript) {
      const item = document.createElement("li");
      item.className = m.from;
      const who = m.from === "coach" ? m.name : SENDERS[m.from];
      item.textContent = m.from === "system" && m.text === "user_left" ? "Personen har lämnat chatten." : (who ? `${who}: ${m.text}` : m.text);
      transcript.appendChild(item);
    }
    transcript.scrollTop = transcript.scrollHeight;
    $("reply-form").hidden = Boolean(lead.user_left);
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try { showLoggedIn(await api("/coach/api/login", { username: $("username").value, password: $("password").value })); $("password").value = ""; }
    catch (err) { $("login-error").textContent = err.status === 401 ? "Fel användarnamn eller lösenord." : err.message; }
  });

  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text || !current) return;
    try { await api(`/coach/api/leads/${current}/messages`, { text }); $("reply-text").value = ""; await openLead(current, true); }
    catch (err) { $("lead-error").textContent = err.message; }
  });

  $("close-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    try { await api(`/coach/api/leads/${current}/close`, { outcome: $("outcome").value }); current = null; $("lead-view").hidden = true; refresh(); }
    catch (err) { $("lead-error").textContent = err.message; }
  });

  $("logout").addEventListener("click", async () => { try { await api("/coach/api/logout", {}); } finally { showLogin(); } });

  api("/coach/api/me").then(showLoggedIn).catch(showLogin);
  setInterval(refresh, 5000);
})();
