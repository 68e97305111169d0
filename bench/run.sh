#!/usr/bin/env bash
# Every benchmark of issue 17 in one command: wrk against one relay node and the bare Litestar
# baseline (bench/wrk_bench.py), SSE fan-out latency, and with --scale the 1k/100k-agent and
# 10k/1M-message comparison (bench/scale_bench.py). Writes bench/RESULTS.md and prints it.
#   bash bench/run.sh [--scale] [wrk_bench options: --seconds 5 --rounds 3 --connections 50 --only send]
# Everything it starts (redis-server, the nodes, wrk) is on free ports and stopped at the end; each
# part has a time limit, so a hang ends the run instead of holding it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is not installed (apt-get install -y wrk)" >&2
    exit 2
  fi
fi

scale=0
args=()
for a in "$@"; do
  if [ "$a" = --scale ]; then scale=1; else args+=("$a"); fi
done

# Children die with the run: the Python drivers stop what they started on SIGTERM, and
# `timeout` sends it when a part overruns.
timeout --kill-after=20 600 "$PY" -m bench.wrk_bench "${args[@]}"
if [ "$scale" = 1 ]; then
  timeout --kill-after=20 600 "$PY" -m bench.scale_bench --append bench/RESULTS.md
fi
