// Commands: the live status of every control request (spawn, restart, shutdown, prompts, connector
// actions, provider tests) with its params, result and error; cancel what has not finished.
import { seg } from "../api.js";
import { badge, button, clear, confirmAction, debounce, errorLine, h, input, jsonDetails, select, shortId, table, timeAgo } from "../dom.js";
import { FINAL_COMMAND, newest } from "../store.js";
import { COMMAND_STATUSES, Notes, toolbar, viewHeader } from "./common.js";

export default {
  id: "commands",
  title: "Commands",
  group: "Work",
  needs: "commands:read",
  create(ctx) {
    const col = ctx.store.commands;
    const notes = new Notes(ctx.queueRender);
    const fStatus = select([["", "Any status"], ...COMMAND_STATUSES], { "aria-label": "Status" });
    const fType = input({ placeholder: "type, e.g. agent.spawn", "aria-label": "Type", maxlength: 120 });
    const fTarget = input({ placeholder: "target", "aria-label": "Target", maxlength: 240 });
    const loadErr = errorLine();
    const query = () => Object.fromEntries(Object.entries({ status: fStatus.value, type: fType.value.trim(), target: fTarget.value.trim() }).filter(([, v]) => v));
    col.accept = (c) => Object.entries(query()).every(([k, v]) => c[k] === v);
    const apply = debounce(() => {
      col.query = query();
      loadErr.clear();
      ctx.load("commands").catch((err) => loadErr.show(err));
    }, 300);
    for (const el of [fStatus, fType, fTarget]) el.addEventListener("input", apply);
    const listEl = h("div");
    const el = h("section", null, viewHeader("Commands", "Typed requests to agents and orchestrators, and how each ended."), toolbar(fStatus, fType, fTarget), loadErr, listEl);
    let focus = null;

    function render() {
      const items = newest(col.list());
      clear(
        listEl,
        table(
          ["Command", "Status", "Target", "Source", "Created", "Updated", "Params", "Outcome", "Actions"],
          items.map((c) => {
            const cancel =
              !FINAL_COMMAND.has(c.status) && ctx.can("commands:write")
                ? button("Cancel", () => confirmAction(`Cancel ${c.id}?`, `The ${c.type} command to ${c.target} will not run.`, "Cancel command", async () => {
                    await ctx.api.del(`/api/commands/${seg(c.id)}`);
                    col.upsert(await ctx.api.get(`/api/commands/${seg(c.id)}`));
                    ctx.queueRender();
                  }), { class: "small danger ghost", "aria-label": `Cancel ${c.id}` })
                : null;
            return {
              tr: h("tr", { dataset: { command: c.id }, class: c.id === focus ? "selected" : "" }),
              cells: [
                h("div", null, h("strong", null, c.type), h("div", { class: "muted small mono", title: c.id }, shortId(c.id, 12)), c.correlationId
                  ? String(c.correlationId).startsWith("rcp_")
                    ? h("a", { class: "small", href: `#/recipes/${encodeURIComponent(c.correlationId)}` }, "recipe instance")
                    : h("div", { class: "muted small" }, `correlation ${shortId(c.correlationId, 12)}`)
                  : null),
                h("span", { dataset: { status: c.status } }, badge(c.status)),
                h("span", { class: "mono small" }, c.target),
                c.source,
                timeAgo(c.createdAt),
                timeAgo(c.updatedAt),
                jsonDetails("params", c.params),
                h("div", null, c.result ? jsonDetails("result", c.result) : null, c.error ? h("p", { class: "error small" }, c.error) : null, !c.result && !c.error ? h("span", { class: "muted" }, "—") : null),
                h("div", { class: "row-actions" }, cancel, notes.el(c.id)),
              ],
            };
          }),
          "No commands match.",
        ),
      );
    }
    return {
      el,
      render,
      count: () => col.list().filter((c) => !FINAL_COMMAND.has(c.status)).length,
      route(rest) {
        focus = rest[0] || null;
        if (focus && !col.get(focus)) {
          ctx.api.get(`/api/commands/${seg(focus)}`).then((c) => {
            col.upsert(c);
            render();
          }).catch((err) => loadErr.show(err));
        }
      },
    };
  },
};
