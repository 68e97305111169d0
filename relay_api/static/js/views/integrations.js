// Integrations (configured at start-up; tokens and secrets are never shown) and their callback
// deliveries with every attempt.
import { badge, chips, clear, debounce, errorLine, h, select, table, timeAgo, timeAt } from "../dom.js";
import { newest } from "../store.js";
import { viewHeader } from "./common.js";

export default {
  id: "integrations",
  title: "Integrations",
  group: "Wiring",
  needs: "integrations:read",
  create(ctx) {
    const col = ctx.store.deliveries;
    const fInteg = select([["", "All integrations"]], { "aria-label": "Integration" });
    const fStatus = select([["", "Any status"], "pending", "delivered", "failed"], { "aria-label": "Delivery status" });
    const loadErr = errorLine();
    const query = () => Object.fromEntries(Object.entries({ integration: fInteg.value, status: fStatus.value }).filter(([, v]) => v));
    const apply = debounce(() => {
      col.query = query();
      loadErr.clear();
      ctx.load("deliveries").catch((err) => loadErr.show(err));
    }, 100);
    for (const el of [fInteg, fStatus]) el.addEventListener("input", apply);
    const listEl = h("div");
    const deliveriesEl = h("div");
    const el = h(
      "section",
      null,
      viewHeader("Integrations", "External systems that post events as tasks, and the callbacks the relay sends back (set in AGENT_RELAY_INTEGRATIONS)."),
      listEl,
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", null, "Callback deliveries"), h("div", { class: "inline" }, fInteg, fStatus)), loadErr, deliveriesEl),
    );

    function render() {
      const integrations = ctx.store.integrations.list().sort((a, b) => a.name.localeCompare(b.name));
      const keep = fInteg.value;
      if ([...fInteg.options].slice(1).map((o) => o.value).join() !== integrations.map((i) => i.name).join()) {
        clear(fInteg, h("option", { value: "" }, "All integrations"), integrations.map((i) => h("option", { value: i.name }, i.name)));
        fInteg.value = keep;
      }
      clear(
        listEl,
        table(
          ["Integration", "Scopes", "Targets", "Channels", "Callback"],
          integrations.map((i) => ({
            tr: h("tr", { dataset: { integration: i.name } }),
            cells: [h("strong", null, i.name), chips(i.scopes), chips(i.targets), chips(i.channels), i.callbackUrl ? h("span", null, h("span", { class: "mono small" }, i.callbackUrl), i.signed ? h("span", { class: "chip ok" }, "signed") : null) : h("span", { class: "muted" }, "none")],
          })),
          "No integrations are configured on this relay.",
        ),
      );
      clear(
        deliveriesEl,
        table(
          ["Delivery", "Integration", "Task", "Event", "Status", "Attempts", "Next attempt", "Last error"],
          newest(col.list(), "id").map((d) => ({
            tr: h("tr", { dataset: { delivery: String(d.id) } }),
            cells: [
              h("span", { class: "mono" }, `#${d.id}`),
              d.integration,
              h("a", { href: `#/tasks/${d.taskId}` }, `#${d.taskId}`),
              d.event,
              badge(d.status),
              d.attemptLog?.length
                ? h("details", null, h("summary", null, String(d.attempts)), h("ol", { class: "plain small" }, d.attemptLog.map((a) => h("li", null, timeAt(a.at), ` ${a.ok ? "ok" : "failed"}`, a.statusCode ? ` HTTP ${a.statusCode}` : "", a.error ? ` · ${a.error}` : "", ` · ${a.durationMs} ms`))))
                : String(d.attempts),
              d.status === "pending" && d.nextAt ? timeAgo(d.nextAt) : h("span", { class: "muted" }, "—"),
              d.lastError ? h("span", { class: "error small" }, d.lastError) : h("span", { class: "muted" }, "—"),
            ],
          })),
          "No callback deliveries.",
        ),
      );
    }
    return { el, render };
  },
};
