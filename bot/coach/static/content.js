// Lotsen coach panel, operators' "Innehåll" view: every text Lotsen can say, per language, with
// its review status; an edit is saved as a draft, a second operator approves it and it is
// published at once; every published version can be rolled back (after a confirm step).
//
// The server decides everything that matters (status, checks, readability, SMS segments, who
// may approve); this page only asks it: GET /coach/api/content for the list and the summary,
// POST /coach/api/content/preview while the text changes (debounced), the draft, approve,
// discard, versions and rollback routes. Results are announced through role="status" regions
// next to where they happened; focus moves only on the operator's own actions: to the editor's
// heading when it opens, back to the text's row after saving or closing, to a list's heading
// when the item that had focus is gone. The pending drafts are polled and updated in place, so
// a focused button keeps its focus.
//
// The view's hash is #innehall. coach.js routes the views it knows; for this one the page
// shows itself when coach.js reports a view change while the hash is #innehall (and the
// account is an operator), or when coach.js names the view "content" itself.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { el, setText, setAttr, language, onUnauthorized } = window.LotsenCoach;
  const HASH = "#innehall";
  const PREVIEW_DELAY_MS = 300;
  const DRAFTS_EVERY_MS = 10000;
  const STATUS = { missing: "saknas", draft: "utkast, inte granskad", reviewed: "granskad",
                   stale: "inaktuell: källtexten har ändrats" };
  const KINDS = { shipped: "levererad med Lotsen", edit: "ändring", rollback: "återställning" };
  const COUNTS = [["missing", "Saknas"], ["draft", "Utkast"], ["reviewed", "Granskade"],
                  ["stale", "Inaktuella"], ["over_threshold", "Över läsbarhetsgränsen"]];

  let operator = false;      // the logged-in account is an operator
  let active = false;        // the view is shown
  let languages = new Map(); // code -> {code, name, direction} from the API
  let threshold = 40;        // LIX threshold (configuration, from the API)
  const rows = new Map();    // "id|language" -> {text, button}
  let editing = null;        // the text open in the editor
  let previewTimer = null;
  let previewSeq = 0;        // only the newest preview answer is shown
  let wasOver = null;        // over the readability threshold at the last preview
  let saveError = false;     // the last save was refused for this text
  const draftItems = new Map();  // draft id -> its <li>
  let draftsTimer = null;

  // ------------------------------------------------------------------ helpers
  // Like coach.js's api(), but the error keeps the field the server named.
  async function call(path, body) {
    const me = window.LotsenCoach.me();
    const options = { method: body === undefined ? "GET" : "POST", credentials: "same-origin",
                      headers: { "Content-Type": "application/json" } };
    if (body !== undefined) {
      options.body = JSON.stringify(body);
      if (me) options.headers["X-CSRF-Token"] = me.csrf_token;
    }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const err = new Error(data.error || "Något gick fel. Försök igen.");
      err.status = response.status; err.field = data.field || null;
      throw err;
    }
    return data;
  }

  function fail(err, box) {
    if (err.status === 401) { onUnauthorized(); return; }
    setText($(box), err.status === 403 ? "Bara operatörer kan arbeta med innehållet." : err.message);
  }

  // A polite region says a new text even when it equals the last one: empty it first.
  function announce(region, text) {
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 100);
  }

  const keyOf = (t) => `${t.id}|${t.language}`;
  function langName(code) {
    const known = language(code);
    return known && known !== code ? known : ((languages.get(code) || {}).name || code);
  }
  const direction = (code) => (languages.get(code) || {}).direction || "ltr";
  const number = (n) => Number(n || 0).toLocaleString("sv-SE", { maximumFractionDigits: 1 });
  const when = (iso) => (iso ? new Date(iso).toLocaleString("sv-SE", {
    timeZone: "Europe/Stockholm", dateStyle: "short", timeStyle: "short" }) : "");
  const visible = (node) => Boolean(node && node !== document.body && node.getClientRects().length);

  // A text in its own language and direction; "(ingen text)" in Swedish when there is none.
  function textIn(tag, text, code, dir, attrs = {}) {
    const node = el(tag, attrs);
    if (text) { node.textContent = text; node.setAttribute("lang", code); node.setAttribute("dir", dir); }
    else { node.textContent = "(ingen text)"; node.classList.add("muted"); }
    return node;
  }

  function statusText(t) {
    let text = STATUS[t.status] || t.status;
    if (t.status === "reviewed" && t.reviewed_by) {
      text += ` av ${t.reviewed_by}` + (t.reviewed_at ? ` ${when(t.reviewed_at)}` : "");
    }
    if (t.draft) text += `; ett utkast från ${t.draft.author} väntar på granskning`;
    return text;
  }

  // ------------------------------------------------------------------ list and summary
  function setLanguages(list) {
    languages = new Map((list || []).map((l) => [l.code, l]));
    const select = $("content-language");
    const chosen = select.value;
    const wanted = ["", ...languages.keys()].join(",");
    if ([...select.options].map((o) => o.value).join(",") === wanted) return;
    const all = el("option", { value: "" }); all.textContent = "Alla språk";
    select.replaceChildren(all, ...[...languages.values()].map((l) => {
      const option = el("option", { value: l.code }); option.textContent = langName(l.code); return option;
    }));
    select.value = languages.has(chosen) ? chosen : "";
  }

  function renderSummary(summary) {
    const codes = [...languages.keys()].filter((c) => summary[c]);
    for (const code of Object.keys(summary)) if (!codes.includes(code)) codes.push(code);
    $("content-summary-body").replaceChildren(...codes.map((code) => {
      const tr = el("tr", { role: "row" });
      const th = el("th", { role: "rowheader", scope: "row" });
      th.textContent = langName(code);
      tr.appendChild(th);
      for (const [key, label] of COUNTS) {
        const td = el("td", { role: "cell", "data-label": label });
        td.textContent = number(summary[code][key]);
        tr.appendChild(td);
      }
      return tr;
    }));
    setText($("content-summary-hint"), `Läsbarhetsgräns: LIX ${number(threshold)} för svenska ` +
            "texter. Redigeraren visar också ord per mening, på alla språk.");
  }

  function createRow(t) {
    const tr = el("tr", { role: "row" });
    const id = el("td", { role: "cell", "data-label": "Id", class: "content-id" });
    const code = el("code"); code.textContent = t.id; id.appendChild(code);
    const lang = el("td", { role: "cell", "data-label": "Språk" });
    lang.textContent = langName(t.language);
    const source = el("td", { role: "cell", "data-label": "Källtext" });
    source.appendChild(textIn("span", t.source, "en", "ltr"));
    const text = el("td", { role: "cell", "data-label": "Text" });
    text.appendChild(textIn("span", t.text, t.language, t.direction || direction(t.language)));
    const status = el("td", { role: "cell", "data-label": "Status" });
    const badge = el("span", { class: `badge content-status st-${t.status}` });
    badge.textContent = statusText(t);
    status.appendChild(badge);
    const action = el("td", { role: "cell", class: "action" });
    const button = el("button", { type: "button", class: "secondary", "data-key": keyOf(t),
                                  "aria-label": `Redigera ${t.id} på ${langName(t.language)}` });
    button.textContent = "Redigera";
    button.addEventListener("click", () => openEditor(rows.get(keyOf(t)).text));
    action.appendChild(button);
    tr.append(id, lang, source, text, status, action);
    rows.set(keyOf(t), { text: t, button });
    return tr;
  }

  function renderList(texts, more) {
    rows.clear();
    $("content-body").replaceChildren(...texts.map(createRow));
    $("content-table").hidden = texts.length === 0;
    const count = texts.length === 1 ? "1 text" : `${number(texts.length)} texter`;
    setText($("content-count"), texts.length === 0 ? "Inga texter matchar sökningen."
      : more ? `Visar de första ${count}. Det finns fler: sök mer exakt eller välj språk och status.`
      : `${count}.`);
  }

  async function loadList() {
    const params = new URLSearchParams({ language: $("content-language").value,
                                         q: $("content-q").value.trim(),
                                         status: $("content-status").value });
    setText($("content-error"), "");
    try {
      const data = await call(`/coach/api/content?${params}`);
      if (typeof data.lix_threshold === "number") threshold = data.lix_threshold;
      setLanguages(data.languages);
      renderSummary(data.summary || {});
      renderList(data.texts || [], Boolean(data.more));
      if (editing && rows.has(keyOf(editing))) { editing = rows.get(keyOf(editing)).text; renderFacts(); }
      return true;
    } catch (err) { fail(err, "content-error"); return false; }
  }

  // Back to the text's row after the editor closes; its heading when the row is gone.
  function focusRow(key) {
    const entry = rows.get(key);
    if (entry && visible(entry.button)) entry.button.focus(); else $("content-list-title").focus();
  }

  $("content-form").addEventListener("submit", (event) => { event.preventDefault(); loadList(); });

  // ------------------------------------------------------------------ the editor
  function renderFacts() {
    const t = editing;
    const facts = [["Id", t.id], ["Språk", langName(t.language)], ["Status", statusText(t)],
                   ["Version", String(t.version)]];
    $("content-facts").replaceChildren(...facts.flatMap(([term, value]) => {
      const dt = el("dt"); dt.textContent = term;
      const dd = el("dd"); dd.textContent = value;
      return [dt, dd];
    }));
    setText($("content-pending"), t.draft
      ? `Ett utkast från ${t.draft.author} (${when(t.draft.at)}) väntar redan på granskning, ` +
        "se ”Utkast som väntar på granskning”." : "");
  }

  function openEditor(t) {
    editing = t;
    clearTimeout(previewTimer);
    wasOver = null; saveError = false;
    $("content-editor").hidden = false;
    setText($("content-editor-title"), `Redigera ${t.id} (${langName(t.language)})`);
    renderFacts();
    setText($("content-source"), t.source || "");
    setText($("content-text-label"), `Text på ${langName(t.language)}`);
    const area = $("content-text");
    area.value = t.text || "";
    area.setAttribute("lang", t.language);
    area.setAttribute("dir", t.direction || direction(t.language));
    setText($("content-text-error"), "");
    setAttr(area, "aria-invalid", null);
    for (const id of ["content-readability", "content-readability-warning", "content-webchat",
                      "content-sms", "content-sms-facts", "content-versions-status",
                      "content-versions-error", "content-readability-announcer"]) setText($(id), "");
    $("content-problems").replaceChildren();
    preview();
    loadVersions();
    $("content-editor-title").focus();
  }

  function closeEditor() {
    const key = editing ? keyOf(editing) : null;
    editing = null;
    clearTimeout(previewTimer);
    previewSeq += 1;
    $("content-editor").hidden = true;
    return key;
  }

  $("content-close").addEventListener("click", () => {
    const key = closeEditor();
    if (key) focusRow(key); else $("content-list-title").focus();
  });

  $("content-text").addEventListener("input", () => {
    if (saveError) { saveError = false; setText($("content-text-error"), ""); }
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, PREVIEW_DELAY_MS);
  });

  async function preview() {
    if (!editing) return;
    const seq = ++previewSeq;
    const body = { id: editing.id, language: editing.language, text: $("content-text").value };
    try {
      const data = await call("/coach/api/content/preview", body);
      if (seq === previewSeq && editing) renderPreview(data);
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      if (seq === previewSeq) setText($("content-readability"), `Förhandsvisningen gick inte att visa: ${err.message}`);
    }
  }

  function renderPreview(data) {
    const code = editing.language;
    const problems = data.problems || [];
    // The server's messages are in English: marked so, a screen reader pronounces them right.
    $("content-problems").replaceChildren(...problems.map((p) => {
      const li = el("li", { lang: "en" }); li.textContent = p.message; return li;
    }));
    setAttr($("content-text"), "aria-invalid", problems.length || saveError ? "true" : null);

    const r = data.readability || {};
    const parts = [];
    const swedish = code === "sv";  // LIX is a Swedish measure
    if (swedish && typeof r.lix === "number") parts.push(`LIX ${number(r.lix)}`);
    parts.push(`${number(r.words_per_sentence)} ord per mening`);
    parts.push(`${number(r.words)} ord i ${number(r.sentences)} ${r.sentences === 1 ? "mening" : "meningar"}`);
    setText($("content-readability"), `Läsbarhet: ${parts.join(" · ")}.`);
    const over = Boolean(r.over_threshold);
    setText($("content-readability-warning"), !over ? ""
      : swedish
        ? `Varning: över gränsen för lättläst (LIX ${number(threshold)}). Skriv kortare meningar och välj kortare ord.`
        : "Varning: meningarna är för långa för att vara lättlästa. Dela upp dem.");
    if (wasOver !== null && wasOver !== over) {
      announce($("content-readability-announcer"), over ? "Texten är nu över gränsen för lättläst."
                                                         : "Texten är nu under gränsen för lättläst.");
    }
    wasOver = over;

    const chat = data.webchat || {};
    const bubble = $("content-webchat");
    // The chat lays out a right-to-left language from the right: so does the preview's box.
    setAttr($("content-webchat-box"), "dir", chat.direction || direction(code));
    if (chat.text) {
      setText(bubble, chat.text);
      setAttr(bubble, "lang", code); setAttr(bubble, "dir", chat.direction || direction(code));
      bubble.classList.remove("muted");
    } else {
      setText(bubble, "(ingen text)");
      setAttr(bubble, "lang", null); setAttr(bubble, "dir", null);
      bubble.classList.add("muted");
    }
    const sms = data.sms || {};
    const phone = $("content-sms");
    setText(phone, sms.text || "(ingen text)");
    setAttr(phone, "lang", sms.text ? code : null);
    setAttr(phone, "dir", sms.text ? (chat.direction || direction(code)) : null);
    const segments = Number(sms.segments || 0);
    setText($("content-sms-facts"), `${number(segments)} ${segments === 1 ? "SMS-del" : "SMS-delar"}` +
            (sms.encoding === "UCS-2" ? " (UCS-2: tecken utanför GSM-alfabetet, högst 70 tecken per del)"
             : sms.encoding ? ` (${sms.encoding})` : "") + ".");
  }

  $("content-edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editing) return;
    const t = editing;
    const area = $("content-text");
    setText($("content-text-error"), "");
    try {
      await call("/coach/api/content/drafts", { id: t.id, language: t.language, text: area.value });
      const key = closeEditor();
      await Promise.all([loadList(), loadDrafts()]);
      focusRow(key);
      announce($("content-live"), `Utkastet för ${t.id} på ${langName(t.language)} är sparat. ` +
               "En annan operatör måste godkänna det innan det publiceras.");
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      saveError = true;
      const box = $("content-text-error");
      if (err.status === 403) box.textContent = "Bara operatörer kan ändra innehållet.";
      else {
        const message = el("span", { lang: "en" }); message.textContent = err.message;
        box.replaceChildren("Inte sparat: ", message);
      }
      setAttr(area, "aria-invalid", "true");
      area.focus();
    }
  });

  // ------------------------------------------------------------------ versions and rollback
  async function loadVersions() {
    const t = editing;
    if (!t) return;
    setText($("content-versions-error"), "");
    try {
      const params = new URLSearchParams({ id: t.id, language: t.language });
      const data = await call(`/coach/api/content/versions?${params}`);
      if (!editing || keyOf(editing) !== keyOf(t)) return;
      renderVersions(data.versions || []);
    } catch (err) { fail(err, "content-versions-error"); }
  }

  function renderVersions(versions) {
    const list = $("content-versions");
    if (!versions.length) {
      const li = el("li", { class: "muted" }); li.textContent = "Inga publicerade versioner ännu.";
      list.replaceChildren(li); return;
    }
    list.replaceChildren(...versions.map((v, index) => versionItem(v, index === 0)));
  }

  function versionItem(v, current) {
    const code = editing.language;
    const li = el("li", { class: "content-version" });
    const head = el("p", { class: "version-head" });
    const strong = el("strong"); strong.textContent = `Version ${v.version}`;
    const who = [KINDS[v.kind] || v.kind];
    if (v.author) who.push(`skriven av ${v.author}`);
    if (v.approved_by) who.push(`godkänd av ${v.approved_by}`);
    if (v.at) who.push(when(v.at));
    if (current) who.push("publicerad nu");
    head.append(strong, ` · ${who.join(" · ")}`);
    li.append(head, textIn("p", v.text, code, direction(code), { class: "version-text" }));
    if (current) return li;

    const restore = el("button", { type: "button", class: "secondary" });
    restore.textContent = `Återställ version ${v.version}`;
    const question = `content-confirm-${v.version}`;
    const confirm = el("div", { class: "confirm", role: "group", "aria-labelledby": question });
    confirm.hidden = true;
    const ask = el("p", { id: question });
    ask.textContent = `Återställa version ${v.version}? Den publiceras direkt, för alla som får texten.`;
    const yes = el("button", { type: "button" }); yes.textContent = `Ja, återställ version ${v.version}`;
    const no = el("button", { type: "button", class: "secondary" }); no.textContent = "Avbryt";
    const buttons = el("div", { class: "actions" }); buttons.append(yes, no);
    confirm.append(ask, buttons);
    restore.addEventListener("click", () => { restore.hidden = true; confirm.hidden = false; yes.focus(); });
    no.addEventListener("click", () => { confirm.hidden = true; restore.hidden = false; restore.focus(); });
    yes.addEventListener("click", () => rollback(v));
    li.append(restore, confirm);
    return li;
  }

  async function rollback(v) {
    const t = editing;
    setText($("content-versions-error"), "");
    try {
      const done = await call("/coach/api/content/rollback", { id: t.id, language: t.language, version: v.version });
      await loadList();  // refreshes `editing` too
      if (!editing || keyOf(editing) !== keyOf(t)) return;  // another text opened meanwhile
      $("content-text").value = v.text || "";
      preview();
      await loadVersions();
      $("content-versions-title").focus();
      announce($("content-versions-status"), `Version ${v.version} är återställd och publicerad ` +
               `som version ${done.version}.`);
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      setText($("content-versions-error"), `Inte återställd: ${err.message}`);
    }
  }

  // ------------------------------------------------------------------ pending drafts
  function draftItem(d) {
    const li = el("li", { class: "content-draft" });
    const headingId = `content-draft-${d.draft}`;
    const heading = el("h3", { id: headingId });
    const code = el("code"); code.textContent = d.id;
    heading.append(code, ` (${langName(d.language)})`);
    const by = el("p", { class: "muted" });
    by.textContent = `Skrivet av ${d.author}${d.mine ? " (du)" : ""}, ${when(d.at)}.`;
    const sourceLabel = el("p", { class: "draft-label" }); sourceLabel.textContent = "Källtext (engelska)";
    const source = textIn("p", d.source, "en", "ltr", { class: "content-source" });
    const textLabel = el("p", { class: "draft-label" }); textLabel.textContent = "Ny text";
    const text = textIn("p", d.text, d.language, direction(d.language), { class: "content-source" });
    li.append(heading, by, sourceLabel, source, textLabel, text);
    const actions = el("div", { class: "actions" });
    const name = `${d.id} på ${langName(d.language)}`;
    if (d.mine) {
      const own = el("p", { class: "muted own-draft" });
      own.textContent = "Du skrev utkastet. En annan operatör måste godkänna det.";
      li.appendChild(own);
    } else {
      const approve = el("button", { type: "button", "data-action": "approve",
                                     "aria-label": `Godkänn och publicera ${name}` });
      approve.textContent = "Godkänn och publicera";
      approve.addEventListener("click", () => decide(d, "approve"));
      actions.appendChild(approve);
    }
    const discard = el("button", { type: "button", class: "secondary", "data-action": "discard",
                                   "aria-label": `Släng utkastet ${name}` });
    discard.textContent = "Släng utkastet";
    discard.addEventListener("click", () => decide(d, "discard"));
    actions.appendChild(discard);
    li.appendChild(actions);
    return li;
  }

  function renderDrafts(drafts) {
    const list = $("content-drafts-list");
    const wanted = new Set(drafts.map((d) => d.draft));
    for (const [id, item] of draftItems) {
      if (wanted.has(id)) continue;
      if (item.contains(document.activeElement)) $("content-drafts-title").focus();
      item.remove(); draftItems.delete(id);
    }
    let next = list.firstElementChild;
    for (const d of drafts) {
      let item = draftItems.get(d.draft);
      if (!item) { item = draftItem(d); draftItems.set(d.draft, item); }
      if (item === next) next = next.nextElementSibling;
      else list.insertBefore(item, next);
    }
    $("content-drafts-empty").hidden = drafts.length > 0;
  }

  async function loadDrafts() {
    try {
      const data = await call("/coach/api/content/drafts");
      setText($("content-drafts-error"), "");
      renderDrafts(data.drafts || []);
    } catch (err) { fail(err, "content-drafts-error"); }
  }

  const DRAFT_ERRORS = {
    403: "Någon annan måste godkänna din ändring: du kan inte godkänna ett utkast du skrev själv.",
    404: "Utkastet finns inte längre: någon kan redan ha godkänt eller slängt det.",
    409: "Utkastet finns inte längre: någon kan redan ha godkänt eller slängt det." };

  async function decide(d, action) {
    setText($("content-drafts-error"), "");
    const name = `${d.id} på ${langName(d.language)}`;
    try {
      const done = await call(`/coach/api/content/drafts/${encodeURIComponent(d.draft)}/${action}`, {});
      await loadDrafts();
      $("content-drafts-title").focus();
      announce($("content-drafts-status"), action === "approve"
        ? `Godkänt och publicerat: ${name}, version ${done.version}.`
        : `Utkastet för ${name} är slängt.`);
      await loadList();
      if (editing && keyOf(editing) === keyOf(d)) loadVersions();
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      if (DRAFT_ERRORS[err.status]) {
        announce($("content-drafts-status"), DRAFT_ERRORS[err.status]);
        if (err.status !== 403) loadDrafts();
      } else setText($("content-drafts-error"), err.message);
    }
  }

  // ------------------------------------------------------------------ the view
  function takeOver() {
    for (const box of document.querySelectorAll("main > div[id$='-view']")) box.hidden = box.id !== "content-view";
    for (const link of document.querySelectorAll("#views-nav a")) {
      setAttr(link, "aria-current", link.id === "nav-content" ? "page" : null);
    }
    // coach.js moved focus to a heading this view just hid (or it was on the login form).
    setTimeout(() => { if (active && !visible(document.activeElement)) $("content-title").focus(); }, 0);
  }

  function show(wanted) {
    if (!wanted) {
      if (!active) return;
      active = false;
      $("content-view").hidden = true;
      setAttr($("nav-content"), "aria-current", null);
      clearInterval(draftsTimer); draftsTimer = null;
      return;
    }
    $("content-view").hidden = false;
    if (active) return;
    active = true;
    loadList();
    loadDrafts();
    draftsTimer = setInterval(() => { if (active) loadDrafts(); }, DRAFTS_EVERY_MS);
  }

  document.addEventListener("coach:login", (event) => {
    operator = event.detail.role === "operator";
    $("nav-content").hidden = !operator;
  });
  document.addEventListener("coach:logout", () => {
    show(false);
    operator = false;
    $("nav-content").hidden = true;
    closeEditor();
    rows.clear(); draftItems.clear();
    $("content-body").replaceChildren(); $("content-drafts-list").replaceChildren();
    $("content-summary-body").replaceChildren();
    for (const id of ["content-count", "content-live", "content-drafts-status"]) setText($(id), "");
  });
  document.addEventListener("coach:view", (event) => {
    const known = event.detail === "content";  // coach.js routes this view itself
    const wanted = operator && (known || location.hash === HASH);
    if (wanted && !known) takeOver();
    show(wanted);
  });
  // After coach.js's own hashchange handler: the heading of this view gets focus.
  window.addEventListener("hashchange", () => {
    if (operator && location.hash === HASH) $("content-title").focus();
  });
})();
