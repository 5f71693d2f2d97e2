#!/usr/bin/env bash
# The scale-out test (opt-in, a few minutes; not part of scripts/test.sh): a three-node Docker
# Swarm built from Docker engines in containers, the stack of deploy/swarm deployed on it,
# and a bounded load on 127.0.0.1 while tasks and auth scale up and down, roll a new image,
# lose a drained worker and a killed replica. Prints, per step, requests sent, failed and
# writes lost; exits non-zero unless all are 0. See scripts/swarm_chaos.py.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
bash scripts/ensure-docker.sh >&2
images=$(bash scripts/offline-images.sh)
eval "$images"
uv sync --quiet
exec uv run python -m scripts.swarm_chaos "$@"
