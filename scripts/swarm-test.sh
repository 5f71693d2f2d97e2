#!/usr/bin/env bash
# The scale-out test (opt-in, a few minutes; not part of scripts/test.sh): a three-node Docker
# Swarm built from Docker engines in containers, the stack of deploy/swarm deployed on it,
# and a bounded load on 127.0.0.1 while tasks and auth scale up and down, roll a new image,
# lose a drained worker and a killed replica. Every user holds a live event stream through it
# all, reconnecting with Last-Event-ID (and a fresh token) whenever it ends or breaks. Prints,
# per step, requests sent, failed and writes lost, and the stream's events, reconnections and
# changes missed; at the end the tasks rebuilt from each stream must equal the user's list.
# Exits non-zero unless nothing failed, was lost or was missed. See scripts/swarm_chaos.py.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
bash scripts/ensure-docker.sh >&2
images=$(bash scripts/offline-images.sh)
eval "$images"
uv sync --quiet
exec uv run python -m scripts.swarm_chaos "$@"
