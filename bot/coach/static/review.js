// Lotsen coach panel, the "Granska" view (operators): groups of questions the bot did not
// understand, redacted, most frequent first; each gets a label (an intent, a specific answer
// or "ignore") with a select and a save button; labelled groups are exported as Rasa NLU YAML.
// Rows are updated in place after a save, so focus stays on the button that was pressed.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { api, el, setText, language, onUnauthorized } = window.LotsenCoach;
  const REASONS = { clarify: "oklar", out_of_scope: "utanför ämnet", unhelpful: "hjälpte inte",
                    comment: "kommentar" };
  let labels = [];
  let shownLanguage = null;

  function fail(err) {
    if (err.status === 401) onUnauthorized(); else setText($("review-error"), err.message);
  }

  function labelSelect(group) {
    const select = el("select", { id: `label-${group.id}` });
    const none = el("option", { value: "" }); none.textContent = "– välj –";
    select.appendChild(none);
    for (const name of labels) {
      const option = el("option", { value: name });
      option.textContent = name === "ignore" ? "ignorera" : name;
      select.appendChild(option);
    }
    select.value = group.label || "";
    return select;
  }

  function row(group) {
    const tr = el("tr", { role: "row" });
    const questions = el("td", { role: "cell", "data-label": "Frågor" });
    const list = el("ul", { class: "plain" });
    for (const text of group.examples) { const li = el("li"); li.textContent = text; list.appendChild(li); }
    questions.appendChild(list);
    const count = el("td", { role: "cell", "data-label": "Antal" });
    count.textContent = `${group.count} (${Object.entries(group.reasons).map(([r, n]) => `${REASONS[r] || r} ${n}`).join(", ")})`;
    const guess = el("td", { role: "cell", "data-label": "Botens gissning" });
    guess.textContent = group.predicted || "–";
    const labelCell = el("td", { role: "cell", "data-label": "Rätt svar" });
    const form = el("form", { class: "label-form" });
    const select = labelSelect(group);
    const label = el("label", { for: select.id, class: "visually-hidden" });
    label.textContent = `Rätt svar för ”${group.examples[0] || ""}”`;
    const save = el("button", { type: "submit", class: "secondary" });
    save.textContent = "Spara";
    const saved = el("span", { class: "muted", role: "status" });
    saved.textContent = group.label ? "Märkt" : "";
    form.append(label, select, save, saved);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      setText($("review-error"), "");
      if (!select.value) { setText($("review-error"), "Välj ett svar först."); return; }
      try {
        await api(`/coach/api/review/${group.id}`, { intent: select.value });
        setText(saved, "Märkt");
      } catch (err) { fail(err); }
    });
    labelCell.appendChild(form);
    tr.append(questions, count, guess, labelCell);
    return tr;
  }

  function weeks(data) {
    const codes = Object.keys(data.weeks[0] ? data.weeks[0].languages : {});
    const head = $("weeks-head");
    head.replaceChildren(el("th", { role: "columnheader", scope: "col" }));
    head.firstChild.textContent = "Vecka";
    for (const code of codes) {
      const th = el("th", { role: "columnheader", scope: "col" }); th.textContent = language(code); head.appendChild(th);
    }
    $("weeks-body").replaceChildren(...data.weeks.map((week) => {
      const tr = el("tr", { role: "row" });
      const th = el("th", { role: "rowheader", scope: "row" }); th.textContent = week.week; tr.appendChild(th);
      for (const code of codes) {
        const cell = el("td", { role: "cell" });
        const counts = week.languages[code];
        cell.textContent = counts.share === null ? "–" : `${Math.round(counts.share * 100)} % (${counts.not_understood} av ${counts.messages})`;
        tr.appendChild(cell);
      }
      return tr;
    }));
  }

  async function load() {
    shownLanguage = $("review-language").value || shownLanguage;
    if (!shownLanguage) return;
    setText($("review-error"), "");
    try {
      const data = await api(`/coach/api/review?lang=${encodeURIComponent(shownLanguage)}`);
      labels = data.labels;
      $("review-body").replaceChildren(...data.groups.map(row));
      $("review-table").hidden = data.groups.length === 0;
      setText($("review-summary"), data.groups.length
        ? `${data.groups.length} grupper på ${language(shownLanguage)}.`
        : `Inget att granska på ${language(shownLanguage)}.`);
      $("review-export").href = `/coach/api/review/export?lang=${encodeURIComponent(shownLanguage)}`;
      weeks(data);
    } catch (err) { fail(err); }
  }

  $("review-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });

  document.addEventListener("coach:login", async (event) => {
    if (event.detail.role !== "operator") return;
    try {
      const data = await api("/webchat/languages");
      $("review-language").replaceChildren(...data.languages.map((l) => {
        const option = el("option", { value: l.code }); option.textContent = language(l.code); return option;
      }));
      $("review-language").value = data.default;
      shownLanguage = data.default;
    } catch (err) { fail(err); }
  });
  document.addEventListener("coach:logout", () => { $("review-body").replaceChildren(); shownLanguage = null; });
  document.addEventListener("coach:view", (event) => { if (event.detail === "review") load(); });
})();
