#!/usr/bin/env bash
# What the browser tests (tests/e2e/test_browser.py) need beyond the Python workspace, installed
# once and then skipped: Debian's Chromium (Playwright drives it through executable_path; its
# own browser download is never used) and the front end's locked npm dependencies (axe-core,
# scripts/ensure-frontend.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'ensure-browser: %s\n' "$*" >&2; }

apt_install() {
    [ "$(id -u)" = 0 ] || { log "ERROR: installing $* needs root (apt-get install -y $*)"; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; }
}

if ! command -v chromium >/dev/null 2>&1; then
    log "installing Debian's chromium"
    apt_install chromium
fi
bash scripts/ensure-frontend.sh
