#!/usr/bin/env bash
# Regenerate the committed API contract: openapi/{auth,tasks}.json from the apps (offline:
# no server, no database), then the TypeScript client's types from those documents, then
# type-check the client. Run after changing a route, a schema or a status; commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."

uv run --quiet python -m scripts.openapi
cd clients/typescript
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent generate
npm run --silent typecheck
