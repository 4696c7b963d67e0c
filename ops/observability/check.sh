#!/usr/bin/env bash
# Offline checks of the observability files in this folder:
#   promtool check config prometheus.yml   (with a throwaway token file beside it,
#                                           and once more with the Kubernetes job enabled)
#   promtool check rules alerts.yml
#   promtool test rules alerts_test.yml     (the alerts against synthetic series)
#   grafana-dashboard.json is valid JSON and every panel queries the ${DS_PROMETHEUS} source
#   otel-collector.yaml is valid YAML whose pipelines use only components it defines
#
# promtool comes from Debian's `prometheus` package, installed when missing (as root, or
# with sudo) without letting the package start a Prometheus server. If the package cannot
# be installed, promtool alone is taken out of it into target/promtool/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

say() { printf -- '--- %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# A server that the package's maintainer scripts started anyway (no policy-rc.d, or a
# booted systemd) is stopped and disabled: we only want promtool.
stop_packaged_server() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if systemctl is-active --quiet prometheus 2>/dev/null \
      || systemctl is-enabled --quiet prometheus 2>/dev/null; then
      say "stopping and disabling the prometheus service the package started"
      as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
  fi
  if [ -f /run/prometheus/prometheus.pid ] && [ -x /etc/init.d/prometheus ]; then
    say "stopping the prometheus server the package started"
    as_root /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
}

install_promtool() {
  export DEBIAN_FRONTEND=noninteractive
  say "installing Debian's prometheus package (for promtool)"
  as_root apt-get update -qq
  # policy-rc.d answering 101 forbids invoke-rc.d and deb-systemd-invoke to start the
  # service during the install. Docker images ship one; elsewhere put one there for the
  # install only.
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# hearth ops/observability/check.sh: no service starts while installing promtool\nexit 101\n' \
      | as_root tee "$guard" >/dev/null
    as_root chmod 755 "$guard"
    trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local ok=0
  as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null || ok=$?
  if [ -n "$guard" ]; then
    as_root rm -f "$guard"
    trap - EXIT
  fi
  stop_packaged_server
  if [ "$ok" -eq 0 ] && command -v promtool >/dev/null 2>&1; then
    return 0
  fi

  # Fallback: only the promtool binary, unpacked from the package, nothing installed.
  say "apt-get install prometheus failed; unpacking promtool alone from the package"
  local tmp
  tmp="$(mktemp -d)"
  chmod 777 "$tmp" # apt downloads as the _apt user, who must be able to write there
  (cd "$tmp" && apt-get download prometheus >/dev/null)
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool
  mkdir -p "$root/target/promtool"
  mv "$tmp/usr/bin/promtool" "$root/target/promtool/promtool"
  rm -rf "$tmp"
}

promtool=""
if command -v promtool >/dev/null 2>&1; then
  promtool=promtool
elif [ -x "$root/target/promtool/promtool" ]; then
  promtool="$root/target/promtool/promtool"
else
  install_promtool
  if command -v promtool >/dev/null 2>&1; then
    promtool=promtool
  else
    promtool="$root/target/promtool/promtool"
  fi
fi
say "$("$promtool" --version 2>&1 | head -n1)"

# promtool checks that credentials_file exists, and resolves it (and rule_files) next to
# the config file: check a copy with a dummy token beside it.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp prometheus.yml alerts.yml "$work/"
echo "dummy-metrics-token" > "$work/hearth-metrics-token"

say "promtool check config prometheus.yml"
"$promtool" check config "$work/prometheus.yml"

# The Kubernetes job is commented out (it needs a cluster); check it uncommented too.
sed -e 's/^  # k8s: \{0,1\}/  /' prometheus.yml > "$work/prometheus-k8s.yml"
if cmp -s prometheus.yml "$work/prometheus-k8s.yml"; then
  echo "prometheus.yml has no '# k8s:' lines to check" >&2
  exit 1
fi
say "promtool check config prometheus.yml (Kubernetes job enabled)"
# Debian builds Prometheus without the Kubernetes service discovery: there, only check
# that the uncommented job is YAML (below, with the collector config).
k8s_checked=0
if out="$("$promtool" check config "$work/prometheus-k8s.yml" 2>&1)"; then
  echo "$out"
  k8s_checked=1
elif echo "$out" | grep -q "field kubernetes_sd_configs not found"; then
  echo "this promtool has no Kubernetes service discovery (Debian's build): YAML check only"
else
  echo "$out" >&2
  exit 1
fi

say "promtool check rules alerts.yml"
"$promtool" check rules alerts.yml

say "promtool test rules alerts_test.yml"
"$promtool" test rules alerts_test.yml

say "grafana-dashboard.json"
python3 -m json.tool grafana-dashboard.json >/dev/null
python3 - grafana-dashboard.json <<'EOF'
import json, sys

dash = json.load(open(sys.argv[1]))
problems = []
panels = []
for p in dash["panels"]:
    panels.append(p)
    panels.extend(p.get("panels", []))  # collapsed rows keep their panels inside
ids = [p["id"] for p in panels]
if len(ids) != len(set(ids)):
    problems.append("duplicate panel ids")
queries = 0
for p in panels:
    if p["type"] == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
        problems.append(f"panel {p['title']!r}: datasource is not ${{DS_PROMETHEUS}}")
    if not p.get("targets"):
        problems.append(f"panel {p['title']!r}: no queries")
    for t in p.get("targets", []):
        queries += 1
        if not t.get("expr"):
            problems.append(f"panel {p['title']!r}: empty query")
names = [v["name"] for v in dash["templating"]["list"]]
if "DS_PROMETHEUS" not in names:
    problems.append("no DS_PROMETHEUS datasource variable")
if problems:
    sys.exit("grafana-dashboard.json: " + "; ".join(problems))
print(f"{len(panels)} panels, {queries} queries, schemaVersion {dash['schemaVersion']}")
EOF

# Every PromQL query of the dashboard must at least parse: promtool has no query linter
# that works offline, so wrap each one in a recording rule and let `check rules` parse it.
python3 - grafana-dashboard.json "$work/dashboard-rules.yml" <<'EOF'
import json, re, sys

dash = json.load(open(sys.argv[1]))
rules = []
for p in dash["panels"]:
    for q in [p] + p.get("panels", []):
        for t in q.get("targets", []):
            # Grafana variables and built-ins become something PromQL accepts.
            expr = t["expr"].replace("$__rate_interval", "5m").replace("$__range", "1h")
            expr = re.sub(r"\$\{?instance\}?", ".*", expr)
            rules.append({"record": f"dashboard:panel_{q['id']}:{t['refId']}", "expr": expr})
with open(sys.argv[2], "w") as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, indent=1)
EOF
"$promtool" check rules "$work/dashboard-rules.yml" >/dev/null
echo "every dashboard query parses"

say "YAML checks (Kubernetes scrape job, otel-collector.yaml)"
# PyYAML: Debian's python3-yaml, or the venv ops/lint.sh makes (kubernetes-validate needs it).
py=""
for candidate in python3 "$root/.venv/ops/bin/python"; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
    py="$candidate"
    break
  fi
done
if [ -z "$py" ]; then
  say "installing python3-yaml"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null
  py=python3
fi
if [ "$k8s_checked" -eq 0 ]; then
  "$py" - "$work/prometheus-k8s.yml" <<'EOF'
import sys, yaml

jobs = {j["job_name"]: j for j in yaml.safe_load(open(sys.argv[1]))["scrape_configs"]}
k8s = jobs["hearth-kubernetes"]
assert k8s["kubernetes_sd_configs"][0]["role"] == "pod", k8s
assert {"target_label": "job", "replacement": "hearth"} in k8s["relabel_configs"], k8s
print("Kubernetes job parses: " + ", ".join(sorted(jobs)))
EOF
fi
"$py" - otel-collector.yaml <<'EOF'
import sys, yaml

c = yaml.safe_load(open(sys.argv[1]))
problems = []
for kind in ("receivers", "processors", "exporters"):
    if not c.get(kind):
        problems.append(f"no {kind}")
pipelines = c["service"]["pipelines"]
if "traces" not in pipelines:
    problems.append("no traces pipeline")
for name, p in pipelines.items():
    for kind in ("receivers", "processors", "exporters"):
        for component in p.get(kind, []):
            if component not in (c.get(kind) or {}):
                problems.append(f"pipeline {name}: {kind[:-1]} {component} is not defined")
    procs = p.get("processors", [])
    if procs and procs[0] != "memory_limiter":
        problems.append(f"pipeline {name}: memory_limiter must come first")
http = c["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
if http != "127.0.0.1:4318":
    problems.append(f"OTLP/HTTP receiver listens on {http}, not 127.0.0.1:4318")
if problems:
    sys.exit("otel-collector.yaml: " + "; ".join(problems))
print("pipelines: " + ", ".join(f"{n} ({' -> '.join(p['receivers'] + p.get('processors', []) + p['exporters'])})" for n, p in pipelines.items()))
EOF

say "observability files ok"
