// Agents: every card with status, kind, label, tags, capabilities, last seen and orchestrator;
// filter and search; edit label and tags; restart/shutdown runner-managed agents; spawn.
import { seg } from "../api.js";
import { badge, button, chips, clear, dialog, errorLine, field, h, input, select, splitList, table, timeAgo, confirmAction } from "../dom.js";
import { LIVE_AGENT } from "../store.js";
import { AGENT_KINDS, AGENT_STATUSES, Notes, agentTitle, controllable, matchText, rowAction, toolbar, viewHeader } from "./common.js";
import { openSpawnDialog } from "./spawn.js";

function editDialog(ctx, agent) {
  const label = input({ name: "label", value: agent.label ?? "", maxlength: 120, placeholder: "no label" });
  const tags = input({ name: "tags", value: (agent.tags || []).join(", "), placeholder: "comma separated" });
  const err = errorLine();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h("form", { class: "form" }, field("Label", label, "empty clears it"), field("Tags", tags, "comma separated"), err, h("div", { class: "actions" }, save));
  const dlg = dialog(`Edit ${agent.name && agent.name !== agent.id ? agent.name : agent.id}`, { body: [form] });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.clear();
    save.disabled = true;
    try {
      const nextLabel = label.value.trim() || null;
      if (nextLabel !== (agent.label ?? null)) await ctx.api.patch(`/api/agents/${seg(agent.id)}/label`, { label: nextLabel });
      const nextTags = splitList(tags.value);
      if (nextTags.join("\u0000") !== (agent.tags || []).join("\u0000")) {
        ctx.store.agents.upsert(await ctx.api.patch(`/api/agents/${seg(agent.id)}/tags`, { tags: nextTags }));
      }
      dlg.close();
    } catch (error) {
      err.show(error);
    } finally {
      save.disabled = false;
    }
  });
  label.focus();
}

export default {
  id: "agents",
  title: "Agents",
  group: "Work",
  needs: "agents:read",
  create(ctx) {
    const notes = new Notes(ctx.queueRender);
    const search = input({ type: "search", placeholder: "Search id, name, label, tag, capability", "aria-label": "Search agents" });
    const status = select([["", "Any status"], ...AGENT_STATUSES], { "aria-label": "Status" });
    const kind = select([["", "Any kind"], ...AGENT_KINDS], { "aria-label": "Kind" });
    const orch = select([["", "Any orchestrator"]], { "aria-label": "Orchestrator" });
    for (const el of [search, status, kind, orch]) el.addEventListener("input", () => render());
    const spawn = ctx.can("orchestrators:write") || ctx.can("agents:write") ? button("Spawn agent", () => openSpawnDialog(ctx), { class: "primary" }) : null;
    const body = h("div");
    const summary = h("p", { class: "muted small", "aria-live": "polite" });
    const el = h("section", null, viewHeader("Agents", "Everything registered with the relay, live.", spawn), toolbar(search, status, kind, orch), summary, body);

    function syncOrchestratorFilter() {
      const ids = ctx.store.orchestrators.list().map((o) => o.id).sort();
      const have = [...orch.options].slice(1).map((o) => o.value);
      if (ids.join() === have.join()) return;
      const keep = orch.value;
      clear(orch, h("option", { value: "" }, "Any orchestrator"), ids.map((id) => h("option", { value: id }, id)));
      orch.value = ids.includes(keep) ? keep : "";
    }

    function actions(agent) {
      const out = [];
      if (ctx.can("agents:write")) out.push(button("Edit", () => editDialog(ctx, agent), { class: "small", "aria-label": `Edit ${agent.id}` }));
      if (ctx.can("messages:send")) out.push(h("a", { class: "button small ghost", href: `#/messages?to=${encodeURIComponent(agent.id)}` }, "Message"));
      if (ctx.can("messages:read")) out.push(h("a", { class: "button small ghost", href: `#/messages?agent=${encodeURIComponent(agent.id)}` }, "Inbox"));
      if (ctx.can("agents:write") && controllable(agent)) {
        for (const action of ["restart", "shutdown"]) {
          const b = button(action === "restart" ? "Restart" : "Shut down", () =>
            rowAction(notes, agent.id, b, async () => {
              const res = await ctx.api.post(`/api/agents/${seg(agent.id)}/actions`, { action });
              return `${action} requested: command ${res.command.id}`;
            }), { class: "small", "aria-label": `${action} ${agent.id}` });
          out.push(b);
        }
      }
      if (ctx.can("agents:admin") && !["user", "system"].includes(agent.id)) {
        out.push(
          button("Delete", () => confirmAction(`Delete ${agent.id}?`, "Its card, inbox and bindings go; a live agent may register again.", "Delete", () => ctx.api.del(`/api/agents/${seg(agent.id)}`)), {
            class: "small danger ghost",
            "aria-label": `Delete ${agent.id}`,
          }),
        );
      }
      return h("div", { class: "row-actions" }, out, notes.el(agent.id));
    }

    function render() {
      syncOrchestratorFilter();
      const all = ctx.store.agents.list();
      const rows = all
        .filter((a) => !status.value || a.status === status.value)
        .filter((a) => !kind.value || a.kind === kind.value)
        .filter((a) => !orch.value || a.orchestratorId === orch.value)
        .filter((a) => matchText([a.id, a.name, a.label, a.provider, ...(a.tags || []), ...(a.capabilities || [])], search.value.trim()))
        .sort((a, b) => a.id.localeCompare(b.id));
      const live = all.filter((a) => LIVE_AGENT.has(a.status)).length;
      summary.textContent = `${rows.length} shown · ${all.length} agents · ${live} live`;
      clear(
        body,
        table(
          ["Agent", "Status", "Label", "Tags and capabilities", "Last seen", "Orchestrator", "Actions"],
          rows.map((a) => ({
            tr: h("tr", { dataset: { agent: a.id } }),
            cells: [
              h("div", null, agentTitle(a), h("div", { class: "muted small" }, [a.kind !== a.id ? a.kind : null, a.provider, a.model].filter(Boolean).join(" · "))),
              badge(a.status),
              a.label ? h("span", { class: "chip label" }, a.label) : h("span", { class: "muted" }, "—"),
              (a.tags || []).length || (a.capabilities || []).length
                ? h("div", { class: "stack" }, (a.tags || []).length ? h("span", { class: "tags" }, chips(a.tags)) : null, (a.capabilities || []).length ? chips(a.capabilities, "chip cap") : null)
                : h("span", { class: "muted" }, "—"),
              timeAgo(a.lastSeen),
              a.orchestratorId ? h("a", { href: `#/orchestrators?id=${encodeURIComponent(a.orchestratorId)}` }, a.orchestratorId) : h("span", { class: "muted" }, "—"),
              actions(a),
            ],
          })),
          all.length ? "No agent matches these filters." : "No agents yet. Agents appear here the moment they register.",
        ),
      );
    }

    return {
      el,
      render,
      count: () => ctx.store.agents.list().filter((a) => LIVE_AGENT.has(a.status)).length,
      route(_rest, params) {
        if (params.has("q")) search.value = params.get("q");
      },
    };
  },
};
