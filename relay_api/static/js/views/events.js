// Live events: the raw stream as it arrives, with its ids, a type filter and pause.
import { button, clear, h, input, json } from "../dom.js";
import { toolbar, viewHeader } from "./common.js";

const KEEP = 1000;

export default {
  id: "events",
  title: "Live events",
  group: "Admin",
  needs: "events:read",
  create() {
    const filter = input({ type: "search", placeholder: "type prefix, e.g. agent. or command.succeeded", "aria-label": "Filter by type" });
    const counter = h("span", { class: "muted small", "aria-live": "off" });
    let paused = false;
    const pause = button("Pause", () => {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      pause.setAttribute("aria-pressed", String(paused));
      if (!paused) flush();
    }, { "aria-pressed": "false" });
    const clearBtn = button("Clear", () => {
      log.length = 0;
      clear(listEl);
      counter.textContent = "";
      waiting.hidden = false;
    }, { class: "ghost" });
    filter.addEventListener("input", () => {
      clear(listEl);
      for (const entry of log) if (matches(entry.evt)) listEl.prepend(row(entry));
    });
    const listEl = h("ol", { class: "feed mono events" });
    const waiting = h("p", { class: "empty-state" }, "Listening. Every event from the moment you signed in appears here as it happens.");
    const el = h("section", null, viewHeader("Live events", "Every event this console receives, newest first (the last 1000)."), toolbar(filter, pause, clearBtn, counter), waiting, listEl);
    const log = [];
    let pending = [];
    let seq = 0;

    function matches(evt) {
      const f = filter.value.trim();
      return !f || String(evt.type).startsWith(f);
    }

    function row({ evt, id, n }) {
      return h(
        "li",
        { dataset: { eventId: id || "", seq: String(n), type: evt.type, subject: evt.subject ?? "" } },
        h("div", { class: "feed-head" }, h("strong", null, evt.type), h("span", null, evt.subject ?? ""), h("time", null, new Date(evt.ts || Date.now()).toLocaleTimeString())),
        h("details", null, h("summary", { class: "small muted" }, id ? `id ${id}` : "no id"), h("pre", null, json(evt))),
      );
    }

    function flush() {
      for (const entry of pending) {
        if (matches(entry.evt)) listEl.prepend(row(entry));
      }
      pending = [];
      while (listEl.children.length > KEEP) listEl.lastChild.remove();
      counter.textContent = `${seq} received`;
      waiting.hidden = seq > 0;
    }

    return {
      el,
      render() {},
      onEvent(evt, id) {
        const entry = { evt, id, n: ++seq };
        log.push(entry);
        if (log.length > KEEP) log.shift();
        pending.push(entry);
        if (!paused) flush();
      },
    };
  },
};
