"""The one exception the client raises."""

from __future__ import annotations

from typing import Any


class RelayError(Exception):
    """A call that did not succeed.

    `status` is the HTTP status (0 when no response arrived: the relay could not be reached or the
    connection broke), `error` the relay's own text (its `{"error": ...}` body, or a description of
    the transport failure), `body` the decoded response body (JSON value or text; None without one),
    `retry_after` the seconds the relay asked to wait (its `Retry-After`, on 429 and 503).
    """

    def __init__(self, status: int, error: str, body: Any = None, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {error}" if status else error)
        self.status = status
        self.error = error
        self.body = body
        self.retry_after = retry_after

    @property
    def unreachable(self) -> bool:
        """No HTTP answer at all (connection refused, broken, timed out)."""
        return self.status == 0

    def __reduce__(self) -> tuple[type[RelayError], tuple[int, str, Any, float | None]]:
        return (RelayError, (self.status, self.error, self.body, self.retry_after))
