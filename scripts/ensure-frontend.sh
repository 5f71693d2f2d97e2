#!/usr/bin/env bash
# The front end's locked npm dependencies (its lint, formatter and type checker, axe-core for
# the browser tests), installed with npm ci, and again only when the lock (or the typed client
# it installs a copy of) changed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "ensure-frontend: npm is missing (apt-get install -y npm)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >&2; }
fi
stamp=frontend/node_modules/.todo-inputs
inputs="$(cat frontend/package-lock.json clients/typescript/package.json clients/typescript/src/*.ts \
    clients/typescript/src/generated/*.ts | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$inputs" ]; then
    echo "ensure-frontend: npm ci in frontend/" >&2
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error) >&2
    printf '%s\n' "$inputs" > "$stamp"
fi
