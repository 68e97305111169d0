"""Pure helpers: the seed's query-integer rule, JSON size limits, event parsing and SSE filters."""

from __future__ import annotations

import pytest

from relay_api.sse import type_filter
from relay_model.errors import Invalid
from relay_model.events import Cursor, Event, parse_published
from relay_model.validation import check_json_size, parse_limit, parse_since


def test_parse_limit_and_since_follow_the_seed() -> None:
    assert parse_limit(None, 100) == 100 and parse_limit("", 100) == 100 and parse_limit("500", 100) == 500
    for bad in ("0", "501", "-1", "1.5", "abc", "9" * 30):
        with pytest.raises(Invalid, match=r"^limit must be an integer between 1 and 500$"):
            parse_limit(bad, 100)
    assert parse_since("0") == 0 and parse_since(str(2**53 - 1)) == 2**53 - 1
    for bad in ("-1", "x", str(2**53)):
        with pytest.raises(Invalid, match=r"^since must be a non-negative integer$"):
            parse_since(bad)


def test_json_size_limit() -> None:
    check_json_size({"a": "x" * 65_000}, "params")
    check_json_size(None, "params")
    with pytest.raises(Invalid, match=r"^params is too large$"):
        check_json_size({"a": "x" * 65_536}, "params")
    deep: dict[str, object] = {}
    inner = deep
    for _ in range(63):
        inner["a"] = inner = {}
    check_json_size(deep, "meta")
    inner["a"] = [[]]
    with pytest.raises(Invalid, match=r"^meta is nested too deeply \(at most 64 levels\)$"):
        check_json_size(deep, "meta")


def test_published_payload_parsing() -> None:
    event = parse_published('bus\n1-0\nagent.status\n"a\\nb"\n"s"\n{"x":1}')
    assert event == Event("bus", "1-0", "agent.status", "a\nb", "s", '{"x":1}')
    assert event.ts == 1
    assert parse_published("bus\n1-0\nx") is None
    assert parse_published('bus\n1-0\nx\nnot json\n"s"\n{}') is None


def test_cursor_parsing_and_encoding() -> None:
    assert Cursor.parse(None) is None
    parsed = Cursor.parse("bus=1-0,cmd=5-2")
    assert parsed is not None and parsed.positions == {"bus": "1-0", "cmd": "5-2"}
    for bad in ("bus", "nope=1-0", "bus=x-y", "bus=1-0,,"):
        assert Cursor.parse(bad) is None, bad
    assert Cursor({"cmd": "2-0", "bus": "1-0"}).encode() == "bus=1-0,cmd=2-0"
    cursor = Cursor({"bus": "5-1"})
    assert cursor.seen(Event("bus", "5-0", "t", "s", "j", "{}"))
    assert not cursor.seen(Event("bus", "5-2", "t", "s", "j", "{}"))
    assert not cursor.seen(Event("cmd", "1-0", "t", "s", "j", "{}"))


def test_type_filter() -> None:
    def ev(type_: str, source: str = "s", subject: str = "j", data: str = "{}") -> Event:
        return Event("bus", "1-0", type_, source, subject, data)

    accepts = type_filter(["agent.*", "message.created"], None)
    assert accepts(ev("agent.status")) and accepts(ev("message.created"))
    assert not accepts(ev("message.claimed"))
    by_agent = type_filter([], "a1")
    assert by_agent(ev("x", source="a1")) and by_agent(ev("x", subject="a1"))
    assert by_agent(ev("x", data='{"message":{"to":"a1"}}')) and not by_agent(ev("x", data='{"to":"a10"}'))


def test_agent_filter_matches_escaped_ids_in_data() -> None:
    odd = 'qu"ote\n'
    accepts = type_filter([], odd)
    data = '{"message":{"to":' + '"qu\\"ote\\n"' + "}}"
    assert accepts(Event("bus", "1-0", "message.created", "x", "1", data))
    assert not accepts(Event("bus", "1-0", "message.created", "x", "1", '{"to":"quote"}'))
