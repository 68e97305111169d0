// The spawn dialog (orchestrator, provider, working directory with the host's directory picker,
// approval mode, label, tags, prompt) and the live status of the command it creates.
import { seg } from "../api.js";
import { badge, button, clear, dialog, errorLine, field, h, input, json, select, splitList } from "../dom.js";
import { FINAL_COMMAND } from "../store.js";
import { APPROVAL_MODES, PROVIDERS } from "./common.js";

// Browses the orchestrator host's directories (GET /api/orchestrators/:id/directories, which the
// relay proxies to the orchestrator's own API) and calls onPick with the chosen path.
export function directoryPicker(ctx, orchestratorId, startPath, onPick) {
  const err = errorLine();
  const list = h("ul", { class: "dir-list", "aria-label": "Directories" });
  const where = h("p", { class: "mono small dir-path" });
  const upBtn = button("↑ Up", null, { class: "ghost small" });
  const useBtn = button("Use this directory", null, { class: "primary small" });
  const root = h("div", { class: "dir-picker", role: "group", "aria-label": "Directory picker" }, where, h("div", { class: "actions" }, upBtn, useBtn), err, list);
  let current = null;

  async function open(path) {
    err.clear();
    clear(list, h("li", { class: "muted" }, "Loading…"));
    try {
      const res = await ctx.api.get(`/api/orchestrators/${seg(orchestratorId)}/directories`, path ? { path } : undefined);
      current = res;
      where.textContent = res.path || res.base || path || "/";
      upBtn.disabled = !res.parent;
      clear(list);
      const dirs = res.directories || [];
      if (!dirs.length) list.append(h("li", { class: "muted" }, "No sub-directories."));
      for (const d of dirs) {
        list.append(h("li", null, button(`▸ ${d.name}/`, () => open(d.path), { class: "link", "data-path": d.path, "aria-label": `Open ${d.name}` })));
      }
      list.querySelector("button")?.focus();
    } catch (e) {
      clear(list);
      err.show(e);
    }
  }
  upBtn.addEventListener("click", () => current?.parent && open(current.parent));
  useBtn.addEventListener("click", () => onPick(current?.path || current?.base || ""));
  open(startPath || "");
  return root;
}

const STEP = { pending: 0, accepted: 1, running: 2 };
const step = (cmd) => (FINAL_COMMAND.has(cmd.status) ? 3 : (STEP[cmd.status] ?? 0));
// pending → accepted → running → a final status; within a step the later update wins.
const isOlder = (cmd, than) => step(cmd) < step(than) || (step(cmd) === step(than) && (cmd.updatedAt ?? 0) < (than.updatedAt ?? 0));

function commandProgress(ctx, command, { tags, onAgent } = {}) {
  const status = h("span");
  const detail = h("div");
  const note = h("p", { class: "note", role: "status" });
  const box = h(
    "div",
    { class: "progress", "aria-live": "polite" },
    h("p", null, "Command ", h("a", { class: "mono", href: `#/commands/${seg(command.id)}` }, command.id), " → ", h("span", { class: "mono" }, command.target)),
    h("p", null, "Status: ", status),
    detail,
    note,
  );
  let tagged = false;
  let shown = null;
  function show(cmd) {
    // The first GET and the stream's events may arrive in either order (a loaded node can answer the
    // GET after it has pushed later events): a command only moves forward, so an older view of it is
    // dropped instead of taking the dialog back to `accepted` for good.
    if (shown && isOlder(cmd, shown)) return;
    shown = cmd;
    clear(status, badge(cmd.status));
    status.dataset.status = cmd.status;
    clear(
      detail,
      cmd.result ? h("details", { class: "json", open: true }, h("summary", null, "result"), h("pre", null, json(cmd.result))) : null,
      cmd.error ? h("p", { class: "error" }, cmd.error) : null,
    );
    const agentId = cmd.result?.agentId;
    if (cmd.status === "succeeded" && agentId) {
      onAgent?.(agentId);
      if (tags.length && !tagged) {
        tagged = true;
        // The spawn request has no tags field: they are set on the agent once it has registered.
        ctx.api
          .patch(`/api/agents/${seg(agentId)}/tags`, { tags })
          .then(() => (note.textContent = `Tags set on ${agentId}: ${tags.join(", ")}`))
          .catch((e) => {
            note.className = "error";
            note.textContent = `could not set tags on ${agentId}: ${e.message}`;
          });
      } else if (!tags.length) note.textContent = `Agent ${agentId} registered.`;
    }
  }
  show(command);
  const unsubscribe = ctx.subscribe((evt) => {
    const c = evt.data?.command;
    if (String(evt.type).startsWith("command.") && c?.id === command.id) show(c);
  });
  // The command may have moved on before the subscription started.
  ctx.api.get(`/api/commands/${seg(command.id)}`).then(show).catch(() => {});
  box.stop = unsubscribe;
  box.isFinal = () => FINAL_COMMAND.has(status.dataset.status);
  return box;
}

export function openSpawnDialog(ctx, { orchestratorId } = {}) {
  const orchestrators = ctx.store.orchestrators.list().sort((a, b) => a.id.localeCompare(b.id));
  const firstOnline = orchestrators.find((o) => o.status === "online");
  const orchSelect = select(
    [["", "Any online orchestrator with the provider"], ...orchestrators.map((o) => [o.id, `${o.id} · ${o.hostname} (${o.status})`])],
    { name: "orchestrator", value: orchestratorId ?? firstOnline?.id ?? "" },
  );
  const providerSelect = select(PROVIDERS, { name: "provider" });
  const cwd = input({ name: "cwd", maxlength: 500, placeholder: "the orchestrator's base directory" });
  const browse = button("Browse…", null, { class: "ghost" });
  const approval = select(APPROVAL_MODES, { name: "approvalMode", value: "guarded" });
  const label = input({ name: "label", maxlength: 120 });
  const tags = input({ name: "tags", placeholder: "comma separated" });
  const prompt = h("textarea", { name: "prompt", rows: 3, maxlength: 4000 });
  const pickerSlot = h("div");
  const err = errorLine();
  const submit = h("button", { type: "submit", class: "primary" }, "Spawn");
  const form = h(
    "form",
    { class: "form" },
    field("Orchestrator", orchSelect),
    field("Provider", providerSelect),
    h("div", { class: "field" }, h("label", { for: "spawn-cwd" }, "Working directory"), h("div", { class: "inline" }, cwd, browse), pickerSlot),
    field("Approval mode", approval),
    field("Label", label),
    field("Tags", tags, "set on the new agent once it registers"),
    field("Prompt", prompt, "the agent's first instructions (needs a chosen orchestrator)"),
    err,
    h("div", { class: "actions" }, submit),
  );
  cwd.id = "spawn-cwd";

  function chosen() {
    return ctx.store.orchestrators.get(orchSelect.value);
  }
  function syncProviders() {
    const orch = chosen();
    const offered = orch ? orch.providers || PROVIDERS : PROVIDERS;
    const keep = providerSelect.value;
    clear(providerSelect, offered.map((p) => h("option", { value: p }, p)));
    if (offered.includes(keep)) providerSelect.value = keep;
    browse.disabled = !orch;
    browse.title = orch ? "" : "choose an orchestrator to browse its host";
    prompt.disabled = !orch;
    clear(pickerSlot);
  }
  orchSelect.addEventListener("change", syncProviders);
  browse.addEventListener("click", () => {
    const orch = chosen();
    if (!orch) return;
    clear(
      pickerSlot,
      directoryPicker(ctx, orch.id, cwd.value || orch.baseDir, (path) => {
        cwd.value = path;
        clear(pickerSlot);
        cwd.focus();
      }),
    );
  });
  syncProviders();

  let progress = null;
  const dlg = dialog("Spawn an agent", { body: [form], onClose: () => progress?.stop() });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.clear();
    submit.disabled = true;
    const body = { provider: providerSelect.value, approvalMode: approval.value };
    if (cwd.value.trim()) body.cwd = cwd.value.trim();
    if (label.value.trim()) body.label = label.value.trim();
    const orch = chosen();
    if (orch && prompt.value.trim()) body.prompt = prompt.value.trim();
    try {
      const res = orch
        ? await ctx.api.post(`/api/orchestrators/${seg(orch.id)}/spawn`, body)
        : await ctx.api.post("/api/agents/spawn", body);
      progress = commandProgress(ctx, res.command, { tags: splitList(tags.value) });
      const done = button("Close", () => dlg.close(), { class: "primary" });
      clear(dlg.content, progress, h("div", { class: "actions" }, done));
      done.focus();
    } catch (error) {
      err.show(error);
    } finally {
      submit.disabled = false;
    }
  });
  orchSelect.focus();
  return dlg;
}
