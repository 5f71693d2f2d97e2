#!/usr/bin/env bash
# Refresh the committed, host-free lock from a fresh resolution.
#
# uv.lock names the package index on every line, so it stays untracked. What is committed
# instead: exact pins of the whole resolved set in the root pyproject's
# [tool.uv] constraint-dependencies (so `uv sync` on a fresh clone resolves the same
# versions), and one hash-pinned requirements file per service for the image builds.
set -euo pipefail
cd "$(dirname "$0")/.."

rm -f uv.lock
# Resolve without the old pins so upgrades are possible, then write the new pins.
python3 - <<'PY'
import re, pathlib
p = pathlib.Path("pyproject.toml")
text = p.read_text()
text = re.sub(r"constraint-dependencies = \[.*?\]", "constraint-dependencies = []", text, flags=re.S)
p.write_text(text)
PY
uv lock --upgrade --quiet
python3 - <<'PY'
import pathlib, re, tomllib
lock = tomllib.loads(pathlib.Path("uv.lock").read_text())
pins = sorted(
    f'"{pkg["name"]}=={pkg["version"]}"'
    for pkg in lock["package"]
    if "registry" in pkg.get("source", {})
)
p = pathlib.Path("pyproject.toml")
block = "constraint-dependencies = [\n" + "".join(f"    {pin},\n" for pin in pins) + "]"
p.write_text(re.sub(r"constraint-dependencies = \[.*?\]", block, p.read_text(), flags=re.S))
PY
uv lock --quiet
for service in auth tasks; do
    uv export --quiet --frozen --no-dev --no-emit-workspace --no-header --package "todo-$service" \
        --output-file "services/$service/requirements.lock"
done
if grep -lE 'https?://' services/*/requirements.lock pyproject.toml; then
    echo "lock: a committed lock names a URL" >&2
    exit 1
fi
echo "lock: $(grep -c '==' pyproject.toml) pins written"
