#!/usr/bin/env bash
# Copy locally built images onto swarm nodes when there is no registry:
#
#     deploy/swarm/distribute-images.sh HOST...
#
# HOST is a docker engine address as `docker -H` takes it: ssh://user@node-1,
# tcp://10.0.0.12:2376 (with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH set), unix:///path.
# The images are those the stack runs: $AUTH_IMAGE, $TASKS_IMAGE, $FRONTEND_IMAGE,
# $POSTGRES_IMAGE, $REDIS_IMAGE, $NGINX_IMAGE with compose's defaults, or the list in
# $IMAGES. A node that already has the same image (same id) is skipped. One `docker save`,
# then a `docker load` per node, all nodes at once.
set -euo pipefail

[ "$#" -gt 0 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
log() { printf 'distribute-images: %s\n' "$*" >&2; }

read -r -a images <<<"${IMAGES:-${AUTH_IMAGE:-todo-backend/auth:local} ${TASKS_IMAGE:-todo-backend/tasks:local} ${FRONTEND_IMAGE:-todo-backend/frontend:local} ${POSTGRES_IMAGE:-postgres:17} ${REDIS_IMAGE:-redis:7} ${NGINX_IMAGE:-nginx:1.27}}"
for image in "${images[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 || { log "no local image $image"; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# What each host lacks.
declare -A wanted=()
all_missing=()
for host in "$@"; do
    for image in "${images[@]}"; do
        local_id="$(docker image inspect -f '{{.Id}}' "$image")"
        remote_id="$(docker -H "$host" image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
        if [ "$local_id" != "$remote_id" ]; then
            wanted[$host]+="$image "
            all_missing+=("$image")
        fi
    done
done
if [ "${#all_missing[@]}" -eq 0 ]; then
    log "every host has every image"
    exit 0
fi

# One archive per distinct set of missing images (usually one for all hosts).
pids=()
for host in "$@"; do
    [ -n "${wanted[$host]:-}" ] || { log "$host: up to date"; continue; }
    key="$(printf '%s' "${wanted[$host]}" | sha256sum | cut -c1-12)"
    archive="$work/$key.tar"
    if [ ! -f "$archive" ]; then
        # shellcheck disable=SC2086  # the list is space-separated image names
        docker save -o "$archive" ${wanted[$host]}
    fi
    log "$host: loading ${wanted[$host]}"
    docker -H "$host" load -q -i "$archive" >/dev/null &
    pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
[ "$status" -eq 0 ] || { log "a load failed"; exit 1; }
log "done"
