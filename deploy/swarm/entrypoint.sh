#!/bin/sh
# The swarm stack's entrypoint (a swarm config): what compose's `environment:` does for
# secrets, plus a short stop delay.
#
# 1. Swarm mounts each secret as a file under /run/secrets; the programs read their settings
#    from the environment. Each file is exported as the upper-cased variable of its name
#    (/run/secrets/database_url -> DATABASE_URL).
# 2. By the time a task gets SIGTERM it has left Docker's DNS, but nginx may hold its
#    address a few seconds more: keep serving STOP_DELAY_SECONDS, then pass the signal on.
set -eu

secrets="${SECRETS_DIR:-/run/secrets}"
if [ -d "$secrets" ]; then
    for file in "$secrets"/*; do
        [ -f "$file" ] || continue
        name=$(basename "$file" | tr '[:lower:]' '[:upper:]')
        value=$(cat "$file")
        export "$name=$value"
    done
fi

delay="${STOP_DELAY_SECONDS:-0}"
if [ "$delay" = 0 ]; then
    exec "$@"
fi

# The trap is set before the program starts (which gets the default handlers), so a SIGTERM
# that comes first is passed on once it runs, rather than killing this shell alone.
child= stopping=
trap 'sleep "$delay"; if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; else stopping=1; fi' TERM INT
"$@" &
child=$!
[ -z "$stopping" ] || kill -TERM "$child" 2>/dev/null || true
set +e
while :; do
    wait "$child"
    status=$?
    # A trapped signal interrupts `wait`; go on waiting while the program shuts down.
    kill -0 "$child" 2>/dev/null || exit "$status"
done
