// Lotsen coach panel, operators' "Utskick" view: compose a campaign per language (with the
// SMS cost counted while typing), preview who gets what, send, follow the progress, cancel.
//
// The server decides everything that matters (who is in the audience, what a text costs, what
// is valid); this page only asks it: GET /coach/api/outreach for the choices,
// POST /coach/api/outreach/segments while a text changes (debounced), and the campaign routes
// under /coach/api/campaigns. A change of cost is announced once through a polite live
// region; the progress and the list update in place without moving focus.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { api, el, setText, setAttr, language, onUnauthorized } = window.LotsenCoach;
  const STATUS = { draft: "utkast, inte skickat", scheduled: "schemalagt", sending: "skickas",
                   done: "klart", cancelled: "avbrutet" };
  const CHANNELS = { whatsapp: "WhatsApp", telegram: "Telegram", sms: "SMS", webchat: "webbchatt" };
  const REASONS = { opted_out: "har skickat STOP", unsubscribed: "prenumererar inte längre",
                    no_text: "ingen text på sitt språk", channel_unavailable: "kanalen kan inte skicka nu",
                    daily_limit: "har redan fått ett utskick i dag", cancelled: "avbrutet",
                    erased: "har raderat sina uppgifter",
                    no_template: "ingen WhatsApp-mall för språket" };
  const COST_DELAY_MS = 300;
  const PROGRESS_EVERY_MS = 2000;
  const LIST_EVERY_MS = 5000;

  let options = null;        // GET /coach/api/outreach
  let active = false;        // the view is shown
  let draftId = null;        // the campaign shown in the preview
  let followed = null;       // the campaign shown in the progress card
  let lastState = null;      // its status last time, to announce a change once
  let costTimer = null;
  const costs = new Map();   // language -> last announced segment count
  const listRows = new Map();  // campaign id -> row elements

  const number = (n) => Number(n || 0).toLocaleString("sv-SE");
  const channelName = (c) => CHANNELS[c] || c;
  const plural = (n, one, many) => `${number(n)} ${n === 1 ? one : many}`;
  const counted = (map, name) => Object.entries(map || {})
    .sort(([a], [b]) => name(a).localeCompare(name(b), "sv")).map(([key, n]) => `${name(key)} ${number(n)}`).join(", ") || "–";
  const when = (iso) => (iso ? new Date(iso).toLocaleString("sv-SE", {
    timeZone: "Europe/Stockholm", dateStyle: "short", timeStyle: "short" }) : "");

  function failed(err, box) {
    if (err.status === 401) { onUnauthorized(); return; }
    setText($(box), err.status === 403 ? "Du har inte behörighet till utskick." : err.message);
  }

  // ------------------------------------------------------------------ the form
  // A language's own name, marked with its language and direction (read and laid out right).
  function nativeName(l) {
    const name = el("span", { lang: l.code, dir: l.dir });
    name.textContent = l.native;
    return name;
  }

  // Ids from the position, not the value: a district name may hold spaces or letters like å.
  function checkbox(group, index, value, label, labelLang) {
    const id = `${group}-${index}`;
    const wrap = el("div", { class: "check" });
    const input = el("input", { type: "checkbox", id, name: group, value });
    const text = el("label", { for: id });
    text.textContent = label;
    if (labelLang) text.append(" (", nativeName(labelLang), ")");
    wrap.append(input, text);
    return wrap;
  }

  function buildForm() {
    $("topics-choices").replaceChildren(...options.topics.map((t, i) => checkbox("topic", i, t.id, t.name)));
    $("districts-choices").replaceChildren(...options.districts.map((d, i) => checkbox("district", i, d, d)));
    $("channels-choices").replaceChildren(...options.channels.map((c, i) => checkbox("channel", i, c, channelName(c))));
    $("languages-choices").replaceChildren(...options.languages.map(
      (l, i) => checkbox("language", i, l.code, language(l.code), l)));
    setText($("compose-channels"), options.channels.length
      ? `Kanaler som kan skicka nu: ${options.channels.map(channelName).join(", ")}.`
      : "Ingen kanal kan skicka utskick just nu (Telegram och SMS saknar inställningar).");
    $("campaign-name").maxLength = options.max_name_chars;
    const texts = $("texts");
    texts.replaceChildren();
    for (const l of options.languages) {
      const field = el("div", { class: "text-field" });
      const label = el("label", { for: `text-${l.code}` });
      label.textContent = language(l.code).replace(/^./, (c) => c.toUpperCase());
      label.append(" (", nativeName(l), ")");
      const area = el("textarea", { id: `text-${l.code}`, name: "text", rows: "3", lang: l.code,
                                    dir: l.dir, maxlength: String(options.max_text_chars),
                                    "data-language": l.code, "aria-describedby": `cost-${l.code}` });
      const cost = el("p", { id: `cost-${l.code}`, class: "muted hint cost" });
      cost.textContent = "Ingen text: skickas inte på det här språket.";
      area.addEventListener("input", scheduleCosts);
      field.append(label, area, cost);
      texts.appendChild(field);
    }
  }

  const checked = (group) => [...document.querySelectorAll(`input[name="${group}"]:checked`)]
    .map((input) => input.value);

  function textsWritten() {
    const texts = {};
    for (const area of document.querySelectorAll("#texts textarea")) {
      if (area.value.trim()) texts[area.dataset.language] = area.value;
    }
    return texts;
  }

  function scheduleCosts() {
    clearTimeout(costTimer);
    costTimer = setTimeout(updateCosts, COST_DELAY_MS);
  }

  function costText(info) {
    const paid = Object.entries(info.segments);
    const parts = [plural(info.characters, "tecken", "tecken")];
    for (const [channel, n] of paid) parts.push(`${channelName(channel)}: ${plural(n, "del", "delar")} per mottagare`);
    return parts.join(" · ");
  }

  async function updateCosts() {
    const texts = textsWritten();
    const announce = [];
    try {
      const answer = Object.keys(texts).length
        ? await api("/coach/api/outreach/segments", { texts }) : { texts: {} };
      for (const area of document.querySelectorAll("#texts textarea")) {
        const code = area.dataset.language;
        const info = answer.texts[code];
        setText($(`cost-${code}`), info ? costText(info) : "Ingen text: skickas inte på det här språket.");
        const sms = info ? Object.values(info.segments)[0] || 0 : 0;
        if (info && costs.has(code) && costs.get(code) !== sms && sms > 0) {
          announce.push(`${language(code)}: nu ${plural(sms, "SMS-del", "SMS-delar")}`);
        }
        if (info) costs.set(code, sms); else costs.delete(code);
      }
      setText($("cost-announcer"), announce.join(". "));
    } catch (err) {
      if (err.status === 401) onUnauthorized();
    }
  }

  // Checks the page can make itself, in Swedish, each pointing at its field; the server
  // checks everything again (its message is shown for anything else).
  function problems(body) {
    const found = [];
    if (!body.name) found.push(["campaign-name", "Skriv ett namn på utskicket."]);
    if (!body.audience.topics.length) found.push(["topic-0", "Välj minst ett ämne."]);
    if (!Object.keys(body.texts).length) found.push([`text-${options.languages[0].code}`, "Skriv en text på minst ett språk."]);
    if ($("fallback-sv").checked && !body.texts.sv) found.push(["text-sv", "Skriv den svenska texten, eller kryssa ur rutan om svensk text."]);
    return found;
  }

  function showProblems(found) {
    const summary = $("compose-errors");
    for (const node of document.querySelectorAll("#compose-form [aria-invalid]")) node.removeAttribute("aria-invalid");
    if (!found.length) { summary.hidden = true; summary.replaceChildren(); return; }
    const heading = el("p");
    heading.textContent = found.length === 1 ? "Rätta det här först:" : `Rätta ${found.length} saker först:`;
    const list = el("ul");
    for (const [field, message] of found) {
      const item = el("li");
      if (field && $(field)) {
        const link = el("a", { href: `#${field}` });
        link.textContent = message;
        link.addEventListener("click", (event) => { event.preventDefault(); $(field).focus(); });
        item.appendChild(link);
        $(field).setAttribute("aria-invalid", "true");
      } else item.textContent = message;
      list.appendChild(item);
    }
    summary.replaceChildren(heading, list);
    summary.hidden = false;
    summary.focus();
  }

  function requestBody() {
    const body = { name: $("campaign-name").value.trim(),
                   audience: { topics: checked("topic"), districts: checked("district"),
                               channels: checked("channel"), languages: checked("language") },
                   texts: textsWritten() };
    if ($("fallback-sv").checked) body.fallback = "sv";
    const sendAt = $("send-at").value;
    if (sendAt) body.send_at = new Date(sendAt).toISOString();
    return body;
  }

  $("compose-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = requestBody();
    const found = problems(body);
    showProblems(found);
    if (found.length) return;
    try {
      const preview = await api("/coach/api/campaigns", body);
      showPreview(preview.id, preview, body.name);
      refreshList();
    } catch (err) {
      if (err.status === 401) { onUnauthorized(); return; }
      showProblems([[null, err.status === 403 ? "Du har inte behörighet till utskick." : err.message]]);
    }
  });

  // ------------------------------------------------------------------ preview and send
  function facts(list, pairs) {
    const items = [];
    for (const [term, value] of pairs) {
      const dt = el("dt"); dt.textContent = term;
      const dd = el("dd"); dd.textContent = value;
      items.push(dt, dd);
    }
    list.replaceChildren(...items);
  }

  // {"whatsapp": {"fa": 1}} -> "WhatsApp: persiska 1" (people whose language has no template).
  function missingTemplates(missing) {
    const parts = Object.entries(missing || {}).flatMap(([channel, byLanguage]) =>
      Object.entries(byLanguage).map(([code, n]) => `${channelName(channel)}: ${language(code)} ${number(n)}`));
    return parts.join(", ") || "–";
  }

  function showPreview(id, preview, name) {
    draftId = id;
    $("preview-view").hidden = false;
    setText($("preview-title"), `Förhandsgranskning: ${name}`);
    const skipped = Object.entries(preview.skipped_reasons || {})
      .map(([reason, n]) => `${REASONS[reason] || reason} ${number(n)}`).join(", ");
    facts($("preview-facts"), [
      ["Mottagare", number(preview.recipients)],
      ["Per kanal", counted(preview.by_channel, channelName)],
      ["Per språk (texten de får)", counted(preview.by_language, language)],
      ["SMS-delar totalt", number(preview.sms_segments ?? preview.segments)],
      ["Språk utan text", (preview.missing_languages || []).map(language).join(", ") || "–"],
      ["Saknade mallar", missingTemplates(preview.missing_templates)],
      ["Får inget", preview.skipped ? `${number(preview.skipped)} (${skipped})` : "–"],
    ]);
    setText($("preview-warning"), preview.recipients ? ""
      : "Ingen prenumerant matchar: ändra målgruppen eller lägg till texter.");
    setText($("send-campaign"), `Skicka till ${plural(preview.recipients, "person", "personer")}`);
    setAttr($("send-campaign"), "aria-disabled", preview.recipients ? null : "true");
    setText($("preview-error"), "");
    $("preview-title").focus();
  }

  $("send-campaign").addEventListener("click", async () => {
    if (!draftId || $("send-campaign").getAttribute("aria-disabled") === "true") {
      setText($("preview-error"), "Det finns ingen mottagare att skicka till."); return;
    }
    try {
      const answer = await api(`/coach/api/campaigns/${draftId}/send`, {});
      $("preview-view").hidden = true;
      const sent = draftId; draftId = null;
      $("compose-form").reset(); costs.clear(); updateCosts();
      follow(sent, answer, true);
      refreshList();
    } catch (err) { failed(err, "preview-error"); }
  });

  $("edit-campaign").addEventListener("click", () => {
    draftId = null;
    $("preview-view").hidden = true;
    $("campaign-name").focus();
  });

  // ------------------------------------------------------------------ progress
  function follow(id, view, moveFocus) {
    followed = id; lastState = null;
    renderProgress(view);
    if (moveFocus) $("campaign-title").focus();
  }

  function renderProgress(view) {
    $("campaign-view").hidden = false;
    setText($("campaign-title"), `Utskick: ${view.name}`);
    const done = view.sent + view.failed + view.skipped;
    const total = Math.max(view.recipients, done, 1);
    const progress = $("campaign-progress");
    progress.max = total; progress.value = done;
    setAttr(progress, "aria-valuetext", `${number(done)} av ${number(view.recipients)}`);
    const state = STATUS[view.status] || view.status;
    const start = view.status === "scheduled" && view.send_at ? ` (från ${when(view.send_at)})` : "";
    setText($("campaign-state"), `Status: ${state}${start}. ${number(done)} av ${number(view.recipients)} behandlade.`);
    facts($("campaign-facts"), [
      ["Mottagare", number(view.recipients)], ["I kö", number(view.queued)],
      ["Skickade", number(view.sent)], ["Levererade", number(view.delivered)],
      ["Misslyckade", number(view.failed)], ["Fick inget", number(view.skipped)],
      ["Svar", number(view.replies)],
      ...(view.in_doubt ? [["Okänt om de kom fram (avbrott)", number(view.in_doubt)]] : []),
    ]);
    const stoppable = ["draft", "scheduled", "sending"].includes(view.status);
    if (!stoppable && $("cancel-campaign").contains(document.activeElement)) $("campaign-title").focus();
    $("cancel-campaign").hidden = !stoppable;
    if (lastState !== null && lastState !== view.status) {
      setText($("campaign-status"), view.status === "done"
        ? `Utskicket ${view.name} är klart: ${number(view.sent)} skickade, ${number(view.failed)} misslyckade.`
        : `Utskicket ${view.name}: ${state}.`);
    }
    lastState = view.status;
  }

  async function refreshProgress() {
    if (!active || !followed || ["done", "cancelled"].includes(lastState)) return;
    try { renderProgress(await api(`/coach/api/campaigns/${followed}`)); }
    catch (err) { if (err.status === 401) onUnauthorized(); }
  }

  $("cancel-campaign").addEventListener("click", async () => {
    if (!followed) return;
    setText($("campaign-error"), "");
    try { renderProgress(await api(`/coach/api/campaigns/${followed}/cancel`, {})); refreshList(); }
    catch (err) { failed(err, "campaign-error"); }
  });

  // ------------------------------------------------------------------ the list
  function listRow(view) {
    const row = el("tr", { role: "row" });
    const cells = {};
    for (const [key, label] of [["name", "Namn"], ["status", "Status"], ["created", "Skapat"],
                                ["recipients", "Mottagare"], ["sent", "Skickade"], ["replies", "Svar"]]) {
      cells[key] = el("td", { role: "cell", "data-label": label });
      row.appendChild(cells[key]);
    }
    const action = el("td", { role: "cell", class: "action" });
    const button = el("button", { type: "button", class: "secondary" });
    button.textContent = "Öppna";
    button.addEventListener("click", () => openCampaign(view.id));
    action.appendChild(button);
    row.appendChild(action);
    return { row, cells, button };
  }

  function renderList(campaigns) {
    const body = $("campaigns-body");
    const wanted = new Set(campaigns.map((c) => c.id));
    for (const [id, entry] of listRows) {
      if (!wanted.has(id)) {
        if (entry.row.contains(document.activeElement)) $("campaigns-title").focus();
        entry.row.remove(); listRows.delete(id);
      }
    }
    const focused = document.activeElement;
    let next = body.firstElementChild;
    for (const view of campaigns) {
      let entry = listRows.get(view.id);
      if (!entry) { entry = listRow(view); listRows.set(view.id, entry); }
      setText(entry.cells.name, view.name);
      setText(entry.cells.status, STATUS[view.status] || view.status);
      setText(entry.cells.created, when(view.created_at));
      setText(entry.cells.recipients, number(view.recipients));
      setText(entry.cells.sent, number(view.sent));
      setText(entry.cells.replies, number(view.replies));
      setAttr(entry.button, "aria-label", `Öppna ${view.name}, ${STATUS[view.status] || view.status}, skapat ${when(view.created_at)}`);
      if (entry.row === next) next = next.nextElementSibling;
      else body.insertBefore(entry.row, next);
    }
    if (focused && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
    $("campaigns-empty").hidden = campaigns.length > 0;
    $("campaigns-table").hidden = campaigns.length === 0;
  }

  async function refreshList() {
    if (!active) return;
    try { renderList((await api("/coach/api/campaigns")).campaigns); }
    catch (err) { if (err.status === 401) onUnauthorized(); }
  }

  async function openCampaign(id) {
    try {
      const view = await api(`/coach/api/campaigns/${id}`);
      if (view.status === "draft") {
        $("campaign-view").hidden = true; followed = null;
        showPreview(id, view.preview, view.name);
      } else {
        $("preview-view").hidden = true; draftId = null;
        follow(id, view, true);
      }
    } catch (err) { failed(err, "campaign-error"); }
  }

  // ------------------------------------------------------------------ lifecycle
  document.addEventListener("coach:login", async (event) => {
    if (event.detail.role !== "operator" || options) return;
    try { options = await api("/coach/api/outreach"); buildForm(); }
    catch (err) { if (err.status === 401) onUnauthorized(); }
    if (active) refreshList();
  });
  document.addEventListener("coach:logout", () => {
    options = null; active = false; draftId = null; followed = null; lastState = null;
    listRows.clear(); costs.clear();
    $("campaigns-body").replaceChildren();
    $("compose-form").reset();
    for (const id of ["preview-view", "campaign-view"]) $(id).hidden = true;
  });
  document.addEventListener("coach:view", (event) => {
    active = event.detail === "outreach";
    if (active) { refreshList(); refreshProgress(); }
  });
  setInterval(refreshProgress, PROGRESS_EVERY_MS);
  setInterval(refreshList, LIST_EVERY_MS);
})();
