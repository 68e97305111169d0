// Channels and their bindings (including pool slots and who holds them): bind, unbind, send a
// channel event, register a channel.
import { seg } from "../api.js";
import { badge, button, clear, confirmAction, errorLine, field, h, input, select, table, timeAgo } from "../dom.js";
import { Notes, datalist, targetSuggestions, viewHeader } from "./common.js";

export default {
  id: "channels",
  title: "Channels",
  group: "Wiring",
  needs: "channels:read",
  create(ctx) {
    const notes = new Notes(ctx.queueRender);
    const listEl = h("div");
    const formsEl = h("div", { class: "forms" });
    const el = h("section", null, viewHeader("Channels and bindings", "Where channel events go: an agent, a label, tag or capability, everyone, or one slot of a pool."), listEl, formsEl);

    // --- bind ---
    const bChannel = select([], { "aria-label": "Channel", name: "channelId" });
    const bTarget = input({ name: "target", required: true, list: "bind-targets", placeholder: "agent, label:x, tag:x, cap:x, broadcast, pool:x" });
    const bMode = select(["exclusive", "broadcast"], { name: "mode" });
    const bDirection = select(["both", "inbound", "outbound"], { name: "direction" });
    const bErr = errorLine();
    const bSave = h("button", { type: "submit", class: "primary" }, "Bind");
    const bindLists = h("div", { class: "lists" });
    const bindForm = h("form", { class: "form panel", "aria-label": "Bind a channel" }, h("h2", null, "Bind"), h("div", { class: "grid-2" }, field("Channel", bChannel), field("Target", bTarget)), h("div", { class: "grid-2" }, field("Mode", bMode), field("Direction", bDirection)), bErr, h("div", { class: "actions" }, bSave), bindLists);
    bindForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      bErr.clear();
      bSave.disabled = true;
      try {
        await ctx.api.post("/api/channel-bindings", { channelId: bChannel.value, target: bTarget.value.trim(), mode: bMode.value, direction: bDirection.value });
        bTarget.value = "";
        ctx.refetch("channels");
      } catch (err) {
        bErr.show(err);
      } finally {
        bSave.disabled = false;
      }
    });

    // --- send an event ---
    const sChannel = select([], { "aria-label": "Channel", name: "channel" });
    const sSubject = input({ name: "subject", maxlength: 500 });
    const sBody = h("textarea", { name: "body", rows: 2, required: true });
    const sErr = errorLine();
    const sNote = h("p", { class: "note", role: "status" });
    const sSave = h("button", { type: "submit" }, "Send event");
    const sendForm = h("form", { class: "form panel", "aria-label": "Send a channel event" }, h("h2", null, "Send a channel event"), field("Channel", sChannel), field("Subject", sSubject), field("Body", sBody), sErr, sNote, h("div", { class: "actions" }, sSave));
    sendForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      sErr.clear();
      sNote.textContent = "";
      sSave.disabled = true;
      try {
        const body = { body: sBody.value };
        if (sSubject.value.trim()) body.subject = sSubject.value.trim();
        const res = await ctx.api.post(`/api/channels/${seg(sChannel.value)}/events`, body);
        sNote.textContent = `Delivered as ${res.messages.length} message(s): ${res.messages.map((m) => `#${m.id} → ${m.to}`).join(", ")}`;
        sBody.value = "";
      } catch (err) {
        sErr.show(err);
      } finally {
        sSave.disabled = false;
      }
    });

    // --- register a channel (a channel is an agent of kind channel) ---
    const nId = input({ name: "id", required: true, maxlength: 240, placeholder: "e.g. slack-ops" });
    const nName = input({ name: "name", maxlength: 200 });
    const nErr = errorLine();
    const nSave = h("button", { type: "submit" }, "Register channel");
    const newForm = h("form", { class: "form panel", "aria-label": "Register a channel" }, h("h2", null, "New channel"), h("div", { class: "grid-2" }, field("Id", nId), field("Name", nName)), nErr, h("div", { class: "actions" }, nSave));
    newForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      nErr.clear();
      nSave.disabled = true;
      try {
        const body = { id: nId.value.trim(), kind: "channel" };
        if (nName.value.trim()) body.name = nName.value.trim();
        await ctx.api.post("/api/agents", body);
        nId.value = "";
        nName.value = "";
        ctx.refetch("channels");
      } catch (err) {
        nErr.show(err);
      } finally {
        nSave.disabled = false;
      }
    });

    if (ctx.can("channels:write")) formsEl.append(bindForm, sendForm);
    if (ctx.can("agents:register")) formsEl.append(newForm);

    function syncSelects(channels) {
      for (const sel of [bChannel, sChannel]) {
        const keep = sel.value;
        const ids = channels.map((c) => c.id);
        if ([...sel.options].map((o) => o.value).join() !== ids.join()) clear(sel, ids.map((id) => h("option", { value: id }, id)));
        if (ids.includes(keep)) sel.value = keep;
      }
      const none = !channels.length;
      bSave.disabled = none;
      sSave.disabled = none;
      clear(bindLists, datalist("bind-targets", [...targetSuggestions(ctx.store.agents.list()), ...poolSuggestions()]));
    }

    function poolSuggestions() {
      const pools = new Set();
      for (const a of ctx.store.agents.list()) for (const t of a.tags || []) if (t.startsWith("pool:")) pools.add(t);
      return [...pools];
    }

    function bindingRow(b) {
      const del = ctx.can("channels:admin")
        ? button("Unbind", () => confirmAction(`Remove binding #${b.id}?`, `Events on ${b.channelId} stop going to ${b.address}.`, "Unbind", async () => {
            await ctx.api.del(`/api/channel-bindings/${b.id}`);
            ctx.refetch("channels");
          }), { class: "small danger ghost", "aria-label": `Remove binding ${b.id}` })
        : null;
      return h(
        "li",
        { class: "binding", dataset: { binding: String(b.id) } },
        h("span", { class: "mono" }, b.address),
        " ",
        h("span", { class: "chip" }, b.mode),
        h("span", { class: "chip" }, b.direction),
        b.target?.type === "pool" ? (b.poolAgentId ? h("span", { class: "chip ok" }, `slot held by ${b.poolAgentId}`) : h("span", { class: "chip warn" }, "slot unclaimed")) : null,
        del,
        notes.el(`b${b.id}`),
      );
    }

    function render() {
      const channels = ctx.store.channels.list().sort((a, b) => a.id.localeCompare(b.id));
      syncSelects(channels);
      clear(
        listEl,
        table(
          ["Channel", "Status", "Label", "Last seen", "Bindings"],
          channels.map((c) => ({
            tr: h("tr", { dataset: { channel: c.id } }),
            cells: [
              h("span", null, h("strong", null, c.name && c.name !== c.id ? c.name : c.id), c.name && c.name !== c.id ? h("span", { class: "muted small mono" }, ` ${c.id}`) : null),
              badge(c.status),
              c.label || "—",
              timeAgo(c.lastSeen),
              c.bindings?.length ? h("ul", { class: "plain" }, c.bindings.map(bindingRow)) : h("span", { class: "muted" }, "no binding: events are refused"),
            ],
          })),
          "No channels. A channel is an agent of kind channel; register one below.",
        ),
      );
    }
    return { el, render };
  },
};
