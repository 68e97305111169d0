"""`GET /api/automations/schedule/preview`: the next runs of a cron schedule, as the workers compute them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from relay_model.relay import Relay

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/automations/schedule/preview"
# 2026-03-28 06:00:00 UTC, a Saturday, the day before Europe/Berlin moves to summer time.
AFTER = int(datetime(2026, 3, 28, 6, 0, tzinfo=UTC).timestamp() * 1000)


def ms(*args: int, tz: str = "UTC") -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(tz)).timestamp() * 1000)  # type: ignore[misc]


async def test_next_runs_in_a_time_zone_across_a_dst_change(client: Client) -> None:
    r = await client.get(URL, params={"cron": "0 9 * * *", "timezone": "Europe/Berlin", "count": 3, "after": AFTER})
    assert r.status_code == 200
    assert r.json() == {
        "cron": "0 9 * * *",
        "timezone": "Europe/Berlin",
        "after": AFTER,
        "runs": [ms(2026, 3, 28, 9, tz="Europe/Berlin"), ms(2026, 3, 29, 9, tz="Europe/Berlin"), ms(2026, 3, 30, 9, tz="Europe/Berlin")],
    }
    # 09:00 Berlin is 08:00 UTC before the change and 07:00 UTC after it.
    assert [datetime.fromtimestamp(t / 1000, UTC).hour for t in r.json()["runs"]] == [8, 7, 7]


async def test_defaults_seconds_field_and_utc(client: Client) -> None:
    r = await client.get(URL, params={"cron": "*/10  * * * * *", "after": AFTER})
    body = r.json()
    assert r.status_code == 200 and body["cron"] == "*/10 * * * * *" and body["timezone"] == "UTC"
    assert body["runs"] == [AFTER + 10_000 * i for i in range(1, 6)]
    weekdays = (await client.get(URL, params={"cron": "30 8 * * 1-5", "after": AFTER, "count": 2})).json()["runs"]
    assert weekdays == [ms(2026, 3, 30, 8, 30), ms(2026, 3, 31, 8, 30)]  # skips the weekend


async def test_it_agrees_with_what_an_automation_schedules(client: Client) -> None:
    body = {"name": "p", "trigger": {"type": "schedule", "cron": "15 */2 * * *", "timezone": "Asia/Kolkata"}, "action": {"type": "message", "message": {"from": "system", "to": "user", "body": "x"}}}
    auto = (await client.post("/api/automations", json=body)).json()
    preview = (await client.get(URL, params={"cron": "15 */2 * * *", "timezone": "Asia/Kolkata", "count": 1, "after": auto["createdAt"]})).json()
    assert preview["runs"] == [auto["nextRunAt"]]


async def test_bad_input_is_a_400_with_the_reason_and_stores_nothing(client: Client, relay: Relay) -> None:
    before = await relay.redis.dbsize()
    cases = [
        ({}, "cron required"),
        ({"cron": "   "}, "cron required"),
        ({"cron": "* * *"}, "cron must have 5 fields, or 6 with seconds first"),
        ({"cron": "61 * * * *"}, "cron is not a valid cron expression: 61 * * * *"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone is not a known time zone: Mars/Olympus"),
        ({"cron": "* * * * *", "count": 0}, "count must be an integer between 1 and 50"),
        ({"cron": "* * * * *", "count": 51}, "count must be an integer between 1 and 50"),
        ({"cron": "* * * * *", "count": "five"}, "count must be an integer between 1 and 50"),
        ({"cron": "* * * * *", "after": -1}, "after must be a non-negative integer"),
        ({"cron": "x" * 201}, "cron must be at most 200 characters"),
    ]
    for params, text in cases:
        r = await client.get(URL, params=params)
        assert (r.status_code, r.json()) == (400, {"error": text}), params
    assert await relay.redis.dbsize() == before


async def test_it_is_scoped_like_the_other_automation_reads(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json", headers={"Authorization": ""})).json()
    op = schema["paths"][URL]["get"]
    assert {p["name"] for p in op["parameters"]} == {"cron", "timezone", "count", "after"}
    assert "200" in op["responses"] and "400" in op["responses"]
    r = await client.get(URL, params={"cron": "* * * * *"}, headers={"Authorization": ""})
    assert (r.status_code, r.json()) == (401, {"error": "authentication required"})
