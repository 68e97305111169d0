// Recipes: the built-in and user recipes with their steps; start one (with the parameters it
// declares); follow an instance's steps live as a graph; stop it.
import { seg } from "../api.js";
import { badge, button, chips, clear, confirmAction, dialog, errorLine, field, h, input, kv, select, shortId, table, timeAgo, timeAt } from "../dom.js";
import { newest } from "../store.js";
import { Notes, viewHeader } from "./common.js";
import { directoryPicker } from "./spawn.js";

const INSTANCE_STATUSES = ["running", "succeeded", "failed", "stopped"];

function startDialog(ctx, loaded) {
  const recipe = loaded.recipe;
  const paramInputs = (recipe.parameters || []).map((p) => {
    const el = input({ name: p.name, value: p.default ?? "", required: Boolean(p.required), maxlength: 4000, dataset: { param: p.name } });
    return [p, el];
  });
  const orchestrators = ctx.store.orchestrators.list().sort((a, b) => a.id.localeCompare(b.id));
  const orch = select([["", "First online orchestrator offering each role's provider"], ...orchestrators.map((o) => [o.id, `${o.id} · ${o.hostname} (${o.status})`])], { name: "orchestratorId" });
  const cwd = input({ name: "cwd", maxlength: 500, placeholder: "the orchestrator's base directory" });
  const browse = button("Browse…", null, { class: "ghost" });
  const pickerSlot = h("div");
  const startedBy = input({ name: "startedBy", value: ctx.principal.sub, maxlength: 120 });
  const err = errorLine();
  const submit = h("button", { type: "submit", class: "primary" }, "Start");
  const form = h(
    "form",
    { class: "form" },
    h("p", { class: "muted" }, recipe.description || ""),
    paramInputs.length ? h("fieldset", null, h("legend", null, "Parameters"), paramInputs.map(([p, el]) => field(`${p.name}${p.required ? " *" : ""}`, el, p.description))) : h("p", { class: "muted" }, "This recipe takes no parameters."),
    field("Orchestrator", orch),
    h("div", { class: "field" }, h("label", { for: "recipe-cwd" }, "Working directory"), h("div", { class: "inline" }, cwd, browse), pickerSlot),
    field("Started by", startedBy),
    err,
    h("div", { class: "actions" }, submit),
  );
  cwd.id = "recipe-cwd";
  const syncBrowse = () => {
    browse.disabled = !orch.value;
    browse.title = orch.value ? "" : "choose an orchestrator to browse its host";
  };
  orch.addEventListener("change", () => {
    syncBrowse();
    clear(pickerSlot);
  });
  syncBrowse();
  browse.addEventListener("click", () => {
    const o = ctx.store.orchestrators.get(orch.value);
    if (!o) return;
    clear(pickerSlot, directoryPicker(ctx, o.id, cwd.value || o.baseDir, (path) => {
      cwd.value = path;
      clear(pickerSlot);
    }));
  });
  const dlg = dialog(`Start ${loaded.name}`, { body: [form] });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.clear();
    const body = { name: loaded.name, startedBy: startedBy.value.trim() || undefined };
    const parameters = {};
    for (const [p, el] of paramInputs) if (el.value !== "") parameters[p.name] = el.value;
    if (Object.keys(parameters).length) body.parameters = parameters;
    if (orch.value) body.orchestratorId = orch.value;
    if (cwd.value.trim()) body.cwd = cwd.value.trim();
    submit.disabled = true;
    try {
      const res = await ctx.api.post("/api/recipes/start", body);
      ctx.store.instances.upsert(res.instance);
      dlg.close();
      ctx.navigate(`#/recipes/${encodeURIComponent(res.instance.id)}`);
    } catch (error) {
      err.show(error);
    } finally {
      submit.disabled = false;
    }
  });
  (paramInputs[0]?.[1] || orch).focus();
}

// Steps laid out by depth: a step sits one column right of the deepest step it needs.
function layers(steps) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map();
  const visit = (s, seen = new Set()) => {
    if (depth.has(s.id)) return depth.get(s.id);
    if (seen.has(s.id)) return 0;
    seen.add(s.id);
    const d = Math.max(-1, ...(s.needs || []).map((n) => (byId.has(n) ? visit(byId.get(n), seen) : -1))) + 1;
    depth.set(s.id, d);
    return d;
  };
  steps.forEach((s) => visit(s));
  const out = [];
  for (const s of steps) (out[depth.get(s.id)] ||= []).push(s);
  return out;
}

function stepGraph(definition, instance) {
  const states = new Map((instance?.steps || []).map((s) => [s.id, s]));
  const defs = definition?.steps?.length ? definition.steps : (instance?.steps || []).map((s) => ({ ...s, needs: [] }));
  return h(
    "ol",
    { class: "dag", "aria-label": "Steps" },
    layers(defs).map((layer, i) =>
      h(
        "li",
        { class: "dag-layer" },
        h("span", { class: "sr-only" }, `Stage ${i + 1}`),
        h(
          "ul",
          null,
          layer.map((d) => {
            const st = states.get(d.id);
            const status = st?.status || (instance ? "waiting" : "");
            return h(
              "li",
              { class: `step step-${status || "def"}`, dataset: { step: d.id, status } },
              h("div", { class: "step-head" }, h("strong", null, d.id), status ? badge(status) : null),
              h("div", { class: "muted small" }, `${d.action} · ${d.role}`),
              d.needs?.length ? h("div", { class: "muted small" }, `after ${d.needs.join(", ")}`) : null,
              st?.attempt > 1 ? h("div", { class: "small" }, `attempt ${st.attempt}`) : null,
              st?.commandIds?.length ? h("div", { class: "small" }, st.commandIds.map((id) => h("a", { class: "mono", href: `#/commands/${encodeURIComponent(id)}`, title: id }, shortId(id, 8), " "))) : null,
              st?.error ? h("div", { class: "error small" }, st.error) : null,
            );
          }),
        ),
      ),
    ),
  );
}

export default {
  id: "recipes",
  title: "Recipes",
  group: "Flows",
  needs: "recipes:read",
  create(ctx) {
    const notes = new Notes(ctx.queueRender);
    const fStatus = select([["", "Any status"], ...INSTANCE_STATUSES], { "aria-label": "Instance status" });
    fStatus.addEventListener("input", () => render());
    const catalogEl = h("div", { class: "cards" });
    const instancesEl = h("div");
    const detailEl = h("div", { class: "detail" });
    const el = h(
      "section",
      null,
      viewHeader("Recipes", "Multi-agent workflows. Each step is a command; instances advance as their commands finish."),
      detailEl,
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", null, "Instances"), fStatus), instancesEl),
      h("section", { class: "panel" }, h("h2", null, "Catalogue"), catalogEl),
    );
    let selected = null;

    function stopButton(inst) {
      if (inst.status !== "running" || !ctx.can("recipes:write")) return null;
      return button("Stop", () => confirmAction(`Stop ${inst.recipeName}?`, "Open commands are canceled and its agents are shut down.", "Stop instance", async () => {
        const res = await ctx.api.post(`/api/recipes/instances/${seg(inst.id)}/stop`, { stoppedBy: ctx.principal.sub });
        ctx.store.instances.upsert(res.instance);
        ctx.queueRender();
      }), { class: "small danger", "aria-label": `Stop ${inst.id}` });
    }

    function progress(inst) {
      const done = (inst.steps || []).filter((s) => s.status === "succeeded").length;
      return `${done}/${(inst.steps || []).length} steps`;
    }

    function renderDetail() {
      if (!selected) {
        clear(detailEl);
        return;
      }
      const inst = ctx.store.instances.get(selected);
      if (!inst) {
        clear(detailEl, h("section", { class: "panel" }, h("p", { class: "muted" }, "Loading the instance…")));
        return;
      }
      const def = ctx.store.recipes.get(inst.recipeName)?.recipe;
      clear(
        detailEl,
        h(
          "section",
          { class: "panel instance", dataset: { instance: inst.id, status: inst.status } },
          h("div", { class: "panel-head" }, h("h2", null, `${inst.recipeName} `, badge(inst.status)), h("div", { class: "actions" }, stopButton(inst), h("a", { class: "button small ghost", href: "#/recipes" }, "Close"))),
          kv([
            ["Instance", h("span", { class: "mono" }, inst.id)],
            ["Progress", progress(inst)],
            ["Started", h("span", null, timeAt(inst.createdAt), ` by ${inst.startedBy}`)],
            inst.endedAt ? ["Ended", timeAt(inst.endedAt)] : null,
            ["Working directory", inst.cwd],
            ["Parameters", Object.keys(inst.parameters || {}).length ? h("ul", { class: "plain" }, Object.entries(inst.parameters).map(([k, v]) => h("li", null, h("span", { class: "mono" }, k), ": ", String(v)))) : null],
            ["Agents", Object.keys(inst.agents || {}).length ? h("ul", { class: "plain" }, Object.entries(inst.agents).map(([role, id]) => h("li", null, `${role}: `, h("a", { href: `#/agents?q=${encodeURIComponent(id)}` }, id)))) : null],
            inst.error ? ["Error", h("span", { class: "error" }, inst.error)] : null,
            inst.stoppedBy ? ["Stopped by", inst.stoppedBy] : null,
          ]),
          stepGraph(def, inst),
          notes.el(inst.id),
        ),
      );
    }

    function render() {
      renderDetail();
      const instances = newest(ctx.store.instances.list()).filter((i) => !fStatus.value || i.status === fStatus.value);
      clear(
        instancesEl,
        table(
          ["Recipe", "Status", "Progress", "Started", "By", "Actions"],
          instances.map((i) => ({
            tr: h("tr", { dataset: { instance: i.id }, class: i.id === selected ? "selected" : "" }),
            cells: [h("a", { href: `#/recipes/${encodeURIComponent(i.id)}` }, i.recipeName, h("span", { class: "muted small mono" }, ` ${shortId(i.id, 8)}`)), badge(i.status), progress(i), timeAgo(i.createdAt), i.startedBy, h("div", { class: "row-actions" }, stopButton(i))],
          })),
          "No recipe has been started yet.",
        ),
      );
      const recipes = ctx.store.recipes.list().sort((a, b) => a.name.localeCompare(b.name));
      clear(
        catalogEl,
        recipes.length
          ? recipes.map((r) =>
              h(
                "article",
                { class: "card recipe", dataset: { recipe: r.name } },
                h("div", { class: "panel-head" }, h("h3", null, r.name, " ", h("span", { class: "chip" }, r.source)), ctx.can("recipes:write") ? button("Start", () => startDialog(ctx, r), { class: "primary small", "aria-label": `Start ${r.name}` }) : null),
                h("p", { class: "muted" }, r.recipe.description || ""),
                (r.recipe.parameters || []).length
                  ? h("p", { class: "small" }, "Parameters: ", chips(r.recipe.parameters.map((p) => `${p.name}${p.required ? " *" : ""}`)))
                  : null,
                h("p", { class: "small" }, "Roles: ", chips(Object.entries(r.recipe.roles || {}).map(([name, role]) => `${name} (${role.provider})`))),
                h("details", null, h("summary", null, `${(r.recipe.steps || []).length} steps`), stepGraph(r.recipe, null)),
              ),
            )
          : h("p", { class: "empty-state" }, "No recipes are loaded (built-ins live in recipes/, user recipes in AGENT_RELAY_RECIPES_DIR)."),
      );
    }

    return {
      el,
      render,
      count: () => ctx.store.instances.list().filter((i) => i.status === "running").length,
      route(rest) {
        selected = rest[0] || null;
        if (selected && !ctx.store.instances.get(selected)) {
          ctx.api.get(`/api/recipes/instances/${seg(selected)}`).then((inst) => {
            ctx.store.instances.upsert(inst);
            render();
          }).catch((err) => notes.error(selected, err));
        }
      },
    };
  },
};

