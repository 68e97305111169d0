// Pairs: two agents working together. Invite, accept or reject (as the invited agent), end, and
// read or continue their conversation.
import { badge, button, clear, dialog, errorLine, field, h, input, select, table, timeAgo, timeAt } from "../dom.js";
import { newest } from "../store.js";
import { Notes, PAIR_STATUSES, datalist, rowAction, viewHeader } from "./common.js";

function conversation(ctx, pair) {
  const list = h("div", { class: "messages" }, h("p", { class: "muted" }, "Loading…"));
  const from = select([pair.from, pair.to], { "aria-label": "Send as" });
  const body = h("textarea", { rows: 2, required: true, "aria-label": "Message" });
  const err = errorLine();
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const form = h("form", { class: "form" }, h("div", { class: "grid-2" }, field("As", from), field("Message", body)), err, h("div", { class: "actions" }, send));
  const load = async () => {
    try {
      const items = await ctx.api.get("/api/messages", { channel: `pair:${pair.id}`, limit: 200 });
      clear(list, items.length ? items.map((m) => h("article", { class: "msg" }, h("div", { class: "msg-head" }, h("strong", null, m.from), " → ", m.to, timeAt(m.createdAt)), h("p", { class: "body" }, m.body))) : h("p", { class: "muted" }, "No messages yet."));
    } catch (e) {
      clear(list, h("p", { class: "error" }, e.message));
    }
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.clear();
    send.disabled = true;
    try {
      await ctx.api.post(`/api/pairs/${pair.id}/messages`, { from: from.value, body: body.value });
      body.value = "";
      await load();
    } catch (error) {
      err.show(error);
    } finally {
      send.disabled = false;
    }
  });
  const canSend = pair.status === "active" && ctx.can("pairs:write");
  dialog(`Pair #${pair.id}: ${pair.from} ↔ ${pair.to}`, { body: [list, canSend ? form : h("p", { class: "muted" }, `The pair is ${pair.status}.`)], wide: true });
  load();
}

export default {
  id: "pairs",
  title: "Pairs",
  group: "Wiring",
  needs: "pairs:read",
  create(ctx) {
    const notes = new Notes(ctx.queueRender);
    const fStatus = select([["", "Any status"], ...PAIR_STATUSES], { "aria-label": "Status" });
    fStatus.addEventListener("input", () => render());
    const pFrom = input({ name: "from", required: true, list: "pair-agents", maxlength: 240 });
    const pTo = input({ name: "to", required: true, list: "pair-agents", maxlength: 240 });
    const pTopic = input({ name: "topic", maxlength: 500 });
    const err = errorLine();
    const save = h("button", { type: "submit", class: "primary" }, "Invite");
    const lists = h("div", { class: "lists" });
    const form = h("form", { class: "form panel", "aria-label": "Invite a pair" }, h("h2", null, "New pair"), h("div", { class: "grid-3" }, field("From", pFrom), field("To (invited)", pTo), field("Topic", pTopic)), err, h("div", { class: "actions" }, save), lists);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.clear();
      save.disabled = true;
      try {
        const body = { from: pFrom.value.trim(), to: pTo.value.trim() };
        if (pTopic.value.trim()) body.topic = pTopic.value.trim();
        ctx.store.pairs.upsert(await ctx.api.post("/api/pairs", body));
        pTopic.value = "";
        ctx.queueRender();
      } catch (error) {
        err.show(error);
      } finally {
        save.disabled = false;
      }
    });
    const listEl = h("div");
    const el = h("section", null, viewHeader("Pairs", "Two agents working together on one topic.", fStatus), listEl, ctx.can("pairs:write") ? form : null);

    function act(p, verb, agentId, label) {
      const b = button(label, () => rowAction(notes, p.id, b, async () => {
        ctx.store.pairs.upsert(await ctx.api.post(`/api/pairs/${p.id}/${verb}`, { agentId }));
      }), { class: "small", "aria-label": `${label} pair ${p.id}` });
      return b;
    }

    function render() {
      clear(lists, datalist("pair-agents", ctx.store.agents.list().map((a) => a.id)));
      const pairs = newest(ctx.store.pairs.list()).filter((p) => !fStatus.value || p.status === fStatus.value);
      clear(
        listEl,
        table(
          ["Pair", "Status", "Topic", "Created", "Expires / ended", "Actions"],
          pairs.map((p) => {
            const acts = [button("Conversation", () => conversation(ctx, p), { class: "small ghost" })];
            if (ctx.can("pairs:write")) {
              if (p.status === "pending") acts.push(act(p, "accept", p.to, `Accept as ${p.to}`), act(p, "reject", p.to, `Reject as ${p.to}`));
              if (p.status === "active") acts.push(act(p, "end", p.from, "End"));
            }
            return {
              tr: h("tr", { dataset: { pair: String(p.id) } }),
              cells: [
                h("span", null, h("span", { class: "mono" }, `#${p.id} `), h("strong", null, p.from), " ↔ ", h("strong", null, p.to)),
                badge(p.status),
                p.topic || "—",
                timeAgo(p.createdAt),
                p.endedAt ? h("span", null, timeAgo(p.endedAt), p.endedBy ? ` by ${p.endedBy}` : "", p.reason ? ` (${p.reason})` : "") : p.status === "pending" ? timeAt(p.expiresAt) : "—",
                h("div", { class: "row-actions" }, acts, notes.el(p.id)),
              ],
            };
          }),
          "No pairs.",
        ),
      );
    }
    return { el, render, count: () => ctx.store.pairs.list().filter((p) => p.status === "active").length };
  },
};
