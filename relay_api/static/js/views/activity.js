// Activity: the audit feed, newest first, with filters; older entries on request.
import { badge, button, clear, debounce, errorLine, h, input, select, timeAt } from "../dom.js";
import { ACTIVITY_KINDS, toolbar, viewHeader } from "./common.js";

export default {
  id: "activity",
  title: "Activity",
  group: "Admin",
  needs: "activity:read",
  create(ctx) {
    const col = ctx.store.activity;
    const fKind = select([["", "Any kind"], ...ACTIVITY_KINDS], { "aria-label": "Kind" });
    const fAgent = input({ placeholder: "agent id", "aria-label": "Agent", maxlength: 240 });
    const loadErr = errorLine();
    const query = () => Object.fromEntries(Object.entries({ kind: fKind.value, agentId: fAgent.value.trim() }).filter(([, v]) => v));
    col.accept = (a) => Object.entries(query()).every(([k, v]) => a[k] === v);
    const apply = debounce(() => {
      col.query = query();
      loadErr.clear();
      ctx.load("activity").catch((err) => loadErr.show(err));
    }, 300);
    for (const el of [fKind, fAgent]) el.addEventListener("input", apply);
    const more = button("Load older", async () => {
      const oldest = Math.min(...col.list().map((a) => a.id));
      more.disabled = true;
      try {
        const items = await ctx.api.get("/api/activity", { ...query(), before: oldest, limit: 200 });
        for (const a of items) col.upsert(a);
        more.hidden = items.length < 200;
        render();
      } catch (err) {
        loadErr.show(err);
      } finally {
        more.disabled = false;
      }
    }, { class: "ghost" });
    const listEl = h("ol", { class: "feed" });
    const el = h("section", null, viewHeader("Activity", "What happened, as the audit feed records it."), toolbar(fKind, fAgent), loadErr, listEl, more);

    function render() {
      const items = col.list().sort((a, b) => b.id - a.id);
      more.hidden = items.length < 200;
      clear(
        listEl,
        items.length
          ? items.map((a) =>
              h(
                "li",
                { dataset: { activity: String(a.id) } },
                h("div", { class: "feed-head" }, h("strong", null, a.title), badge(a.kind, "kind"), a.agentId ? h("a", { class: "small", href: `#/agents?q=${encodeURIComponent(a.agentId)}` }, a.agentId) : null, timeAt(a.createdAt)),
                a.body ? h("div", { class: "body" }, a.body) : null,
              ),
            )
          : h("li", { class: "empty-state" }, "No activity matches."),
      );
    }
    return { el, render };
  },
};
