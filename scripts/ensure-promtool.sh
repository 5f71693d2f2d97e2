#!/usr/bin/env bash
# Print the path of a promtool, for the rule tests (tests/test_prometheus_rules.py), which
# read it from $PROMTOOL:
#
#     export PROMTOOL="$(bash scripts/ensure-promtool.sh)"
#
# A promtool on PATH is used. Otherwise it comes from Debian's `prometheus` package, the same
# Prometheus the offline image runs (docker/offline/prometheus): the package is downloaded
# with apt and unpacked into .offline/prometheus/, not installed, since installing it would
# start a Prometheus server on this machine. stdout carries only the path; progress goes to
# stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dest="$PWD/.offline/prometheus"
log() { printf 'ensure-promtool: %s\n' "$*" >&2; }

for candidate in "${PROMTOOL:-}" "$(command -v promtool || true)" "$dest/usr/bin/promtool"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then
        printf '%s\n' "$candidate"
        exit 0
    fi
done

command -v apt-get >/dev/null 2>&1 || { log "no promtool on PATH and no apt-get: install Prometheus's promtool"; exit 1; }
log "unpacking promtool from Debian's prometheus package"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt's download user cannot write to a directory mktemp made for root: it warns and goes on.
(cd "$work" && { apt-get download -q prometheus >&2 \
    || { apt-get update -q >&2 && apt-get download -q prometheus >&2; }; })
mkdir -p "$dest"
dpkg-deb -x "$work"/prometheus_*.deb "$dest"
"$dest/usr/bin/promtool" --version >&2 || { log "the unpacked promtool does not run"; exit 1; }
printf '%s\n' "$dest/usr/bin/promtool"
