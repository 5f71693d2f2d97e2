#!/usr/bin/env bash
# Deploy or update the stack on the swarm whose manager this docker CLI talks to:
#
#     deploy/swarm/deploy.sh [STACK]          # default stack name: todo
#
# Every node that may run a task needs the images: from a registry, or copied with
# deploy/swarm/distribute-images.sh. Before the stack deploy this script
# - creates the swarm secrets that do not exist yet, from the environment: POSTGRES_PASSWORD,
#   KEY_ENCRYPTION_SECRET, BETTER_AUTH_SECRET (random when unset), AUTH_DATABASE_URL,
#   TASKS_DATABASE_URL and FRONTEND_DATABASE_URL (default: the stack's own PostgreSQL; for
#   Neon give its URLs). Secrets never change in place: `docker secret rm` one (with the
#   stack removed) to replace it;
# - labels this node todo.postgres=true and todo.edge=true when no node has those labels
#   (PostgreSQL stays on the node of its volume; the proxy publishes PROXY_PORT there);
# - names each config after a hash of its file, so a changed file rolls the services.
# MONITORING=1 deploys deploy/swarm/monitoring.yml too, as the stack STACK-monitoring.
# Then it waits (up to DEPLOY_WAIT seconds, default 300) until every service has its tasks.
# The other variables of docker-compose.yml (image names, settings) are read the same way.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

stack="${1:-todo}"
log() { printf 'deploy: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(docker info -f '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ] \
    || die "this docker engine is not a swarm manager (docker swarm init / join first)"

random() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }
has_secret() { docker secret inspect "$1" >/dev/null 2>&1; }
create_secret() {
    printf '%s' "$2" | docker secret create "$1" - >/dev/null
    log "secret $1 created"
}

user="${POSTGRES_USER:-todo}"
if ! has_secret postgres_password; then
    POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-$(random)}"
    create_secret postgres_password "$POSTGRES_PASSWORD"
fi
for service in auth tasks frontend; do
    name="${service}_database_url"
    variable="${service^^}_DATABASE_URL"
    has_secret "$name" && continue
    url="${!variable:-}"
    if [ -z "$url" ]; then
        [ -n "${POSTGRES_PASSWORD:-}" ] \
            || die "secret postgres_password exists: give $variable (or POSTGRES_PASSWORD)"
        url="postgresql://$user:$POSTGRES_PASSWORD@postgres:5432/$service"
    fi
    create_secret "$name" "$url"
done
has_secret key_encryption_secret \
    || create_secret key_encryption_secret "${KEY_ENCRYPTION_SECRET:-$(random)}"
has_secret better_auth_secret \
    || create_secret better_auth_secret "${BETTER_AUTH_SECRET:-$(random)}"

self="$(docker info -f '{{.Swarm.NodeID}}')"
for label in todo.postgres todo.edge; do
    if ! docker node ls -q | xargs docker node inspect -f "{{index .Spec.Labels \"$label\"}}" \
        | grep -qx true; then
        docker node update --label-add "$label=true" "$self" >/dev/null
        log "no node had $label=true: labelled this one"
    fi
done

# The tasks service trusts the tokens of the auth service and of the front end's Better Auth:
# JWT_ISSUERS, as docker-compose.yml builds it (with the stack file's defaults).
if [ -z "${JWT_ISSUERS:-}" ]; then
    JWT_ISSUERS="$(python3 -c 'import json, os
local = "http://127.0.0.1:8080"  # the stack file default of JWT_ISSUER, JWT_AUDIENCE, PUBLIC_URL
public = (os.environ.get("PUBLIC_URL") or local).rstrip("/")
print(json.dumps([{
    "issuer": os.environ.get("JWT_ISSUER") or local,
    "jwks_url": "http://auth:8000/api/auth/jwks",
    "audience": os.environ.get("JWT_AUDIENCE") or local,
}, {
    "issuer": public + "/auth",
    "jwks_url": "http://frontend:3000/auth/jwks",
    "audience": public,
}]))')"
    export JWT_ISSUERS
fi

config_hash() { sha256sum "$1" | cut -c1-12; }
ENTRYPOINT_CONFIG_HASH="$(config_hash deploy/swarm/entrypoint.sh)"
POSTGRES_INIT_CONFIG_HASH="$(config_hash docker/postgres-init/01-databases.sql)"
PROXY_TEMPLATE_CONFIG_HASH="$(config_hash proxy/templates/default.conf.template)"
PROXY_UPSTREAMS_CONFIG_HASH="$(config_hash proxy/entrypoint.d/40-todo-upstreams.sh)"
PROXY_STATUS_CONFIG_HASH="$(config_hash proxy/templates/status.conf.template)"
PROMETHEUS_CONFIG_HASH="$(config_hash monitoring/prometheus/prometheus.yml)"
PROMETHEUS_RULES_CONFIG_HASH="$(config_hash monitoring/prometheus/rules.yml)"
export ENTRYPOINT_CONFIG_HASH POSTGRES_INIT_CONFIG_HASH PROXY_TEMPLATE_CONFIG_HASH \
    PROXY_UPSTREAMS_CONFIG_HASH PROXY_STATUS_CONFIG_HASH PROMETHEUS_CONFIG_HASH \
    PROMETHEUS_RULES_CONFIG_HASH

# Without a registry the image names cannot be resolved to digests: use them as they are.
docker stack deploy --prune --resolve-image "${RESOLVE_IMAGE:-never}" \
    -c deploy/swarm/stack.yml "$stack"
if [ "${MONITORING:-0}" = 1 ]; then
    # Prometheus and the exporters, a stack of their own on this one's network.
    STACK_NETWORK="${stack}_default" docker stack deploy --prune \
        --resolve-image "${RESOLVE_IMAGE:-never}" -c deploy/swarm/monitoring.yml "$stack-monitoring"
fi

deadline=$((SECONDS + ${DEPLOY_WAIT:-300}))
while :; do
    # REPLICAS reads "2/2", or "1/1" per node for the global proxy.
    pending="$(docker stack services "$stack" --format '{{.Name}} {{.Replicas}}' \
        | awk '{ split($2, r, "/"); if (r[1] != r[2] || r[2] == 0) print $1 }')"
    [ -z "$pending" ] && break
    [ "$SECONDS" -lt "$deadline" ] || die "not running after ${DEPLOY_WAIT:-300}s: $pending"
    sleep 3
done
log "stack $stack is running"
docker stack services "$stack"
