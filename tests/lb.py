"""A TCP load balancer for the browser tests: the page talks to it, it talks to the API nodes.

Each client connection goes to the first backend, in the order given, that accepts it (ordered
failover, as nginx does with a `backup` server): while node A is up everything goes to A; while it
is down, to B. That makes "which node holds the page's event stream" certain, so a test can restart
exactly that node. SIGUSR1 makes it refuse new connections (existing ones go on) and SIGUSR2 lets
them in again, so a test can hold the page's reconnect back until it has created the events that
only a `Last-Event-ID` replay can deliver.

Run: `python -m tests.lb --port P --backend 127.0.0.1:A --backend 127.0.0.1:B`; prints `ready`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal


class Balancer:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.accepting = True

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if not self.accepting:
            client_w.close()
            return
        for host, port in self.backends:
            try:
                backend_r, backend_w = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
                break
            except (OSError, TimeoutError):
                continue
        else:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, backend_w), self._pipe(backend_r, client_w))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # One side closing ends the connection on the other (a dead node ends the page's stream).
            with contextlib.suppress(OSError):
                writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True)
    args = parser.parse_args()
    backends = [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in args.backend]
    lb = Balancer(backends)
    loop = asyncio.get_running_loop()

    def accept(on: bool) -> None:
        lb.accepting = on
        print("resumed" if on else "paused", flush=True)  # the test waits for this line

    loop.add_signal_handler(signal.SIGUSR1, accept, False)
    loop.add_signal_handler(signal.SIGUSR2, accept, True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(lb.handle, "127.0.0.1", args.port)
    print("ready", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
