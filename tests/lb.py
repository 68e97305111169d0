"""A TCP load balancer for tests: one URL in front of several API nodes, as in production.

Bytes are copied both ways until either side closes; one side closing ends the other (a dead node
ends the stream a client held through it). Two ways to pick a backend for a new connection:

- round robin (the default): the next backend in turn that accepts it (a dead node is skipped);
- `failover=True`: the first backend, in the order given, that accepts it (nginx with a `backup`
  server): while node A is up everything goes to A; while it is down, to B. That makes "which node
  holds the page's event stream" certain, so a test can restart exactly that node.

`served` records which backend took each connection. `pause()` makes it refuse new connections
(existing ones go on) until `resume()`, so a test can hold a client's reconnect back until it has
created the events that only a `Last-Event-ID` replay can deliver.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading

from relay_api.embedded import free_port


class LoadBalancer:
    def __init__(self, backends: list[int], *, failover: bool = False) -> None:
        self.backends = backends
        self.failover = failover
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.served: list[int] = []
        self._turn = itertools.cycle(range(len(backends)))
        self._accepting = threading.Event()
        self._accepting.set()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> LoadBalancer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping = True
        self._listener.close()
        self._thread.join(timeout=5)

    def pause(self) -> None:
        """Refuse new connections from now on (connections already made go on)."""
        self._accepting.clear()

    def resume(self) -> None:
        self._accepting.set()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._accepting.is_set():
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _order(self) -> list[int]:
        if self.failover:
            return list(self.backends)
        return [self.backends[next(self._turn)] for _ in self.backends]

    def _connect(self) -> socket.socket | None:
        for port in self._order():
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue
            upstream.settimeout(None)
            self.served.append(port)
            return upstream
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream = self._connect()
        if upstream is None:
            client.close()
            return
        done = threading.Event()

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                done.set()

        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        done.wait()
        for s in (client, upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
