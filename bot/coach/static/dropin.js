// Lotsen coach panel, the "Drop-in" view: the bookings of one location and day (the locations
// of the coach's teams), seats used, languages, attendance marking and a CSV export. Bookings
// carry no names. A booking made or cancelled meanwhile (a live event) refreshes the day shown;
// the rows update in place, so a focused attendance button keeps its focus.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { api, el, setText, setAttr, language, onUnauthorized } = window.LotsenCoach;
  const STATUS = { booked: "bokad", cancelled: "avbokad" };
  const MARKS = [["attended", "Kom"], ["no_show", "Kom inte"]];
  const rows = new Map();    // booking code -> row elements
  let shown = null;          // {location, day} on screen
  let active = false;

  function query() { return `location=${encodeURIComponent(shown.location)}&day=${shown.day}`; }

  function createRow(booking) {
    const row = el("tr", { role: "row" });
    const cells = {};
    for (const [key, label] of [["start", "Tid"], ["code", "Kod"], ["service", "Tjänst"],
                                ["language", "Språk"], ["status", "Status"]]) {
      cells[key] = el("td", { role: "cell", "data-label": label });
      row.appendChild(cells[key]);
    }
    const marks = el("td", { role: "cell", "data-label": "Närvaro", class: "marks" });
    const group = el("div", { role: "group", class: "mark-group" });
    const buttons = {};
    for (const [value, label] of MARKS) {
      const button = el("button", { type: "button", class: "secondary", "data-mark": value });
      button.textContent = label;
      button.addEventListener("click", () => mark(booking.code, value));
      buttons[value] = button;
      group.appendChild(button);
    }
    marks.appendChild(group);
    row.appendChild(marks);
    return { row, cells, group, buttons };
  }

  function updateRow(entry, booking) {
    setText(entry.cells.start, booking.start);
    setText(entry.cells.code, booking.code);
    setText(entry.cells.service, booking.service);
    setText(entry.cells.language, language(booking.language));
    setText(entry.cells.status, STATUS[booking.status] || booking.status);
    setAttr(entry.group, "aria-label", `Närvaro ${booking.start}, kod ${booking.code}`);
    const active = booking.status === "booked";
    for (const [value] of MARKS) {
      const button = entry.buttons[value];
      setAttr(button, "aria-pressed", booking.attendance === value ? "true" : "false");
      setAttr(button, "aria-disabled", active ? null : "true");
    }
  }

  function render(day) {
    const languages = Object.entries(day.languages).map(([code, n]) => `${language(code)} ${n}`).join(", ");
    setText($("dropin-summary"), `${day.name}, ${day.day}: ${day.booked} av ${day.seats} platser bokade` +
            (languages ? ` (${languages}).` : "."));
    const body = $("dropin-body");
    const wanted = new Set(day.bookings.map((b) => b.code));
    for (const [code, entry] of rows) {
      if (!wanted.has(code)) {
        if (entry.row.contains(document.activeElement)) $("dropin-title").focus();
        entry.row.remove(); rows.delete(code);
      }
    }
    let next = body.firstElementChild;
    for (const booking of day.bookings) {
      let entry = rows.get(booking.code);
      if (!entry) { entry = createRow(booking); rows.set(booking.code, entry); }
      updateRow(entry, booking);
      if (entry.row === next) next = next.nextElementSibling;
      else body.insertBefore(entry.row, next);
    }
    $("dropin-table").hidden = day.bookings.length === 0;
    $("dropin-csv").href = `/coach/api/bookings.csv?${query()}`;
  }

  async function load() {
    if (!shown) return;
    setText($("dropin-error"), "");
    try { render(await api(`/coach/api/bookings?${query()}`)); }
    catch (err) { if (err.status === 401) onUnauthorized(); else setText($("dropin-error"), err.message); }
  }

  async function mark(code, value) {
    const entry = rows.get(code);
    if (entry && entry.buttons[value].getAttribute("aria-disabled") === "true") {
      setText($("dropin-error"), "Bokningen är avbokad."); return;
    }
    try { await api(`/coach/api/bookings/${code}/attendance`, { status: value }); await load(); }
    catch (err) { if (err.status === 401) onUnauthorized(); else setText($("dropin-error"), err.message); }
  }

  $("dropin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("dropin-location").value || !$("dropin-day").value) return;
    shown = { location: $("dropin-location").value, day: $("dropin-day").value };
    rows.clear(); $("dropin-body").replaceChildren();
    load();
  });

  document.addEventListener("coach:login", async () => {
    try {
      const data = await api("/coach/api/locations");
      $("dropin-location").replaceChildren(...data.locations.map((loc) => {
        const option = el("option", { value: loc.id }); option.textContent = loc.name; return option;
      }));
      $("dropin-day").value = data.today;
      if (data.locations.length) shown = { location: data.locations[0].id, day: data.today };
      if (!data.locations.length) setText($("dropin-summary"), "Dina team har inga drop-in-platser.");
      if (active) load();
    } catch (err) { if (err.status === 401) onUnauthorized(); }
  });
  document.addEventListener("coach:logout", () => { shown = null; rows.clear(); $("dropin-body").replaceChildren(); });
  document.addEventListener("coach:view", (event) => { active = event.detail === "dropin"; if (active) load(); });
  document.addEventListener("coach:booking", (event) => {
    if (active && shown && event.detail.location === shown.location && event.detail.day === shown.day) load();
  });
})();
