#!/usr/bin/env bash
# Every benchmark of issue 17 in one command (~7 minutes): wrk against one relay node and the bare
# Litestar baseline (bench/wrk_bench.py), SSE fan-out latency, then the 1k/100k-agent and
# 10k/1M-message comparison (bench/scale_bench.py; --no-scale skips it). Writes bench/RESULTS.md
# and prints it.
#   bash bench/run.sh [--no-scale] [wrk_bench options: --seconds 5 --rounds 3 --connections 50 --no-sse]
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

scale=1
args=()
for a in "$@"; do
  if [ "$a" = --no-scale ]; then scale=0; else args+=("$a"); fi
done

# Children die with the run: the Python drivers stop what they started on SIGTERM, and
# `timeout` sends it when a part overruns.
timeout --kill-after=20 600 "$PY" -m bench.wrk_bench "${args[@]}"
if [ "$scale" = 1 ]; then
  timeout --kill-after=20 420 "$PY" -m bench.scale_bench --append bench/RESULTS.md
fi
