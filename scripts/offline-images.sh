#!/usr/bin/env bash
# Print the base images to use, as `export NAME_IMAGE=...` lines for eval:
#
#     eval "$(bash scripts/offline-images.sh)"
#
# If the official images can be pulled, they are used (PYTHON_IMAGE=python:3.12-slim,
# POSTGRES_IMAGE=postgres:17, REDIS_IMAGE=redis:7, NGINX_IMAGE=nginx:1.27,
# NODE_IMAGE=node:22-bookworm-slim, and the monitoring profile's PROMETHEUS_IMAGE,
# NGINX_EXPORTER_IMAGE, POSTGRES_EXPORTER_IMAGE, REDIS_EXPORTER_IMAGE). Without a
# registry, local equivalents are built from Debian packages: one base rootfs made with
# debootstrap (carrying the host's CA bundle, so TLS through an intercepting proxy works
# inside builds), and small Dockerfiles under docker/offline/. Each image is labelled with
# a hash of its inputs; a later run reuses what exists and rebuilds only changed recipes.
#
# stdout carries only the export lines; all progress and build logs go to stderr.
# Options (env): OFFLINE_IMAGES=1 forces the local images, OFFLINE_IMAGES=0 forces the
# official ones; PULL_TIMEOUT (seconds, default 20) bounds the registry probe.
set -euo pipefail

images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../docker/offline" && pwd)"
label=org.todo.offline.inputs
prefix=todo-offline
suite=bookworm

log() { printf 'offline-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

names=(PYTHON POSTGRES REDIS NGINX NODE PROMETHEUS NGINX_EXPORTER POSTGRES_EXPORTER REDIS_EXPORTER)
declare -A official=(
    [PYTHON]=python:3.12-slim
    [POSTGRES]=postgres:17
    [REDIS]=redis:7
    [NGINX]=nginx:1.27
    [NODE]=node:22-bookworm-slim
    [PROMETHEUS]=prom/prometheus:v2.55.1
    [NGINX_EXPORTER]=nginx/nginx-prometheus-exporter:1.3.0
    [POSTGRES_EXPORTER]=prometheuscommunity/postgres-exporter:v0.16.0
    [REDIS_EXPORTER]=oliver006/redis_exporter:v1.66.0
)
# The four monitoring images are one local image (docker/offline/prometheus), built once.
declare -A local_tag=(
    [PYTHON]=$prefix/python:3.11
    [POSTGRES]=$prefix/postgres:15
    [REDIS]=$prefix/redis:7
    [NGINX]=$prefix/nginx:1.22
    [NODE]=$prefix/node:22
    [PROMETHEUS]=$prefix/prometheus:2.42
    [NGINX_EXPORTER]=$prefix/prometheus:2.42
    [POSTGRES_EXPORTER]=$prefix/prometheus:2.42
    [REDIS_EXPORTER]=$prefix/prometheus:2.42
)
declare -A recipe=([PYTHON]=python [POSTGRES]=postgres [REDIS]=redis [NGINX]=nginx [NODE]=node
    [PROMETHEUS]=prometheus [NGINX_EXPORTER]=prometheus [POSTGRES_EXPORTER]=prometheus
    [REDIS_EXPORTER]=prometheus)

print_exports() { # $1: official|local
    local name
    for name in "${names[@]}"; do
        if [ "$1" = official ]; then
            printf 'export %s_IMAGE=%s\n' "$name" "${official[$name]}"
        else
            printf 'export %s_IMAGE=%s\n' "$name" "${local_tag[$name]}"
        fi
    done
}

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/ensure-docker.sh)"
docker info >/dev/null 2>&1 || die "Docker engine not answering (run scripts/ensure-docker.sh)"

# --- 1. Can the official images be had? ------------------------------------------------
official_available() {
    local name missing=()
    for name in "${names[@]}"; do
        docker image inspect "${official[$name]}" >/dev/null 2>&1 || missing+=("${official[$name]}")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "probing the registry: docker pull ${missing[0]} (timeout ${PULL_TIMEOUT:-20}s)"
    local image
    for image in "${missing[@]}"; do
        timeout "${PULL_TIMEOUT:-20}" docker pull -q "$image" >/dev/null 2>&1 || return 1
        # The first pull answering proves the registry; pull the rest without the tight bound.
        PULL_TIMEOUT=600
    done
}

case "${OFFLINE_IMAGES:-auto}" in
    0) print_exports official; exit 0 ;;
    1) ;;
    auto)
        if official_available; then
            log "official images are available"
            print_exports official
            exit 0
        fi
        log "no registry reachable: using local images built from Debian packages"
        ;;
    *) die "OFFLINE_IMAGES must be 0, 1 or auto" ;;
esac

# --- 2. Local images -------------------------------------------------------------------
hash_stream() { sha256sum | cut -c1-16; }

image_inputs() { # label value of an existing image, or nothing
    docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true
}

# CA certificates the host trusts beyond the Debian defaults (e.g. an intercepting proxy).
ca_files=()
shopt -s nullglob
for f in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
    ca_files+=("$f")
done
shopt -u nullglob

# Apt sources: the host's Debian sources when the host runs the same suite (adds the
# updates and security suites), else debootstrap's default.
host_sources=""
if [ -r /etc/os-release ] && grep -q "^VERSION_CODENAME=$suite\$" /etc/os-release \
    && [ -r /etc/apt/sources.list.d/debian.sources ]; then
    host_sources=/etc/apt/sources.list.d/debian.sources
fi


build_base() {
    if [ "$(image_inputs "$base_tag")" = "$base_hash" ]; then
        log "$base_tag is up to date"
        return
    fi
    [ "$(id -u)" = 0 ] || die "building $base_tag needs root (debootstrap)"
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; } \
            || die "could not install debootstrap"
    fi
    local tmp
    tmp="$(mktemp -d /tmp/todo-offline-rootfs.XXXXXX)"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    log "debootstrap --variant=minbase $suite (about half a minute)"
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$tmp/root" >&2 \
        || { tail -n 30 "$tmp/root/debootstrap/debootstrap.log" >&2 2>/dev/null || :; die "debootstrap failed"; }
    local root="$tmp/root"
    if [ -n "$host_sources" ]; then
        cp "$host_sources" "$root/etc/apt/sources.list.d/debian.sources"
        rm -f "$root/etc/apt/sources.list"
    fi
    if [ "${#ca_files[@]}" -gt 0 ]; then
        cp "${ca_files[@]}" "$root/usr/local/share/ca-certificates/"
        chroot "$root" update-ca-certificates >&2
    fi
    cat > "$root/etc/apt/apt.conf.d/90todo-offline" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
EOF
    cat > "$root/etc/dpkg/dpkg.cfg.d/90todo-offline" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/debootstrap
    local old_id
    old_id="$(docker image inspect -f '{{.Id}}' "$base_tag" 2>/dev/null || true)"
    log "importing $base_tag"
    tar -C "$root" -c . | docker import \
        --change "LABEL $label=$base_hash" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        - "$base_tag" >&2
    rm -rf "$tmp"
    trap - EXIT
    [ -z "$old_id" ] || docker image rm "$old_id" >/dev/null 2>&1 || :
}

base_hash="$(
    {
        echo "$suite"
        declare -f build_base   # the recipe itself: editing it rebuilds everything
        [ -n "$host_sources" ] && cat "$host_sources"
        for f in "${ca_files[@]}"; do printf '%s\n' "$f"; cat "$f"; done
    } | hash_stream
)"
base_tag="$prefix/debian:$suite"

build_image() { # $1: NAME
    local name="$1" dir="$images_dir/${recipe[$1]}" tag="${local_tag[$1]}" inputs
    [ -f "$dir/Dockerfile" ] || die "missing recipe $dir/Dockerfile"
    inputs="$(
        {
            echo "$base_hash"
            (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        } | hash_stream
    )"
    if [ "$(image_inputs "$tag")" = "$inputs" ]; then
        log "$tag is up to date"
        return
    fi
    local old_id
    old_id="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
    log "building $tag"
    # The classic builder is enough here and needs no buildx plugin.
    DOCKER_BUILDKIT=0 docker build --network host \
        --build-arg "BASE_IMAGE=$base_tag" \
        --label "$label=$inputs" \
        -t "$tag" "$dir" >&2 \
        || die "building $tag failed"
    # Drop the superseded image unless something still uses it.
    [ -z "$old_id" ] || docker image rm "$old_id" >/dev/null 2>&1 || :
}

# One builder at a time (two test runs on a cold machine would both debootstrap).
exec 9>/tmp/todo-offline-images.lock
if ! flock -n 9; then
    log "another run is building the images; waiting"
    flock 9
fi

start=$SECONDS
build_base
for name in "${names[@]}"; do
    build_image "$name"
done
log "local images ready in $((SECONDS - start))s"
print_exports local
