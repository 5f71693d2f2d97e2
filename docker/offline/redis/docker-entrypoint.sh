#!/bin/sh
# Like the official redis image: flags or a .conf as first argument mean redis-server;
# run as the redis user; listen on all interfaces with protected mode off (defaults put
# right after the optional config file, so the caller's own options still win).
set -e
case "$1" in
    -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
    shift
    conf=""
    case "${1:-}" in
        "" | -*) ;;
        *) conf="$1"; shift ;;
    esac
    set -- redis-server $conf --bind 0.0.0.0 --protected-mode no --daemonize no --dir /data "$@"
    if [ "$(id -u)" = 0 ]; then
        chown -R redis:redis /data 2>/dev/null || :
        exec setpriv --reuid=redis --regid=redis --init-groups "$@"
    fi
fi
exec "$@"
