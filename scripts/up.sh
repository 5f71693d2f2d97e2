#!/usr/bin/env bash
# Bring the whole stack up (http://127.0.0.1:${PROXY_PORT:-8080}) on any machine: makes sure a
# Docker engine and Compose v2 work, uses the official base images or, without a registry,
# local equivalents built from Debian packages, then runs `docker compose up --build`.
# Extra arguments go to compose, e.g. `scripts/up.sh -d` or `scripts/up.sh -d --scale tasks=2`;
# `--profile monitoring` (a flag of compose itself, not of `up`) adds Prometheus and the exporters.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
images="$(bash scripts/offline-images.sh)"
eval "$images"
# Compose builds through the engine's BuildKit; no buildx plugin needed.
export COMPOSE_BAKE="${COMPOSE_BAKE:-false}"
global=() up=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --profile) global+=("$1" "${2:?--profile needs a name}"); shift 2 ;;
        --profile=*) global+=("$1"); shift ;;
        *) up+=("$1"); shift ;;
    esac
done
exec docker compose "${global[@]}" up --build "${up[@]}"
