// Lotsen coach panel, operators' "Statistik" view: what Lotsen achieved in a date range, by
// channel, language and district: key figures, then each chart as a picture with the same
// numbers as a table under it, and the CSV of the same query.
//
// The server counts and draws everything (GET /coach/api/stats: totals, key figures, and
// "charts", each with its rows and an SVG drawn from those rows); this page only asks it and
// shows the answer, so the picture, the table and the CSV cannot disagree. The picture is an
// <img> of the server's SVG (alt: the chart's title) with the chart's one-sentence summary as
// its caption; the table under it is what a screen reader or a keyboard user reads, in a
// scroll box of its own (focusable, labelled) when it is wider or longer than the screen.
//
// The first request sends no dates: the server answers for the last 30 days up to its own
// today, and the date fields are filled from its answer (the gateway's date, not the
// browser's). The filters offer the values the server accepts (its answer's "options"). The
// view asks again each time it is opened. A request under way is said in the status region
// and marks the results busy; only the newest answer is shown; a refusal is said in the alert
// region. Focus moves only when the view opens (to its heading) and to a date the page
// refuses; "Visa" keeps it on the button.
//
// The view's hash is #statistik. coach.js routes the views it knows; for this one the page
// shows itself when coach.js reports a view change while the hash is #statistik (and the
// account is an operator), or when coach.js names the view "stats" itself.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { api, el, setText, setAttr, language, onUnauthorized } = window.LotsenCoach;
  const HASH = "#statistik";
  const CHANNELS = { webchat: "webbchatt", whatsapp: "WhatsApp", telegram: "Telegram", sms: "SMS",
                     terminal: "terminal" };
  const FILTERS = [["channel", "stats-channel", "Alla kanaler"],
                   ["language", "stats-language", "Alla språk"],
                   ["district", "stats-district", "Alla områden"]];

  let operator = false;      // the logged-in account is an operator
  let active = false;        // the view is shown
  let loaded = false;        // the view has asked for an answer since the login
  let seq = 0;               // only the newest answer is shown
  // The values each filter offers, as the server's last answer named them.
  const choices = { channel: new Set(), language: new Set(), district: new Set() };

  // ------------------------------------------------------------------ formatting
  const number = (n, digits = 0) => Number(n || 0).toLocaleString("sv-SE",
    { maximumFractionDigits: digits });
  const percent = (share) => (share === null || share === undefined ? null
    : `${number(share * 100, 1)} %`);
  const channelName = (code) => CHANNELS[code] || code;
  function languageName(code) {
    const name = language(code);
    return name && name !== code ? `${name} (${code})` : code;
  }
  const NAMES = { channel: channelName, language: languageName, district: (d) => d };

  // A time in minutes, or hours and minutes: "under 1 min", "12 min", "2 h 5 min".
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return null;
    if (seconds < 60) return "under 1 min";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60), rest = minutes % 60;
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
  }

  // UTF-8 bytes of the SVG as base64: btoa alone takes only Latin-1 and titles are Swedish.
  function base64(text) {
    const bytes = new TextEncoder().encode(text);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  // ------------------------------------------------------------------ the filters
  function fillSelect(name, id, all) {
    const select = $(id);
    const chosen = select.value;
    const codes = [...choices[name]].filter(Boolean);
    const label = NAMES[name];
    codes.sort((a, b) => label(a).localeCompare(label(b), "sv"));
    const wanted = ["", ...codes].join("\n");
    if ([...select.options].map((o) => o.value).join("\n") === wanted) return;
    const none = el("option", { value: "" }); none.textContent = all;
    select.replaceChildren(none, ...codes.map((code) => {
      const option = el("option", { value: code }); option.textContent = label(code); return option;
    }));
    select.value = codes.includes(chosen) ? chosen : "";
  }

  function fillSelects() { for (const [name, id, all] of FILTERS) fillSelect(name, id, all); }

  // The server names the values it accepts ("options"); without them, what the answer holds.
  function learn(data) {
    const options = data.options || {};
    for (const [name] of FILTERS) {
      if (Array.isArray(options[name])) { choices[name] = new Set(options[name]); continue; }
      const value = (data.filters || {})[name];
      if (value) choices[name].add(value);
    }
    if (!Array.isArray(options.channel)) for (const row of data.days || []) choices.channel.add(row.channel);
    if (!Array.isArray(options.language)) {
      for (const entry of data.languages || []) choices.language.add(entry.language);
    }
    fillSelects();
  }

  // ------------------------------------------------------------------ the answer
  function figure(term, value, detail) {
    const box = el("div", { class: "stats-figure" });
    const dt = el("dt"); dt.textContent = term;
    const dd = el("dd");
    const main = el("span", { class: "stats-value" });
    main.textContent = value === null ? "–" : value;
    dd.appendChild(main);
    if (value === null || detail) {
      const more = el("span", { class: "stats-detail" });
      more.textContent = detail || "inga uppgifter under perioden";
      dd.appendChild(more);
    }
    box.append(dt, dd);
    return box;
  }

  function renderFigures(data) {
    const k = data.key_figures || {};
    const totals = data.totals || {};
    const claims = data.time_to_claim || {};
    const scores = totals.satisfaction || {};
    const marked = Number(totals.attended || 0) + Number(totals.no_show || 0);
    const p90 = duration(claims.p90_seconds);
    const distribution = el("ul", { class: "stats-scores" });
    for (const score of ["5", "4", "3", "2", "1"]) {
      const li = el("li");
      li.textContent = `${score}: ${number(scores[score])} svar`;
      distribution.appendChild(li);
    }
    const mean = k.satisfaction_mean === null || k.satisfaction_mean === undefined ? null
      : `${number(k.satisfaction_mean, 2)} av 5`;
    const satisfaction = figure("Nöjdhet, medelvärde", mean,
      k.satisfaction_answers ? `${number(k.satisfaction_answers)} svar` : null);
    const spread = el("div", { class: "stats-figure" });
    const spreadTerm = el("dt"); spreadTerm.textContent = "Nöjdhet, fördelning (betyg: antal svar)";
    const spreadValue = el("dd"); spreadValue.appendChild(distribution);
    spread.append(spreadTerm, spreadValue);
    $("stats-figures").replaceChildren(
      figure("Personer som fick hjälp", number(k.people_helped)),
      figure("Samtal", number(k.conversations)),
      figure("Andel besvarade av Lotsen", percent(k.answered_share),
             k.answered_share === null ? null
               : `${number(totals.answered)} av ${number(totals.messages)} meddelanden`),
      figure("Andel till coach", percent(k.handed_over_share),
             k.handed_over_share === null ? null
               : `${number(totals.handovers_consented)} av ${number(totals.conversations)} samtal`),
      figure("Mediantid till coach tar", duration(k.median_seconds_to_claim),
             claims.claims ? `${number(claims.claims)} tagna; 9 av 10 inom ${p90}` : null),
      figure("Närvaro på drop-in", percent(k.attendance_share),
             marked ? `${number(totals.attended)} kom av ${number(marked)} markerade` : null),
      satisfaction, spread);
  }

  function cellText(value, chart) {
    if (value === null || value === undefined) return "–";
    if (chart.percent) return percent(value);
    return typeof value === "number" ? number(value, 2) : String(value);
  }

  // A row's label: a language code gets its Swedish name too; days and topics stay as they are.
  function rowLabel(value, chart) {
    const text = String(value);
    return (chart.columns[0] || "") === "Språk" ? languageName(text) : text;
  }

  function chartTable(chart, captionId) {
    const table = el("table", { class: "stats-table" });
    const caption = el("caption", { id: captionId });
    caption.textContent = chart.title;
    const head = el("thead");
    const headRow = el("tr");
    for (const name of chart.columns) {
      const th = el("th", { scope: "col" }); th.textContent = name; headRow.appendChild(th);
    }
    head.appendChild(headRow);
    const body = el("tbody");
    for (const row of chart.rows) {
      const tr = el("tr");
      const th = el("th", { scope: "row" }); th.textContent = rowLabel(row[0], chart);
      tr.appendChild(th);
      for (const value of row.slice(1)) {
        const td = el("td"); td.textContent = cellText(value, chart); tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    if (!chart.rows.length) {
      const tr = el("tr");
      const td = el("td", { colspan: String(Math.max(1, chart.columns.length)) });
      td.textContent = "Inga uppgifter under perioden.";
      tr.appendChild(td); body.appendChild(tr);
    }
    table.append(caption, head, body);
    return table;
  }

  function chartFigure(chart) {
    const id = String(chart.id).replace(/[^a-z0-9_-]/gi, "-");
    const box = el("figure", { class: "stats-chart", "data-chart": chart.id,
                               "aria-labelledby": `stats-chart-${id}-title` });
    const caption = el("figcaption");
    const title = el("h3", { class: "stats-chart-title", id: `stats-chart-${id}-title` });
    title.textContent = chart.title;
    const summary = el("p", { class: "stats-chart-summary" });
    summary.textContent = chart.summary;
    caption.append(title, summary);
    box.appendChild(caption);
    if (chart.svg) {
      const img = el("img", { class: "stats-chart-image", alt: chart.title,
                              src: `data:image/svg+xml;base64,${base64(chart.svg)}` });
      box.appendChild(img);
    }
    const scroll = el("div", { class: "stats-table-scroll", tabindex: "0", role: "region",
                               "aria-label": `Tabell: ${chart.title}` });
    scroll.appendChild(chartTable(chart, `stats-chart-${id}-caption`));
    box.appendChild(scroll);
    return box;
  }

  function describe(query) {
    const parts = FILTERS.map(([name, , all]) => (query.get(name) ? NAMES[name](query.get(name))
                                                                  : all.toLowerCase()));
    return `${query.get("from")} – ${query.get("to")} (${parts.join(", ")})`;
  }

  function render(data, query) {
    learn(data);
    if (data.from) $("stats-from").value = data.from;
    if (data.to) $("stats-to").value = data.to;
    const shown = new URLSearchParams({ from: data.from || query.get("from") || "",
                                        to: data.to || query.get("to") || "" });
    for (const [name] of FILTERS) if (query.get(name)) shown.set(name, query.get(name));
    setText($("stats-period"), `Period: ${describe(shown)}.`);
    renderFigures(data);
    $("stats-charts").replaceChildren(...(data.charts || []).map(chartFigure));
    $("stats-csv").href = `/coach/api/stats.csv?${shown}`;
    return `Statistiken visas för ${describe(shown)}.`;
  }

  // ------------------------------------------------------------------ asking the server
  function formQuery(withDates) {
    const query = new URLSearchParams();
    if (withDates) {
      if ($("stats-from").value) query.set("from", $("stats-from").value);
      if ($("stats-to").value) query.set("to", $("stats-to").value);
    }
    for (const [name, id] of FILTERS) if ($(id).value) query.set(name, $(id).value);
    return query;
  }

  function busy(yes) {
    setAttr($("stats-results"), "aria-busy", yes ? "true" : "false");
    $("stats-results").classList.toggle("loading", yes);
  }

  async function load(query) {
    const mine = ++seq;
    setText($("stats-form-error"), "");
    setText($("stats-status"), "Hämtar statistiken …");
    busy(true);
    try {
      const data = await api(`/coach/api/stats?${query}`);
      if (mine !== seq) return;
      setText($("stats-status"), render(data, query));
    } catch (err) {
      if (mine !== seq) return;
      if (err.status === 401) { onUnauthorized(); return; }
      setText($("stats-status"), "");
      const box = $("stats-form-error");
      if (err.status === 403) { setText(box, "Bara operatörer kan se statistiken."); return; }
      // The server's reason is in English: marked so, a screen reader pronounces it right.
      const reason = el("span", { lang: "en" }); reason.textContent = err.message;
      box.replaceChildren(err.status === 400 ? "Urvalet går inte att visa: "
                                             : "Statistiken gick inte att hämta: ", reason);
    } finally {
      if (mine === seq) busy(false);
    }
  }

  function invalid(field, text) {
    setAttr($("stats-from"), "aria-invalid", field === "stats-from" ? "true" : null);
    setAttr($("stats-to"), "aria-invalid", field === "stats-to" ? "true" : null);
    setText($("stats-form-error"), text);
    if (field) $(field).focus();
  }

  $("stats-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = $("stats-from"), to = $("stats-to");
    // A date field that is not a complete date has an empty value but a bad input.
    if (from.validity.badInput || to.validity.badInput) {
      const field = from.validity.badInput ? from : to;
      invalid(field.id, `Skriv ett helt datum i ${field === from ? "Från" : "Till"}, till exempel 2025-01-31.`);
      return;
    }
    if (from.value && to.value && from.value > to.value) {
      invalid("stats-from", "Från-datumet är efter Till-datumet. Välj ett Från-datum som är " +
              "före eller samma dag som Till.");
      return;
    }
    invalid(null, "");
    load(formQuery(true));
  });

  // ------------------------------------------------------------------ the view
  const visible = (node) => Boolean(node && node !== document.body && node.getClientRects().length);

  function takeOver() {
    for (const box of document.querySelectorAll("main > div[id$='-view']")) box.hidden = box.id !== "stats-view";
    for (const link of document.querySelectorAll("#views-nav a")) {
      setAttr(link, "aria-current", link.id === "nav-stats" ? "page" : null);
    }
    // coach.js moved focus to a heading this view just hid (or it was on the login form).
    setTimeout(() => { if (active && !visible(document.activeElement)) $("stats-title").focus(); }, 0);
  }

  function show(wanted) {
    if (!wanted) {
      if (!active) return;
      active = false;
      $("stats-view").hidden = true;
      setAttr($("nav-stats"), "aria-current", null);
      return;
    }
    $("stats-view").hidden = false;
    if (active) return;
    active = true;
    // The first time: the server's last 30 days; later the range and filters on screen again,
    // counted anew (the counters grow while the panel is open).
    load(formQuery(loaded));
    loaded = true;
  }

  function reset() {
    seq += 1;
    loaded = false;
    choices.channel = new Set(); choices.language = new Set(); choices.district = new Set();
    for (const [, id, all] of FILTERS) {
      const none = el("option", { value: "" }); none.textContent = all; $(id).replaceChildren(none);
    }
    $("stats-from").value = ""; $("stats-to").value = "";
    $("stats-figures").replaceChildren(); $("stats-charts").replaceChildren();
    for (const id of ["stats-status", "stats-form-error", "stats-period"]) setText($(id), "");
    $("stats-csv").href = "/coach/api/stats.csv";
    busy(false);
  }

  document.addEventListener("coach:login", (event) => {
    operator = event.detail.role === "operator";
    $("nav-stats").hidden = !operator;
  });
  document.addEventListener("coach:logout", () => {
    show(false);
    operator = false;
    $("nav-stats").hidden = true;
    $("stats-view").hidden = true;
    reset();
  });
  document.addEventListener("coach:view", (event) => {
    const known = event.detail === "stats";  // coach.js routes this view itself
    const wanted = operator && (known || location.hash === HASH);
    if (wanted && !known) takeOver();
    show(wanted);
  });
  // After coach.js's own hashchange handler: the heading of this view gets focus.
  window.addEventListener("hashchange", () => {
    if (operator && location.hash === HASH) $("stats-title").focus();
  });
})();
