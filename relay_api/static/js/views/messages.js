// Messages: an agent's inbox (direct, fan-out and broadcast, with its read cursor) or the history
// with filters; threads (replyTo / threadId); compose and reply to any target; claim state and
// holder; claim, release and acknowledge as the agent whose inbox is open.
import { badge, button, clear, debounce, dialog, errorLine, field, h, input, select, timeAt } from "../dom.js";
import { MESSAGE_KINDS, Notes, datalist, rowAction, targetSuggestions, toolbar, viewHeader } from "./common.js";

const WINDOW = 500;

export default {
  id: "messages",
  title: "Messages",
  group: "Work",
  needs: "messages:read",
  create(ctx) {
    const notes = new Notes(ctx.queueRender);
    const state = { agent: "", filters: {}, messages: new Map(), cursor: null, loading: false, error: null, replyTo: null };

    // --- mailbox and filters ---
    const mailbox = select([["", "All messages (history)"]], { "aria-label": "Mailbox" });
    mailbox.addEventListener("change", () => ctx.navigate(mailbox.value ? `#/messages?agent=${encodeURIComponent(mailbox.value)}` : "#/messages"));
    const fFrom = input({ placeholder: "from", "aria-label": "Filter by sender", maxlength: 240 });
    const fTo = input({ placeholder: "to (exact address)", "aria-label": "Filter by target", maxlength: 240 });
    const fChannel = input({ placeholder: "channel", "aria-label": "Filter by channel", maxlength: 240 });
    const fKind = select([["", "Any kind"], ...MESSAGE_KINDS], { "aria-label": "Filter by kind" });
    const filterBox = h("div", { class: "toolbar-group" }, fFrom, fTo, fChannel, fKind);
    const applyFilters = debounce(() => {
      state.filters = { from: fFrom.value.trim(), to: fTo.value.trim(), channel: fChannel.value.trim(), kind: fKind.value };
      reload();
    }, 300);
    for (const el of [fFrom, fTo, fChannel, fKind]) el.addEventListener("input", applyFilters);
    const cursorLine = h("div", { class: "cursor-line", "aria-live": "polite" });

    // --- compose ---
    const cFrom = input({ name: "from", value: "user", maxlength: 240, list: "msg-agents", required: true });
    const cTo = input({ name: "to", maxlength: 240, list: "msg-targets", placeholder: "agent, tag:x, cap:x, label:x, broadcast" });
    const cKind = select(["chat", "control", "system"], { name: "kind" });
    const cSubject = input({ name: "subject", maxlength: 500 });
    const cBody = h("textarea", { name: "body", rows: 3, maxlength: 65536, required: true });
    const cClaimable = h("input", { type: "checkbox", name: "claimable" });
    const replyChip = h("div", { class: "reply-chip", hidden: true });
    const cErr = errorLine();
    const cNote = h("p", { class: "note", role: "status" });
    const send = h("button", { type: "submit", class: "primary" }, "Send");
    const lists = h("div", { class: "lists" });
    const compose = h(
      "form",
      { class: "form compose", "aria-label": "Compose a message" },
      h("h2", null, "Compose"),
      replyChip,
      h("div", { class: "grid-2" }, field("From", cFrom), field("To", cTo)),
      h("div", { class: "grid-2" }, field("Kind", cKind), field("Subject", cSubject)),
      field("Body", cBody),
      h("label", { class: "check" }, cClaimable, " Claimable (exactly one recipient may claim it)"),
      cErr,
      cNote,
      h("div", { class: "actions" }, send),
      lists,
    );
    compose.addEventListener("submit", async (e) => {
      e.preventDefault();
      cErr.clear();
      cNote.textContent = "";
      const body = { from: cFrom.value.trim(), body: cBody.value, kind: cKind.value };
      if (cTo.value.trim()) body.to = cTo.value.trim();
      if (cSubject.value.trim()) body.subject = cSubject.value.trim();
      if (cClaimable.checked) body.claimable = true;
      if (state.replyTo) body.replyTo = state.replyTo.id;
      send.disabled = true;
      try {
        const msg = await ctx.api.post("/api/messages", body);
        cNote.textContent = `Sent #${msg.id} to ${msg.to}.`;
        cBody.value = "";
        cSubject.value = "";
        setReply(null);
      } catch (err) {
        cErr.show(err);
      } finally {
        send.disabled = false;
      }
    });
    if (!ctx.can("messages:send")) compose.hidden = true;

    function setReply(msg) {
      state.replyTo = msg;
      clear(replyChip);
      replyChip.hidden = !msg;
      if (!msg) {
        cTo.placeholder = "agent, tag:x, cap:x, label:x, broadcast";
        return;
      }
      cTo.value = "";
      cTo.placeholder = `empty: goes to #${msg.id}'s sender (${msg.from})`;
      replyChip.append(
        h("span", null, `Replying to #${msg.id} from ${msg.from}`, msg.subject ? ` — ${msg.subject}` : ""),
        button("Cancel reply", () => setReply(null), { class: "small ghost" }),
      );
      cBody.focus();
    }

    const listEl = h("div", { class: "messages", "aria-live": "polite" });
    const status = h("p", { class: "muted small" });
    const loadErr = errorLine();
    const el = h(
      "section",
      null,
      viewHeader("Messages", "Inboxes, history and threads. New messages appear as they are sent."),
      h("div", { class: "split" }, h("div", { class: "split-main" }, toolbar(mailbox, filterBox), cursorLine, loadErr, status, listEl), h("aside", { class: "split-side" }, compose)),
    );

    // --- loading ---
    let seq = 0;
    async function reload() {
      const mine = ++seq;
      loadErr.clear();
      state.loading = true;
      state.messages = new Map();
      try {
        if (state.agent) {
          const cursor = await ctx.api.get("/api/messages/cursor", { agentId: state.agent });
          const since = Math.max(0, (cursor.latestId || 0) - WINDOW);
          const items = await ctx.api.get("/api/messages", { for: state.agent, since, limit: WINDOW });
          if (mine !== seq) return;
          state.cursor = cursor;
          for (const m of items) state.messages.set(m.id, m);
        } else {
          const items = await ctx.api.get("/api/messages", { limit: 200, ...clean(state.filters) });
          if (mine !== seq) return;
          state.cursor = null;
          for (const m of items) state.messages.set(m.id, m);
        }
      } catch (err) {
        if (mine === seq) loadErr.show(err);
      } finally {
        if (mine === seq) state.loading = false;
        render();
      }
    }

    const catchUpInbox = debounce(async () => {
      if (!state.agent) return;
      const agent = state.agent;
      const last = Math.max(0, ...state.messages.keys());
      try {
        const items = await ctx.api.get("/api/messages", { for: agent, since: last, limit: WINDOW });
        if (agent !== state.agent) return;
        for (const m of items) state.messages.set(m.id, m);
        render();
      } catch (err) {
        loadErr.show(err);
      }
    }, 100);

    const refreshCursor = debounce(async () => {
      if (!state.agent) return;
      try {
        state.cursor = await ctx.api.get("/api/messages/cursor", { agentId: state.agent });
        render();
      } catch {
        /* shown on the next load */
      }
    }, 100);

    function matchesHistory(m) {
      const f = state.filters;
      return (!f.from || m.from === f.from) && (!f.to || m.to === f.to) && (!f.channel || m.channel === f.channel) && (!f.kind || m.kind === f.kind);
    }

    function onEvent(evt) {
      const t = evt.type;
      const m = evt.data?.message;
      if (t === "message.created" && m) {
        if (state.agent) catchUpInbox();
        else if (matchesHistory(m)) state.messages.set(m.id, m);
        if (state.agent && m.from !== state.agent) refreshCursor();
      } else if ((t === "message.claimed" || t === "message.claim_released") && m) {
        if (state.messages.has(m.id)) state.messages.set(m.id, m);
      } else if (t === "message.read" && evt.data?.agentId === state.agent) {
        refreshCursor();
      }
    }

    // --- rendering ---
    function threadDialog(msg) {
      const rootId = msg.threadId || msg.id;
      const body = h("div", { class: "thread" }, h("p", { class: "muted" }, "Loading…"));
      dialog(`Thread #${rootId}`, { body: [body], wide: true });
      (async () => {
        const byId = new Map([...state.messages].filter(([, m]) => m.id === rootId || m.threadId === rootId));
        byId.set(msg.id, msg);
        // Walk up to the root through replyTo for what this mailbox did not show.
        let cur = msg;
        for (let i = 0; i < 20 && cur?.replyTo; i++) {
          cur = byId.get(cur.replyTo) || (await ctx.api.get(`/api/messages/${cur.replyTo}`).catch(() => null));
          if (cur) byId.set(cur.id, cur);
        }
        if (!byId.has(rootId)) {
          const root = await ctx.api.get(`/api/messages/${rootId}`).catch(() => null);
          if (root) byId.set(root.id, root);
        }
        // An inbox holds only what others sent; the rest of the thread is what its participants sent.
        const senders = new Set([...byId.values()].flatMap((m) => [m.from, m.to]).filter((a) => a && !a.includes(":") && a !== "broadcast"));
        for (const sender of senders) {
          const sent = await ctx.api.get("/api/messages", { from: sender, since: rootId - 1, limit: 500 }).catch(() => []);
          for (const m of sent) if (m.id === rootId || m.threadId === rootId) byId.set(m.id, m);
        }
        const items = [...byId.values()].sort((a, b) => a.id - b.id);
        const depth = new Map();
        clear(
          body,
          items.map((m) => {
            const d = m.replyTo && depth.has(m.replyTo) ? depth.get(m.replyTo) + 1 : 0;
            depth.set(m.id, d);
            return h("article", { class: "msg", style: `margin-left:${Math.min(d, 6)}rem` }, header(m), m.subject ? h("strong", null, m.subject) : null, h("p", { class: "body" }, m.body));
          }),
        );
      })();
    }

    function header(m) {
      return h(
        "div",
        { class: "msg-head" },
        h("span", { class: "mono" }, `#${m.id}`),
        h("span", null, h("strong", null, m.from), " → ", h("span", { class: "mono" }, m.to)),
        badge(m.kind, "kind"),
        m.channel ? h("span", { class: "chip" }, `channel ${m.channel}`) : null,
        timeAt(m.createdAt),
      );
    }

    function claimState(m) {
      if (!m.claimable) return null;
      if (!m.claimedBy) return h("span", { class: "badge status-open" }, "claimable · unclaimed");
      return h("span", { class: "badge status-claimed" }, `claimed by ${m.claimedBy}`, m.claimExpiresAt ? ` until ${new Date(m.claimExpiresAt).toLocaleTimeString()}` : "");
    }

    function card(m) {
      const unread = state.cursor && m.id > (state.cursor.cursor || 0) && m.from !== state.agent;
      const acts = [];
      if (ctx.can("messages:send")) acts.push(button("Reply", () => setReply(m), { class: "small", "aria-label": `Reply to #${m.id}` }));
      const hasReplies = [...state.messages.values()].some((o) => o.threadId === m.id || o.replyTo === m.id);
      if (m.replyTo || m.threadId || hasReplies) acts.push(button("Thread", () => threadDialog(m), { class: "small ghost", "aria-label": `Thread of #${m.id}` }));
      if (state.agent && m.claimable && ctx.can("messages:claim")) {
        if (!m.claimedBy || m.claimedBy === state.agent) {
          const b = button(m.claimedBy ? "Renew claim" : `Claim as ${state.agent}`, () =>
            rowAction(notes, m.id, b, async () => {
              const res = await ctx.api.post(`/api/messages/${m.id}/claim`, { agentId: state.agent });
              state.messages.set(m.id, res.message || res);
            }), { class: "small" });
          acts.push(b);
        }
        if (m.claimedBy === state.agent) {
          const b = button("Release", () =>
            rowAction(notes, m.id, b, async () => {
              const res = await ctx.api.post(`/api/messages/${m.id}/release`, { agentId: state.agent });
              state.messages.set(m.id, res.message || res);
            }), { class: "small" });
          acts.push(b);
        }
      }
      if (unread && ctx.can("messages:write")) {
        const b = button("Mark read", () =>
          rowAction(notes, m.id, b, async () => {
            await ctx.api.post(`/api/messages/${m.id}/read`, { agentId: state.agent });
            refreshCursor();
          }), { class: "small ghost" });
        acts.push(b);
      }
      return h(
        "article",
        { class: `msg${unread ? " unread" : ""}`, dataset: { message: String(m.id) } },
        header(m),
        h(
          "div",
          { class: "msg-meta" },
          unread ? h("span", { class: "badge status-unread" }, "unread") : null,
          m.replyTo ? h("span", { class: "muted small" }, `reply to #${m.replyTo}`) : null,
          m.threadId && m.threadId !== m.replyTo ? h("span", { class: "muted small" }, `thread #${m.threadId}`) : null,
          claimState(m),
        ),
        m.subject ? h("strong", { class: "subject" }, m.subject) : null,
        m.body ? h("p", { class: "body" }, m.body) : null,
        h("div", { class: "row-actions" }, acts, notes.el(m.id)),
      );
    }

    function syncMailbox() {
      const ids = ctx.store.agents.list().map((a) => a.id).sort();
      const have = [...mailbox.options].slice(1).map((o) => o.value);
      if (state.agent && !ids.includes(state.agent)) ids.push(state.agent);
      if (ids.join() !== have.join()) {
        clear(mailbox, h("option", { value: "" }, "All messages (history)"), ids.map((id) => h("option", { value: id }, `Inbox of ${id}`)));
      }
      mailbox.value = state.agent;
      const agents = ctx.store.agents.list();
      clear(lists, datalist("msg-agents", agents.map((a) => a.id)), datalist("msg-targets", targetSuggestions(agents)));
    }

    function render() {
      syncMailbox();
      filterBox.hidden = Boolean(state.agent);
      clear(cursorLine);
      if (state.agent && state.cursor) {
        const unread = [...state.messages.values()].filter((m) => m.id > (state.cursor.cursor || 0) && m.from !== state.agent).length;
        cursorLine.append(
          h("span", null, `Read cursor of ${state.agent}: #${state.cursor.cursor || 0} · latest #${state.cursor.latestId || 0} · ${unread} unread`),
        );
        if (unread && ctx.can("messages:write")) {
          const b = button("Mark all read", () =>
            rowAction(notes, "cursor", b, async () => {
              state.cursor = await ctx.api.post("/api/messages/cursor", { agentId: state.agent, cursor: state.cursor.latestId });
            }), { class: "small" });
          cursorLine.append(b);
          // DOM append() would print an absent note as the text "null".
          const note = notes.el("cursor");
          if (note) cursorLine.append(note);
        }
      }
      const items = [...state.messages.values()].sort((a, b) => b.id - a.id);
      status.textContent = state.loading ? "Loading…" : `${items.length} message${items.length === 1 ? "" : "s"}${state.agent ? ` in ${state.agent}'s inbox` : ""}, newest first`;
      clear(listEl, items.length ? items.map(card) : h("p", { class: "empty-state" }, state.loading ? "" : state.agent ? `No messages for ${state.agent} yet.` : "No messages match."));
    }

    let shown = false;
    return {
      el,
      render,
      onEvent,
      onShow() {
        shown = true;
      },
      route(_rest, params) {
        const agent = params.get("agent") || "";
        const to = params.get("to");
        if (to) {
          cTo.value = to;
          setReply(null);
        }
        if (agent !== state.agent || !shown || state.messages.size === 0) {
          state.agent = agent;
          reload();
        }
        shown = true;
      },
    };
  },
};

function clean(obj) {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v));
}
