#!/bin/sh
# The proxy's upstream servers, from DNS, kept current while nginx runs.
#
# nginx keeps connections to an upstream open between requests only for servers listed in an
# `upstream` block, and the nginx of Debian bookworm (1.22) resolves those names once, at start
# or reload. So this script, run by the nginx image's entrypoint before nginx starts (it is
# mounted at /docker-entrypoint.d/), writes one file per upstream with the addresses its name
# resolves to now (`server 172.18.0.5:8000;` lines, included by the template's `upstream`
# blocks), then keeps doing so every PROXY_UPSTREAMS_POLL_SECONDS in the background and
# reloads nginx when a set changed: a replica started or stopped (compose --scale, a swarm
# update) is used or dropped within about a second, without restarting the proxy. A reload
# lets requests in flight finish on the old workers.
#
# PROXY_UPSTREAMS: "NAME=HOST:PORT ..." (default "auth=auth:8000 tasks=tasks:8000"); NAME is
# the upstream block, written to /etc/nginx/upstreams/NAME.conf. A name that resolves to
# nothing gets a `down` server, so nginx answers 503 at once; it takes two lookups in a row
# to empty a set, so one lost DNS answer does not.
set -eu

spec="${PROXY_UPSTREAMS:-auth=auth:8000 tasks=tasks:8000}"
poll="${PROXY_UPSTREAMS_POLL_SECONDS:-1}"
dir=/etc/nginx/upstreams
mkdir -p "$dir"

log() { echo "todo-upstreams: $*" >&2; }

# The server lines of HOST:PORT (sorted, so an unchanged set compares equal), or nothing.
servers() {
    getent ahostsv4 "$1" 2>/dev/null | awk -v port="$2" '{ print "server " $1 ":" port ";" }' | sort -u
}

# Rewrites the files whose address set changed; true when one did.
render() {
    changed=1
    for entry in $spec; do
        name="${entry%%=*}" target="${entry#*=}"
        host="${target%:*}" port="${target##*:}"
        file="$dir/$name.conf" missed="$dir/.$name.missed"
        lines="$(servers "$host" "$port")"
        if [ -z "$lines" ]; then
            if [ -s "$file" ] && ! grep -q ' down;$' "$file" && [ ! -e "$missed" ]; then
                : >"$missed"   # the first empty answer: keep the set until the next lookup
                continue
            fi
            lines="server 127.0.0.1:$port down;"
        fi
        rm -f "$missed"
        [ -f "$file" ] && [ "$(cat "$file")" = "$lines" ] && continue
        printf '%s\n' "$lines" >"$file.new"
        mv "$file.new" "$file"
        case "$lines" in
            *' down;') log "$name: $host resolves to no address: 503 until it does" ;;
            *) log "$name: $(printf '%s\n' "$lines" | awk '{ printf "%s ", $2 }' | tr -d ';')" ;;
        esac
        changed=0
    done
    return "$changed"
}

render || true

(
    set +e   # one failed turn (a full disk, say) must not end the watching
    pending=false
    while sleep "$poll"; do
        if render; then
            pending=true
        fi
        # Until nginx runs (or when a reload fails), try again at the next turn.
        if "$pending" && nginx -s reload 2>/dev/null; then
            pending=false
        fi
    done
) &
