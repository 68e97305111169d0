// Tokens (admin): mint one with a role, scopes and lifetime (the secret is shown once), list the
// records (never secrets), revoke.
import { seg } from "../api.js";
import { badge, button, chips, clear, confirmAction, errorLine, field, h, input, select, shortId, splitList, table, timeAgo, timeAt } from "../dom.js";
import { newest } from "../store.js";
import { ROLES, viewHeader } from "./common.js";

const TTLS = [
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "7 days"],
  ["2592000", "30 days"],
  ["", "Relay default (90 days)"],
  ["custom", "Custom (seconds)…"],
];

export default {
  id: "tokens",
  title: "Tokens",
  group: "Admin",
  needs: "tokens:admin",
  create(ctx) {
    const col = ctx.store.tokens;
    const role = select(ROLES, { name: "role", value: "operator" });
    const sub = input({ name: "sub", maxlength: 160, placeholder: "defaults to the role; an agent's or orchestrator's id for those roles" });
    const scopes = input({ name: "scopes", placeholder: "optional narrowing, e.g. messages:*, agents:read" });
    const ttl = select(TTLS, { name: "ttl", value: "" });
    const ttlCustom = input({ type: "number", min: 1, name: "ttlSeconds", placeholder: "seconds", hidden: true, "aria-label": "Lifetime in seconds" });
    ttl.addEventListener("change", () => (ttlCustom.hidden = ttl.value !== "custom"));
    const err = errorLine();
    const save = h("button", { type: "submit", class: "primary" }, "Create token");
    const secretEl = h("div", { "aria-live": "polite" });
    const form = h(
      "form",
      { class: "form panel", "aria-label": "Create a token" },
      h("h2", null, "New token"),
      h("div", { class: "grid-2" }, field("Role", role), field("Subject", sub)),
      h("div", { class: "grid-2" }, field("Scopes", scopes, "narrows the role, never widens it"), h("div", { class: "field" }, h("label", { for: "token-ttl" }, "Lifetime"), h("div", { class: "inline" }, ttl, ttlCustom))),
      err,
      h("div", { class: "actions" }, save),
      secretEl,
    );
    ttl.id = "token-ttl";
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.clear();
      clear(secretEl);
      const body = { role: role.value };
      if (sub.value.trim()) body.sub = sub.value.trim();
      const sc = splitList(scopes.value);
      if (sc.length) body.scopes = sc;
      const seconds = ttl.value === "custom" ? ttlCustom.value : ttl.value;
      if (seconds) body.ttlSeconds = Number(seconds);
      body.createdBy = ctx.principal.sub;
      save.disabled = true;
      try {
        const res = await ctx.api.post("/api/tokens", body);
        const { token, ...record } = res;
        col.upsert(record);
        ctx.queueRender();
        const secret = h("input", { class: "mono secret", readonly: true, value: token, "aria-label": "The new token", onfocus: (ev) => ev.target.select() });
        const copied = h("span", { class: "note", role: "status" });
        clear(
          secretEl,
          h(
            "div",
            { class: "secret-box", role: "region", "aria-label": "New token secret" },
            h("p", null, h("strong", null, "Copy this token now: it is shown only once."), ` ${record.role} token for ${record.sub}, expires ${new Date(record.expiresAt).toLocaleString()}.`),
            h("div", { class: "inline" }, secret, button("Copy", async () => {
              try {
                await navigator.clipboard.writeText(token);
                copied.textContent = "copied";
              } catch {
                secret.select();
                copied.textContent = "selected: press Ctrl+C";
              }
            }), button("Done", () => clear(secretEl), { class: "ghost" })),
            copied,
          ),
        );
        secret.focus();
      } catch (error) {
        err.show(error);
      } finally {
        save.disabled = false;
      }
    });

    const listEl = h("div");
    const el = h("section", null, viewHeader("Tokens", "API tokens: signed, scoped, revocable on every node at once."), form, listEl);

    function render() {
      const tokens = newest(col.list());
      clear(
        listEl,
        table(
          ["Token", "Role", "Subject", "Scopes", "Created", "Expires", "State", "Actions"],
          tokens.map((t) => {
            const expired = t.expiresAt && t.expiresAt < Date.now();
            const state = t.revokedAt ? "revoked" : expired ? "expired" : "active";
            return {
              tr: h("tr", { dataset: { jti: t.jti, state } }),
              cells: [
                h("span", { class: "mono small", title: t.jti }, shortId(t.jti, 12)),
                t.role,
                t.sub,
                chips(t.scope),
                h("span", null, timeAgo(t.createdAt), t.createdBy ? h("span", { class: "muted small" }, ` by ${t.createdBy}`) : null),
                timeAt(t.expiresAt),
                h("span", null, badge(state, "state"), t.revokedAt ? h("span", { class: "muted small" }, " ", timeAgo(t.revokedAt)) : null),
                state === "active"
                  ? button("Revoke", () => confirmAction("Revoke this token?", `${t.role} token for ${t.sub} (${t.jti}) stops working on every node at once.`, "Revoke", async () => {
                      await ctx.api.post(`/api/tokens/${seg(t.jti)}/revoke`);
                      col.upsert(await ctx.api.get(`/api/tokens/${seg(t.jti)}`));
                      ctx.queueRender();
                    }), { class: "small danger ghost", "aria-label": `Revoke ${t.jti}` })
                  : null,
              ],
            };
          }),
          "No tokens issued yet.",
        ),
      );
    }
    return { el, render, onShow: () => ctx.load("tokens").catch(() => {}) };
  },
};
