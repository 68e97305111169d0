// What the console knows, kept current by the event stream. Each collection is loaded once over the
// API and then changed by events; views read from here and re-render when it changes.

export class Collection {
  constructor(idOf = (item) => item.id) {
    this.idOf = idOf;
    this.map = new Map();
    this.loaded = false;
    // Which items an event may add (a view with filters narrows it); known items are always updated.
    this.accept = () => true;
  }

  offer(item) {
    if (!item) return;
    if (this.map.has(String(this.idOf(item))) || this.accept(item)) this.upsert(item);
  }

  set(items) {
    this.map = new Map(items.map((item) => [String(this.idOf(item)), item]));
    this.loaded = true;
  }

  upsert(item) {
    if (!item) return;
    this.map.set(String(this.idOf(item)), item);
  }

  remove(id) {
    this.map.delete(String(id));
  }

  get(id) {
    return this.map.get(String(id));
  }

  list() {
    return [...this.map.values()];
  }

  clear() {
    this.map.clear();
    this.loaded = false;
  }
}

export function createStore() {
  return {
    agents: new Collection(),
    orchestrators: new Collection(),
    commands: new Collection(),
    tasks: new Collection(),
    recipes: new Collection((r) => r.name),
    instances: new Collection(),
    automations: new Collection(),
    runs: new Collection(),
    channels: new Collection(),
    pairs: new Collection(),
    integrations: new Collection((i) => i.name),
    deliveries: new Collection(),
    tokens: new Collection((t) => t.jti),
    activity: new Collection(),
  };
}

export const FINAL_COMMAND = new Set(["succeeded", "failed", "timed_out", "rejected", "canceled"]);
export const LIVE_AGENT = new Set(["online", "idle", "busy"]);

// Newest first by a numeric or string key.
export function newest(items, key = "createdAt") {
  return [...items].sort((a, b) => {
    const av = a[key] ?? 0;
    const bv = b[key] ?? 0;
    if (av === bv) return String(b.id).localeCompare(String(a.id), undefined, { numeric: true });
    return av < bv ? 1 : -1;
  });
}
