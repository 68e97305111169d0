// The live event stream. A browser EventSource cannot send an Authorization header, so the stream
// is read with fetch and parsed here (the text/event-stream format: `id:`, `data:`, `retry:` and
// `:` comment lines, blank line ends an event). The last id seen goes back as `Last-Event-ID` on
// every reconnect, so when a node restarts behind the load balancer the next node replays exactly
// what came after it: nothing is lost and nothing is shown twice.

export class EventStream {
  constructor({ getToken, onEvent, onStatus, onUnauthorized, onReset, path = "/api/events" }) {
    this.getToken = getToken;
    this.onReset = onReset;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onUnauthorized = onUnauthorized;
    this.path = path;
    this.lastEventId = null;
    this.retryMs = 2000;
    this.received = 0;
    this.connects = 0;
    this.status = "offline";
    this.abort = null;
    this.running = false;
    this._connected = null;
  }

  // Resolves once the server has registered this client (its `: connected` comment).
  start() {
    if (this.running) return this._connected;
    this.running = true;
    this._connected = new Promise((resolve) => (this._resolveConnected = resolve));
    this._loop();
    return this._connected;
  }

  stop() {
    this.running = false;
    this.abort?.abort();
    this._setStatus("offline");
  }

  _setStatus(status, detail = "") {
    this.status = status;
    this.onStatus?.(status, detail);
  }

  async _loop() {
    let failures = 0;
    while (this.running) {
      this.abort = new AbortController();
      let wait = this.retryMs;
      try {
        const headers = { Authorization: `Bearer ${this.getToken()}`, Accept: "text/event-stream" };
        if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
        const res = await fetch(this.path, { headers, signal: this.abort.signal, cache: "no-store" });
        if (res.status === 401) {
          const body = await res.json().catch(() => ({}));
          this.running = false;
          this._setStatus("offline");
          this.onUnauthorized?.(body.error || "token refused");
          return;
        }
        if (res.status === 400 && this.lastEventId) {
          // The relay does not know our position (another deployment, a wiped store): start over
          // from now and let the app reload what it shows.
          this.lastEventId = null;
          this.onReset?.();
          continue;
        }
        if (!res.ok) {
          const body = await res.json().catch(() => ({}));
          const retryAfter = Number(res.headers.get("Retry-After"));
          if (retryAfter > 0) wait = retryAfter * 1000;
          throw new Error(body.error || `HTTP ${res.status}`);
        }
        await this._read(res.body);
        failures = 0;
        if (this.running) this._setStatus("reconnecting", "the stream ended");
      } catch (err) {
        if (!this.running) return;
        failures += 1;
        this._setStatus("reconnecting", err?.message || String(err));
      }
      // Quick first retry, then the server's `retry:` interval.
      const delay = failures <= 1 ? Math.min(wait, 500) : wait;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async _read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let data = [];
    let id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let nl;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (id !== null) this.lastEventId = id;
          if (data.length) this._dispatch(data.join("\n"), id ?? this.lastEventId);
          data = [];
          id = null;
          continue;
        }
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        let fieldValue = colon < 0 ? "" : line.slice(colon + 1);
        if (fieldValue.startsWith(" ")) fieldValue = fieldValue.slice(1);
        if (name === "") {
          if (fieldValue.trim() === "connected") this._onConnected();
        } else if (name === "data") data.push(fieldValue);
        else if (name === "id") id = fieldValue;
        else if (name === "retry" && /^\d+$/.test(fieldValue)) this.retryMs = Number(fieldValue);
      }
    }
  }

  _onConnected() {
    this.connects += 1;
    this._setStatus("live");
    this._resolveConnected?.();
    this._resolveConnected = null;
  }

  _dispatch(raw, id) {
    let event;
    try {
      event = JSON.parse(raw);
    } catch {
      return;
    }
    this.received += 1;
    this.onEvent?.(event, id);
  }
}
