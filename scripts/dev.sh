#!/usr/bin/env bash
# Set up and run a whole relay on this machine: API node + worker + embedded Redis (data in ~/.agent-relay).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/relay dev "$@"
