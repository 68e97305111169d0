// API reference: every operation of /schema/openapi.json with its parameters, request and response
// schemas, and a try-it form that sends the request with the signed-in token. Used by the
// dashboard's API view and by the standalone page at /schema (so the docs need no other host).
import { button, clear, debounce, h, input, json } from "../dom.js";

const METHODS = ["get", "post", "put", "patch", "delete"];

export function resolver(doc) {
  return (schema) => {
    let s = schema;
    for (let i = 0; s && s.$ref && i < 20; i++) {
      const path = s.$ref.replace(/^#\//, "").split("/");
      s = path.reduce((node, key) => node?.[key], doc);
    }
    return s || {};
  };
}

function refName(schema) {
  return schema?.$ref ? schema.$ref.split("/").pop() : null;
}

function typeLabel(schema, resolve) {
  if (!schema) return "any";
  if (schema.$ref) return refName(schema);
  const alts = schema.oneOf || schema.anyOf;
  if (alts) return alts.map((a) => typeLabel(a, resolve)).join(" | ");
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.type === "array") return `${typeLabel(schema.items, resolve)}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  if (schema.type === "object" && schema.additionalProperties && !schema.properties) return `map of ${typeLabel(schema.additionalProperties === true ? null : schema.additionalProperties, resolve)}`;
  return schema.type || (schema.properties ? "object" : "any");
}

function constraints(schema) {
  const out = [];
  for (const [k, label] of [["minLength", "min length"], ["maxLength", "max length"], ["minimum", "≥"], ["maximum", "≤"], ["exclusiveMinimum", ">"], ["minItems", "min items"], ["maxItems", "max items"], ["pattern", "pattern"], ["format", "format"]]) {
    if (schema?.[k] !== undefined) out.push(`${label} ${schema[k]}`);
  }
  if (schema?.default !== undefined) out.push(`default ${JSON.stringify(schema.default)}`);
  return out.join(", ");
}

// A schema as a nested list of its fields; refs are expanded up to a depth, never in a cycle.
export function schemaTree(schema, resolve, depth = 0, seen = new Set()) {
  const name = refName(schema);
  const s = resolve(schema);
  if (name && seen.has(name)) return h("span", { class: "muted small" }, `${name} (see above)`);
  const nextSeen = name ? new Set([...seen, name]) : seen;
  const alts = s.oneOf || s.anyOf;
  if (alts) {
    const real = alts.filter((a) => resolve(a).type !== "null");
    if (real.length === 1) return schemaTree(real[0], resolve, depth, nextSeen);
    return h("div", { class: "schema" }, h("span", { class: "muted small" }, "one of:"), h("ol", { class: "schema-alts" }, real.map((a) => h("li", null, h("code", null, typeLabel(a, resolve)), depth < 4 ? schemaTree(a, resolve, depth + 1, nextSeen) : null))));
  }
  if (s.type === "array") {
    const items = resolve(s.items);
    if (items.properties || items.oneOf || items.anyOf) return h("div", { class: "schema" }, h("span", { class: "muted small" }, "array of:"), depth < 4 ? schemaTree(s.items, resolve, depth + 1, nextSeen) : null);
    return null;
  }
  if (!s.properties) return null;
  const required = new Set(s.required || []);
  return h(
    "ul",
    { class: "schema" },
    Object.entries(s.properties).map(([prop, ps]) => {
      const r = resolve(ps);
      const nested = depth < 4 ? schemaTree(ps, resolve, depth + 1, nextSeen) : null;
      return h(
        "li",
        null,
        h("code", { class: "prop" }, prop),
        required.has(prop) ? h("span", { class: "req", title: "required" }, "*") : null,
        " ",
        h("span", { class: "type" }, typeLabel(ps, resolve)),
        constraints(r) ? h("span", { class: "muted small" }, ` (${constraints(r)})`) : null,
        r.description ? h("div", { class: "muted small" }, r.description) : null,
        nested,
      );
    }),
  );
}

// A request body skeleton: the required fields with placeholder values of their type.
export function example(schema, resolve, depth = 0) {
  const s = resolve(schema);
  if (depth > 4) return null;
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  const alts = s.oneOf || s.anyOf;
  if (alts) return example(alts.find((a) => resolve(a).type !== "null") || alts[0], resolve, depth + 1);
  if (s.enum) return s.enum[0];
  if (s.type === "object" || s.properties) {
    const out = {};
    for (const key of s.required || []) out[key] = example(s.properties?.[key], resolve, depth + 1);
    return out;
  }
  if (s.type === "array") return [];
  if (s.type === "integer" || s.type === "number") return s.minimum ?? 1;
  if (s.type === "boolean") return false;
  if (s.type === "string") return "";
  return null;
}

function tryIt(op, path, method, resolve, getToken) {
  const params = (op.parameters || []).map(resolve).filter((p) => p.in !== "header" || !/authorization|x-agent-relay-token/i.test(p.name));
  const inputs = params.map((p) => [p, input({ placeholder: p.required ? "required" : "optional", "aria-label": `${p.in} parameter ${p.name}`, dataset: { param: p.name } })]);
  const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
  const bodyEl = bodySchema ? h("textarea", { rows: 6, class: "mono", "aria-label": "Request body (JSON)" }, json(example(bodySchema, resolve))) : null;
  const out = h("div", { class: "try-out", "aria-live": "polite" });
  const send = button("Send request", async () => {
    let url = path;
    const q = new URLSearchParams();
    const headers = {};
    for (const [p, el] of inputs) {
      const v = el.value;
      if (!v) continue;
      if (p.in === "path") url = url.replace(`{${p.name}}`, encodeURIComponent(v));
      else if (p.in === "query") q.set(p.name, v);
      else if (p.in === "header") headers[p.name] = v;
    }
    if (/\{[^}]+\}/.test(url)) {
      clear(out, h("p", { class: "error" }, "fill in every path parameter"));
      return;
    }
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body;
    if (bodyEl && bodyEl.value.trim()) {
      headers["Content-Type"] = "application/json";
      body = bodyEl.value;
    }
    const full = url + (q.toString() ? `?${q}` : "");
    send.disabled = true;
    try {
      const res = await fetch(full, { method: method.toUpperCase(), headers, body, cache: "no-store" });
      const text = await res.text();
      let pretty = text;
      try {
        pretty = json(JSON.parse(text));
      } catch {
        /* not JSON */
      }
      clear(out, h("p", null, h("strong", null, `${res.status} ${res.statusText}`), " ", h("code", null, `${method.toUpperCase()} ${full}`)), h("pre", { class: "response" }, pretty || "(empty)"));
    } catch (err) {
      clear(out, h("p", { class: "error" }, err.message));
    } finally {
      send.disabled = false;
    }
  }, { class: "primary small" });
  return h(
    "div",
    { class: "try" },
    h("h4", null, "Try it"),
    inputs.length ? h("div", { class: "grid-2" }, inputs.map(([p, el]) => h("div", { class: "field" }, h("label", { for: (el.id = `try-${Math.random().toString(36).slice(2, 9)}`) }, `${p.name} (${p.in})`), el))) : null,
    bodyEl ? h("div", { class: "field" }, h("label", null, "Body"), bodyEl) : null,
    send,
    out,
  );
}

// Litestar's generated summaries are handler names ("ListActivity"): say them as words.
function humanize(summary) {
  if (!summary) return "";
  const words = summary.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function firstSentence(text) {
  if (!text) return "";
  const line = text.split("\n")[0];
  const m = line.match(/^(.*?[.:])(\s|$)/);
  return (m ? m[1] : line).replace(/[.:]$/, "");
}

function operation(doc, resolve, path, method, op, getToken) {
  const params = (op.parameters || []).map(resolve);
  const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
  const stream = Object.keys(op.responses?.["200"]?.content || {}).includes("text/event-stream") || path.endsWith("/events") && method === "get";
  const responses = Object.entries(op.responses || {});
  const ok = responses.filter(([code]) => code.startsWith("2"));
  const errors = responses.filter(([code]) => !code.startsWith("2")).map(([code]) => code);
  return h(
    "details",
    { class: "op", dataset: { op: `${method.toUpperCase()} ${path}` } },
    h("summary", null, h("span", { class: `method m-${method}` }, method.toUpperCase()), h("code", { class: "path" }, path), h("span", { class: "muted summary-text" }, firstSentence(op.description) || humanize(op.summary))),
    h(
      "div",
      { class: "op-body" },
      op.description ? h("p", { class: "description" }, op.description) : null,
      params.length
        ? h("div", null, h("h4", null, "Parameters"), h("ul", { class: "schema" }, params.map((p) => h("li", null, h("code", { class: "prop" }, p.name), p.required ? h("span", { class: "req" }, "*") : null, ` ${p.in} · `, h("span", { class: "type" }, typeLabel(p.schema, resolve)), constraints(resolve(p.schema)) ? h("span", { class: "muted small" }, ` (${constraints(resolve(p.schema))})`) : null, p.description ? h("div", { class: "muted small" }, p.description) : null))))
        : null,
      bodySchema ? h("div", null, h("h4", null, "Request body ", h("code", { class: "small" }, typeLabel(bodySchema, resolve))), schemaTree(bodySchema, resolve)) : null,
      ok.map(([code, r]) => {
        const s = r.content?.["application/json"]?.schema;
        return h("div", null, h("h4", null, `Response ${code}`, s ? h("code", { class: "small" }, ` ${typeLabel(s, resolve)}`) : null), r.description ? h("p", { class: "muted small" }, r.description) : null, s ? schemaTree(s, resolve) : null);
      }),
      errors.length ? h("p", { class: "small muted" }, `Errors: ${errors.join(", ")} as {"error": "<text>"}`) : null,
      stream ? h("p", { class: "note" }, "An event stream: see the Live events view (or curl -N).") : tryIt(op, path, method, resolve, getToken),
    ),
  );
}

export function renderDocs(root, doc, { getToken }) {
  const resolve = resolver(doc);
  const search = input({ type: "search", placeholder: "Filter operations (path, summary, tag)", "aria-label": "Filter operations" });
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push({ path, method, op });
    }
  }
  const count = [...groups.values()].reduce((n, ops) => n + ops.length, 0);
  const body = h("div", { class: "ops" });
  const build = () => {
    const f = search.value.trim().toLowerCase();
    clear(body);
    for (const [tag, ops] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      const shown = ops
        .filter(({ path, method, op }) => !f || `${method} ${path} ${op.summary || ""} ${tag}`.toLowerCase().includes(f))
        .sort((a, b) => a.path.localeCompare(b.path) || METHODS.indexOf(a.method) - METHODS.indexOf(b.method));
      if (!shown.length) continue;
      body.append(h("section", { class: "op-group", dataset: { tag } }, h("h2", null, tag), shown.map(({ path, method, op }) => operation(doc, resolve, path, method, op, getToken))));
    }
  };
  search.addEventListener("input", debounce(build, 150));
  build();
  clear(
    root,
    h("header", { class: "view-header" }, h("div", null, h("h1", null, `${doc.info?.title || "API"} ${doc.info?.version || ""}`), h("p", { class: "muted" }, `${count} operations · `, h("a", { href: "/schema/openapi.json" }, "openapi.json"), " · errors are always {\"error\": \"<text>\"}"))),
    h("div", { class: "toolbar" }, search),
    body,
  );
}

export default {
  id: "api",
  title: "API",
  group: "Admin",
  needs: null,
  create(ctx) {
    const el = h("section", null, h("p", { class: "muted" }, "Loading the API schema…"));
    let loaded = false;
    return {
      el,
      render() {},
      async onShow() {
        if (loaded) return;
        loaded = true;
        try {
          const res = await fetch("/schema/openapi.json", { cache: "no-store" });
          renderDocs(el, await res.json(), { getToken: () => ctx.token() });
        } catch (err) {
          loaded = false;
          clear(el, h("p", { class: "error" }, `could not load the schema: ${err.message}`));
        }
      },
    };
  },
};
