// Agent Relay operator console: the same API and event stream any client uses, with the signed-in
// token. Plain ES modules, no build step. Each view is a module in ./views; this file signs in,
// keeps the store current from the stream and routes between views (#/<view>/<id>?<filters>).

import { ApiError, createApi } from "./api.js";
import { clear, h, tickTimes } from "./dom.js";
import { createStore } from "./store.js";
import { EventStream } from "./stream.js";
import { VIEWS } from "./views/index.js";

const TOKEN_KEY = "relayToken";
const $ = (sel) => document.querySelector(sel);

const app = {
  token: localStorage.getItem(TOKEN_KEY) || sessionStorage.getItem(TOKEN_KEY) || "",
  principal: null,
  store: createStore(),
  stream: null,
  views: new Map(),
  active: null,
  buffer: null,
  listeners: new Set(),
  renderQueued: false,
  refetching: new Map(),
};

const api = createApi({
  getToken: () => app.token,
  onUnauthorized: (message) => {
    // A revoked or expired token: back to the sign-in form with the server's reason.
    if (app.principal) signOut(message);
  },
});

// --- what each collection is loaded from, and the scope that may read it ---
const LOADERS = {
  agents: ["agents:read", () => api.get("/api/agents")],
  orchestrators: ["orchestrators:read", () => api.get("/api/orchestrators")],
  commands: ["commands:read", (q) => api.get("/api/commands", { limit: 200, ...q })],
  tasks: ["tasks:read", (q) => api.get("/api/tasks", { limit: 200, ...q })],
  recipes: ["recipes:read", () => api.get("/api/recipes")],
  instances: ["recipes:read", (q) => api.get("/api/recipes/instances", { limit: 100, ...q })],
  automations: ["automations:read", () => api.get("/api/automations")],
  runs: ["automations:read", (q) => api.get("/api/automation-runs", { limit: 200, ...q })],
  channels: ["channels:read", () => api.get("/api/channels")],
  pairs: ["pairs:read", (q) => api.get("/api/pairs", { limit: 200, ...q })],
  integrations: ["integrations:read", () => api.get("/api/integrations")],
  deliveries: ["integrations:read", (q) => api.get("/api/integrations/deliveries", { limit: 100, ...q })],
  tokens: ["tokens:admin", () => api.get("/api/tokens", { limit: 500 })],
  activity: ["activity:read", (q) => api.get("/api/activity", { limit: 200, ...q })],
};

function can(scope) {
  return Boolean(app.principal?.scopes?.includes(scope));
}

async function load(name, query) {
  const [scope, fn] = LOADERS[name];
  if (!can(scope)) return;
  const items = await fn(query || app.store[name].query || {});
  app.store[name].set(Array.isArray(items) ? items : []);
  queueRender();
}

// Reloads a collection after events that do not carry the whole item (bindings, deliveries).
function refetch(name) {
  if (app.refetching.has(name)) return;
  app.refetching.set(
    name,
    setTimeout(() => {
      app.refetching.delete(name);
      load(name).catch(() => {});
    }, 150),
  );
}

function applyEvent(evt) {
  const s = app.store;
  const d = evt.data || {};
  const t = String(evt.type || "");
  if (t.startsWith("agent.") && d.agent) {
    if (t === "agent.removed") s.agents.remove(d.agent.id);
    else s.agents.offer(d.agent);
    if (d.agent.kind === "channel") refetch("channels");
  } else if (t.startsWith("orchestrator.")) {
    if (t === "orchestrator.removed") s.orchestrators.remove(d.orchestratorId);
    else s.orchestrators.offer(d.orchestrator);
  } else if (t.startsWith("command.")) s.commands.offer(d.command);
  else if (t.startsWith("task.")) s.tasks.offer(d.task);
  else if (t.startsWith("recipe.")) s.instances.offer(d.instance);
  else if (t.startsWith("automation.")) {
    if (t === "automation.deleted") s.automations.remove(d.automationId);
    else s.automations.offer(d.automation);
    if (d.run) s.runs.offer(d.run);
  } else if (t.startsWith("pair.")) s.pairs.offer(d.pair);
  else if (t.startsWith("channel.") || t === "pool.binding_changed") refetch("channels");
  else if (t === "integration.callback") refetch("deliveries");
  else if (t === "activity.created") s.activity.offer(d.activity);
}

function onEvent(evt, id) {
  if (app.buffer) {
    app.buffer.push([evt, id]);
    return;
  }
  deliver(evt, id);
}

function deliver(evt, id) {
  applyEvent(evt);
  for (const view of app.views.values()) view.onEvent?.(evt, id);
  for (const fn of app.listeners) fn(evt, id);
  queueRender();
}

function queueRender() {
  if (app.renderQueued) return;
  app.renderQueued = true;
  requestAnimationFrame(() => {
    app.renderQueued = false;
    renderNavCounts();
    if (!app.active) return;
    const key = focusKey();
    app.active.render();
    if (key) restoreFocus(key);
  });
}

// A live re-render rebuilds rows; a keyboard user's focus goes back to the same control of the
// same row (the row's data-* attribute and the control's label say which).
function focusKey() {
  const el = document.activeElement;
  if (!el || el === document.body || !app.active.el.contains(el)) return null;
  const row = el.closest("tr[data-agent],tr[data-task],tr[data-command],tr[data-instance],tr[data-automation],tr[data-pair],tr[data-jti],tr[data-channel],tr[data-orchestrator],tr[data-run],article[data-message],article[data-recipe],li[data-binding]");
  if (!row) return null;
  const [name, value] = Object.entries(row.dataset)[0] || [];
  if (!name) return null;
  return { attr: `data-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value, tag: el.tagName, label: el.getAttribute("aria-label") || el.textContent.trim() };
}

function restoreFocus(key) {
  if (document.activeElement && document.activeElement !== document.body && app.active.el.contains(document.activeElement)) return;
  const row = app.active.el.querySelector(`[${key.attr}="${CSS.escape(key.value)}"]`);
  if (!row) return;
  for (const el of row.querySelectorAll(key.tag)) {
    if ((el.getAttribute("aria-label") || el.textContent.trim()) === key.label) {
      el.focus();
      return;
    }
  }
}

function setStreamStatus(status, detail) {
  const pill = $("#stream-status");
  pill.textContent = status;
  pill.className = `pill ${status}`;
  pill.title = detail || "";
  for (const view of app.views.values()) view.onStreamStatus?.(status, detail);
}

// --- navigation ---
function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || "agents", rest: parts.slice(1), params: new URLSearchParams(search) };
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (!app.principal) return;
  const r = parseRoute();
  let view = app.views.get(r.view);
  if (!view) view = app.views.values().next().value;
  if (app.active !== view) {
    app.active?.onHide?.();
    for (const v of app.views.values()) v.el.hidden = v !== view;
    app.active = view;
    document.title = `${view.title} · Agent Relay`;
    for (const a of document.querySelectorAll("#nav a")) {
      if (a.dataset.view === view.id) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    view.onShow?.();
  }
  view.route?.(r.rest, r.params);
  view.render();
  closeMenu();
}

function buildNav() {
  const groups = new Map();
  for (const view of app.views.values()) {
    if (!groups.has(view.group)) groups.set(view.group, []);
    groups.get(view.group).push(view);
  }
  const nav = $("#nav");
  clear(nav);
  for (const [group, views] of groups) {
    nav.append(
      h(
        "div",
        { class: "nav-group" },
        h("h2", null, group),
        h(
          "ul",
          null,
          views.map((v) =>
            h("li", null, h("a", { href: `#/${v.id}`, dataset: { view: v.id } }, h("span", null, v.title), h("span", { class: "count", dataset: { count: v.id } }))),
          ),
        ),
      ),
    );
  }
}

function renderNavCounts() {
  for (const view of app.views.values()) {
    const el = document.querySelector(`[data-count="${view.id}"]`);
    if (!el || !view.count) continue;
    const n = view.count();
    el.textContent = n ? String(n) : "";
  }
}

function closeMenu() {
  $("#nav").classList.remove("open");
  $("#menu-toggle").setAttribute("aria-expanded", "false");
}

// --- sign in / out ---
function showLogin(message) {
  $("#shell").hidden = true;
  $("#logout").hidden = true;
  $("#whoami").hidden = true;
  $("#menu-toggle").hidden = true;
  $("#login").hidden = false;
  const err = $("#login-error");
  err.hidden = !message;
  err.textContent = message || "";
  $("#login-token").focus();
}

function signOut(message) {
  app.stream?.stop();
  app.stream = null;
  app.principal = null;
  app.token = "";
  localStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  for (const view of app.views.values()) view.destroy?.();
  app.views.clear();
  app.active = null;
  app.listeners.clear();
  for (const c of Object.values(app.store)) c.clear();
  clear($("#main"));
  clear($("#nav"));
  setStreamStatus("offline");
  showLogin(message);
}

async function signIn(token, remember) {
  app.token = token;
  const principal = await api.get("/api/whoami");
  app.principal = principal;
  (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
  (remember ? sessionStorage : localStorage).removeItem(TOKEN_KEY);
  await start();
}

async function start() {
  $("#login").hidden = true;
  $("#shell").hidden = false;
  $("#logout").hidden = false;
  $("#menu-toggle").hidden = false;
  const who = $("#whoami");
  const p = app.principal;
  who.textContent = p.sub === p.role ? p.role : `${p.sub} · ${p.role}`;
  who.title = `signed in as ${p.sub} (role ${p.role})`;
  who.hidden = false;

  const ctx = {
    api,
    store: app.store,
    can,
    principal: p,
    token: () => app.token,
    navigate,
    load,
    refetch,
    queueRender,
    subscribe(fn) {
      app.listeners.add(fn);
      return () => app.listeners.delete(fn);
    },
    get stream() {
      return app.stream;
    },
  };
  const main = $("#main");
  for (const def of VIEWS) {
    if (def.needs && !can(def.needs)) continue;
    const view = def.create(ctx);
    view.id = def.id;
    view.title = def.title;
    view.group = def.group;
    view.el.id = `view-${def.id}`;
    view.el.classList.add("view");
    view.el.hidden = true;
    main.append(view.el);
    app.views.set(def.id, view);
  }
  buildNav();

  // Connect first and hold events back until the lists are loaded, then apply them in order:
  // whatever changed while the lists were being read is applied on top, so nothing is missed.
  app.buffer = [];
  app.stream = new EventStream({
    getToken: () => app.token,
    onEvent,
    onStatus: setStreamStatus,
    onUnauthorized: (message) => signOut(message),
    onReset: () => Promise.all(Object.keys(LOADERS).map((name) => load(name).catch(() => {}))),
  });
  if (can("events:read")) {
    await Promise.race([app.stream.start(), new Promise((r) => setTimeout(r, 4000))]);
  }
  await Promise.all(Object.keys(LOADERS).map((name) => load(name).catch((err) => console.warn(name, err))));
  const buffered = app.buffer;
  app.buffer = null;
  for (const [evt, id] of buffered) deliver(evt, id);
  route();
}

// --- wiring ---
$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = $("#login-token").value.trim();
  const err = $("#login-error");
  if (!token) {
    err.textContent = "enter a token";
    err.hidden = false;
    return;
  }
  const submit = e.submitter || $("#login-form button[type=submit]");
  submit.disabled = true;
  try {
    await signIn(token, $("#login-remember").checked);
    $("#login-token").value = "";
  } catch (error) {
    app.principal = null;
    app.token = "";
    err.textContent = error instanceof ApiError ? error.message : String(error);
    err.hidden = false;
  } finally {
    submit.disabled = false;
  }
});

$("#logout").addEventListener("click", () => signOut());
// The skip link moves focus to the content (its #main would otherwise be read as a route).
$(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  $("#main").focus();
});
$("#menu-toggle").addEventListener("click", () => {
  const open = $("#nav").classList.toggle("open");
  $("#menu-toggle").setAttribute("aria-expanded", String(open));
  if (open) $("#nav a")?.focus();
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && $("#nav").classList.contains("open")) closeMenu();
});
window.addEventListener("hashchange", route);
setInterval(() => tickTimes(), 5000);

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});

// Tests and curious operators can read the stream's position from the console.
window.relayConsole = {
  get lastEventId() {
    return app.stream?.lastEventId ?? null;
  },
  get received() {
    return app.stream?.received ?? 0;
  },
};

if (app.token) {
  api
    .get("/api/whoami")
    .then((principal) => {
      app.principal = principal;
      return start();
    })
    .catch((err) => {
      if (err instanceof ApiError && err.status === 401) signOut(err.message);
      else {
        // The relay is unreachable (offline shell): keep the token and say so.
        showLogin(err instanceof ApiError && err.status === 0 ? err.message : `cannot reach the relay: ${err.message}`);
      }
    });
} else {
  showLogin();
}
