// DOM helpers. Every text the relay returns goes in as a text node (never innerHTML), so an agent
// called "<img onerror=…>" is shown, not run.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "value") el.value = value;
      else if (key === "checked" || key === "disabled" || key === "hidden" || key === "selected" || key === "open") el[key] = Boolean(value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtTime(ms) {
  if (!ms) return "—";
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

export function ago(ms, now = Date.now()) {
  if (!ms) return "—";
  const diff = now - ms;
  const future = diff < 0;
  const s = Math.round(Math.abs(diff) / 1000);
  let text;
  if (s < 60) text = `${s}s`;
  else if (s < 3600) text = `${Math.round(s / 60)}m`;
  else if (s < 86400) text = `${Math.round(s / 3600)}h`;
  else text = `${Math.round(s / 86400)}d`;
  return future ? `in ${text}` : `${text} ago`;
}

// A <time> whose relative text the app's ticker refreshes (see tickTimes) without re-rendering.
export function timeAgo(ms) {
  if (!ms) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: new Date(ms).toISOString(), title: new Date(ms).toLocaleString(), dataset: { ts: String(ms) } }, ago(ms));
}

export function timeAt(ms) {
  if (!ms) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: new Date(ms).toISOString(), title: ago(ms) }, fmtTime(ms));
}

export function tickTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll("time[data-ts]")) el.textContent = ago(Number(el.dataset.ts), now);
}

export function badge(value, kind = "status") {
  return h("span", { class: `badge ${kind}-${String(value).replace(/[^a-z0-9_-]/gi, "_")}` }, value ?? "—");
}

export function chips(values, cls = "chip") {
  const list = (values || []).filter((v) => v !== null && v !== undefined && v !== "");
  if (!list.length) return h("span", { class: "muted" }, "—");
  return h("span", { class: "chips" }, list.map((v) => h("span", { class: cls }, v)));
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

export function jsonDetails(label, value) {
  if (value === null || value === undefined || (typeof value === "object" && !Object.keys(value).length)) {
    return h("span", { class: "muted" }, "—");
  }
  return h("details", { class: "json" }, h("summary", null, label), h("pre", null, json(value)));
}

export function shortId(id, keep = 10) {
  const s = String(id ?? "");
  return s.length > keep + 2 ? `…${s.slice(-keep)}` : s;
}

// An inline error line: shows the server's `error` text next to the control that failed.
export function errorLine() {
  const el = h("p", { class: "error", role: "alert", hidden: true });
  el.show = (err) => {
    el.textContent = err?.message || String(err);
    el.hidden = false;
  };
  el.clear = () => {
    el.textContent = "";
    el.hidden = true;
  };
  return el;
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { class: "muted" }, hint) : null);
}

export function input(attrs) {
  return h("input", { type: "text", spellcheck: "false", ...attrs });
}

export function select(options, attrs = {}) {
  const el = h("select", attrs);
  for (const opt of options) {
    const [value, label] = Array.isArray(opt) ? opt : [opt, opt];
    el.append(h("option", { value, selected: attrs.value !== undefined && String(attrs.value) === String(value) }, label));
  }
  if (attrs.value !== undefined) el.value = attrs.value;
  return el;
}

export function button(label, onClick, attrs = {}) {
  return h("button", { type: "button", ...attrs, onclick: onClick }, label);
}

// Runs an action for a button: disables it meanwhile and shows a failure in `errorEl`.
export async function act(buttonEl, errorEl, fn) {
  errorEl?.clear();
  if (buttonEl) buttonEl.disabled = true;
  try {
    return await fn();
  } catch (err) {
    if (errorEl) errorEl.show(err);
    else console.error(err);
    return undefined;
  } finally {
    if (buttonEl) buttonEl.disabled = false;
  }
}

export function splitList(text) {
  return String(text || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

// A modal <dialog>: focus moves into it, Escape closes it, and it is removed from the page on close.
export function dialog(title, { body = [], onClose, wide = false } = {}) {
  const heading = h("h2", { id: `dlg-${Math.random().toString(36).slice(2, 9)}` }, title);
  const closeBtn = h("button", { type: "button", class: "icon-button close", "aria-label": "Close" }, "×");
  const content = h("div", { class: "dialog-body" }, body);
  const dlg = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": heading.id }, h("header", null, heading, closeBtn), content);
  closeBtn.addEventListener("click", () => dlg.close());
  dlg.addEventListener("close", () => {
    dlg.remove();
    onClose?.();
  });
  document.body.append(dlg);
  dlg.showModal();
  dlg.content = content;
  return dlg;
}

// Asks before a destructive action, in a dialog (never window.confirm).
export function confirmAction(title, text, confirmLabel, fn) {
  const err = errorLine();
  const ok = h("button", { type: "button", class: "danger" }, confirmLabel);
  const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
  const dlg = dialog(title, { body: [h("p", null, text), err, h("div", { class: "actions" }, cancel, ok)] });
  cancel.addEventListener("click", () => dlg.close());
  ok.addEventListener("click", async () => {
    const done = await act(ok, err, async () => {
      await fn();
      return true;
    });
    if (done) dlg.close();
  });
  cancel.focus();
  return dlg;
}

export function emptyRow(cols, text) {
  return h("tr", { class: "empty" }, h("td", { colspan: cols }, text));
}

// A responsive table: on a phone each row becomes a card whose cells carry their column's label.
// An "Actions" column with nothing in any row (a read-only token) is left out.
export function table(columns, rows, emptyText = "Nothing yet.") {
  const drop = new Set(columns.map((c, i) => (c === "Actions" && rows.length && rows.every((r) => isBlank(r.cells[i])) ? i : -1)).filter((i) => i >= 0));
  const keep = (_, i) => !drop.has(i);
  const shown = columns.filter(keep);
  const thead = h("thead", null, h("tr", null, shown.map((c) => h("th", { scope: "col" }, c))));
  const tbody = h("tbody");
  if (!rows.length) tbody.append(emptyRow(shown.length, emptyText));
  for (const row of rows) {
    const tr = row.tr || h("tr");
    row.cells.forEach((cell, i) => {
      if (!drop.has(i)) tr.append(h("td", { "data-label": columns[i], class: isBlank(cell) ? "blank" : null }, cell));
    });
    tbody.append(tr);
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "grid" }, thead, tbody));
}

// A cell that says nothing ("—"): a phone's row card leaves it out.
function isBlank(cell) {
  if (cell === null || cell === undefined || cell === "" || cell === "—") return true;
  if (!(cell instanceof Element)) return false;
  if (cell.classList.contains("muted") && cell.textContent === "—") return true;
  return !cell.textContent.trim() && !cell.querySelector("button, a, input, select, img");
}

export function kv(pairs) {
  return h(
    "dl",
    { class: "kv" },
    pairs.filter(Boolean).map(([k, v]) => [h("dt", null, k), h("dd", null, v ?? h("span", { class: "muted" }, "—"))]),
  );
}

export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", null, title), children);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
