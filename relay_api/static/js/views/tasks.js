// Tasks: filters by status, target, channel and source; a task's detail with its event history;
// status changes and claims; new tasks.
import { badge, button, clear, debounce, dialog, errorLine, field, h, input, jsonDetails, kv, select, table, timeAgo, timeAt } from "../dom.js";
import { newest } from "../store.js";
import { TASK_STATUSES, datalist, toolbar, viewHeader } from "./common.js";

const SEVERITIES = ["info", "warning", "critical"];

function newTaskDialog(ctx) {
  const title = input({ name: "title", required: true, maxlength: 500 });
  const body = h("textarea", { name: "body", rows: 3 });
  const severity = select(SEVERITIES, { name: "severity" });
  const target = input({ name: "target", maxlength: 240, list: "task-agents" });
  const channel = input({ name: "channel", maxlength: 240 });
  const err = errorLine();
  const save = h("button", { type: "submit", class: "primary" }, "Create task");
  const form = h(
    "form",
    { class: "form" },
    field("Title", title),
    field("Body", body),
    h("div", { class: "grid-2" }, field("Severity", severity), field("Target agent", target, "told with a task message")),
    field("Channel", channel),
    datalist("task-agents", ctx.store.agents.list().map((a) => a.id)),
    err,
    h("div", { class: "actions" }, save),
  );
  const dlg = dialog("New task", { body: [form] });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.clear();
    save.disabled = true;
    const data = { title: title.value.trim(), body: body.value, severity: severity.value };
    if (target.value.trim()) data.target = target.value.trim();
    if (channel.value.trim()) data.channel = channel.value.trim();
    try {
      const task = await ctx.api.post("/api/tasks", data);
      dlg.close();
      ctx.navigate(`#/tasks/${task.id}`);
    } catch (error) {
      err.show(error);
    } finally {
      save.disabled = false;
    }
  });
  title.focus();
}

export default {
  id: "tasks",
  title: "Tasks",
  group: "Work",
  needs: "tasks:read",
  create(ctx) {
    const col = ctx.store.tasks;
    const fStatus = select([["", "Any status"], ...TASK_STATUSES], { "aria-label": "Status" });
    const fTarget = input({ placeholder: "target", "aria-label": "Target", maxlength: 240 });
    const fChannel = input({ placeholder: "channel", "aria-label": "Channel", maxlength: 240 });
    const fSource = input({ placeholder: "source", "aria-label": "Source", maxlength: 240 });
    const loadErr = errorLine();
    const query = () => Object.fromEntries(Object.entries({ status: fStatus.value, target: fTarget.value.trim(), channel: fChannel.value.trim(), source: fSource.value.trim() }).filter(([, v]) => v));
    col.accept = (t) => Object.entries(query()).every(([k, v]) => t[k] === v);
    const apply = debounce(() => {
      col.query = query();
      loadErr.clear();
      ctx.load("tasks").catch((err) => loadErr.show(err));
    }, 300);
    for (const el of [fStatus, fTarget, fChannel, fSource]) el.addEventListener("input", apply);
    const add = ctx.can("tasks:write") ? button("New task", () => newTaskDialog(ctx), { class: "primary" }) : null;
    const listEl = h("div");
    const detailEl = h("div", { class: "detail", "aria-live": "polite" });
    const el = h("section", null, viewHeader("Tasks", "Work items for agents, from people, automations and integrations.", add), toolbar(fStatus, fTarget, fChannel, fSource), loadErr, h("div", { class: "split" }, h("div", { class: "split-main" }, listEl), h("aside", { class: "split-side" }, detailEl)));

    const detail = { id: null, events: [], updatedAt: null, error: null };

    async function loadDetail(id) {
      detail.id = id;
      detail.error = null;
      try {
        const [task, events] = await Promise.all([ctx.api.get(`/api/tasks/${id}`), ctx.api.get(`/api/tasks/${id}/events`)]);
        if (detail.id !== id) return;
        col.upsert(task);
        detail.events = events;
        detail.updatedAt = task.updatedAt;
      } catch (err) {
        detail.error = err;
      }
      render();
    }

    function statusForm(task) {
      const status = select(TASK_STATUSES, { value: task.status, "aria-label": "New status" });
      const agent = input({ placeholder: "agentId (holds the claim)", value: task.claimedBy ?? "", maxlength: 240, "aria-label": "Agent" });
      const note = input({ placeholder: "note", maxlength: 4000, "aria-label": "Note" });
      const err = errorLine();
      const save = h("button", { type: "submit" }, "Set status");
      const form = h("form", { class: "form inline-form", "aria-label": "Change status" }, h("h3", null, "Change status"), h("div", { class: "inline" }, status, agent, note, save), err);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        err.clear();
        save.disabled = true;
        const body = { status: status.value };
        if (agent.value.trim()) body.agentId = agent.value.trim();
        if (note.value.trim()) body.note = note.value.trim();
        try {
          col.upsert(await ctx.api.patch(`/api/tasks/${task.id}/status`, body));
          loadDetail(task.id);
        } catch (error) {
          err.show(error);
        } finally {
          save.disabled = false;
        }
      });
      return form;
    }

    function claimForm(task) {
      const agent = input({ placeholder: "agentId", maxlength: 240, required: true, "aria-label": "Claim as agent" });
      const ttl = input({ type: "number", min: 1, placeholder: "ttlMs (default)", "aria-label": "Claim ttl in ms" });
      const err = errorLine();
      const save = h("button", { type: "submit" }, "Claim");
      const form = h("form", { class: "form inline-form", "aria-label": "Claim" }, h("h3", null, "Claim"), h("div", { class: "inline" }, agent, ttl, save), err);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        err.clear();
        save.disabled = true;
        const body = { agentId: agent.value.trim() };
        if (ttl.value) body.ttlMs = Number(ttl.value);
        try {
          const res = await ctx.api.post(`/api/tasks/${task.id}/claim`, body);
          col.upsert(res.task);
          loadDetail(task.id);
        } catch (error) {
          err.show(error);
        } finally {
          save.disabled = false;
        }
      });
      return form;
    }

    let detailKey = null;
    function renderDetail() {
      if (!detail.id) {
        detailKey = null;
        clear(detailEl, h("p", { class: "muted" }, "Choose a task to see its history and change it."));
        return;
      }
      const task = col.get(detail.id);
      // Rebuild only when the task changed, so a half-typed note survives other events.
      const key = `${detail.id}:${task?.updatedAt}:${detail.events.length}:${detail.error?.message}`;
      if (key === detailKey) return;
      detailKey = key;
      if (detail.error && !task) {
        clear(detailEl, h("p", { class: "error", role: "alert" }, detail.error.message));
        return;
      }
      if (!task) {
        clear(detailEl, h("p", { class: "muted" }, "Loading…"));
        return;
      }
      clear(
        detailEl,
        h("div", { class: "panel" },
          h("h2", null, `#${task.id} ${task.title}`),
          kv([
            ["Status", badge(task.status)],
            ["Severity", badge(task.severity, "severity")],
            ["Target", task.target],
            ["Channel", task.channel],
            ["Source", task.source],
            ["Type", task.type],
            ["External id", task.externalId],
            ["Claimed by", task.claimedBy ? h("span", null, task.claimedBy, task.claimExpiresAt ? h("span", { class: "muted small" }, " until ", timeAt(task.claimExpiresAt)) : null) : null],
            ["Created", timeAt(task.createdAt)],
            ["Updated", timeAgo(task.updatedAt)],
          ]),
          task.body ? h("p", { class: "body" }, task.body) : null,
          task.metadata && Object.keys(task.metadata).length ? jsonDetails("metadata", task.metadata) : null,
          ctx.can("tasks:write") ? [statusForm(task), claimForm(task)] : null,
          h("h3", null, "History"),
          detail.events.length
            ? h(
                "ol",
                { class: "history" },
                detail.events.map((ev) =>
                  h(
                    "li",
                    { dataset: { taskEvent: String(ev.id) } },
                    h("div", { class: "feed-head" }, h("strong", null, ev.action || ev.type), ev.previousStatus ? h("span", { class: "muted small" }, `${ev.previousStatus} →`) : null, badge(ev.status), timeAt(ev.at)),
                    ev.agentId || ev.note ? h("div", { class: "small" }, ev.agentId ? h("span", { class: "muted" }, `by ${ev.agentId}`) : null, ev.note ? ` · ${ev.note}` : null) : null,
                  ),
                ),
              )
            : h("p", { class: "muted" }, "No history."),
        ),
      );
    }

    function render() {
      const items = newest(col.list(), "id");
      clear(
        listEl,
        table(
          ["Task", "Status", "Severity", "Target", "Claimed by", "Updated"],
          items.map((t) => ({
            tr: h("tr", { dataset: { task: String(t.id) }, class: t.id === detail.id ? "selected" : "" }),
            cells: [
              h("div", null, h("a", { href: `#/tasks/${t.id}` }, `#${t.id} ${t.title}`), h("div", { class: "muted small" }, [`from ${t.source || "?"}`, t.channel ? `channel ${t.channel}` : null].filter(Boolean).join(" · "))),
              badge(t.status),
              badge(t.severity, "severity"),
              t.target || "—",
              t.claimedBy || "—",
              timeAgo(t.updatedAt),
            ],
          })),
          "No tasks match.",
        ),
      );
      renderDetail();
    }

    return {
      el,
      render,
      count: () => col.list().filter((t) => t.status === "open").length,
      onEvent(evt) {
        const t = evt.data?.task;
        if (String(evt.type).startsWith("task.") && t && t.id === detail.id) loadDetail(t.id);
      },
      route(rest) {
        const id = rest[0] ? Number(rest[0]) : null;
        if (id && id !== detail.id) loadDetail(id);
        if (!id) detail.id = null;
      },
    };
  },
};
