"""The retention caps the overlays run with fit the Redis that holds the data, by the README's sizing
table (Retention and sizing): records times bytes each stays under `maxmemory` / 1.5, the headroom the
README asks for. Otherwise a `noeviction` Redis refuses writes long before retention makes room."""

from __future__ import annotations

import re

from relay_model.settings import Settings
from tests.deploy.test_manifests import config, one, render

# Bytes per item at 100k items, from the README's sizing table (python -m bench.memory_bench).
BYTES = {"message": 1422, "activity": 670, "final_task": 1128, "event": 232}
EVENT_STREAMS = 4


def _maxmemory_bytes(redis_conf: str) -> int:
    match = re.search(r"^\s*maxmemory\s+(\d+)mb\s*$", redis_conf, re.MULTILINE)
    assert match, redis_conf
    return int(match.group(1)) * 1024 * 1024


def test_dev_retention_caps_fit_its_in_cluster_redis() -> None:
    docs = render("dev")
    assert "REDIS_URL_FILE" not in config(docs)  # dev keeps its data in the in-cluster Redis
    env = config(docs)
    defaults = Settings()
    messages = int(env.get("AGENT_RELAY_MESSAGE_MAX", defaults.message_max))
    activity = int(env.get("AGENT_RELAY_ACTIVITY_MAX", defaults.activity_max))
    tasks = int(env.get("AGENT_RELAY_TASK_MAX", defaults.task_max))
    events = EVENT_STREAMS * int(env.get("AGENT_RELAY_EVENT_RETENTION", defaults.event_stream_maxlen))
    assert min(messages, activity, tasks) > 0, "a cap of 0 is no cap"
    estimate = (
        messages * BYTES["message"]
        + activity * BYTES["activity"]
        + tasks * BYTES["final_task"]
        + events * BYTES["event"]
    )
    maxmemory = _maxmemory_bytes(one(docs, "ConfigMap", "agent-relay-redis")["data"]["redis.conf"])
    assert estimate <= maxmemory / 1.5, (
        f"{estimate / 2**20:.0f} MiB of records for maxmemory {maxmemory / 2**20:.0f} MiB"
    )
