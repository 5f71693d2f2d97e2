"""Rendering the Kubernetes overlays and reading the objects, for the deploy tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("dev", "neon")

Manifest = dict[str, Any]


class RenderError(Exception):
    """kustomize refused the directory; the message is its stderr."""


def kubectl() -> str:
    found = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not found:
        pytest.fail(
            'no kubectl: run scripts/test.sh, or export KUBECTL="$(scripts/ensure-kubectl.sh)"'
        )
    return found


def render(directory: Path) -> list[Manifest]:
    """What `kubectl apply -k directory` would send to the API server."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(result.stderr)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def copy_with_example_secrets(destination: Path) -> Path:
    """The manifests as an operator would have them: each overlay's secrets.env made from its
    committed example (a developer's own secrets.env is left out)."""
    copy = destination / "kubernetes"
    shutil.copytree(KUBERNETES_DIR, copy, ignore=shutil.ignore_patterns("secrets.env"))
    for overlay in OVERLAYS:
        folder = copy / "overlays" / overlay
        shutil.copyfile(folder / "secrets.env.example", folder / "secrets.env")
    return copy


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """Each workload with the spec of the pods it makes."""
    for manifest in manifests:
        if manifest["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield manifest, manifest["spec"]["template"]["spec"]


def pod_labels(workload: Manifest) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def service_of(container: Manifest) -> str | None:
    """`auth` or `tasks` for a container of the project's images, else None."""
    match = re.fullmatch(r"(?:.*/)?(auth|tasks)(?::[\w.-]+)?", container["image"])
    return match.group(1) if match else None


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())
