// Agent Relay dashboard: the same API and SSE stream any client uses, with the token as a Bearer header.
const $ = (sel) => document.querySelector(sel);
const state = { token: localStorage.getItem("relayToken") || "", agents: new Map(), abort: null, lastEventId: null };
const MAX_FEED = 300;

function headers() {
  return { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" };
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers() });
  if (res.status === 401) {
    showLogin("That token was refused.");
    throw new Error("unauthorized");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function text(value) {
  const span = document.createElement("span");
  span.textContent = value ?? "";
  return span.innerHTML;
}

function ago(ms) {
  if (!ms) return "";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

function renderAgents() {
  const rows = [...state.agents.values()].map((a) => `
    <tr><td>${text(a.name)} <span class="meta">${text(a.id)}</span></td><td>${text(a.kind)}</td>
    <td class="status-${text(a.status)}">${text(a.status)}</td><td>${text(a.label)}</td>
    <td>${text((a.tags || []).join(", "))}</td><td>${ago(a.lastSeen)}</td></tr>`);
  $("#agents tbody").innerHTML = rows.join("");
}

function prepend(list, html) {
  const li = document.createElement("li");
  li.innerHTML = html;
  list.prepend(li);
  while (list.children.length > MAX_FEED) list.lastChild.remove();
}

function messageHtml(m) {
  return `<div><b>${text(m.from)}</b> → ${text(m.to)} <span class="meta">#${m.id} ${text(m.kind)}</span></div>
    <div>${text(m.body)}</div>`;
}

function activityHtml(a) {
  return `<div><b>${text(a.title)}</b> <span class="meta">${text(a.kind)} · ${new Date(a.createdAt).toLocaleString()}</span></div>
    <div>${text(a.body)}</div>`;
}

async function loadAll() {
  const [agents, messages, activity] = await Promise.all([
    api("/api/agents"), api("/api/messages?limit=100"), api("/api/activity?limit=100"),
  ]);
  state.agents = new Map(agents.map((a) => [a.id, a]));
  renderAgents();
  $("#messages").innerHTML = "";
  for (const m of messages) prepend($("#messages"), messageHtml(m));
  $("#activity").innerHTML = "";
  for (const a of activity.reverse()) prepend($("#activity"), activityHtml(a));
}

function onEvent(event) {
  prepend($("#events"), text(JSON.stringify(event)));
  const d = event.data || {};
  if (d.agent) {
    if (event.type === "agent.removed") state.agents.delete(d.agent.id);
    else state.agents.set(d.agent.id, d.agent);
    renderAgents();
  }
  if (event.type === "message.created" && d.message) prepend($("#messages"), messageHtml(d.message));
  if (event.type === "activity.created" && d.activity) prepend($("#activity"), activityHtml(d.activity));
}

// EventSource cannot send headers, so read the SSE stream with fetch; reconnect with Last-Event-ID.
async function listen() {
  while (state.token) {
    state.abort = new AbortController();
    try {
      const h = headers();
      if (state.lastEventId) h["Last-Event-ID"] = state.lastEventId;
      const res = await fetch("/api/events", { headers: h, signal: state.abort.signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      $("#status").textContent = "live";
      $("#status").classList.add("live");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
          let data = "";
          for (const line of block.split(/\r?\n/)) {
            if (line.startsWith("id:")) state.lastEventId = line.slice(3).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) onEvent(JSON.parse(data));
        }
      }
    } catch (err) {
      if (state.abort.signal.aborted) return;
    }
    $("#status").textContent = "reconnecting";
    $("#status").classList.remove("live");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function showLogin(message) {
  $("#app").hidden = true;
  $("#login").hidden = false;
  if (message) $(".hint").textContent = message;
}

async function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  try {
    await loadAll();
    listen();
  } catch (err) {
    if (err.message !== "unauthorized") $("#status").textContent = err.message;
  }
}

$("#login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("#token").value.trim();
  localStorage.setItem("relayToken", state.token);
  start();
});

$("#send-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    await api("/api/messages", { method: "POST", body: JSON.stringify({ from: "user", to: $("#send-to").value, body: $("#send-body").value }) });
    $("#send-body").value = "";
  } catch (err) {
    alert(err.message);
  }
});

for (const button of document.querySelectorAll("#tabs button")) {
  button.addEventListener("click", () => {
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b === button);
    for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${button.dataset.view}`;
  });
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
if (state.token) start(); else showLogin();
