// Lotsen coach panel, operators' "Meddelanden" view: post a notice (a text per language,
// optionally for some teams, until an end time) and take live ones down.
//
// The server decides what is valid (GET /coach/api/notices names the languages, teams and
// limits; POST answers 400 naming the field); the page checks only what it can say better
// itself (a Swedish text, a length, an end time at all) and shows every problem next to its
// field: the field is marked aria-invalid, its message is in the paragraph its
// aria-describedby names, and focus moves to the first such field. What happened (posted,
// taken down) is said once in the status region; a failure of the list in its alert region.
// Taking a notice down asks first, in place (the question and its two buttons), and focus
// goes to the list's heading once the notice is gone, or back to its button on "Avbryt".
//
// The view's hash is #meddelanden. coach.js does not know it: as stats.js does, the view shows
// itself when coach.js reports a view change while the hash is #meddelanden (and the account
// is an operator), and hides itself on any other view.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { api, el, setText, setAttr, language, onUnauthorized } = window.LotsenCoach;
  const HASH = "#meddelanden";
  const STOCKHOLM = "Europe/Stockholm";

  let operator = false;   // the logged-in account is an operator
  let active = false;     // the view is shown
  let options = null;     // what the editor offers (GET /coach/api/notices "options")
  let seq = 0;            // only the newest list is shown

  const capital = (text) => text.replace(/^./, (c) => c.toUpperCase());
  const when = (iso) => new Date(iso).toLocaleString("sv-SE", {
    timeZone: STOCKHOLM, dateStyle: "long", timeStyle: "short" });
  // "YYYY-MM-DDTHH:MM" in Stockholm time, as a datetime-local field takes it.
  function localValue(iso) {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("sv-SE", {
      timeZone: STOCKHOLM, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  }

  async function send(method, path) {
    const me = window.LotsenCoach.me();
    const response = await fetch(path, { method, credentials: "same-origin",
                                         headers: { "X-CSRF-Token": (me && me.csrf_token) || "" } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw Object.assign(new Error(data.error || response.statusText), { status: response.status, data });
    }
    return data;
  }

  // ------------------------------------------------------------------ the form
  function nativeName(l) {
    const name = el("span", { lang: l.code, dir: l.dir });
    name.textContent = l.native;
    return name;
  }

  function countText(area) {
    return `${area.value.trim().length} av ${options.max_text_chars} tecken`;
  }

  function buildForm() {
    const texts = $("notice-texts");
    texts.replaceChildren();
    for (const l of options.languages) {
      const id = `notice-text-${l.code}`;
      const field = el("div", { class: "text-field" });
      const label = el("label", { for: id });
      label.textContent = capital(language(l.code));
      if (l.native.toLowerCase() !== language(l.code).toLowerCase()) label.append(" (", nativeName(l), ")");
      if (l.code === options.required) label.append(" ", requiredMark());
      const area = el("textarea", { id, rows: "3", lang: l.code, dir: l.dir,
                                    "data-language": l.code,
                                    "aria-describedby": `${id}-count ${id}-error` });
      if (l.code === options.required) area.setAttribute("aria-required", "true");
      const count = el("p", { id: `${id}-count`, class: "muted hint" });
      const problem = el("p", { id: `${id}-error`, class: "error" });
      area.addEventListener("input", () => setText(count, countText(area)));
      field.append(label, area, count, problem);
      texts.appendChild(field);
      setText(count, countText(area));
    }
    $("notice-teams").replaceChildren(...options.teams.map((team, i) => {
      const wrap = el("div", { class: "check" });
      const input = el("input", { type: "checkbox", id: `notice-team-${i}`, name: "notice-team",
                                  value: team.id });
      const label = el("label", { for: `notice-team-${i}` });
      label.textContent = team.name;
      wrap.append(input, label);
      return wrap;
    }));
    const ends = $("notice-ends");
    ends.min = localValue(options.now);
    ends.max = localValue(new Date(Date.parse(options.now) + options.max_days_ahead * 86400000).toISOString());
    setText($("notice-ends-hint"), `Stockholmstid, till exempel ${ends.min.replace("T", " ")}. ` +
            `Högst ${options.max_days_ahead} dagar fram.`);
  }

  function requiredMark() {
    const mark = el("span", { class: "muted" });
    mark.textContent = "(krävs)";
    return mark;
  }

  const FIELDS = () => [...document.querySelectorAll("#notice-texts textarea"),
                        $("notice-teams-field"), $("notice-ends")];

  function clearProblems() {
    for (const node of FIELDS()) setAttr(node, "aria-invalid", null);
    for (const node of document.querySelectorAll("#notice-form .error")) setText(node, "");
  }

  // [element id of the field, its error paragraph's id, message]
  function showProblems(found) {
    clearProblems();
    for (const [field, box, message] of found) {
      if (field) setAttr($(field), "aria-invalid", "true");
      setText($(box), message);
    }
    const first = found.find(([field]) => field);
    if (first) {
      const field = $(first[0]);
      (field.tagName === "FIELDSET" ? field.querySelector("input") : field).focus();
    }
  }

  function body() {
    const texts = {};
    for (const area of document.querySelectorAll("#notice-texts textarea")) {
      if (area.value.trim()) texts[area.dataset.language] = area.value.trim();
    }
    const teams = [...document.querySelectorAll('input[name="notice-team"]:checked')].map((i) => i.value);
    return { texts, teams, ends_at: $("notice-ends").value };
  }

  function problems(request) {
    const found = [];
    const required = options.required;
    if (!request.texts[required]) {
      found.push([`notice-text-${required}`, `notice-text-${required}-error`,
                  `Skriv texten på ${language(required)}. Den visas för alla som har ett språk utan text.`]);
    }
    for (const [code, text] of Object.entries(request.texts)) {
      if (text.length > options.max_text_chars) {
        found.push([`notice-text-${code}`, `notice-text-${code}-error`,
                    `Texten har ${text.length} tecken. Korta den till högst ${options.max_text_chars}.`]);
      }
    }
    const ends = $("notice-ends");
    if (ends.validity.badInput || !request.ends_at) {
      found.push(["notice-ends", "notice-ends-error",
                  "Skriv när meddelandet ska sluta visas, med datum och klockslag."]);
    }
    return found;
  }

  // The server's 400 names a field: "texts.ar", "teams", "districts", "ends_at".
  function serverProblem(err) {
    const field = (err.data && err.data.field) || "";
    const message = err.message;
    if (field.startsWith("texts.") && $(`notice-text-${field.slice(6)}`)) {
      const id = `notice-text-${field.slice(6)}`;
      return [id, `${id}-error`, message];
    }
    if (field === "teams") return ["notice-teams-field", "notice-teams-error", message];
    if (field === "ends_at") return ["notice-ends", "notice-ends-error", message];
    return [null, "notice-form-error", message];
  }

  $("notice-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!options) return;
    const request = body();
    const found = problems(request);
    showProblems(found);
    if (found.length) return;
    setText($("notice-status"), "");
    try {
      await api("/coach/api/notices", request);
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      if (err.status === 403) { showProblems([[null, "notice-form-error", "Du har inte behörighet att publicera meddelanden."]]); return; }
      showProblems([serverProblem(err)]);
      return;
    }
    for (const area of document.querySelectorAll("#notice-texts textarea")) {
      area.value = "";
      area.dispatchEvent(new Event("input"));
    }
    for (const box of document.querySelectorAll('input[name="notice-team"]')) box.checked = false;
    $("notice-ends").value = "";
    setText($("notice-status"), "Meddelandet är publicerat. Det visas nu i webbchatten och skickas med nästa svar i de andra kanalerna.");
    await load();
  });

  // ------------------------------------------------------------------ the live notices
  function item(notice) {
    const li = el("li", { class: "notice-item", "data-id": notice.id });
    const head = el("h3", { id: `notice-${notice.id}-title` });
    head.textContent = `Visas till ${when(notice.ends_at)}`;
    const facts = el("dl", { class: "facts" });
    const fact = (term, value) => {
      const dt = el("dt"); dt.textContent = term;
      const dd = el("dd"); if (typeof value === "string") dd.textContent = value; else dd.append(value);
      facts.append(dt, dd);
    };
    const teams = notice.teams.map((t) => t.name).concat(notice.districts);
    fact("Gäller", teams.length ? teams.join(", ") : "Alla");
    fact("Publicerat av", `${notice.created_by}, ${when(notice.created_at)}`);
    const texts = el("ul", { class: "notice-texts" });
    for (const l of options.languages) {
      if (!notice.texts[l.code]) continue;
      const line = el("li");
      const name = el("span", { class: "muted" });
      name.textContent = `${capital(language(l.code))}: `;
      const text = el("span", { lang: l.code, dir: l.dir });
      text.textContent = notice.texts[l.code];
      line.append(name, text);
      texts.appendChild(line);
    }
    fact("Texter", texts);
    const remove = el("button", { type: "button", class: "secondary",
                                  "aria-describedby": head.id });
    remove.textContent = "Ta bort";
    const confirm = el("div", { class: "confirm", role: "group",
                                "aria-labelledby": `notice-${notice.id}-question` });
    confirm.hidden = true;
    const question = el("p", { id: `notice-${notice.id}-question` });
    question.textContent = "Ta bort meddelandet nu? Det slutar visas direkt, i alla kanaler.";
    const yes = el("button", { type: "button" });
    yes.textContent = "Ja, ta bort";
    const no = el("button", { type: "button", class: "secondary" });
    no.textContent = "Avbryt";
    const actions = el("div", { class: "actions" });
    actions.append(yes, no);
    confirm.append(question, actions);
    remove.addEventListener("click", () => { confirm.hidden = false; remove.hidden = true; yes.focus(); });
    no.addEventListener("click", () => { confirm.hidden = true; remove.hidden = false; remove.focus(); });
    confirm.addEventListener("keydown", (event) => { if (event.key === "Escape") no.click(); });
    yes.addEventListener("click", () => takeDown(notice, yes));
    const buttons = el("div", { class: "actions" });
    buttons.append(remove);
    li.append(head, facts, buttons, confirm);
    return li;
  }

  async function takeDown(notice, button) {
    setAttr(button, "aria-disabled", "true");
    try {
      await send("DELETE", `/coach/api/notices/${encodeURIComponent(notice.id)}`);
    } catch (err) {
      setAttr(button, "aria-disabled", null);
      if (err.status === 401) { onUnauthorized(); return; }
      if (err.status !== 404) { setText($("notices-error"), err.message); return; }
    }
    setText($("notices-error"), "");
    setText($("notice-status"), "Meddelandet är borttaget.");
    await load();
    $("notices-list-title").focus();
  }

  function showList(notices) {
    $("notices-list").replaceChildren(...notices.map(item));
    $("notices-empty").hidden = notices.length > 0;
  }

  async function load() {
    const mine = ++seq;
    try {
      const data = await api("/coach/api/notices");
      if (mine !== seq || !active) return;
      const first = options === null;
      options = data.options;
      if (first) buildForm();
      showList(data.notices);
      setText($("notices-error"), "");
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      setText($("notices-error"), err.status === 403 ? "Du har inte behörighet till meddelanden." : err.message);
    }
  }

  // ------------------------------------------------------------------ the view
  const visible = (node) => Boolean(node && node !== document.body && node.getClientRects().length);

  function takeOver() {
    for (const box of document.querySelectorAll("main > div[id$='-view']")) box.hidden = box.id !== "notices-view";
    for (const link of document.querySelectorAll("#views-nav a")) {
      setAttr(link, "aria-current", link.id === "nav-notices" ? "page" : null);
    }
    // coach.js moved focus to a heading this view just hid (or it was on the login form).
    setTimeout(() => { if (active && !visible(document.activeElement)) $("notices-title").focus(); }, 0);
  }

  function show(wanted) {
    if (!wanted) {
      if (!active) return;
      active = false;
      $("notices-view").hidden = true;
      setAttr($("nav-notices"), "aria-current", null);
      return;
    }
    $("notices-view").hidden = false;
    if (active) return;
    active = true;
    load();
  }

  function reset() {
    seq += 1;
    options = null;
    $("notice-texts").replaceChildren();
    $("notice-teams").replaceChildren();
    $("notices-list").replaceChildren();
    $("notice-ends").value = "";
    for (const id of ["notice-status", "notices-error", "notice-form-error", "notice-ends-hint"]) setText($(id), "");
    clearProblems();
  }

  document.addEventListener("coach:login", (event) => {
    operator = event.detail.role === "operator";
    $("nav-notices").hidden = !operator;
  });
  document.addEventListener("coach:logout", () => {
    show(false);
    operator = false;
    $("nav-notices").hidden = true;
    $("notices-view").hidden = true;
    reset();
  });
  document.addEventListener("coach:view", (event) => {
    const known = event.detail === "notices";  // should coach.js ever route this view itself
    const wanted = operator && (known || location.hash === HASH);
    if (wanted && !known) takeOver();
    show(wanted);
  });
  // After coach.js's own hashchange handler: the heading of this view gets focus.
  window.addEventListener("hashchange", () => {
    if (operator && location.hash === HASH) $("notices-title").focus();
  });
})();
