#!/usr/bin/env bash
# Run every test (unit, service, e2e through the proxy, benchmark smoke) on this machine.
# Works on a fresh machine: prepares uv, a Docker engine, (without a registry) local images,
# and the browser tests' Chromium.
# Extra arguments go to pytest, e.g. `scripts/test.sh services/tasks -k paging`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
bash scripts/ensure-docker.sh >&2
images=$(bash scripts/offline-images.sh)
eval "$images"
export TESTCONTAINERS_RYUK_DISABLED=true
# The Kubernetes manifests are rendered with kubectl's kustomize (client only, no cluster).
KUBECTL="$(bash scripts/ensure-kubectl.sh)"
export KUBECTL
# The Prometheus rules are tested with promtool (unpacked from Debian's prometheus package).
PROMTOOL="$(bash scripts/ensure-promtool.sh)"
export PROMTOOL
uv sync --quiet
# tests/test_openapi.py runs the TypeScript client's own generator and compiler.
if [ ! -d clients/typescript/node_modules ]; then
    (cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
# The browser tests: Debian's Chromium and the front end's npm dependencies (axe-core).
bash scripts/ensure-browser.sh

status=0
uv run pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$status"
