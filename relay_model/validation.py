"""Validation limits and the constrained types request bodies are built from.

The texts of errors that the seed spells out are produced here (`limit must be an integer between
1 and 500`, `params is too large`, …); the API's error translator words the rest in the same style.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

import msgspec
from msgspec import Meta

from relay_model.errors import Invalid

AgentStatus = Literal["online", "idle", "busy", "stale", "offline"]
AgentKind = Literal["provider", "channel", "orchestrator", "system", "user"]
MessageKind = Literal["chat", "channel.event", "task", "pair", "control", "system"]
ActivityKind = Literal["message", "reply", "question", "operator", "pair", "task", "state"]

AGENT_STATUSES: Final[tuple[str, ...]] = get_args(AgentStatus)
ACTIVITY_KINDS: Final[tuple[str, ...]] = get_args(ActivityKind)

MAX_JSON_FIELD_CHARS: Final = 65_536
MAX_LIST_ITEMS: Final = 100
# Objects and arrays inside a free-form JSON field (meta, payload, metadata, params).
MAX_JSON_DEPTH: Final = 64
# JavaScript's Number.MAX_SAFE_INTEGER: the seed's bound for ids and cursors.
MAX_SAFE_INT: Final = 2**53 - 1

Id = Annotated[str, Meta(min_length=1, max_length=240)]
Name = Annotated[str, Meta(max_length=240)]
Label = Annotated[str, Meta(max_length=120)]
ShortText = Annotated[str, Meta(max_length=80)]
Path = Annotated[str, Meta(max_length=500)]
Subject = Annotated[str, Meta(max_length=500)]
Body = Annotated[str, Meta(max_length=65_536)]
Tag = Annotated[str, Meta(min_length=1, max_length=80)]
TagList = Annotated[list[Tag], Meta(max_length=MAX_LIST_ITEMS)]
PositiveInt = Annotated[int, Meta(ge=1, le=MAX_SAFE_INT)]
NonNegativeInt = Annotated[int, Meta(ge=0, le=MAX_SAFE_INT)]
JsonObject = dict[str, Any]
# A time to live (task claims, pairs). Deadlines are computed in Lua doubles and printed with 14
# significant digits: keep them exact.
MAX_TTL_MS: Final = 30 * 24 * 3600 * 1000
TtlMs = Annotated[int, Meta(ge=1, le=MAX_TTL_MS)]

_encoder = msgspec.json.Encoder()


def check_json_size(value: Any, field: str, limit: int = MAX_JSON_FIELD_CHARS) -> None:
    """The seed's `cleanParams` rule: an object whose JSON encoding exceeds the limit is refused.

    Nesting is bounded too: a document that decodes at the edge of Python's recursion limit on the
    way in would fail to decode later, inside a response or an event envelope.
    """
    if value is None:
        return
    if len(_encoder.encode(value)) > limit:
        raise Invalid(f"{field} is too large")
    if not _depth_within(value, MAX_JSON_DEPTH):
        raise Invalid(f"{field} is nested too deeply (at most {MAX_JSON_DEPTH} levels)")


def _depth_within(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def parse_query_int(raw: str | None, *, field: str, lo: int, hi: int, text: str) -> int | None:
    """The seed's `parseQueryInt`: absent is None; anything but an integer in range is `text`."""
    if raw is None or raw == "":
        return None
    stripped = raw.strip()
    if not stripped.lstrip("-").isdigit() or len(stripped) > 20:
        raise Invalid(text)
    value = int(stripped)
    if value < lo or value > hi:
        raise Invalid(text)
    return value


def parse_limit(raw: str | None, default: int, hi: int = 500) -> int:
    value = parse_query_int(raw, field="limit", lo=1, hi=hi, text=f"limit must be an integer between 1 and {hi}")
    return default if value is None else value


def parse_since(raw: str | None) -> int | None:
    return parse_query_int(raw, field="since", lo=0, hi=MAX_SAFE_INT, text="since must be a non-negative integer")


def required_text(value: str, field: str) -> str:
    """The value without surrounding blanks; `<field> required` when nothing is left."""
    text = value.strip()
    if not text:
        raise Invalid(f"{field} required")
    return text


def clean_positive_int(value: Any, field: str) -> int | None:
    """The seed's optional positive integers (`ttlMs`, `ttlSeconds`): absent (UNSET) is None; anything
    else, null included, must be a safe integer above zero (1.0 counts: one number type in JSON)."""
    if value is msgspec.UNSET:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SAFE_INT:
        raise Invalid(f"{field} must be a positive integer")
    return value
