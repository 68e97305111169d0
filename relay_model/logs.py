"""Process logging for `relay serve` and `relay worker`: one JSON object per line, or plain text.

JSON lines carry `ts` (ms since epoch), `level`, `logger`, `msg`, the request id of the HTTP request
being served (`requestId`, from relay_api/request_context.py) when there is one, structured fields a
record was given as `extra={"relay": {...}}` (the reaper's `reaper.pass`, the access log) under
`data`, and a traceback under `exc`. `AGENT_RELAY_LOG_FORMAT=text` gives the classic one-liner.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

import msgspec

# The id of the request this task serves; set by the API's request-context middleware.
REQUEST_ID: ContextVar[str | None] = ContextVar("relay_request_id", default=None)

_encode = msgspec.json.Encoder().encode
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_INSTALLED = "_relay_log_handler"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": int(record.created * 1000),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["requestId"] = request_id
        data = getattr(record, "relay", None)
        if isinstance(data, dict):
            line["data"] = data
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return _encode(line).decode(errors="replace")


def configure(log_format: str = "json", level: int | str = logging.INFO) -> None:
    """Send every logger (the relay's, uvicorn's, arq's) to stderr in one format. Safe to call again."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _INSTALLED, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    setattr(handler, _INSTALLED, True)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers come with handlers of their own when it configures logging; let them propagate.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
