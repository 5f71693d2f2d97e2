#!/usr/bin/env bash
# Lint, format check and strict type check of the whole repository, front end included
# (what CI enforces).
# `scripts/lint.sh --fix` applies ruff's fixes and formatting first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-frontend.sh
if [ "${1:-}" = "--fix" ]; then
    uv run ruff check --fix .
    uv run ruff format .
    (cd frontend && npx --no-install prettier --log-level=warn --write . && npx --no-install eslint --fix .)
fi
uv run ruff check .
uv run ruff format --check .
# One mypy run per test tree: each has its own `conftest.py`, which mypy would otherwise
# see as one module defined several times.
uv run mypy shared/todo_shared services/auth/todo_auth services/tasks/todo_tasks scripts bench
for tree in shared/tests services/auth/tests services/tasks/tests "tests conftest.py"; do
    # shellcheck disable=SC2086  # "tests conftest.py" is two paths on purpose
    uv run mypy $tree
done
# The front end: Next.js's ESLint rules, Prettier, and TypeScript's strict check.
(cd frontend && npx --no-install eslint --max-warnings=0 . \
    && npx --no-install prettier --check --log-level=warn . && npx --no-install tsc --noEmit)
