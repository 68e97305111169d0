"""Wall-clock time in the wire format (ms since the epoch)."""

import time


def now_ms() -> int:
    return int(time.time() * 1000)
