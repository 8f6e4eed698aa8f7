// Lotsen coach panel, operators' "Innehåll" view: every text Lotsen can say, per language, with
// its review status; an edit is saved as a draft, a second operator approves it and it is
// published at once; every published version can be rolled back (after a confirm step).
//
// The server decides everything that matters (status, checks, readability, SMS segments, who
// may approve); this page only asks it: GET /coach/api/content for the list and the summary,
// POST /coach/api/content/preview while the text changes (debounced), the draft, approve,
// discard, versions and rollback routes.
//
// "Fakta och schema" edits the drop-in schedule, the locations and the teams (opening hours,
// closed dates) as whole YAML documents (GET /coach/api/content/facts): the server checks a document while it is typed (POST
// .../facts/impact, debounced) and names the line of a mistake, or says which bookings the
// change would cancel (codes and slots, never who). A saved document is a draft in the same
// pending list, where the reviewer sees what changed and, before the approve button, the
// bookings approving it cancels, and confirms when there are any. Results are announced through role="status" regions
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
      err.line = Number.isInteger(data.line) ? data.line : null;
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
    // Notes do not stop a save (a title a channel shows shortened): listed after the problems.
    $("content-problems").replaceChildren(...problems.map((p) => {
      const li = el("li", { lang: "en" }); li.textContent = p.message; return li;
    }), ...(data.notes || []).map((note) => {
      const li = el("li", { lang: "en", class: "note" }); li.textContent = `Note: ${note}`; return li;
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
    const name = draftName(d);
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
    pendingDrafts = drafts;
    for (const [id, item] of draftItems) {
      if (wanted.has(id)) continue;
      if (item.contains(document.activeElement)) $("content-drafts-title").focus();
      item.remove(); draftItems.delete(id); factDrafts.delete(id);
    }
    let next = list.firstElementChild;
    for (const d of drafts) {
      let item = draftItems.get(d.draft);
      if (!item) { item = d.language === FACTS ? factDraftItem(d) : draftItem(d); draftItems.set(d.draft, item); }
      if (item === next) next = next.nextElementSibling;
      else list.insertBefore(item, next);
    }
    $("content-drafts-empty").hidden = drafts.length > 0;
    if (factsOpen) renderFactsPending();
  }

  async function loadDrafts() {
    try {
      const data = await call("/coach/api/content/drafts");
      setText($("content-drafts-error"), "");
      renderDrafts(data.drafts || []);
      await refreshFactDrafts();
    } catch (err) { fail(err, "content-drafts-error"); }
  }

  const DRAFT_ERRORS = {
    403: "Någon annan måste godkänna din ändring: du kan inte godkänna ett utkast du skrev själv.",
    404: "Utkastet finns inte längre: någon kan redan ha godkänt eller slängt det.",
    409: "Utkastet finns inte längre: någon kan redan ha godkänt eller slängt det." };
  // A document's draft replaces the whole document: one written before another version was
  // published would undo that version, so the server refuses it.
  const FACT_CONFLICT = "Utkastet skrevs mot en äldre version av dokumentet, och en nyare version " +
    "har publicerats sedan dess. Godkänns det skulle den ändringen försvinna. Släng utkastet och " +
    "gör ändringen igen i den publicerade versionen.";

  // `body`: for a document's approval, the number of cancellations the reviewer was shown
  // (the server refuses if it has changed since, so nobody approves more than they saw).
  async function decide(d, action, body = {}) {
    setText($("content-drafts-error"), "");
    const name = draftName(d);
    const fact = d.language === FACTS;
    try {
      const done = await call(`/coach/api/content/drafts/${encodeURIComponent(d.draft)}/${action}`, body);
      await loadDrafts();
      $("content-drafts-title").focus();
      let said = action === "approve" ? `Godkänt och publicerat: ${name}, version ${done.version}.`
        : `Utkastet för ${name} är slängt.`;
      if (fact && action === "approve") said += " " + cancelledSentence((done.impact || {}).bookings);
      announce($("content-drafts-status"), said);
      if (fact) { if (action === "approve") factsPublished(documentOf(d.id)); return; }
      await loadList();
      if (editing && keyOf(editing) === keyOf(d)) loadVersions();
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      const recounted = fact && err.status === 409 && err.field === "expected_bookings";
      const message = recounted ? "Inte godkänt: antalet bokningar som avbokas har ändrats. " +
        "Se det nya antalet och godkänn igen."
        : fact && err.status === 409 ? FACT_CONFLICT : DRAFT_ERRORS[err.status];
      if (message) {
        announce($("content-drafts-status"), message);
        if (err.status !== 403) loadDrafts();
      } else setText($("content-drafts-error"), err.message);
    }
  }

  // ------------------------------------------------------------------ facts and schedules
  const FACTS = "facts";  // the "language" of the documents' drafts and versions
  const DOCUMENTS = { dropin: "Drop-in-schema", locations: "Platser", teams: "Team och öppettider" };
  const CHECK_DELAY_MS = 600;
  const REASONS = { closed: "tiden finns inte längre i schemat",
                    capacity: "fler bokade än det nya antalet platser" };
  const CONTEXT_LINES = 2;  // unchanged lines shown around a change

  let pendingDrafts = [];     // the drafts list as last loaded
  const factDrafts = new Map();  // draft id -> {d, impact box, ...} of a document's draft
  let factsOpen = null;       // the open document: {document, yaml, version} as loaded
  let factsTimer = null;
  let factsSeq = 0;           // only the newest check's answer is shown
  let factsSaid = null;       // the last check result said through the live region
  let factsLine = null;       // the line of the mistake shown

  const documentOf = (id) => (id.startsWith("facts/") ? id.slice("facts/".length) : id);
  const docName = (document) => DOCUMENTS[document] || document;
  function draftName(d) {
    return d.language === FACTS ? docName(documentOf(d.id)) : `${d.id} på ${langName(d.language)}`;
  }
  const bookingsText = (n) => `${number(n)} ${Number(n) === 1 ? "bokning" : "bokningar"}`;
  function cancelledSentence(n) {
    return n ? `${bookingsText(n)} avbokas, och varje person får ett meddelande på sitt språk och ` +
               "i sin kanal med en knapp för att boka en annan tid." : "Inga bokningar påverkades.";
  }

  // "unga-jarva:2025-03-14T10:00" -> "fredag 14 mars 2025 kl. 10:00, unga-jarva". The slot's
  // date and time are local already: formatted as a date, not converted.
  function slotText(slot) {
    const m = /^(.+):(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})$/.exec(slot || "");
    if (!m) return slot || "";
    const day = new Date(Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4])));
    const said = day.toLocaleDateString("sv-SE", { timeZone: "UTC", weekday: "long",
                                                  day: "numeric", month: "long", year: "numeric" });
    return `${said} kl. ${m[5]}, ${m[1]}`;
  }

  // What a change cancels: a sentence, and the bookings (no names: code, slot and why).
  function impactNodes(impact) {
    const n = Number((impact || {}).bookings || 0);
    const sentence = el("p", { class: n ? "facts-impact-count" : "" });
    sentence.textContent = n ? `Ändringen avbokar ${bookingsText(n)}:` : "Inga bokningar påverkas.";
    if (!n) return [sentence];
    const list = el("ul", { class: "facts-impact-list" });
    list.replaceChildren(...(impact.slots || []).map((s) => {
      const li = el("li");
      li.textContent = `${slotText(s.slot)}, bokningskod ${s.code}: ${REASONS[s.reason] || s.reason}.`;
      return li;
    }));
    return [sentence, list];
  }
  const impactKey = (impact) => JSON.stringify(impact || null);

  // The server's message starts "dropin.yml:12: ": the page says the line itself.
  const withoutPlace = (message) => String(message || "").replace(/^[\w.-]+\.ya?ml:\d+:\s*/, "");
  function mistakeNodes(err, prefix = "") {
    const message = el("span", { lang: "en", class: "facts-message" });
    message.textContent = withoutPlace(err.message);
    return [prefix + (err.line ? `Rad ${err.line}: ` : ""), message];
  }

  // A line diff (longest common subsequence) of the published document and a draft: what a
  // reviewer approves. [{type: same|del|ins, text, line}] where line is the new document's
  // line (the old one's for a removed line).
  function lineDiff(before, after) {
    let head = 0;
    while (head < before.length && head < after.length && before[head] === after[head]) head += 1;
    let a = before.length, b = after.length;
    while (a > head && b > head && before[a - 1] === after[b - 1]) { a -= 1; b -= 1; }
    const x = before.slice(head, a), y = after.slice(head, b);
    const ops = before.slice(0, head).map((text, i) => ({ type: "same", text, line: i + 1 }));
    if (x.length * y.length > 4000000) {  // too big to compare line by line: all of it changed
      x.forEach((text, i) => ops.push({ type: "del", text, line: head + i + 1 }));
      y.forEach((text, i) => ops.push({ type: "ins", text, line: head + i + 1 }));
    } else {
      const w = y.length + 1;
      const lcs = new Uint32Array((x.length + 1) * w);
      for (let i = x.length - 1; i >= 0; i -= 1) {
        for (let j = y.length - 1; j >= 0; j -= 1) {
          lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1
            : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
        }
      }
      let i = 0, j = 0;
      while (i < x.length || j < y.length) {
        if (i < x.length && j < y.length && x[i] === y[j]) {
          ops.push({ type: "same", text: y[j], line: head + j + 1 }); i += 1; j += 1;
        } else if (j >= y.length || (i < x.length && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
          ops.push({ type: "del", text: x[i], line: head + i + 1 }); i += 1;
        } else {
          ops.push({ type: "ins", text: y[j], line: head + j + 1 }); j += 1;
        }
      }
    }
    after.slice(b).forEach((text, k) => ops.push({ type: "same", text, line: b + k + 1 }));
    return ops;
  }

  const DIFF_SAID = { same: (l) => `Rad ${l}, oförändrad: `, del: () => "Borttagen rad: ",
                      ins: (l) => `Ny rad ${l}: ` };
  function diffNodes(before, after) {
    const ops = lineDiff(before.split("\n"), after.split("\n"));
    const changed = ops.map((o) => o.type !== "same");
    if (!changed.includes(true)) {
      const same = el("p", { class: "muted" });
      same.textContent = "Inga ändringar: utkastet är likadant som den publicerade versionen.";
      return [same];
    }
    const shown = ops.map((_, i) => changed.slice(Math.max(0, i - CONTEXT_LINES),
                                                  i + CONTEXT_LINES + 1).includes(true));
    const list = el("ul", { class: "facts-diff", dir: "ltr" });
    ops.forEach((op, i) => {
      if (!shown[i]) {
        if (i > 0 && shown[i - 1]) {
          const gap = el("li", { class: "gap" });
          const dots = el("span", { "aria-hidden": "true" }); dots.textContent = "⋯";
          const said = el("span", { class: "visually-hidden" }); said.textContent = "oförändrade rader";
          gap.append(dots, said);
          list.appendChild(gap);
        }
        return;
      }
      const li = el("li", { class: op.type });
      const mark = el("span", { class: "facts-diff-mark", "aria-hidden": "true" });
      mark.textContent = `${op.type === "del" ? "" : op.line} ${op.type === "del" ? "−" : op.type === "ins" ? "+" : " "}`;
      const said = el("span", { class: "visually-hidden" }); said.textContent = DIFF_SAID[op.type](op.line);
      const text = el("span", { class: "facts-diff-text" }); text.textContent = op.text || " ";
      li.append(mark, said, text);
      list.appendChild(li);
    });
    return [list];
  }

  // Every document as published now: {dropin: {yaml, version}, locations: ..., teams: ...}.
  async function readPublished() {
    return (await call("/coach/api/content/facts")).documents || {};
  }

  // ---------------------------------------------------- the document editor
  function renderFactsPending() {
    const mine = pendingDrafts.filter((d) => d.language === FACTS && factsOpen
                                              && documentOf(d.id) === factsOpen.document);
    setText($("facts-pending"), !mine.length ? "" : (mine.length === 1
      ? `Ett utkast från ${mine[0].author} (${when(mine[0].at)}) väntar redan på granskning`
      : `${number(mine.length)} utkast väntar redan på granskning`) +
      ", se ”Utkast som väntar på granskning”. När ett utkast av dokumentet har godkänts kan de " +
      "andra inte godkännas: de skrevs mot en äldre version.");
  }

  function showFacts(document, doc) {
    factsOpen = { document, yaml: doc.yaml, version: doc.version };
    clearTimeout(factsTimer);
    factsSeq += 1; factsSaid = null;
    const name = docName(document);
    $("facts-editor").hidden = false;
    setText($("facts-editor-title"), `Redigera ${name}`);
    const about = [["Dokument", name], ["Publicerad version", doc.version
      ? String(doc.version) : "0 (levererad med Lotsen)"]];
    $("facts-about").replaceChildren(...about.flatMap(([term, value]) => {
      const dt = el("dt"); dt.textContent = term;
      const dd = el("dd"); dd.textContent = value;
      return [dt, dd];
    }));
    setText($("facts-yaml-label"), `${name} (YAML)`);
    const area = $("facts-yaml");
    area.value = doc.yaml;
    area.scrollTop = 0; area.scrollLeft = 0;
    area.setSelectionRange(0, 0);
    showMistake(null);
    $("facts-impact").replaceChildren();
    $("facts-newer").hidden = true;
    for (const id of ["facts-versions-status", "facts-versions-error", "facts-announcer"]) setText($(id), "");
    renderFactsPending();
    updateCursor();
    loadFactsVersions();
  }

  function closeFacts() {
    factsOpen = null;
    clearTimeout(factsTimer);
    factsSeq += 1;
    $("facts-editor").hidden = true;
  }

  async function openFacts(document) {
    setText($("facts-load-error"), "");
    try {
      const docs = await readPublished();
      if (!docs[document]) throw Object.assign(new Error("Dokumentet finns inte."), { status: 404 });
      showFacts(document, docs[document]);
      $("facts-editor-title").focus();
    } catch (err) {
      if (err.status === 404) setText($("facts-load-error"), "Fakta och schema redigeras inte i den här installationen.");
      else fail(err, "facts-load-error");
    }
  }

  // The document list is DOCUMENTS: an option the page's HTML does not have yet is added, in
  // this order (the teams change no booking: their check says "Inga bokningar påverkas").
  (() => {
    const select = $("facts-document");
    const have = new Set(Array.from(select.options, (o) => o.value));
    for (const [value, name] of Object.entries(DOCUMENTS)) {
      if (have.has(value)) continue;
      const option = el("option", { value });
      option.textContent = name;
      select.appendChild(option);
    }
  })();

  $("facts-open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    openFacts($("facts-document").value);
  });
  $("facts-close").addEventListener("click", () => { closeFacts(); $("facts-open").focus(); });
  $("facts-reload").addEventListener("click", () => openFacts(factsOpen ? factsOpen.document : $("facts-document").value));

  // Where the cursor is: line numbers are what the checks name.
  function lineAt(text, offset) { return text.slice(0, offset).split("\n").length; }
  function updateCursor() {
    const area = $("facts-yaml");
    const before = area.value.slice(0, area.selectionStart);
    const column = before.length - before.lastIndexOf("\n");
    setText($("facts-cursor"), `Markören står på rad ${lineAt(area.value, area.selectionStart)}, ` +
            `tecken ${column}.`);
  }
  for (const type of ["keyup", "click", "focus", "select"]) $("facts-yaml").addEventListener(type, updateCursor);

  // The cursor to a line: its text selected (a screen reader reads it), scrolled into view.
  function goToLine(line) {
    const area = $("facts-yaml");
    const lines = area.value.split("\n");
    const index = Math.max(1, Math.min(line, lines.length)) - 1;
    let start = 0;
    for (let i = 0; i < index; i += 1) start += lines[i].length + 1;
    const indent = lines[index].length - lines[index].trimStart().length;
    area.focus();
    area.setSelectionRange(start + indent, start + lines[index].length);
    const height = parseFloat(getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, index * height - area.clientHeight / 3);
    area.scrollLeft = 0;
    updateCursor();
  }
  $("facts-goto").addEventListener("click", () => { if (factsLine) goToLine(factsLine); });

  function showMistake(err, prefix = "") {
    const area = $("facts-yaml");
    factsLine = err && err.line ? err.line : null;
    if (!err) {
      $("facts-error").replaceChildren();
      setAttr(area, "aria-invalid", null);
      $("facts-error-actions").hidden = true;
      return;
    }
    $("facts-error").replaceChildren(...mistakeNodes(err, prefix));
    setAttr(area, "aria-invalid", "true");
    $("facts-error-actions").hidden = !factsLine;
    setText($("facts-goto"), factsLine ? `Gå till rad ${factsLine}` : "Gå till raden");
  }

  // A check's answer: the mistake with its line, or what the change would cancel. Said through
  // the live region when asked for (Kontrollera), and while typing only when it changes.
  function showCheck(err, impact, asked) {
    let said;
    if (err) {
      showMistake(err);
      $("facts-impact").replaceChildren();
      said = (err.line ? `Fel på rad ${err.line}: ` : "Fel: ") + withoutPlace(err.message);
    } else {
      showMistake(null);
      const unchanged = factsOpen && $("facts-yaml").value === factsOpen.yaml;
      const head = el("p", { class: "notice" });
      head.textContent = unchanged ? "Inga fel. Inget är ändrat ännu." : "Inga fel.";
      $("facts-impact").replaceChildren(head, ...impactNodes(impact));
      const n = Number((impact || {}).bookings || 0);
      if (n) {
        const warn = el("p", { class: "warning" });
        warn.textContent = "Bokningarna avbokas när en annan operatör godkänner utkastet, och " +
          "varje person får ett meddelande.";
        $("facts-impact").appendChild(warn);
      }
      said = `${head.textContent} ` + (n ? `Ändringen avbokar ${bookingsText(n)}.` : "Inga bokningar påverkas.");
    }
    if (asked || said !== factsSaid) announce($("facts-announcer"), said);
    factsSaid = said;
  }

  async function checkFacts(asked) {
    if (!factsOpen) return;
    clearTimeout(factsTimer);
    const seq = ++factsSeq;
    const body = { document: factsOpen.document, yaml: $("facts-yaml").value };
    try {
      const data = await call("/coach/api/content/facts/impact", body);
      if (seq === factsSeq && factsOpen) showCheck(null, data.impact, asked);
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      if (seq !== factsSeq || !factsOpen) return;
      if (err.status === 400) showCheck(err, null, asked);
      else {
        setText($("facts-error"), `Kontrollen gick inte att göra: ${err.message}`);
        if (asked) announce($("facts-announcer"), $("facts-error").textContent);
      }
    }
  }

  $("facts-yaml").addEventListener("input", () => {
    updateCursor();
    clearTimeout(factsTimer);
    factsTimer = setTimeout(() => checkFacts(false), CHECK_DELAY_MS);
  });
  $("facts-check").addEventListener("click", () => checkFacts(true));

  // Another version published since the document was opened: a draft of this text would undo
  // it (the server keeps the version a draft was saved against, not the one it was read from).
  function showNewer(version) {
    const open = factsOpen;
    setText($("facts-newer-text"), `Version ${version} av dokumentet har publicerats sedan du ` +
            `öppnade version ${open.version}. Sparar du den här texten tas den ändringen bort. ` +
            "Öppna den publicerade versionen och gör din ändring där (kopiera gärna dina rader först).");
    $("facts-newer").hidden = false;
    return $("facts-newer-text").textContent;
  }

  // After a publish of `document` here (approval or rollback): an unchanged editor shows the
  // new version; a changed one says that its text is now behind.
  async function factsPublished(document) {
    if (!factsOpen || factsOpen.document !== document) return;
    try {
      const docs = await readPublished();
      if (!factsOpen || factsOpen.document !== document) return;
      const now = docs[document];
      if (now.version === factsOpen.version) return;
      if ($("facts-yaml").value === factsOpen.yaml) { showFacts(document, now); return; }
      showNewer(now.version);
      await loadFactsVersions();
    } catch (err) { fail(err, "facts-load-error"); }
  }

  $("facts-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!factsOpen) return;
    const open = factsOpen;
    const name = docName(open.document);
    const area = $("facts-yaml");
    const yaml = area.value;
    clearTimeout(factsTimer);
    factsSeq += 1;  // a check still under way is older than this save
    if (yaml === open.yaml) {
      showMistake({ message: "", line: null }, "Inte sparat: du har inte ändrat något i dokumentet.");
      setAttr(area, "aria-invalid", null);
      announce($("facts-announcer"), "Inte sparat: du har inte ändrat något i dokumentet.");
      return;
    }
    try {
      const now = (await readPublished())[open.document];
      if (now && now.version !== open.version) {
        announce($("facts-announcer"), `Inte sparat. ${showNewer(now.version)}`);
        return;
      }
      const data = await call("/coach/api/content/facts/drafts",
                              { document: open.document, yaml, base_version: open.version });
      closeFacts();
      await loadDrafts();
      $("facts-open").focus();
      const n = Number((data.impact || {}).bookings || 0);
      announce($("facts-live"), `Utkastet för ${name} är sparat. ` +
        (n ? `Godkänns det avbokas ${bookingsText(n)}. ` : "Det påverkar inga bokningar. ") +
        "En annan operatör måste godkänna det innan det publiceras.");
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      if (err.status === 400) {
        showMistake(err, "Inte sparat. ");
        $("facts-impact").replaceChildren();
        factsSaid = null;
        if (err.line) goToLine(err.line); else area.focus();
      } else if (err.status === 403) setText($("facts-error"), "Bara operatörer kan ändra fakta och schema.");
      else setText($("facts-error"), `Inte sparat: ${err.message}`);
    }
  });

  // ---------------------------------------------------- versions and rollback of a document
  async function loadFactsVersions() {
    const document = factsOpen && factsOpen.document;
    if (!document) return;
    setText($("facts-versions-error"), "");
    try {
      const params = new URLSearchParams({ id: `facts/${document}`, language: FACTS });
      const data = await call(`/coach/api/content/versions?${params}`);
      if (!factsOpen || factsOpen.document !== document) return;
      const versions = data.versions || [];
      $("facts-versions").replaceChildren(...versions.map((v, i) => factsVersionItem(document, v, i === 0)));
    } catch (err) { fail(err, "facts-versions-error"); }
  }

  function factsVersionItem(document, v, current) {
    const li = el("li", { class: "content-version" });
    const head = el("p", { class: "version-head" });
    const strong = el("strong"); strong.textContent = `Version ${v.version}`;
    const who = [KINDS[v.kind] || v.kind];
    if (v.author) who.push(`skriven av ${v.author}`);
    if (v.approved_by) who.push(`godkänd av ${v.approved_by}`);
    if (v.at) who.push(when(v.at));
    if (current) who.push("publicerad nu");
    head.append(strong, ` · ${who.join(" · ")}`);
    const view = el("details", { class: "facts-view" });
    const summary = el("summary"); summary.textContent = `Visa version ${v.version}`;
    const text = el("pre", { class: "facts-yaml-view", dir: "ltr" }); text.textContent = v.text || "";
    view.append(summary, text);
    li.append(head, view);
    if (current) return li;

    const restore = el("button", { type: "button", class: "secondary" });
    restore.textContent = `Återställ version ${v.version}`;
    const question = `facts-confirm-${v.version}`;
    const confirm = el("div", { class: "confirm", role: "group", "aria-labelledby": question });
    confirm.hidden = true;
    const ask = el("p", { id: question });
    ask.textContent = `Återställa version ${v.version} av ${docName(document)}? Den publiceras direkt.`;
    const impact = el("div", { class: "facts-impact" });
    const yes = el("button", { type: "button" });
    const no = el("button", { type: "button", class: "secondary" }); no.textContent = "Avbryt";
    const buttons = el("div", { class: "actions" }); buttons.append(yes, no);
    confirm.append(ask, impact, buttons);
    // The confirm step says what the rollback would cancel, as of now.
    restore.addEventListener("click", async () => {
      setText($("facts-versions-error"), "");
      try {
        const data = await call("/coach/api/content/facts/impact", { document, yaml: v.text || "" });
        const n = Number((data.impact || {}).bookings || 0);
        impact.replaceChildren(...impactNodes(data.impact));
        yes.textContent = n ? `Ja, återställ och avboka ${bookingsText(n)}` : `Ja, återställ version ${v.version}`;
        restore.hidden = true; confirm.hidden = false; yes.focus();
      } catch (err) {
        if (err.status === 401) { onUnauthorized(); return; }
        $("facts-versions-error").replaceChildren(...mistakeNodes(err, `Version ${v.version} går inte att återställa. `));
      }
    });
    no.addEventListener("click", () => { confirm.hidden = true; restore.hidden = false; restore.focus(); });
    yes.addEventListener("click", () => rollbackFacts(document, v));
    li.append(restore, confirm);
    return li;
  }

  async function rollbackFacts(document, v) {
    setText($("facts-versions-error"), "");
    try {
      const done = await call("/coach/api/content/rollback", { id: `facts/${document}`, language: FACTS,
                                                               version: v.version });
      await factsPublished(document);  // shows the new version (and its versions)
      if (!factsOpen || factsOpen.document !== document) return;
      await loadFactsVersions();
      $("facts-versions-title").focus();
      announce($("facts-versions-status"), `Version ${v.version} är återställd och publicerad som ` +
               `version ${done.version}. ${cancelledSentence((done.impact || {}).bookings)}`);
      loadDrafts();
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      $("facts-versions-error").replaceChildren(...mistakeNodes(err, "Inte återställd. "));
    }
  }

  // ---------------------------------------------------- a document's draft in the pending list
  // Heading, who and when, what changed against the published version, and (before the approve
  // button) which bookings approving it cancels; approving asks again when it cancels any.
  function factDraftItem(d) {
    const document = documentOf(d.id);
    const name = docName(document);
    const li = el("li", { class: "content-draft facts-draft" });
    const heading = el("h3", { id: `content-draft-${d.draft}` });
    const kind = el("span", { class: "muted" }); kind.textContent = " (fakta och schema)";
    heading.append(name, kind);
    const by = el("p", { class: "muted" });
    by.textContent = `Skrivet av ${d.author}${d.mine ? " (du)" : ""}, ${when(d.at)}.`;
    const changesLabel = el("p", { class: "draft-label" });
    changesLabel.textContent = "Ändringar mot den publicerade versionen";
    const changes = el("div", { class: "facts-changes" });
    const impactLabel = el("p", { class: "draft-label" }); impactLabel.textContent = "Bokningar som påverkas";
    const impact = el("div", { class: "facts-impact" });
    const loading = el("p", { class: "muted" }); loading.textContent = "Räknar bokningarna …";
    impact.appendChild(loading);
    const warningId = `facts-draft-warning-${d.draft}`;
    const warning = el("p", { class: "warning", id: warningId });
    li.append(heading, by, changesLabel, changes, impactLabel, impact, warning);
    const state = { d, document, changesLabel, changes, impact, warning, version: null, key: null,
                    count: 0 };

    const actions = el("div", { class: "actions" });
    if (d.mine) {
      const own = el("p", { class: "muted own-draft" });
      own.textContent = "Du skrev utkastet. En annan operatör måste godkänna det.";
      li.appendChild(own);
    } else {
      const approve = el("button", { type: "button", "data-action": "approve",
                                     "aria-label": `Godkänn och publicera ${name}`,
                                     "aria-describedby": warningId });
      approve.textContent = "Godkänn och publicera";
      const question = `facts-draft-confirm-${d.draft}`;
      const confirm = el("div", { class: "confirm", role: "group", "aria-labelledby": question });
      confirm.hidden = true;
      const ask = el("p", { id: question });
      const yes = el("button", { type: "button", "data-action": "confirm-approve" });
      const no = el("button", { type: "button", class: "secondary" }); no.textContent = "Avbryt";
      const buttons = el("div", { class: "actions" }); buttons.append(yes, no);
      confirm.append(ask, buttons);
      state.ask = ask; state.yes = yes;
      // The bookings are counted again when the button is pressed: the confirm step names the
      // number as it is now.
      approve.addEventListener("click", async () => {
        if (!(await factImpact(state))) { approve.focus(); return; }
        if (state.count === 0) { decide(d, "approve", { expected_bookings: 0 }); return; }
        approve.hidden = true; confirm.hidden = false; yes.focus();
      });
      no.addEventListener("click", () => { confirm.hidden = true; approve.hidden = false; approve.focus(); });
      yes.addEventListener("click", () => decide(d, "approve", { expected_bookings: state.count }));
      actions.appendChild(approve);
      li.appendChild(confirm);
    }
    const discard = el("button", { type: "button", class: "secondary", "data-action": "discard",
                                   "aria-label": `Släng utkastet ${name}` });
    discard.textContent = "Släng utkastet";
    discard.addEventListener("click", () => decide(d, "discard"));
    actions.appendChild(discard);
    li.appendChild(actions);
    factDrafts.set(d.draft, state);
    return li;
  }

  // The draft's impact as of now, shown in place (only when it changed: a reader is not
  // interrupted by the same list again). False when it cannot be counted.
  async function factImpact(state) {
    let impact = null, problem = null;
    try {
      impact = (await call("/coach/api/content/facts/impact",
                           { document: state.document, yaml: state.d.text })).impact;
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return false; }
      problem = err;
    }
    const key = problem ? `error:${problem.message}` : impactKey(impact);
    if (key === state.key) return !problem;
    state.key = key;
    if (problem) {
      const p = el("p", { class: "error" });
      p.replaceChildren(...mistakeNodes(problem, "Utkastet går inte att publicera som det är nu. "));
      state.impact.replaceChildren(p);
      setText(state.warning, "");
      return false;
    }
    const n = Number(impact.bookings || 0);
    state.count = n;
    state.impact.replaceChildren(...impactNodes(impact));
    setText(state.warning, n ? `Godkänner du utkastet avbokas ${bookingsText(n)}, och varje person ` +
            "får ett meddelande på sitt språk och i sin kanal." : "");
    if (state.ask) {
      state.ask.textContent = `Godkänna ${docName(state.document)}? ${bookingsText(n)} avbokas ` +
        "direkt, och varje person får ett meddelande om det. Det går inte att ångra.";
      state.yes.textContent = `Ja, godkänn och avboka ${bookingsText(n)}`;
    }
    return true;
  }

  async function refreshFactDrafts() {
    if (!factDrafts.size && !factsOpen) return;
    let docs;
    try { docs = await readPublished(); } catch (err) { fail(err, "content-drafts-error"); return; }
    await Promise.all([...factDrafts.values()].map(async (state) => {
      const now = docs[state.document];
      if (now && now.version !== state.version) {
        state.version = now.version;
        setText(state.changesLabel, `Ändringar mot den publicerade versionen (version ${now.version})`);
        state.changes.replaceChildren(...diffNodes(now.yaml, state.d.text));
      }
      await factImpact(state);
    }));
    if (factsOpen) {
      const now = docs[factsOpen.document];
      if (now && now.version !== factsOpen.version && $("facts-newer").hidden) showNewer(now.version);
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
    closeFacts();
    rows.clear(); draftItems.clear(); factDrafts.clear(); pendingDrafts = [];
    $("content-body").replaceChildren(); $("content-drafts-list").replaceChildren();
    $("content-summary-body").replaceChildren();
    for (const id of ["content-count", "content-live", "content-drafts-status", "facts-live",
                      "facts-load-error"]) setText($(id), "");
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
