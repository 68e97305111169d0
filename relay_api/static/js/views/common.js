// Pieces several views share.
import { h } from "../dom.js";

// Outcome notes keyed by item id, so a failure shown next to a row survives the re-render the next
// live event causes.
export class Notes {
  constructor(queueRender) {
    this.map = new Map();
    this.queueRender = queueRender;
  }

  error(key, err) {
    this.map.set(String(key), { kind: "error", text: err?.message || String(err) });
    this.queueRender();
  }

  ok(key, text) {
    this.map.set(String(key), { kind: "ok", text });
    this.queueRender();
  }

  clear(key) {
    this.map.delete(String(key));
  }

  el(key) {
    const note = this.map.get(String(key));
    if (!note) return null;
    return h("p", { class: note.kind === "error" ? "error" : "note", role: note.kind === "error" ? "alert" : "status" }, note.text);
  }
}

// Runs a row action: clears the row's note, records a failure as its note.
export async function rowAction(notes, key, button, fn) {
  notes.clear(key);
  if (button) button.disabled = true;
  try {
    const text = await fn();
    if (text) notes.ok(key, text);
    else notes.queueRender();
  } catch (err) {
    notes.error(key, err);
  } finally {
    if (button) button.disabled = false;
  }
}

// An agent's id, and its name only when it says something the id does not (never "alice alice",
// nor "Alice alice"): the id is what messages and commands are addressed to.
export function agentTitle(agent, id) {
  if (!agent) return h("span", { class: "mono" }, id ?? "—");
  const name = agent.name && agent.name.trim().toLowerCase() !== agent.id.toLowerCase() ? agent.name : null;
  return h(
    "span",
    { class: "agent-title" },
    h("strong", null, name || agent.id),
    name ? h("span", { class: "muted mono small" }, agent.id) : null,
  );
}

export function toolbar(...children) {
  return h("div", { class: "toolbar" }, children);
}

export function viewHeader(title, description, ...actions) {
  return h(
    "header",
    { class: "view-header" },
    h("div", null, h("h1", null, title), description ? h("p", { class: "muted" }, description) : null),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

export function matchText(haystack, needle) {
  if (!needle) return true;
  return haystack
    .filter((v) => v !== null && v !== undefined)
    .join(" ")
    .toLowerCase()
    .includes(needle.toLowerCase());
}

export const AGENT_STATUSES = ["online", "idle", "busy", "stale", "offline"];
export const AGENT_KINDS = ["provider", "channel", "orchestrator", "system", "user"];
export const COMMAND_STATUSES = ["pending", "accepted", "running", "succeeded", "failed", "timed_out", "rejected", "canceled"];
export const TASK_STATUSES = ["open", "claimed", "in_progress", "blocked", "orphaned", "done", "failed", "canceled"];
export const PAIR_STATUSES = ["pending", "active", "ended", "rejected", "expired"];
export const ACTIVITY_KINDS = ["message", "reply", "question", "operator", "pair", "task", "state"];
export const MESSAGE_KINDS = ["chat", "channel.event", "task", "pair", "control", "system"];
export const APPROVAL_MODES = ["open", "guarded", "read-only"];
export const PROVIDERS = ["claude", "codex"];
export const ROLES = ["admin", "operator", "orchestrator", "agent", "integration", "viewer"];

// Commands whose target agent a dashboard may restart or shut down (the server's rule).
export function controllable(agent) {
  return (
    agent?.meta?.runnerManaged === true &&
    !["user", "system"].includes(agent.id) &&
    !["user", "system", "channel"].includes(agent.kind) &&
    !(agent.tags || []).includes("channel")
  );
}

// The address suggestions a message or binding target field offers.
export function targetSuggestions(agents) {
  const out = new Set(["broadcast"]);
  for (const a of agents) {
    out.add(a.id);
    for (const t of a.tags || []) out.add(`tag:${t}`);
    for (const c of a.capabilities || []) out.add(`cap:${c}`);
    if (a.label) out.add(`label:${a.label}`);
  }
  return [...out];
}

export function datalist(id, values) {
  return h("datalist", { id }, values.map((v) => h("option", { value: v })));
}
