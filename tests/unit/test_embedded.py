"""The embedded Redis of `relay dev`."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay_api.embedded import EmbeddedRedis


def test_a_server_that_does_not_answer_in_time_is_not_left_running(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, persistent=False)
    with pytest.raises(RuntimeError, match="did not answer in time"):
        server.start(timeout=0)
    assert server.proc is not None
    assert server.proc.poll() is not None
