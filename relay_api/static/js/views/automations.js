// Automations: create and edit (a cron schedule with the next runs as the server computes them, or
// an event trigger with a filter; a message, task, command or recipe action), enable/disable, run
// now, delete, and the run history.
import { seg } from "../api.js";
import { badge, button, clear, confirmAction, debounce, dialog, errorLine, field, h, input, json, select, table, timeAgo, timeAt } from "../dom.js";
import { newest } from "../store.js";
import { Notes, datalist, rowAction, targetSuggestions, viewHeader } from "./common.js";

const EVENT_TYPES = [
  "agent.registered", "agent.status", "agent.removed", "message.created", "message.claimed", "task.created", "task.updated",
  "command.requested", "command.succeeded", "command.failed", "command.timed_out", "recipe.completed", "recipe.failed",
  "orchestrator.status", "pair.requested", "channel.binding_created", "pool.binding_changed", "integration.callback",
];

function parseJson(text, what) {
  if (!text.trim()) return undefined;
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error();
    return value;
  } catch {
    throw new Error(`${what} must be a JSON object`);
  }
}

function triggerText(t) {
  if (!t) return "—";
  if (t.type === "schedule") return `cron ${t.cron}${t.timezone ? ` (${t.timezone})` : " (UTC)"}`;
  const filter = t.filter && Object.keys(t.filter).length ? ` where ${JSON.stringify(t.filter)}` : "";
  return `on ${t.event}${filter}`;
}

function actionText(a) {
  if (!a) return "—";
  const p = a[a.type] || {};
  if (a.type === "message") return `message ${p.from ?? "?"} → ${p.to ?? "?"}`;
  if (a.type === "task") return `task “${p.title ?? ""}”${p.target ? ` for ${p.target}` : ""}`;
  if (a.type === "command") return `command ${p.type ?? "?"} → ${p.target ?? "?"}`;
  if (a.type === "recipe") return `recipe ${p.name ?? p.recipe ?? "?"}`;
  return a.type;
}

// A slot as the clock of the schedule's own time zone shows it (the browser's may differ).
function zoned(ms, timeZone) {
  try {
    return new Date(ms).toLocaleString(undefined, { timeZone, weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  } catch {
    return new Date(ms).toLocaleString();
  }
}

// The next runs of a cron expression, computed by the server exactly as the workers schedule it.
function cronPreview(ctx, cronEl, tzEl) {
  const out = h("div", { class: "preview", "aria-live": "polite" });
  const run = debounce(async () => {
    const cron = cronEl.value.trim();
    if (!cron) {
      clear(out, h("p", { class: "muted small" }, "Enter a cron expression to see its next runs."));
      return;
    }
    try {
      const res = await ctx.api.get("/api/automations/schedule/preview", { cron, timezone: tzEl.value.trim(), count: 5 });
      clear(
        out,
        h("p", { class: "small muted" }, `Next runs (${res.timezone}):`),
        h("ol", { class: "plain small preview-runs" }, res.runs.map((ms) => h("li", null, h("time", { datetime: new Date(ms).toISOString() }, zoned(ms, res.timezone)), h("span", { class: "muted" }, ` · ${new Date(ms).toISOString().replace(".000", "")}`)))),
      );
    } catch (err) {
      clear(out, h("p", { class: "error small", role: "alert" }, err.message));
    }
  }, 250);
  cronEl.addEventListener("input", run);
  tzEl.addEventListener("input", run);
  run();
  return out;
}

function editor(ctx, existing) {
  const a = existing || { name: "", enabled: true, trigger: { type: "schedule", cron: "*/5 * * * *" }, action: { type: "message", message: { from: "system", to: "", body: "" } } };
  const name = input({ name: "name", value: a.name, required: true, maxlength: 200 });
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: a.enabled });
  const trigType = select([["schedule", "On a schedule (cron)"], ["event", "When an event happens"]], { name: "triggerType", value: a.trigger.type });
  const cron = input({ name: "cron", value: a.trigger.cron ?? "", placeholder: "*/10 * * * * *  (6 fields: seconds first)" });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const tz = input({ name: "timezone", value: a.trigger.timezone ?? "", placeholder: "UTC", list: "auto-zones" });
  const evType = input({ name: "event", value: a.trigger.event ?? "", list: "auto-events", placeholder: "task.created" });
  const evFilter = h("textarea", { name: "filter", rows: 2, placeholder: '{"severity": "critical"}' }, a.trigger.filter ? json(a.trigger.filter) : "");
  const scheduleBox = h("div", { class: "form" }, h("div", { class: "grid-2" }, field("Cron", cron), field("Time zone", tz)), cronPreview(ctx, cron, tz), datalist("auto-zones", zones));
  const eventBox = h("div", { class: "form" }, field("Event type", evType), field("Filter", evFilter, "path: expected pairs, all must match"), datalist("auto-events", EVENT_TYPES));

  const actType = select([["message", "Send a message"], ["task", "Create a task"], ["command", "Issue a command"], ["recipe", "Start a recipe"]], { name: "actionType", value: a.action.type });
  const p = a.action[a.action.type] || {};
  const agents = ctx.store.agents.list();
  const mFrom = input({ value: a.action.type === "message" ? p.from ?? "system" : "system", "aria-label": "Message from" });
  const mTo = input({ value: a.action.type === "message" ? p.to ?? "" : "", list: "auto-targets", "aria-label": "Message to" });
  const mSubject = input({ value: a.action.type === "message" ? p.subject ?? "" : "", "aria-label": "Message subject" });
  const mBody = h("textarea", { rows: 2, "aria-label": "Message body" }, a.action.type === "message" ? p.body ?? "" : "");
  const tTitle = input({ value: a.action.type === "task" ? p.title ?? "" : "", "aria-label": "Task title" });
  const tBody = h("textarea", { rows: 2, "aria-label": "Task body" }, a.action.type === "task" ? p.body ?? "" : "");
  const tSeverity = select(["info", "warning", "critical"], { value: a.action.type === "task" ? p.severity ?? "info" : "info", "aria-label": "Task severity" });
  const tTarget = input({ value: a.action.type === "task" ? p.target ?? "" : "", list: "auto-targets", "aria-label": "Task target" });
  const cType = input({ value: a.action.type === "command" ? p.type ?? "" : "", placeholder: "agent.prompt", "aria-label": "Command type" });
  const cSource = input({ value: a.action.type === "command" ? p.source ?? "system" : "system", "aria-label": "Command source" });
  const cTarget = input({ value: a.action.type === "command" ? p.target ?? "" : "", list: "auto-targets", "aria-label": "Command target" });
  const cParams = h("textarea", { rows: 2, "aria-label": "Command params (JSON)", placeholder: '{"prompt": "…"}' }, a.action.type === "command" && p.params ? json(p.params) : "");
  const recipes = ctx.store.recipes.list().map((r) => r.name).sort();
  const rName = select(recipes.length ? recipes : [""], { value: a.action.type === "recipe" ? p.name ?? p.recipe ?? "" : recipes[0], "aria-label": "Recipe" });
  const rCwd = input({ value: a.action.type === "recipe" ? p.cwd ?? "" : "", "aria-label": "Recipe working directory" });
  const rParams = h("textarea", { rows: 2, "aria-label": "Recipe parameters (JSON)", placeholder: '{"goal": "…"}' }, a.action.type === "recipe" && p.parameters ? json(p.parameters) : "");
  const boxes = {
    message: h("div", { class: "form" }, h("div", { class: "grid-2" }, field("From", mFrom), field("To", mTo)), field("Subject", mSubject), field("Body", mBody)),
    task: h("div", { class: "form" }, field("Title", tTitle), field("Body", tBody), h("div", { class: "grid-2" }, field("Severity", tSeverity), field("Target", tTarget))),
    command: h("div", { class: "form" }, h("div", { class: "grid-2" }, field("Type", cType), field("Target", cTarget)), field("Source", cSource), field("Params (JSON)", cParams)),
    recipe: h("div", { class: "form" }, field("Recipe", rName), field("Working directory", rCwd), field("Parameters (JSON)", rParams)),
  };
  const sync = () => {
    scheduleBox.hidden = trigType.value !== "schedule";
    eventBox.hidden = trigType.value !== "event";
    for (const [k, box] of Object.entries(boxes)) box.hidden = k !== actType.value;
  };
  trigType.addEventListener("change", sync);
  actType.addEventListener("change", sync);
  sync();

  function body() {
    const trigger = trigType.value === "schedule"
      ? { type: "schedule", cron: cron.value.trim(), ...(tz.value.trim() ? { timezone: tz.value.trim() } : {}) }
      : { type: "event", event: evType.value.trim(), ...(evFilter.value.trim() ? { filter: parseJson(evFilter.value, "filter") } : {}) };
    let action;
    const opt = (v) => (v.trim() ? v.trim() : undefined);
    if (actType.value === "message") action = { type: "message", message: { from: mFrom.value.trim(), to: mTo.value.trim(), body: mBody.value, subject: opt(mSubject.value) } };
    else if (actType.value === "task") action = { type: "task", task: { title: tTitle.value.trim(), body: tBody.value, severity: tSeverity.value, target: opt(tTarget.value) } };
    else if (actType.value === "command") action = { type: "command", command: { type: cType.value.trim(), source: cSource.value.trim(), target: cTarget.value.trim(), params: parseJson(cParams.value, "params") } };
    else action = { type: "recipe", recipe: { name: rName.value, cwd: opt(rCwd.value), parameters: parseJson(rParams.value, "parameters") } };
    for (const v of Object.values(action)) if (typeof v === "object") for (const k of Object.keys(v)) if (v[k] === undefined) delete v[k];
    return { name: name.value.trim(), enabled: enabled.checked, trigger, action };
  }

  const err = errorLine();
  const save = h("button", { type: "submit", class: "primary" }, existing ? "Save" : "Create");
  const form = h(
    "form",
    { class: "form" },
    h("div", { class: "grid-2" }, field("Name", name), h("label", { class: "check" }, enabled, " Enabled")),
    h("fieldset", null, h("legend", null, "Trigger"), field("When", trigType), scheduleBox, eventBox),
    h("fieldset", null, h("legend", null, "Action"), field("Do", actType), Object.values(boxes)),
    datalist("auto-targets", targetSuggestions(agents)),
    err,
    h("div", { class: "actions" }, save),
  );
  const dlg = dialog(existing ? `Edit ${existing.name}` : "New automation", { body: [form], wide: true });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.clear();
    save.disabled = true;
    try {
      const data = body();
      const saved = existing ? await ctx.api.patch(`/api/automations/${seg(existing.id)}`, data) : await ctx.api.post("/api/automations", data);
      ctx.store.automations.upsert(saved);
      ctx.queueRender();
      dlg.close();
    } catch (error) {
      err.show(error);
    } finally {
      save.disabled = false;
    }
  });
  name.focus();
}

export default {
  id: "automations",
  title: "Automations",
  group: "Flows",
  needs: "automations:read",
  create(ctx) {
    const notes = new Notes(ctx.queueRender);
    const add = ctx.can("automations:write") ? button("New automation", () => editor(ctx), { class: "primary" }) : null;
    const listEl = h("div");
    const fAuto = select([["", "All automations"]], { "aria-label": "Runs of" });
    const fStatus = select([["", "Any status"], "running", "succeeded", "failed"], { "aria-label": "Run status" });
    for (const el of [fAuto, fStatus]) el.addEventListener("input", () => render());
    const runsEl = h("div");
    const el = h(
      "section",
      null,
      viewHeader("Automations", "Scheduled and event-driven actions. Each due slot runs once across all workers.", add),
      listEl,
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", null, "Run history"), h("div", { class: "inline" }, fAuto, fStatus)), runsEl),
    );

    function actions(a) {
      const out = [];
      if (ctx.can("automations:write")) {
        out.push(button("Edit", () => editor(ctx, a), { class: "small", "aria-label": `Edit ${a.name}` }));
        const run = button("Run now", () => rowAction(notes, a.id, run, async () => {
          const res = await ctx.api.post(`/api/automations/${seg(a.id)}/run`);
          ctx.store.runs.upsert(res.run);
          ctx.store.automations.upsert(res.automation);
          if (res.run.status === "failed") throw new Error(`run failed: ${res.run.error}`);
          return `run ${res.run.status}`;
        }), { class: "small", "aria-label": `Run ${a.name} now` });
        const toggle = button(a.enabled ? "Disable" : "Enable", () => rowAction(notes, a.id, toggle, async () => {
          ctx.store.automations.upsert(await ctx.api.patch(`/api/automations/${seg(a.id)}`, { enabled: !a.enabled }));
        }), { class: "small ghost", "aria-label": `${a.enabled ? "Disable" : "Enable"} ${a.name}` });
        out.push(run, toggle);
      }
      if (ctx.can("automations:admin")) {
        out.push(button("Delete", () => confirmAction(`Delete ${a.name}?`, "Its schedule stops; its run history stays readable until trimmed.", "Delete", async () => {
          await ctx.api.del(`/api/automations/${seg(a.id)}`);
          ctx.store.automations.remove(a.id);
          ctx.queueRender();
        }), { class: "small danger ghost", "aria-label": `Delete ${a.name}` }));
      }
      return h("div", { class: "row-actions" }, out, notes.el(a.id));
    }

    function render() {
      const autos = ctx.store.automations.list().sort((x, y) => x.name.localeCompare(y.name));
      clear(
        listEl,
        table(
          ["Automation", "Enabled", "Trigger", "Action", "Next run", "Last run", "Actions"],
          autos.map((a) => ({
            tr: h("tr", { dataset: { automation: a.id } }),
            cells: [
              h("strong", null, a.name),
              a.enabled ? badge("enabled", "state") : badge("disabled", "state"),
              h("span", { class: "small" }, triggerText(a.trigger)),
              h("span", { class: "small" }, actionText(a.action)),
              a.enabled && a.nextRunAt ? timeAt(a.nextRunAt) : h("span", { class: "muted" }, "—"),
              a.lastRunAt ? h("span", null, badge(a.lastRunStatus || "?"), " ", timeAgo(a.lastRunAt)) : h("span", { class: "muted" }, "never"),
              actions(a),
            ],
          })),
          "No automations yet.",
        ),
      );
      const keep = fAuto.value;
      clear(fAuto, h("option", { value: "" }, "All automations"), autos.map((a) => h("option", { value: a.id }, a.name)));
      fAuto.value = autos.some((a) => a.id === keep) ? keep : "";
      const runs = newest(ctx.store.runs.list()).filter((r) => (!fAuto.value || r.automationId === fAuto.value) && (!fStatus.value || r.status === fStatus.value));
      clear(
        runsEl,
        table(
          ["When", "Automation", "Trigger", "Status", "Slot", "Created", "Error"],
          runs.map((r) => ({
            tr: h("tr", { dataset: { run: r.id } }),
            cells: [
              timeAt(r.createdAt),
              r.automationName || r.automationId,
              h("span", null, r.trigger, r.catchUp ? h("span", { class: "chip" }, "catch-up") : null, r.eventType ? h("span", { class: "muted small" }, ` ${r.eventType}`) : null),
              badge(r.status),
              r.scheduledFor ? timeAt(r.scheduledFor) : h("span", { class: "muted" }, "—"),
              createdLinks(r.created),
              r.error ? h("span", { class: "error small" }, r.error) : h("span", { class: "muted" }, "—"),
            ],
          })),
          "No runs yet.",
        ),
      );
    }
    return { el, render, count: () => ctx.store.automations.list().filter((a) => a.enabled).length };
  },
};

function createdLinks(c) {
  if (!c) return h("span", { class: "muted" }, "—");
  const out = [];
  if (c.messageId) out.push(h("a", { href: `#/messages` }, `message #${c.messageId}`));
  if (c.taskId) out.push(h("a", { href: `#/tasks/${c.taskId}` }, `task #${c.taskId}`));
  if (c.commandId) out.push(h("a", { href: `#/commands/${encodeURIComponent(c.commandId)}` }, "command"));
  if (c.recipeInstanceId) out.push(h("a", { href: `#/recipes/${encodeURIComponent(c.recipeInstanceId)}` }, "recipe instance"));
  return out.length ? h("span", { class: "links" }, out) : h("span", { class: "muted" }, "—");
}
