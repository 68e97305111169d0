// The relay's HTTP API with the signed-in token. A failure throws ApiError carrying the server's
// `{"error": …}` text, which the views show inline next to what failed.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function query(params) {
  if (!params) return "";
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function seg(value) {
  return encodeURIComponent(String(value));
}

export function createApi({ getToken, onUnauthorized }) {
  async function request(method, path, { params, body } = {}) {
    const headers = { Authorization: `Bearer ${getToken()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path + query(params), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, "the relay cannot be reached (network error)");
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const message = (data && typeof data.error === "string" && data.error) || `HTTP ${res.status}`;
      if (res.status === 401) onUnauthorized?.(message);
      throw new ApiError(res.status, message, data);
    }
    return data;
  }
  return {
    get: (path, params) => request("GET", path, { params }),
    post: (path, body = {}, params) => request("POST", path, { body, params }),
    patch: (path, body) => request("PATCH", path, { body }),
    put: (path, body) => request("PUT", path, { body }),
    del: (path) => request("DELETE", path),
  };
}
