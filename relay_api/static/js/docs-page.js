// The standalone API reference at /schema: the dashboard's viewer over this server's schema, with
// a token field for the try-it forms (prefilled from the dashboard's sign-in on this browser).
import { h } from "./dom.js";
import { renderDocs } from "./views/api.js";

const root = document.getElementById("docs");
const stored = localStorage.getItem("relayToken") || sessionStorage.getItem("relayToken") || "";
const token = h("input", { type: "password", value: stored, autocomplete: "off", "aria-label": "Token for try-it requests", placeholder: "token for try-it requests" });
const bar = h("div", { class: "docs-bar" }, h("a", { href: "/" }, "← Dashboard"), h("label", { class: "inline" }, "Token ", token));

try {
  const res = await fetch(root.dataset.schemaUrl || "/schema/openapi.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const doc = await res.json();
  const content = h("div");
  renderDocs(content, doc, { getToken: () => token.value.trim() });
  root.replaceChildren(bar, content);
} catch (err) {
  root.replaceChildren(bar, h("p", { class: "error" }, `could not load the schema: ${err.message}`));
}
