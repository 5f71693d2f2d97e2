#!/bin/sh
# Start the node's Docker engine. It answers on its own socket and on /run/outer/docker.sock,
# a directory the host mounts, so the host drives each node without opening a TCP port.
set -eu
# Without --privileged the cgroup hierarchies are mounted read-only; the engine writes them.
mount -o remount,bind,rw /sys/fs/cgroup 2>/dev/null || true
for hierarchy in /sys/fs/cgroup/*; do
    mount -o remount,bind,rw "$hierarchy" 2>/dev/null || true
done
mkdir -p /run/outer
exec dockerd --host unix:///var/run/docker.sock --host unix:///run/outer/docker.sock \
    --storage-driver overlay2 --log-level warn
