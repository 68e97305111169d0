// Service worker: the console's shell works offline and installs as an app. It caches the static
// shell ONLY: requests to /api (data, the event stream) and /schema always go to the network and are
// never stored, so no agent, message or token record is ever kept on the device by this worker.
const CACHE = "agent-relay-shell-v2";
const SHELL = [
  "/",
  "/index.html",
  "/style.css",
  "/manifest.webmanifest",
  "/icon.svg",
  "/icon-192.png",
  "/icon-512.png",
  "/icon-maskable-512.png",
  "/js/app.js",
  "/js/api.js",
  "/js/dom.js",
  "/js/store.js",
  "/js/stream.js",
  "/js/docs-page.js",
  "/js/views/index.js",
  "/js/views/common.js",
  "/js/views/spawn.js",
  "/js/views/agents.js",
  "/js/views/orchestrators.js",
  "/js/views/messages.js",
  "/js/views/tasks.js",
  "/js/views/commands.js",
  "/js/views/recipes.js",
  "/js/views/automations.js",
  "/js/views/channels.js",
  "/js/views/pairs.js",
  "/js/views/integrations.js",
  "/js/views/tokens.js",
  "/js/views/activity.js",
  "/js/views/events.js",
  "/js/views/system.js",
  "/js/views/api.js",
];
const SHELL_PATHS = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// Network first, so a new release shows at once; the cached shell when the relay is unreachable.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!SHELL_PATHS.has(url.pathname)) return; // /api, /schema and anything else: untouched
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname).then((hit) => hit || caches.match("/index.html"))),
  );
});
