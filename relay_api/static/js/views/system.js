// System: health of this node and Redis, workers alive, reaper lag, the event stream's position;
// broadcast to every agent; run the reaper now.
import { badge, button, chips, clear, errorLine, field, h, input, json, kv } from "../dom.js";
import { viewHeader } from "./common.js";

function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export default {
  id: "system",
  title: "System",
  group: "Admin",
  needs: null,
  create(ctx) {
    const healthEl = h("div", { "aria-live": "polite" });
    const streamEl = h("div");
    const providersEl = h("div");
    const healthErr = errorLine();
    const state = { health: null, timer: null, providers: null };

    // --- broadcast ---
    const bSubject = input({ name: "subject", maxlength: 500 });
    const bBody = h("textarea", { name: "body", rows: 2, required: true });
    const bErr = errorLine();
    const bNote = h("p", { class: "note", role: "status" });
    const bSend = h("button", { type: "submit", class: "primary" }, "Broadcast");
    const broadcast = h("form", { class: "form panel", "aria-label": "System broadcast" }, h("h2", null, "Broadcast to every agent"), field("Subject", bSubject), field("Body", bBody), bErr, bNote, h("div", { class: "actions" }, bSend));
    broadcast.addEventListener("submit", async (e) => {
      e.preventDefault();
      bErr.clear();
      bNote.textContent = "";
      bSend.disabled = true;
      try {
        const body = { body: bBody.value };
        if (bSubject.value.trim()) body.subject = bSubject.value.trim();
        const res = await ctx.api.post("/api/system/broadcast", body);
        bNote.textContent = `Broadcast as message #${res.message.id}.`;
        bBody.value = "";
      } catch (err) {
        bErr.show(err);
      } finally {
        bSend.disabled = false;
      }
    });

    // --- reap now ---
    const reapOut = h("div");
    const reapErr = errorLine();
    const reap = button("Run the reaper now", async () => {
      reapErr.clear();
      reap.disabled = true;
      try {
        const res = await ctx.api.post("/api/system/reap");
        const touched = Object.entries(res).filter(([, v]) => Array.isArray(v) && v.length);
        clear(reapOut, touched.length ? h("pre", { class: "small" }, json(Object.fromEntries(touched))) : h("p", { class: "note" }, "Nothing was due."));
      } catch (err) {
        reapErr.show(err);
      } finally {
        reap.disabled = false;
      }
    });
    const reapPanel = h("section", { class: "panel" }, h("h2", null, "Maintenance"), h("p", { class: "muted small" }, "Marks silent agents stale/offline, releases expired claims, expires commands — what the workers do every few seconds."), reap, reapErr, reapOut);

    const el = h(
      "section",
      null,
      viewHeader("System", "This node, Redis, the workers and the event stream."),
      healthErr,
      h("div", { class: "cards" }, h("section", { class: "panel" }, h("h2", null, "Health"), healthEl), h("section", { class: "panel" }, h("h2", null, "Event stream"), streamEl)),
      ctx.can("system:admin") ? h("div", { class: "cards" }, broadcast, reapPanel) : null,
      ctx.can("providers:read") ? h("section", { class: "panel" }, h("h2", null, "Provider configs"), providersEl) : null,
    );

    async function poll() {
      try {
        const res = await fetch("/api/health", { cache: "no-store" });
        state.health = await res.json();
        healthErr.clear();
      } catch (err) {
        healthErr.show(new Error(`health check failed: ${err.message}`));
      }
      render();
    }

    function renderHealth() {
      const hl = state.health;
      if (!hl) {
        clear(healthEl, h("p", { class: "muted" }, "Loading…"));
        return;
      }
      const reaper = hl.reaper;
      const lagging = reaper && reaper.agoMs > Math.max(3 * reaper.intervalS * 1000, 15000);
      const by = hl.counts?.agentsByStatus || {};
      clear(
        healthEl,
        kv([
          ["Status", badge(hl.ok ? "ok" : "down", "health")],
          ["Version", hl.version],
          ["Node", h("span", { class: "mono" }, hl.node)],
          ["Uptime", duration(hl.uptimeMs)],
          ["Redis", hl.redis?.ok ? badge("ok", "health") : h("span", { class: "error" }, hl.redis?.error || "unreachable")],
          ["Agents", hl.counts ? `${hl.counts.agents} (${Object.entries(by).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(", ") || "none live"})` : "—"],
          ["Latest message", hl.counts ? `#${hl.counts.messages}` : "—"],
          ["SSE clients on this node", String(hl.sse?.clients ?? "—")],
          ["Workers alive", hl.workers ? h("span", { dataset: { workers: String(hl.workers.alive) } }, h("span", { class: `badge ${hl.workers.alive ? "health-ok" : "status-failed"}` }, hl.workers.alive ? `${hl.workers.alive} alive` : "none alive"), " ", chips(hl.workers.ids)) : "—"],
          [
            "Reaper",
            reaper
              ? h("span", null, lagging ? badge("lagging", "status") : badge("on time", "health"), ` last pass ${duration(reaper.agoMs)} ago (every ${reaper.intervalS}s, ${reaper.durationMs} ms)`)
              : h("span", { class: "muted" }, "no worker pass yet"),
          ],
        ]),
      );
    }

    function renderStream() {
      const s = ctx.stream;
      clear(
        streamEl,
        kv([
          ["State", badge(s?.status || "offline", "stream")],
          ["Events received", String(s?.received ?? 0)],
          ["Connections", String(s?.connects ?? 0)],
          ["Last event id", h("span", { class: "mono small wrap" }, s?.lastEventId || "—")],
        ]),
      );
    }

    function renderProviders() {
      if (!state.providers) return;
      clear(
        providersEl,
        Object.entries(state.providers).map(([name, cfg]) =>
          h("details", { class: "json" }, h("summary", null, `${name}: ${cfg.command}`), h("pre", null, json(cfg))),
        ),
      );
    }

    function render() {
      renderHealth();
      renderStream();
      renderProviders();
    }

    return {
      el,
      render,
      onShow() {
        poll();
        state.timer = setInterval(poll, 5000);
        if (ctx.can("providers:read")) {
          ctx.api.get("/api/providers/config").then((p) => {
            state.providers = p;
            renderProviders();
          }).catch((err) => clear(providersEl, h("p", { class: "error" }, err.message)));
        }
      },
      onHide() {
        clearInterval(state.timer);
      },
      destroy() {
        clearInterval(state.timer);
      },
      onStreamStatus: () => renderStream(),
    };
  },
};
