// Orchestrators: hosts, providers, version, managed agents, heartbeat age; spawn through one,
// restart or shut down all its agents, remove it.
import { seg } from "../api.js";
import { badge, button, chips, clear, confirmAction, h, table, timeAgo } from "../dom.js";
import { Notes, rowAction, viewHeader } from "./common.js";
import { openSpawnDialog } from "./spawn.js";

export default {
  id: "orchestrators",
  title: "Orchestrators",
  group: "Work",
  needs: "orchestrators:read",
  create(ctx) {
    const notes = new Notes(ctx.queueRender);
    const body = h("div");
    const el = h("section", null, viewHeader("Orchestrators", "The host daemons that spawn, restart and shut down agents."), body);
    let focusId = null;

    function managed(o) {
      const cards = ctx.store.agents.list().filter((a) => a.orchestratorId === o.id && a.kind !== "orchestrator");
      const ids = new Set(cards.map((a) => a.id));
      for (const m of o.agents || []) {
        const id = typeof m === "object" && m ? m.id || m.agentId : m;
        if (id) ids.add(String(id));
      }
      return [...ids].sort();
    }

    function actions(o) {
      const out = [];
      if (ctx.can("orchestrators:write")) {
        out.push(button("Spawn", () => openSpawnDialog(ctx, { orchestratorId: o.id }), { class: "small primary", "aria-label": `Spawn through ${o.id}` }));
        for (const action of ["restart", "shutdown"]) {
          const b = button(action === "restart" ? "Restart all" : "Shut down all", () =>
            rowAction(notes, o.id, b, async () => {
              const res = await ctx.api.post(`/api/orchestrators/${seg(o.id)}/actions`, { action });
              return `${action} requested: command ${res.command.id}`;
            }), { class: "small" });
          out.push(b);
        }
      }
      if (ctx.can("orchestrators:admin")) {
        out.push(button("Remove", () => confirmAction(`Remove ${o.id}?`, "Its record and agent card go; a running daemon registers again.", "Remove", () => ctx.api.del(`/api/orchestrators/${seg(o.id)}`)), { class: "small danger ghost" }));
      }
      return h("div", { class: "row-actions" }, out, notes.el(o.id));
    }

    function render() {
      const list = ctx.store.orchestrators.list().sort((a, b) => a.id.localeCompare(b.id));
      clear(
        body,
        table(
          ["Orchestrator", "Status", "Providers", "Version", "Managed agents", "Heartbeat", "Actions"],
          list.map((o) => {
            const agents = managed(o);
            return {
              tr: h("tr", { dataset: { orchestrator: o.id }, class: o.id === focusId ? "focus" : "" }),
              cells: [
                h("div", null, h("strong", null, o.id), h("div", { class: "muted small" }, o.hostname), o.baseDir ? h("div", { class: "muted small mono", title: "base directory" }, o.baseDir) : null, o.apiUrl ? h("div", { class: "muted small mono", title: "directory API" }, o.apiUrl) : null),
                badge(o.status),
                chips(o.providers),
                h("div", null, o.version || "—", o.protocolVersion ? h("div", { class: "muted small" }, `protocol ${o.protocolVersion}`) : null, o.gitSha ? h("div", { class: "muted small mono" }, o.gitSha.slice(0, 10)) : null),
                agents.length
                  ? h("ul", { class: "plain" }, agents.map((id) => h("li", null, h("a", { href: `#/agents?q=${encodeURIComponent(id)}` }, id), " ", ctx.store.agents.get(id) ? badge(ctx.store.agents.get(id).status) : null)))
                  : h("span", { class: "muted" }, "none"),
                timeAgo(o.lastSeen),
                actions(o),
              ],
            };
          }),
          "No orchestrator has registered. Run one on a developer host (`relay orchestrator`).",
        ),
      );
    }
    return {
      el,
      render,
      count: () => ctx.store.orchestrators.list().filter((o) => o.status === "online").length,
      route(_rest, params) {
        focusId = params.get("id");
      },
    };
  },
};

